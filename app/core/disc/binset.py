"""A BIN/CUE on disk: the sheet, the files it names, and the disc layout they make up.

Read by ``verify`` (every data sector's EDC/ECC again), by the inspector (the filesystem inside
the data tracks) and written by the backup (``app.core.rescue.bincue``): one place knows which
file holds which LBAs. A file per track, Redump style: a track's file starts at its pregap
(INDEX 00) and runs to the next track's pregap; a session's first track starts at INDEX 01.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.core.disc import cue
from app.core.disc.layout import DiscLayout, TrackKind

RAW = 2352


class BinCueError(Exception):
    """The sheet or one of its files cannot be read at all (one line)."""


def track_files(layout: DiscLayout) -> list[tuple[int, int, int]]:
    """(track number, first LBA, end LBA) of each track's file, in disc order."""
    out = []
    for s in layout.sessions:
        for i, t in enumerate(s.tracks):
            start = t.start - (t.pregap if i else 0)
            nxt = s.tracks[i + 1] if i + 1 < len(s.tracks) else None
            end = nxt.start - nxt.pregap if nxt is not None else s.leadout
            out.append((t.number, start, max(end, start)))
    return out


def is_bincue(path: str) -> bool:
    return path.lower().endswith(".cue")


@dataclass
class TrackFile:
    name: str
    path: str
    track: int
    kind: TrackKind
    mode: str
    start: int  # LBA of the file's first sector
    sectors: int  # what the layout says the file holds
    size: int = 0
    hashes: dict[str, str] | None = None
    ok: int = 0
    bad: list[int] = field(default_factory=list)  # LBAs failing their own check
    unchecked: int = 0  # data sectors with nothing to check
    not_read: int = 0  # sectors the mapfile calls unreadable (zero in the file)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "track": self.track,
            "mode": self.mode,
            "lba": self.start,
            "sectors": self.sectors,
            "bytes": self.size,
            "hashes": self.hashes,
            "edc": {
                "ok": self.ok,
                "bad": len(self.bad),
                "unchecked": self.unchecked,
                "first_bad": self.bad[0] if self.bad else None,
            },
        }


@dataclass
class Sheet:
    path: str
    layout: DiscLayout
    files: list[TrackFile]


def open_sheet(path: str) -> Sheet:
    """The sheet and its files, the layout exact when DiscVault wrote it, else worked out from
    the files' lengths. ``BinCueError`` names a missing file or a malformed line."""
    try:
        sheet = cue.read(path)
    except cue.CueError as e:
        raise BinCueError(f"{e} — correct the sheet, or use the one the backup wrote") from e
    folder = os.path.dirname(os.path.abspath(path))
    paths = [os.path.join(folder, f) for f in sheet.files]
    sizes = []
    for p in paths:
        try:
            sizes.append(os.path.getsize(p))
        except OSError as e:
            raise BinCueError(f"{p}: {e.strerror} — the sheet {path} names it") from e
    per_sector = {t.file: t.sector_size for t in sheet.tracks}
    try:
        layout = cue.with_sizes(sheet, [s // per_sector.get(i, RAW) for i, s in enumerate(sizes)])
    except cue.CueError as e:
        raise BinCueError(f"{path}: {e}") from e
    spans = {n: (a, b) for n, a, b in track_files(layout)}
    files: list[TrackFile] = []
    for t in sheet.tracks:
        a, b = spans.get(t.number, (0, 0))
        p = paths[t.file]
        held = next((f for f in files if f.path == p), None)
        if held is not None:  # several tracks in one file (not Redump's way): one file
            held.sectors = b - held.start
            if t.kind is TrackKind.AUDIO:
                held.kind = TrackKind.AUDIO  # then data sectors are found by their sync
            continue
        files.append(
            TrackFile(os.path.basename(p), p, t.number, t.kind, t.mode, a, b - a, sizes[t.file])
        )
    return Sheet(path, layout, files)
