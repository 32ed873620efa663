"""Streaming CRC32 / MD5 / SHA-1 / SHA-256 (the Redump set plus SHA-256).

Each digest runs in its own thread: hashlib and zlib release the GIL on large buffers, so the
digests proceed in parallel with each other and with the reader instead of one after another.
Chunks are immutable ``bytes`` shared by all digests; bounded queues keep memory flat.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
import zlib
from collections.abc import Callable
from typing import Protocol

ALGORITHMS = ("crc32", "md5", "sha1", "sha256")


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class Crc32:
    """zlib.crc32 behind the hashlib interface; hex as Redump DATs write it (8 lowercase)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes, /) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


def new_digest(name: str) -> _Digest:
    if name == "crc32":
        return Crc32()
    return hashlib.new(name)


_STOP = b""


class StreamHasher:
    """Feed chunks in order with ``update``; ``finish`` returns ``{algorithm: hex}``."""

    def __init__(self, algorithms: tuple[str, ...] = ALGORITHMS, depth: int = 32) -> None:
        self._digests = {name: new_digest(name) for name in algorithms}
        self._queues: list[queue.Queue[bytes]] = []
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self.length = 0
        for digest in self._digests.values():
            q: queue.Queue[bytes] = queue.Queue(maxsize=depth)
            t = threading.Thread(target=self._run, args=(digest, q), daemon=True)
            t.start()
            self._queues.append(q)
            self._threads.append(t)

    def _run(self, digest: _Digest, q: queue.Queue[bytes]) -> None:
        try:
            while True:
                chunk = q.get()
                if chunk is _STOP:
                    return
                digest.update(chunk)
        except BaseException as e:  # surfaced by finish(); a dead worker must not hang update()
            self._error = e
            while q.get() is not _STOP:
                pass

    def update(self, data: bytes) -> None:
        if not data:
            return
        self.length += len(data)
        for q in self._queues:
            q.put(data)

    def finish(self) -> dict[str, str]:
        self._stop()
        if self._error is not None:
            raise self._error
        return {name: d.hexdigest() for name, d in self._digests.items()}

    def abort(self) -> None:
        self._stop()

    def _stop(self) -> None:
        for q in self._queues:
            q.put(_STOP)
        for t in self._threads:
            t.join()
        self._queues.clear()
        self._threads.clear()


def hash_file(
    path: str,
    *,
    chunk: int = 1 << 20,
    on_bytes: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, str] | None:
    """Hash a whole file in one read pass; None when ``should_stop`` said so."""
    hasher = StreamHasher()
    done = 0
    with open(path, "rb", buffering=0) as f:
        with contextlib.suppress(AttributeError, OSError):  # not on Windows/macOS
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while True:
            if should_stop is not None and should_stop():
                hasher.abort()
                return None
            data = f.read(chunk)
            if not data:
                break
            hasher.update(data)
            done += len(data)
            if on_bytes is not None:
                on_bytes(done)
    return hasher.finish()
