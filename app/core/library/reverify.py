"""``library verify``: re-hash every stored image against the catalogue (bit rot on storage).

A run remembers which discs it has done in ``.discvault/verify-run.json`` (replaced atomically
after each disc), so an interrupted run — Ctrl-C, a reboot, ``kill -9`` — resumes with the next
disc. The unit of resumption is a disc: a hash's state cannot be saved half-way. Each disc's
result goes to its folder's history (what a rebuild reads) and then to the catalogue; the run
ends with a report in ``.discvault/reports/``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.hashing import hash_file
from app.core.base.mapfile import save_atomic
from app.core.base.units import human_bytes
from app.core.library import history
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library, LibraryError
from app.core.library.lock import LibraryBusy, ProcessLock
from app.core.library.records import ALGORITHMS, DiscRecord, Event, now_iso
from app.core.library.shelf import changed, ingest

RUN_SCHEMA = "discvault.library-verify-run/1"
REPORT_SCHEMA = "discvault.library-verify/1"
# Worst first: the run's verdict is the worst disc's.
OUTCOMES = ("good", "nohashes", "missing", "unreadable", "changed")
WORDS = {
    "good": "all stored checksums match",
    "changed": "CHANGED ON STORAGE: the image no longer matches its checksums",
    "missing": "the image is missing",
    "unreadable": "the image cannot be read from storage",
    "nohashes": "no stored checksums to compare with",
}


class VerifyBusy(LibraryError):
    """Another library verify run is going on."""


@dataclass
class DiscVerdict:
    folder: str
    label: str
    outcome: str
    summary: str
    mismatched: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


@dataclass
class RunResult:
    run: str
    started: str
    finished: str = ""
    discs: list[DiscVerdict] = field(default_factory=list)
    resumed: int = 0  # discs already done by an earlier, interrupted part of this run
    cancelled: bool = False
    report_path: str = ""
    problems: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.discs if d.outcome == outcome)

    @property
    def worst(self) -> str:
        return max((d.outcome for d in self.discs), key=OUTCOMES.index, default="good")


def rehash(
    lib: Library,
    rec: DiscRecord,
    on_bytes: Callable[[int], None] | None = None,
    cancel: CancelToken | None = None,
) -> tuple[DiscVerdict, dict[str, str]]:
    """Hash one disc's image and compare with what the catalogue stores."""
    token = cancel or CancelToken()
    image = os.path.join(lib.path(rec.folder), rec.image)
    t0 = time.monotonic()
    expected = rec.hashes
    got: dict[str, str] = {}
    mismatched: list[str] = []
    try:
        size = os.path.getsize(image)
        hashes = hash_file(image, on_bytes=on_bytes, should_stop=lambda: token.cancelled)
        if hashes is None:
            raise Cancelled(token.reason)
        got = hashes
    except FileNotFoundError:
        outcome, summary, size = "missing", f"{image} is missing", 0
    except OSError as e:
        outcome = "unreadable"
        summary = f"cannot read {image}: {e.strerror or e}"
        size = 0
    else:
        mismatched = [a for a in ALGORITHMS if a in expected and got.get(a) != expected[a]]
        if size != rec.image_bytes and rec.image_bytes:
            mismatched.append("size")
        if mismatched:
            outcome = "changed"
            summary = f"{WORDS['changed']} ({', '.join(mismatched)} differ)"
        elif not expected:
            outcome, summary = "nohashes", WORDS["nohashes"]
        else:
            outcome = "good"
            summary = f"{WORDS['good']} ({', '.join(a for a in ALGORITHMS if a in expected)})"
    verdict = DiscVerdict(
        rec.folder, rec.label, outcome, summary, mismatched, size, time.monotonic() - t0
    )
    return verdict, got


def record(
    lib: Library, cat: Catalogue, verdict: DiscVerdict, got: dict[str, str], run: str
) -> Event:
    """Store one disc's result: its folder's history first, then the catalogue."""
    doc: dict[str, object] = {
        "source": "library",
        "run": run,
        "hashes": got,
        "mismatched": verdict.mismatched,
        "bytes": verdict.bytes,
        "seconds": round(verdict.seconds, 3),
    }
    ev = Event("verify", now_iso(), verdict.outcome, verdict.summary, doc, "")
    try:
        ev = history.write(lib.path(verdict.folder), ev)
    except OSError as e:  # still worth having in the catalogue; a rebuild will not know it
        verdict.summary += f" (not saved in the disc folder: {e.strerror})"
    cat.add_event(verdict.folder, ev)
    return ev


