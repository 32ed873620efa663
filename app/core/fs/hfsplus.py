"""HFS+ and HFSX (Mac OS Extended): a compact, lazy, guarded reader like the UDF one.

Volume header at byte 1024 of the volume -> extents overflow and catalog B*-trees -> one
folder's records at a time. Files carry their data fork as image byte runs (eight extents in
the catalog record, the rest from the extents overflow file); symlinks their target. Names are
UTF-16 as stored (decomposed), shown composed (NFC) with '/' as ':', as macOS shows them.
Resource forks, extended attributes, HFS+ compression (decmpfs) and the journal are not read;
hard links show as files with a problem saying so.
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
FOLDER, FILE = 1, 2
INVISIBLE = 0x4000  # Finder flag kIsInvisible
MAX_LINK = 4096  # a symlink target longer than PATH_MAX is not one
# Folders the filesystem keeps for itself (hard-link targets); macOS never shows them.
PRIVATE = {"\0\0\0\0HFS+ Private Data", ".HFS+ Private Directory Data\r"}


_EXTENTS = struct.Struct(">16I")


def _extent_record(b: bytes) -> list[tuple[int, int]]:
    """Eight (start block, block count) pairs; zero counts are unused slots."""
    if len(b) < 64:
        return []
    v = _EXTENTS.unpack_from(b)
    return [(v[i], v[i + 1]) for i in range(0, 16, 2) if v[i + 1]]


def _catalog_key(key: bytes) -> tuple[int, ...]:
    if len(key) < 6:
        raise InspectError("HFS+ catalog key is too short")
    return (struct.unpack_from(">I", key, 0)[0],)


def _extents_key(key: bytes) -> tuple[int, ...]:
    if len(key) < 10:
        raise InspectError("HFS+ extents key is too short")
    fork, fid, start = struct.unpack_from(">BxII", key, 0)
    return fid, fork, start


class HfsPlusFilesystem:
    """One HFS+/HFSX volume of the image: at ``offset`` bytes, or the first one found."""

    def __init__(self, img: Image, offset: int | None = None) -> None:
        self.img = img
        if offset is None:
            vols = [v for v in mac_volumes(img) if v.kind in ("hfs+", "hfsx")]
            if not vols:
                raise InspectError("no HFS+ volume")
            offset = vols[0].offset
        self.offset = offset
        h = img.read(offset + 1024, 512)
        if len(h) < 512 or h[:2] not in (b"H+", b"HX"):
            raise InspectError(f"no HFS+ volume header at byte {offset + 1024}")
        self.kind = "HFSX" if h[:2] == b"HX" else "HFS+"
        self.journaled = bool(struct.unpack_from(">I", h, 4)[0] & 0x2000)
        self.modified = mac_time(struct.unpack_from(">I", h, 20)[0])
        self.files, self.folders, self.block_size, self.blocks = struct.unpack_from(">IIII", h, 32)
        bs = self.block_size
        if bs < 512 or bs & (bs - 1) or not self.blocks:
            raise InspectError(f"HFS+ allocation block size {bs} is not valid")
        xsize = struct.unpack_from(">Q", h, 192)[0]
        xruns, why = self._runs(_extent_record(h[208:272]), xsize)
        if why:
            raise InspectError(f"HFS+ extents overflow file: {why}")
        self.extents_tree = BTree(Fork(img, xruns, xsize), True, "HFS+ extents")
        csize = struct.unpack_from(">Q", h, 272)[0]
        cruns, why = self._runs(self._all_extents(CATALOG_ID, 0, h[288:352], csize), csize)
        if why:
            raise InspectError(f"HFS+ catalog file: {why}")
        self.catalog = BTree(Fork(img, cruns, csize), True, "HFS+ catalog")
        self.volume_name = self._volume_name()
        self.seen: set[int] = set()
        self.root: Node = MacNode("", "/", "dir", 0, [], self.modified, ref=(ROOT_ID, 0))

    def _runs(self, extents: list[tuple[int, int]], size: int) -> tuple[list[tuple[int, int]], str]:
        return byte_runs(extents, self.block_size, self.offset, self.blocks, size)

    def _all_extents(self, fid: int, fork: int, first: bytes, size: int) -> list[tuple[int, int]]:
        """A fork's extents: eight in its record, the rest in the extents overflow file keyed
        by (file ID, fork, first block); a missing record leaves the list short, which
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

    def _volume_name(self) -> str:
        """The root folder's thread record, keyed (root ID, ""), names the volume."""
        for key, data in self.catalog.seek((ROOT_ID,), _catalog_key):
            if _catalog_key(key)[0] == ROOT_ID and data[:2] == b"\0\3" and len(data) >= 10:
                n = struct.unpack_from(">H", data, 8)[0]
                return data[10 : 10 + 2 * n].decode("utf-16-be", "replace")
            break
        return ""

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
            nlen = min(struct.unpack_from(">H", key, 4)[0], (len(key) - 6) // 2)
            raw = key[6 : 6 + 2 * nlen].decode("utf-16-be", "replace")
            kind = struct.unpack_from(">H", data, 0)[0] if len(data) >= 2 else 0
            if cnid == ROOT_ID and raw in PRIVATE:
                continue
            name = display_name(raw)
            if kind == FOLDER and len(data) >= 88:
                dir_id, mtime = struct.unpack_from(">I4xI", data, 8)
                mode = struct.unpack_from(">H", data, 42)[0]
                out.append(
                    MacNode(
                        name,
                        join(node.path, name),
                        "dir",
                        mtime=mac_time(mtime),
                        mode=mode or None,
                        hidden=bool(struct.unpack_from(">H", data, 56)[0] & INVISIBLE),
                        ref=(dir_id, depth + 1),
                    )
                )
            elif kind == FILE and len(data) >= 248:
                out.append(self._file(node, name, data))
        return out

    def _file(self, parent: Node, name: str, data: bytes) -> Node:
        fid, mtime = struct.unpack_from(">I4xI", data, 8)
        mode = struct.unpack_from(">H", data, 42)[0]
        ftype, creator, flags = struct.unpack_from(">4s4sH", data, 48)
        size = struct.unpack_from(">Q", data, 88)[0]
        runs, why = self._runs(self._all_extents(fid, 0, data[104:168], size), size)
        n = MacNode(
            name,
            join(parent.path, name),
            "file",
            size,
            sector_extents(runs),
            mac_time(mtime),
            mode or None,
            hidden=bool(flags & INVISIBLE),
            problem=why,
            byte_extents=runs,
        )
        if (ftype, creator) == (b"slnk", b"rhap") and not why:
            n.kind = "symlink"
            target = Fork(self.img, runs, size).read(0, MAX_LINK)
            n.target = target.decode("utf-8", "replace")
        elif (ftype, creator) == (b"hlnk", b"hfs+"):
            n.problem = "a hard link (its data is kept under another name; not followed)"
        return n
