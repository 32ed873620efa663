"""How big the image of a folder will be, in a fraction of a second, without laying it out.

The Create page's gauge needs an answer while the user is still choosing a disc. Laying the
image out in pycdlib gives the exact size but takes about 150 µs per entry (9 s for /usr/share),
so this module counts what pycdlib will write instead: file data in whole sectors, and every
directory record as pycdlib sizes it (ISO 9660 with Rock Ridge, Joliet, UDF), packed into
sectors the way ECMA-119 requires (a record never crosses a sector), plus path tables,
Rock Ridge continuation areas and the fixed structures of an empty image. Tests hold it within
2 % of the real image on trees of big files, of thousands of tiny or empty files, of deep and
long-named folders, with and without UDF; the build itself checks the exact size before writing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from app.core.create.names import (
    RELOCATION_DIR,
    Taken,
    iso_name,
    joliet_name,
    readable,
    udf_name,
)
from app.core.create.scan import Tree

SECTOR = 2048
_DR_MAX = 254  # pycdlib's ALLOWED_DR_SIZE: longer records move Rock Ridge entries to a CE area
_CE_RECORD = 28
_RR_FIXED = 5 + 36 + 26  # RR (RRIP 1.09), PX, TF with three dates
_DOT = 102  # "." and "..": 34 bytes + RR, PX, TF, rounded to even
_MAX_ISO_DEPTH = 7  # deeper folders are relocated (ECMA-119 6.8.2.1: 8 levels with the root)


def _sectors(n: int) -> int:
    return -(-n // SECTOR)


class _Folder:
    __slots__ = ("depth", "iso", "joliet", "jtaken", "name_len", "taken", "udf", "utaken")

    def __init__(self, depth: int, name_len: int) -> None:
        self.iso = [_DOT, _DOT]
        self.joliet = [34, 34]
        self.udf = 40  # the parent FID
        self.taken = Taken()
        self.jtaken = Taken()
        self.utaken = Taken()
        self.depth = depth
        self.name_len = name_len


def _packed(records: list[int]) -> int:
    """Sectors a directory takes: records never straddle a sector boundary."""
    sectors, used = 1, 0
    for r in records:
        if used + r > SECTOR:
            sectors, used = sectors + 1, 0
        used += r
    return sectors


def _sl_length(target: str) -> int:
    parts = readable(target).encode().split(b"/")
    return 5 + sum(
        2 + (0 if p in (b".", b"..") or (i == 0 and p == b"") else len(p))
        for i, p in enumerate(parts)
    )


def _iso_record(ident: str, rr_name: str, extra: int) -> tuple[int, int]:
    """(record length, bytes it puts in a continuation area)."""
    n = len(ident)
    base = 33 + n + (1 - n % 2)
    total = base + _RR_FIXED + 5 + len(readable(rr_name).encode()) + extra
    if total <= _DR_MAX:
        return total + total % 2, 0
    return _DR_MAX, total - _DR_MAX + _CE_RECORD


def _udf_fid(name: str) -> int:
    try:
        n = len(name.encode("latin-1"))
    except UnicodeEncodeError:
        n = 2 * len(name)
    return (38 + 1 + n + 3) & ~3


@functools.lru_cache(maxsize=8)
def empty_image_sectors(udf: bool) -> int:
    """What pycdlib writes for an empty folder: system area, descriptors, root, path tables."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3, vol_ident="X", joliet=3, rock_ridge="1.09", udf="2.60" if udf else None
    )
    iso.force_consistency()
    sectors = int(iso.pvd.space_size)
    iso.close()
    return sectors


@dataclass(frozen=True)
class Estimate:
    """Sizes in bytes of the image without and with a UDF bridge, and the number of entries."""

    plain: int
    udf: int
    entries: int

    def size(self, udf: bool = False, boot: bool = False) -> int:
        return (self.udf if udf else self.plain) + (2 * SECTOR if boot else 0)


def estimate_bytes(tree: Tree, udf: bool = False, boot: bool = False) -> int:
    """The image's size in bytes, as ``build_iso`` would write it (within 2 %)."""
    return estimate(tree).size(udf, boot)


def estimate(tree: Tree) -> Estimate:
    """Both sizes in one pass over the tree (the Create page switches UDF on and off)."""
    folders: dict[str, _Folder] = {"": _Folder(0, 1)}
    folders[""].taken = Taken(RELOCATION_DIR, "BOOT.CAT")
    folders[""].jtaken = Taken("boot.catalog")
    folders[""].utaken = Taken("boot.catalog")
    data = ce = udf_files = 0
    relocated = False
    for e in tree.entries:
        parent, _, name = e.rel.rpartition("/")
        f = folders[parent]
        is_dir = e.kind == "dir"
        ident = iso_name(name, is_dir, f.taken)
        extra = _sl_length(e.target) if e.kind == "link" else 0
        rec, spill = _iso_record(ident if is_dir else ident + ";1", name, extra)
        f.iso.append(rec)
        ce += spill
        if e.kind != "link":
            units = len(joliet_name(name, f.jtaken).encode("utf-16-be", "surrogatepass"))
            f.joliet.append(34 + units)  # 33 bytes + the UTF-16 name, padded to even
        f.udf += _udf_fid(udf_name(name, f.utaken))
        if is_dir:
            folders[e.rel] = _Folder(f.depth + 1, len(ident))
            relocated |= f.depth + 1 > _MAX_ISO_DEPTH
        else:
            # A file entry each; a link's target sits in a block of its own.
            udf_files += 1 if e.kind == "file" else 2
            data += _sectors(e.size) if e.kind == "file" else 0
    sectors = data - 2  # the empty image's root holds one ISO and one Joliet sector already
    iso_ptr = joliet_ptr = udf_dirs = 0
    for folder in folders.values():
        sectors += _packed(folder.iso) + _packed(folder.joliet)
        iso_ptr += 8 + folder.name_len + folder.name_len % 2
        joliet_ptr += 8 + 2 * folder.name_len
        udf_dirs += 1 + _sectors(folder.udf)  # file entry + directory data
    # Path tables: pycdlib keeps four copies' worth of sectors per volume descriptor.
    sectors += 4 * (_sectors(iso_ptr) - 1) + 4 * (_sectors(joliet_ptr) - 1)
    sectors += _sectors(ce)
    if relocated:
        sectors += 1  # the relocation folder (ISO 9660 tree only)
    plain = sectors + empty_image_sectors(False)
    # The empty UDF image already has its root's file entry and directory.
    with_udf = sectors + empty_image_sectors(True) + udf_dirs - 2 + udf_files
    return Estimate(plain * SECTOR, with_udf * SECTOR, len(tree.entries))
