"""Write a UDF 2.50 image with a metadata partition, the layout of Blu-ray data discs.

No free tool writes one (mkudffs makes 2.50 only with a virtual partition, and no files; the
udftools maintainer says as much in pali/udftools#40), so the tests make their own from ECMA-167
and OSTA UDF 2.50 — and trust it only because independent readers (7-Zip, libudfread, and the
Linux kernel where it is available) list the same files from it.

To exercise the remapping, the metadata file is split into two extents that are not adjacent
and not in order, directory data straddles the split, and a mirror copy is written.
"""

from __future__ import annotations

import binascii
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SECTOR = 2048
PART_START = 272  # physical sector of partition 0
META_MAP, PHYS_MAP = 1, 0  # partition reference numbers (order of the maps in the LVD)


def tag(ident: int, body: bytes, location: int) -> bytes:
    """A descriptor: 16-byte tag (checksum, CRC over the body) + body."""
    crc = binascii.crc_hqx(body, 0)  # CRC-ITU-T, x^16 + x^12 + x^5 + 1, initial 0
    head = struct.pack("<HHBBHHHI", ident, 3, 0, 0, 1, crc, len(body), location)
    checksum = (sum(head[0:4]) + sum(head[5:16])) & 0xFF
    return head[:4] + bytes([checksum]) + head[5:] + body


def regid(ident: bytes, suffix: bytes = b"") -> bytes:
    return b"\0" + ident.ljust(23, b"\0") + suffix.ljust(8, b"\0")


UDF_SUFFIX = struct.pack("<HB", 0x0250, 0)
CHARSPEC = b"\0" + b"OSTA Compressed Unicode".ljust(63, b"\0")


def cs0(name: str) -> bytes:
    if all(ord(c) < 256 for c in name):
        return b"\x08" + name.encode("latin-1")
    return b"\x10" + name.encode("utf-16-be")


def dstring(text: str, size: int) -> bytes:
    b = cs0(text)[: size - 1]
    return b.ljust(size - 1, b"\0") + bytes([len(b)])


def timestamp(t: float) -> bytes:
    tm = time.gmtime(t)
    return struct.pack(
        "<HhBBBBBBBB",
        0x1000,
        tm.tm_year,
        tm.tm_mon,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        0,
        0,
        0,
    )


def long_ad(length: int, lbn: int, pref: int) -> bytes:
    return struct.pack("<IIH", length, lbn, pref) + bytes(6)


@dataclass
class Entry:
    path: Path
    name: str
    kind: str  # "dir", "file", "symlink"
    fe: int = 0  # metadata LBN of its file entry
    children: list[Entry] = field(default_factory=list)
    dir_lbn: int = 0  # directories: metadata LBN of their FIDs
    data_lbn: int = 0  # files: physical LBN of their bytes
    parent: Entry | None = None


