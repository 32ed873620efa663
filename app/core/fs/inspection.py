"""Inspect an image: volumes, boot entries, the file tree, wholeness, and damaged files.

``open_image`` never lets a raw parser error out: everything becomes ``InspectError`` with one
line saying why, and a directory that cannot be listed is reported on that directory while the
rest of the tree still lists.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from app.core.base import mapfile
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.fs.iso9660 import BootEntry, IsoFilesystem, read_boot_catalog, read_descriptors
from app.core.fs.node import MAX_ENTRIES, SECTOR, Image, InspectError, Node
from app.core.fs.udf import UdfFilesystem, UdfInfo

__all__ = ["InspectError", "Inspection", "Node", "open_image"]


@dataclass
class Inspection:
    path: str
    size: int
    sectors: int
    formats: list[str]
    volume_id: str
    volumes: list[dict[str, object]]
    boot: list[BootEntry]
    hybrid: list[str]
    required_sectors: int  # what the filesystem says the image must hold
    fs: IsoFilesystem | UdfFilesystem
    img: Image
    problems: list[str] = field(default_factory=list)
    _children: dict[tuple[str, tuple[int, ...]], list[Node]] = field(default_factory=dict)
    # The GUI lists directories while a background thread indexes the rest: one reader at a
    # time, or the loop guard would see the same directory twice.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> Node:
        return self.fs.root

    @property
    def missing_sectors(self) -> int:
        return max(self.required_sectors - self.sectors, 0)

    @property
    def whole(self) -> bool:
        return self.missing_sectors == 0 and self.size % SECTOR == 0

    def children(self, node: Node) -> list[Node]:
        """A directory's entries, read on first use; a broken one lists as empty + problem."""
        with self._lock:
            return self._children_locked(node)

    def _children_locked(self, node: Node) -> list[Node]:
        key = (node.path, node.ref)
        if key in self._children:
            return self._children[key]
        try:
            kids = self.fs.listdir(node)
        except (InspectError, struct.error, IndexError, ValueError, UnicodeError) as e:
            msg = str(e) if isinstance(e, InspectError) else f"{node.path}: malformed ({e})"
            node.problem = msg
            self.problems.append(msg)
            kids = []
        self._children[key] = kids
        return kids

    def walk(self, top: Node | None = None) -> Iterator[Node]:
        """Every node below ``top`` (depth first), bounded in count."""
        stack = [top or self.root]
        count = 0
        while stack:
            node = stack.pop()
            kids = self.children(node)
            count += len(kids)
            if count > MAX_ENTRIES:
                raise InspectError(f"more than {MAX_ENTRIES} entries: not a real disc")
            for child in kids:
                yield child
                if child.kind == "dir":
                    stack.append(child)

    def find(self, path: str) -> Node | None:
        node = self.root
        for part in [p for p in path.split("/") if p]:
            match = next((c for c in self.children(node) if c.name == part), None)
            if match is None:
                return None
            node = match
        return node

    def damage(self, map_path: str) -> dict[str, int]:
        """Unreadable bytes per path, from the image's ddrescue mapfile: a file's data, or a
        directory's own listing (then some of its entries may be missing altogether)."""
        rmap = mapfile.load(map_path, SECTOR, self.sectors).map
        bad = [(s, e) for s, e, st in rmap.runs() if st != FINISHED]
        if not bad:
            return {}
        out: dict[str, int] = {}
        for node in (self.root, *self.walk()):
            lost = _bad_bytes(node.extents, bad, rmap) if node.extents else 0
            if lost:
                out[node.path] = lost
        return out

    def close(self) -> None:
        self.img.close()


