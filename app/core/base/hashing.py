"""Streaming CRC32 / MD5 / SHA-1 / SHA-256 (the Redump set plus SHA-256), spread over two cores.

``StreamHasher``: the digests run in two threads, MD5 alone in one and SHA-1, SHA-256 and
CRC32 in the other. hashlib and zlib release the GIL on large buffers, so the two proceed in
parallel with each other and with the reader; MD5 (inherently serial, the slowest here) has a
core to itself, the other three together take about as long. One thread per digest would put
four threads on two cores and make MD5 share its core. Chunks are immutable ``bytes`` shared
by both threads; bounded queues keep memory flat.

``ImageHasher``: hashes an image file in the background while a rescue may still change it
(trim, scrape, the retry passes), so the closing hash pass of an out-of-order rescue is
mostly done when the rescue ends; it may go on from digests the rescue fed in order itself.
It keeps the digests' state at every place the image may still change; a change behind it
sends it back to the last such place before the change.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from typing import Protocol

from app.core.base.compat import pread

ALGORITHMS = ("crc32", "md5", "sha1", "sha256")
# Which digests share a thread: MD5 alone; the rest together (SHA-NI makes SHA-1 and SHA-256
# about twice as fast as MD5 here, and CRC32 is cheap).
GROUPS = (("md5",), ("sha1", "sha256", "crc32"))


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...
    def copy(self) -> _Digest: ...


try:  # ISA-L's CRC32 (carry-less multiply): five times zlib's here, same result
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - a platform without isal wheels
    _crc32 = zlib.crc32


class Crc32:
    """CRC32 behind the hashlib interface; hex as Redump DATs write it (8 lowercase)."""

    def __init__(self, value: int = 0) -> None:
        self.value = value

    def update(self, data: bytes, /) -> None:
        self.value = _crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"

    def copy(self) -> Crc32:
        return Crc32(self.value)


def new_digest(name: str) -> _Digest:
    if name == "crc32":
        return Crc32()
    return hashlib.new(name)


def groups_of(algorithms: tuple[str, ...]) -> list[list[str]]:
    out = [[a for a in g if a in algorithms] for g in GROUPS]
    rest = [a for a in algorithms if not any(a in g for g in GROUPS)]
    return [g for g in out if g] + ([rest] if rest else [])


class Snapshot:
    """The digests' state after everything fed before it: filled in by the worker threads."""

    def __init__(self, groups: int) -> None:
        self.states: list[dict[str, _Digest]] = [{} for _ in range(groups)]
        self._left = groups
        self._lock = threading.Lock()
        self.ready = threading.Event()

    def fill(self, i: int, digests: dict[str, _Digest]) -> None:
        self.states[i] = {n: d.copy() for n, d in digests.items()}
        with self._lock:
            self._left -= 1
            if not self._left:
                self.ready.set()


_STOP = b""
_Item = bytes | Snapshot


class StreamHasher:
    """Feed chunks in order with ``update``; ``finish`` returns ``{algorithm: hex}``."""

    def __init__(self, algorithms: tuple[str, ...] = ALGORITHMS, depth: int = 32) -> None:
        self._order = algorithms
        self._groups = [{n: new_digest(n) for n in g} for g in groups_of(algorithms)]
        self._queues: list[queue.Queue[_Item]] = []
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None
        self.length = 0
        for i in range(len(self._groups)):
            q: queue.Queue[_Item] = queue.Queue(maxsize=depth)
            t = threading.Thread(target=self._run, args=(i, q), daemon=True)
            t.start()
            self._queues.append(q)
            self._threads.append(t)

    def _run(self, i: int, q: queue.Queue[_Item]) -> None:
        try:
            while True:
                item = q.get()
                if item is _STOP:
                    return
                if isinstance(item, Snapshot):
                    item.fill(i, self._groups[i])
                    continue
                for d in self._groups[i].values():  # looked up anew: restore() may swap them
                    d.update(item)
        except BaseException as e:  # surfaced by finish(); a dead worker must not hang update()
            self._error = e
            while (item := q.get()) is not _STOP:
                if isinstance(item, Snapshot):
                    item.fill(i, {})  # nor anyone waiting for a snapshot

    def update(self, data: bytes) -> None:
        if not data:
            return
        self.length += len(data)
        for q in self._queues:
            q.put(data)

    def snapshot(self) -> Snapshot:
        """The state after what was fed so far (ready once the workers got there)."""
        snap = Snapshot(len(self._groups))
        for q in self._queues:
            q.put(snap)
        return snap

    def restore(self, snap: Snapshot, length: int) -> None:
        """Go back to ``snap`` (taken when ``length`` bytes had been fed)."""
        self.snapshot().ready.wait()  # the workers are idle: their digests may be swapped
        snap.ready.wait()
        for i, state in enumerate(snap.states):
            self._groups[i] = {n: d.copy() for n, d in state.items()}
        self.length = length

    def finish(self) -> dict[str, str]:
        self._stop()
        if self._error is not None:
            raise self._error
        merged = {n: d for g in self._groups for n, d in g.items()}
        return {name: merged[name].hexdigest() for name in self._order}

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


