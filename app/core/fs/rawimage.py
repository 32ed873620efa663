"""A BIN/CUE seen as the disc's user data: the inspector and ``extract`` read it like an .iso.

The filesystem readers ask for 2048-byte sectors by LBA. Here each LBA of a data track is found
in its track's file and its user data taken out of the raw sector (Mode 1: bytes 16-2063; Mode 2
Form 1: 24-2071; a Form 2 sector gives the first 2048 of its 2324 bytes); audio sectors, session
gaps and anything no file holds read as zeros. LBAs are absolute, as on the disc, so a later
session's directories point at the right sectors.

A lone ``.bin`` is accepted too: with its sheet beside it (``NAME.cue`` for ``NAME.bin`` or
``NAME (Track 1).bin``), else as one raw data track when its first sector carries a sync pattern.
"""

from __future__ import annotations

import os
import re

from app.core.base.compat import pread
from app.core.disc import cdsector
from app.core.disc import claims as claimsmod
from app.core.disc import wholeness as wholemod
from app.core.disc.binset import BinCueError, Sheet, TrackFile, open_sheet
from app.core.disc.cdsector import RAW
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.sources import ReadError
from app.core.fs.node import SECTOR, Image, InspectError, check_image_path


def sheet_for(path: str) -> str | None:
    """The .cue that goes with ``path`` (a .cue itself, or a .bin with its sheet beside it)."""
    if path.lower().endswith(".cue"):
        return path
    if not path.lower().endswith(".bin"):
        return None
    stem = re.sub(r" \(Track \d+\)$", "", path[:-4])
    for cand in (stem + ".cue", stem + ".CUE", path[:-4] + ".cue"):
        if os.path.isfile(cand):
            return cand
    return None


def is_raw_bin(path: str) -> bool:
    """A file of whole raw sectors whose first one is a data sector (sync pattern)."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return size >= RAW and size % RAW == 0 and head[:12] == cdsector.SYNC


class RawImage(Image):
    """``Image`` over the files of a BIN/CUE (user data at absolute LBAs)."""

    map_sector_size = RAW  # a BIN/CUE's mapfile counts 2352-byte sectors

    def __init__(self, path: str) -> None:
        check_image_path(path)
        self.path = path
        self.fd = -1
        sheet_path = sheet_for(path)
        try:
            if sheet_path is not None:
                self.sheet = open_sheet(sheet_path)
            elif is_raw_bin(path):
                self.sheet = _lone_bin(path)
            else:
                raise InspectError(f"{path}: not a BIN/CUE — give its .cue sheet")
        except BinCueError as e:
            raise InspectError(str(e)) from e
        self.layout: DiscLayout = self.sheet.layout
        self._fds: dict[str, int] = {}
        data = [f for f in self.sheet.files if f.kind is not TrackKind.AUDIO]
        end = max((f.start + f.size // RAW for f in self.sheet.files), default=0)
        self.sectors = end if data else 0
        self.size = self.sectors * SECTOR

    def _fd(self, f: TrackFile) -> int:
        fd = self._fds.get(f.path)
        if fd is None:
            try:
                fd = os.open(f.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError as e:
                raise InspectError(f"{f.path}: {e.strerror}") from e
            self._fds[f.path] = fd
        return fd

    def _user(self, lba: int, count: int) -> bytes:
        """User data of ``count`` sectors from ``lba`` (zeros where no data sector is)."""
        out = bytearray(count * SECTOR)
        for f in self.sheet.files:
            held = f.size // RAW
            lo, hi = max(lba, f.start), min(lba + count, f.start + held)
            if lo >= hi:
                continue
            raw = pread(self._fd(f), (hi - lo) * RAW, (lo - f.start) * RAW)
            for i in range(len(raw) // RAW):
                s = raw[i * RAW : (i + 1) * RAW]
                if s[:12] != cdsector.SYNC:
                    continue  # audio, or never read: zeros
                start = 16 if s[15] == 1 else 24
                at = (lo - lba + i) * SECTOR
                out[at : at + SECTOR] = s[start : start + SECTOR]
        return bytes(out)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset >= self.size:
            return b""
        length = min(length, self.size - offset)
        first, last = offset // SECTOR, (offset + length + SECTOR - 1) // SECTOR
        data = self._user(first, last - first)
        skip = offset - first * SECTOR
        return data[skip : skip + length]

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    def wholeness(self) -> wholemod.Wholeness:
        """Whole when every file holds its track and the filesystems fit the data tracks."""

        def read(lba: int, count: int) -> bytes:
            if lba + count > self.sectors:
                raise ReadError(lba, count, 5)
            return self._user(lba, count)

        found = claimsmod.find(self.layout, read, self.sectors)
        notes = [
            f"{f.name} holds {f.size // RAW} of its {f.sectors} sectors"
            for f in self.sheet.files
            if f.sectors and f.size // RAW < f.sectors
        ]
        required = max([found.end] + [s.start + 17 for s in self.layout.data_sessions])
        return wholemod.Wholeness(
            self.size, required, found, wholemod.ImageLayout(self.layout, notes, True)
        )

    def tracks(self) -> list[dict[str, object]]:
        """Each track as the inspector lists it: kind, LBA, length, pregap and its file."""
        by_track = {f.track: f for f in self.sheet.files}
        out = []
        for t in self.layout.tracks:
            f = by_track.get(t.number)
            out.append(
                {
                    "number": t.number,
                    "session": t.session,
                    "kind": str(t.kind),
                    "lba": t.start,
                    "sectors": t.length,
                    "seconds": round(t.length / 75, 2),
                    "pregap": t.pregap,
                    "file": f.name if f else None,
                    "mode": f.mode if f else None,
                }
            )
        return out


def _lone_bin(path: str) -> Sheet:
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(RAW)
    kind = TrackKind.MODE1 if head[15] == 1 else TrackKind.MODE2
    n = size // RAW
    track = Track(1, 1, 0, n, kind)
    layout = DiscLayout((Session(1, (track,), n),), "cue")
    mode = "MODE1/2352" if kind is TrackKind.MODE1 else "MODE2/2352"
    return Sheet(path, layout, [TrackFile(os.path.basename(path), path, 1, kind, mode, 0, n, size)])
