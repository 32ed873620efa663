"""A quick, read-only surface scan: how long each block of a disc takes to read, and where.

Slow blocks are how a disc warns before it fails: the drive retries and corrects internally,
and the read takes longer. One pass, no retries, no writes; each block is timed and counted in
the buckets Aaru and ImgBurn report (<3, <10, <50, <150, <500, >500 ms), unreadable blocks
apart; the speed over the disc is kept as a curve. Stored per disc, the scans show which discs
are degrading, so they can be imaged again first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.core.base.events import CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.units import human_bytes
from app.core.disc.sources import ReadError, SectorSource, SourceGone
from app.core.library import history
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.core.library.records import Event, now_iso

# Upper bounds in ms; the last bucket takes everything slower.
BUCKETS = (
    (3.0, "<3 ms"),
    (10.0, "<10 ms"),
    (50.0, "<50 ms"),
    (150.0, "<150 ms"),
    (500.0, "<500 ms"),
    (float("inf"), ">500 ms"),
)
SLOW_MS = 150.0  # ImgBurn's and Aaru's line between "fine" and "the drive is struggling"
BLOCK = 32  # sectors per read: 64 KiB, the rescue's cluster
CURVE_POINTS = 200


@dataclass
class HealthScan:
    source: str
    sectors: int
    block: int
    buckets: dict[str, int] = field(default_factory=lambda: {n: 0 for _, n in BUCKETS})
    unreadable: list[list[int]] = field(default_factory=list)  # [lba, count] per failed block
    slow: list[list[float]] = field(default_factory=list)  # [lba, ms] of blocks >= SLOW_MS
    curve: list[list[float]] = field(default_factory=list)  # [lba, bytes per second]
    scanned: int = 0  # sectors covered (read or failed)
    started: str = ""
    seconds: float = 0.0
    outcome: str = "done"  # "done", "cancelled", "source_gone"
    message: str = ""

    @property
    def blocks(self) -> int:
        return sum(self.buckets.values()) + len(self.unreadable)

    @property
    def verdict(self) -> str:
        if self.unreadable:
            return "unreadable"
        return "slow" if self.slow else "good"

    def describe(self) -> str:
        n = self.blocks
        words = {
            "good": f"healthy: {n} blocks, none slow",
            "slow": f"{len(self.slow)} of {n} blocks slow (≥ {SLOW_MS:.0f} ms): "
            "the disc is degrading",
            "unreadable": f"{len(self.unreadable)} of {n} blocks unreadable"
            + (f", {len(self.slow)} slow" if self.slow else "")
            + ": image it again soon",
        }
        return words[self.verdict]

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "sectors": self.sectors,
            "block_sectors": self.block,
            "blocks": self.blocks,
            "buckets": dict(self.buckets),
            "unreadable": self.unreadable,
            "slow": self.slow,
            "curve": self.curve,
            "scanned_sectors": self.scanned,
            "seconds": round(self.seconds, 3),
            "outcome": self.outcome,
        }

    def event(self) -> Event:
        return Event("health", self.started, self.verdict, self.describe(), self.to_json(), "")


def bucket_of(ms: float) -> str:
    return next(name for limit, name in BUCKETS if ms < limit)


def scan(
    source: SectorSource,
    *,
    block: int = BLOCK,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> HealthScan:
    """Read every block of ``source`` once and time it. Never raises for a bad block; a
    vanished source ends the scan with ``outcome="source_gone"``."""
    token = cancel or CancelToken()
    total = source.sector_count
    res = HealthScan(source.description, total, block, started=now_iso())
    bins = max(min(CURVE_POINTS, -(-total // block)), 1)
    bin_bytes = [0] * bins
    bin_secs = [0.0] * bins
    t0 = time.monotonic()
    last = 0.0
    lba = 0
    while lba < total:
        if token.cancelled:
            res.outcome = "cancelled"
            break
        token.wait_while_paused()
        n = min(block, total - lba)
        start = time.perf_counter()
        try:
            source.read(lba, n)
            ok = True
        except ReadError:
            ok = False
        except SourceGone as e:
            res.outcome, res.message = "source_gone", str(e)
            break
        ms = (time.perf_counter() - start) * 1000.0
        if ok:
            res.buckets[bucket_of(ms)] += 1
            if ms >= SLOW_MS:
                res.slow.append([lba, round(ms, 1)])
            b = lba * bins // total
            bin_bytes[b] += n * source.sector_size
            bin_secs[b] += ms / 1000.0
        else:
            res.unreadable.append([lba, n])
        lba += n
        res.scanned = lba
        now = time.monotonic()
        if now - last >= 0.1 or lba >= total:
            last = now
            elapsed = now - t0
            rate = lba * source.sector_size / elapsed if elapsed > 0 else 0.0
            left = (total - lba) * source.sector_size / rate if rate else None
            bad = sum(c for _, c in res.unreadable) * source.sector_size
            progress(
                Progress(
                    "scan",
                    1,
                    1,
                    lba * source.sector_size,
                    total * source.sector_size,
                    lba * source.sector_size,
                    bad,
                    len(res.unreadable),
                    rate,
                    left,
                )
            )
    res.curve = [
        [b * total // bins, round(bin_bytes[b] / bin_secs[b], 1)]
        for b in range(bins)
        if bin_secs[b] > 0
    ]
    res.seconds = time.monotonic() - t0
    return res


def text(res: HealthScan) -> str:
    """The scan in lines, for a terminal."""
    lines = [res.describe(), f"  {res.blocks} blocks of {res.block} sectors in {res.seconds:.1f} s"]
    width = max(res.buckets.values(), default=0) or 1
    for name, count in res.buckets.items():
        lines.append(
            f"  {name:>8}  {count:8d}  {'#' * max(round(40 * count / width), 1 if count else 0)}"
        )
    lines.append(f"  {'error':>8}  {len(res.unreadable):8d}")
    if res.curve:
        rates = [r for _, r in res.curve]
        lines.append(
            f"  speed {human_bytes(min(rates))}/s – {human_bytes(max(rates))}/s over the disc"
        )
    return "\n".join(lines)


def record(lib: Library, cat: Catalogue, folder: str, res: HealthScan) -> Event:
    """Store a finished scan: the disc folder's history first, then the catalogue."""
    ev = res.event()
    try:
        ev = history.write(lib.path(folder), ev)
    except OSError as e:
        res.message = f"not saved in the disc folder: {e.strerror}"
    cat.add_event(folder, ev)
    return ev
