"""Opening a run: what to image, and proof that image, mapfile and disc belong together.

A resume trusts the mapfile's "finished" only when it can show that the image holds this
disc's sectors: the disc identity recorded in the mapfile must match (layout and volume
descriptors), the image must exist and be long enough, and a sample of finished sectors must
read the same from the disc as from the image (this also covers GNU ddrescue's mapfiles, which
carry no identity). Seen before this check existed: a deleted image "resumed" into an all-zero
image with matching checksum files, and a mapfile from another disc left that disc's data in
place and said "complete".
"""

from __future__ import annotations

import errno
import os
from bisect import bisect_right
from dataclasses import dataclass

from app.core.base import mapfile
from app.core.base.companions import Companions
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc import claims as claimsmod
from app.core.disc import plan as planmod
from app.core.disc.identity import DiscIdentity, descriptor_sectors, identify
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError, SectorSource, SourceError, SourceGone
from app.core.rescue import formats, outputs
from app.core.rescue.formats import needs_cue
from app.core.rescue.output import Output
from app.core.rescue.types import DestinationError, RescueSettings

__all__ = ["Opened", "needs_cue", "open_run"]

SAMPLES = 16
MORE_SAMPLES = 80  # when none of the first ones reads: spread wider before giving up


@dataclass
class Opened:
    out: Output  # the image's files, open and locked for this run
    map: RangeMap
    plan: planmod.Plan
    claims: claimsmod.Claims
    identity: DiscIdentity | None
    capacity: int
    resumed: bool
    meta: dict[str, object]


def open_run(
    src: SectorSource,
    comp: Companions,
    force: bool,
    source_path: str | None,
    cfg: RescueSettings,
    fmt: str = "iso",
) -> Opened:
    capacity = src.sector_count
    layout = src.read_layout()
    out = formats.make(fmt, comp, layout)
    out.info = getattr(src, "info", None)
    if out.sector_size != src.sector_size:
        raise SourceError(
            f"{src.description} gives {src.sector_size}-byte sectors, an {fmt} image holds "
            f"{out.sector_size}-byte ones"
        )
    refused = out.refuse(src.description)
    if refused:
        raise SourceError(refused)
    if out.end() == 0 or (capacity == 0 and layout.is_flat):
        raise SourceGone(
            f"{src.description}: no disc, or nothing readable on it — insert a disc (or check "
            "the device) and try again"
        )
    outputs.check(source_path, out.outputs(), force)
    mf = _load_mapfile(comp.map, out) if os.path.exists(comp.map) and not force else None
    out.open()
    try:
        try:
            probe = _Probe(src, out)  # identity and claims read the same few sectors: once each
            identity = identify(layout, probe.read)
            found = claimsmod.find(layout, _reader(probe, out, mf), max(capacity, layout.end))
            if mf is not None:
                _prove(src, comp, out, mf, identity, layout)
        except SourceGone as e:  # pulled while its descriptors were read
            raise SourceGone(
                f"{e} — put the disc back and run the same backup again (nothing was written)"
            ) from e
        at_least = mf.map.size if mf is not None else 0
        if at_least > max(capacity, out.end(), found.end):
            raise DestinationError(
                f"{comp.map} describes {at_least} sectors but this disc has "
                f"{max(capacity, layout.end)}: it belongs to another disc — move it away to "
                "start over"
            )
        plan = planmod.make(layout, found, capacity, at_least=at_least, raw=out.sector_size != 2048)
        out.set_domain(plan.sectors)
        rmap = _domain(mf, plan.sectors)
        busy = out.nonempty() if mf is None and not force else None
        if busy is not None:
            raise DestinationError(
                f"{busy} exists and has no mapfile: choose another name, or pass --force "
                "to overwrite it"
            )
        if mf is None and force:
            out.truncate()
        out.room()
        meta: dict[str, object] = {
            "identity": identity.to_json(),
            "layout": layout.to_json(),
            "not_data": plan.to_json(),
            "sectors": plan.sectors,
            "capacity": capacity,
            "format": fmt,
            "sector_size": out.sector_size,
            "unchecked_prior": mf.meta.get("unchecked", []) if mf is not None else [],
        }
        return Opened(out, rmap, plan, found, identity, capacity, mf is not None, meta)
    except BaseException:
        out.abandon()
        raise


