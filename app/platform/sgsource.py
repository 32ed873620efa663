"""Reading a Linux optical drive through SG_IO: the drive's own words for every failed read.

Compared with O_DIRECT reads (``DriveSource``), this path sees the sense data (unrecovered read
error vs. no disc vs. disc changed vs. becoming ready), lowers the drive's internal retry count
during the fast passes (MODE SELECT page 01h; a drive retrying a scratch for a minute per read
would stall the copy pass) and restores it afterwards, and slows the drive down for the retry
passes (SET CD SPEED), where a slower spin reads marginal sectors better. Every drive-control
step is optional: a drive that refuses it is noted, never fatal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time

from app.core.base.sector import SECTOR
from app.core.disc import offsets, toc
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout
from app.core.disc.rawsource import RawCdSource
from app.core.disc.sources import ReadError, SourceGone
from app.platform import readcd, sgio
from app.platform.linux import DriveSource

# Sectors per READ(12). USB drives take at most 120 KiB per command (usb-storage's limit: a
# 128 KiB SG_IO read fails with EIO before it reaches the drive, seen on the emulated USB
# drive), so the device's own max_sectors_kb decides, capped at 64 sectors.
CHUNK = 64
USB_SAFE_CHUNK = 60


def chunk_for(path: str, sysfs: str = "/sys") -> int:
    """Sectors per command for this drive: its queue's max_sectors_kb, at most CHUNK."""
    name = os.path.basename(os.path.realpath(path))
    try:
        with open(os.path.join(sysfs, "block", name, "queue", "max_sectors_kb")) as f:
            kb = int(f.read().strip())
    except (OSError, ValueError):
        return USB_SAFE_CHUNK
    return max(1, min(CHUNK, kb // 2))


RETRY_SPEED_KBS = 4 * 176  # 4x CD; DVD and BD drives pick their nearest supported speed


class SgDriveSource(DriveSource):
    FAST_PHASES = frozenset({"copy", "trim", "scrape"})

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.chunk = chunk_for(path)
        self.notes: list[str] = [f"read through SG_IO READ(12), {self.chunk} sectors a command"]
        try:  # MODE SELECT and SET CD SPEED need a writable descriptor
            self._rw = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            self._rw = -1
        self._saved_mode: bytes | None = None
        self._slowed = False
        self._locked = False
        self.medium = sgio.medium_of(sgio.profile(self._fd))
        self.protection = self._copyright() if self.medium == "DVD" else ""
        if self.protection:
            self.notes.append(f"the disc says it is {self.protection}-protected")
        self._lock_tray()

    # ---- what the disc is --------------------------------------------------------------------
    def read_layout(self) -> DiscLayout:
        layout = sg_layout(self._fd, self.medium, self.notes)
        return layout if layout is not None else super().read_layout()

    # ---- raw sectors (READ CD) -----------------------------------------------------------------
    def _send(self, cdb: bytes, length: int) -> bytes:
        return sgio.command(self._fd, cdb, length, timeout_ms=60_000)

    def drive_name(self) -> tuple[str, str]:
        """(vendor, product) from INQUIRY: what the read-offset table is keyed by."""
        return readcd.inquiry(self._send)

    def raw_source(
        self, layout: DiscLayout, read_offset: int | None = None
    ) -> tuple[RawCdSource | None, list[str]]:
        """This drive's raw reads of ``layout`` (None when it will not give them), with the
        audio read offset from the user, else from the table; what was found, in words."""
        transport, notes = readcd.probe(self._send, layout, self.chunk * SECTOR, self.path)
        if transport is None:
            return None, notes
        vendor, product = self.drive_name()
        self.read_offset = offsets.resolve(read_offset, vendor, product)
        self.drive_title = f"{vendor} {product}".strip()
        return RawCdSource(self, transport, layout, self.read_offset.samples), notes

    def disc_info(self, layout: DiscLayout) -> DiscInfo:
        """MCN, ISRCs and CD-Text, where this drive gives them."""
        return readcd.disc_info(self._send, layout)

    def _copyright(self) -> str:
        try:
            return sgio.parse_copyright(sgio.command(self._fd, sgio.read_dvd_structure_cdb(1), 8))
        except OSError:
            return ""

    # ---- reads -------------------------------------------------------------------------------
    def read(self, lba: int, count: int) -> bytes:
        out = bytearray()
        for start in range(lba, lba + count, self.chunk):
            n = min(self.chunk, lba + count - start)
            try:
                out += self._read_chunk(start, n)
            except ReadError as e:  # keep the kind: a CSS refusal is not damage
                raise ReadError(lba, count, e.errno, bytes(out) + e.good, e.kind) from e
        return bytes(out)

    def _read_chunk(self, lba: int, count: int) -> bytes:
        for attempt in range(6):
            try:
                data = sgio.command(
                    self._fd, sgio.read12_cdb(lba, count), count * SECTOR, timeout_ms=60_000
                )
            except sgio.ScsiError as e:
                action = self._judge(e.sense)
                if action == "wait" and attempt < 5:
                    time.sleep(1.0)
                    continue
                if action == "gone":
                    raise SourceGone(f"{self.path}: {e.strerror}") from e
                raise ReadError(lba, count, errno.EIO, kind=action) from e
            except OSError as e:
                if e.errno in (errno.ENXIO, errno.ENODEV, errno.ENOMEDIUM):
                    raise SourceGone(f"{self.path}: {e.strerror}") from e
                self._check_still_there()
                raise ReadError(lba, count, e.errno or errno.EIO) from e
            if len(data) < count * SECTOR:
                whole = len(data) - len(data) % SECTOR
                raise ReadError(lba, count, errno.EIO, data[:whole])
            return data
        raise SourceGone(f"{self.path}: the drive stays not ready")

    @staticmethod
    def _judge(sense: sgio.Sense | None) -> str:
        """'bad' (this sector), 'gone' (stop; resumable), 'wait' (drive spinning up) or
        'protected' (refused for copy protection: neither damage nor worth a retry)."""
        if sense is None:
            return "bad"
        if sense.key == 0x05 and sense.asc == 0x6F:
            return "protected"
        if sense.key == 0x02 and sense.asc == 0x3A:
            return "gone"  # medium not present
        if sense.key == 0x02 and sense.asc == 0x04:
            return "wait"  # becoming ready
        if sense.key == 0x06 and sense.asc == 0x28:
            return "gone"  # the disc was changed under us
        return "bad"  # 03/11 unrecovered read error, 05/21 out of range, 0B aborted, …

    # ---- drive control -----------------------------------------------------------------------
    def set_phase(self, phase: str) -> None:
        if phase in self.FAST_PHASES:
            self._lower_retries()
        elif phase == "retry":
            self._restore_retries()
            self._slow_down()
        else:
            self._restore_all()

    def _lower_retries(self) -> None:
        if self._saved_mode is not None or self._rw < 0:
            return
        try:
            mode = sgio.command(self._fd, sgio.mode_sense10_cdb(0x01), 64)
            count = sgio.read_retry_count(mode)
            if count is None or count == 0:
                return
            params = sgio.with_retry_count(mode, 0)
            sgio.command(self._rw, sgio.mode_select10_cdb(len(params)), 0, data_out=params)
        except OSError as e:
            self.notes.append(f"the drive keeps its own read retries ({e.strerror})")
            self._saved_mode = b""  # do not ask again
            return
        self._saved_mode = mode
        self.notes.append(f"drive read retries lowered from {count} to 0 for the fast passes")

    def _restore_retries(self) -> None:
        if not self._saved_mode:
            return
        params = sgio.with_retry_count(
            self._saved_mode, sgio.read_retry_count(self._saved_mode) or 0
        )
        try:
            sgio.command(self._rw, sgio.mode_select10_cdb(len(params)), 0, data_out=params)
            self.notes.append("drive read retries restored")
        except OSError as e:
            self.notes.append(f"could not restore the drive's read retries ({e.strerror})")
        self._saved_mode = b""

    def _slow_down(self) -> None:
        if self._slowed or self._rw < 0:
            return
        self._slowed = True
        try:
            sgio.command(self._rw, sgio.set_cd_speed_cdb(RETRY_SPEED_KBS), 0)
            self.notes.append("drive slowed down for the retry passes")
        except OSError as e:
            self.notes.append(f"the drive keeps its speed for retries ({e.strerror})")
            self._slowed = False

    def _restore_all(self) -> None:
        self._restore_retries()
        if self._slowed and self._rw >= 0:
            with contextlib.suppress(OSError):
                sgio.command(self._rw, sgio.set_cd_speed_cdb(0xFFFF), 0)
            self._slowed = False

    @property
    def _control_fd(self) -> int:
        return self._rw if self._rw >= 0 else self._fd  # some kernels filter commands on O_RDONLY

    def _lock_tray(self) -> None:
        """Keep the eject button from pulling the disc out mid-backup. Locked with a SCSI
        command, not the CDROM_LOCKDOOR ioctl: that one makes the kernel keep the lock after
        the last close, so a killed DiscVault would leave the tray locked; this one the kernel
        releases when the last descriptor closes, however the process ends."""
        try:
            sgio.command(self._control_fd, sgio.prevent_removal_cdb(True), 0)
        except OSError as e:
            self.notes.append(f"the tray stays unlocked ({e.strerror})")
            return
        self._locked = True
        self.notes.append("tray locked while reading")

    def close(self) -> None:
        self._restore_all()
        if self._locked:
            with contextlib.suppress(OSError):
                sgio.command(self._control_fd, sgio.prevent_removal_cdb(False), 0)
            self._locked = False
        if self._rw >= 0:
            os.close(self._rw)
            self._rw = -1
        super().close()


def answers_sg_io(path: str) -> bool:
    """True when the device takes SCSI commands through SG_IO (a real or emulated drive)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        sgio.command(fd, bytes([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 8)  # READ CAPACITY(10)
    except sgio.ScsiError:
        return True  # it answered (with sense): SG_IO works, the disc may just be absent
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def sg_layout(fd: int, medium: str | None, notes: list[str]) -> DiscLayout | None:
    """The disc's layout through SG_IO: the full TOC (format 2) on CDs, else tracks (format 0)
    and session info (format 1). None when the drive answers neither (the caller falls back
    to the kernel's ioctls); what was refused goes to ``notes``."""
    medium = medium or "CD"
    if medium == "CD":
        try:
            reply = sgio.command(fd, sgio.read_toc_cdb(4096, fmt=2, msf=True, track=1), 4096)
            return toc.parse_full_toc(reply, medium)
        except (OSError, toc.TocError) as e:
            notes.append(f"no full TOC ({e}): sessions from the track list")
    try:
        entries, leadout = toc.parse_tracks(sgio.command(fd, sgio.read_toc_cdb(804), 804))
    except (OSError, toc.TocError) as e:
        notes.append(f"no TOC through SG_IO ({e})")
        return None
    last_track = None
    with contextlib.suppress(OSError, toc.TocError):
        _, last_track, _ = toc.parse_session_info(
            sgio.command(fd, sgio.read_toc_cdb(12, fmt=1), 12)
        )
    try:
        return toc.from_entries(entries, leadout, last_track, medium)
    except toc.TocError as e:
        notes.append(str(e))
        return None
