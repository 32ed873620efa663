"""The shelf in words for a terminal: the disc list as a table, one disc in full (no Qt)."""

from __future__ import annotations

import json

from app.core.base.units import human_bytes
from app.core.library.records import DiscRecord, Event, FileRow, day_of

MAX_DAMAGED = 50  # lines of damaged files before "… and N more"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def event_line(e: Event) -> str:
    return f"    {day_of(e.at)}  {e.outcome:10s}  {e.summary}"


def disc_text(
    rec: DiscRecord, badge: str, image: str, events: list[Event], damaged: list[FileRow]
) -> str:
    lines = [
        f"{rec.label}  ·  {badge}",
        f"  folder     {rec.folder}",
        f"  image      {image}",
        f"             {human_bytes(rec.image_bytes)}, {rec.sectors} sectors"
        + (f", {rec.formats}" if rec.formats else ""),
        f"  backed up  {rec.backed_up} ({rec.outcome})",
    ]
    if rec.created:
        lines.append(f"  created    {rec.created} (the volume's own date)")
    lines.append(f"  identity   {rec.identity or 'unknown'} (from the {rec.identity_from})")
    for algo, value in rec.hashes.items():
        lines.append(f"  {algo:9s}  {value}")
    if rec.dat:
        dat = json.loads(rec.dat)
        lines.append(
            f"  DAT        {dat.get('verdict')}: {dat.get('game') or ''} ({dat.get('dat')})"
        )
    lines.append(f"  files      {rec.file_count}, {rec.damaged_files} damaged")
    if rec.problem:
        lines.append(f"  problem    {rec.problem}")
    if damaged:
        lines.append("  on unreadable sectors:")
        lines += [
            f"    {f.path}  ({human_bytes(f.unreadable)} unreadable)" for f in damaged[:MAX_DAMAGED]
        ]
        if len(damaged) > MAX_DAMAGED:
            lines.append(f"    … and {len(damaged) - MAX_DAMAGED} more")
    for kind, title in (
        ("read", "read by"),
        ("verify", "verifications"),
        ("health", "health scans"),
    ):
        evs = [e for e in events if e.kind == kind]
        if evs:
            lines.append(f"  {title}:")
            lines += [event_line(e) for e in evs]
            if kind == "health":
                b = evs[-1].doc.get("buckets")
                if isinstance(b, dict):
                    lines.append("      last: " + ", ".join(f"{k} {v}" for k, v in b.items()))
    return "\n".join(lines)
