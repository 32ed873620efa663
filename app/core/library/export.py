"""The catalogue out as CSV or JSON: the discs, or every file with its disc.

Written as it is read (a million files never sit in memory), UTF-8, one header row for CSV.
"""

from __future__ import annotations

import csv
import json
from typing import TextIO

from app.core.library.catalogue import Catalogue
from app.core.library.records import DISC_COLUMNS, DiscRecord, Event
from app.core.library.state import disc_state

SCHEMA = "discvault.library/1"
DISC_FIELDS = (
    "folder",
    "label",
    "state",
    "badge",
    "verified",
    "health",
    "backed_up",
    "created",
    "sectors",
    "image_bytes",
    "outcome",
    "unreadable_sectors",
    "damaged_files",
    "file_count",
    "crc32",
    "md5",
    "sha1",
    "sha256",
    "identity",
    "formats",
    "volume_id",
    "image",
    "problem",
)
FILE_FIELDS = ("folder", "label", "image", "path", "kind", "size", "mtime", "unreadable_bytes")


def _disc_row(rec: DiscRecord, events: dict[int, list[Event]]) -> dict[str, object]:
    st = disc_state(rec, events.get(rec.id, []))
    row: dict[str, object] = {k: getattr(rec, k) for k in DISC_COLUMNS}
    row.update(state=st.key, badge=st.badge, verified=st.verified, health=st.health)
    return row


def export_csv(cat: Catalogue, out: TextIO, files: bool = False) -> int:
    """Returns the number of rows written."""
    events = cat.all_events()
    n = 0
    if not files:
        w = csv.DictWriter(out, DISC_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for rec in cat.discs():
            w.writerow(_disc_row(rec, events))
            n += 1
        return n
    fw = csv.writer(out, lineterminator="\n")
    fw.writerow(FILE_FIELDS)
    for rec in cat.discs():
        for f in cat.files(rec.id):
            fw.writerow(
                (rec.folder, rec.label, rec.image, f.path, f.kind, f.size, f.mtime, f.unreadable)
            )
            n += 1
    return n


def export_json(cat: Catalogue, out: TextIO, files: bool = False) -> int:
    """``{"schema", "library", "discs": [{..., "history": [...], "files"?: [...]}]}``."""
    events = cat.all_events(("verify", "health", "read"))
    out.write('{"schema": "discvault.library/1", "library": ')
    out.write(json.dumps(cat.library.root))
    out.write(', "discs": [')
    n = 0
    for i, rec in enumerate(cat.discs()):
        row = _disc_row(rec, events)
        # Nested documents as JSON, not as JSON text inside a string.
        for key in ("identity_doc", "dat"):
            row[key] = json.loads(str(row[key])) if row[key] else None
        row["history"] = [
            {"kind": e.kind, "at": e.at, "outcome": e.outcome, "summary": e.summary, "file": e.file}
            for e in events.get(rec.id, [])
        ]
        text = json.dumps(row, ensure_ascii=False)
        if files:
            out.write(("," if i else "") + "\n  " + text[:-1] + ', "files": [')
            for j, f in enumerate(cat.files(rec.id)):
                item = {
                    "path": f.path,
                    "kind": f.kind,
                    "size": f.size,
                    "mtime": f.mtime,
                    "unreadable_bytes": f.unreadable,
                }
                out.write(("," if j else "") + "\n    " + json.dumps(item, ensure_ascii=False))
                n += 1
            out.write("]}")
        else:
            out.write(("," if i else "") + "\n  " + text)
        n += 0 if files else 1
    out.write("\n]}\n")
    return n
