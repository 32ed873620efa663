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

import contextlib
import os
from dataclasses import dataclass

from app.core.base import mapfile
from app.core.base.companions import Companions
from app.core.base.compat import pread, try_lock
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.base.units import human_bytes
from app.core.disc import claims as claimsmod
from app.core.disc import plan as planmod
from app.core.disc.identity import DiscIdentity, descriptor_sectors, identify
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError, SectorSource, SourceError, SourceGone
from app.core.rescue import outputs
from app.core.rescue.types import DestinationError, RescueSettings, cannot_write

SAMPLES = 16
MORE_SAMPLES = 80  # when none of the first ones reads: spread wider before giving up


@dataclass
class Opened:
    fd: int  # the image, open read-write and locked for this run
    map: RangeMap
    plan: planmod.Plan
    claims: claimsmod.Claims
    identity: DiscIdentity | None
    capacity: int
    resumed: bool
    meta: dict[str, object]


def needs_cue(layout: DiscLayout) -> bool:
    """A plain .iso says everything about a single data session; more needs a cue sheet."""
    return len(layout.sessions) > 1 or bool(layout.audio_tracks)


def open_run(
    src: SectorSource,
    comp: Companions,
    force: bool,
    source_path: str | None,
    cfg: RescueSettings,
) -> Opened:
    capacity = src.sector_count
    layout = src.read_layout()
    if not layout.data_tracks:
        raise SourceError(
            f"{src.description} is an audio CD: it has no data track, so there is nothing to "
            "put in an .iso — audio CDs are not supported yet; no file was written"
        )
    if layout.end == 0 or (capacity == 0 and layout.is_flat):
        raise SourceGone(
            f"{src.description}: no disc, or nothing readable on it — insert a disc (or check "
            "the device) and try again"
        )
    outputs.check(source_path, comp, force, cue=needs_cue(layout))
    mf = _load_mapfile(comp.map) if os.path.exists(comp.map) and not force else None
    existed = os.path.exists(comp.image)
    try:
        fd = os.open(comp.image, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as e:
        raise DestinationError(cannot_write("the image", comp.image, e)) from e
    locked = False
    try:
        if not try_lock(fd):
            raise DestinationError(
                f"another DiscVault is already writing or verifying {comp.image} — wait for it "
                "to finish, or choose another name"
            )
        locked = True
        try:
            probe = _Probe(src)  # identity and claims read the same few sectors: once each
            identity = identify(layout, probe.read)
            found = claimsmod.find(layout, _reader(probe, fd, mf), max(capacity, layout.end))
            if mf is not None:
                _prove(src, comp, fd, existed, mf, identity, layout)
        except SourceGone as e:  # pulled while its descriptors were read
            raise SourceGone(
                f"{e} — put the disc back and run the same backup again (nothing was written)"
            ) from e
        at_least = mf.map.size if mf is not None else 0
        if at_least > max(capacity, layout.end, found.end):
            raise DestinationError(
                f"{comp.map} describes {at_least} sectors but this disc has "
                f"{max(capacity, layout.end)}: it belongs to another disc — move it away to "
                "start over"
            )
        plan = planmod.make(layout, found, capacity, at_least=at_least)
        rmap = _domain(mf, plan.sectors)
        if mf is None and existed and os.fstat(fd).st_size and not force:
            raise DestinationError(
                f"{comp.image} exists and has no mapfile: choose another name, or pass --force "
                "to overwrite it"
            )
        if mf is None and force:
            os.ftruncate(fd, 0)
        check_room(fd, comp.image, plan.sectors * src.sector_size)
        meta: dict[str, object] = {
            "identity": identity.to_json(),
            "layout": layout.to_json(),
            "not_data": plan.to_json(),
            "sectors": plan.sectors,
            "capacity": capacity,
        }
        return Opened(fd, rmap, plan, found, identity, capacity, mf is not None, meta)
    except BaseException:
        os.close(fd)
        if locked and not existed:
            with contextlib.suppress(OSError):  # nothing was written: leave no empty file
                if os.path.getsize(comp.image) == 0:
                    os.unlink(comp.image)
        raise


def _load_mapfile(path: str) -> mapfile.Mapfile:
    try:
        return mapfile.load(path, 2048)
    except mapfile.MapfileError as e:
        raise DestinationError(f"{e} — move it away to start over") from e


class _Probe:
    """Single-sector reads of the disc's descriptors, each sector read once."""

    def __init__(self, src: SectorSource) -> None:
        self.src = src
        self.seen: dict[int, bytes | ReadError] = {}

    def read(self, lba: int, count: int) -> bytes:
        if count != 1:
            return self.src.read(lba, count)
        got = self.seen.get(lba)
        if got is None:
            try:
                got = self.src.read(lba, 1)
            except ReadError as e:
                got = e
            self.seen[lba] = got
        if isinstance(got, ReadError):  # a fresh one each time: no shared traceback
            raise ReadError(got.lba, got.count, got.errno, got.good, got.kind)
        return got


def _reader(src: _Probe, fd: int, mf: mapfile.Mapfile | None) -> claimsmod.ReadFn:
    """Filesystem structures from the disc; where it no longer reads them, from the image
    (when the mapfile says they were rescued)."""

    def read(lba: int, count: int) -> bytes:
        try:
            return src.read(lba, count)
        except ReadError:
            if mf is None or lba >= mf.map.size or mf.map.status_at(lba) != FINISHED:
                raise
            data = pread(fd, 2048, lba * 2048)
            if len(data) < 2048:
                raise
            return data

    return read


def _prove(
    src: SectorSource,
    comp: Companions,
    fd: int,
    existed: bool,
    mf: mapfile.Mapfile,
    identity: DiscIdentity,
    layout: DiscLayout,
) -> None:
    start_over = f"choose another name, or move {comp.image} and {comp.map} away to start over"
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
    rescued = sum(e - s for s, e in finished) * src.sector_size
    if not existed:
        raise DestinationError(
            f"{comp.image} is missing, but {comp.map} says {human_bytes(rescued)} were rescued "
            f"into it — put the image back, or move {comp.map} away to start over"
        )
    need = finished[-1][1] * src.sector_size
    have = os.fstat(fd).st_size
    if have < need:
        raise DestinationError(
            f"{comp.image} is shorter than {comp.map} says ({have} of {need} bytes): it was "
            f"cut or replaced — put the whole image back, or move {comp.map} away to start over"
        )
    # Sectors in a hole of the image were never written (or were punched out): compared
    # first, they show an image that lost what the mapfile says it holds.
    picks = _hole_samples(fd, finished, src.sector_size) + _samples(finished, layout)
    compared = _compare(src, comp, fd, picks, start_over)
    if not compared:  # not one sampled sector read: look further before trusting anything
        compared = _compare(src, comp, fd, _samples(finished, layout, MORE_SAMPLES), start_over)
    if not compared:
        raise DestinationError(
            f"cannot check that {comp.image} holds this disc: none of the sectors {comp.map} "
            "says were rescued reads from the disc now (another disc, or a drive that cannot "
            f"read it) — try another drive, or {start_over}"
        )


def _compare(src: SectorSource, comp: Companions, fd: int, lbas: list[int], start_over: str) -> int:
    """Compare ``lbas`` between the disc and the image; how many could be read from the disc."""
    compared = 0
    for lba in dict.fromkeys(lbas):
        try:
            disc = src.read(lba, 1)
        except ReadError:
            continue
        compared += 1
        if pread(fd, src.sector_size, lba * src.sector_size).ljust(len(disc), b"\0") != disc:
            raise DestinationError(
                f"{comp.image} does not hold this disc's data (sector {lba} differs): it "
                f"belongs to another disc or was changed — {start_over}"
            )
    return compared


def _hole_samples(fd: int, finished: list[tuple[int, int]], ss: int) -> list[int]:
    """The first sector of each finished run that lies in a hole of the (sparse) image, up to
    SAMPLES of them. DiscVault writes every sector it rescues, zeros included, so such a
    sector was lost since; a copy made sparse (rsync -S) has holes only where the disc holds
    zeros, and those compare equal."""
    picks: list[int] = []
    if not hasattr(os, "SEEK_HOLE"):
        return picks
    size = os.fstat(fd).st_size
    pos = i = 0
    try:
        for _ in range(4096):  # a hole per call: bounded on any file
            hole = os.lseek(fd, pos, os.SEEK_HOLE)
            if hole >= size:
                break
            try:
                pos = os.lseek(fd, hole, os.SEEK_DATA)
            except OSError:  # ENXIO: the hole runs to the end of the file
                pos = size
            lo, hi = -(-hole // ss), pos // ss  # sectors wholly inside the hole
            while i < len(finished) and finished[i][1] <= lo:  # both in order: one walk
                i += 1
            j = i
            while j < len(finished) and finished[j][0] < hi:
                if max(finished[j][0], lo) < min(finished[j][1], hi):
                    picks.append(max(finished[j][0], lo))
                j += 1
            if len(picks) >= SAMPLES or pos >= size:
                break
    except OSError:  # no hole support here: every sector counts as written
        return []
    return picks[:SAMPLES]


def _samples(
    finished: list[tuple[int, int]], layout: DiscLayout, count: int = SAMPLES
) -> list[int]:
    """Finished sectors worth comparing: the descriptors, then sectors spread over the rest."""

    def done(lba: int) -> bool:
        return any(s <= lba < e for s, e in finished)

    picks = [lba for lba in descriptor_sectors(layout) if done(lba)][: SAMPLES // 2]
    total = sum(e - s for s, e in finished)
    for k in range(count - len(picks)):
        n = total * k // (count - len(picks))
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


def check_room(fd: int, image: str, size: int) -> None:
    need = size - os.fstat(fd).st_blocks * 512
    free = _free_bytes(image)
    if free is not None and need > free:
        raise DestinationError(
            f"not enough space for {image}: needs {human_bytes(need)}, {human_bytes(free)} "
            "free — free some space or choose another folder"
        )


def size_image(fd: int, image: str, size: int) -> None:
    """Grow the image to its domain (sparse). Done after the first mapfile is saved: a kill
    in between must never leave a full-size image that no mapfile vouches for."""
    if os.fstat(fd).st_size < size:
        try:
            os.ftruncate(fd, size)
        except OSError as e:
            raise DestinationError(cannot_write("the image", image, e)) from e


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize
