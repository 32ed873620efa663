"""Numbers as people read them: sizes, speeds with the disc's x-factor, durations."""

from __future__ import annotations

# 1x read speeds by medium (bytes/s of user data): CD mode 1 150 KiB/s, DVD 1.385 MB/s, BD 4.5 MB/s.
ONE_X = (("BD", 4_500_000), ("DVD", 1_385_000), ("CD", 153_600))


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def medium_for_size(total_bytes: int) -> str:
    """A good guess of the medium when the drive does not say (CD ≤ 900 MB, DVD ≤ 9.4 GB)."""
    if total_bytes > 9_400_000_000:
        return "BD"
    return "DVD" if total_bytes > 900_000_000 else "CD"


def speed(rate: float, total_bytes: int) -> str:
    one_x = dict(ONE_X)[medium_for_size(total_bytes)]
    return f"{rate / 1e6:.1f} MB/s ({rate / one_x:.1f}x)"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
