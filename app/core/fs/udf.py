"""A compact UDF reader (ECMA-167 / OSTA UDF 1.02–2.60) for images pycdlib cannot list.

Enough to list files and their physical extents: anchor → volume descriptors → partitions
(physical, and the UDF 2.50+ metadata partition used on Blu-ray) → file set → directories.
Every descriptor is checked by tag id and every read bounded (loops are caught by
``inspection``); directories stream through a window.
"""

from __future__ import annotations

import calendar
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from app.core.fs.node import MAX_DEPTH, SECTOR, Image, InspectError, Node

TAG_AVDP, TAG_PD, TAG_LVD, TAG_TD = 2, 5, 6, 8
TAG_FSD, TAG_FID, TAG_FE, TAG_EFE = 256, 257, 261, 266
MAX_ADS = 100_000
MAX_LINK = 16 * 1024  # bytes of a symlink's path components: PATH_MAX is 4096 characters
WINDOW = 256 * SECTOR  # bytes of a directory read at a time


class _Entry(NamedTuple):
    data: bytes  # the embedded bytes, or the entry's own sector
    extents: list[tuple[int, int]]  # (physical LBA, bytes)
    ftype: int
    mtime: float | None
    size: int
    embedded: bool
    problem: str = ""


def _tag(d: bytes) -> int:
    return struct.unpack_from("<H", d, 0)[0] if len(d) >= 16 else -1


def _dstring(b: bytes) -> str:
    if not b or not b[-1]:
        return ""
    return _cs0(b[: b[-1]])


