"""Unattended backup and a full library disk: pause every drive, once, and go on by itself.

When a backup finds the library's disk full, every drive pauses: running backups pause in
place (their mapfile saved, their disc still locked in), no drive starts another disc, and one
message says how much room to make. A watcher asks the disk for its free space every ``poll``
seconds and lets everything go on once there is enough. Work the full disk held back (a report,
a catalogue entry) is done then; work held back for another reason (the catalogue busy with a
rebuild in another process) is tried again now and then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.core.base.events import CancelToken
from app.core.base.units import human_bytes
from app.core.library.autojob import free_bytes
from app.core.library.autolog import AutoEvent
from app.core.library.catalogue import CatalogueError
from app.core.library.folder import Library, LibraryError

LATER_EVERY = 30.0  # seconds between tries of held-back work while nothing else happens


class Room:
    def __init__(
        self,
        lib: Library,
        emit: Callable[[AutoEvent], None],
        tokens: Callable[[], list[CancelToken]],
    ) -> None:
        self.lib = lib
        self.emit = emit
        self.tokens = tokens  # the running jobs' tokens, asked for at the moment of pausing
        self._lock = threading.Lock()
        self._need = 0  # bytes the disk must have free before the run goes on (0: not full)
        self._later: list[tuple[str, Callable[[], None]]] = []
        self._later_at = 0.0

    @property
    def full(self) -> bool:
        with self._lock:
            return self._need > 0

    def pause_all(self, need: int, why: str) -> None:
        with self._lock:
            first = self._need == 0
            self._need = max(self._need, need)
        for t in self.tokens():
            t.pause()
        if not first:
            return  # one message for the whole pause, however many drives run into it
        free = free_bytes(self.lib.root) or 0
        self.emit(
            AutoEvent(
                "paused",
                f"the library's disk is full ({human_bytes(free)} free in {self.lib.root}): "
                f"every drive is paused — free at least {human_bytes(need)} there; auto goes "
                "on by itself when there is room",
                details={"need": need, "free": free, "why": why},
            )
        )

    def watch(self, stop: threading.Event, poll: float) -> None:
        """Until ``stop``: lift the pause when the disk has room; retry held-back work."""
        while not stop.wait(poll):
            with self._lock:
                need = self._need
            if need:
                free = free_bytes(self.lib.root)
                if free is None or free < need:
                    continue
                with self._lock:
                    self._need = 0
                for t in self.tokens():
                    t.resume()
                self.emit(
                    AutoEvent("resumed", "the library's disk has room again: every drive goes on")
                )
                self.retry()
                continue
            with self._lock:
                due = bool(self._later) and time.monotonic() - self._later_at >= LATER_EVERY
            if due:
                self.retry()

    def later(self, what: str, task: Callable[[], None]) -> None:
        """Work that failed for now: tried again when the disk has room, after each disc, and
        every LATER_EVERY seconds."""
        with self._lock:
            self._later.append((what, task))

    def retry(self) -> None:
        with self._lock:
            if self._need:
                return  # the disk is still full: it would only fail again
            todo, self._later = self._later, []
            self._later_at = time.monotonic()
        for what, task in todo:
            try:
                task()
            except (CatalogueError, LibraryError, OSError) as e:
                with self._lock:
                    self._later.append((what, task))
                self.emit(AutoEvent("problem", f"still not done: {what} ({e})"))
            else:
                self.emit(AutoEvent("note", f"done now: {what}"))
