"""The rescue passes: GNU ddrescue's strategy, tuned for optical media, over a disc's regions.

1. copy   — forward, growing reads on clean media; on an error, mark the cluster non-trimmed and
            skip ahead (doubling up to 1 % of the disc); then a reverse sweep and a plain sweep
            over what was skipped. Data regions first.
2. once   — run-out and session gaps: one plain sweep; what fails there is not data.
3. trim   — from both edges of each non-trimmed run, sector by sector until a bad sector.
4. scrape — each remaining data sector of non-scraped runs, once. (Not-data sectors that failed
            inside a larger read count as tried: they are marked bad without a scrape.)
5. retry  — up to N passes over bad data sectors, alternating direction, until one recovers
            nothing.

The engine (``engine.py``) owns the run's lifetime; this module only decides what to read next.
"""

from __future__ import annotations

import time

from app.core.base.rangemap import BAD, NON_SCRAPED, NON_TRIED, NON_TRIMMED, RangeMap
from app.core.disc.sources import SectorSource
from app.core.rescue.types import PassRecord, RescueSettings

Windows = list[tuple[int, int]]


def clip(runs: list[tuple[int, int]], windows: Windows) -> list[tuple[int, int]]:
    """The parts of ``runs`` inside ``windows`` (both sorted, non-overlapping)."""
    out: list[tuple[int, int]] = []
    i = 0
    for lo, hi in runs:
        while i < len(windows) and windows[i][1] <= lo:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < hi:
            a, b = max(lo, windows[j][0]), min(hi, windows[j][1])
            if a < b:
                out.append((a, b))
            j += 1
    return out


class Passes:
    """Mixed into ``Engine``: everything here reads through ``attempt`` and marks ``map``."""

    map: RangeMap
    src: SectorSource
    cfg: RescueSettings
    total: int
    data_windows: Windows
    once_windows: Windows
    _dirty: bool

    def attempt(self, lba: int, count: int, rec: PassRecord) -> int:
        raise NotImplementedError

    def begin(self, phase: str, direction: str) -> PassRecord:
        raise NotImplementedError

    # ---- copy ---------------------------------------------------------------------------------
    def copy_pass(
        self, windows: Windows, forward: bool, skipping: bool, phase: str = "copy"
    ) -> None:
        if not clip(self.map.runs_with(NON_TRIED), windows):
            return
        started = time.monotonic()
        rec = self.begin(phase, "forward" if forward else "reverse")
        cl = self.cfg.cluster
        size, skip = cl, cl
        skip_max = max(cl, int(self.total * self.cfg.skip_max_fraction))
        for w_lo, w_hi in windows if forward else list(reversed(windows)):
            pos = w_lo if forward else w_hi
            careful = pos  # inside a big read that failed: stay small until past it
            while (run := self.map.next_run(pos, NON_TRIED, forward)) is not None:
                lo, hi = max(run[0], w_lo), min(run[1], w_hi)
                if lo >= hi:
                    break  # the next non-tried run lies outside this window
                n = min(size, hi - lo)
                lba = lo if forward else hi - n
                good = self.attempt(lba, n, rec)
                if good == n:
                    pos = lba + n if forward else lba
                    calm = pos >= careful if forward else pos <= careful
                    size = min(size * 2, self.cfg.max_cluster) if calm else cl
                    skip = cl
                    continue
                if n > cl:  # a big read failed: look closer before calling the area bad
                    size = cl
                    pos = lba + good if forward else lba + n
                    careful = lba + n if forward else lba
                    continue
                self.map.set(lba + good, lba + n, NON_TRIMMED)
                self._dirty = True
                if skipping:
                    pos = lba + n + skip if forward else lba - skip
                    skip = min(skip * 2, skip_max)
                else:
                    pos = lba + n if forward else lba
        rec.seconds = time.monotonic() - started

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
        for i in range(self.cfg.retries):
            runs = clip(self.map.runs_with(BAD), self.data_windows)
            lbas = [lba for lo, hi in runs for lba in range(lo, hi)]
            if not lbas:
                break
            forward = i % 2 == 1  # first retry backwards: the scrape just went forwards
            started = time.monotonic()
            rec = self.begin("retry", "forward" if forward else "reverse")
            for lba in lbas if forward else reversed(lbas):
                self.src.prepare_retry(lba)
                self.attempt(lba, 1, rec)
            rec.seconds = time.monotonic() - started
            if rec.recovered_sectors == 0:
                break  # a whole pass with nothing back: more passes only wear the drive
