"""The rip report: a stable JSON document, coreutils sidecars, and a human summary."""

from __future__ import annotations

import dataclasses
import json
import os
import time

from app import __version__
from app.core.base.mapfile import save_atomic
from app.core.base.units import human_bytes
from app.core.rescue.run import RescueResult

SCHEMA = "discvault.rip/1"
SIDECARS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}  # extension -> algorithm


def build(result: RescueResult, source: str, image: str, map_path: str) -> dict[str, object]:
    ss = result.sector_size
    unreadable = result.sectors - result.rescued_sectors
    now = time.time()
    return {
        "schema": SCHEMA,
        "tool": {"name": "DiscVault", "version": __version__},
        "outcome": result.outcome,
        "message": result.message,
        "complete": result.outcome == "complete",
        "source": {
            "path": source,
            "capacity_sectors": result.size.capacity,
            "filesystem_sectors": result.size.filesystem,
            "size_basis": result.size.basis,
            "size_note": result.size.note,
            "drive_control": result.source_notes,
        },
        "image": {
            "path": os.path.abspath(image),
            "map": os.path.abspath(map_path),
            "sector_size": ss,
            "sectors": result.sectors,
            "bytes": result.sectors * ss,
        },
        "rescued_sectors": result.rescued_sectors,
        "unreadable_sectors": unreadable,
        "unreadable_bytes": unreadable * ss,
        "bad_ranges": [
            {"lba": s, "count": e - s, "status": st} for s, e, st in result.map.runs() if st != "+"
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


def write(report: dict[str, object], path: str) -> None:
    save_atomic(path, json.dumps(report, indent=2, ensure_ascii=True) + "\n")


def write_sidecars(image: str, hashes: dict[str, str]) -> list[str]:
    """``IMAGE.md5`` etc. in coreutils format, so ``sha1sum -c IMAGE.sha1`` works in place."""
    written = []
    name = os.path.basename(image)
    for ext, algo in SIDECARS.items():
        if algo in hashes:
            path = f"{image}.{ext}"
            save_atomic(path, f"{hashes[algo]}  {name}\n")
            written.append(path)
    return written


def summary(result: RescueResult, image: str) -> str:
    ss = result.sector_size
    bad = result.sectors - result.rescued_sectors
    areas = sum(1 for _, _, st in result.map.runs() if st != "+")
    head = {
        "complete": f"Backed up: {image}",
        "incomplete": f"Backed up — {human_bytes(bad * ss)} unreadable in {areas} area(s): {image}",
        "cancelled": "Stopped — run the same command again to resume.",
        "source_gone": "The source went away.",
        "destination_error": "Could not write the image.",
    }[result.outcome]
    lines = [head]
    if result.message and result.outcome not in ("complete",):
        lines.append(f"  {result.message}")
    lines.append(
        f"  rescued {human_bytes(result.rescued_sectors * ss)} of "
        f"{human_bytes(result.sectors * ss)} in {result.duration:.1f} s, "
        f"{result.failed_reads} failed read(s)"
    )
    if result.size.note:
        lines.append(f"  size: {result.size.basis} — {result.size.note}")
    if result.hashes:
        for algo in ("crc32", "md5", "sha1", "sha256"):
            if algo in result.hashes:
                lines.append(f"  {algo:7s} {result.hashes[algo]}")
    return "\n".join(lines)
