"""ISO 9660 with Joliet and Rock Ridge: volume descriptors and a lazy, guarded directory scan.

Directories are read when asked for (so a 100 000-file image shows its root at once), as a
stream in bounded windows, every record is bounds-checked, and sizes are never trusted beyond
the image (loops are caught by ``inspection``, which knows what it listed). Names: Rock Ridge >
Joliet > ISO 9660; an entry whose Rock Ridge data loops or is absurd keeps its record's name.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import cast

from app.core.fs.isoscan import Rows, Scanner
from app.core.fs.isoscan import text as _text
from app.core.fs.node import MAX_DEPTH, SECTOR, Image, InspectError, Node
from app.core.fs.susp import parse_su, rec_time, tf_time

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
        self.scanner = Scanner(
            img,
            self.rock_ridge,
            self.su_skip,
            joliet,
            _Times(rec_time),
            _Times(functools.partial(tf_time, long=True)),
        )

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
        return chain.from_iterable(self.iterbatches(node))

    def iterbatches(self, node: Node) -> Iterator[list[Node]]:
        """A directory's entries, a list at a time as the scanner reads them (a window of the
        extent each); refusals are raised here, before any is read."""
        return (cast(list[Node], items) for items, _ in self.iterrows(node, False))

    def iterrows(self, node: Node, rows: bool = True) -> Iterator[Rows]:
        """``iterbatches`` with where the entries are that a walk must look at; with ``rows``,
        plain files as ``Row`` tuples (``Scanner.rows``). Refusals are raised here."""
        lba, size, depth = self._extent(node)
        out = self.scanner.rows(lba, size, node.path, depth, rows)
        if depth == 0 and self.rock_ridge:
            return (self._drop_relocated(r) for r in out)
        return out

    def _drop_relocated(self, rows: Rows) -> Rows:
        items, at = rows
        gone = {k for k in at if self._only_relocated(cast(Node, items[k]))}
        if not gone:
            return rows
        kept = [x for k, x in enumerate(items) if k not in gone]
        return kept, [k for k, x in enumerate(kept) if isinstance(x, Node)]

    def _extent(self, node: Node) -> tuple[int, int, int]:
        """A directory's (LBA, bytes, depth), or the reason it cannot be listed."""
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
        return lba, size, depth

    def listdir(self, node: Node) -> list[Node]:
        return list(self.iterdir(node))

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


class _Times(dict[bytes, float | None]):
    """A recording date's seconds, converted once per distinct date (a disc has a handful)."""

    def __init__(self, convert: Callable[[bytes], float | None]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, key: bytes) -> float | None:
        if len(self) >= 4096:  # a hostile image: every entry its own date
            self.clear()
        value = self[key] = self.convert(key)
        return value


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