def efe(
    loc: int, ftype: int, size: int, ads: bytes, ad_type: int, mtime: float, unique: int
) -> bytes:
    icbtag = struct.pack("<IHHHBB6sH", 0, 4, 0, 1, 0, ftype, bytes(6), ad_type)
    blocks = 0 if ad_type == 3 else -(-size // SECTOR)
    body = (
        icbtag
        + struct.pack("<IIIHBBI", 0, 0, 0x14A5, 1, 0, 0, 0)
        + struct.pack("<QQQ", size, size, blocks)
        + timestamp(mtime) * 4
        + struct.pack("<II", 1, 0)
        + bytes(16)  # extended attribute ICB
        + bytes(16)  # stream directory ICB
        + regid(b"*DiscVault tests")
        + struct.pack("<QII", unique, 0, len(ads))
        + ads
    )
    return tag(266, body, loc)


def fid(loc: int, chars: int, name: str, icb: bytes) -> bytes:
    ident = cs0(name) if name else b""
    body = struct.pack("<HBB", 1, chars, len(ident)) + icb + struct.pack("<H", 0) + ident
    pad = (-(16 + len(body))) % 4
    return tag(257, body + bytes(pad), loc)


def symlink_data(target: str) -> bytes:
    out = b""
    parts = target.split("/")
    if target.startswith("/"):
        out += struct.pack("<BBH", 2, 0, 0)
        parts = parts[1:]
    for p in parts:
        if p == "..":
            out += struct.pack("<BBH", 3, 0, 0)
        elif p == ".":
            out += struct.pack("<BBH", 4, 0, 0)
        elif p:
            c = cs0(p)
            out += struct.pack("<BBH", 5, len(c), 0) + c
    return out


def _scan(path: Path, name: str, parent: Entry | None) -> Entry:
    if path.is_symlink():
        return Entry(path, name, "symlink", parent=parent)
    if path.is_dir():
        e = Entry(path, name, "dir", parent=parent)
        e.children = [_scan(c, c.name, e) for c in sorted(path.iterdir())]
        return e
    return Entry(path, name, "file", parent=parent)


def _fids(d: Entry, start: int) -> bytes:
    """The directory's FIDs, each tagged with the block it starts in."""
    out = b""
    parent = d.parent or d
    out += fid(start, 0x0A, "", long_ad(SECTOR, parent.fe, META_MAP))
    for c in d.children:
        chars = 0x02 if c.kind == "dir" else 0
        out += fid(start + len(out) // SECTOR, chars, c.name, long_ad(SECTOR, c.fe, META_MAP))
    return out


def write_udf250(
    tree: Path, out: Path, label: str = "BD_METADATA", split_metadata: bool = False
) -> Path:
    root = _scan(tree, "", None)
    entries: list[Entry] = []
    todo = [root]
    while todo:
        e = todo.pop(0)
        entries.append(e)
        todo += e.children
    # Metadata partition: FSD at 0, then one block per file entry, then directory data.
    nxt = 1
    for e in entries:
        e.fe = nxt
        nxt += 1
    dir_data: dict[int, bytes] = {}
    for e in entries:
        if e.kind == "dir":
            e.dir_lbn = nxt
            size = len(_fids(e, nxt))
            nxt += -(-size // SECTOR)
    meta_blocks = nxt
    for e in entries:
        if e.kind == "dir":
            dir_data[e.dir_lbn] = _fids(e, e.dir_lbn)
    # Physical partition: metadata FE, mirror FE, extent B, the mirror copy, file data, and
    # extent A last (7-Zip sizes the image by what it reads: the mirror must not end it).
    # Blocks [0, split) go to extent A, the rest to extent B. 7-Zip and libudfread read only
    # metadata files of one extent (as pressed BDs have), so the split is optional.
    split = meta_blocks // 2 + 1 if split_metadata else meta_blocks
    ext_b = 2
    mirror = ext_b + (meta_blocks - split)
    data_lbn = mirror + meta_blocks
    for e in entries:
        if e.kind == "file" and e.path.stat().st_size > 64:
            e.data_lbn = data_lbn
            data_lbn += -(-e.path.stat().st_size // SECTOR)
    ext_a = data_lbn
    part_len = ext_a + split
    total = PART_START + part_len + 1  # + the closing anchor
    img = bytearray(total * SECTOR)

    def put(sector: int, data: bytes) -> None:
        img[sector * SECTOR : sector * SECTOR + len(data)] = data

    def meta_phys(m: int) -> int:
        return PART_START + (ext_a + m if m < split else ext_b + m - split)

    now = float(tree.stat().st_mtime)
    nfiles = sum(e.kind != "dir" for e in entries)
    _volume_structures(put, label, now, part_len, meta_blocks, nfiles, len(entries), total)
    # The metadata file and its mirror (in the physical partition; short ADs are physical).
    meta_ads = struct.pack("<II", split * SECTOR, ext_a)
    if split < meta_blocks:
        meta_ads += struct.pack("<II", (meta_blocks - split) * SECTOR, ext_b)
    mirror_ads = struct.pack("<II", meta_blocks * SECTOR, mirror)
    put(PART_START, efe(0, 250, meta_blocks * SECTOR, meta_ads, 0, now, 0))
    put(PART_START + 1, efe(1, 251, meta_blocks * SECTOR, mirror_ads, 0, now, 0))
    # Metadata partition contents, each block tagged with its metadata-partition number.
    blocks: dict[int, bytes] = {}
    blocks[0] = tag(
        256,
        timestamp(now)
        + struct.pack("<HHIIII", 3, 3, 1, 1, 0, 0)
        + CHARSPEC
        + dstring(label, 128)
        + CHARSPEC
        + dstring(label, 32)
        + bytes(64)
        + long_ad(SECTOR, root.fe, META_MAP)
        + regid(b"*OSTA UDF Compliant", UDF_SUFFIX)
        + bytes(64),
        0,
    )
    for uid, e in enumerate(entries, start=16):
        mtime = float(e.path.lstat().st_mtime)
        if e.kind == "dir":
            size = len(dir_data[e.dir_lbn])
            ads = struct.pack("<II", size, e.dir_lbn)  # short AD: this (metadata) partition
            blocks[e.fe] = efe(e.fe, 4, size, ads, 0, mtime, 0 if e is root else uid)
        elif e.kind == "symlink":
            data = symlink_data(os.readlink(e.path))
            blocks[e.fe] = efe(e.fe, 12, len(data), data, 3, mtime, uid)
        else:
            content = e.path.read_bytes()
            if e.data_lbn:  # long AD: the bytes live in the physical partition
                ad = long_ad(len(content), e.data_lbn, PHYS_MAP)
                blocks[e.fe] = efe(e.fe, 5, len(content), ad, 1, mtime, uid)
                put(PART_START + e.data_lbn, content)
            else:  # small files live inside their entry
                blocks[e.fe] = efe(e.fe, 5, len(content), content, 3, mtime, uid)
    for lbn, data in dir_data.items():
        for k in range(0, len(data), SECTOR):
            blocks[lbn + k // SECTOR] = data[k : k + SECTOR]
    for m, data in blocks.items():
        put(meta_phys(m), data)
        put(PART_START + mirror + m, data)
    out.write_bytes(bytes(img))
    return out


def _volume_structures(
    put: Callable[[int, bytes], None],
    label: str,
    now: float,
    part_len: int,
    meta_blocks: int,
    nfiles: int,
    nentries: int,
    total: int,
) -> None:
    """Recognition sequence, main and reserve descriptor sequences, integrity, anchors."""
    for i, ident in enumerate((b"BEA01", b"NSR03", b"TEA01")):
        put(16 + i, b"\0" + ident + b"\x01")
    for base in (32, 48):  # main and reserve sequences
        put(
            base,
            tag(
                1,
                struct.pack("<II", 0, 0)
                + dstring(label, 32)
                + struct.pack("<HHHHII", 1, 1, 2, 3, 1, 1)
                + dstring(label, 128)
                + CHARSPEC * 2
                + bytes(16)
                + regid(b"*DiscVault tests")
                + timestamp(now)
                + regid(b"*DiscVault tests")
                + bytes(64)
                + struct.pack("<IH", 0, 0)
                + bytes(22),
                base,
            ),
        )
        put(
            base + 1,
            tag(
                5,
                struct.pack("<IHH", 1, 1, 0)
                + regid(b"+NSR03")
                + bytes(128)
                + struct.pack("<III", 1, PART_START, part_len)
                + regid(b"*DiscVault tests")
                + bytes(128)
                + bytes(156),
                base + 1,
            ),
        )
        maps = struct.pack("<BBHH", 1, 6, 1, 0) + (
            struct.pack("<BBH", 2, 64, 0)
            + regid(b"*UDF Metadata Partition", UDF_SUFFIX)
            + struct.pack("<HHIIIIHB", 1, 0, 0, 1, 0xFFFFFFFF, 32, 1, 1)
            + bytes(5)
        )
        put(
            base + 2,
            tag(
                6,
                struct.pack("<I", 2)
                + CHARSPEC
                + dstring(label, 128)
                + struct.pack("<I", SECTOR)
                + regid(b"*OSTA UDF Compliant", UDF_SUFFIX)
                + long_ad(SECTOR, 0, META_MAP)
                + struct.pack("<II", len(maps), 2)
                + regid(b"*DiscVault tests")
                + bytes(128)
                + struct.pack("<II", SECTOR * 2, 64)
                + maps,
                base + 2,
            ),
        )
        lv_info = CHARSPEC + dstring(label, 128) + bytes(36 * 3) + regid(b"*DiscVault tests")
        put(
            base + 3,
            tag(
                4,
                struct.pack("<I", 3) + regid(b"*UDF LV Info", UDF_SUFFIX) + lv_info + bytes(128),
                base + 3,
            ),
        )
        put(base + 4, tag(7, struct.pack("<II", 4, 0), base + 4))
        put(base + 5, tag(8, bytes(496), base + 5))
    lvid_iu = regid(b"*DiscVault tests") + struct.pack(
        "<IIHHH", nfiles, nentries - nfiles, 0x0250, 0x0250, 0x0250
    )
    put(
        64,
        tag(
            9,
            timestamp(now)
            + struct.pack("<I", 1)
            + bytes(8)
            + struct.pack("<Q", 16 + nentries)
            + bytes(24)
            + struct.pack("<II", 2, len(lvid_iu))
            + struct.pack("<IIII", 0, 0, part_len, meta_blocks)
            + lvid_iu,
            64,
        ),
    )
    put(65, tag(8, bytes(496), 65))
    anchor = struct.pack("<IIII", 16 * SECTOR, 32, 16 * SECTOR, 48) + bytes(480)
    put(256, tag(2, anchor, 256))
    put(total - 1, tag(2, anchor, total - 1))
