"""The B*-tree files of HFS and HFS+ (catalog, extents overflow), read one node at a time.

Both filesystems keep their directory tree in a B*-tree stored in an ordinary fork, so this
module knows forks (a file's bytes as runs inside the image) and trees (header node, index
descent, the leaf chain). Nothing here trusts the image: a node number past the tree, a record
offset outside its node, a descent deeper than 16 levels, or a leaf chain that comes back on
itself is refused with ``InspectError``. Only the first key field(s) that listings need are
compared (parent folder ID, or file ID/fork/start block), so name collation never matters.
Also shared by both readers: ``MacNode`` (a Node with exact byte runs), names, dates.
"""

from __future__ import annotations

import itertools
import struct
import unicodedata
from collections.abc import Callable, Iterator

from app.core.fs.node import SECTOR, Image, InspectError, Node

LEAF, INDEX, HEADER = -1, 0, 1
MAX_TREE_DEPTH = 16  # a full catalog of a few million records is 6-7 levels deep
MAX_FORK_RUNS = 100_000
HFS_EPOCH = 2_082_844_800  # seconds from 1904-01-01 to 1970-01-01

KeyFn = Callable[[bytes], tuple[int, ...]]


MacNode = Node  # its byte_extents field lives in Node


def mac_time(t: int) -> float | None:
    """Seconds since 1904 (0 means "never") as a Unix time."""
    return float(t - HFS_EPOCH) if t else None


