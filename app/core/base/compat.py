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