def verify_disc(
    lib: Library,
    cat: Catalogue,
    folder: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> DiscVerdict:
    """Re-verify one disc now (the GUI's Re-verify): refresh it if its folder changed, hash,
    record."""
    rec = cat.disc(folder)
    if rec is None:
        raise LibraryError(f"{folder} is not in the catalogue")
    if changed(lib, rec):
        rec = ingest(cat, lib, folder, cancel)
    run = f"single-{time.strftime('%Y%m%dT%H%M%S')}"
    total = max(rec.image_bytes, 1)
    t0 = time.monotonic()

    def on_bytes(n: int) -> None:
        rate = n / max(time.monotonic() - t0, 1e-6)
        eta = (total - n) / rate if rate else None
        progress(Progress("verify", 1, 1, n, total, n, 0, 0, rate, eta, rec.label))

    verdict, got = rehash(lib, rec, on_bytes, cancel)
    record(lib, cat, verdict, got, run)
    return verdict


class _Run:
    """The state file of a run: which discs, and the verdicts so far."""

    def __init__(self, lib: Library) -> None:
        self.path = os.path.join(lib.state_dir, "verify-run.json")

    def load(self) -> tuple[RunResult, list[str]] | None:
        try:
            with open(self.path, encoding="utf-8") as f:
                doc = json.load(f)
            if doc.get("schema") != RUN_SCHEMA:
                return None
            res = RunResult(str(doc["run"]), str(doc["started"]))
            res.discs = [DiscVerdict(**d) for d in doc["done"]]
            return res, [str(f) for f in doc["folders"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, res: RunResult, folders: list[str]) -> None:
        doc = {
            "schema": RUN_SCHEMA,
            "run": res.run,
            "started": res.started,
            "folders": folders,
            "done": [asdict(d) for d in res.discs],
        }
        save_atomic(self.path, json.dumps(doc, indent=1, ensure_ascii=True) + "\n")

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def verify_library(
    lib: Library,
    folders: list[str] | None = None,
    *,
    restart: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RunResult:
    """Re-hash every disc (or ``folders``), resuming an interrupted run unless ``restart``."""
    token = cancel or CancelToken()
    lock = ProcessLock(os.path.join(lib.state_dir, "verify.lock"), "library verify")
    try:
        lock.acquire(timeout=0)
    except LibraryBusy as e:
        raise VerifyBusy(
            f"a library verify is already running ({e}) — wait for it, or stop it first"
        ) from e
    try:
        with Catalogue(lib, what="library verify") as cat:
            return _verify(lib, cat, folders, restart, progress, token)
    finally:
        lock.release()


def _verify(
    lib: Library,
    cat: Catalogue,
    folders: list[str] | None,
    restart: bool,
    progress: ProgressCallback,
    token: CancelToken,
) -> RunResult:
    state = _Run(lib)
    loaded = None if restart else state.load()
    if loaded is not None and (folders is None or set(folders) <= set(loaded[1])):
        res, todo = loaded
        res.resumed = len(res.discs)
    else:
        known = [d.folder for d in cat.discs()]
        todo = known if folders is None else [f for f in folders if f in known]
        res = RunResult(time.strftime("%Y%m%dT%H%M%S"), now_iso())
        state.save(res, todo)
    done = {d.folder for d in res.discs}
    pending = [f for f in todo if f not in done]
    recs = {d.folder: d for d in cat.discs()}
    total = sum(recs[f].image_bytes for f in pending if f in recs) or 1
    base = 0
    t0 = time.monotonic()
    for i, folder in enumerate(pending):
        rec = recs.get(folder)
        if rec is None:  # dropped from the catalogue since the run began
            continue
        if changed(lib, rec):  # resumed or replaced since the catalogue read it
            rec = ingest(cat, lib, folder, token)
        label = f"{rec.label} ({i + 1 + len(done)} of {len(todo)})"

        def on_bytes(n: int, base: int = base, label: str = label) -> None:
            at = base + n
            rate = at / max(time.monotonic() - t0, 1e-6)
            eta = (total - at) / rate if rate else None
            progress(Progress("verify", 1, 1, at, total, at, 0, 0, rate, eta, label))

        try:
            verdict, got = rehash(lib, rec, on_bytes, token)
        except Cancelled:
            res.cancelled = True
            return res
        record(lib, cat, verdict, got, res.run)
        res.discs.append(verdict)
        state.save(res, todo)
        base += rec.image_bytes
    res.finished = now_iso()
    res.report_path = _write_report(lib, res)
    state.clear()
    return res


def _write_report(lib: Library, res: RunResult) -> str:
    os.makedirs(lib.reports_dir, exist_ok=True)
    path = os.path.join(lib.reports_dir, f"verify-{res.run}.json")
    doc = {
        "schema": REPORT_SCHEMA,
        "library": lib.root,
        "run": res.run,
        "started": res.started,
        "finished": res.finished,
        "outcome": res.worst,
        "counts": {o: res.count(o) for o in OUTCOMES},
        "bytes": sum(d.bytes for d in res.discs),
        "discs": [asdict(d) for d in res.discs],
    }
    try:
        save_atomic(path, json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
    except OSError as e:
        if e.errno == errno.ENOSPC:
            res.problems.append("the run report was not written: the disk is full")
        else:
            res.problems.append(f"the run report was not written: {e.strerror}")
        return ""
    return path


def summary(res: RunResult) -> str:
    n = len(res.discs)
    head = (
        f"Verified {n} disc{'s' if n != 1 else ''}, {human_bytes(sum(d.bytes for d in res.discs))}"
    )
    parts = [f"{res.count(o)} {o}" for o in reversed(OUTCOMES) if res.count(o)]
    return head + (": " + ", ".join(parts) if parts else "")
