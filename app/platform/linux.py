"""Optical drives on Linux: sysfs discovery, CDROM ioctls, eject. No Qt.

Drives are enumerated from sysfs (psutil only sees mounted discs); state comes from the
``CDROM_DRIVE_STATUS`` ioctl on a non-blocking open, which works with no disc in the drive.
Anything a device refuses (ENOTTY on a loop device, EACCES without the cdrom group) degrades to
"unknown" with a reason instead of failing the listing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
from pathlib import Path

from app.core.discsize import iso9660_volume_space
from app.platform.base import DriveInfo

CDROMEJECT = 0x5309
CDROMCLOSETRAY = 0x5319
CDROM_LOCKDOOR = 0x5329
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
        if e.errno == errno.ENOTTY:
            raise OSError(e.errno, f"{path} is not an optical drive") from e
        raise
    finally:
        os.close(fd)


def eject(path: str) -> None:
    _ioctl(path, CDROMEJECT)


def close_tray(path: str) -> None:
    _ioctl(path, CDROMCLOSETRAY)


def lock_tray(path: str, on: bool) -> None:
    _ioctl(path, CDROM_LOCKDOOR, 1 if on else 0)
