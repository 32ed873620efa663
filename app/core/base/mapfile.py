"""GNU ddrescue mapfiles: read (ours and ddrescue's), write, and save atomically.

The file records bytes; the engine thinks in sectors. A ddrescue mapfile made with another
block size can put a boundary inside a sector: such a sector takes the worst status it touches,
so a partially read sector is read again rather than trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from app import __version__
from app.core.base.companions import open_regular
from app.core.base.rangemap import SEVERITY, STATUSES, RangeMap

PHASE_STATUS = {"copy": "?", "trim": "*", "scrape": "/", "retry": "-", "fill": "F", "done": "+"}
PHASE_COMMENT = {
    "copy": "Copying non-tried blocks...",
    "trim": "Trimming non-trimmed blocks...",
    "scrape": "Scraping non-scraped blocks...",
    "retry": "Retrying bad sectors...",
    "fill": "Filling specified blocks...",
    "done": "Finished",
}


class MapfileError(Exception):
    """The mapfile is unreadable or not a ddrescue mapfile."""


@dataclass
class Mapfile:
    map: RangeMap
    sector_size: int
    current_pos: int = 0  # bytes
    current_status: str = "?"
    current_pass: int = 1
    extent_bytes: int = 0  # how far the file's blocks reach (0 for none)
    # What DiscVault knows beyond ddrescue's statuses (disc identity, layout, not-data regions),
    # kept in one comment line that ddrescue and ddrescuelog skip. Empty for ddrescue's files.
    meta: dict[str, object] = field(default_factory=dict)


META_PREFIX = "# discvault: "


def parse(text: str | Iterable[str], sector_size: int, size_sectors: int | None = None) -> Mapfile:
    """Parse mapfile text (or its lines). ``size_sectors`` bounds the domain (blocks past it
    are dropped); without it the domain ends where the last block ends."""
    rows: list[tuple[int, int, str]] = []
    head: tuple[int, str, int] | None = None
    meta: dict[str, object] = {}
    lines = text.splitlines() if isinstance(text, str) else text
    for lineno, raw in enumerate(lines, 1):
        if raw.startswith(META_PREFIX):
            try:
                found = json.loads(raw[len(META_PREFIX) :])
            except (ValueError, RecursionError) as e:  # RecursionError: nested 100 000 deep
                raise MapfileError(f"line {lineno}: DiscVault's comment is damaged") from e
            if not isinstance(found, dict):
                raise MapfileError(f"line {lineno}: DiscVault's comment is damaged")
            meta = found
            continue
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if head is None:
                cpass = int(parts[2], 0) if len(parts) > 2 else 1
                head = (int(parts[0], 0), parts[1], cpass)
                continue
            pos, size, st = int(parts[0], 0), int(parts[1], 0), parts[2]
        except (IndexError, ValueError) as e:
            raise MapfileError(f"line {lineno}: not a ddrescue mapfile line: {raw!r}") from e
        if st not in STATUSES or pos < 0 or size < 0:
            raise MapfileError(f"line {lineno}: bad block {raw!r}")
        if rows and pos < rows[-1][0] + rows[-1][1]:
            raise MapfileError(f"line {lineno}: blocks overlap or are out of order")
        rows.append((pos, size, st))
    if head is None:
        raise MapfileError("no status line: not a ddrescue mapfile")
    extent = rows[-1][0] + rows[-1][1] if rows else 0
    if size_sectors is None:
        size_sectors = -(-extent // sector_size)
    rmap = RangeMap(size_sectors)
    partial: dict[int, str] = {}
    for pos, size, st in rows:
        if not size:
            continue
        first_full = -(-pos // sector_size)
        end_full = (pos + size) // sector_size
        if first_full < end_full:
            rmap.set(first_full, end_full, st)
        for edge in {pos // sector_size, (pos + size - 1) // sector_size}:
            if edge < first_full or edge >= end_full:
                prev = partial.get(edge, "+")
                partial[edge] = st if SEVERITY[st] > SEVERITY[prev] else prev
    for sec, st in partial.items():
        rmap.set(sec, sec + 1, st)
    return Mapfile(rmap, sector_size, head[0], head[1], head[2], extent, meta)


MAX_LINE = 1 << 20  # DiscVault's comment line is a few kilobytes; ddrescue's lines are short


def _lines(f: BinaryIO) -> Iterator[str]:
    """The file's lines, each checked as it is read: a file that is no mapfile (an image given
    as --map by mistake) is refused at its first bad line, never read whole into memory."""
    for lineno, raw in enumerate(iter(lambda: f.readline(MAX_LINE + 1), b""), 1):
        if len(raw) > MAX_LINE:
            raise MapfileError(f"line {lineno} is longer than {MAX_LINE} bytes: not a mapfile")
        try:
            yield raw.decode("ascii").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise MapfileError("not a ddrescue mapfile (binary data)") from e


def load(path: str, sector_size: int, size_sectors: int | None = None) -> Mapfile:
    try:
        fd = open_regular(path)
    except OSError as e:
        raise MapfileError(f"{path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "rb") as f:
            return parse(_lines(f), sector_size, size_sectors)
    except MapfileError as e:
        raise MapfileError(f"{path}: {e}") from e
    except OSError as e:
        raise MapfileError(f"{path}: {e.strerror}") from e


def format_mapfile(
    mf: Mapfile, *, command_line: str = "", start_time: float | None = None, phase: str = "done"
) -> str:
    ss = mf.sector_size
    now = time.time()
    lines = [
        f"# Mapfile. Created by DiscVault version {__version__}",
        f"# Command line: {command_line}",
        f"# Start time:   {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(start_time or now))}",
        f"# Current time: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now))}",
        f"# {PHASE_COMMENT.get(phase, phase)}",
        *([META_PREFIX + json.dumps(mf.meta, separators=(",", ":"))] if mf.meta else []),
        "# current_pos  current_status  current_pass",
        f"0x{mf.current_pos:08X}     {mf.current_status}               {mf.current_pass}",
        "#      pos        size  status",
    ]
    lines += [f"0x{s * ss:08X}  0x{(e - s) * ss:08X}  {st}" for s, e, st in mf.map.runs()]
    return "\n".join(lines) + "\n"


def save_atomic(path: str, text: str) -> None:
    """Replace ``path`` so that a crash at any instant leaves the old or the new file whole.

    The temporary name is ours, but it sits where anyone who can write the folder can put
    something first: whatever is there (a file a crash left, or a link to the source that
    would have us write through it) is removed, never opened, and the new file is created
    exclusively (a link put back in between makes the open fail, not follow it)."""
    tmp = f"{path}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a folder there fails here, named by the error
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags | getattr(os, "O_BINARY", 0), 0o644)
    try:
        data = text.encode("ascii")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    try:
        dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some filesystems cannot fsync a directory
            os.fsync(dfd)
    finally:
        os.close(dfd)
