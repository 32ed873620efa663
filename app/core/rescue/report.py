"""The rip report: a stable JSON document, coreutils sidecars, and a human summary."""

from __future__ import annotations

import dataclasses
import json
import os
import time

from app import __version__
from app.core.base.companions import Companions
from app.core.base.hashing import ALGORITHMS
from app.core.base.mapfile import save_atomic
from app.core.base.outcome import Outcome
from app.core.base.units import human_bytes
from app.core.disc import discid
from app.core.disc.layout import DiscLayout
from app.core.disc.plan import Kind
from app.core.rescue import proof
from app.core.rescue.output import FileResult
from app.core.rescue.types import RescueResult

SCHEMA = "discvault.rip/1"


def build(result: RescueResult, source: str, image: str, map_path: str) -> dict[str, object]:
    ss = result.sector_size
    damaged = result.damaged_sectors
    now = time.time()
    out = result.output
    cue = out.sheet_path() if out is not None else None
    plan = result.plan
    not_data = []
    for r in plan.regions:
        if r.kind is Kind.DATA:
            continue
        unread = r.length - sum(
            max(0, min(e, r.end) - max(s, r.start)) for s, e, st in result.map.runs() if st == "+"
        )
        not_data.append(
            {"kind": str(r.kind), "lba": r.start, "count": r.length, "unreadable": unread}
        )
    return {
        "schema": SCHEMA,
        "tool": {"name": "DiscVault", "version": __version__},
        "outcome": str(result.outcome),
        "message": result.message,
        "complete": result.outcome is Outcome.COMPLETE,
        "source": {
            "path": source,
            "capacity_sectors": result.capacity,
            "filesystem_sectors": result.claims.end or None,
            "size_basis": "layout",
            "size_note": "; ".join(plan.notes),
            "drive_control": result.source_notes,
            "trailing_bytes": result.trailing_bytes,
            "protection": result.protection or None,
        },
        "disc": {
            "summary": result.describe(),
            **disc_ids(plan.layout),
            "layout": plan.layout.to_json(),
            "identity": result.identity.to_json() if result.identity else None,
            "filesystems": [
                {"kind": c.kind, "session": c.session, "start": c.start, "end": c.end}
                for c in result.claims.claims
            ],
            "not_data": not_data,
            "notes": plan.notes,
        },
        "image": {
            "path": os.path.abspath(image),
            "map": os.path.abspath(map_path),
            "cue": os.path.abspath(cue) if cue else None,
            "format": out.format if out is not None else "iso",
            "sector_size": ss,
            "sectors": result.image_sectors,
            "bytes": sum(f.size for f in result.files)
            if result.files
            else result.image_sectors * ss,
            "domain_sectors": result.sectors,
            "files": [f.to_json() for f in result.files],
        },
        "proof": proof_doc(result),
        "audio": audio_doc(result),
        "rescued_sectors": result.rescued_sectors,
        "unreadable_sectors": damaged,
        "unreadable_bytes": damaged * ss,
        "not_data_sectors": sum(result.not_data.values()),
        "bad_ranges": [
            {"lba": s, "count": e - s, "status": st} for s, e, st in result.damaged_ranges
        ],
        "hashes": result.hashes,
        "hashes_from": result.hashes_from,
        "resumed": result.resumed,
        "reads": result.reads,
        "failed_reads": result.failed_reads,
        "passes": [dataclasses.asdict(p) for p in result.passes],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now - result.duration)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)),
        "duration_seconds": round(result.duration, 3),
        "settings": dataclasses.asdict(result.settings),
    }


def proof_doc(result: RescueResult) -> dict[str, object] | None:
    """Counts and words for the proof of the sectors (null for an .iso of a DVD or BD, where
    2048-byte sectors are all there is)."""
    out = result.output
    is_cd = result.plan.layout.medium == "CD"
    if not (result.raw or (out is not None and out.format == "bincue") or is_cd):
        return None
    extra = {k: v for k, v in result.proof.items() if k != "c2"}
    return proof.counts(
        result.plan.layout,
        result.map,
        result.unchecked,
        bool(result.proof.get("c2")),
        result.raw,
        extra,
    )


def audio_doc(result: RescueResult) -> dict[str, object] | None:
    layout = result.plan.layout
    if not layout.audio_tracks:
        return None
    out = result.output
    info = out.info if out is not None else None
    return {
        "imaged": bool(out is not None and out.format == "bincue"),
        "drive": result.drive or None,
        "read_offset": result.read_offset.to_json() if result.read_offset else None,
        "offset_note": result.read_offset.describe(result.drive) if result.read_offset else None,
        "disc_info": info.to_json() if info is not None else None,
    }


