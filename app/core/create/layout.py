"""The image laid out in pycdlib: names, dates and modes, before any file data is read.

pycdlib writes ISO 9660 + Joliet + Rock Ridge (+ UDF, El Torito) well, but it stamps every
record with the time of the build and its Rock Ridge names must be valid UTF-8. Both are fixed
here on pycdlib's own records once the tree is laid out: every record's date is set from the
source (ISO 9660 and Joliet directory records, Rock Ridge TF, UDF file entries, and each
folder's "." and ".." records), and a name that is not UTF-8 is added under a placeholder of the
same byte length whose Rock Ridge NM (or SL) bytes are then replaced with the original bytes.
Both changes keep every record's length, so pycdlib's layout stays valid.

Deep folders (more than 8 levels, the ISO 9660 limit) are moved into a relocation folder by
pycdlib with CL/PL/RE entries. Like ``xorriso -as mkisofs -hide-rr-moved``, ours is called
``.rr_moved`` in Rock Ridge and carries an RE entry itself, so Rock Ridge readers do not show
it; it only exists when something is relocated.
"""

from __future__ import annotations

import calendar
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycdlib
from pycdlib import dates as pdates
from pycdlib import dr as pdr
from pycdlib import path_table_record as pptr
from pycdlib import udf as pudf

from app.core.base.events import CancelToken
from app.core.create.errors import BuildError
from app.core.create.names import (
    RELOCATION_DIR,
    RELOCATION_RR_NAME,
    Taken,
    is_undecodable,
    iso_name,
    joliet_name,
    printable,
    raw_bytes,
    readable,
    udf_name,
)
from app.core.create.scan import Entry, Times, Tree

# A directory record's year is one byte counted from 1900 (ECMA-119 9.1.5): dates outside
# 1900..2155 are clamped (a day inside, so that no time zone pushes them over the edge).
_DATE_MIN = calendar.timegm((1900, 1, 2, 0, 0, 0))
_DATE_MAX = calendar.timegm((2155, 12, 30, 0, 0, 0))


class LayoutError(BuildError):
    """An entry pycdlib cannot place; the message names it."""


class _Writer(pycdlib.PyCdlib):
    """pycdlib with the relocation folder hidden from Rock Ridge readers (RE on itself)."""

    def _find_or_create_rr_moved(self) -> int:
        # pycdlib's own method (1.22), except rr_relocated=True: the folder gets an RE entry.
        if self._rr_moved_record.initialized:
            return 0
        name = RELOCATION_DIR.encode()
        rec = pdr.DirectoryRecord()
        rec.new_dir(
            self.pvd,
            name,
            self.pvd.root_directory_record(),
            self.pvd.sequence_number(),
            self.rock_ridge,
            RELOCATION_RR_NAME.encode(),
            self.logical_block_size,
            False,
            True,
            self.xa,
            0o040555,
            time.time(),
        )
        added: int = self._add_child_to_dr(rec)
        self._create_dot(self.pvd, rec, self.rock_ridge, self.xa, 0o040555)
        self._create_dotdot(self.pvd, rec, self.rock_ridge, False, self.xa, 0o040555)
        ptr = pptr.PathTableRecord()
        ptr.new_dir(name)
        added += self.logical_block_size + self._add_to_ptr_size(ptr)
        rec.set_ptr(ptr)
        self._rr_moved_record = rec
        return added


@functools.lru_cache(maxsize=4096)
def _dr_date(t: float) -> Any:
    d = pdates.DirectoryRecordDate()
    d.new(_clamp(t))
    return d


@functools.lru_cache(maxsize=4096)
def _udf_date(t: float) -> Any:
    d = pudf.UDFTimestamp()
    d.new(_clamp(t))
    return d


def _clamp(t: float) -> float:
    t = float(min(max(t, _DATE_MIN), _DATE_MAX))
    try:
        time.localtime(t)
    except (OSError, OverflowError, ValueError):  # Windows refuses dates before 1970
        return 0.0
    return t


@dataclass
class Layout:
    iso: Any
    files: int = 0
    dirs: int = 0
    links: int = 0
    data_bytes: int = 0
    undecodable: list[str] = field(default_factory=list)  # kept with their raw Rock Ridge bytes
    file_paths: dict[str, str] = field(default_factory=dict)  # rel -> ISO path

    @property
    def image_bytes(self) -> int:
        self.iso.force_consistency()
        return int(self.iso.pvd.space_size) * int(self.iso.logical_block_size)


FileSource = Callable[[Entry], Any]


def lay_out(
    tree: Tree,
    label: str,
    udf: bool,
    source: FileSource,
    token: CancelToken,
    tick: Callable[[int, int], None],
) -> Layout:
    """Add every entry to a new pycdlib image; ``source(entry)`` gives a file's data object."""
    iso = _Writer()
    iso.new(
        interchange_level=3,
        vol_ident=label,
        joliet=3,
        rock_ridge="1.09",
        udf="2.60" if udf else None,
        app_ident_str="DISCVAULT",
    )
    iso.set_relocated_name(RELOCATION_DIR, RELOCATION_RR_NAME)
    out = Layout(iso)
    iso_paths: dict[str, str] = {"": ""}
    joliet_paths: dict[str, str] = {"": ""}
    udf_paths: dict[str, str] = {"": ""}
    # Reserved in the root: the relocation folder and the El Torito boot catalog.
    taken: dict[str, Taken] = {"": Taken(RELOCATION_DIR, "BOOT.CAT")}
    jtaken: dict[str, Taken] = {"": Taken("boot.catalog")}
    utaken: dict[str, Taken] = {"": Taken("boot.catalog")}
    by_iso: dict[str, Entry] = {}
    by_joliet: dict[str, Entry] = {}
    by_udf: dict[str, Entry] = {}
    total = len(tree.entries)
    for n, e in enumerate(tree.entries):
        if n % 512 == 0:
            token.raise_if_cancelled()
            tick(n, total)
        parent, _, name = e.rel.rpartition("/")
        iname = iso_name(name, e.kind == "dir", taken.setdefault(parent, Taken()))
        ipath = f"{iso_paths[parent]}/{iname}"
        jpath = f"{joliet_paths[parent]}/{joliet_name(name, jtaken.setdefault(parent, Taken()))}"
        upath = None
        if udf:
            upath = f"{udf_paths[parent]}/{udf_name(name, utaken.setdefault(parent, Taken()))}"
            by_udf[upath] = e
        by_iso[ipath], by_joliet[jpath] = e, e
        if is_undecodable(name):
            out.undecodable.append(printable(e.rel))
        try:
            _add(iso, e, readable(name), ipath, jpath, upath, source, out)
        except pycdlib.pycdlibexception.PyCdlibException as ex:
            raise LayoutError(f"{printable(e.rel)}: cannot be put on the disc ({ex})") from None
        if e.kind == "dir":
            iso_paths[e.rel], joliet_paths[e.rel] = ipath, jpath
            if upath is not None:
                udf_paths[e.rel] = upath
    tick(total, total)
    _stamp_records(iso.pvd.root_directory_record(), by_iso, tree.root_times, _iso_key, True)
    if iso.joliet_vd is not None:
        root = iso.joliet_vd.root_directory_record()
        _stamp_records(root, by_joliet, tree.root_times, _joliet_key, False)
    if iso.udf_root is not None:
        _stamp_udf(iso.udf_root, by_udf, tree.root_times)
    return out


def _add(
    iso: Any,
    e: Entry,
    rr_name: str,
    ipath: str,
    jpath: str,
    upath: str | None,
    source: FileSource,
    out: Layout,
) -> None:
    if e.kind == "dir":
        iso.add_directory(
            ipath, rr_name=rr_name, joliet_path=jpath, udf_path=upath, file_mode=0o40000 | e.mode
        )
        out.dirs += 1
    elif e.kind == "file":
        out.file_paths[e.rel] = ipath
        iso.add_fp(
            source(e),
            e.size,
            f"{ipath};1",
            rr_name=rr_name,
            joliet_path=jpath,
            udf_path=upath,
            file_mode=0o100000 | e.mode,
        )
        out.files += 1
        out.data_bytes += e.size
    else:
        iso.add_symlink(
            f"{ipath};1",
            rr_symlink_name=rr_name,
            rr_path=readable(e.target),
            udf_symlink_path=upath,
            udf_target=readable(e.target) if upath else None,
        )
        out.links += 1


def _iso_key(rec: Any) -> str:
    ident: bytes = rec.file_ident
    return ident.decode("ascii", "replace").removesuffix(";1")


def _joliet_key(rec: Any) -> str:
    ident: bytes = rec.file_ident
    return ident.decode("utf-16-be", "surrogatepass").removesuffix(";1")


