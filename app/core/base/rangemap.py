"""The rescue state of every sector, as contiguous runs (ddrescue's block list).

Statuses are ddrescue's characters: ``?`` non-tried, ``*`` non-trimmed, ``/`` non-scraped,
``-`` bad, ``+`` finished. Runs are kept merged, so the list stays as short as the damage is
scattered — a clean disc is one run whatever its size.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

NON_TRIED = "?"
NON_TRIMMED = "*"
NON_SCRAPED = "/"
BAD = "-"
FINISHED = "+"
STATUSES = (NON_TRIED, NON_TRIMMED, NON_SCRAPED, BAD, FINISHED)
# Which status wins when one sector is described by several (unaligned ddrescue mapfiles,
# summary cells): the one that needs the most work, so nothing unread is ever called finished.
SEVERITY = {FINISHED: 0, NON_TRIED: 1, NON_TRIMMED: 2, NON_SCRAPED: 3, BAD: 4}


class RangeMap:
    """Statuses over ``[0, size)`` sectors, stored as sorted run starts with one status each."""

    def __init__(self, size: int, status: str = NON_TRIED) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self.size = size
        self._starts: list[int] = [0] if size else []
        self._status: list[str] = [status] if size else []

    def _split(self, pos: int) -> int:
        """Make a run start at ``pos``; return its index (len(runs) when pos == size)."""
        if pos >= self.size:
            return len(self._starts)
        i = bisect_right(self._starts, pos) - 1
        if self._starts[i] == pos:
            return i
        self._starts.insert(i + 1, pos)
        self._status.insert(i + 1, self._status[i])
        return i + 1

    def set(self, start: int, end: int, status: str) -> None:
        start, end = max(start, 0), min(end, self.size)
        if start >= end:
            return
        i = self._split(start)
        j = self._split(end)
        self._starts[i:j] = [start]
        self._status[i:j] = [status]
        # Merge with neighbours of the same status so the list never fragments needlessly.
        if i + 1 < len(self._starts) and self._status[i + 1] == status:
            del self._starts[i + 1], self._status[i + 1]
        if i > 0 and self._status[i - 1] == status:
            del self._starts[i], self._status[i]

    def status_at(self, pos: int) -> str:
        return self._status[bisect_right(self._starts, pos) - 1]

    def runs(self) -> Iterator[tuple[int, int, str]]:
        """Yield ``(start, end, status)`` for every run, in order."""
        for k, start in enumerate(self._starts):
            end = self._starts[k + 1] if k + 1 < len(self._starts) else self.size
            yield start, end, self._status[k]

    def runs_with(self, statuses: Iterable[str]) -> list[tuple[int, int]]:
        wanted = set(statuses)
        return [(s, e) for s, e, st in self.runs() if st in wanted]

    def next_run(self, pos: int, statuses: str, forward: bool = True) -> tuple[int, int] | None:
        """The nearest run with one of ``statuses`` at or after ``pos`` (before it, in reverse),
        clipped to ``pos``."""
        n = len(self._starts)
        if not n:
            return None
        if forward:
            k = max(bisect_right(self._starts, pos) - 1, 0)
            while k < n:
                end = self._starts[k + 1] if k + 1 < n else self.size
                if self._status[k] in statuses and end > pos:
                    return max(self._starts[k], pos), end
                k += 1
        else:
            k = min(bisect_right(self._starts, pos - 1) - 1, n - 1)
            while k >= 0:
                start = self._starts[k]
                if self._status[k] in statuses and start < pos:
                    end = self._starts[k + 1] if k + 1 < n else self.size
                    return start, min(end, pos)
                k -= 1
        return None

    def count(self, status: str) -> tuple[int, int]:
        """Sectors with ``status`` and the number of runs they form."""
        total = areas = 0
        for s, e, st in self.runs():
            if st == status:
                total += e - s
                areas += 1
        return total, areas

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for s, e, st in self.runs():
            out[st] += e - s
        return out

    def summary(self, cells: int) -> list[str]:
        """Worst status per equal share of the disc, for a sector-map view; O(runs + cells)."""
        if not self.size or cells <= 0:
            return []
        out = [FINISHED] * cells
        for s, e, st in self.runs():
            first = s * cells // self.size
            last = (e - 1) * cells // self.size
            for c in range(first, last + 1):
                if SEVERITY[st] > SEVERITY[out[c]]:
                    out[c] = st
        return out

    def copy(self) -> RangeMap:
        other = RangeMap(0)
        other.size = self.size
        other._starts = list(self._starts)
        other._status = list(self._status)
        return other

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RangeMap)
            and self.size == other.size
            and list(self.runs()) == list(other.runs())
        )

    def __repr__(self) -> str:
        return f"RangeMap({self.size}, {list(self.runs())!r})"