def sector_extents(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(LBA, bytes) that cover each byte run, so sector maths (damage, display) stays right."""
    return [(off // SECTOR, off % SECTOR + n) for off, n in runs]


def display_name(name: str) -> str:
    """A catalog name as macOS shows it: composed, and '/' (legal in HFS) shown as ':'."""
    return unicodedata.normalize("NFC", name).replace("/", ":")


def join(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name


class Fork:
    """A file's bytes: (image byte offset, bytes) runs, the first ``size`` bytes of which count."""

    def __init__(self, img: Image, runs: list[tuple[int, int]], size: int) -> None:
        self.img = img
        self.runs = runs
        self.size = min(size, sum(n for _, n in runs))

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; short where the fork or the image ends."""
        out = bytearray()
        length = max(0, min(length, self.size - offset))
        pos = 0
        for start, n in self.runs:
            if length <= 0:
                break
            if offset < pos + n:
                skip = max(0, offset - pos)
                take = min(n - skip, length)
                got = self.img.read(start + skip, take)
                out += got
                if len(got) < take:
                    break  # the image ends here: a truncated image, not a longer file
                offset += take
                length -= take
            pos += n
        return bytes(out)


def byte_runs(
    extents: list[tuple[int, int]], block_bytes: int, base: int, blocks: int, size: int
) -> tuple[list[tuple[int, int]], str]:
    """A fork's allocation-block extents as image byte runs cut at its logical size.

    ``base`` is the image offset of allocation block 0; ``blocks`` the volume's block count.
    Returns the runs and a problem ("" when none): an extent outside the volume, or a size the
    extents do not cover.
    """
    runs: list[tuple[int, int]] = []
    left = size
    for start, count in extents:
        if left <= 0:
            break
        if start + count > blocks:
            return runs, f"extent at block {start} runs past the volume's {blocks} blocks"
        n = min(count * block_bytes, left)
        if runs and runs[-1][0] + runs[-1][1] == base + start * block_bytes:
            runs[-1] = (runs[-1][0], runs[-1][1] + n)  # adjacent extents read as one
        else:
            runs.append((base + start * block_bytes, n))
        left -= n
    if left > 0:
        return runs, f"size {size:,} is larger than its {size - left:,} allocated bytes"
    return runs, ""


class BTree:
    """An HFS (``plus=False``) or HFS+ B*-tree inside ``fork``."""

    depth: int
    root: int
    first_leaf: int
    node_size: int
    max_key: int
    total_nodes: int

    def __init__(self, fork: Fork, plus: bool, what: str) -> None:
        self.fork, self.plus, self.what = fork, plus, what
        head = fork.read(0, 512)
        if len(head) < 14 + 32 or struct.unpack_from(">b", head, 8)[0] != HEADER:
            raise InspectError(f"{what} B-tree has no header node")
        (
            self.depth,
            self.root,
            _,
            self.first_leaf,
            _,
            self.node_size,
            self.max_key,
            self.total_nodes,
        ) = struct.unpack_from(">HIIIIHHI", head, 14)
        attrs = struct.unpack_from(">I", head, 14 + 38)[0] if plus else 0
        self.variable_index_keys = bool(attrs & 4) or not plus
        if self.node_size not in (512, 1024, 2048, 4096, 8192, 16384, 32768) or (
            not plus and self.node_size != 512
        ):
            raise InspectError(f"{what} B-tree node size {self.node_size} is not valid")
        self.total_nodes = min(self.total_nodes, fork.size // self.node_size)
        if self.depth > MAX_TREE_DEPTH:
            raise InspectError(f"{what} B-tree is {self.depth} levels deep: not a real volume")

    def node(self, n: int) -> tuple[int, int, list[bytes]]:
        """(kind, forward link, records) of node ``n``; every record offset is checked."""
        if not 0 < n < self.total_nodes:
            raise InspectError(f"{self.what} B-tree node {n} is outside the tree")
        size = self.node_size
        d = self.fork.read(n * size, size)
        if len(d) < size:
            raise InspectError(f"{self.what} B-tree node {n} is past the end of the image")
        flink, _, kind, _, nrecs = struct.unpack_from(">IIbBH", d, 0)
        if 14 + 2 * (nrecs + 1) > size:
            raise InspectError(f"{self.what} B-tree node {n} claims {nrecs} records")
        offs = struct.unpack_from(f">{nrecs + 1}H", d, size - 2 * (nrecs + 1))[::-1]
        limit = size - 2 * (nrecs + 1)
        recs: list[bytes] = []
        for a, b in itertools.pairwise(offs):
            if not 14 <= a <= b <= limit:
                raise InspectError(f"{self.what} B-tree node {n} has a record outside it")
            recs.append(d[a:b])
        return kind, flink, recs

    def split(self, rec: bytes, index: bool) -> tuple[bytes, bytes]:
        """(key without its length field, what follows the key) of a record."""
        if self.plus:
            if len(rec) < 2:
                raise InspectError(f"{self.what} B-tree record is empty")
            klen = struct.unpack_from(">H", rec, 0)[0]
            if index and not self.variable_index_keys:
                klen = self.max_key
            key, data = rec[2 : 2 + klen], rec[2 + klen :]
        else:
            if not rec:
                raise InspectError(f"{self.what} B-tree record is empty")
            klen = rec[0]
            key, data = rec[1 : 1 + klen], rec[(2 + klen) & ~1 :]
        if len(key) < klen:
            raise InspectError(f"{self.what} B-tree key is longer than its record")
        return key, data

    def seek(self, target: tuple[int, ...], keyfn: KeyFn) -> Iterator[tuple[bytes, bytes]]:
        """Leaf records with ``keyfn(key) >= target``, in key order, from the first one on.

        The caller stops iterating when the keys pass what it wants. The descent takes, in each
        index node, the last child whose key is below ``target`` (so equal keys spread over
        several leaves are all found), then follows the leaf chain.
        """
        n = self.root
        for _ in range(MAX_TREE_DEPTH + 1):
            if n == 0:
                return  # an empty tree
            kind, _, recs = self.node(n)
            if kind == LEAF:
                break
            if kind != INDEX or not recs:
                raise InspectError(f"{self.what} B-tree node {n} is not an index node")
            child = -1
            for rec in recs:
                key, data = self.split(rec, index=True)
                if child >= 0 and keyfn(key) >= target:
                    break
                if len(data) < 4:
                    raise InspectError(f"{self.what} B-tree index record has no pointer")
                child = struct.unpack_from(">I", data, 0)[0]
            n = child
        else:
            raise InspectError(f"{self.what} B-tree is deeper than {MAX_TREE_DEPTH} levels")
        seen: set[int] = set()
        while n:
            if n in seen:
                raise InspectError(f"{self.what} B-tree leaf chain loops at node {n}")
            seen.add(n)
            kind, flink, recs = self.node(n)
            if kind != LEAF:
                raise InspectError(f"{self.what} B-tree node {n} is not a leaf")
            for rec in recs:
                key, data = self.split(rec, index=False)
                if keyfn(key) >= target:
                    yield key, data
            n = flink