def _cs0(b: bytes) -> str:
    if not b:
        return ""
    if b[0] == 16:
        return b[1 : 1 + (len(b) - 1) // 2 * 2].decode("utf-16-be", "replace")
    return b[1:].decode("latin-1")


def _timestamp(b: bytes) -> float | None:
    if len(b) < 12:
        return None
    year, mo, d, h, mi, s = struct.unpack_from("<hBBBBB", b, 2)
    tz = struct.unpack_from("<H", b, 0)[0] & 0x0FFF
    off = tz - 0x1000 if tz & 0x0800 else tz
    if not year or not 1 <= mo <= 12:
        return None
    try:
        t = calendar.timegm((year, mo, d, h, mi, s))
    except (ValueError, OverflowError):
        return None
    return float(t - (off * 60 if -1440 <= off <= 1440 else 0))


@dataclass
class UdfInfo:
    volume_id: str = ""
    version: str = ""
    partitions: list[tuple[int, int, int]] = field(default_factory=list)  # (number, start, len)
    metadata: bool = False


class UdfFilesystem:
    def __init__(self, img: Image) -> None:
        self.img = img
        self.info = UdfInfo()
        anchor = img.sector(256)
        if _tag(anchor) != TAG_AVDP:
            raise InspectError("no UDF anchor at sector 256")
        vds_len, vds_loc = struct.unpack_from("<II", anchor, 16)
        self.parts: dict[int, int] = {}  # partition number -> physical start
        maps: list[tuple[str, int, int]] = []  # (kind, partition number, metadata file lbn)
        fsd_ad: tuple[int, int, int] | None = None
        for i in range(min(vds_len // SECTOR, 64)):
            d = img.sector(vds_loc + i)
            t = _tag(d)
            if t == TAG_PD:
                num, start, length = (
                    struct.unpack_from("<H", d, 22)[0],
                    *struct.unpack_from("<II", d, 188),
                )
                self.parts[num] = start
                self.info.partitions.append((num, start, length))
            elif t == TAG_LVD:
                self.info.volume_id = _dstring(d[84:212])
                domain = d[216 + 1 : 216 + 24].rstrip(b"\0")
                if domain.startswith(b"*OSTA UDF"):
                    rev = struct.unpack_from("<H", d, 216 + 24)[0]
                    self.info.version = f"{rev >> 8:x}.{rev & 0xFF:02x}"
                ln, lbn, pref = struct.unpack_from("<IIH", d, 248)
                fsd_ad = (ln & 0x3FFFFFFF, lbn, pref)
                nmaps = struct.unpack_from("<I", d, 268)[0]
                p = 440
                for _ in range(min(nmaps, 16)):
                    mtype, mlen = d[p], d[p + 1]
                    if mlen < 6 or p + mlen > len(d):
                        break
                    if mtype == 1:
                        maps.append(("phys", struct.unpack_from("<H", d, p + 4)[0], 0))
                    elif mtype == 2 and b"Metadata" in d[p + 4 : p + 36]:
                        pn, mfile = struct.unpack_from("<HI", d, p + 38)
                        maps.append(("meta", pn, mfile))
                    elif mtype == 2:
                        maps.append(("phys", struct.unpack_from("<H", d, p + 38)[0], 0))
                    p += mlen
            elif t == TAG_TD:
                break
        if fsd_ad is None or not self.parts:
            raise InspectError("UDF volume descriptors are incomplete")
        self.maps = maps or [("phys", next(iter(self.parts)), 0)]
        self.meta_extents: list[tuple[int, int]] = []  # metadata partition -> physical
        for kind, pn, mfile in self.maps:
            if kind == "meta":
                self.info.metadata = True
                start = self.parts.get(pn, 0)
                fe = self._read_fe(start + mfile, physical=start)
                if fe is None:
                    raise InspectError("UDF metadata file is unreadable")
                self.meta_extents = fe.extents
        fsd = self.img.sector(self.phys(fsd_ad[2], fsd_ad[1]))
        if _tag(fsd) != TAG_FSD:
            raise InspectError("UDF file set descriptor not found")
        _, rlbn, rpref = struct.unpack_from("<IIH", fsd, 400)
        root_lba = self.phys(rpref, rlbn)
        self.root = Node("", "/", "dir", 0, [], ref=(root_lba, 0))

    def phys(self, pref: int, lbn: int) -> int:
        """Physical sector of a logical block in partition reference ``pref``."""
        if pref >= len(self.maps):
            raise InspectError(f"UDF partition reference {pref} does not exist")
        kind, pn, _ = self.maps[pref]
        if kind == "meta":
            off = lbn * SECTOR
            for start, length in self.meta_extents:
                if off < length:
                    return start + off // SECTOR
                off -= length
            raise InspectError(f"UDF metadata block {lbn} is outside the metadata file")
        return self.parts.get(pn, 0) + lbn

    def _read_fe(self, lba: int, physical: int | None = None) -> _Entry | None:
        """An ICB's file entry: its type, mtime, size, and where its bytes are.

        ``embedded``: the entry holds the file's bytes itself (``data``; ``extents`` is then
        just ``[(lba, 0)]``). Allocation descriptors are followed through continuation blocks,
        each block once, and never past the image's size in total: a crafted entry cannot make
        a listing read the same extents again and again.

        ``physical``: the entry lives in the physical partition starting there (the metadata
        file's own entry), so its short allocation descriptors count from that sector.
        """
        d = self.img.sector(lba)
        t = _tag(d)
        if t not in (TAG_FE, TAG_EFE):
            return None
        ftype = d[16 + 11]
        adtype = struct.unpack_from("<H", d, 16 + 18)[0] & 7
        size = struct.unpack_from("<Q", d, 56)[0]
        if t == TAG_FE:
            mtime, base = _timestamp(d[84:96]), 176
            lea, lad = struct.unpack_from("<II", d, 168)
        else:
            mtime, base = _timestamp(d[92:104]), 216
            lea, lad = struct.unpack_from("<II", d, 208)
        ads = d[base + lea : base + lea + lad]
        if adtype == 3:  # data embedded in the entry itself
            return _Entry(ads[:size], [(lba, 0)], ftype, mtime, min(size, len(ads)), True)
        pref = self._pref_of(lba)
        extents: list[tuple[int, int]] = []
        step = 8 if adtype == 0 else 16
        p = 0
        total = 0
        blocks = {lba}
        problem = ""
        for _ in range(MAX_ADS):
            if p + step > len(ads):
                break
            ln, pos = struct.unpack_from("<II", ads, p)
            etype, ln = ln >> 30, ln & 0x3FFFFFFF
            if ln == 0:
                break
            ref = pref if adtype == 0 else struct.unpack_from("<H", ads, p + 8)[0]
            where = physical + pos if physical is not None else self.phys(ref, pos)
            if etype == 3:  # the list continues in another block
                if where in blocks:
                    problem = "its allocation descriptors loop"
                    break
                blocks.add(where)
                ads, p = self.img.sector(where)[24:], 0
                continue
            if etype == 0:
                if total >= self.img.size:  # the extent that crosses the end is kept
                    problem = "its extents add up to more than the image holds"
                    break
                total += ln
                extents.append((where, ln))
            p += step
        return _Entry(d, extents, ftype, mtime, size, False, problem)

    def _pref_of(self, lba: int) -> int:
        # Short allocation descriptors are relative to the partition the entry lives in; for
        # metadata-partition discs that is the metadata partition, else the physical one.
        for i, (kind, _, _) in enumerate(self.maps):
            if kind == "meta":
                return i
        return 0

    def chunks(self, extents: list[tuple[int, int]], size: int) -> Iterator[bytes]:
        """A file's bytes in pieces of at most ``WINDOW``, never more than ``size`` or than
        the image holds, in all."""
        left = min(size, self.img.size)
        for lba, ln in extents:
            off = lba * SECTOR
            end = off + min(ln, left)
            while off < end:
                piece = self.img.read(off, min(WINDOW, end - off))
                if not piece:
                    return
                yield piece
                off += len(piece)
                left -= len(piece)
            if left <= 0:
                return

    def data(self, extents: list[tuple[int, int]], size: int) -> bytes:
        return b"".join(self.chunks(extents, size))

    def iterdir(self, node: Node) -> Iterator[Node]:
        lba, depth = node.ref
        if depth > MAX_DEPTH:
            raise InspectError(f"{node.path}: directories nested deeper than {MAX_DEPTH}", "deep")
        fe = self._read_fe(lba)
        if fe is None:
            kind = "truncated" if lba >= self.img.sectors else "udf"
            raise InspectError(f"{node.path}: not a UDF file entry at sector {lba}", kind)
        if fe.size > self.img.size:
            raise InspectError(f"{node.path}: directory larger than the image", "malformed")
        chunks = iter([fe.data]) if fe.embedded else self.chunks(fe.extents, fe.size)
        return self._fids(chunks, node, depth)

    def listdir(self, node: Node) -> list[Node]:
        return list(self.iterdir(node))

    def _fids(self, chunks: Iterator[bytes], node: Node, depth: int) -> Iterator[Node]:
        """File identifier descriptors, parsed as their bytes arrive (they may straddle
        blocks): a directory of a million entries streams through a window."""
        buf = b""
        p = 0
        for chunk in chunks:
            buf = buf[p:] + chunk
            p = 0
            while p + 38 <= len(buf):
                if struct.unpack_from("<H", buf, p)[0] != TAG_FID:
                    return
                chars, lfi = buf[p + 18], buf[p + 19]
                liu = struct.unpack_from("<H", buf, p + 36)[0]
                if p + 38 + liu + lfi > len(buf):
                    break  # the rest of this descriptor is in the next chunk
                _, ilbn, ipref = struct.unpack_from("<IIH", buf, p + 20)
                name = _cs0(buf[p + 38 + liu : p + 38 + liu + lfi])
                p += (38 + liu + lfi + 3) // 4 * 4
                if chars & 0x08 or chars & 0x04:  # parent / deleted
                    continue
                yield self._child(node, depth, name, chars, ipref, ilbn)

    def _child(
        self, parent: Node, depth: int, name: str, chars: int, ipref: int, ilbn: int
    ) -> Node:
        path = _join(parent.path, name)
        try:
            child = self.phys(ipref, ilbn)
            cfe = self._read_fe(child)
        except InspectError as e:
            return Node(name, path, "file", problem=f"{path}: {e}", problem_kind="udf")
        if cfe is None:
            return Node(name, path, "file", problem=f"{path}: entry unreadable", problem_kind="udf")
        kind = "dir" if cfe.ftype == 4 else ("symlink" if cfe.ftype == 12 else "file")
        embedded = cfe.data if cfe.embedded else None
        cext = cfe.extents
        if embedded is not None and kind == "file":
            # The bytes sit in the entry's own sector: that sector is the file's extent
            # (where damage to it is counted), and the node carries the bytes themselves.
            cext = [(child, len(embedded))] if embedded else []
        n = Node(
            name,
            path,
            kind,
            0 if kind == "dir" else cfe.size,
            cext,
            cfe.mtime,
            hidden=bool(chars & 0x01),
            ref=(child, depth + 1),
            inline=embedded if kind == "file" else None,
        )
        if cfe.problem:
            n.problem, n.problem_kind = f"{path}: {cfe.problem}", "extents"
        if kind == "symlink":
            if cfe.size > MAX_LINK:
                n.problem = (n.problem or path) + f": a link of {cfe.size} bytes, not read"
                n.problem_kind = "udf"
            else:
                n.target = _udf_symlink(
                    embedded if embedded is not None else self.data(cext, cfe.size)
                )
        return n


def _join(parent: str, name: str) -> str:
    return ("" if parent == "/" else parent) + "/" + name


def _udf_symlink(b: bytes) -> str:
    parts: list[str] = []
    p = 0
    while p + 4 <= len(b):
        ctype, ln = b[p], b[p + 1]
        comp = b[p + 4 : p + 4 + ln]
        parts.append({1: "", 2: "", 3: "..", 4: "."}.get(ctype, _cs0(comp)))
        p += 4 + ln
    return "/".join(parts) if parts else ""
