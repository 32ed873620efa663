"""OS drive access behind one interface. Never imports Qt."""

from __future__ import annotations

from app.core.sources import ImageSource, SectorSource


def open_source(spec: str) -> SectorSource:
    """Open a drive, block device or image file named the way the user typed it."""
    return ImageSource(spec)
