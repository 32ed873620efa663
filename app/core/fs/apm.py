"""Partition maps of a disc image (Apple, MBR, GPT), the Mac volumes on it, and what each claims.

A Mac/PC hybrid CD carries an Apple partition map in its first sectors (or just an HFS master
directory block at byte 1024) beside ISO 9660; isohybrid images carry an MBR and often a GPT.
``mac_volumes`` finds every HFS/HFS+/HFSX volume, ``claims`` says how many 2048-byte sectors
each structure says the image holds (so the rescue engine never cuts an image before a
filesystem's end), and ``describe`` names what is there in words. Every field is read bounded by
the image and sanity-checked; garbage gives an empty answer, never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from app.core.fs.node import SECTOR, Image

MAX_APM_ENTRIES = 64  # real maps have 2-10 entries
MAX_GPT_ENTRIES = 256
HFS_SIG, HFSPLUS_SIG, HFSX_SIG = b"BD", b"H+", b"HX"
GPT_TYPES = {
    "48465300-0000-11aa-aa11-00306543ecac": "Apple HFS/HFS+",
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI system",
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux data",
}


@dataclass(frozen=True)
class Partition:
    scheme: str  # "apm", "mbr", "gpt"
    index: int  # 1-based, as the partition map numbers it
    name: str
    type: str  # APM type string, "0x83" for MBR, a GUID (or its name) for GPT
    start: int  # bytes into the image
    length: int  # bytes


@dataclass(frozen=True)
class MacVolume:
    kind: str  # "hfs", "hfs+", "hfsx"
    offset: int  # bytes into the image where the volume starts (its boot blocks)
    length: int  # bytes the volume claims
    name: str  # HFS: from the master directory block; HFS+: "" (the catalog holds it)
    partition: Partition | None = None
    wrapper: bool = False  # HFS+ inside an HFS wrapper volume


def _cstr(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("mac_roman")


def apm_partitions(img: Image) -> list[Partition]:
    """The Apple partition map's entries; [] when there is none."""
    ddr = img.read(0, 512)
    block = 512
    if ddr[:2] == b"ER":
        bs = struct.unpack_from(">H", ddr, 2)[0]
        block = bs if bs in (512, 1024, 2048, 4096) else 512
    for bs in dict.fromkeys((block, 512, 2048)):
        first = img.read(bs, 512)
        if first[:2] == b"PM":
            block = bs
            break
    else:
        return []
    count = struct.unpack_from(">I", first, 4)[0]
    out: list[Partition] = []
    for i in range(1, min(count, MAX_APM_ENTRIES) + 1):
        e = img.read(i * block, 512)
        if len(e) < 512 or e[:2] != b"PM":
            break
        start, blocks = struct.unpack_from(">II", e, 8)
        out.append(
            Partition("apm", i, _cstr(e[16:48]), _cstr(e[48:80]), start * block, blocks * block)
        )
    return out


def mbr_partitions(img: Image) -> list[Partition]:
    """Primary MBR entries with a type (the protective 0xEE one included); [] when no MBR."""
    s0 = img.read(0, 512)
    if len(s0) < 512 or s0[510:512] != b"\x55\xaa":
        return []
    out: list[Partition] = []
    for i in range(4):
        e = s0[446 + 16 * i : 462 + 16 * i]
        status, ptype = e[0], e[4]
        start, count = struct.unpack_from("<II", e, 8)
        if status not in (0, 0x80):
            return []  # not a partition table (boot code or an HFS boot block)
        if ptype and count:
            out.append(Partition("mbr", i + 1, "", f"0x{ptype:02x}", start * 512, count * 512))
    return out


def _guid(b: bytes) -> str:
    a, b2, c = struct.unpack_from("<IHH", b, 0)
    return f"{a:08x}-{b2:04x}-{c:04x}-{b[8:10].hex()}-{b[10:16].hex()}"


def gpt_partitions(img: Image) -> tuple[list[Partition], int]:
    """GPT entries and the bytes the GPT claims (through its backup header); ([], 0) if none."""
    h = img.read(512, 512)
    if h[:8] != b"EFI PART":
        return [], 0
    alt, _, last = struct.unpack_from("<QQQ", h, 32)
    table, count, esize = struct.unpack_from("<QII", h, 72)
    claim = (max(alt, last) + 1) * 512 if max(alt, last) < 1 << 40 else 0
    if not 128 <= esize <= 4096 or table >= 1 << 40:
        return [], claim
    out: list[Partition] = []
    for i in range(min(count, MAX_GPT_ENTRIES)):
        e = img.read(table * 512 + i * esize, 128)
        if len(e) < 128 or not any(e[:16]):
            continue
        first, lastp = struct.unpack_from("<QQ", e, 32)
        if lastp < first or lastp >= 1 << 40:
            continue
        gtype = _guid(e[:16])
        name = e[56:128].decode("utf-16-le", "replace").split("\0", 1)[0]
        out.append(
            Partition(
                "gpt",
                i + 1,
                name,
                GPT_TYPES.get(gtype, gtype),
                first * 512,
                (lastp - first + 1) * 512,
            )
        )
    return out, claim


