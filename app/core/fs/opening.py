"""Opening an image: which session, which filesystem tree, how whole, and what else it carries.

A multi-session image keeps absolute LBAs and a cue sheet beside it; by default the last
session is shown, which is what an OS shows when the disc goes in (Linux mounts the session
CDROMMULTISESSION names). A Mac/PC hybrid holds an ISO 9660 tree and an HFS one over the same
files: the PC view by default, the Mac one on request. Wholeness is the one check ``verify``
uses too (``app.core.disc.wholeness``).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from app.core.disc import wholeness as wholemod
from app.core.disc.layout import DiscLayout, Session
from app.core.fs import apm
from app.core.fs.inspection import Inspection
from app.core.fs.iso9660 import (
    BootEntry,
    IsoFilesystem,
    VolumeDescriptor,
    read_boot_catalog,
    read_descriptors,
)
from app.core.fs.node import SECTOR, Image, InspectError
from app.core.fs.udf import UdfFilesystem

if TYPE_CHECKING:
    from app.core.fs.hfs import HfsFilesystem
    from app.core.fs.hfsplus import HfsPlusFilesystem
    from app.core.fs.inspection import Reader

VIEWS = ("iso9660", "udf", "hfs")
_VD_FIELDS = (
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


def _session(sessions: list[Session], wanted: int | None, path: str) -> Session | None:
    if not sessions:
        return None
    if wanted is None:
        return sessions[-1]
    for s in sessions:
        if s.number == wanted:
            return s
    have = ", ".join(str(s.number) for s in sessions)
    raise InspectError(f"{path} has no session {wanted} (it has: {have}) — choose one of those")


def _mac(img: Image) -> list[tuple[apm.MacVolume, HfsFilesystem | HfsPlusFilesystem | None, str]]:
    out: list[tuple[apm.MacVolume, HfsFilesystem | HfsPlusFilesystem | None, str]] = []
    for v in apm.mac_volumes(img):
        try:
            from app.core.fs.hfs import HfsFilesystem  # loaded for a Mac volume only
            from app.core.fs.hfsplus import HfsPlusFilesystem

            kind = HfsFilesystem if v.kind == "hfs" else HfsPlusFilesystem
            fs: HfsFilesystem | HfsPlusFilesystem = kind(img, v.offset)
            out.append((v, fs, ""))
        except (InspectError, struct.error, IndexError, ValueError) as e:
            out.append((v, None, str(e)))
    return out


def open_at(
    img: Image,
    session: int | None = None,
    view: str | None = None,
    layout: DiscLayout | None = None,
) -> Inspection:
    if view is not None and view not in VIEWS:
        raise InspectError(f"no filesystem view {view!r} — choose one of {', '.join(VIEWS)}")
    raw = getattr(img, "wholeness", None)  # a BIN/CUE knows its own layout and files
    whole = raw() if raw is not None else wholemod.check(img.path, img.fd, layout)
    layout = whole.layout.layout
    chosen = _session(layout.data_sessions, session, img.path)
    start = chosen.start if chosen is not None else 0
    if img.size < (start + 17) * SECTOR and not apm.mac_volumes(img):
        if chosen is not None and start > 0:  # the cue sheet puts it past the end
            raise InspectError(
                f"{img.path}: session {chosen.number} starts at sector {start}, past the end "
                f"of the image ({img.size // SECTOR} sectors) — the image was cut short, or its "
                "cue sheet belongs to another image; --session 1 shows the first session"
            )
        sheet = getattr(img, "sheet", None)
        if sheet is not None and not any(t.is_data for t in layout.tracks):
            n = len(layout.tracks)  # a BIN/CUE of an audio CD: samples, no filesystem
            raise InspectError(
                f"{img.path}: an audio CD ({n} track{'s' if n != 1 else ''}, no data track) "
                "holds no files — verify checks it; a player or bchunk plays its tracks"
            )
        raise InspectError(
            f"{img.path}: too small to be a disc image ({img.size} bytes) — give an .iso image"
        )
    vds = read_descriptors(img, start)
    udf: UdfFilesystem | None = None
    udf_err = ""
    if start == 0:
        try:
            udf = UdfFilesystem(img)
        except (InspectError, struct.error, IndexError) as e:
            udf_err = str(e)
    macs = _mac(img) if start == 0 else []
    pvd = next((v for v in vds if v.kind == "primary"), None)
    joliet = next((v for v in vds if v.kind == "joliet"), None)
    if pvd is None and udf is None and not any(fs for _, fs, _ in macs):
        why = f" ({udf_err})" if udf_err and "anchor" not in udf_err else ""
        raise InspectError(
            f"{img.path}: not an ISO 9660, UDF or HFS image{why}"
            " — give a disc image (.iso, .cue) or a drive"
        )
    formats: list[str] = []
    volumes: list[dict[str, object]] = []
    trees: dict[str, Reader] = {}
    if pvd is not None:
        iso = IsoFilesystem(img, pvd, joliet=False)
        formats.append("ISO 9660")
        if joliet:
            formats.append("Joliet")
        if iso.rock_ridge:
            formats.append("Rock Ridge")
        best: Reader = iso
        if not iso.rock_ridge and joliet is not None:
            best = IsoFilesystem(img, joliet, joliet=True)
        trees["iso9660"] = best
        volumes += [_vd_json(v) for v in vds]
    if udf is not None:
        formats.append(f"UDF {udf.info.version}".strip())
        trees["udf"] = udf
        volumes.append(
            {
                "kind": "udf",
                "volume_id": udf.info.volume_id,
                "version": udf.info.version,
                "partitions": [
                    {"number": n, "start": s, "length": ln} for n, s, ln in udf.info.partitions
                ],
                "metadata_partition": udf.info.metadata,
            }
        )
    problems: list[tuple[str, str]] = [(n, "layout") for n in whole.layout.notes]
    for vol, fs, err in macs:
        name = {"hfs": "HFS", "hfs+": "HFS+", "hfsx": "HFSX"}.get(vol.kind, vol.kind.upper())
        if name not in formats:
            formats.append(name)
        volumes.append(
            {
                "kind": vol.kind,
                "volume_id": vol.name or getattr(fs, "volume_name", ""),
                "offset": vol.offset,
                "length": vol.length,
            }
        )
        if fs is not None:
            trees.setdefault("hfs", fs)
        else:
            problems.append((f"{name} volume at byte {vol.offset}: {err}", "hfs"))
    view = view or _default_view(trees, pvd is not None and "Rock Ridge" in formats, joliet)
    if view not in trees:
        have = ", ".join(trees) or "none"
        raise InspectError(
            f"{img.path} has no {view} filesystem (it has: {have}) — choose one of those with "
            "--filesystem, or leave it out"
        )
    boot: list[BootEntry] = []
    cat = next((v.boot_catalog for v in vds if v.boot_catalog is not None), None)
    if cat is not None:
        try:
            boot = read_boot_catalog(img, cat)
        except InspectError as e:
            problems.append((str(e), "boot"))
    label = (pvd.volume_id if pvd else "") or (udf.info.volume_id if udf else "")
    if joliet and joliet.volume_id:
        label = joliet.volume_id
    if not label and "hfs" in trees:
        label = str(volumes[-1].get("volume_id", ""))
    insp = Inspection(
        img.path,
        img.size,
        img.sectors,
        formats,
        label,
        volumes,
        boot,
        apm.describe(img),
        whole.required,
        trees[view],
        img,
    )
    insp.wholeness = whole
    insp.layout = layout
    tracks = getattr(img, "tracks", None)
    if tracks is not None:
        insp.tracks = tracks()
    insp.session = chosen.number if chosen is not None else 1
    insp.view = view
    insp.views = list(trees)
    for msg, kind in problems:
        insp.problem(msg, kind)
    return insp


def _default_view(trees: dict[str, Reader], rock_ridge: bool, joliet: object) -> str:
    """Rock Ridge or Joliet names over UDF over 8.3 names (UDF bridge discs, DVD-Video);
    HFS when it is all there is."""
    if "iso9660" in trees and (rock_ridge or joliet is not None or "udf" not in trees):
        return "iso9660"
    if "udf" in trees:
        return "udf"
    return next(iter(trees))


def _vd_json(v: VolumeDescriptor) -> dict[str, object]:
    return {k: getattr(v, k) for k in _VD_FIELDS if getattr(v, k) not in ("", None)}
