"""The rescue passes: GNU ddrescue's strategy, tuned for optical media, over a disc's regions.

1. copy   — forward, growing reads on clean media; on an error, mark the cluster non-trimmed and
            skip ahead (doubling up to 1 % of the disc); then a reverse sweep and a plain sweep
            over what was skipped. Data regions first.
2. once   — run-out and session gaps: one plain sweep; what fails there is not data.
3. trim   — from both edges of each non-trimmed run, sector by sector until a bad sector.
4. scrape — each remaining data sector of non-scraped runs, once. (Not-data sectors that failed
            inside a larger read count as tried: they are marked bad without a scrape.)
5. retry  — up to N passes over bad data sectors, alternating direction (the last one
            forwards), until one recovers nothing.

The engine (``engine.py``) owns the run's lifetime; this module only decides what to read next.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from app.core.base.rangemap import BAD, NON_SCRAPED, NON_TRIED, NON_TRIMMED, RangeMap
from app.core.disc.sources import SectorSource
from app.core.rescue.types import PassRecord, RescueSettings

Windows = list[tuple[int, int]]
WOBBLE = 2  # a scratch's crossing wanders by a sector or two from one revolution to the next
BURST = 3  # this many unreadable sectors in a row: a large area, not a scratch's crossing
# Sectors per revolution: about 9 at a CD's hub, 21 at its rim; DVDs and BDs hold more.
MIN_PERIOD, MAX_PERIOD = 6, 64


def clip(runs: list[tuple[int, int]], windows: Windows) -> list[tuple[int, int]]:
    """The parts of ``runs`` inside ``windows`` (both sorted, non-overlapping)."""
    return [(a, b) for a, b, _ in clip_tagged([(lo, hi, "") for lo, hi in runs], windows)]


def clip_tagged(
    runs: list[tuple[int, int, str]], windows: Windows
) -> Iterator[tuple[int, int, str]]:
    """As ``clip``, for runs carrying a status: one merge over both lists."""
    i = 0
    for lo, hi, st in runs:
        while i < len(windows) and windows[i][1] <= lo:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < hi:
            a, b = max(lo, windows[j][0]), min(hi, windows[j][1])
            if a < b:
                yield a, b, st
            j += 1


class Scratch:
    """Bad sectors found alone, in reading order; when they recur at a steady period (a radial
    scratch: one crossing per revolution, 9 sectors at the hub to 21 at the rim of a CD, slowly
    growing with the radius), where the next one will be."""

    def __init__(self) -> None:
        self.starts: list[int] = []

    def found(self, lba: int) -> None:
        if self.starts and lba <= self.starts[-1] + 1:
            return  # the same crossing (a 2-sector burst)
        self.starts.append(lba)
        del self.starts[:-3]

    def forget(self) -> None:
        self.starts.clear()

    def next_after(self, pos: int) -> int | None:
        """The next crossing: the last one plus the period (the mean of the last two gaps, or
        a single gap in the range a disc's revolutions have)."""
        s = self.starts
        if len(s) < 2:
            return None
        g1 = s[-1] - s[-2]
        if len(s) >= 3:
            g2 = s[-2] - s[-3]
            if abs(g1 - g2) > 3:
                return None
            g1 = round((g1 + g2) / 2)
        if not MIN_PERIOD <= g1 <= MAX_PERIOD:
            return None
        nxt = s[-1] + g1
        return nxt if nxt >= pos else None


class Passes:
    """Mixed into ``Engine``: everything here reads through ``attempt`` and marks ``map``."""

    map: RangeMap
    src: SectorSource
    cfg: RescueSettings
    total: int
    data_windows: Windows
    once_windows: Windows
    _dirty: bool
    pass_left: int

    def attempt(self, lba: int, count: int, rec: PassRecord) -> int:
        raise NotImplementedError

    def begin(self, phase: str, direction: str) -> PassRecord:
        raise NotImplementedError

    def hash_hold(self, lba: int | None) -> None:
        raise NotImplementedError

    # ---- copy ---------------------------------------------------------------------------------
    def copy_pass(
        self, windows: Windows, forward: bool, skipping: bool, phase: str = "copy"
    ) -> None:
        """ddrescue's copy sweep. The first sweep (forward, skipping) also learns the damage's
        shape: an isolated bad sector is located at once (the failed read is walked sector by
        sector, which trimming would do later anyway), and when such sectors recur at a steady
        period — a radial scratch crossing the spiral once per revolution — the sweep reads the
        good run between them and hits each predicted bad sector once, instead of failing one
        cluster read per revolution."""
        if not clip(self.map.runs_with(NON_TRIED), windows):
            return
        started = time.monotonic()
        rec = self.begin(phase, "forward" if forward else "reverse")
        cl = self.cfg.cluster
        size, skip = cl, cl
        skip_max = max(cl, int(self.total * self.cfg.skip_max_fraction))
        learn = forward and skipping
        scratch = Scratch()
        for w_lo, w_hi in windows if forward else list(reversed(windows)):
            pos = w_lo if forward else w_hi
            careful = pos  # inside a big read that failed: stay small until past it
            big = False  # inside a large unreadable area: skip it as ddrescue does
            while (run := self.map.next_run(pos, NON_TRIED, forward)) is not None:
                lo, hi = max(run[0], w_lo), min(run[1], w_hi)
                if lo >= hi:
                    break  # the next non-tried run lies outside this window
                if learn and not big:
                    nxt = self._predicted(scratch, lo, hi, rec)
                    if nxt is not None:
                        pos, big = nxt
                        size = cl
                        if big:  # skip the area's rest unread, as after a failed read
                            pos, skip = pos + skip, min(skip * 2, skip_max)
                        continue
                if not forward and skipping and hi - lo <= cl and self._above_damage(lo):
                    pos = self._walk_down(lo, hi, rec)
                    continue
                n = min(size, hi - lo)
                lba = lo if forward else hi - n
                good = self.attempt(lba, n, rec)
                if good == n:
                    pos = lba + n if forward else lba
                    calm = pos >= careful if forward else pos <= careful
                    size = min(size * 2, self.cfg.max_cluster) if calm else cl
                    skip = cl
                    big = False
                    continue
                if n > cl:  # a big read failed: look closer before calling the area bad
                    size = cl
                    pos = lba + good if forward else lba + n
                    careful = lba + n if forward else lba
                    continue
                if learn and not big:
                    bad = self._locate(lba + good, lba + n, rec)
                    if bad is not None:
                        pos, big = self._burst(bad, hi, rec, scratch)
                        if big:  # a large area: a read just past the burst would fail too
                            pos, skip = pos + skip, min(skip * 2, skip_max)
                    else:  # each sector read alone: all of it is rescued, nothing to trim
                        pos = lba + n
                    continue
                self.map.set(lba + good, lba + n, NON_TRIMMED)
                self._dirty = True
                if skipping:
                    pos = lba + n + skip if forward else lba - skip
                    skip = min(skip * 2, skip_max)
                else:
                    pos = lba + n if forward else lba
        rec.seconds = time.monotonic() - started

    def _predicted(
        self, scratch: Scratch, lo: int, hi: int, rec: PassRecord
    ) -> tuple[int, bool] | None:
        """Read up to the scratch's next predicted crossing, then sector by sector within a
        sector of it. None when there is no prediction here (the caller reads a cluster)."""
        pred = scratch.next_after(lo)
        if pred is None or pred - WOBBLE >= hi or pred - WOBBLE - lo > self.cfg.max_cluster:
            return None
        a = max(lo, pred - WOBBLE)
        if a > lo:
            good = self.attempt(lo, a - lo, rec)
            if good < a - lo:  # it came early: find it, one overhead read
                bad = self._locate(lo + good, a, rec)
                if bad is None:
                    return a, False
                return self._burst(bad, hi, rec, scratch)
        for s in range(a, min(pred + WOBBLE + 1, hi)):
            if not self.attempt(s, 1, rec):
                self.map.set(s, s + 1, BAD)
                return self._burst(s, hi, rec, scratch)
        scratch.forget()  # no crossing where predicted: back to cluster reads
        return min(pred + WOBBLE + 1, hi), False

    def _locate(self, lo: int, hi: int, rec: PassRecord) -> int | None:
        """The first unreadable sector of a failed read, read sector by sector (marked bad)."""
        for s in range(lo, hi):
            if not self.attempt(s, 1, rec):
                self.map.set(s, s + 1, BAD)
                self._dirty = True
                return s
        return None  # every sector read alone: the failure was passing

    def _above_damage(self, lo: int) -> bool:
        return lo > 0 and self.map.status_at(lo - 1) in (BAD, NON_TRIMMED, NON_SCRAPED)

    def _walk_down(self, lo: int, hi: int, rec: PassRecord) -> int:
        """A short run the forward sweep skipped, just above damage: sector by sector from
        its top down to where the damage ends. That failed read is one of a bad sector,
        which trimming would spend anyway; a cluster read there would fail as well, and
        find nothing. What lies below it is left for trimming."""
        for s in range(hi - 1, lo - 1, -1):
            if not self.attempt(s, 1, rec):
                self.map.set(s, s + 1, BAD)
                self.map.set(lo, s, NON_TRIMMED)
                self._dirty = True
                break
        return lo

    def _burst(self, bad: int, hi: int, rec: PassRecord, scratch: Scratch) -> tuple[int, bool]:
        """After a bad sector found alone: the burst's other sectors, one by one. Returns where
        to go on, and whether this is a large area (then the sweep skips as ddrescue does)."""
        scratch.found(bad)
        s = bad + 1
        while s < hi and s - bad < BURST:
            if self.attempt(s, 1, rec):
                return s + 1, False
            self.map.set(s, s + 1, BAD)
            self._dirty = True
            s += 1
        return s, s - bad >= BURST

    # ---- trim, scrape, retry ------------------------------------------------------------------
    def trim_pass(self) -> None:
        runs = clip(self.map.runs_with(NON_TRIMMED), self.data_windows + self.once_windows)
        runs.sort()
        if not runs:
            return
        started = time.monotonic()
        rec = self.begin("trim", "both edges")
        for lo, hi in runs:
            a = lo
            while a < hi and self.attempt(a, 1, rec):
                a += 1
            if a < hi:
                self.map.set(a, a + 1, BAD)
                b = hi - 1
                while b > a and self.attempt(b, 1, rec):
                    b -= 1
                if b > a:
                    self.map.set(b, b + 1, BAD)
                    self.map.set(a + 1, b, NON_SCRAPED)
                self._dirty = True
        rec.seconds = time.monotonic() - started

    def settle_not_data(self) -> None:
        """Run-out and gap sectors that failed inside a larger read were tried: mark them bad
        without reading each one again (they hold no data)."""
        for lo, hi in clip(self.map.runs_with(NON_SCRAPED + NON_TRIMMED), self.once_windows):
            self.map.set(lo, hi, BAD)
            self._dirty = True

    def scrape_pass(self) -> None:
        runs = clip(self.map.runs_with(NON_SCRAPED), self.data_windows)
        if not runs:
            return
        started = time.monotonic()
        rec = self.begin("scrape", "forward")
        for lo, hi in runs:
            for lba in range(lo, hi):
                if not self.attempt(lba, 1, rec):
                    self.map.set(lba, lba + 1, BAD)
                    self._dirty = True
        rec.seconds = time.monotonic() - started

    def retry_passes(self) -> None:
        """Up to N passes over bad data sectors, sector by sector, alternating direction; they
        stop when a whole pass recovers nothing. (Reading a run of bad sectors as one read
        would cost fewer failed reads, but a drive gives up at the run's first dead sector:
        a marginal one after it would get no attempt.)

        The last pass reads forwards: what lies behind it is then final, and the background
        hash of the image follows right behind it (a sector recovered late near the start by
        a reverse pass would send the hash back over nearly the whole image after the end)."""
        n = self.cfg.retries
        for i in range(n):
            runs = clip(self.map.runs_with(BAD), self.data_windows)
            lbas = [lba for lo, hi in runs for lba in range(lo, hi)]
            if not lbas:
                break
            forward = (n - 1 - i) % 2 == 0
            last = i == n - 1
            self.pass_left = len(lbas)
            started = time.monotonic()
            rec = self.begin("retry", "forward" if forward else "reverse")
            for lba in lbas if forward else reversed(lbas):
                if last:
                    self.hash_hold(lba)
                self.src.prepare_retry(lba)
                self.attempt(lba, 1, rec)
                self.pass_left -= 1
            if last:
                self.hash_hold(None)
            rec.seconds = time.monotonic() - started
            if rec.recovered_sectors == 0:
                break  # a whole pass with nothing back: more passes only wear the drive