def disc_ids(layout: DiscLayout) -> dict[str, object]:
    """The MusicBrainz disc ID (and FreeDB ID, TOC string) of a disc with audio, from its TOC."""
    toc = discid.Toc.from_layout(layout)
    if toc is None:
        return {}
    return {
        "musicbrainz_id": toc.musicbrainz_id(),
        "freedb_id": toc.freedb_id(),
        "toc": toc.toc_string(),
    }


def write(report: dict[str, object], path: str) -> None:
    save_atomic(path, json.dumps(report, indent=2, ensure_ascii=True) + "\n")


def write_sidecars(image: str, hashes: dict[str, str]) -> list[str]:
    """``IMAGE.md5`` etc. for one image file (the library's import of a plain .iso)."""
    written = []
    name = os.path.basename(image)
    for algo, path in Companions.of(image).sidecars.items():
        if algo in hashes:
            save_atomic(path, f"{hashes[algo]}  {name}\n")
            written.append(path)
    return written


def write_file_sidecars(comp: Companions, files: list[FileResult]) -> list[str]:
    """``IMAGE.md5`` etc. in coreutils format, one line per file the backup wrote (the .iso, or
    every .bin of a BIN/CUE), so ``sha1sum -c IMAGE.sha1`` works in place."""
    written = []
    for algo, path in comp.sidecars.items():
        lines = [
            f"{f.hashes[algo]}  {f.part.name}\n" for f in files if f.hashes and algo in f.hashes
        ]
        if len(lines) == len(files):
            save_atomic(path, "".join(lines))
            written.append(path)
    return written


def _of(part: int, whole: int) -> str:
    """ "X of Y" that never reads as equal when the numbers are not (100.7 MB of 100.7 MB)."""
    a, b = human_bytes(part), human_bytes(whole)
    if part != whole and a == b:
        return f"{part:,} of {whole:,} bytes"
    return f"{a} of {b}"


def summary(result: RescueResult, image: str) -> str:
    ss = result.sector_size
    damaged_runs = result.damaged_ranges
    bad = result.damaged_sectors
    areas = len(damaged_runs)
    head = {
        Outcome.COMPLETE: f"Backed up: {image}",
        Outcome.INCOMPLETE: (
            f"Backed up — {human_bytes(bad * ss)} unreadable in {areas} "
            f"area{'s' if areas != 1 else ''}: {image}"
        ),
        Outcome.PROTECTED: f"Stopped: the disc is copy-protected. Kept what could be read: {image}",
        Outcome.CANCELLED: "Stopped — run the same command again to resume.",
        Outcome.SOURCE_GONE: "The source went away.",
        Outcome.DESTINATION_ERROR: "Could not write the image.",
    }[result.outcome]
    lines = [head]
    if result.message and result.outcome is not Outcome.COMPLETE:
        lines.append(f"  {result.message}")
    lines.append(f"  {result.describe()}")
    rescued = result.rescued_data_sectors * ss
    lines.append(
        f"  rescued {_of(rescued, result.data_sectors * ss)} in {result.duration:.1f} s, "
        f"{result.failed_reads} failed read{'s' if result.failed_reads != 1 else ''}"
    )
    out = result.output
    audio = result.plan.layout.audio_tracks
    if audio and (out is None or out.format == "iso"):
        nums = ", ".join(str(t.number) for t in audio)
        lines.append(
            f"  audio: track{'s' if len(audio) > 1 else ''} {nums} not part of an ISO "
            "(zero in the image; kept: every data track)"
        )
    doc = proof_doc(result)
    if doc is not None and result.outcome.finished:
        lines.append(f"  {doc['verdict']}")
    if audio and result.read_offset is not None:
        lines.append(f"  {result.read_offset.describe(result.drive)}")
    ids = disc_ids(result.plan.layout)
    if ids:
        lines.append(f"  MusicBrainz disc ID {ids['musicbrainz_id']}")
    for note in result.format_notes:  # why this format, and what it could not hold
        if not note.startswith("raw sectors through READ CD"):
            lines.append(f"  note: {note}")
    for note in result.plan.notes:
        lines.append(f"  note: {note}")
    if result.trailing_bytes:
        lines.append(
            f"  note: the source's last {result.trailing_bytes} bytes are not a whole sector: "
            "they are not in the image"
        )
    if result.image_sectors < result.sectors:
        lines.append(
            f"  the image ends at sector {result.image_sectors}: the "
            f"{result.sectors - result.image_sectors} unreadable run-out sectors after it hold "
            "nothing"
        )
    if result.hashes:
        for algo in ALGORITHMS:
            if algo in result.hashes:
                lines.append(f"  {algo:7s} {result.hashes[algo]}")
    elif len(result.files) > 1 or (out is not None and out.format != "iso"):
        for f in result.files:
            if f.hashes:
                lines.append(f"  {f.part.name}: crc32 {f.hashes['crc32']}  sha1 {f.hashes['sha1']}")
    return "\n".join(lines)
