"""What a backup images, and which unreadable sectors are not data.

The image covers LBA 0 to the end of the last data track (absolute LBAs, so a later session's
directory records still point at the right sectors), and never less than any filesystem claims.
Every sector in it is read; what differs is how hard:

- ``data``: the full rescue (copy, trim, scrape, retry);
- ``run-out``: a track's TAO run-out and everything past every filesystem's end. Tried once;
  unreadable there is "not data", never damage;
- ``session gap``: lead-out, lead-in and pregap between sessions. Tried once, likewise;
- ``audio``: CD-DA tracks inside an .iso's range (CD-Extra). Not read (a 2048-byte read of an
  audio sector means nothing); zero in the image, named in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.core.base.rangemap import FINISHED, NON_TRIED, RangeMap
from app.core.disc.claims import Claims
from app.core.disc.layout import DiscLayout


class Kind(StrEnum):
    DATA = "data"
    RUNOUT = "run-out"
    GAP = "session gap"
    AUDIO = "audio"

    @property
    def tried_once(self) -> bool:
        return self in (Kind.RUNOUT, Kind.GAP)


@dataclass(frozen=True)
class Region:
    start: int
    end: int
    kind: Kind

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class Plan:
    layout: DiscLayout
    sectors: int  # the image's domain: [0, sectors)
    regions: list[Region]  # cover the domain, in order, adjacent regions differ in kind
    notes: list[str] = field(default_factory=list)  # disagreements between TOC and filesystems
    filesystems: list[str] = field(default_factory=list)

    def runs(self, *kinds: Kind) -> list[tuple[int, int]]:
        return [(r.start, r.end) for r in self.regions if r.kind in kinds]

    def kind_at(self, lba: int) -> Kind:
        for r in self.regions:
            if r.start <= lba < r.end:
                return r.kind
        return Kind.RUNOUT

    def not_data(self, rmap: RangeMap) -> dict[Kind, int]:
        """Unfinished sectors per not-data kind (audio counts whole: it is never read)."""
        out: dict[Kind, int] = {}
        for r in self.regions:
            if r.kind is Kind.DATA:
                continue
            n = _unfinished(rmap, r.start, r.end)
            if n:
                out[r.kind] = out.get(r.kind, 0) + n
        return out

    def damaged(self, rmap: RangeMap, untried: bool = True) -> int:
        """Data sectors that are not finished: the only ones that count as unreadable.
        ``untried=False`` leaves out sectors never tried: a rip that copy protection stopped
        never asked for them, so it cannot call them unreadable."""
        return sum(_unfinished(rmap, s, e, untried) for s, e in self.runs(Kind.DATA))

    def damaged_runs(self, rmap: RangeMap, untried: bool = True) -> list[tuple[int, int, str]]:
        out = []
        for s, e in self.runs(Kind.DATA):
            for a, b, st in rmap.runs():
                lo, hi = max(a, s), min(b, e)
                if lo < hi and st != FINISHED and (untried or st != NON_TRIED):
                    out.append((lo, hi, st))
        return out

    def image_end(self, rmap: RangeMap, claims_end: int) -> int:
        """Where the image file ends: after the last sector that read, is data, or that a
        filesystem needs. Trailing unreadable run-out is left out (it holds nothing)."""
        cut = self.sectors
        for r in reversed(self.regions):
            if r.kind is Kind.DATA:
                break
            last_good = _last_finished(rmap, r.start, r.end)
            if last_good is not None:
                cut = last_good + 1
                break
            cut = r.start
        return max(cut, min(claims_end, self.sectors))

    def describe(self, rmap: RangeMap, not_read: str = "") -> str:
        """ "2 sessions, 3 tracks (1 audio), 2 run-out sectors (not data), 0 damaged".
        ``not_read``: why the sectors never tried were not read (then they are not damage)."""
        parts = [self.layout.summary()]
        for kind, n in self.not_data(rmap).items():
            word = "sector" if n == 1 else "sectors"
            if kind is Kind.AUDIO:
                parts.append(f"{n} audio {word} (not part of an ISO)")
            else:
                parts.append(f"{n} {kind} {word} (not data)")
        damaged = self.damaged(rmap, untried=not not_read)
        if not_read:
            n = self.damaged(rmap) - damaged
            if n:
                parts.append(f"{n} sector{'s' if n != 1 else ''} not read ({not_read})")
        parts.append(f"{damaged} damaged")
        return ", ".join(parts)

    def to_json(self) -> list[list[object]]:
        return [[r.start, r.end, str(r.kind)] for r in self.regions if r.kind is not Kind.DATA]


def _unfinished(rmap: RangeMap, start: int, end: int, untried: bool = True) -> int:
    n = 0
    for a, b, st in rmap.runs():
        if st != FINISHED and (untried or st != NON_TRIED):
            n += max(0, min(b, end) - max(a, start))
    return n


def _last_finished(rmap: RangeMap, start: int, end: int) -> int | None:
    last = None
    for a, b, st in rmap.runs():
        if st == FINISHED and a < end and b > start:
            last = min(b, end) - 1
    return last


def make(
    layout: DiscLayout,
    claims: Claims,
    capacity: int | None = None,
    at_least: int = 0,
    raw: bool = False,
) -> Plan:
    """Decide the domain and its regions. ``capacity``: what the device says it holds;
    ``at_least``: a domain an earlier run already covered (never shrink a resume); ``raw``:
    2352-byte sectors (BIN/CUE), where audio is data like any other track and the domain runs
    to the end of the last track."""
    notes = list(claims.notes)
    end = max(layout.tracks_end if raw else layout.end, at_least)
    if claims.end > end:
        who = ", ".join(c.describe() for c in claims.claims if c.end > end)
        if capacity is not None and claims.end > capacity:
            notes.append(
                f"the filesystems reach past the disc's end ({who}; the disc has "
                f"{capacity} sectors): truncated source?"
            )
            end = max(end, capacity)
        else:
            notes.append(f"the filesystems reach past the last track ({who}): imaged to there")
            end = claims.end
    marks: list[tuple[int, int, Kind]] = []
    for t in layout.tracks:
        if t.start >= end:
            continue
        if not t.is_data:
            if not raw:
                marks.append((t.start, min(t.end, end), Kind.AUDIO))
        elif t.runout:
            marks.append((t.end - t.runout, min(t.end, end), Kind.RUNOUT))
    for a, b in layout.gaps():
        if a < end:
            marks.append((a, min(b, end), Kind.GAP))
    if claims.found and claims.end < end:
        if raw:  # past the filesystems, a data track's sectors hold nothing; audio is audio
            for t in layout.data_tracks:
                if t.end > claims.end and t.start < end:
                    marks.append((max(t.start, claims.end), min(t.end, end), Kind.RUNOUT))
        else:
            marks.append((claims.end, end, Kind.RUNOUT))
    regions = _paint(end, marks)
    return Plan(layout, end, regions, notes, claims.kinds())


def _paint(end: int, marks: list[tuple[int, int, Kind]]) -> list[Region]:
    """Regions covering ``[0, end)``: data unless a mark says otherwise (later marks win)."""
    rm = RangeMap(end, "d")
    code = {Kind.RUNOUT: "r", Kind.GAP: "g", Kind.AUDIO: "a"}
    back = {"d": Kind.DATA, "r": Kind.RUNOUT, "g": Kind.GAP, "a": Kind.AUDIO}
    for a, b, kind in marks:
        rm.set(a, b, code[kind])
    return [Region(s, e, back[st]) for s, e, st in rm.runs()]


def from_json(layout: DiscLayout, sectors: int, doc: object) -> Plan:
    """A plan as a mapfile or report recorded it (``Plan.to_json``); ``ValueError`` if not."""
    if not isinstance(doc, list):
        raise ValueError("not a list of regions")
    marks: list[tuple[int, int, Kind]] = []
    for item in doc:
        if not isinstance(item, list) or len(item) != 3:
            raise ValueError("not a region")
        try:
            a, b, kind = int(item[0]), int(item[1]), Kind(str(item[2]))
        except OverflowError as e:  # JSON's 1e400 reads as infinity
            raise ValueError("a region outside the image") from e
        if not 0 <= a <= b <= sectors or kind is Kind.DATA:
            raise ValueError("a region outside the image")
        marks.append((a, b, kind))
    return Plan(layout, sectors, _paint(sectors, marks))
