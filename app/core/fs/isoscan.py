"""The directory scan of ISO 9660 (+ Joliet, Rock Ridge): one directory extent's records to nodes.

This is the loop a 100 000-file listing spends its time in. Compiling it (and ``susp``) with
mypyc was measured and dropped: the compiled walk ran 22% more instructions (callgrind, the
genisoimage 1000 x 100 image), as its work is C calls (struct, dict, bytes) that mypyc makes
through the same API, and attribute stores on ``Node``, which it makes through the generic one.
``tests/integration/test_record_layouts.py`` holds the fast path to the full parser.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any, Final, cast

from app.core.fs.node import SECTOR, Image, InspectError, Node
from app.core.fs.susp import learn_layout, parse_su
from app.core.fs.zisofs import HEADER, file_header, zisofs_problem

MAX_LAYOUTS: Final = 2048  # a real disc needs a few dozen; a hostile one gets the full parser
MAX_ALIKE: Final = 4  # layouts of one record length, name length and flags
WINDOW: Final = 256 * SECTOR  # bytes of a directory read at a time
_LBA_SIZE: Final = struct.Struct("<I4xI").unpack_from  # both-endian fields: the LE halves
_KEY: Final = struct.Struct("<B24xB6xB").unpack_from  # a record's length, flags, name length

# What the fast loop needs of a layout: unpack, skeleton_of, skeleton, the NM, PX and TF items,
# the date cache for TF, hidden, the record's own name item, and the other layouts of its key.
# A plain tuple: it is unpacked once per record.
Layout = tuple[
    Callable[[bytes, int], tuple[Any, ...]],
    Callable[[tuple[Any, ...]], Any],
    Any,
    int,
    int,
    int,
    dict[bytes, float | None],
    bool,
    int,
    tuple["Layout", ...],
]


# A plain file of one extent, as the fast loop reads it for a listing: (name, path, size, LBA,
# or "" for an empty file, mtime, mode, hidden). Making and freeing a Node for each of 100 000
# files, and the walk's passes over them, were a fifth of `inspect --files` (callgrind).
Row = tuple[str, str, int, int | str, float | None, int | None, bool]
# A window of entries, in order, and where the ones are that the walk must look at (data past
# the end, a problem, a subfolder): every Node but the fast loop's plain files, so with Rows,
# where the Nodes are. A walk then looks at a few entries per window, not at 100 000.
Rows = tuple[list[Node | Row], list[int]]

_new = object.__new__


def file_node(
    name: str,
    path: str,
    size: int,
    extents: list[tuple[int, int]],
    mtime: float | None,
    mode: int | None,
    hidden: bool,
) -> Node:
    """``Node(name, path, "file", size, extents, mtime, mode, hidden=hidden)``, made without
    the dataclass's __init__: a call from Python to Python costs a third less than a class
    call, and this runs once per file. Every field is set (test_listing_nodes checks it)."""
    n: Node = _new(Node)
    n.name = name
    n.path = path
    n.kind = "file"
    n.size = size
    n.extents = extents
    n.mtime = mtime
    n.mode = mode
    n.target = None
    n.zisofs = None
    n.hidden = hidden
    n.ref = ()
    n.problem = ""
    n.inline = None
    n.missing = 0
    n.problem_kind = ""
    n.byte_extents = None
    n.later = ""
    return n


def text(b: bytes, joliet: bool = False) -> str:
    if joliet:
        return b[: len(b) // 2 * 2].decode("utf-16-be", "replace").rstrip(" \0")
    return b.decode("latin-1").rstrip(" \0")


def plain_name(name: str, joliet: bool) -> str:
    base = name.split(";", 1)[0]
    return base if joliet else (base[:-1] if base.endswith(".") else base)


def joliet_name(raw: bytes) -> str:
    return plain_name(text(raw, True), True)


def iso_name(raw: bytes) -> str:
    return plain_name(raw.decode("latin-1"), False)


class Scanner:
    """Reads directory extents of one tree. ``rtimes`` and ``tftimes`` map a recording date
    (7 bytes) and a long Rock Ridge date (17 bytes) to seconds; mappings that convert what
    they miss (``iso9660._Times``), as a disc has a handful of dates and 100 000 records."""

    def __init__(
        self,
        img: Image,
        rock: bool,
        skip: int,
        joliet: bool,
        rtimes: dict[bytes, float | None],
        tftimes: dict[bytes, float | None],
    ) -> None:
        self.img = img
        self.rock = rock
        self.skip = skip
        self.joliet = joliet
        self.rtimes = rtimes
        self.tftimes = tftimes
        # The fast loop's layouts, by record length << 16 | name length << 8 | flags.
        self.layouts: dict[tuple[int, int, int], Layout] = {}

    def batches(self, lba: int, size: int, parent: str, depth: int) -> Iterator[list[Node]]:
        """The nodes of one directory extent, "." and ".." left out, one list per window of
        ``WINDOW`` bytes read (a 68 MB directory of two million entries never sits in memory)."""
        for items, _ in self._scan(lba, size, parent, depth, False):
            yield cast(list[Node], items)  # without rows, every item is a Node

    def rows(
        self, lba: int, size: int, parent: str, depth: int, rows: bool = True
    ) -> Iterator[Rows]:
        """``batches`` with where the entries are that a walk must look at; with ``rows`` (a
        listing), the plain files the fast loop reads come as ``Row`` tuples, not Nodes."""
        return self._scan(lba, size, parent, depth, rows)

    def _scan(self, lba: int, size: int, parent: str, depth: int, rows: bool) -> Iterator[Rows]:
        """The entries of one directory extent, a window at a time, with where the Nodes are.

        A file's record whose (length, name length, flags) has a compiled layout (see ``susp``)
        and matches its skeleton is read in one ``struct`` call, in a loop that does nothing
        else; every other record (the first two, directories, links, multi-extent files, the
        last 255 bytes of the extent where bounds matter) field by field with the full Rock
        Ridge parser. On an error, what was read before it comes out first.
        """
        img, rock, skip, layouts, rtimes = self.img, self.rock, self.skip, self.layouts, self.rtimes
        isize = img.size
        name_of = joliet_name if self.joliet else iso_name
        prefix = ("" if parent == "/" else parent) + "/"
        start = lba * SECTOR
        avail = min(size, img.size - start)
        data = img.read(start, min(WINDOW, avail))
        got, base, pos, n = len(data), 0, 0, len(data)
        batch: list[Node | Row] = []
        at: list[int] = []  # where the Nodes are in ``batch``
        held: Node | None = None  # a multi-extent file, until its last record is read
        pending = False  # ``held`` continues in the next record
        index = -1  # of the record: the first two are "." and ".."
        try:
            while True:
                if n - pos < 256 and got < avail:  # a record is at most 255 bytes
                    chunk = img.read(start + got, min(WINDOW, avail - got))
                    if not chunk:
                        break
                    got += len(chunk)
                    data = (data[pos:] if pos < n else b"") + chunk[max(pos - n, 0) :]
                    base, pos, n = base + pos, 0, len(data)
                    if batch:
                        yield batch, at
                        batch, at = [], []
                if pos >= n:
                    break
                if index >= 1 and not pending:
                    # The fast loop: every record it reads lies whole in ``data``.
                    safe = n - 255
                    while pos < safe:
                        ln = data[pos]
                        if not ln:  # records never cross a sector: jump to the next one
                            pos = ((base + pos) // SECTOR + 1) * SECTOR - base
                            continue
                        lay = layouts.get(_KEY(data, pos))
                        if lay is None:
                            break
                        unpack, skeleton_of, skeleton, nm, px, tf, times, hidden, iso, alt = lay
                        v = unpack(data, pos)
                        if skeleton_of(v) != skeleton:  # another layout of the key, if any
                            for lay in alt:
                                v = lay[0](data, pos)
                                if lay[1](v) == lay[2]:
                                    break
                            else:
                                break
                            _, _, _, nm, px, tf, times, hidden, iso, _ = lay
                        size_: int = v[2]  # susp.SIZE: a constant is cheaper than a global
                        name: str = v[nm].decode("utf-8", "replace") if nm else name_of(v[iso])
                        when = (times[v[tf]] if tf else None) or rtimes[data[pos + 18 : pos + 25]]
                        perm = v[px] if px else None
                        if v[1] * SECTOR + size_ <= isize:  # susp.LBA: v[1]
                            if rows:
                                first = v[1] if size_ else ""
                                row = (name, prefix + name, size_, first, when, perm, hidden)
                                batch.append(row)
                            else:
                                extents = [(v[1], size_)] if size_ else []
                                batch.append(
                                    file_node(
                                        name, prefix + name, size_, extents, when, perm, hidden
                                    )
                                )
                        else:  # its data runs past the end of the image: the walk marks it
                            at.append(len(batch))
                            extents = [(v[1], size_)] if size_ else []
                            batch.append(
                                file_node(name, prefix + name, size_, extents, when, perm, hidden)
                            )
                        pos += ln
                    if pos >= n or (pos >= safe and got < avail):
                        continue
                ln = data[pos]
                if ln == 0:
                    pos = ((base + pos) // SECTOR + 1) * SECTOR - base
                    continue
                rec, pos = pos, pos + ln
                index += 1
                nl = data[rec + 32] if ln >= 34 and rec + 33 <= n else 0
                if pos > n and got >= avail and avail < size:
                    break  # cut off by the end of the image: said below
                if ln < 34 or pos > n or 33 + nl > ln:
                    raise InspectError(
                        f"{parent}: malformed directory record at byte {base + rec}",
                        "malformed",
                    )
                flags = data[rec + 25]
                if (nl == 1 and data[rec + 33] < 2) or (index < 2 and flags & 0x02):
                    continue  # "." and "..", even with a damaged name
                if not flags & 0x82 and index >= 2:  # a file of one extent: learn its layout
                    self.learn(data, rec, (ln, flags, nl))
                ear, raw = data[rec + 1], data[rec + 33 : rec + 33 + nl]
                lba_, size_ = _LBA_SIZE(data, rec + 2)
                rname: str | None = None
                mode: int | None = None
                mtime: float | None = None
                target: str | None = None
                zisofs: tuple[int, int, int] | None = None
                child: int | None = None
                broken = ""
                if rock:
                    rr = parse_su(img, data[rec + 33 + nl + (1 - nl % 2) : pos], skip)
                    if rr.broken:  # ignore it all: the record's own name and fields
                        broken = rr.broken
                    elif rr.relocated:  # RE: the real entry lives elsewhere: hide it
                        continue
                    else:
                        rname, mode, mtime, target = rr.name, rr.mode, rr.mtime, rr.target
                        zisofs, child = rr.zisofs, rr.child_link
                name = name_of(raw) if rname is None else rname
                lba_ += ear  # an extended attribute record comes first
                is_dir = bool(flags & 0x02) or child is not None
                if pending and held is not None and held.name == name and not is_dir:
                    held.extents.append((lba_, size_))
                    held.size += size_
                    pending = bool(flags & 0x80)
                    if not pending:
                        at.append(len(batch))
                        batch.append(held)
                        held = None
                    continue
                if held is not None:
                    at.append(len(batch))
                    batch.append(held)
                    held = None
                node = Node(
                    name,
                    prefix + name,
                    "dir" if is_dir else ("file" if target is None else "symlink"),
                    size_,
                    [(lba_, size_)] if size_ else [],
                    mtime or rtimes[data[rec + 18 : rec + 25]],
                    mode,
                    target,
                    zisofs,
                    bool(flags & 0x01),
                )
                pending = bool(flags & 0x80) and not is_dir
                if pending:
                    held = node
                else:
                    at.append(len(batch))
                    batch.append(node)
                if broken:
                    node.problem = f"{node.path}: {broken}: shown under its ISO 9660 name"
                    node.problem_kind = "rock_ridge"
                elif zisofs is not None and (why := zisofs_problem(zisofs, size_)):
                    # The ZF entry is absurd; the file's own header may still be sound (xorriso
                    # and 7-Zip read such a file; the one decompresses it, the other not).
                    own = file_header(img.read(lba_ * SECTOR, HEADER))
                    sound = own is not None and not zisofs_problem(own, size_)
                    node.zisofs = own if sound else None
                    node.problem = f"{node.path}: {why}: " + (
                        "its own zisofs header is used" if sound else "listed as stored"
                    )
                    node.problem_kind = "zisofs"
                if is_dir:
                    if child is not None:
                        lba_ = child
                        first = img.read(child * SECTOR, 34)
                        size_ = _LBA_SIZE(first, 2)[1] if len(first) >= 34 else 0
                    node.ref = (lba_, size_, depth + 1)
                    node.extents = [(lba_, size_)]
                    node.size = 0
        except InspectError:
            if held is not None:
                at.append(len(batch))
                batch.append(held)
            if batch:
                yield batch, at
            raise
        if held is not None:
            at.append(len(batch))
            batch.append(held)
        if batch:
            yield batch, at
        if avail < size:
            raise InspectError(
                f"{parent}: directory extent runs past the end of the image", "truncated"
            )

    def learn(self, data: bytes, rec: int, key: tuple[int, int, int]) -> None:
        """Compile the layout of the record at ``rec`` for the fast loop, unless one of its
        key's layouts reads it already. One key may need several: genisoimage pads a record
        to an even length, so names one byte apart share a record length, not a layout."""
        first = self.layouts.get(key)
        alike = () if first is None else (first, *first[9])
        for lay in alike:
            if lay[1](lay[0](data, rec)) == lay[2]:
                return
        if len(alike) >= MAX_ALIKE or len(self.layouts) >= MAX_LAYOUTS:
            return
        got = learn_layout(self.img, data, rec, self.rock, self.skip)
        if got is None:
            return
        times = self.tftimes if got.tf and got.tf_long else self.rtimes
        hidden = bool(key[1] & 0x01)  # the record's flags
        fast: Layout = (
            got.unpack,
            got.skeleton_of,
            got.skeleton,
            got.nm,
            got.px,
            got.tf,
            times,
            hidden,
            got.raw,
            (),
        )
        # The first layout learned stays first (the fast loop tries it alone); the others
        # follow it, with no further ones of their own.
        self.layouts[key] = fast if first is None else (*first[:9], (*first[9], fast))
