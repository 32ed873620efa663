"""Is an image file whole? One answer for ``verify``, ``inspect`` and the GUI.

An image is whole when it holds every sector its filesystems claim (every session's ISO 9660,
UDF partitions, HFS, partition tables: ``claims``) and nothing but whole sectors. Its layout
comes from its cue sheet when it has one (a multi-session image keeps absolute LBAs and a .cue
beside it), else it is one data track.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field

from app.core.base.companions import Companions, read_small
from app.core.base.compat import pread
from app.core.base.sector import SECTOR
from app.core.disc import claims as claimsmod
from app.core.disc import cue as cuemod
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError


@dataclass
class ImageLayout:
    layout: DiscLayout
    notes: list[str] = field(default_factory=list)  # e.g. a missing or malformed cue sheet
    from_cue: bool = False


def _recorded_sessions(comp: Companions) -> int:
    """How many sessions the backup's own report or mapfile says the disc had (0: unknown)."""
    try:
        doc = json.loads(read_small(comp.report, 64 << 20))
        sessions = doc["disc"]["layout"]["sessions"]
        return len(sessions) if isinstance(sessions, list) else 0
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return 0


def layout_of(path: str, sectors: int) -> ImageLayout:
    """The image's sessions and tracks: from its cue sheet, else one data track (with a note
    when the backup's report says there should have been a sheet)."""
    comp = Companions.of(path)
    if os.path.isfile(comp.cue):
        try:
            sheet = cuemod.read(comp.cue)
            layout = cuemod.bounded(sheet.layout, sectors)
            layout.validate()
            return ImageLayout(layout, [], True)
        except (cuemod.CueError, ValueError) as e:
            return ImageLayout(
                DiscLayout.flat(sectors),
                [f"{e} — only session 1 is shown; a backup run again rewrites the cue sheet"],
            )
    n = _recorded_sessions(comp)
    if n > 1:
        return ImageLayout(
            DiscLayout.flat(sectors),
            [
                f"{comp.cue} is missing: the disc had {n} sessions, only session 1 is shown — "
                "put the cue sheet back beside the image (a backup run again rewrites it)"
            ],
        )
    return ImageLayout(DiscLayout.flat(sectors))


@dataclass
class Wholeness:
    size: int  # bytes in the file
    required: int  # sectors the filesystems claim
    claims: claimsmod.Claims
    layout: ImageLayout

    @property
    def sectors(self) -> int:
        return self.size // SECTOR

    @property
    def extra_bytes(self) -> int:
        return self.size % SECTOR

    @property
    def missing(self) -> int:
        return max(self.required - self.sectors, 0)

    @property
    def whole(self) -> bool:
        return self.missing == 0 and self.extra_bytes == 0

    def describe(self) -> str:
        if self.missing:
            return (
                f"truncated: the filesystems need {self.required} sectors, the image has "
                f"{self.sectors} ({self.missing} missing)"
            )
        if self.extra_bytes:
            return (
                f"{self.extra_bytes} extra bytes past the last sector: not a whole number of "
                "sectors"
            )
        if self.claims.found:
            who = " + ".join(self.claims.kinds())
            return f"whole: {self.sectors} sectors, all that its filesystems ({who}) need"
        return f"whole: {self.sectors} sectors (no filesystem found to say how many it needs)"


def check(path: str, fd: int | None = None, layout: DiscLayout | None = None) -> Wholeness:
    """``OSError`` when the file cannot be read at all. ``layout``: what the disc says of
    itself when ``path`` is a drive (its TOC), instead of a cue sheet."""
    own = fd is None
    if fd is None:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        if size == 0 and stat.S_ISBLK(os.fstat(fd).st_mode):
            size = os.lseek(fd, 0, os.SEEK_END)  # a block device's size
        il = layout_of(path, size // SECTOR) if layout is None else ImageLayout(layout, [], True)

        def read(lba: int, count: int) -> bytes:
            try:
                data = pread(fd, count * SECTOR, lba * SECTOR)
            except OSError as e:  # a device's unreadable sector: that structure stays unknown
                raise ReadError(lba, count, e.errno or 5) from None
            if len(data) < count * SECTOR:
                raise ReadError(lba, count, 5)
            return data

        found = claimsmod.find(il.layout, read, size // SECTOR)
    finally:
        if own:
            os.close(fd)
    required = found.end
    if il.from_cue:  # every session's volume descriptors at least (a cut image loses them)
        required = max([required] + [s.start + 17 for s in il.layout.data_sessions])
    return Wholeness(size, required, found, il)
