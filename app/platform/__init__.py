"""OS drive access behind one interface. Never imports Qt.

Linux is tested on a real emulated drive; the Windows and macOS modules are tested in their
pure parts only (see the README's support table).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator

from app.core.disc.sources import ImageSource, SectorSource
from app.platform.base import DriveEvent, DriveInfo

DEMO = "demo"  # the source name of the demo drive on the command line

__all__ = [
    "DEMO",
    "DriveEvent",
    "DriveInfo",
    "close_tray",
    "drive_state",
    "eject",
    "list_drives",
    "open_source",
    "watch",
]


def open_source(spec: str) -> SectorSource:
    """Open a drive, block device or image file named the way the user typed it; ``demo`` (when
    no file of that name is here) is the demo drive, so anyone can try a rescue."""
    if spec == DEMO and not os.path.exists(spec):
        from app.core.disc.demo import DemoSource

        return DemoSource()
    if sys.platform.startswith("linux"):
        from app.platform import linux

        if linux.is_optical(spec):
            from app.platform import sgsource

            if not os.environ.get("DISCVAULT_NO_SGIO") and sgsource.answers_sg_io(spec):
                return sgsource.SgDriveSource(spec)
            return linux.DriveSource(spec)
    elif sys.platform == "win32" and len(spec.rstrip("\\/")) <= 2:
        from app.platform import windows

        return windows.WindowsDriveSource(spec)
    elif sys.platform == "darwin":
        from app.platform import macos

        try:
            macos.whole_disk(spec)
        except ValueError:
            return ImageSource(spec)
        return macos.MacDriveSource(spec)
    return ImageSource(spec)


def list_drives() -> list[DriveInfo]:
    if sys.platform.startswith("linux"):
        from app.platform import linux

        return linux.list_drives()
    if sys.platform == "win32":
        from app.platform import windows

        return windows.list_drives()
    if sys.platform == "darwin":
        from app.platform import macos

        return macos.list_drives()
    return []


def eject(path: str) -> None:
    if sys.platform == "win32":
        from app.platform import windows

        return windows.eject(path)
    if sys.platform == "darwin":
        from app.platform import macos

        return macos.eject(path)
    if not sys.platform.startswith("linux"):
        raise OSError(f"ejecting is not supported on {sys.platform}")
    from app.platform import linux

    linux.eject(path)
    return None


def close_tray(path: str) -> None:
    if not sys.platform.startswith("linux"):
        raise OSError(f"closing the tray is not supported on {sys.platform} yet")
    from app.platform import linux

    linux.close_tray(path)


def diff(before: dict[str, DriveInfo], after: dict[str, DriveInfo]) -> list[DriveEvent]:
    """What changed between two listings, in the words the app shows."""
    events = [DriveEvent("removed", d) for p, d in before.items() if p not in after]
    for p, d in after.items():
        old = before.get(p)
        if old is None:
            events.append(DriveEvent("added", d))
        elif old.state != d.state:
            kind = {"disc_ok": "disc_inserted", "tray_open": "tray_open"}.get(
                d.state, "disc_removed"
            )
            events.append(DriveEvent(kind, d))
        elif (old.label, old.sectors, old.profile) != (d.label, d.sectors, d.profile):
            events.append(DriveEvent("changed", d))
    return events


def watch(
    interval: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
    lister: Callable[[], list[DriveInfo]] = list_drives,
) -> Iterator[DriveEvent]:
    """Poll the drives and yield what changed (insert, remove, tray open, another disc)."""
    before = {d.path: d for d in lister()}
    while not stop():
        time.sleep(interval)
        after = {d.path: d for d in lister()}
        yield from diff(before, after)
        before = after


def drive_state(path: str) -> str:
    """``disc_ok``, ``no_disc``, ``tray_open``, ``not_ready`` or ``unknown`` for one drive,
    cheap enough to ask every second: one status query, never a read (``list_drives()`` reads
    each disc's TOC and label, which would disturb a drive another job is reading).

    A block device or image file that is not a drive holds a "disc" while it has sectors: a
    loop device whose file went away reports no size, as a drive without a disc does."""
    if sys.platform.startswith("linux"):
        from app.platform import linux

        if linux.is_optical(path):
            return linux._drive_status(path)
    elif sys.platform == "win32" or sys.platform == "darwin":
        found = next((d for d in list_drives() if d.path == path), None)
        if found is not None:
            return found.state
    return _size_state(path)


def _size_state(path: str) -> str:
    import stat

    from app.core.disc.sources import _device_size

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no_disc"
    except OSError:
        return "unknown"
    if stat.S_ISREG(st.st_mode):
        return "disc_ok" if st.st_size >= 2048 else "no_disc"
    if not stat.S_ISBLK(st.st_mode):
        return "unknown"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return "no_disc"
    try:
        return "disc_ok" if _device_size(fd) >= 2048 else "no_disc"
    except OSError:
        return "unknown"
    finally:
        os.close(fd)