def probe_volume(
    img: Image, offset: int, part: Partition | None = None, unwrap: bool = True
) -> MacVolume | None:
    """The HFS/HFS+/HFSX volume whose boot blocks start at ``offset``, if one does; with
    ``unwrap``, the HFS+ volume inside an HFS wrapper rather than the wrapper."""
    h = img.read(offset + 1024, 512)
    if len(h) < 162:
        return None
    sig = h[:2]
    if sig == HFS_SIG:
        nblocks, bsize = struct.unpack_from(">HI", h, 18)
        first = struct.unpack_from(">H", h, 28)[0]
        if not bsize or bsize % 512 or not nblocks or h[36] > 27:
            return None
        name = h[37 : 37 + h[36]].decode("mac_roman")
        if unwrap and h[124:126] == HFSPLUS_SIG:  # an HFS wrapper: the volume is HFS+ inside
            estart, ecount = struct.unpack_from(">HH", h, 126)
            # Never unwrap twice: a wrapper "inside" itself would recurse forever.
            inner = probe_volume(img, offset + first * 512 + estart * bsize, part, unwrap=False)
            if inner is not None and inner.kind != "hfs" and ecount:
                return MacVolume(inner.kind, inner.offset, inner.length, inner.name, part, True)
        # Boot blocks + allocation blocks + alternate MDB and a spare sector at the end; the
        # MDB does not record the volume's size, so a partition that holds it says better.
        used = first * 512 + nblocks * bsize
        length = part.length if part and part.length >= used else used + 1024
        return MacVolume("hfs", offset, length, name, part)
    if sig in (HFSPLUS_SIG, HFSX_SIG):
        version = struct.unpack_from(">H", h, 2)[0]
        bsize, blocks = struct.unpack_from(">II", h, 40)
        if version not in (4, 5) or bsize < 512 or bsize & (bsize - 1) or not blocks:
            return None
        kind = "hfsx" if sig == HFSX_SIG else "hfs+"
        # The name lives in the catalog, which only the reader opens (``volume_name``).
        return MacVolume(kind, offset, bsize * blocks, "", part)
    return None


def _candidates(img: Image) -> list[tuple[int, Partition | None]]:
    parts = apm_partitions(img) + gpt_partitions(img)[0] + mbr_partitions(img)
    seen: dict[int, Partition | None] = {0: None}
    for p in parts:
        if p.start < img.size:
            seen.setdefault(p.start, p)
    return sorted(seen.items(), key=lambda kv: kv[0])


def mac_volumes(img: Image) -> list[MacVolume]:
    """Every HFS/HFS+/HFSX volume: in Apple, GPT or MBR partitions, or at the image's start."""
    vols = [probe_volume(img, off, p) for off, p in _candidates(img)]
    return [v for v in vols if v is not None]


def _sectors(kind: str, start: int, length: int) -> tuple[str, int, int]:
    return kind, start // SECTOR, -(-(start + length) // SECTOR)


def claims(img: Image) -> list[tuple[str, int, int]]:
    """(what, first 2048-byte sector, end sector exclusive) for every partition and Mac volume.

    These are what the structures say, possibly past the image's end (a truncated image): the
    caller caps them at the device's capacity.
    """
    out: list[tuple[str, int, int]] = []
    apm = apm_partitions(img)
    if apm:
        out.append(("apm", 0, 1))
    gpt, gpt_claim = gpt_partitions(img)
    if gpt_claim:
        out.append(_sectors("gpt", 0, gpt_claim))
    for p in apm + gpt + mbr_partitions(img):
        if p.length and not (p.scheme == "mbr" and p.type == "0xee"):
            out.append(_sectors(f"{p.scheme}:{p.type}", p.start, p.length))
    for off, where in _candidates(img):
        v = probe_volume(img, off, where, unwrap=False)  # a wrapper holds what it wraps
        if v is not None:
            out.append(_sectors(v.kind, v.offset, v.length))
    return out


def describe(img: Image) -> list[str]:
    """What the image carries besides ISO 9660/UDF, in words, for ``inspect``."""
    out: list[str] = []
    apm = apm_partitions(img)
    if apm:
        kinds = [p.type for p in apm if p.type not in ("Apple_partition_map", "Apple_Free")]
        out.append(f"Apple partition map ({', '.join(kinds) or 'no partitions'})")
    mbr = mbr_partitions(img)
    if mbr:
        types = sorted({p.type for p in mbr})
        out.append("MBR (" + ", ".join(f"type {t}" for t in types) + ")")
    if gpt_partitions(img)[1]:
        out.append("GPT")
    names = {"hfs": "HFS", "hfs+": "HFS+", "hfsx": "HFSX"}
    for v in mac_volumes(img):
        label = f" '{v.name}'" if v.name else ""
        where = ""
        if v.partition:
            pname = f" '{v.partition.name}'" if v.partition.name else ""
            where = f" in {v.partition.scheme.upper()} partition {v.partition.index}{pname}"
        wrap = " (inside an HFS wrapper)" if v.wrapper else ""
        out.append(f"{names[v.kind]} volume{label}{where}{wrap}")
    return out
