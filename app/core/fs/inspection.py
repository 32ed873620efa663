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

from app.core.base import mapfile
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.fs.iso9660 import BootEntry, IsoFilesystem, read_boot_catalog, read_descriptors
from app.core.fs.node import MAX_ENTRIES, SECTOR, Image, InspectError, Node, missing_bytes
from app.core.fs.udf import UdfFilesystem, UdfInfo

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
    required_sectors: int  # what the filesystem says the image must hold
    fs: IsoFilesystem | UdfFilesystem
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

    def _open(self, node: Node, walk: _Walk) -> Iterator[Node] | None:
        """The reader's stream of a directory's entries, or None (recorded on the directory)
        for a loop, or a listing past the byte budget."""
        key = node.ref[0] if node.ref else -1
        if key in walk.seen:
            node.problem = f"{node.path}: directory loop (extent {key} listed twice)"
            node.problem_kind = "loop"
            self.problem(node.problem, "loop")
            return None
        walk.seen.add(key)
        size = self.size
        # What the listing can read (a reader refuses a size beyond the image by itself).
        walk.budget -= sum(min(ln, max(size - lba * SECTOR, 0)) for lba, ln in node.extents)
        if walk.budget < 0:
            node.problem = f"{node.path}: more directory data than the image holds"
            node.problem_kind = "overlap"
            self.problem(node.problem, "overlap")
            return None
        # A reader streams a directory (iterdir), or hands it out whole (listdir). Either way
        # it keeps no loop guard of its own: a second pass over the tree is no loop.
        listing = getattr(self.fs, "iterdir", None) or self.fs.listdir
        try:
            return iter(listing(node))
        except _READ_ERRORS as e:
            self._failed(node, e)
            return None

    def _failed(self, node: Node, e: Exception) -> None:
        """A listing stopped: what was read before stays, the directory says why."""
        if isinstance(e, InspectError):
            msg, kind = str(e), e.kind
        else:
            msg, kind = f"{node.path}: malformed ({e})", "malformed"
        node.problem, node.problem_kind = msg, kind
        self.problem(msg, kind)

    def _entries(self, node: Node, walk: _Walk) -> Iterator[Node]:
        """A directory's entries as they are read, each checked: a loop or an unreadable
        listing is recorded on the directory (with what was read before it), entries with
        ignored metadata or data past the end of the image are marked."""
        kids = self._open(node, walk)
        if kids is None:
            return
        size = self.size
        try:
            for kid in kids:
                for lba, ln in kid.extents:
                    if lba * SECTOR + ln > size:
                        kid.missing = missing_bytes(kid.extents, size)
                        break
                if kid.problem:
                    self.problem(kid.problem, kid.problem_kind or "other")
                yield kid
        except _READ_ERRORS as e:
            self._failed(node, e)

    def children(self, node: Node) -> list[Node]:
        """A directory's entries, read on first use and kept; a broken one lists what could
        be read, and says why on ``node.problem``."""
        with self._lock:
            key = (node.path, node.ref)
            kids = self._children.get(key)
            if kids is None:
                assert self._cached is not None
                kids = self._children[key] = list(self._entries(node, self._cached))
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
        # _entries, inlined: this loop runs once per entry of the whole tree.
        stack = [top]
        count = 0
        walk = self._new_walk()
        size = self.size
        while stack:
            node = stack.pop()
            kids = self._open(node, walk)
            if kids is None:
                continue
            try:
                for kid in kids:
                    for lba, ln in kid.extents:
                        if lba * SECTOR + ln > size:
                            kid.missing = missing_bytes(kid.extents, size)
                            break
                    if kid.problem:
                        self.problem(kid.problem, kid.problem_kind or "other")
                    count += 1
                    if count > MAX_ENTRIES:
                        break
                    yield kid
                    if kid.kind == "dir":
                        stack.append(kid)
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
        rmap = mapfile.load(map_path, SECTOR, self.sectors).map
        bad = [(s, e) for s, e, st in rmap.runs() if st != FINISHED]
        if not bad:
            return []
        out: list[tuple[str, str, int]] = []
        for node in (self.root, *self.walk(keep=False)):
            lost = _bad_bytes(node.extents, bad, rmap) if node.extents else 0
            if lost:
                out.append((node.path, node.kind, lost))
        return sorted(out)

    def close(self) -> None:
        self.img.close()


