"""Write-behind: file writes on a thread of their own, so the next read overlaps this write.

The caller hands over ``(lba, data)``; a worker thread calls ``write(lba, data)`` (the caller's
own function, with its own error handling) and reports the LBA range as done. The caller marks
sectors finished only for ranges reported done: the crash-safety rule ("finished only after
written") holds. Memory is bounded by ``depth`` chunks in flight.

Written pages are also pushed towards the disk as they go (``POSIX_FADV_DONTNEED`` starts
writeback of a range and drops its pages from the cache once clean): otherwise a few GiB stay
dirty until the next ``fdatasync``, which then waits for all of them at once.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable

_STOP = None
FLUSH_EVERY = 32 << 20  # bytes written between two pushes towards the disk


class WriteBehind:
    def __init__(
        self, fd: int, sector: int, write: Callable[[int, bytes], None], depth: int = 8
    ) -> None:
        self.fd = fd
        self.sector = sector
        self._write = write
        self._todo: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=depth)
        self._done: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._unflushed = (0, 0)  # byte range written since the last push towards the disk
        self._thread = threading.Thread(target=self._run, name="write-behind", daemon=True)
        self._thread.start()

    def put(self, lba: int, data: bytes) -> None:
        """Queue a write (blocks while ``depth`` writes are in flight)."""
        self._raise()
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._todo.put((lba, data))

    def done(self) -> list[tuple[int, int]]:
        """``(lba, count)`` of the writes finished since the last call; the worker's error
        (raised once)."""
        self._raise()
        with self._lock:
            out, self._done = self._done, []
        return out

    def drain(self) -> list[tuple[int, int]]:
        """Wait for every queued write; then as ``done``."""
        self._idle.wait()
        return self.done()

    def close(self) -> None:
        self._todo.put(_STOP)
        self._thread.join()

    def _raise(self) -> None:
        with self._lock:
            err, self._error = self._error, None
        if err is not None:
            raise err

    def _run(self) -> None:
        while (item := self._todo.get()) is not _STOP:
            lba, data = item
            try:
                if self._error is None:  # after a failure nothing more is written
                    self._write(lba, data)
                    with self._lock:
                        self._done.append((lba, len(data) // self.sector))
                    self._push(lba * self.sector, len(data))
            except BaseException as e:  # handed to the caller by done()/drain()
                with self._lock:
                    self._error = e
            finally:
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.set()

    def _push(self, off: int, n: int) -> None:
        lo, hi = self._unflushed
        if hi != off:
            lo = off
        hi = off + n
        if hi - lo >= FLUSH_EVERY:
            with contextlib.suppress(AttributeError, OSError):  # not on Windows/macOS
                os.posix_fadvise(self.fd, lo, hi - lo, os.POSIX_FADV_DONTNEED)
            lo = hi
        self._unflushed = (lo, hi)
