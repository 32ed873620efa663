"""Positional reads everywhere: os.pread/os.preadv are POSIX-only (not on Windows)."""

from __future__ import annotations

import os
import threading

_seek_lock = threading.Lock()  # lseek+read is not atomic: one positional read at a time


def pread(fd: int, length: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, length, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)


def preadinto(fd: int, view: memoryview, offset: int) -> int:
    """Read into ``view`` at ``offset``; returns the byte count (O_DIRECT-friendly on Linux)."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    data = pread(fd, len(view), offset)
    view[: len(data)] = data
    return len(data)


def try_lock(fd: int, shared: bool = False) -> bool:
    """Take an exclusive lock on an open file without waiting; False if another process holds
    it. The lock goes with the descriptor: a killed process never leaves it behind.
    ``shared``: a reader's lock, which any number of readers hold at once but a writer's
    excludes (Windows: exclusive all the same)."""
    try:
        import fcntl
    except ImportError:  # Windows: a byte-range lock on the first byte
        try:
            import msvcrt
        except ImportError:
            return True  # neither: nothing to lock with
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True  # a filesystem without locks (some network shares): nothing to enforce
    return True
