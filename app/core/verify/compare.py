"""One read of the image, hashed whole, compared with the disc where one is given.

The image is read once, in order, and every byte of it is hashed (trailing bytes that are not
a whole sector included, so a sidecar check agrees with ``sha1sum -c``). The disc is read with
the rescue engine's skip-ahead strategy so a scratch does not stall the verify; what is skipped
gets a closer look afterwards, sector by sector.
"""

from __future__ import annotations

import os
import time

from app.core.base.compat import pread
from app.core.base.events import CancelToken, Progress, ProgressCallback
from app.core.base.hashing import StreamHasher
from app.core.base.rangemap import FINISHED, NON_TRIED, RangeMap
from app.core.base.sector import SECTOR
from app.core.disc.plan import Kind, Plan
from app.core.disc.sources import ReadError, SectorSource

CLUSTER = 32


class InputError(Exception):
    """An input (image, source) cannot be read at all."""


class Comparison:
    def __init__(
        self,
        image: str,
        source: SectorSource | None,
        bad_map: RangeMap | None,
        plan: Plan | None,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> None:
        self.image = image
        self.src = source
        self.bad_map = bad_map
        self.progress = progress
        self.cancel = cancel
        self.fd = os.open(image, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.size = os.fstat(self.fd).st_size
        self.sectors = self.size // SECTOR
        self.hasher = StreamHasher()
        self.mismatch: list[int] = []
        self.now_readable: list[int] = []
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        # Compared: the image, bounded by what the source has. Audio inside an .iso's range is
        # zero in the image and not readable as data on the disc: never compared.
        n = min(self.sectors, source.sector_count) if source else 0
        self.state = RangeMap(n)
        # The drive refused a sector for copy protection: it will refuse the rest of the
        # protected data too, so the disc is not read again (no retry loop); the rest of the
        # image is still hashed.
        self.refused = False
        self.skip = RangeMap(n, "c")
        self.not_data = RangeMap(n, "c")
        if plan is not None:
            for s, e in plan.runs(Kind.AUDIO):
                self.skip.set(s, e, "a")
            for s, e in plan.runs(Kind.RUNOUT, Kind.GAP):
                self.not_data.set(s, e, "n")
        for s, e in self.skip.runs_with("a"):
            self.state.set(s, e, FINISHED)

    def close(self) -> None:
        os.close(self.fd)

    def image_read(self, lba: int, count: int) -> bytes:
        return pread(self.fd, count * SECTOR, lba * SECTOR)

    def compare(self, lba: int, img: bytes, disc: bytes) -> None:
        if img == disc:
            return
        for k in range(len(disc) // SECTOR):
            a = img[k * SECTOR : (k + 1) * SECTOR]
            b = disc[k * SECTOR : (k + 1) * SECTOR]
            if a != b and self.skip.status_at(lba + k) != "a":
                was_bad = self.bad_map is not None and (
                    lba + k >= self.bad_map.size or self.bad_map.status_at(lba + k) != FINISHED
                )
                (self.now_readable if was_bad else self.mismatch).append(lba + k)

    def unreadable_now(self, statuses: str = "-") -> tuple[list[tuple[int, int]], int]:
        """(data runs the source did not read, not-data sectors it did not read). "-" is what
        failed when read alone; "*" what failed inside a larger read and waits for a closer
        look (not yet known to be unreadable)."""
        data: list[tuple[int, int]] = []
        nd = 0
        for s, e in self.state.runs_with(statuses):
            for a, b, st in self.not_data.runs():
                lo, hi = max(a, s), min(b, e)
                if lo >= hi:
                    continue
                if st == "n":
                    nd += hi - lo
                else:
                    data.append((lo, hi - lo))
        return data, nd

    @property
    def protected(self) -> int:
        """Sectors the drive refused for copy protection (neither damage nor a mismatch)."""
        return self.state.count("p")[0]

    def tick(self, pos: int) -> None:
        self.cancel.raise_if_cancelled()
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = self.done * SECTOR / max(now - self.t0, 1e-6)
        left = (self.sectors - self.done) * SECTOR / rate if rate else None
        data, nd = self.unreadable_now()
        waiting, _ = self.unreadable_now("*")
        self.progress(
            Progress(
                "verify",
                1,
                1,
                pos * SECTOR,
                self.sectors * SECTOR,
                self.done * SECTOR,
                sum(n for _, n in data) * SECTOR,
                len(data),
                rate,
                left,
                extra={
                    "map": self.state.copy(),
                    "differ": len(self.mismatch),
                    "now_readable": len(self.now_readable),
                },
                not_data=nd * SECTOR,
                pending=sum(n for _, n in waiting) * SECTOR,
                medium=self.src.medium if self.src is not None and self.src.is_drive else None,
                phase_label="comparing with the disc" if self.src else "reading the image",
            )
        )

    def sequential_pass(self) -> None:
        """Hash the whole image in order; compare with the source where it reads."""
        size, skip, skip_until = CLUSTER, CLUSTER, 0
        skip_max = max(CLUSTER, self.state.size // 100)
        lba = 0
        while lba < self.sectors:
            n = min(size, self.sectors - lba)
            img = self.image_read(lba, n)
            if len(img) != n * SECTOR:
                raise InputError(f"{self.image}: the file shrank while being read (LBA {lba})")
            self.hasher.update(img)
            cmp_end = min(lba + n, self.state.size)
            if self.src is not None and not self.refused and skip_until <= lba < cmp_end:
                if lba == 0:
                    self.src.prepare_retry(0)
                for a, b in self._readable_parts(lba, cmp_end):  # audio is never read
                    part = img[(a - lba) * SECTOR :]
                    try:
                        disc = self.src.read(a, b - a)
                        self.compare(a, part, disc)
                        self.state.set(a, b, FINISHED)
                        size, skip = min(size * 2, 512), CLUSTER
                    except ReadError as e:
                        good = len(e.good) // SECTOR
                        if good:
                            self.compare(a, part, e.good)
                            self.state.set(a, a + good, FINISHED)
                        # Refused for copy protection: a closer look gets the same refusal.
                        mark = "p" if e.kind == "protected" else "*"
                        self.refused = self.refused or e.kind == "protected"
                        self.state.set(a + good, b, mark)  # parts after it stay non-tried
                        # Skip ahead (doubling) so a scratch costs few failed reads; what is
                        # skipped stays non-tried for the closer look afterwards.
                        skip_until = cmp_end + skip
                        size, skip = CLUSTER, min(skip * 2, skip_max)
                        break
            self.done = lba + n
            self.tick(lba)
            lba += n
        tail = pread(self.fd, self.size - self.sectors * SECTOR, self.sectors * SECTOR)
        self.hasher.update(tail)  # bytes past the last whole sector are part of the file

    def _readable_parts(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """``[lo, hi)`` without audio: a 2048-byte read of CD-DA means nothing, so the rip
        never reads it and neither does verify (it is FINISHED in ``state`` from the start)."""
        runs = self.skip.runs()
        return [(max(a, lo), min(b, hi)) for a, b, st in runs if st != "a" and a < hi and b > lo]

    def close_look(self) -> None:
        """Skipped areas in clusters, then failed areas sector by sector (each read once)."""
        assert self.src is not None
        if self.refused:  # what was not compared stays so: the drive would refuse it again
            for lo, hi in self.state.runs_with(NON_TRIED + "*"):
                self.state.set(lo, hi, "p")
            return
        for lo, hi in self.state.runs_with(NON_TRIED):
            for lba in range(lo, hi, CLUSTER):
                n = min(CLUSTER, hi - lba)
                try:
                    disc = self.src.read(lba, n)
                    self.compare(lba, self.image_read(lba, n), disc)
                    self.state.set(lba, lba + n, FINISHED)
                except ReadError as e:
                    self.state.set(lba, lba + n, "p" if e.kind == "protected" else "*")
                self.tick(lba)
        for lo, hi in self.state.runs_with("*"):
            for lba in range(lo, hi):
                if self.not_data.status_at(lba) == "n":
                    self.state.set(lba, lba + 1, "-")  # not data: once was enough
                    continue
                self.src.prepare_retry(lba)
                try:
                    self.compare(lba, self.image_read(lba, 1), self.src.read(lba, 1))
                    self.state.set(lba, lba + 1, FINISHED)
                except ReadError as e:
                    self.state.set(lba, lba + 1, "p" if e.kind == "protected" else "-")
                self.tick(lba)