def _load_mapfile(path: str, out: Output) -> mapfile.Mapfile:
    try:
        mf = mapfile.load(path, out.sector_size)
    except mapfile.MapfileError as e:
        raise DestinationError(f"{e} — move it away to start over") from e
    fmt = str(mf.meta.get("format", "iso"))
    if mf.meta and fmt != out.format:
        raise DestinationError(
            f"{path} is the mapfile of a {fmt} backup, not of {out.image} — give the image it "
            "belongs to, or move it away to start over"
        )
    return mf


class _Probe:
    """Single-sector reads of the disc's descriptors, each sector read once, as the
    filesystems see them: 2048 bytes of user data (taken out of a raw sector by the output's
    format; a raw sector with none — audio, a Form 2 sector — reads as unreadable here)."""

    def __init__(self, src: SectorSource, out: Output) -> None:
        self.src = src
        self.out = out
        self.seen: dict[int, bytes | ReadError] = {}

    def _user(self, lba: int, data: bytes) -> bytes:
        ss = self.src.sector_size
        if ss == 2048:
            return data
        parts: list[bytes] = []
        for i in range(len(data) // ss):
            user = self.out.user_data(lba + i, data[i * ss : (i + 1) * ss])
            if user is None:
                raise ReadError(lba + i, 1, errno.EILSEQ, b"".join(parts))
            parts.append(user)
        return b"".join(parts)

    def read(self, lba: int, count: int) -> bytes:
        if count != 1:
            return self._user(lba, self.src.read(lba, count))
        got = self.seen.get(lba)
        if got is None:
            try:
                got = self._user(lba, self.src.read(lba, 1))
            except ReadError as e:
                got = e
            self.seen[lba] = got
        if isinstance(got, ReadError):  # a fresh one each time: no shared traceback
            raise ReadError(got.lba, got.count, got.errno, got.good, got.kind)
        return got


def _reader(src: _Probe, out: Output, mf: mapfile.Mapfile | None) -> claimsmod.ReadFn:
    """Filesystem structures from the disc; where it no longer reads them, from the image
    (when the mapfile says they were rescued)."""

    def read(lba: int, count: int) -> bytes:
        try:
            return src.read(lba, count)
        except ReadError:
            if count != 1 or mf is None or lba >= mf.map.size or mf.map.status_at(lba) != FINISHED:
                raise
            data = out.user_data(lba, out.read(lba, 1))
            if data is None or len(data) < 2048:
                raise
            return data

    return read


def _prove(
    src: SectorSource,
    comp: Companions,
    out: Output,
    mf: mapfile.Mapfile,
    identity: DiscIdentity,
    layout: DiscLayout,
) -> None:
    start_over = f"choose another name, or move {out.image} and {comp.map} away to start over"
    recorded = mf.meta.get("identity")
    if recorded is not None:
        try:
            old = DiscIdentity.from_json(recorded)
        except ValueError as e:
            raise DestinationError(f"{comp.map}: {e} — move it away to start over") from e
        why = old.conflicts(identity)
        if why:
            raise DestinationError(
                f"{comp.map} belongs to another disc ({old.describe()}); this disc has {why} "
                f"({identity.describe()}) — {start_over}"
            )
    finished = [(s, e) for s, e, st in mf.map.runs() if st == FINISHED]
    if not finished:
        return
    why = out.short_of(finished)
    if why:
        raise DestinationError(why)
    # Sectors in a hole of the image were never written (or were punched out): compared
    # first, they show an image that lost what the mapfile says it holds.
    picks = _hole_samples(out, finished) + _samples(finished, layout, out)
    compared = _compare(src, out, layout, picks, start_over)
    if not compared:  # not one sampled sector read: look further before trusting anything
        more = _samples(finished, layout, out, MORE_SAMPLES)
        compared = _compare(src, out, layout, more, start_over)
    if not compared:
        raise DestinationError(
            f"cannot check that {out.image} holds this disc: none of the sectors {comp.map} "
            "says were rescued reads from the disc now (another disc, or a drive that cannot "
            f"read it) — try another drive, or {start_over}"
        )


def _compare(
    src: SectorSource, out: Output, layout: DiscLayout, lbas: list[int], start_over: str
) -> int:
    """Compare ``lbas`` between the disc and the image; how many could be read from the disc."""
    compared = 0
    for lba in dict.fromkeys(lbas):
        try:
            disc = src.read(lba, 1)
        except ReadError:
            continue
        compared += 1
        if out.read(lba, 1) != disc:
            hint = ""
            track = layout.track_at(lba)
            if track is not None and not track.is_data:
                hint = " (an audio sector: if this is another drive, its read offset may differ)"
            raise DestinationError(
                f"{out.image} does not hold this disc's data (sector {lba} differs{hint}): it "
                f"belongs to another disc or was changed — {start_over}"
            )
    return compared


def _hole_samples(out: Output, finished: list[tuple[int, int]]) -> list[int]:
    """The first sector of each finished run that lies in a hole of a (sparse) image file, up
    to SAMPLES of them. DiscVault writes every sector it rescues, zeros included, so such a
    sector was lost since; a copy made sparse (rsync -S) has holes only where the disc holds
    zeros, and those compare equal."""
    picks: list[int] = []
    if not hasattr(os, "SEEK_HOLE"):
        return picks
    ss = out.sector_size
    for part, fd in zip(out.parts, out.fds, strict=True):
        runs = [
            (s - part.start, e - part.start) for s, e in finished if s < part.end and e > part.start
        ]
        ends = [e for _, e in runs]
        for lo, hi in _holes(fd, ss):
            i = bisect_right(ends, lo)  # the first run that ends past the hole's start
            if i < len(runs) and max(runs[i][0], lo) < min(runs[i][1], hi):
                picks.append(part.start + max(runs[i][0], lo))
            if len(picks) >= SAMPLES:
                return picks
    return picks


def _holes(fd: int, ss: int) -> list[tuple[int, int]]:
    """Whole sectors inside holes of the file, as (first, last + 1); at most 4096 holes."""
    out: list[tuple[int, int]] = []
    size = os.fstat(fd).st_size
    pos = 0
    try:
        for _ in range(4096):  # a hole per call: bounded on any file
            hole = os.lseek(fd, pos, os.SEEK_HOLE)
            if hole >= size:
                break
            try:
                pos = os.lseek(fd, hole, os.SEEK_DATA)
            except OSError:  # ENXIO: the hole runs to the end of the file
                pos = size
            lo, hi = -(-hole // ss), pos // ss
            if lo < hi:
                out.append((lo, hi))
            if pos >= size:
                break
    except OSError:  # no hole support here: every sector counts as written
        return []
    return out


def _samples(
    finished: list[tuple[int, int]], layout: DiscLayout, out: Output, count: int = SAMPLES
) -> list[int]:
    """Finished sectors worth comparing: the descriptors, then sectors spread over the rest
    (only sectors the image keeps: a BIN/CUE keeps no session gap)."""
    finished = [
        (max(s, p.start), min(e, p.end))
        for p in out.parts
        for s, e in finished
        if s < p.end and e > p.start
    ]
    finished.sort()

    def done(lba: int) -> bool:
        return any(s <= lba < e for s, e in finished)

    picks = [lba for lba in descriptor_sectors(layout) if done(lba)][: SAMPLES // 2]
    total = sum(e - s for s, e in finished)
    spread = count - len(picks)  # evenly over the finished sectors: fixed before picks grows
    for k in range(spread):
        n = total * k // spread
        for s, e in finished:
            if n < e - s:
                picks.append(s + n)
                break
            n -= e - s
    return sorted(set(picks))


def _domain(mf: mapfile.Mapfile | None, sectors: int) -> RangeMap:
    """The run's range map: a fresh one, or the mapfile's, grown to the disc's whole layout
    (a mapfile from a tool or version that imaged less resumes into the rest)."""
    if mf is None:
        return RangeMap(sectors)
    if mf.map.size == sectors:
        return mf.map
    grown = RangeMap(sectors)
    for s, e, st in mf.map.runs():
        grown.set(s, e, st)
    return grown
