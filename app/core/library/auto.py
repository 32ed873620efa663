"""Unattended backup: one worker per drive, each backing up whatever disc is put in.

A worker waits for a disc (it asks the drive for its state every ``poll`` seconds: one status
query, never a read), gives the disc its turn (``autojob.DiscJob``), ejects it when asked, and
waits for the next one. "Next" is what makes disc changers and autoloaders work: after an
eject the tray has opened (the platform layer checks), so the next disc the drive reports is a
new one, whether a person or a loader put it there. Without ``eject`` the worker waits until the
disc is taken out (the drive stops reporting it) before it takes another.

Failures never stall the run: every turn ends with a "done" event and the worker goes on. One
failure stops everything for a while: the library's disk filling up. Then every drive pauses
(running backups pause in place, mapfile saved, tray still locked), one message says so, and the
run goes on by itself once the disk has room again.

A drive is never read by two jobs: one worker per drive (its path made canonical), a lock file
per drive across processes, and two copies of one disc in two drives never go into one folder
at once (the second waits for the first, then finds it known).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.core.base.events import Cancelled, CancelToken, Progress
from app.core.base.units import duration, human_bytes
from app.core.disc.sources import SectorSource, SourceError, SourceGone
from app.core.library.autojob import AutoOptions, DiscJob, JobResult
from app.core.library.autolog import AutoEvent, Journal, Listener
from app.core.library.autoroom import Room
from app.core.library.catalogue import Catalogue, CatalogueError
from app.core.library.folder import Library, LibraryError
from app.core.library.lock import LibraryBusy, ProcessLock

__all__ = ["AutoError", "AutoOptions", "AutoRunner", "DriveStatus", "Platform"]

OPEN_TRIES = 10  # a drive that just closed its tray may say "no medium" for a few seconds
RECENT = 5  # discs a drive's status remembers


class AutoError(Exception):
    """Auto cannot start (a drive in use elsewhere, a damaged catalogue); one line."""


@dataclass
class Platform:
    """The drive layer, as auto uses it (``app.platform`` in the CLI and the app)."""

    open_source: Callable[[str], SectorSource]
    drive_state: Callable[[str], str]  # disc_ok, no_disc, tray_open, not_ready, unknown
    eject: Callable[[str], None]


@dataclass
class DriveStatus:
    """What a drive is doing, for a queue view."""

    path: str
    doing: str = "starting"  # in words: "waiting for a disc", "backing up HOLIDAY", …
    label: str = ""
    progress: Progress | None = None
    recent: deque[AutoEvent] = field(default_factory=lambda: deque(maxlen=RECENT))


class _Worker:
    def __init__(self, path: str, lock: ProcessLock) -> None:
        self.path = path
        self.lock = lock
        self.stop = threading.Event()
        self.token: CancelToken | None = None
        self.thread: threading.Thread | None = None
        self.status = DriveStatus(path)
        self.last_progress = 0.0
        self.ended = False  # its thread has decided to end (set under the runner's lock)


class AutoRunner:
    def __init__(
        self,
        lib: Library,
        options: AutoOptions,
        platform: Platform,
        listener: Listener = lambda ev: None,
    ) -> None:
        self.lib = lib
        self.options = options
        self.platform = platform
        self.listener = listener
        self.journal = Journal(lib)
        self._lock = threading.RLock()
        self._writing = threading.Lock()  # one catalogue writer in this process at a time
        self._claims: dict[str, str] = {}
        self._claimed = threading.Condition(self._lock)
        self._workers: dict[str, _Worker] = {}
        self._stop = threading.Event()
        self.room = Room(lib, self.emit, self._tokens)
        self._started = 0  # discs whose turn began (for max_discs)
        self._busy = 0  # turns running now
        self.results: list[JobResult] = []
        self._running = True  # add_drive starts its worker at once (after start())
        self._monitor: threading.Thread | None = None

    # ---- life -------------------------------------------------------------------------------
    def open(self) -> None:
        """Make the library and its catalogue if needed; ``AutoError`` when it cannot be used."""
        try:
            self.lib.ensure()
            with Catalogue(self.lib, create=True, what="discvault auto"):
                pass
        except (CatalogueError, LibraryError) as e:
            raise AutoError(str(e)) from e

    def start(self, drives: list[str]) -> None:
        self.open()
        self._running = False  # workers wait for the "started" line to be out
        for path in drives:
            self.add_drive(path)
        self.emit(
            AutoEvent(
                "started",
                (f"watching {', '.join(self._workers)} for discs" if drives else "auto is on")
                + f"; library {self.lib.root}"
                + (" (verify" if self.options.verify else " (no verify")
                + (", eject)" if self.options.eject else ", no eject)"),
            )
        )
        with self._lock:
            self._running = True
            workers = list(self._workers.values())
        for w in workers:
            self._launch(w)
        self._monitor = threading.Thread(
            target=self.room.watch, args=(self._stop, self.options.poll), daemon=True
        )
        self._monitor.start()

    def add_drive(self, path: str) -> None:
        """Start a worker for ``path`` (the same drive twice is one worker; a drive switched
        off whose worker is still finishing a disc just stays on); ``AutoError`` when another
        DiscVault process already watches it."""
        key = os.path.realpath(path)
        stale = None
        with self._lock:
            w = next((w for p, w in self._workers.items() if os.path.realpath(p) == key), None)
            if w is not None and not w.ended:
                w.stop.clear()  # under the lock its thread decides to end: never two workers
                return
            if w is not None:
                stale = self._workers.pop(w.path)
        if stale is not None:
            stale.lock.release()
        lock = ProcessLock(drive_lock_path(key), "discvault auto")
        try:
            lock.acquire(timeout=0)
        except LibraryBusy as e:
            raise AutoError(
                f"{path} is already watched by another discvault auto ({e}) — stop that one first"
            ) from e
        except OSError as e:
            raise AutoError(f"cannot lock {path} for this run: {e.strerror}") from e
        w = _Worker(path, lock)
        with self._lock:
            self._workers[path] = w
            running = self._running
        if running:
            self._launch(w)

    def _launch(self, w: _Worker) -> None:
        w.thread = threading.Thread(target=self._run_worker, args=(w,), name=f"auto {w.path}")
        w.thread.start()

    def remove_drive(self, path: str, cancel: bool = False) -> None:
        """Stop watching ``path`` after its current disc (or now, with ``cancel``: the backup
        stops with its mapfile saved and resumes at the next insert)."""
        with self._lock:
            w = self._workers.get(path)
        if w is None:
            return
        w.stop.set()
        if cancel and w.token is not None:
            w.token.cancel("auto was switched off for this drive")

    def stop(self, reason: str = "stopped") -> None:
        """Stop every worker now: running backups save their mapfiles and end as cancelled."""
        self._stop.set()
        with self._lock:
            workers = list(self._workers.values())
            self._claimed.notify_all()
        for w in workers:
            w.stop.set()
            if w.token is not None:
                w.token.cancel(reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to end; True when all have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            threads = [w.thread for w in self._workers.values() if w.thread is not None]
        for t in threads:
            t.join(None if deadline is None else max(deadline - time.monotonic(), 0))
            if t.is_alive():
                return False
        return True

    def close(self) -> None:
        self.stop()
        self.wait()
        with self._lock:
            for w in self._workers.values():
                w.lock.release()
            began = self._monitor is not None
        if began:
            self.emit(AutoEvent("stopped", f"stopped after {len(self.results)} disc(s)"))

    @property
    def finished(self) -> bool:
        with self._lock:
            return all(w.thread is None or not w.thread.is_alive() for w in self._workers.values())

    def status(self) -> list[DriveStatus]:
        with self._lock:
            return [w.status for w in self._workers.values()]

    # ---- events -----------------------------------------------------------------------------
    def emit(self, ev: AutoEvent) -> None:
        self.journal.write(ev)
        with self._lock:
            w = self._workers.get(ev.drive)
            if w is not None and ev.kind == "done":
                w.status.recent.append(ev)
        with contextlib.suppress(Exception):  # a listener's trouble must not end a worker
            self.listener(ev)

    def progress(self, drive: str, label: str, p: Progress) -> None:
        with self._lock:
            w = self._workers.get(drive)
        if w is None:
            return
        w.status.progress = p
        now = time.monotonic()
        if now - w.last_progress < self.options.progress_every or p.phase == "done":
            return
        w.last_progress = now
        words = [f"{p.phase_label or p.phase} {100 * p.fraction:.0f}%"]
        if p.rate:
            words.append(f"{human_bytes(p.rate)}/s")
        if p.eta_seconds is not None:
            words.append(f"{duration(p.eta_seconds)} left")
        if p.bad:
            words.append(f"{human_bytes(p.bad)} unreadable so far")
        if p.paused:
            words.append("paused")
        self.emit(
            AutoEvent(
                "progress",
                f"{label}: {', '.join(words)}",
                drive,
                label=label,
                fraction=round(p.fraction, 4),
                details={"done": p.done, "total": p.total, "bad": p.bad, "phase": p.phase},
            )
        )

    # ---- what jobs share --------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._writing:
            yield

    @contextlib.contextmanager
    def claim(self, key: str, drive: str, token: CancelToken) -> Iterator[None]:
        """The disc ``key`` is this drive's until the block ends: a copy of the same disc in
        another drive waits, then finds it in the catalogue."""
        told = False
        with self._lock:
            while self._claims.get(key, drive) != drive:
                if token.cancelled or self._stop.is_set():
                    raise Cancelled("stopped")
                if not told:
                    told = True
                    other = self._claims[key]
                    self.emit(
                        AutoEvent(
                            "waiting",
                            f"the same disc is being read in {other}: waiting for it to finish",
                            drive,
                        )
                    )
                self._claimed.wait(0.5)
            self._claims[key] = drive
        try:
            yield
        finally:
            with self._lock:
                self._claims.pop(key, None)
                self._claimed.notify_all()

    def later(self, what: str, task: Callable[[], None]) -> None:
        self.room.later(what, task)

    def _tokens(self) -> list[CancelToken]:
        with self._lock:
            return [w.token for w in self._workers.values() if w.token is not None]

    def _wait_room(self, w: _Worker) -> bool:
        while not w.stop.is_set():
            if not self.room.full:
                return True
            w.stop.wait(self.options.poll)
        return False

    # ---- one drive --------------------------------------------------------------------------
    def _run_worker(self, w: _Worker) -> None:
        try:
            while True:
                self._loop(w)
                with self._lock:  # add_drive may have switched the drive on again meanwhile
                    if w.stop.is_set() or self._stop.is_set():
                        w.ended = True
                        break
        finally:
            with self._lock:
                w.ended = True
            w.status.doing = "stopped"
            with self._lock:
                idle = self._busy == 0 and self._quota_used()
            if idle:
                self.stop("every disc asked for is done")

    def _quota_used(self) -> bool:
        m = self.options.max_discs
        return m is not None and self._started >= m

    def _loop(self, w: _Worker) -> None:
        waiting_said = False
        if self._state(w) == "unknown":
            self.emit(
                AutoEvent(
                    "problem",
                    "the drive does not say whether it holds a disc — check that you may open "
                    "it (Linux: the 'cdrom' group); auto keeps asking",
                    w.path,
                )
            )
        while not w.stop.is_set():
            state = self._state(w)
            if state != "disc_ok":
                if not waiting_said:
                    waiting_said = True
                    w.status.doing = "waiting for a disc"
                    self.emit(AutoEvent("waiting", "waiting for a disc", w.path))
                w.stop.wait(self.options.poll)
                continue
            if not self._wait_room(w):
                return
            with self._lock:
                if self._quota_used():
                    w.stop.set()
                    return
                self._started += 1
                self._busy += 1
            try:
                result = self._turn(w)
            finally:
                with self._lock:
                    self._busy -= 1
            waiting_said = False
            if result.outcome == "cancelled" and w.stop.is_set():
                return  # stopped: the disc stays in, and resumes at the next start
            self.room.retry()
            if self._quota_used():
                with self._lock:
                    if self._busy == 0:
                        self.stop("every disc asked for is done")
            ejected = self._eject(w) if self.options.eject else False
            if not ejected:
                self._wait_gone(w)

    def _state(self, w: _Worker) -> str:
        try:
            return self.platform.drive_state(w.path)
        except OSError:
            return "unknown"

    def _turn(self, w: _Worker) -> JobResult:
        self.emit(AutoEvent("inserted", "a disc is in: identifying it", w.path))
        w.status.doing, w.status.label, w.status.progress = "identifying a disc", "", None
        token = CancelToken()
        w.last_progress = time.monotonic()  # the first progress line after progress_every
        with self._lock:
            w.token = token
        if self.room.full:  # after registering: a pause from now on reaches this token too
            token.pause()
        try:
            result = self._identify_and_read(w, token)
        except Exception as e:  # a worker must outlive any one disc
            result = JobResult("error", f"unexpected problem: {type(e).__name__}: {e}")
        finally:
            with self._lock:
                w.token = None
        with self._lock:
            self.results.append(result)
        w.status.label = result.label
        w.status.doing = f"done: {result.outcome.replace('_', ' ')}"
        self.emit(
            AutoEvent(
                "done",
                _done_words(result),
                w.path,
                label=result.label,
                folder=result.folder,
                outcome=result.outcome,
                identity=result.identity,
            )
        )
        if result.need_room:
            self.room.pause_all(result.need_room, result.message)
        return result

    def _identify_and_read(self, w: _Worker, token: CancelToken) -> JobResult:
        """A drive may still answer "medium changed" to the first reads after a disc went in
        (SCSI unit attention): a disc that "went away" before it was even identified, while
        the drive still reports it, is given a second try."""
        for attempt in (1, 2):
            src = self._open(w)
            if isinstance(src, JobResult):
                return src
            w.status.doing = "reading"
            result = DiscJob(self, w.path, token).run(src)
            early_gone = result.outcome == "source_gone" and not result.identity
            if not (early_gone and attempt == 1 and self._state(w) == "disc_ok"):
                return result
        return result

    def _open(self, w: _Worker) -> SectorSource | JobResult:
        """Open the drive; a drive that just closed its tray may need a few seconds."""
        last = ""
        for _ in range(OPEN_TRIES):
            try:
                return self.platform.open_source(w.path)
            except SourceGone as e:
                last = str(e)
            except SourceError as e:
                return JobResult("unreadable", str(e))
            if w.stop.wait(1.0):
                return JobResult("cancelled", "stopped before the disc was read")
        return JobResult("unreadable", f"the disc does not become readable ({last})")

    def _eject(self, w: _Worker) -> bool:
        try:
            self.platform.eject(w.path)
        except OSError as e:
            self.emit(
                AutoEvent(
                    "eject_failed",
                    f"could not eject ({e}) — take the disc out to go on",
                    w.path,
                )
            )
            return False
        self.emit(AutoEvent("ejected", "ejected: waiting for the next disc", w.path))
        return True

    def _wait_gone(self, w: _Worker) -> None:
        w.status.doing = "done: take the disc out"
        said = False
        while not w.stop.is_set() and self._state(w) == "disc_ok":
            if not said:
                said = True
                self.emit(AutoEvent("waiting", "take the disc out for the next one", w.path))
            w.stop.wait(self.options.poll)


def _done_words(r: JobResult) -> str:
    head = f"'{r.label}': " if r.label else ""
    return head + r.message


def drive_lock_path(real_path: str) -> str:
    """Across processes and libraries: one lock file per drive in the temp folder."""
    name = real_path.strip("/\\:").replace("/", "_").replace("\\", "_").replace(":", "")
    return os.path.join(tempfile.gettempdir(), f"discvault-auto-{name or 'drive'}.lock")
