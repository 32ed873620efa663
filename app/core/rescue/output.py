"""Where a backup's sectors go: an ``Output`` owns the image's files; the engine only writes
sectors by LBA.

A format (``formats.py``: an .iso, a BIN/CUE set) says which files it writes — each a ``Part``
holding LBAs ``[start, end)`` in order, ``sector_size`` bytes a sector — and which sheet goes
beside them. Everything else happens here, once, for every format: creating and locking the
files, refusing one that is not this backup's, sparse sizing and free space, writing and
reading by LBA (sectors outside every part, such as the lead-out and lead-in between sessions
of a BIN/CUE, go nowhere), flushing before the mapfile vouches for them, the resume checks on
the files' lengths, and hashing per file.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from app.core.base.companions import Companions
from app.core.base.compat import pread, try_lock
from app.core.base.hashing import StreamHasher, hash_file
from app.core.base.units import human_bytes
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout
from app.core.rescue.types import DestinationError, cannot_write


@dataclass(frozen=True)
class Part:
    """One file of the output: LBAs ``[start, end)``, in order, from byte 0."""

    path: str
    start: int
    end: int
    label: str = "image"  # what it is, in words: "image", "track 02"
    track: int = 0  # the track it holds (0: a whole image)
    mode: str = ""  # as the cue sheet says it: MODE1/2048, MODE2/2352, AUDIO

    @property
    def sectors(self) -> int:
        return self.end - self.start

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass
class FileResult:
    """What the report says about one written file."""

    part: Part
    size: int  # bytes
    hashes: dict[str, str] | None = None

    def to_json(self) -> dict[str, object]:
        p = self.part
        return {
            "path": os.path.abspath(p.path),
            "name": p.name,
            "label": p.label,
            "track": p.track or None,
            "mode": p.mode or None,
            "lba": p.start,
            "sectors": p.sectors,
            "bytes": self.size,
            "hashes": self.hashes,
        }


class Output:
    """The files of one backup, open for the run. Subclasses (formats) set the parts."""

    format: ClassVar[str] = ""
    sector_size: ClassVar[int] = 2048
    extension: ClassVar[str] = ""

    def __init__(self, comp: Companions, layout: DiscLayout) -> None:
        self.comp = comp
        self.layout = layout
        self.parts: list[Part] = self.make_parts(layout)
        self.fds: list[int] = []
        self.existed: list[bool] = []
        self.locked = 0  # how many of fds this run holds the lock of
        self.notes: list[str] = []
        self.info: DiscInfo | None = None  # MCN, ISRCs, CD-Text, when the drive gives them

    # ---- what a format decides ----------------------------------------------------------------
    def make_parts(self, layout: DiscLayout) -> list[Part]:
        raise NotImplementedError

    def sheet(self) -> tuple[str, str] | None:
        """(path, text) of the sheet written beside the files at the end, or None."""
        return None

    def sheet_path(self) -> str | None:
        return None

    def set_domain(self, sectors: int) -> None:
        """The plan decided the domain (an .iso grows its one part to it)."""

    def image_end(self, sectors: int) -> None:
        """The run ended: the image file(s) end here (an .iso drops trailing run-out)."""

    def refuse(self, source: str) -> str | None:
        """Why this format cannot hold this disc (one line), or None."""
        return None

    def end(self) -> int:
        """Where the image's LBAs end, from the layout alone."""
        return max((p.end for p in self.parts), default=0)

    def user_data(self, lba: int, raw: bytes) -> bytes | None:
        """A sector as a filesystem reader sees it (2048 bytes), from what the file holds."""
        return raw

    @property
    def image(self) -> str:
        """The file a user names the backup by: the .iso, or the .cue of a BIN/CUE."""
        return self.comp.image

    # ---- the files ----------------------------------------------------------------------------
    def outputs(self) -> list[tuple[str, str]]:
        """Every file this backup writes, as (what it is, path), for the clash checks."""
        out = [("image", p.path) for p in self.parts]
        sheet = self.sheet_path()
        if sheet:
            out.append(("cue sheet", sheet))
        out += [(r, p) for r, p in self.comp.outputs() if r not in ("image", "cue sheet")]
        return out

    def open(self) -> None:
        """Create (or open) and lock every file. ``DestinationError`` leaves nothing new."""
        try:
            for part in self.parts:
                self.existed.append(os.path.exists(part.path))
                try:
                    fd = os.open(
                        part.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644
                    )
                except OSError as e:
                    raise DestinationError(cannot_write(f"the {part.label}", part.path, e)) from e
                self.fds.append(fd)
                if not try_lock(fd):
                    raise DestinationError(
                        f"another DiscVault is already writing or verifying {part.path} — wait "
                        "for it to finish, or choose another name"
                    )
                self.locked += 1
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """Close after a failed start: files this run created and left empty are removed."""
        for i, fd in enumerate(self.fds):
            os.close(fd)
            # Only files this run locked: an unlocked one may be another run's, just created.
            if not self.existed[i] and i < self.locked:
                with contextlib.suppress(OSError):
                    if os.path.getsize(self.parts[i].path) == 0:
                        os.unlink(self.parts[i].path)
        self.fds = []
        self.locked = 0

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)  # releases the locks too
        self.fds = []

    @property
    def single_file(self) -> bool:
        """One file holding every LBA from 0 in the source's own sectors (an .iso)."""
        return len(self.parts) == 1 and self.parts[0].start == 0 and len(self.fds) == 1

    @property
    def any_existed(self) -> bool:
        return any(self.existed)

    def nonempty(self) -> str | None:
        """The first file that existed before this run and holds bytes, or None."""
        for i, part in enumerate(self.parts):
            if self.existed[i] and os.fstat(self.fds[i]).st_size:
                return part.path
        return None

    def truncate(self) -> None:
        for fd in self.fds:
            os.ftruncate(fd, 0)

    def room(self) -> None:
        need = sum(
            p.sectors * self.sector_size - os.fstat(fd).st_blocks * 512
            for p, fd in zip(self.parts, self.fds, strict=True)
        )
        free = _free_bytes(self.image)
        if free is not None and need > free:
            raise DestinationError(
                f"not enough space for {self.image}: needs {human_bytes(need)}, "
                f"{human_bytes(free)} free — free some space or choose another folder"
            )

    def allocate(self) -> None:
        """Grow every file to its part (sparse). Done after the first mapfile is saved: a kill
        in between must never leave a full-size image that no mapfile vouches for."""
        for part, fd in zip(self.parts, self.fds, strict=True):
            size = part.sectors * self.sector_size
            if os.fstat(fd).st_size < size:
                try:
                    os.ftruncate(fd, size)
                except OSError as e:
                    raise DestinationError(f"{part.path}: {e.strerror}") from e

    def _where(self, lba: int, count: int) -> list[tuple[int, int, int]]:
        """(part index, first LBA, last LBA + 1) of the parts that ``[lba, lba+count)`` meets."""
        out = []
        for i, p in enumerate(self.parts):
            lo, hi = max(lba, p.start), min(lba + count, p.end)
            if lo < hi:
                out.append((i, lo, hi))
        return out

    def write(self, lba: int, data: bytes) -> None:
        ss = self.sector_size
        for i, lo, hi in self._where(lba, len(data) // ss):
            p = self.parts[i]
            view = memoryview(data)[(lo - lba) * ss : (hi - lba) * ss]
            off = (lo - p.start) * ss
            try:
                while view:
                    n = os.pwrite(self.fds[i], view, off)
                    view, off = view[n:], off + n
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise DestinationError(
                        f"the disk holding {p.path} is full — free some space and run the "
                        "same backup again to resume"
                    ) from e
                raise DestinationError(cannot_write(f"the {p.label}", p.path, e)) from e

    def read(self, lba: int, count: int) -> bytes:
        """What the files hold for these sectors (zeros where no file holds them)."""
        ss = self.sector_size
        out = bytearray(count * ss)
        for i, lo, hi in self._where(lba, count):
            p = self.parts[i]
            got = pread(self.fds[i], (hi - lo) * ss, (lo - p.start) * ss)
            out[(lo - lba) * ss : (lo - lba) * ss + len(got)] = got
        return bytes(out)

    def sync(self) -> None:
        for fd in self.fds:
            os.fdatasync(fd) if hasattr(os, "fdatasync") else os.fsync(fd)

    def short_of(self, finished: list[tuple[int, int]]) -> str | None:
        """Why the files cannot hold what the mapfile calls finished (missing or cut), or None."""
        for i, p in enumerate(self.parts):
            runs = [
                (max(s, p.start), min(e, p.end)) for s, e in finished if s < p.end and e > p.start
            ]
            if not runs:
                continue
            if not self.existed[i]:
                rescued = sum(e - s for s, e in runs) * self.sector_size
                return (
                    f"{p.path} is missing, but {self.comp.map} says {human_bytes(rescued)} were "
                    f"rescued into it — put it back, or move {self.comp.map} away to start over"
                )
            need = (runs[-1][1] - p.start) * self.sector_size
            have = os.fstat(self.fds[i]).st_size
            if have < need:
                return (
                    f"{p.path} is shorter than {self.comp.map} says ({have} of {need} bytes): it "
                    f"was cut or replaced — put the whole file back, or move {self.comp.map} "
                    "away to start over"
                )
        return None

    def finish(self, image_sectors: int) -> None:
        """Cut the files to their final length (after ``image_end``)."""
        for part, fd in zip(self.parts, self.fds, strict=True):
            size = part.sectors * self.sector_size
            if os.fstat(fd).st_size > size:
                os.ftruncate(fd, size)

    def file_results(self) -> list[FileResult]:
        return [FileResult(p, p.sectors * self.sector_size) for p in self.parts]


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


@dataclass
class PartHasher:
    """Hashes per file while the data arrives in LBA order (a clean disc); gives up at the first
    out-of-order write, and the files are hashed from the image instead (an image of one file
    goes on from the digests of the prefix read in order: ``take``). Sectors outside every part
    are stepped over; only one file's hasher (four threads) runs at a time."""

    parts: list[Part]
    sector_size: int
    next_lba: int = 0
    done: dict[int, dict[str, str]] = field(default_factory=dict)  # part index -> hashes
    broken: bool = False
    _current: int = -1
    _hasher: StreamHasher | None = None
    _fed_to: int = 0  # LBA up to which the current part was fed

    def feed(self, lba: int, data: bytes) -> None:
        if self.broken:
            return
        if lba != self.next_lba:
            self.stop()
            return
        n = len(data) // self.sector_size
        ss = self.sector_size
        for i, p in enumerate(self.parts):
            lo, hi = max(lba, p.start), min(lba + n, p.end)
            if lo >= hi:
                continue
            if i != self._current:
                self._close_current()
                if lo != p.start:  # the part's beginning was never read in order
                    self.abort()
                    return
                self._current, self._hasher, self._fed_to = i, StreamHasher(), p.start
            assert self._hasher is not None
            self._hasher.update(data[(lo - lba) * ss : (hi - lba) * ss])
            self._fed_to = hi
            if hi == p.end:
                self._close_current()
        self.next_lba = lba + n

    def _close_current(self) -> None:
        if self._hasher is None:
            return
        p = self.parts[self._current]
        if self._fed_to == p.end:
            self.done[self._current] = self._hasher.finish()
        else:
            self._hasher.abort()
        self._hasher, self._current = None, -1

    def finish(self, parts: list[Part]) -> dict[int, dict[str, str]]:
        """Hashes of the parts (as they finally are) that were read whole and in order."""
        if self._hasher is not None and self._current >= 0:
            p = parts[self._current]
            if not self.broken and self._fed_to == p.end:
                self.done[self._current] = self._hasher.finish()
            else:
                self._hasher.abort()
            self._hasher = None
        return {} if self.broken else dict(self.done)

    def stop(self) -> None:
        """No stream hash (data came out of order, or the disc is damaged). An image of one
        file keeps the digests of its in-order prefix for ``take``: those sectors are
        finished and never change again, so the background hash of the image goes on from
        there instead of hashing them twice."""
        if len(self.parts) == 1 and self._current == 0 and self.parts[0].start == 0:
            self.broken = True
            return
        self.abort()

    def take(self) -> tuple[StreamHasher, int] | None:
        """The digests of the single file's prefix read in order, and its length in bytes
        (None when there is none); the caller finishes or aborts them. No stream hash after."""
        single = len(self.parts) == 1 and self.parts[0].start == 0
        if not single or self._hasher is None:
            self.abort()
            return None
        h, self._hasher, self._current = self._hasher, None, -1
        self.broken = True
        return h, self._fed_to * self.sector_size

    def abort(self) -> None:
        self.broken = True
        if self._hasher is not None:
            self._hasher.abort()
            self._hasher = None


def hash_parts(
    parts: list[Part],
    have: dict[int, dict[str, str]],
    on_bytes: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[dict[str, str]] | None:
    """Every part's hashes: those streamed while reading, the rest from the files (``on_bytes``
    gets (done, total) over all of them). None when ``should_stop`` said so."""
    todo = [p for i, p in enumerate(parts) if i not in have]
    total = sum(os.path.getsize(p.path) for p in todo)
    base = 0
    out: list[dict[str, str]] = []
    for i, p in enumerate(parts):
        if i in have:
            out.append(have[i])
            continue
        start = base

        def step(done: int, start: int = start) -> None:
            if on_bytes is not None:
                on_bytes(start + done, total)

        got = hash_file(p.path, on_bytes=step, should_stop=should_stop)
        if got is None:
            return None
        base += os.path.getsize(p.path)
        out.append(got)
    return out


def with_end(part: Part, end: int) -> Part:
    return replace(part, end=end)
