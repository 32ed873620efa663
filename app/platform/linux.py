"""Optical drives on Linux: sysfs discovery, CDROM ioctls, eject. No Qt.

Drives are enumerated from sysfs (psutil only sees mounted discs); state comes from the
``CDROM_DRIVE_STATUS`` ioctl on a non-blocking open, which works with no disc in the drive.
Anything a device refuses (ENOTTY on a loop device, EACCES without the cdrom group) degrades to
"unknown" with a reason instead of failing the listing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time
from pathlib import Path

from app.core.base.units import medium_for_size
from app.core.disc import toc
from app.core.disc.claims import iso9660_volume_space
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ImageSource, ReadError, SourceGone
from app.platform.base import DriveInfo

CDROMREADTOCHDR = 0x5305
CDROMREADTOCENTRY = 0x5306
CDROMMULTISESSION = 0x5310
CDROM_LBA = 0x01
CDROMEJECT = 0x5309
CDROMCLOSETRAY = 0x5319
CDROM_DRIVE_STATUS = 0x5326
CDROM_DISC_STATUS = 0x5327
CDSL_CURRENT = 0x7FFFFFFF
BLKGETSIZE64 = 0x80081272

DRIVE_STATES = {0: "unknown", 1: "no_disc", 2: "tray_open", 3: "not_ready", 4: "disc_ok"}
DISC_AUDIO, DISC_MIXED = 100, 105


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _status(dev: str, info: DriveInfo) -> None:
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        info.problem = (
            permission_hint(dev) if e.errno in (errno.EACCES, errno.EPERM) else e.strerror or str(e)
        )
        return
    try:
        try:
            info.state = DRIVE_STATES.get(
                fcntl.ioctl(fd, CDROM_DRIVE_STATUS, CDSL_CURRENT), "unknown"
            )
        except OSError as e:
            if e.errno != errno.ENOTTY:
                info.problem = e.strerror or str(e)
        if info.state == "disc_ok":
            try:
                ds = fcntl.ioctl(fd, CDROM_DISC_STATUS, 0)
                info.has_audio = ds in (DISC_AUDIO, DISC_MIXED)
            except OSError:
                pass
            from app.platform import sgio
            from app.platform.sgsource import sg_layout

            info.profile = sgio.profile(fd)
            medium = sgio.medium_of(info.profile)
            notes: list[str] = []
            info.layout = sg_layout(fd, medium, notes)
            if info.layout is None:
                with contextlib.suppress(OSError, toc.TocError):
                    info.layout = toc_from_ioctls(fd, medium or "CD")
            if info.layout is not None:
                info.has_audio = bool(info.layout.audio_tracks)
            if medium == "DVD":
                with contextlib.suppress(OSError):
                    info.protection = sgio.parse_copyright(
                        sgio.command(fd, sgio.read_dvd_structure_cdb(1), 8)
                    )
            try:
                info.sectors = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
                info.sectors //= 2048
            except OSError:
                pass
            try:
                pvd = os.pread(fd, 2048, 16 * 2048)
                if iso9660_volume_space(pvd) is not None:
                    info.label = pvd[40:72].decode("latin-1").strip()
                    info.filesystem = "iso9660"
            except OSError:
                pass
    finally:
        os.close(fd)


def permission_hint(dev: str) -> str:
    return (
        f"no permission to read {dev}: add yourself to the 'cdrom' group "
        "(sudo usermod -aG cdrom $USER) and log in again"
    )


def list_drives(sysfs: str = "/sys", dev: str = "/dev", probe: bool = True) -> list[DriveInfo]:
    """Every SCSI/ATAPI optical drive (sysfs device type 5), with its state when ``probe``."""
    out = []
    block = Path(sysfs) / "block"
    try:
        names = sorted(p.name for p in block.iterdir() if p.name.startswith("sr"))
    except OSError:
        return []
    for name in names:
        d = block / name / "device"
        if _read(d / "type") != "5":
            continue
        info = DriveInfo(os.path.join(dev, name), name, _read(d / "vendor"), _read(d / "model"))
        if probe:
            _status(info.path, info)
        out.append(info)
    _add_mounts(out)
    return out


def _add_mounts(drives: list[DriveInfo]) -> None:
    try:
        import psutil
    except ImportError:
        return
    by_dev = {d.path: d for d in drives}
    for part in psutil.disk_partitions(all=False):
        d = by_dev.get(part.device)
        if d is not None:
            d.mountpoint, d.filesystem = part.mountpoint, part.fstype


def _ioctl(path: str, request: int, arg: int = 0) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            raise PermissionError(permission_hint(path)) from e
        raise
    try:
        fcntl.ioctl(fd, request, arg)
    except OSError as e:
        if e.errno in (errno.ENOTTY, errno.EINVAL):  # loop devices, disks, files
            raise OSError(e.errno, f"{path} is not an optical drive") from e
        raise
    finally:
        os.close(fd)


def eject(path: str, wait: float = 5.0) -> None:
    """Open the tray, and make sure it opened: the ioctl returns 0 even when the drive kept
    the tray shut (locked by another program, as the test guest showed)."""
    _ioctl(path, CDROMEJECT)
    deadline = time.monotonic() + wait
    while _drive_status(path) == "disc_ok":
        if time.monotonic() > deadline:
            raise OSError(
                errno.EBUSY,
                "the tray did not open: another program may be holding it locked "
                "(close that program, or use the drive's emergency eject hole)",
            )
        time.sleep(0.2)


def _drive_status(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return "unknown"
    try:
        return DRIVE_STATES.get(fcntl.ioctl(fd, CDROM_DRIVE_STATUS, CDSL_CURRENT), "unknown")
    except OSError:
        return "unknown"
    finally:
        os.close(fd)


def close_tray(path: str) -> None:
    _ioctl(path, CDROMCLOSETRAY)


class DriveSource(ImageSource):
    """/dev/srN: an ImageSource that asks the drive whether the disc is still there, and makes
    retries reach the disc instead of the drive's cache."""

    CACHE_DISTANCE = 20_000  # sectors: well beyond any drive's read-ahead cache
    is_drive = True

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.description = path
        self.notes: list[str] = []

    def read_layout(self) -> DiscLayout:
        """The TOC through the kernel's CD-ROM ioctls (drives that refuse SG_IO); one data
        track when the drive gives none."""
        medium = self.medium or medium_for_size(self.sector_count * 2048)
        try:
            return toc_from_ioctls(self._fd, medium)
        except (OSError, toc.TocError) as e:
            self.notes.append(f"no TOC from the drive ({e}): imaged as one data track")
            return DiscLayout.flat(self.sector_count, medium)

    def _check_still_there(self) -> None:
        # The kernel keeps a pulled disc's capacity until the device is reopened: the drive
        # status is the only prompt answer. "Not ready" can be a drive spinning up: wait a bit.
        for _ in range(5):
            try:
                status = fcntl.ioctl(self._fd, CDROM_DRIVE_STATUS, CDSL_CURRENT)
            except OSError:
                return super()._check_still_there()
            if status in (1, 2):
                word = "tray is open" if status == 2 else "disc was removed"
                raise SourceGone(f"{self.path}: the {word}")
            if status != 3:
                return None
            time.sleep(1.0)
        raise SourceGone(f"{self.path}: the drive stays not ready")

    def prepare_retry(self, lba: int) -> None:
        far = (
            lba + self.CACHE_DISTANCE
            if lba + self.CACHE_DISTANCE < self.sector_count
            else max(lba - self.CACHE_DISTANCE, 0)
        )
        with contextlib.suppress(ReadError):
            super().read(far, 1)


