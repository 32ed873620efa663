"""A disc's history (verifications, health scans, reads) as small JSON files in its folder.

The catalogue keeps a copy; these files are what a rebuild reads, so every event is written
here first (atomically: a crash leaves the old file set or the new one) and to the catalogue
second.
"""

from __future__ import annotations

import json
import os
import re

from app.core.base.mapfile import save_atomic
from app.core.library.folder import HISTORY
from app.core.library.records import Event

SCHEMA = "discvault.library-event/1"
KINDS = ("verify", "health", "read")
_NAME = re.compile(r"^(verify|health|read)-[0-9T]+(-[0-9]+)?\.json$")


def file_for(folder_path: str, ev: Event) -> str:
    """A free file name for ``ev`` in the folder's history, relative to the folder."""
    base = f"{ev.kind}-{_stamp(ev.at)}"
    name = f"{base}.json"
    n = 2
    while os.path.exists(os.path.join(folder_path, HISTORY, name)):
        name = f"{base}-{n}.json"
        n += 1
    return f"{HISTORY}/{name}"


def _stamp(at: str) -> str:
    digits = re.sub(r"[^0-9T]", "", at[:19])
    return digits or "0"


def write(folder_path: str, ev: Event) -> Event:
    """Write ``ev`` to the folder's history; returns it with ``file`` set.

    ``OSError`` when the folder cannot be written (the caller says so)."""
    rel = ev.file or file_for(folder_path, ev)
    os.makedirs(os.path.join(folder_path, HISTORY), exist_ok=True)
    doc = {
        "schema": SCHEMA,
        "kind": ev.kind,
        "at": ev.at,
        "outcome": ev.outcome,
        "summary": ev.summary,
        "details": ev.doc,
    }
    save_atomic(os.path.join(folder_path, rel), json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return Event(ev.kind, ev.at, ev.outcome, ev.summary, ev.doc, rel)


def read_all(folder_path: str) -> tuple[list[Event], list[str]]:
    """Every event in the folder's history, oldest first, and what could not be read."""
    hdir = os.path.join(folder_path, HISTORY)
    try:
        names = sorted(n for n in os.listdir(hdir) if _NAME.match(n))
    except OSError:
        return [], []
    events: list[Event] = []
    problems: list[str] = []
    for name in names:
        path = os.path.join(hdir, name)
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            if doc.get("schema") != SCHEMA or doc.get("kind") not in KINDS:
                raise ValueError("not a DiscVault history file")
            details = doc.get("details")
            events.append(
                Event(
                    str(doc["kind"]),
                    str(doc["at"]),
                    str(doc["outcome"]),
                    str(doc.get("summary", "")),
                    details if isinstance(details, dict) else {},
                    f"{HISTORY}/{name}",
                )
            )
        except (OSError, ValueError, KeyError, AttributeError) as e:
            problems.append(f"{HISTORY}/{name}: {e}")
    return events, problems
