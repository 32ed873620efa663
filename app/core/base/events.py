"""Progress events and the cancel token shared by every long-running core job.

Core jobs are plain functions taking a ``ProgressCallback`` and a ``CancelToken``; the CLI and the
GUI adapters (``app/gui/workers.py``) only translate these, so no job knows who is watching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


class Cancelled(Exception):
    """Raised inside a job when its token was cancelled; the job saves its state first."""


class FinishEarly(Exception):
    """Raised inside a job asked to finish now: stop reading, then wrap up as usual (the rescue
    keeps what it has, computes its checksums and says what stays unread)."""


class CancelToken:
    """Thread-safe cancel (and pause) flag; cancel is safe from a signal handler.

    ``finish()`` is gentler than ``cancel()``: a rescue stops retrying and finishes normally,
    with what it has (the user's "Finish now")."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._finish = threading.Event()
        self.reason = ""

    def finish(self, reason: str = "finished early at your request") -> None:
        self.reason = reason
        self._finish.set()
        self._running.set()  # a paused job must wake up to finish

    @property
    def finishing(self) -> bool:
        return self._finish.is_set()

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()
        self._running.set()  # a paused job must wake up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> None:
        self._running.wait()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled(self.reason)


@dataclass(frozen=True)
class Progress:
    """One snapshot of a job. Sizes are in bytes, rates in bytes per second.

    Only what was measured: ``bad`` counts sectors that stayed unreadable after being read
    sector by sector; sectors that merely failed inside a big read and wait for a closer look
    are ``pending``, and unreadable sectors that are not data (run-out, session gaps) are
    ``not_data``, never part of ``bad``.
    """

    phase: str  # "copy", "trim", "scrape", "retry", "hash", "verify", ...
    pass_no: int  # 1-based pass within the whole job
    pass_count: int  # planned passes (may shrink when a retry pass recovers nothing)
    position: int  # byte offset being read now
    total: int  # bytes in the job's domain
    done: int  # bytes settled (rescued, or verified)
    bad: int  # bytes known unreadable so far (after a sector-by-sector read)
    bad_areas: int
    rate: float  # recent read rate
    eta_seconds: float | None
    message: str = ""
    extra: dict[str, object] = field(default_factory=dict)
    pending: int = 0  # bytes that failed inside a larger read, not yet read one by one
    not_data: int = 0  # unreadable bytes that are not data (run-out, session gaps)
    medium: str | None = None  # "CD", "DVD", "BD" for a real drive; None: file, device, demo
    paused: bool = False
    phase_label: str = ""  # what the phase is doing, in the user's words, when it has one

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """Default callback for callers that do not watch."""
