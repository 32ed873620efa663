"""ISO 9660 with Joliet and Rock Ridge: volume descriptors and a lazy, guarded directory scan.

Directories are read one extent at a time when asked for (so a 100 000-file image shows its root
at once), every record is bounds-checked, a directory extent seen twice is a loop and is refused,
and sizes are never trusted beyond the image. Names: Rock Ridge > Joliet > ISO 9660.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from app.core.fs.node import MAX_DEPTH, SECTOR, Image, InspectError, Node
from app.core.fs.susp import Layout, learn_layout, parse_su, rec_time, tf_time

MAX_LAYOUTS = 2048  # a real disc needs a few dozen; a hostile one gets the full parser
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


def read_descriptors(img: Image) -> list[VolumeDescriptor]:
    out: list[VolumeDescriptor] = []
    for lba in range(16, min(16 + 64, img.sectors)):
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
        self.seen_dirs: set[int] = set()
        self.layouts: dict[int, Layout] = {}  # by record length << 8 | name length
        root = _records(vd.root, joliet)[0] if vd.root else None
        if root is None or root.lba >= img.sectors + 1:
            raise InspectError("the root directory lies outside the image")
        self.root = Node(
            "",
            "/",
            "dir",
            root.size,
            [(root.lba, root.size)],
            rec_time(root.time),
            ref=(root.lba, root.size, 0),
        )
        if not joliet:
            self._detect_rock_ridge(root)

    def _detect_rock_ridge(self, root: _Rec) -> None:
        data = self.img.read(root.lba * SECTOR, min(root.size, SECTOR))
        try:
            dot = _records(data, False)[0]
        except (InspectError, IndexError):
            return
        su = dot.su
        if len(su) >= 7 and su[0:2] == b"SP" and su[4:6] == b"\xbe\xef":
            self.su_skip = su[6]
            self.rock_ridge = True

    def listdir(self, node: Node) -> list[Node]:
        lba, size, depth = node.ref
        if depth > MAX_DEPTH:
            raise InspectError(f"{node.path}: directories nested deeper than {MAX_DEPTH}")
        if lba in self.seen_dirs:
            raise InspectError(f"{node.path}: directory loop (extent {lba} listed twice)")
        self.seen_dirs.add(lba)
        if size > self.img.size or lba * SECTOR >= self.img.size:
            raise InspectError(f"{node.path}: directory extent beyond the end of the image")
        out = self._entries(self.img.read(lba * SECTOR, size), node.path, depth)
        if depth == 0 and self.rock_ridge:
            out = [n for n in out if not self._only_relocated(n)]
        return out

    def _entries(self, data: bytes, parent: str, depth: int) -> list[Node]:
        """The nodes of one directory extent, "." and ".." left out.

        Records are read through compiled layouts where they match one (see ``susp``), else
        field by field with the full Rock Ridge parser.
        """
        joliet, rock, skip, img, layouts = (
            self.joliet,
            self.rock_ridge,
            self.su_skip,
            self.img,
            self.layouts,
        )
        prefix = ("" if parent == "/" else parent) + "/"
        out: list[Node] = []
        pending: Node | None = None  # multi-extent files span several records
        pos, n = 0, len(data)
        while pos < n:
            ln = data[pos]
            if ln == 0:  # records never cross a sector: jump to the next one
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            rec, pos = pos, pos + ln
            nl = data[rec + 32] if ln >= 34 else 0
            if ln < 34 or pos > n or 33 + nl > ln:
                raise InspectError(f"malformed directory record at byte {rec} of a directory")
            if nl == 1 and data[rec + 33] < 2:  # "." and ".."
                continue
            lay = layouts.get(ln << 8 | nl)
            if (
                lay is None
                and len(layouts) < MAX_LAYOUTS
                and (lay := learn_layout(img, data, rec, rock, skip)) is not None
            ):
                layouts[ln << 8 | nl] = lay
            target = zisofs = child = None
            if lay is not None:
                unpack, skeleton_of, skeleton, nm, px, tf, tf_long = lay
                v = unpack(data, rec)
                if skeleton_of(v) != skeleton:
                    lay = None
            if lay is not None:  # the fields of fields(), inline: this runs per record
                ear, lba, size, when, flags, _, raw = v[:7]
                name = v[nm].decode("utf-8", "replace") if nm else None
                mode = v[px] if px else None
                mtime = (tf_time(v[tf], True) if tf_long else rec_time(v[tf])) if tf else None
            else:
                ear, flags, raw = data[rec + 1], data[rec + 25], data[rec + 33 : rec + 33 + nl]
                lba, size = _LBA_SIZE(data, rec + 2)
                when = data[rec + 18 : rec + 25]
                name = mode = mtime = None
                if rock:
                    rr = parse_su(img, data[rec + 33 + nl + (1 - nl % 2) : pos], skip)
                    if rr.relocated:  # RE: the real entry lives elsewhere: hide this one
                        continue
                    name, mode, mtime, target = rr.name, rr.mode, rr.mtime, rr.target
                    zisofs, child = rr.zisofs, rr.child_link
            if name is None:
                name = _plain_name(_text(raw, True) if joliet else raw.decode("latin-1"), joliet)
            lba += ear  # an extended attribute record comes first
            is_dir = bool(flags & 0x02) or child is not None
            if pending is not None and pending.name == name and not is_dir:
                pending.extents.append((lba, size))
                pending.size += size
                if not flags & 0x80:
                    pending = None
                continue
            node = Node(
                name,
                prefix + name,
                "dir" if is_dir else ("file" if target is None else "symlink"),
                size,
                [(lba, size)] if size else [],
                mtime or rec_time(when),
                mode,
                target,
                zisofs,
                bool(flags & 0x01),
            )
            if is_dir:
                if child is not None:
                    lba = child
                    first = _records(img.read(child * SECTOR, SECTOR), joliet)
                    size = first[0].size if first else 0
                node.ref = (lba, size, depth + 1)
                node.extents = [(lba, size)]
                node.size = 0
            out.append(node)
            pending = node if flags & 0x80 and not is_dir else None
        return out

    def _only_relocated(self, n: Node) -> bool:
        """The rr_moved folder holds deep directories shown at their real place (CL/RE)."""
        if not n.is_dir or n.name.lower() not in ("rr_moved", ".rr_moved"):
            return False
        lba, size, _ = n.ref
        recs = [
            r
            for r in _records(self.img.read(lba * SECTOR, size), False)
            if r.name not in (".", "..")
        ]
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
