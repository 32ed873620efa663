"""Numbers as people read them: sizes, speeds, durations, and a job's progress in words.

Both the app and the terminal show progress through ``describe()``, so they say the same thing,
and only what was measured: nothing is "unreadable" before it was read sector by sector, a
speed has an x-factor only for a real drive, and a paused job says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.core.base.events import Progress

# 1x read speeds by medium (bytes/s of user data): CD mode 1 150 KiB/s, DVD 1.385 MB/s, BD 4.5 MB/s.
ONE_X = {"CD": 153_600, "DVD": 1_385_000, "BD": 4_500_000}

PHASE_WORDS = {
    "copy": "copying",
    "once": "reading run-out and session gaps once",
    "trim": "trimming around failed reads",
    "scrape": "reading skipped areas sector by sector",
    "retry": "retrying unreadable sectors",
    "hash": "computing checksums from the image",
    "verify": "verifying",
    "done": "finishing",
    "extract": "extracting",
    "build": "writing the image",
}
# Passes that read one sector at a time: their "speed" is not a transfer rate worth showing.
SECTOR_BY_SECTOR = frozenset({"trim", "scrape", "retry"})
RESCUE_PASSES = frozenset({"copy", "once", "trim", "scrape", "retry"})
# Phases where bytes per second is what is being measured.
RATE_PHASES = frozenset({"copy", "verify", "hash", "extract", "build"})


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def medium_for_size(total_bytes: int) -> str:
    """A guess of the medium from its size when a drive does not say (CD ≤ 900 MB, DVD ≤ 9.4
    GB). Only for a real drive: an image file has no medium and so no x-factor."""
    if total_bytes > 9_400_000_000:
        return "BD"
    return "DVD" if total_bytes > 900_000_000 else "CD"


def amount_of(done: int, total: int) -> str:
    """'2.7 GB of 4.3 GB' — and never '100.7 MB of 100.7 MB' while anything is missing."""
    a, b = human_bytes(done), human_bytes(total)
    if done < total and a == b:
        return f"all but {human_bytes(total - done)} of {b}"
    return f"{a} of {b}"


def percent(done: int, total: int) -> str:
    """Rounded down, so 99.96 % is '99.9 %', not '100.0 %' with work left."""
    if total <= 0:
        return "100 %"
    return f"{math.floor(1000 * done / total) / 10:.1f} %"


def speed(rate: float, medium: str | None = None) -> str:
    """MB/s, with the x-factor only when the medium is known (a real drive says what it holds;
    an image file or the demo disc has no x-factor)."""
    text = f"{rate / 1e6:.1f} MB/s"
    one_x = ONE_X.get(medium or "")
    return f"{text} ({rate / one_x:.1f}x)" if one_x else text


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def elapsed(seconds: float) -> str:
    """How long a finished job took: '1.6 s' below a minute (so a short run's average speed
    can be checked against it; '0.04 s' below a second, not '0.0 s'), then rounded to the
    second ('2:05'), never cut short."""
    if round(seconds, 2) < 1:
        return f"{seconds:.2f} s"
    tenths = round(seconds, 1)
    if tenths < 60:
        return f"{tenths:.1f} s"
    return duration(round(seconds))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


@dataclass
class Described:
    """A progress snapshot in words: the headline, the rate, and the numbers."""

    headline: str
    percent: str
    rate: str  # "" when no rate is worth showing
    numbers: list[str] = field(default_factory=list)
    eta: str = ""  # "2:41 left", or ""


def describe(p: Progress, paused: bool = False) -> Described:
    paused = paused or p.paused
    words = p.phase_label or PHASE_WORDS.get(p.phase, p.phase)
    if p.phase in RESCUE_PASSES and p.pass_no:
        headline = f"Pass {p.pass_no} · {words}"
    elif p.phase == "verify" and p.phase_label and "disc" not in p.phase_label:
        headline = f"Verifying the image · {p.phase_label}"  # no disc is read: never say so
    elif p.phase == "verify":
        headline = "Verifying the image against the disc"
    else:
        headline = words[:1].upper() + words[1:]
    if paused:
        headline = f"Paused · {headline[:1].lower() + headline[1:]}"
    rate = ""
    if not paused and p.phase in RATE_PHASES and p.rate > 0:
        rate = speed(p.rate, p.medium if p.phase in ("copy", "verify") else None)
    numbers: list[str] = []
    if not paused and p.phase in SECTOR_BY_SECTOR:
        numbers.append(f"sector by sector, at LBA {p.position // 2048:,}")
    if p.phase == "verify":
        numbers.append(f"verified {amount_of(p.done, p.total)}")
        differ = p.extra.get("differ")  # sectors that read but differ from the image
        if isinstance(differ, int):
            numbers.append(f"{plural(differ, 'sector')} differ")
        if p.bad:
            numbers.append(f"{human_bytes(p.bad)} unreadable now")
        if p.pending:
            numbers.append(f"{human_bytes(p.pending)} skipped, read again at the end")
    elif p.phase == "hash":
        numbers.append(f"checked {amount_of(p.done, p.total)}")
    else:
        numbers.insert(0, f"rescued {amount_of(p.done, p.total)}")
        if p.pending:
            numbers.append(f"{human_bytes(p.pending)} skipped, read again later")
        if p.bad:
            where = plural(max(p.bad_areas, 1), "area")
            if p.phase in ("copy", "once", "trim", "scrape"):  # the retry passes come later
                numbers.append(f"{human_bytes(p.bad)} failed so far in {where}")
            else:
                numbers.append(f"unreadable {human_bytes(p.bad)} in {where}")
        if p.not_data:
            numbers.append(f"{human_bytes(p.not_data)} not data (run-out, gaps)")
    eta = ""
    if not paused and p.eta_seconds is not None:
        eta = f"{duration(p.eta_seconds)} left"
    return Described(headline, percent(p.done, p.total), rate, numbers, eta)
