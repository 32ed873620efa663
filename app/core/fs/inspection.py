"""Inspect an image: volumes, boot entries, the file tree, wholeness, and damaged files.

``open_image`` never lets a raw parser error out: everything becomes ``InspectError`` with one
line saying why, and a directory that cannot be listed is reported on that directory while the
rest of the tree still lists.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import TYPE_CHECKING, cast

from app.core.base.rangemap import FINISHED
from app.core.fs.iso9660 import BootEntry, IsoFilesystem
from app.core.fs.isoscan import Row, Rows
from app.core.fs.node import MAX_ENTRIES, SECTOR, Image, InspectError, Node, missing_bytes

if TYPE_CHECKING:  # the readers of a format are loaded when an image holds it
    from app.core.disc.layout import DiscLayout
    from app.core.disc.wholeness import Wholeness
    from app.core.fs.hfs import HfsFilesystem
    from app.core.fs.hfsplus import HfsPlusFilesystem
    from app.core.fs.udf import UdfFilesystem

    Reader = IsoFilesystem | UdfFilesystem | HfsFilesystem | HfsPlusFilesystem

__all__ = ["InspectError", "Inspection", "Node", "open_image"]


PROBLEM_LINES = 1000  # problems kept word for word; past that, only counted per kind
# What a reader may raise on a malformed directory (InspectError says why; the rest is a bug
# of ours meeting bytes it did not expect, still only that directory's problem).
_READ_ERRORS = (InspectError, struct.error, IndexError, ValueError, UnicodeError)


@dataclass
class _Walk:
    """What one pass over the tree has listed: the loop guard and the byte budget."""

    budget: int
    seen: set[int] = field(default_factory=set)


@dataclass
class Inspection:
    path: str
    size: int
    sectors: int
    formats: list[str]
    volume_id: str
    volumes: list[dict[str, object]]
    boot: list[BootEntry]
    hybrid: list[str]
    required_sectors: int  # what the filesystems say the image must hold
    fs: Reader
    img: Image
    problems: list[str] = field(default_factory=list)  # the first PROBLEM_LINES, one line each
    # Per kind of problem (see node.PROBLEM_KINDS), over every problem found: how many, and the
    # first one met.
    problem_counts: dict[str, int] = field(default_factory=dict)
    problem_examples: dict[str, str] = field(default_factory=dict)
    _children: dict[tuple[str, tuple[int, ...]], list[Node]] = field(default_factory=dict)
    # The GUI lists directories while a background thread indexes the rest: one reader at a
    # time, or the loop guard would see the same directory twice.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cached: _Walk | None = None
    _known: set[tuple[str, str]] = field(default_factory=set)
    _plock: threading.Lock = field(default_factory=threading.Lock)
    wholeness: Wholeness | None = None
    layout: DiscLayout | None = None  # from the cue sheet beside the image, else one track
    session: int = 1  # the session shown
    view: str = "iso9660"  # the filesystem tree shown: "iso9660", "udf" or "hfs"
    views: list[str] = field(default_factory=list)  # the trees this image holds
    # Multi-session, viewing an earlier session: paths the last session deleted or replaced.
    later: dict[str, str] = field(default_factory=dict)
    # A BIN/CUE: every track (audio ones too) with its LBA, length, pregap and file.
    tracks: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cached = self._new_walk()

    @property
    def root(self) -> Node:
        return self.fs.root

    @property
    def missing_sectors(self) -> int:
        return max(self.required_sectors - self.sectors, 0)

    @property
    def whole(self) -> bool:
        return self.missing_sectors == 0 and self.size % SECTOR == 0

    @property
    def sessions(self) -> list[tuple[int, int, int]]:
        """(number, first LBA, end) of each data session (one for a plain image)."""
        if self.layout is None:
            return [(1, 0, self.sectors)]
        return [(s.number, s.start, s.leadout) for s in self.layout.data_sessions]

    def problem(self, message: str, kind: str = "other") -> None:
        """Record one problem (once, however many walks meet it)."""
        key = (kind, message)
        with self._plock:
            if key in self._known:
                return
            self._known.add(key)
            if len(self.problems) < PROBLEM_LINES:
                self.problems.append(message)
            self.problem_counts[kind] = self.problem_counts.get(kind, 0) + 1
            self.problem_examples.setdefault(kind, message)

    def problem_summary(self) -> list[tuple[str, int, str]]:
        """(kind, count, an example) per kind of problem, in the order first met."""
        return [(k, n, self.problem_examples[k]) for k, n in self.problem_counts.items()]

    def _new_walk(self) -> _Walk:
        # Directory data in a sane image never overlaps, so all of it fits in the image;
        # twice that is room for rr_moved and slack. Past it, folders are refused.
        return _Walk(2 * self.size + (1 << 20))

    def _open_rows(self, node: Node, walk: _Walk, rows: bool) -> Iterator[Rows] | None:
        """``_open``, a list of entries at a time with where its Nodes are: the reader's own
        lists (ISO 9660; with ``rows``, its plain files as Row tuples), or its stream cut
        into lists."""
        if not self._admit(node, walk):
            return None
        try:
            if isinstance(self.fs, IsoFilesystem):
                return self.fs.iterrows(node, rows)
            # A reader streams a directory (iterdir), or hands it out whole (listdir). Either
            # way it keeps no loop guard of its own: a second pass over the tree is no loop.
            listing = getattr(self.fs, "iterdir", None) or self.fs.listdir
            return _every_node(_chunks(iter(listing(node))))
        except _READ_ERRORS as e:
            self._failed(node, e)
            return None

    def _admit(self, node: Node, walk: _Walk) -> bool:
        """False (recorded on the directory) for a loop, or a listing past the byte budget."""
        key = node.ref[0] if node.ref else -1
        if key in walk.seen:
            node.problem = f"{node.path}: directory loop (extent {key} listed twice)"
            node.problem_kind = "loop"
            self.problem(node.problem, "loop")
            return False
        walk.seen.add(key)
        size = self.size
        # What the listing can read (a reader refuses a size beyond the image by itself).
        walk.budget -= sum(min(ln, max(size - lba * SECTOR, 0)) for lba, ln in node.extents)
        if walk.budget < 0:
            node.problem = f"{node.path}: more directory data than the image holds"
            node.problem_kind = "overlap"
            self.problem(node.problem, "overlap")
            return False
        return True

    def _failed(self, node: Node, e: Exception) -> None:
        """A listing stopped: what was read before stays, the directory says why."""
        if isinstance(e, InspectError):
            msg, kind = str(e), e.kind
        else:
            msg, kind = f"{node.path}: malformed ({e})", "malformed"
        node.problem, node.problem_kind = msg, kind
        self.problem(msg, kind)

    def _entries(self, node: Node, walk: _Walk) -> Iterator[Node]:
        """A directory's entries as they are read, checked (``_marked``): a loop or an
        unreadable listing is recorded on the directory (with what was read before it)."""
        return chain.from_iterable(self._entry_lists(node, walk))

    def _entry_lists(self, node: Node, walk: _Walk) -> Iterator[list[Node]]:
        batches = self._open_rows(node, walk, False)
        if batches is None:
            return
        try:
            for items, at in batches:
                self._marked(items, at)
                yield cast(list[Node], items)  # without rows, every item is a Node
        except _READ_ERRORS as e:
            self._failed(node, e)

    def _marked(self, items: list[Node | Row], at: list[int]) -> list[Node]:
        """The entries at ``at`` (the only ones that can need it) marked: data past the end of
        the image, ignored metadata as a problem; with an earlier session shown, every entry
        the last one deleted or replaced. Returns those entries."""
        kids = cast(list[Node], items if len(at) == len(items) else [items[k] for k in at])
        size = self.size
        for kid in [k for k in kids for lba, ln in k.extents if lba * SECTOR + ln > size]:
            kid.missing = missing_bytes(kid.extents, size)
        for kid in [k for k in kids if k.problem]:
            self.problem(kid.problem, kid.problem_kind or "other")
        if self.later:  # no Rows then: every item is a Node
            for kid in cast(list[Node], items):
                kid.later = self.later.get(kid.path, "")
        return kids

    def children(self, node: Node) -> list[Node]:
        """A directory's entries, read on first use and kept; a broken one lists what could
        be read, and says why on ``node.problem``."""
        with self._lock:
            key = (node.path, node.ref)
            kids = self._children.get(key)
            if kids is None:
                assert self._cached is not None
                kids = list(chain.from_iterable(self._entry_lists(node, self._cached)))
                self._children[key] = kids
            return kids

    def lister(self) -> Callable[[Node], Iterator[Node]]:
        """Entries of one directory at a time, streamed and not kept, with one loop guard for
        every directory it lists (an extraction's pass over the tree)."""
        walk = self._new_walk()
        return lambda node: self._entries(node, walk)

    def walk(self, top: Node | None = None, *, keep: bool = True) -> Iterator[Node]:
        """Every node below ``top`` (depth first), bounded in count.

        ``keep=False`` streams: nothing is kept, so memory stays flat for millions of entries
        (the command line's listings); the GUI keeps what it lists (``children``)."""
        return self._kept(top or self.root) if keep else self._stream(top or self.root)

    def _kept(self, top: Node) -> Iterator[Node]:
        stack = [top]
        count = 0
        while stack:
            node = stack.pop()
            for child in self.children(node):
                count += 1
                if count > MAX_ENTRIES:
                    raise InspectError(f"more than {MAX_ENTRIES} entries: not a real disc")
                yield child
                if child.kind == "dir":
                    stack.append(child)

    def _stream(self, top: Node) -> Iterator[Node]:
        for batch in self.walk_batches(top):
            yield from batch

    def walk_batches(self, top: Node | None = None) -> Iterator[list[Node]]:
        """``walk(keep=False)`` a list at a time, as the reader reads them: each step here
        is one per list, not one per entry (the command line formats a list at once)."""
        for items, _ in self._walk(top, False):
            yield cast(list[Node], items)  # without rows, every item is a Node

    def walk_rows(self) -> Iterator[Rows]:
        """The tree for a listing (`inspect --files`): ``walk_batches``, but the plain files of
        an ISO 9660 tree come as ``Row`` tuples (a Node each, and the walk's passes over them,
        were a fifth of the listing's time), and with each list where its Nodes are. Other
        trees, and an earlier session (whose entries get marks), come as Nodes only."""
        if isinstance(self.fs, IsoFilesystem) and not self.later:
            return self._walk(None, True)
        return _every_node(self.walk_batches())

    def _walk(self, top: Node | None, rows: bool) -> Iterator[Rows]:
        stack = [top or self.root]
        count = 0
        walk = self._new_walk()
        while stack:
            node = stack.pop()
            batches = self._open_rows(node, walk, rows)
            if batches is None:
                continue
            try:
                for items, at in batches:
                    if len(items) > MAX_ENTRIES - count:  # one past the limit, then stop
                        items = items[: MAX_ENTRIES - count + 1]
                        at = [k for k in at if k < len(items)]
                    kids = self._marked(items, at)
                    count += len(items)
                    if count > MAX_ENTRIES:
                        if len(items) > 1:
                            yield items[:-1], [k for k in at if k < len(items) - 1]
                        break
                    yield items, at
                    stack += [k for k in kids if k.kind == "dir"]
            except _READ_ERRORS as e:
                self._failed(node, e)
            if count > MAX_ENTRIES:
                raise InspectError(f"more than {MAX_ENTRIES} entries: not a real disc")

    def find(self, path: str) -> Node | None:
        node = self.root
        for part in [p for p in path.split("/") if p]:
            match = next((c for c in self.children(node) if c.name == part), None)
            if match is None:
                return None
            node = match
        return node

    def damage(self, map_path: str) -> dict[str, int]:
        """Unreadable bytes per path, from the image's ddrescue mapfile: a file's data, or a
        directory's own listing (then some of its entries may be missing altogether)."""
        return {path: lost for path, _, lost in self.damaged(map_path)}

    def damaged(self, map_path: str) -> list[tuple[str, str, int]]:
        """(path, kind, unreadable bytes) of every node on unreadable sectors, by path."""
        per = getattr(self.img, "map_sector_size", SECTOR)  # a BIN/CUE's map counts 2352
        from app.core.base import mapfile  # only --map and the GUI's damage view need it

        rmap = mapfile.load(map_path, per, self.sectors).map
        bad = [(s, e) for s, e, st in rmap.runs() if st != FINISHED]
        if not bad:
            return []
        out: list[tuple[str, str, int]] = []
        for node in (self.root, *self.walk(keep=False)):
            lost = _bad_bytes(node.spans(), bad) if node.extents else 0
            if lost:
                out.append((node.path, node.kind, lost))
        return sorted(out)

    def close(self) -> None:
        self.img.close()


def _every_node(batches: Iterator[list[Node]]) -> Iterator[Rows]:
    """Lists of Nodes only, each with where its Nodes are: everywhere."""
    for batch in batches:
        yield cast(list[Node | Row], batch), list(range(len(batch)))


def _chunks(kids: Iterator[Node], size: int = 4096) -> Iterator[list[Node]]:
    """A reader's stream of entries in lists; what was read before an error comes first."""
    batch: list[Node] = []
    try:
        for kid in kids:
            batch.append(kid)
            if len(batch) >= size:
                yield batch
                batch = []
    except _READ_ERRORS:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _bad_bytes(spans: list[tuple[int, int]], bad: list[tuple[int, int]]) -> int:
    """Bytes of the (image byte offset, bytes) runs that fall on unreadable sectors."""
    lost = 0
    for off, ln in spans:
        for s, e in bad:
            lo, hi = max(off, s * SECTOR), min(off + ln, e * SECTOR)
            if lo < hi:
                lost += hi - lo
    return lost


def open_image(
    path: str,
    session: int | None = None,
    view: str | None = None,
    layout: DiscLayout | None = None,
) -> Inspection:
    """Open an image for inspection: the last session unless ``session`` names another, and
    the best filesystem tree unless ``view`` ("iso9660", "udf", "hfs") asks for one. A drive
    passes its ``layout`` (TOC); an image file's comes from its cue sheet."""
    from app.core.fs.opening import open_at

    img: Image | None = None
    if path.lower().endswith((".cue", ".bin")):  # only these can be a BIN/CUE
        from app.core.fs.rawimage import RawImage, is_raw_bin, sheet_for

        if sheet_for(path) is not None or (path.lower().endswith(".bin") and is_raw_bin(path)):
            img = RawImage(path)
    img = img or Image(path)
    try:
        return open_at(img, session, view, layout)
    except InspectError:
        img.close()
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError) as e:
        img.close()
        raise InspectError(f"{path}: malformed image ({type(e).__name__}: {e})") from e