def _bad_bytes(extents: list[tuple[int, int]], bad: list[tuple[int, int]], rmap: RangeMap) -> int:
    lost = 0
    for lba, ln in extents:
        end = lba + -(-ln // SECTOR)
        for s, e in bad:
            lo, hi = max(lba, s), min(end, e)
            if lo < hi:
                last_partial = ln % SECTOR if hi == end and ln % SECTOR else SECTOR
                lost += (hi - lo - 1) * SECTOR + last_partial
    return lost


def _hybrid(img: Image) -> list[str]:
    s0 = img.read(0, 1024)
    out = []
    if len(s0) >= 512 and s0[510:512] == b"\x55\xaa":
        kinds = {s0[446 + 16 * i + 4] for i in range(4)} - {0}
        out.append("MBR (" + ", ".join(f"type 0x{k:02x}" for k in sorted(kinds)) + ")")
        if 0xEE in kinds and s0[512:520] == b"EFI PART":
            out.append("GPT")
    return out


def open_image(path: str) -> Inspection:
    img = Image(path)
    try:
        return _open(img)
    except InspectError:
        img.close()
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError) as e:
        img.close()
        raise InspectError(f"{path}: malformed image ({type(e).__name__}: {e})") from e


def _open(img: Image) -> Inspection:
    if img.size < 17 * SECTOR:
        raise InspectError(f"{img.path}: too small to be a disc image ({img.size} bytes)")
    vds = read_descriptors(img)
    udf: UdfFilesystem | None = None
    udf_err = ""
    try:
        udf = UdfFilesystem(img)
    except (InspectError, struct.error, IndexError) as e:
        udf_err = str(e)
    pvd = next((v for v in vds if v.kind == "primary"), None)
    joliet = next((v for v in vds if v.kind == "joliet"), None)
    if pvd is None and udf is None:
        why = f" ({udf_err})" if udf_err and "anchor" not in udf_err else ""
        raise InspectError(f"{img.path}: not an ISO 9660 or UDF image{why}")
    formats: list[str] = []
    fs: IsoFilesystem | UdfFilesystem
    volumes: list[dict[str, object]] = []
    required = 0
    if pvd is not None:
        iso = IsoFilesystem(img, pvd, joliet=False)
        formats.append("ISO 9660")
        if joliet:
            formats.append("Joliet")
        if iso.rock_ridge:
            formats.append("Rock Ridge")
        required = pvd.volume_space
        fs = iso
        if not iso.rock_ridge and joliet is not None:
            fs = IsoFilesystem(img, joliet, joliet=True)
        elif not iso.rock_ridge and udf is not None:
            fs = udf  # UDF names are better than 8.3 ones (UDF bridge discs, DVD-Video)
        for v in vds:
            volumes.append(
                {
                    k: getattr(v, k)
                    for k in (
                        "kind",
                        "lba",
                        "system_id",
                        "volume_id",
                        "volume_space",
                        "publisher",
                        "application",
                        "created",
                        "modified",
                    )
                    if getattr(v, k) not in ("", None)
                }
            )
    if udf is not None:
        info: UdfInfo = udf.info
        formats.append(f"UDF {info.version}".strip())
        volumes.append(
            {
                "kind": "udf",
                "volume_id": info.volume_id,
                "version": info.version,
                "partitions": [
                    {"number": n, "start": s, "length": ln} for n, s, ln in info.partitions
                ],
                "metadata_partition": info.metadata,
            }
        )
        if pvd is None:
            fs = udf
            required = max((s + ln for _, s, ln in info.partitions), default=0)
    boot: list[BootEntry] = []
    boot_problem = ""
    cat = next((v.boot_catalog for v in vds if v.boot_catalog is not None), None)
    if cat is not None:
        try:
            boot = read_boot_catalog(img, cat)
        except InspectError as e:
            boot_problem = str(e)
    label = (pvd.volume_id if pvd else "") or (udf.info.volume_id if udf else "")
    if joliet and joliet.volume_id:
        label = joliet.volume_id
    insp = Inspection(
        img.path,
        img.size,
        img.sectors,
        formats,
        label,
        volumes,
        boot,
        _hybrid(img),
        required,
        fs,
        img,
    )
    if boot_problem:
        insp.problem(boot_problem, "boot")
    return insp