class ImageHasher:
    """Hash ``path`` from the start in a background thread while it may still change.

    ``marks``: byte offsets where the file may still change (the starts of the rescue's
    unfinished runs). The digests' state is kept at each mark the thread passes; ``changed``
    at an offset the thread has read sends it back to the last mark at or before it. A change
    ahead of the thread costs nothing. ``finish(length)`` waits for the hash of the first
    ``length`` bytes as the file is then.

    It must not slow the rescue down: after a change behind it, it waits until changes have
    been quiet for ``QUIET`` seconds before it goes back (a retry pass that recovers sector
    after sector would otherwise send it back over the same bytes again and again, taking CPU
    from the rescue). (Running its threads at a lower priority was tried and made things worse
    on a busy machine: a descheduled thread holding the GIL stalls the rescue's own thread.)"""

    MAX_MARKS = 2000  # digest states kept (about 1 KB each); more marks are thinned out
    QUIET = 1.0

    def __init__(
        self,
        path: str,
        marks: list[int],
        length: int,
        chunk: int = 1 << 20,
        start: tuple[StreamHasher, int] | None = None,
    ) -> None:
        """``start``: digests already fed with the file's first bytes (a rescue's prefix read
        in order, which never changes again): hashing goes on from there. A change before it
        cannot be followed; ``finish`` then raises ``OSError`` (hash the file anew)."""
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.chunk = chunk
        base = start[1] if start is not None else 0
        stops = sorted({m for m in marks if base < m < length})
        if len(stops) > self.MAX_MARKS:
            step = len(stops) / self.MAX_MARKS
            stops = [stops[int(i * step)] for i in range(self.MAX_MARKS)]
        self.base = base
        self.stops = [base, *stops]
        self.target = length
        self.pos = base  # bytes fed to the digests
        self.read_end = base  # bytes read (fed, or being read now)
        self.rollback: int | None = None
        self.limit: int | None = None  # see hold()
        self.trailing = False  # a change came while held: hash only up to the limit
        self.rollbacks = 0  # how often a change sent it back (for benchmarks)
        self.last_change = 0.0
        self.finishing = False
        self.error: OSError | None = None
        self.hasher = start[0] if start is not None else StreamHasher()
        self.saved: dict[int, Snapshot] = {}
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="image-hash", daemon=True)
        self.thread.start()

    def changed(self, offset: int) -> None:
        """Bytes from ``offset`` on were rewritten."""
        with self.cond:
            self._changed(offset)

    def _changed(self, offset: int) -> None:
        if offset < self.read_end:
            self.rollback = offset if self.rollback is None else min(self.rollback, offset)
            self.last_change = time.monotonic()
            self.cond.notify_all()

    def hold(self, offset: int | None) -> None:
        """Bytes from ``offset`` on may still change, bytes before it no more (a rescue's
        last pass, reading forwards). Until a change comes behind it, it hashes on ahead;
        after one it goes back at once and from then on only follows ``offset``: nothing
        ahead of it is hashed only to be hashed again. ``None``: hash ahead again, going back
        only once changes have been quiet."""
        with self.cond:
            self.limit = offset
            if offset is None:
                self.trailing = False
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            while self._step():
                pass
        except Exception as e:  # finish() must hear of it, never wait for a dead thread
            with self.cond:
                self.error = e if isinstance(e, OSError) else OSError(f"image hashing: {e!r}")
                self.cond.notify_all()

    def _step(self) -> bool:
        """One chunk, or one step back; False when stopped. The lock is never held while
        reading or hashing: ``changed`` (the rescue's write path) never waits for those."""
        with self.cond:
            while not self.stopping:
                if self.rollback is not None:
                    wait = self.QUIET - (time.monotonic() - self.last_change)
                    if wait <= 0 or self.finishing or self.limit is not None:
                        break
                    self.cond.wait(wait)
                elif self.pos < self._end():
                    break
                else:
                    self.cond.wait()
            if self.stopping:
                return False
            if self.rollback is not None:
                if self.rollback < self.base:
                    raise OSError("the image changed before where its hashing began")
                back = max(s for s in self.saved if s <= self.rollback)
                snap = self.saved[back]
                for s in [s for s in self.saved if s > back]:
                    del self.saved[s]
                self.pos = self.read_end = back
                self.rollback = None
                self.trailing = self.limit is not None
                self.rollbacks += 1
            else:
                snap = None
                start = self.pos
                i = bisect.bisect_right(self.stops, start)
                nxt = self.stops[i] if i < len(self.stops) else self.target
                end = min(start + self.chunk, nxt, self._end())
                self.read_end = end
                if start in self.stops and start not in self.saved:
                    self.saved[start] = self.hasher.snapshot()
        if snap is not None:
            self.hasher.restore(snap, back)
            return True
        data = pread(self.fd, end - start, start)
        with self.cond:
            if self.rollback is not None or len(data) < end - start:
                self.read_end = self.pos  # stale, or the file shrank: read it again
                if self.rollback is None:
                    self.cond.wait(0.05)  # until finish() says how long it is now
                return True
        self.hasher.update(data)
        with self.cond:
            self.pos = end
            self.cond.notify_all()
        return True

    def _end(self) -> int:
        """Where hashing may go now (the lock held)."""
        if self.limit is None or not self.trailing or self.finishing:
            return self.target
        return min(self.target, self.limit)

    def finish(
        self,
        length: int,
        on_bytes: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> dict[str, str] | None:
        """The hashes of the first ``length`` bytes; None when ``should_stop`` said so.
        ``OSError`` when the file could not be read in the background."""
        with self.cond:
            if length not in self.stops:
                self.stops.insert(bisect.bisect_left(self.stops, length), length)
            self._changed(length)  # past the end now: back to the last state before it
            self.target = length
            self.finishing = True
            self.cond.notify_all()
            stopped = False
            while self.error is None and (self.pos != length or self.rollback is not None):
                if should_stop is not None and should_stop():
                    stopped = True
                    break
                if on_bytes is not None:
                    on_bytes(self.pos)
                self.cond.wait(0.1)
            error = self.error
        self._stop_reading()
        if stopped or error is not None:
            self.hasher.abort()
            if error is not None:
                raise error
            return None
        return self.hasher.finish()

    def abort(self) -> None:
        self._stop_reading()
        self.hasher.abort()

    def _stop_reading(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.thread.join()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
