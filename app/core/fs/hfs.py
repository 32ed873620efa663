"""Classic HFS (Mac OS Standard), as on Mac/PC hybrid CDs: a compact, lazy, guarded reader.

Master directory block at byte 1024 of the volume -> extents overflow and catalog B*-trees ->
one folder's records at a time (the catalog is keyed by parent folder ID, so a folder's entries
are one run of leaf records). File data is reported as image byte runs; resource forks, Finder
info and aliases are not read. Dates are local time with no zone recorded: shown as if UTC.

machfs (PyPI) was evaluated and not used: it takes the whole volume as one bytes object, reads
every file's forks into memory, follows the leaf chain without a loop guard and lets KeyError,
struct.error and IndexError out of damaged volumes.
"""

from __future__ import annotations

import struct

from app.core.fs.apm import mac_volumes
from app.core.fs.hfsbtree import (
    MAX_FORK_RUNS,
    BTree,
    Fork,
    MacNode,
    byte_runs,
    display_name,
    join,
    mac_time,
    sector_extents,
)
from app.core.fs.node import MAX_DEPTH, MAX_ENTRIES, Image, InspectError, Node

ROOT_ID, EXTENTS_ID, CATALOG_ID = 2, 3, 4
DIR, FILE = 1, 2
INVISIBLE = 0x4000  # Finder flag kIsInvisible


_EXTENTS = struct.Struct(">6H")


def _extent_record(b: bytes) -> list[tuple[int, int]]:
    """Three (start block, block count) pairs; zero counts are unused slots."""
    if len(b) < 12:
        return []
    v = _EXTENTS.unpack_from(b)
    return [(v[i], v[i + 1]) for i in range(0, 6, 2) if v[i + 1]]


def _catalog_key(key: bytes) -> tuple[int, ...]:
    if len(key) < 6:
        raise InspectError("HFS catalog key is too short")
    return (struct.unpack_from(">I", key, 1)[0],)


def _extents_key(key: bytes) -> tuple[int, ...]:
    if len(key) < 7:
        raise InspectError("HFS extents key is too short")
    fork, fid, start = struct.unpack_from(">BIH", key, 0)
    return fid, fork, start


class HfsFilesystem:
    """One HFS volume of the image: at ``offset`` bytes, or the first one found."""

    def __init__(self, img: Image, offset: int | None = None) -> None:
        self.img = img
        if offset is None:
            vols = [v for v in mac_volumes(img) if v.kind == "hfs"]
            if not vols:
                raise InspectError("no HFS volume")
            offset = vols[0].offset
        self.offset = offset
        m = img.read(offset + 1024, 162)
        if len(m) < 162 or m[:2] != b"BD":
            raise InspectError(f"no HFS master directory block at byte {offset + 1024}")
        self.created, self.modified = (mac_time(t) for t in struct.unpack_from(">II", m, 2))
        self.blocks, self.block_size = struct.unpack_from(">HI", m, 18)
        first = struct.unpack_from(">H", m, 28)[0]
        if not self.blocks or not self.block_size or self.block_size % 512:
            raise InspectError(f"HFS allocation block size {self.block_size} is not valid")
        self.volume_name = m[37 : 37 + min(m[36], 27)].decode("mac_roman")
        self.files, self.folders = struct.unpack_from(">II", m, 84)
        self.base = offset + first * 512  # allocation block 0
        xsize, csize = struct.unpack_from(">I", m, 130)[0], struct.unpack_from(">I", m, 146)[0]
        xruns, why = self._runs(_extent_record(m[134:146]), xsize)
        if why:
            raise InspectError(f"HFS extents overflow file: {why}")
        self.extents_tree = BTree(Fork(img, xruns, xsize), False, "HFS extents")
        cruns, why = self._runs(self._all_extents(CATALOG_ID, 0, m[150:162], csize), csize)
        if why:
            raise InspectError(f"HFS catalog file: {why}")
        self.catalog = BTree(Fork(img, cruns, csize), False, "HFS catalog")
        self.seen: set[int] = set()
        self.root: Node = MacNode("", "/", "dir", 0, [], self.modified, ref=(ROOT_ID, 0))

    def _runs(self, extents: list[tuple[int, int]], size: int) -> tuple[list[tuple[int, int]], str]:
        return byte_runs(extents, self.block_size, self.base, self.blocks, size)

    def _all_extents(self, fid: int, fork: int, first: bytes, size: int) -> list[tuple[int, int]]:
        """A fork's extents: three in its catalog record, the rest in the extents overflow file
        keyed by (file ID, fork, first block). Missing records leave the list short, which
        ``byte_runs`` then reports against the fork's size."""
        exts = _extent_record(first)
        need = -(-size // self.block_size)
        have = sum(c for _, c in exts)
        while have < need and len(exts) < MAX_FORK_RUNS:
            target = (fid, fork, have)
            rec = next(self.extents_tree.seek(target, _extents_key), None)
            if rec is None or _extents_key(rec[0]) != target:
                break
            more = _extent_record(rec[1])
            if not more:
                break
            exts += more
            have += sum(c for _, c in more)
        return exts

    def listdir(self, node: Node) -> list[Node]:
        cnid, depth = node.ref
        if depth > MAX_DEPTH:
            raise InspectError(f"{node.path}: folders nested deeper than {MAX_DEPTH}")
        if node is self.root:
            self.seen.clear()  # a new pass over the tree (Inspection guards loops across it)
        if cnid in self.seen:
            raise InspectError(f"{node.path}: folder loop (folder ID {cnid} listed twice)")
        self.seen.add(cnid)
        out: list[Node] = []
        for key, data in self.catalog.seek((cnid,), _catalog_key):
            if _catalog_key(key)[0] != cnid:
                break
            if len(out) >= MAX_ENTRIES:
                raise InspectError(f"{node.path}: more than {MAX_ENTRIES} entries")
            nlen = min(key[5], len(key) - 6)
            name = display_name(key[6 : 6 + nlen].decode("mac_roman"))
            kind = data[0] if data else 0
            if kind == DIR and len(data) >= 70:
                dir_id, mtime = struct.unpack_from(">I4xI", data, 6)
                hidden = bool(struct.unpack_from(">H", data, 30)[0] & INVISIBLE)
                out.append(
                    MacNode(
                        name,
                        join(node.path, name),
                        "dir",
                        mtime=mac_time(mtime),
                        hidden=hidden,
                        ref=(dir_id, depth + 1),
                    )
                )
            elif kind == FILE and len(data) >= 98:
                out.append(self._file(node, name, data))
        return out

    def _file(self, parent: Node, name: str, data: bytes) -> Node:
        fid, size = struct.unpack_from(">I2xI", data, 20)
        hidden = bool(struct.unpack_from(">H", data, 12)[0] & INVISIBLE)
        mtime = mac_time(struct.unpack_from(">I", data, 48)[0])
        runs, why = self._runs(self._all_extents(fid, 0, data[74:86], size), size)
        return MacNode(
            name,
            join(parent.path, name),
            "file",
            size,
            sector_extents(runs),
            mtime,
            hidden=hidden,
            problem=why,
            byte_extents=runs,
        )
