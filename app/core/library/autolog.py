"""What unattended backup says: one event per step, as a line for people and JSON for programs.

Every event but progress also goes to the library's journal (``.discvault/auto.jsonl``), so a
night's work can be read in the morning even when nobody kept the terminal: which disc went
where, which failed and why. The journal is appended to, a line at a time; when the library's
disk is full the line is lost but the event still reaches the screen (or systemd's journal).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from app.core.library.folder import Library
from app.core.library.records import now_iso

SCHEMA = "discvault.auto-event/1"
JOURNAL = "auto.jsonl"

# How a disc's turn ended ("done" events).
OUTCOMES = (
    "complete",  # backed up (or filled) completely
    "known",  # already in the library and complete: nothing read (or re-verified)
    "incomplete",  # backed up; data sectors stay unreadable in this drive
    "mismatch",  # compared with the disc (--verify): the image does not match it
    "protected",  # the drive refused sectors for copy protection; what it read is kept
    "unreadable",  # blank, audio-only, or nothing readable: recorded where possible
    "source_gone",  # pulled mid-backup: the mapfile is saved, the next insert resumes
    "destination_error",  # the library's disk is full or cannot be written
    "cancelled",  # auto was stopped while the disc was read; it resumes next time
    "error",  # anything else (the message says what)
)


@dataclass
class AutoEvent:
    kind: str  # started, waiting, inserted, new, resume, known, progress, verified, done,
    # ejected, eject_failed, paused, resumed, stopped, problem
    message: str
    drive: str = ""  # the drive's path; "" for the whole run
    at: str = field(default_factory=now_iso)
    label: str = ""
    folder: str = ""
    outcome: str = ""  # for "done" (see OUTCOMES) and "verified" (good, incomplete, mismatch)
    identity: str = ""
    fraction: float | None = None  # progress: 0..1 of the current job
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"schema": SCHEMA}
        doc.update({k: v for k, v in asdict(self).items() if v not in ("", None, {})})
        return doc

    def text(self) -> str:
        """``2026-11-22 03:12:01 /dev/sr0  message`` — one line, for a terminal or a log."""
        stamp = self.at[:19].replace("T", " ")
        who = f" {self.drive} " if self.drive else " "
        return f"{stamp}{who} {self.message}"


Listener = Callable[[AutoEvent], None]


class Journal:
    """Appends events to ``.discvault/auto.jsonl``; never raises (the run must go on)."""

    def __init__(self, lib: Library) -> None:
        self.path = os.path.join(lib.state_dir, JOURNAL)
        self._lock = threading.Lock()
        self.failed = ""  # why the last write failed ("" when fine)

    def write(self, ev: AutoEvent) -> None:
        if ev.kind == "progress":
            return
        line = json.dumps(ev.to_json(), ensure_ascii=True, sort_keys=True) + "\n"
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
                self.failed = ""
            except OSError as e:
                self.failed = e.strerror or str(e)


def read_journal(lib: Library) -> list[dict[str, object]]:
    """Every event the journal holds, oldest first (a torn last line is skipped)."""
    out: list[dict[str, object]] = []
    try:
        with open(os.path.join(lib.state_dir, JOURNAL), encoding="utf-8") as f:
            for line in f:
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
                    out.append(doc)
    except OSError:
        pass
    return out