def _bad_bytes(extents: list[tuple[int, int]], bad: list[tuple[int, int]], rmap: RangeMap) -> int:
    lost = 0
    for lba, ln in extents:
        end = lba + -(-ln // SECTOR)
        for s, e in bad:
            lo, hi = max(lba, s), min(end, e)
            if lo < hi:
                last_partial = ln % SECTOR if hi == end and ln % SECTOR else SECTOR
                lost += (hi - lo - 1) * SECTOR + last_partial
    return lost


def _hybrid(img: Image) -> list[str]:
    s0 = img.read(0, 1024)
    out = []
    if len(s0) >= 512 and s0[510:512] == b"\x55\xaa":
        kinds = {s0[446 + 16 * i + 4] for i in range(4)} - {0}
        out.append("MBR (" + ", ".join(f"type 0x{k:02x}" for k in sorted(kinds)) + ")")
        if 0xEE in kinds and s0[512:520] == b"EFI PART":
            out.append("GPT")
    return out


def open_image(path: str) -> Inspection:
    img = Image(path)
    try:
        return _open(img)
    except InspectError:
        img.close()
        raise
    except (struct.error, IndexError, ValueError, UnicodeError, OverflowError) as e:
        img.close()
        raise InspectError(f"{path}: malformed image ({type(e).__name__}: {e})") from e


def _open(img: Image) -> Inspection:
    if img.size < 17 * SECTOR:
        raise InspectError(f"{img.path}: too small to be a disc image ({img.size} bytes)")
    vds = read_descriptors(img)
    udf: UdfFilesystem | None = None
    udf_err = ""
    try:
        udf = UdfFilesystem(img)
    except (InspectError, struct.error, IndexError) as e:
        udf_err = str(e)
    pvd = next((v for v in vds if v.kind == "primary"), None)
    joliet = next((v for v in vds if v.kind == "joliet"), None)
    if pvd is None and udf is None:
        why = f" ({udf_err})" if udf_err and "anchor" not in udf_err else ""
        raise InspectError(f"{img.path}: not an ISO 9660 or UDF image{why}")
    formats: list[str] = []
    fs: IsoFilesystem | UdfFilesystem
    volumes: list[dict[str, object]] = []
    required = 0
    if pvd is not None:
        iso = IsoFilesystem(img, pvd, joliet=False)
        formats.append("ISO 9660")
        if joliet:
            formats.append("Joliet")
        if iso.rock_ridge:
            formats.append("Rock Ridge")
        required = pvd.volume_space
        fs = iso
        if not iso.rock_ridge and joliet is not None:
            fs = IsoFilesystem(img, joliet, joliet=True)
        elif not iso.rock_ridge and udf is not None:
            fs = udf  # UDF names are better than 8.3 ones (UDF bridge discs, DVD-Video)
        for v in vds:
            volumes.append(
                {
                    k: getattr(v, k)
                    for k in (
                        "kind",
                        "lba",
                        "system_id",
                        "volume_id",
                        "volume_space",
                        "publisher",
                        "application",
                        "created",
                        "modified",
                    )
                    if getattr(v, k) not in ("", None)
                }
            )
    if udf is not None:
        info: UdfInfo = udf.info
        formats.append(f"UDF {info.version}".strip())
        volumes.append(
            {
                "kind": "udf",
                "volume_id": info.volume_id,
                "version": info.version,
                "partitions": [
                    {"number": n, "start": s, "length": ln} for n, s, ln in info.partitions
                ],
                "metadata_partition": info.metadata,
            }
        )
        if pvd is None:
            fs = udf
            required = max((s + ln for _, s, ln in info.partitions), default=0)
    boot: list[BootEntry] = []
    problems: list[str] = []
    cat = next((v.boot_catalog for v in vds if v.boot_catalog is not None), None)
    if cat is not None:
        try:
            boot = read_boot_catalog(img, cat)
        except InspectError as e:
            problems.append(str(e))
    label = (pvd.volume_id if pvd else "") or (udf.info.volume_id if udf else "")
    if joliet and joliet.volume_id:
        label = joliet.volume_id
    return Inspection(
        img.path,
        img.size,
        img.sectors,
        formats,
        label,
        volumes,
        boot,
        _hybrid(img),
        required,
        fs,
        img,
        problems,
    )