def _stamp_dr(rec: Any, t: Times) -> None:
    rec.date = _dr_date(t.mtime)
    rr = rec.rock_ridge
    if rr is None:
        return
    for entries in (rr.dr_entries, rr.ce_entries):
        tf = getattr(entries, "tf_record", None)
        if tf is None:
            continue
        if tf.access_time is not None:
            tf.access_time = _dr_date(t.atime)
        if tf.modification_time is not None:
            tf.modification_time = _dr_date(t.mtime)
        if tf.attribute_change_time is not None:
            tf.attribute_change_time = _dr_date(t.ctime)


def _stamp_records(
    root: Any,
    meta: dict[str, Entry],
    root_times: Times,
    key_of: Callable[[Any], str],
    rock_ridge: bool,
) -> None:
    """Walk pycdlib's tree (following CL links into the relocation folder) and date it."""
    _stamp_dr(root, root_times)
    stack: list[tuple[Any, str, Times, Times]] = [(root, "", root_times, root_times)]
    while stack:
        folder, key, own, up = stack.pop()
        kids = folder.children
        _stamp_dr(kids[0], own)  # "."
        _stamp_dr(kids[1], up)  # ".."
        for rec in kids[2:]:
            path = f"{key}/{key_of(rec)}"
            e = meta.get(path)
            if e is None:  # the relocation folder (reached through CL) or the boot catalog
                continue
            _stamp_dr(rec, e.times)
            real = rec
            if rock_ridge and rec.rock_ridge is not None:
                if rec.rock_ridge.child_link_record_exists():
                    real = rec.rock_ridge.cl_to_moved_dr
                    _stamp_dr(real, e.times)
                if is_undecodable(e.name):
                    for r in {id(rec): rec, id(real): real}.values():
                        _restore_name(r, e)
                if e.kind == "link" and is_undecodable(e.target):
                    _restore_target(rec, e)
            if real.is_dir():
                stack.append((real, path, e.times, own))


def _su_lists(rec: Any) -> list[Any]:
    rr = rec.rock_ridge
    return [x for x in (rr.dr_entries, rr.ce_entries) if x is not None]


def _restore_name(rec: Any, e: Entry) -> None:
    """Put the name's original bytes into its NM entries (same length as the placeholder)."""
    nms = [nm for lst in _su_lists(rec) for nm in lst.nm_records]
    raw = raw_bytes(e.name)
    if b"".join(nm.posix_name for nm in nms) != readable(e.name).encode():
        raise LayoutError(f"{printable(e.rel)}: its Rock Ridge name could not be kept")
    pos = 0
    for nm in nms:
        k = len(nm.posix_name)
        nm.posix_name, pos = raw[pos : pos + k], pos + k


def _component_bytes(target: bytes) -> bytes:
    """What a symlink target's SL components hold as data: the names, without '/', '.', '..'."""
    parts = target.split(b"/")
    return b"".join(
        p for i, p in enumerate(parts) if p not in (b".", b"..") and not (i == 0 and p == b"")
    )


def _restore_target(rec: Any, e: Entry) -> None:
    comps = [c for lst in _su_lists(rec) for sl in lst.sl_records for c in sl.symlink_components]
    raw = _component_bytes(raw_bytes(e.target))
    if b"".join(c.data for c in comps) != _component_bytes(readable(e.target).encode()):
        raise LayoutError(f"{printable(e.rel)}: its link target could not be kept")
    pos = 0
    for c in comps:
        k = len(c.data)
        c.data, pos = raw[pos : pos + k], pos + k


def _stamp_fe(fe: Any, t: Times) -> None:
    fe.access_time = _udf_date(t.atime)
    fe.mod_time = _udf_date(t.mtime)
    fe.attr_time = _udf_date(t.ctime)


def _stamp_udf(root: Any, meta: dict[str, Entry], root_times: Times) -> None:
    _stamp_fe(root, root_times)
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        folder, key = stack.pop()
        descs = folder.fi_descs  # a dict in pycdlib 1.22, a list in 1.14
        for fid in descs.values() if isinstance(descs, dict) else descs:
            if fid.isparent or fid.file_entry is None:
                continue
            path = f"{key}/{fid.fi.decode(fid.encoding)}"
            e = meta.get(path)
            if e is None:
                continue
            _stamp_fe(fid.file_entry, e.times)
            if fid.file_entry.is_dir():
                stack.append((fid.file_entry, path))