def is_optical(path: str, sysfs: str = "/sys") -> bool:
    name = os.path.basename(os.path.realpath(path))
    return _read(Path(sysfs) / "block" / name / "device" / "type") == "5"


def toc_entries_ioctl(fd: int) -> tuple[list[toc.TocEntry], int]:
    """CDROMREADTOCHDR + CDROMREADTOCENTRY (LBA form): track starts and the lead-out."""
    hdr = fcntl.ioctl(fd, CDROMREADTOCHDR, bytes(2))
    first, last = hdr[0], hdr[1]
    if not 1 <= first <= last <= 99:
        raise toc.TocError(f"the drive reports tracks {first} to {last}")
    entries = []
    leadout = 0
    for track in [*range(first, last + 1), toc.LEADOUT_POINT]:
        # struct cdrom_tocentry: track, adr:4|ctrl:4, format, pad, addr (int), datamode, pad
        buf = struct.pack("BBBxiBxxx", track, 0, CDROM_LBA, 0, 0)
        got = fcntl.ioctl(fd, CDROMREADTOCENTRY, buf)
        _, adr_ctrl, _, lba, _ = struct.unpack("BBBxiBxxx", got)
        if track == toc.LEADOUT_POINT:
            leadout = lba
        else:
            entries.append(toc.TocEntry(track, adr_ctrl >> 4, lba))
    return entries, leadout


def last_session_ioctl(fd: int) -> int | None:
    """CDROMMULTISESSION: the last session's start LBA, None for a single-session disc."""
    # struct cdrom_multisession: addr (int), xa_flag, addr_format, pad
    got = fcntl.ioctl(fd, CDROMMULTISESSION, struct.pack("iBBxx", 0, 0, CDROM_LBA))
    lba, _xa, _ = struct.unpack("iBBxx", got)
    return lba if lba > 0 else None


def toc_from_ioctls(fd: int, medium: str) -> DiscLayout:
    entries, leadout = toc_entries_ioctl(fd)
    start = last_session_ioctl(fd)
    last_track = next((e.track for e in entries if e.lba == start), None) if start else None
    return toc.from_entries(entries, leadout, last_track, medium)
