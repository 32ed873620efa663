"""Run core jobs off the GUI thread: a QObject adapter in a QThread, one job per resource.

The core job is a plain function taking (progress callback, cancel token). The adapter re-emits
progress as a queued signal, throttled so a fast job cannot flood the event loop, and maps
Cancel/Pause to the token. A resource (a drive, an image) runs one job at a time.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.base.events import CancelToken, Progress

CoreJob = Callable[[Callable[[Progress], None], CancelToken], object]


class _Adapter(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: CoreJob, token: CancelToken, min_interval: float) -> None:
        super().__init__()
        self.fn = fn
        self.token = token
        self.min_interval = min_interval
        self._last = 0.0
        self._key: tuple[str, int, str, bool] = ("", -1, "", False)

    def _on_progress(self, p: Progress) -> None:
        # A phase change, a new message or a pause always gets through; a message repeated
        # with every tick ("computing checksums…") is throttled like any other tick.
        now = time.monotonic()
        key = (p.phase, p.pass_no, p.message, p.paused)
        if key != self._key or now - self._last >= self.min_interval:
            self._last, self._key = now, key
            self.progress.emit(p)

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self._on_progress, self.token)
        except Exception as e:  # shown to the user; the traceback goes to the log
            self.failed.emit(f"{e}\n\n{traceback.format_exc()}" if not str(e) else str(e))
        else:
            self.finished.emit(result)
        finally:
            # End the thread from here: a GUI thread waiting in QThread.wait() (closing the
            # window) cannot run a queued quit().
            thread = self.thread()
            if thread is not None:
                thread.quit()


class Job(QObject):
    """One core job on its own thread. Signals arrive on the thread that created the Job."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    done = Signal()  # after finished/failed, when the thread has ended

    def __init__(
        self,
        fn: CoreJob,
        resource: str = "",
        min_interval: float = 0.05,
        parent: QObject | None = None,
        what: str = "",
    ) -> None:
        super().__init__(parent)
        self.resource = resource
        self.what = what or resource  # names the resource in a "busy" message
        self.token = CancelToken()
        self._thread = QThread()
        self.adapter = _Adapter(fn, self.token, min_interval)
        self.adapter.moveToThread(self._thread)
        self._thread.started.connect(self.adapter.run)
        self.adapter.progress.connect(self.progress)
        self.adapter.finished.connect(self._finish)
        self.adapter.failed.connect(self._fail)
        self._thread.finished.connect(self.done)
        # The core function has returned (finished or failed were emitted): the resource is
        # free, though the thread may take a moment more to end. A second job on it that the
        # result's slot starts at once (create the same image again) is not "busy".
        self.ended = False

    def start(self) -> None:
        self._thread.start()

    def _finish(self, result: object) -> None:
        self.ended = True
        self.finished.emit(result)

    def _fail(self, message: str) -> None:
        self.ended = True
        self.failed.emit(message)

    def cancel(self) -> None:
        self.token.cancel("cancelled by the user")

    def finish(self) -> None:
        """Finish now: a rescue stops reading, keeps the mapfile, computes its checksums and
        says what stays unread (gentler than cancel)."""
        self.token.finish()

    def pause(self, on: bool) -> None:
        self.token.pause() if on else self.token.resume()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)


class BusyError(Exception):
    """A second job on a resource that already has one."""


class JobQueue:
    """At most one running job per resource (a drive is never read by two jobs at once).

    A second job on a busy resource is refused with ``BusyError`` (callers show its message),
    or, with ``queue=True``, waits and starts when the resource is free.
    """

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.waiting: dict[str, list[Job]] = {}

    def busy(self, resource: str) -> bool:
        current = self.jobs.get(resource)
        return current is not None and current.is_running() and not current.ended

    def start(self, job: Job, queue: bool = False) -> Job:
        if self.busy(job.resource):
            if queue:
                self.waiting.setdefault(job.resource, []).append(job)
                return job
            raise BusyError(f"{job.what} is busy with another job — wait for it or cancel it")
        self.jobs[job.resource] = job
        job.done.connect(lambda: self._forget(job))
        job.start()
        return job

    def _forget(self, job: Job) -> None:
        if self.jobs.get(job.resource) is job:
            del self.jobs[job.resource]
        queued = self.waiting.get(job.resource)
        if queued:
            nxt = queued.pop(0)
            if not queued:
                del self.waiting[job.resource]
            self.start(nxt, queue=True)

    def running(self) -> list[Job]:
        return [j for j in self.jobs.values() if j.is_running()]

    def cancel_all(self, wait_ms: int = 30_000) -> bool:
        self.waiting.clear()
        jobs = self.running()
        for j in jobs:
            j.cancel()
        return all(j.wait(wait_ms) for j in jobs)
