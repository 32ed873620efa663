"""Reading a Linux optical drive through SG_IO: the drive's own words for every failed read.

Compared with O_DIRECT reads (``DriveSource``), this path sees the sense data (unrecovered read
error vs. no disc vs. disc changed vs. becoming ready), sets the drive's internal retry count
and speed per pass (``drivectl.py``: low retries and full speed for the fast passes, the
drive's default retries and a slower spin for the retry passes, restored on every exit path and
after a crash), and makes every retry reach the disc rather than the drive's cache (FUA).
Every drive-control step is optional: a drive that refuses it is noted once, never fatal.
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
from app.platform.drivectl import DriveControl
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


class SgDriveSource(DriveSource):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.chunk = chunk_for(path)
        self.notes: list[str] = [f"read through SG_IO READ(12), {self.chunk} sectors a command"]
        try:  # MODE SELECT and SET CD SPEED need a writable descriptor
            self._rw = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            self._rw = -1
        self._locked = False
        self.medium = sgio.medium_of(sgio.profile(self._fd))
        self.protection = self._copyright() if self.medium == "DVD" else ""
        if self.protection:
            self.notes.append(f"the disc says it is {self.protection}-protected")
        self._lock_tray()
        self._fua: bool | None = None  # does the drive take FUA reads? None: not asked yet
        self._fua_lba: int | None = None  # the next read of this LBA is a retry: FUA
        self.control = self._drive_control()

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
        fua = self._retry_read(lba)
        for attempt in range(6):
            try:
                data = sgio.command(
                    self._fd, sgio.read12_cdb(lba, count, fua), count * SECTOR, timeout_ms=60_000
                )
            except sgio.ScsiError as e:
                if fua and self._fua_refused(e.sense, lba):
                    fua = False
                    continue
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
    def _drive_control(self) -> DriveControl | None:
        if self._rw < 0:
            self.notes.append(
                "drive settings left as they are: the drive cannot be opened for writing"
            )
            return None
        control = DriveControl(
            self._control_send, self.medium, self.sector_count, self.path, self.notes
        )
        control.recover()  # an earlier DiscVault that crashed may have left the drive changed
        return control

    def _control_send(self, cdb: bytes, data_len: int, data_out: bytes | None) -> bytes:
        return sgio.command(self._control_fd, cdb, data_len, data_out=data_out)

    def set_phase(self, phase: str) -> None:
        if self.control is not None:
            self.control.enter(phase)

    # ---- retries reach the disc, not the drive's cache --------------------------------------
    def prepare_retry(self, lba: int) -> None:
        """The next read of ``lba`` is sent with FUA (Force Unit Access): a drive that cached
        the sector's failure (or read-ahead data) must read the disc again. A drive that refuses
        FUA gets the old remedy, a read far away first, which evicts its cache."""
        if self._fua is False:
            self._far_read(lba)
        else:
            self._fua_lba = lba

    def _far_read(self, lba: int) -> None:
        """Read a sector far away (through SG_IO too): the drive's buffer then holds that."""
        d = self.CACHE_DISTANCE
        far = lba + d if lba + d < self.sector_count else max(lba - d, 0)
        with contextlib.suppress(ReadError):
            self.read(far, 1)

    def _retry_read(self, lba: int) -> bool:
        fua, self._fua_lba = self._fua_lba == lba, None
        return fua

    def _fua_refused(self, sense: sgio.Sense | None, lba: int) -> bool:
        """True when a FUA read failed because the drive does not take FUA (illegal request,
        invalid field in CDB): from now on, a far read before each retry instead."""
        if sense is None or (sense.key, sense.asc) != (0x05, 0x24):
            return False
        self._fua = False
        self.notes.append("the drive refuses FUA reads: a far read comes before each retry")
        self._far_read(lba)
        return True

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
        if self.control is not None:
            self.control.restore()
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
