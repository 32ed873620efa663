"""OS drive access behind one interface. Never imports Qt.

Only Linux is implemented here; elsewhere ``list_drives`` returns no drives and sources are
opened as plain files/devices, so the app still works with images and the demo drive.
"""

from __future__ import annotations

import sys

from app.core.sources import ImageSource, SectorSource
from app.platform.base import DriveInfo

__all__ = ["DriveInfo", "eject", "list_drives", "open_source"]


def open_source(spec: str) -> SectorSource:
    """Open a drive, block device or image file named the way the user typed it."""
    return ImageSource(spec)


def list_drives() -> list[DriveInfo]:
    if sys.platform.startswith("linux"):
        from app.platform import linux

        return linux.list_drives()
    return []


def eject(path: str) -> None:
    if not sys.platform.startswith("linux"):
        raise OSError(f"ejecting is not supported on {sys.platform} yet")
    from app.platform import linux

    linux.eject(path)
