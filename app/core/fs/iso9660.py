"""ISO 9660 with Joliet and Rock Ridge: volume descriptors and a lazy, guarded directory scan.

Directories are read when asked for (so a 100 000-file image shows its root at once), as a
stream in bounded windows, every record is bounds-checked, and sizes are never trusted beyond
the image (loops are caught by ``inspection``, which knows what it listed). Names: Rock Ridge >
Joliet > ISO 9660; an entry whose Rock Ridge data loops or is absurd keeps its record's name.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from app.core.fs.node import MAX_DEPTH, SECTOR, Image, InspectError, Node
from app.core.fs.susp import Layout, learn_layout, parse_su, rec_time, tf_time
from app.core.fs.zisofs import HEADER, file_header, zisofs_problem

MAX_LAYOUTS = 2048  # a real disc needs a few dozen; a hostile one gets the full parser
WINDOW = 256 * SECTOR  # bytes of a directory read at a time
_LBA_SIZE = struct.Struct("<I4xI").unpack_from  # both-endian fields: read the LE halves


@dataclass
class VolumeDescriptor:
    kind: str  # "primary", "joliet", "supplementary", "boot", "partition"
    lba: int
    system_id: str = ""
    volume_id: str = ""
    volume_space: int = 0
    publisher: str = ""
    application: str = ""
    created: str = ""
    modified: str = ""
    root: bytes = b""  # the root directory record
    boot_catalog: int | None = None


def _text(b: bytes, joliet: bool = False) -> str:
    if joliet:
        return b[: len(b) // 2 * 2].decode("utf-16-be", "replace").rstrip(" \0")
    return b.decode("latin-1").rstrip(" \0")


def _vd_date(b: bytes) -> str:
    s = b[:16].decode("latin-1", "replace")
    if not s.strip("0\0 ") or not s[:4].isdigit():
        return ""
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]} {s[8:10]}:{s[10:12]}:{s[12:14]}"


def read_descriptors(img: Image, start: int = 0) -> list[VolumeDescriptor]:
    """The volume descriptor set of the session starting at ``start`` (its LBA 16)."""
    out: list[VolumeDescriptor] = []
    for lba in range(start + 16, min(start + 16 + 64, img.sectors)):
        d = img.sector(lba)
        if len(d) < SECTOR or d[1:6] != b"CD001":
            break
        t = d[0]
        if t == 255:
            break
        if t == 0:
            vd = VolumeDescriptor("boot", lba, system_id=_text(d[7:39]))
            if d[7:30] == b"EL TORITO SPECIFICATION":
                vd.boot_catalog = struct.unpack_from("<I", d, 71)[0]
            out.append(vd)
        elif t in (1, 2):
            joliet = t == 2 and d[88:90] == b"%/" and d[90:91] in (b"@", b"C", b"E")
            kind = "primary" if t == 1 else ("joliet" if joliet else "supplementary")
            out.append(
                VolumeDescriptor(
                    kind,
                    lba,
                    system_id=_text(d[8:40], joliet),
                    volume_id=_text(d[40:72], joliet),
                    volume_space=struct.unpack_from("<I", d, 80)[0],
                    publisher=_text(d[318:446], joliet),
                    application=_text(d[574:702], joliet),
                    created=_vd_date(d[813:830]),
                    modified=_vd_date(d[830:847]),
                    root=bytes(d[156:190]),
                )
            )
        elif t == 3:
            out.append(VolumeDescriptor("partition", lba))
    return out


@dataclass
class _Rec:
    lba: int
    size: int
    flags: int
    name: str
    time: bytes  # 7-byte recording date, converted only when Rock Ridge has none
    su: bytes


def _records(data: bytes, joliet: bool) -> list[_Rec]:
    recs = []
    pos = 0
    n = len(data)
    while pos < n:
        ln = data[pos]
        if ln == 0:  # records never cross a sector: jump to the next one
            pos = (pos // SECTOR + 1) * SECTOR
            continue
        if ln < 34 or pos + ln > n:
            raise InspectError(f"malformed directory record at byte {pos} of a directory")
        r = data[pos : pos + ln]
        nl = r[32]
        if 33 + nl > ln:
            raise InspectError("a directory record's name runs past the record")
        raw = r[33 : 33 + nl]
        if nl == 1 and raw in (b"\0", b"\1"):
            name = "." if raw == b"\0" else ".."
        else:
            name = _text(raw, joliet) if joliet else raw.decode("latin-1")
        su_start = 33 + nl + (1 - nl % 2)
        ext_lba = struct.unpack_from("<I", r, 2)[0] + r[1]  # extended attribute record first
        recs.append(
            _Rec(
                ext_lba,
                struct.unpack_from("<I", r, 10)[0],
                r[25],
                name,
                bytes(r[18:25]),
                bytes(r[su_start:]),
            )
        )
        pos += ln
    return recs


class IsoFilesystem:
    """One directory tree of the image: Rock Ridge over the PVD, or Joliet, or plain ISO 9660."""

    def __init__(self, img: Image, vd: VolumeDescriptor, joliet: bool) -> None:
        self.img = img
        self.joliet = joliet
        self.rock_ridge = False
        self.su_skip = 0
        self.layouts: dict[int, Layout] = {}  # by record length << 8 | name length
        # Of the root record only what the peers use is read: its extent and date. Its length,
        # name and extended-attribute fields are ignored (7-Zip and xorriso list such images).
        if len(vd.root) < 34:
            raise InspectError("the root directory record is missing")
        lba, size = _LBA_SIZE(vd.root, 2)
        if lba >= img.sectors + 1:
            raise InspectError("the root directory lies outside the image")
        self.root = Node(
            "", "/", "dir", size, [(lba, size)], rec_time(vd.root[18:25]), ref=(lba, size, 0)
        )
        if not joliet:
            self._detect_rock_ridge(lba)

    def _detect_rock_ridge(self, lba: int) -> None:
        """SUSP's SP entry opens the system use area of the root's "." record."""
        d = self.img.read(lba * SECTOR, SECTOR)
        if len(d) < 34 or d[0] < 34:
            return
        nl = d[32]
        for su in {33 + nl + (1 - nl % 2), 34}:  # 34: where it is when "." is well formed
            if su + 7 <= d[0] and d[su : su + 2] == b"SP" and d[su + 4 : su + 6] == b"\xbe\xef":
                self.su_skip = d[su + 6]
                self.rock_ridge = True
                return

    def iterdir(self, node: Node) -> Iterator[Node]:
        lba, size, depth = node.ref
        if depth > MAX_DEPTH:
            raise InspectError(f"{node.path}: directories nested deeper than {MAX_DEPTH}", "deep")
        if size > self.img.size:
            raise InspectError(
                f"{node.path}: directory extent beyond the end of the image ({size} bytes claimed)",
                "malformed",
            )
        if lba * SECTOR >= self.img.size:
            raise InspectError(
                f"{node.path}: directory extent beyond the end of the image", "truncated"
            )
        out = self._entries(lba, size, node.path, depth)
        if depth == 0 and self.rock_ridge:
            return (n for n in out if not self._only_relocated(n))
        return out

    def listdir(self, node: Node) -> list[Node]:
        return list(self.iterdir(node))

    def _entries(self, lba: int, size: int, parent: str, depth: int) -> Iterator[Node]:
        """The nodes of one directory extent, "." and ".." left out, read in windows of
        ``WINDOW`` bytes (a 68 MB directory of two million entries never sits in memory).

        Records are read through compiled layouts where they match one (see ``susp``), else
        field by field with the full Rock Ridge parser. A node is handed out once the next
        record shows it complete (multi-extent files span several records).
        """
        joliet, rock, skip, img, layouts = (
            self.joliet,
            self.rock_ridge,
            self.su_skip,
            self.img,
            self.layouts,
        )
        prefix = ("" if parent == "/" else parent) + "/"
        start = lba * SECTOR
        avail = min(size, img.size - start)
        data = img.read(start, min(WINDOW, avail))
        got, base, pos, n = len(data), 0, 0, len(data)
        held: Node | None = None  # the last node, until the next record shows it complete
        pending = False  # ``held`` continues in the next record (multi-extent)
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
                if pos >= n:
                    break
                ln = data[pos]
                if ln == 0:  # records never cross a sector: jump to the next one
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
                if (nl == 1 and data[rec + 33] < 2) or (index < 2 and data[rec + 25] & 0x02):
                    continue  # "." and "..", even with a damaged name
                lay = layouts.get(ln << 8 | nl)
                if (
                    lay is None
                    and len(layouts) < MAX_LAYOUTS
                    and (lay := learn_layout(img, data, rec, rock, skip)) is not None
                ):
                    layouts[ln << 8 | nl] = lay
                target = zisofs = child = None
                broken = ""
                if lay is not None:
                    unpack, skeleton_of, skeleton, nm, px, tf, tf_long = lay
                    v = unpack(data, rec)
                    if skeleton_of(v) != skeleton:
                        lay = None
                if lay is not None:  # the fields of fields(), inline: this runs per record
                    ear, lba_, size_, when, flags, _, raw = v[:7]
                    name = v[nm].decode("utf-8", "replace") if nm else None
                    mode = v[px] if px else None
                    mtime = (tf_time(v[tf], True) if tf_long else rec_time(v[tf])) if tf else None
                else:
                    ear, flags, raw = data[rec + 1], data[rec + 25], data[rec + 33 : rec + 33 + nl]
                    lba_, size_ = _LBA_SIZE(data, rec + 2)
                    when = data[rec + 18 : rec + 25]
                    name = mode = mtime = None
                    if rock:
                        rr = parse_su(img, data[rec + 33 + nl + (1 - nl % 2) : pos], skip)
                        if rr.broken:  # ignore it all: the record's own name and fields
                            broken = rr.broken
                        elif rr.relocated:  # RE: the real entry lives elsewhere: hide it
                            continue
                        else:
                            name, mode, mtime, target = rr.name, rr.mode, rr.mtime, rr.target
                            zisofs, child = rr.zisofs, rr.child_link
                if name is None:
                    name = _plain_name(
                        _text(raw, True) if joliet else raw.decode("latin-1"), joliet
                    )
                lba_ += ear  # an extended attribute record comes first
                is_dir = bool(flags & 0x02) or child is not None
                if pending and held is not None and held.name == name and not is_dir:
                    held.extents.append((lba_, size_))
                    held.size += size_
                    pending = bool(flags & 0x80)
                    continue
                if held is not None:
                    yield held
                node = held = Node(
                    name,
                    prefix + name,
                    "dir" if is_dir else ("file" if target is None else "symlink"),
                    size_,
                    [(lba_, size_)] if size_ else [],
                    mtime or rec_time(when),
                    mode,
                    target,
                    zisofs,
                    bool(flags & 0x01),
                )
                pending = bool(flags & 0x80) and not is_dir
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
                yield held
            raise
        if held is not None:
            yield held
        if avail < size:
            raise InspectError(
                f"{parent}: directory extent runs past the end of the image", "truncated"
            )

    def _only_relocated(self, n: Node) -> bool:
        """The rr_moved folder holds deep directories shown at their real place (CL/RE)."""
        if not n.is_dir or n.name.lower() not in ("rr_moved", ".rr_moved"):
            return False
        lba, size, _ = n.ref
        try:
            recs = [
                r
                for r in _records(self.img.read(lba * SECTOR, size), False)
                if r.name not in (".", "..")
            ]
        except InspectError:
            return False
        return all(parse_su(self.img, r.su, self.su_skip).relocated for r in recs)


def _plain_name(name: str, joliet: bool) -> str:
    base = name.split(";", 1)[0]
    return base if joliet else (base[:-1] if base.endswith(".") else base)


@dataclass
class BootEntry:
    platform: str
    bootable: bool
    emulation: str
    load_segment: int
    system_type: int
    sectors: int
    lba: int


PLATFORMS = {0: "BIOS (x86)", 1: "PowerPC", 2: "Mac", 0xEF: "UEFI"}
EMULATION = {
    0: "no emulation",
    1: "1.2M floppy",
    2: "1.44M floppy",
    3: "2.88M floppy",
    4: "hard disk",
}


def read_boot_catalog(img: Image, lba: int) -> list[BootEntry]:
    data = img.sector(lba)
    if len(data) < 64 or data[0] != 1 or data[30:32] != b"\x55\xaa":
        raise InspectError(f"El Torito boot catalog at LBA {lba} is not valid")
    entries: list[BootEntry] = []

    def entry(e: bytes, platform: int) -> BootEntry:
        return BootEntry(
            PLATFORMS.get(platform, f"0x{platform:02x}"),
            e[0] == 0x88,
            EMULATION.get(e[1] & 0x0F, "unknown"),
            struct.unpack_from("<H", e, 2)[0],
            e[4],
            struct.unpack_from("<H", e, 6)[0],
            struct.unpack_from("<I", e, 8)[0],
        )

    entries.append(entry(data[32:64], data[1]))
    pos = 64
    while pos + 32 <= len(data):
        head = data[pos : pos + 32]
        if head[0] not in (0x90, 0x91):
            break
        platform, count = head[1], struct.unpack_from("<H", head, 2)[0]
        pos += 32
        for _ in range(count):
            if pos + 32 > len(data):
                break
            entries.append(entry(data[pos : pos + 32], platform))
            pos += 32
        if head[0] == 0x91:
            break
    return entries
