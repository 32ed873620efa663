"""One writer at a time across processes, with a message that says who holds the library.

SQLite already keeps the catalogue consistent, but a rebuild replaces everything in one long
transaction and a library verify runs for hours: another process must be told, in words, that
someone else is writing ("library rebuild, pid 4711, since 12:03"), not fail on "database is
locked". The lock is an OS file lock, so a process killed with -9 releases it with its last
file descriptor: there is never a stale lock to clean up by hand.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]


class LibraryBusy(Exception):
    """Another DiscVault process holds the lock; the message names it."""


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        return True
    if msvcrt is not None:  # pragma: no cover - Windows
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    return True  # pragma: no cover - no locking primitive at all


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    elif msvcrt is not None:  # pragma: no cover - Windows
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


class ProcessLock:
    """An exclusive lock on ``path``; re-entrant within one object (nested writes)."""

    def __init__(self, path: str, what: str) -> None:
        self.path = path
        self.what = what
        self._fd = -1
        self._depth = 0

    @property
    def info_path(self) -> str:
        # Who holds it lives in a second file: on Windows the locked byte cannot be read.
        return self.path + ".holder"

    def acquire(self, timeout: float = 10.0) -> None:
        if self._depth:
            self._depth += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        deadline = time.monotonic() + timeout
        try:
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise LibraryBusy(self.holder())
                time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._depth = 1
        doc = {"pid": os.getpid(), "what": self.what, "since": time.strftime("%H:%M:%S")}
        with contextlib.suppress(OSError), open(self.info_path, "w", encoding="utf-8") as f:
            json.dump(doc, f)

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        with contextlib.suppress(OSError):
            _unlock(self._fd)
        os.close(self._fd)
        self._fd = -1

    @property
    def held(self) -> bool:
        return self._depth > 0

    def holder(self) -> str:
        """Who holds the lock now, in words (best effort: the note may be half written)."""
        try:
            with open(self.info_path, encoding="utf-8") as f:
                doc = json.load(f)
            return f"{doc['what']}, pid {int(doc['pid'])}, since {doc['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another DiscVault process"

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
