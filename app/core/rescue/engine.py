"""The rescue engine: one object owns a run's whole lifetime (open, passes, hashes, finish).

What it images comes from the disc's layout and its filesystems (``app.core.disc.plan``), never
from the first volume descriptor alone. How it reads is in ``passes.py``; how a run proves it
may resume is in ``resume.py``.

Invariants that make a kill at any instant safe: a sector is marked finished only after its
data was written; the mapfile is written atomically after the image was flushed; and every exit
path (end, error, cancel, disc removed, disk full) saves the mapfile before returning.
"""

from __future__ import annotations

import os
import time

from app.core.base import mapfile
from app.core.base.companions import Companions
from app.core.base.events import (
    Cancelled,
    CancelToken,
    FinishEarly,
    Progress,
    ProgressCallback,
    no_progress,
)
from app.core.base.hashing import ImageHasher
from app.core.base.outcome import Outcome
from app.core.base.rangemap import BAD, FINISHED, NON_SCRAPED, NON_TRIED, NON_TRIMMED, RangeMap
from app.core.base.units import PHASE_WORDS
from app.core.base.writebehind import WriteBehind
from app.core.disc.plan import Kind
from app.core.disc.sources import ReadError, SectorSource, SourceError, SourceGone
from app.core.rescue.hashes import Hashing
from app.core.rescue.output import FileResult, PartHasher
from app.core.rescue.passes import Passes, clip, clip_tagged
from app.core.rescue.resume import Opened, open_run
from app.core.rescue.types import (
    DestinationError,
    PassRecord,
    RescueResult,
    RescueSettings,
    cannot_write,
    marker_sector,
)


class Protected(Exception):
    """The drive refused sectors for copy protection: stop, this is neither damage nor
    something a retry changes."""


class Engine(Hashing, Passes):
    def __init__(
        self,
        source: SectorSource,
        image_path: str,
        map_path: str = "",
        settings: RescueSettings | None = None,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        *,
        command_line: str = "",
        force: bool = False,
        report_path: str = "",
        source_path: str | None = None,
        keep_lock: bool = False,
        fmt: str = "iso",
        notes: list[str] | None = None,
    ) -> None:
        self.src = source
        self.fmt = fmt
        self.notes = list(notes or [])
        self.ss = source.sector_size
        self.comp = Companions.of(image_path, map_path, report_path)
        self.image_path = image_path
        self.map_path = self.comp.map
        self.cfg = settings or RescueSettings()
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self.command_line = command_line
        self.force = force
        self.source_path = source_path
        self.start_time = time.time()
        self.t0 = time.monotonic()
        self.passes: list[PassRecord] = []
        self.reads = self.failed = 0
        self.phase = "copy"
        self.pass_no = 0  # the pass in progress, 1-based once the first begins
        self.pass_count = 3 + 3 + self.cfg.retries
        self.pos = 0
        self.hasher: PartHasher | None = None  # in LBA order: hashes as the data arrives
        self.image_hasher: ImageHasher | None = None  # out of order: hashes the image meanwhile
        self.hash_handover = 0
        self.rate = 0.0
        self._rate_mark = (self.t0, 0)
        self._last_emit = 0.0
        self._last_save = self.t0
        self._dirty = False
        # keep_lock: the image stays locked after run() until release(), while the caller
        # writes the report and checksum files (a verify meanwhile would compare a new image
        # with the previous run's checksum files).
        self.keep_lock = keep_lock
        self.lock_fds: list[int] = []
        self.writes: WriteBehind | None = None  # the copy pass writes while it reads on
        self.fail_seconds = 0.0  # time spent in failed reads: what a retry costs, measured
        self.pass_left = 0  # reads left in a sector-by-sector pass

    # ---- the run ------------------------------------------------------------------------------
    def run(self) -> RescueResult:
        """Rescue the source into the image; resumes when the mapfile exists.

        Raises ``DestinationError`` / ``SourceError`` / ``UsageError`` only before anything was
        written; once the run has started every problem comes back as the result's outcome
        with the mapfile saved."""
        self.open()
        outcome, message = Outcome.COMPLETE, ""
        files: list[FileResult] = []
        hashes_from = ""
        early = ""
        try:
            try:
                self.copy_pass(self.data_windows, forward=True, skipping=True)
                self.copy_pass(self.data_windows, forward=False, skipping=True)
                self.copy_pass(self.data_windows, forward=True, skipping=False)
                self.copy_pass(self.once_windows, forward=True, skipping=False, phase="once")
                self._settle_writes()  # the image hash reads what the copy passes wrote
                self.start_image_hash()
                self.trim_pass()
                self.settle_not_data()
                self.scrape_pass()
                self.retry_passes()
            except FinishEarly as e:
                early = str(e)
            if self.cfg.fill == "marker":
                self.fill_markers()
            self.phase = "done"
            self.save()
            self.image_sectors = self.opened.plan.image_end(self.map, self.opened.claims.end)
            self.out.image_end(self.image_sectors)
            self.out.finish(self.image_sectors)
            files, hashes_from = self.finish_hashes()
            damaged = self.opened.plan.damaged(self.map)
            if damaged:
                outcome = Outcome.INCOMPLETE
                message = f"{damaged} data sector{'s' if damaged != 1 else ''} unreadable"
            if early:
                message = (
                    f"{early}: {damaged} data sector{'s' if damaged != 1 else ''} not read or "
                    "not retried — run the same backup again to go on, or try another drive "
                    "(another drive often reads what this one cannot)"
                )
        except Cancelled:
            outcome, message = Outcome.CANCELLED, "stopped — run the same backup again to resume"
        except Protected as e:
            outcome, message = Outcome.PROTECTED, str(e)
        except SourceGone as e:
            outcome = Outcome.SOURCE_GONE
            message = (
                f"{e}. Put the disc back and run the same backup again — "
                "nothing read so far is lost."
            )
        except SourceError as e:
            outcome, message = Outcome.SOURCE_GONE, f"{e}. Run the same backup again to resume."
        except DestinationError as e:
            outcome, message = Outcome.DESTINATION_ERROR, str(e)
        finally:
            if self.hasher is not None:
                self.hasher.abort()
            if self.image_hasher is not None:
                self.image_hasher.abort()
            try:
                if self.phase not in ("done", "hash"):
                    self.save()
            except (DestinationError, OSError) as e:
                # The previous mapfile is still whole (atomic save): at most seconds are lost.
                message += f" (mapfile not updated: {e})"
            self._dirty = False  # saved, or reported as not saved: never retried on a closed fd
            if self.writes is not None:
                self.writes.close()
            self.out.close()  # releases the locks too, unless keep_lock holds them
            self.src.set_phase("done")
            self.emit(time.monotonic())
        o = self.opened
        return RescueResult(
            outcome=outcome,
            message=message,
            plan=o.plan,
            claims=o.claims,
            identity=o.identity,
            capacity=o.capacity,
            sector_size=self.ss,
            sectors=self.total,
            image_sectors=self.image_sectors,
            map=self.map,
            resumed=o.resumed,
            hashes=files[0].hashes if len(files) == 1 and self.out.format == "iso" else None,
            hashes_from=hashes_from,
            files=files,
            output=self.out,
            unchecked=self.unchecked,
            proof=_proof_counts(self.src),
            passes=self.passes,
            reads=self.reads,
            failed_reads=self.failed,
            duration=time.monotonic() - self.t0,
            settings=self.cfg,
            source_notes=self.notes + list(getattr(self.src, "notes", [])),
            trailing_bytes=int(getattr(self.src, "trailing_bytes", 0)),
            protection=self.src.protection,
        )

    def open(self) -> None:
        o = open_run(self.src, self.comp, self.force, self.source_path, self.cfg, self.fmt)
        self.opened = o
        self.out = o.out
        self.map = o.map
        # Sectors kept without a proof of their own (see rawsource): recorded in the mapfile,
        # so a resumed run still knows which of the earlier run's sectors were not proven.
        self.unchecked = RangeMap(self.map.size, "c")
        for a, b in _runs_of(o.meta.pop("unchecked_prior", None)):
            self.unchecked.set(a, b, "u")
        self.total = o.map.size
        self.image_sectors = self.total
        self.data_windows = o.plan.runs(Kind.DATA)
        self.once_windows = o.plan.runs(Kind.RUNOUT, Kind.GAP)
        self._audio = sum(e - s for s, e in o.plan.runs(Kind.AUDIO))
        if self.map.count(NON_TRIED)[0] == self.total:
            self.hasher = PartHasher(list(self.out.parts), self.ss)
        try:
            if self.keep_lock:  # flock goes with the open file: a duplicate holds it on
                self.lock_fds = [os.dup(fd) for fd in self.out.fds]
            self.save()  # the mapfile exists from the first second: resume is always possible
            self.out.allocate()
        except DestinationError:
            self.out.abandon()  # files this run created and left empty go
            self.release()
            raise
        if self.out.single_file:  # a BIN/CUE's many files are written in place
            self.writes = WriteBehind(self.out.fds[0], self.ss, self.write)

    def release(self) -> None:
        """Unlock the image (kept locked after run() with ``keep_lock``)."""
        for fd in self.lock_fds:
            os.close(fd)
        self.lock_fds = []

    # ---- I/O ----------------------------------------------------------------------------------
    def write(self, lba: int, data: bytes) -> None:
        self.out.write(lba, data)
        if self.image_hasher is not None:
            self.image_hasher.changed(lba * self.ss)

    def attempt(self, lba: int, count: int, rec: PassRecord) -> int:
        """Read ``count`` sectors at ``lba``; store what was read; return good sectors."""
        if self.cancel.paused:
            self.save()  # a paused backup is a resumable one, whatever happens next
            self.emit(time.monotonic())
            self.cancel.wait_while_paused()
            self._rate_mark = (time.monotonic(), self._rate_mark[1])
        self.cancel.raise_if_cancelled()
        self._check_budget()
        self.pos = lba
        self.reads += 1
        rec.reads += 1
        t0 = time.monotonic()
        try:
            data = self.src.read(lba, count)
        except ReadError as e:
            self.failed += 1
            self.fail_seconds += time.monotonic() - t0
            if self.hasher is not None and self.out.single_file:
                # A damaged disc: trim, scrape and retries will wait on the drive, and the
                # image is hashed then (start_image_hash), going on from here; hashing on
                # meanwhile would take the CPU from the copy pass's reads.
                self.hasher.stop()
            rec.failed_reads += 1
            data = e.good
            if e.kind == "protected":
                self._store(lba, data, rec)
                raise Protected(
                    f"the drive refuses sector {lba + len(data) // self.ss} for copy protection"
                    f"{' (CSS)' if self.src.protection else ''}: DiscVault does not circumvent "
                    "copy protection — what could be read is kept"
                ) from e
        good = self._store(lba, data, rec)
        self.tick()
        return good

    def _check_budget(self) -> None:
        if self.cancel.finishing:
            raise FinishEarly(self.cancel.reason or "finished early at your request")
        cfg = self.cfg
        if cfg.max_time is not None and time.monotonic() - self.t0 >= cfg.max_time:
            raise FinishEarly(f"the time budget ({cfg.max_time:g} s) is used up")
        if cfg.max_failed_reads is not None and self.failed >= cfg.max_failed_reads:
            raise FinishEarly(f"the budget of {cfg.max_failed_reads} failed reads is used up")

    def _store(self, lba: int, data: bytes, rec: PassRecord) -> int:
        good = len(data) // self.ss
        if good:
            for a, b in getattr(self.src, "unchecked", ()):
                self.unchecked.set(max(a, lba), min(b, lba + good), "u")
            # Written behind only in a forward copy sweep, whose reads never come back to a
            # sector queued and not yet marked finished; a reverse sweep reads a failed
            # cluster's tail from the run's end and would read a queued good head again.
            if self.writes is not None and self.phase == "copy" and rec.direction == "forward":
                self.writes.put(lba, data)  # finished once written: _settle_writes
                self._settle_writes(wait=False)
            else:
                self.write(lba, data)
                self.map.set(lba, lba + good, FINISHED)
            rec.recovered_sectors += good  # only unfinished sectors are ever read
            self._dirty = True
            self._feed_hash(lba, data)
        return good

    def _settle_writes(self, wait: bool = True) -> None:
        """Mark finished what the write-behind thread has written (all of it when ``wait``)."""
        if self.writes is not None:
            for lba, n in self.writes.drain() if wait else self.writes.done():
                self.map.set(lba, lba + n, FINISHED)

    def save(self) -> None:
        # Image first, then the mapfile that vouches for it.
        self._settle_writes()
        self.out.sync()
        self.opened.meta["unchecked"] = [[a, b] for a, b in self.unchecked.runs_with("u")]
        mf = mapfile.Mapfile(
            self.map,
            self.ss,
            self.pos * self.ss,
            mapfile.PHASE_STATUS.get(self.phase, "?"),
            max(self.pass_no, 1),
            meta=self.opened.meta,
        )
        text = mapfile.format_mapfile(
            mf, command_line=self.command_line, start_time=self.start_time, phase=self.phase
        )
        try:
            mapfile.save_atomic(self.map_path, text)
        except OSError as e:
            raise DestinationError(cannot_write("the mapfile", self.map_path, e)) from e
        self._last_save = time.monotonic()
        self._dirty = False

    # ---- progress -----------------------------------------------------------------------------
    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._dirty and now - self._last_save >= self.cfg.save_interval:
            self.save()
        if force or now - self._last_emit >= 0.1:
            self._last_emit = now
            self.emit(now)

    def tally(self) -> tuple[int, int, int, int, int]:
        """(finished, unreadable data, pending data, unreadable not-data, bad data areas)."""
        done = bad = pending = not_data = areas = 0
        tried: list[tuple[int, int, str]] = []
        for s, e, st in self.map.runs():
            if st == FINISHED:
                done += e - s
            elif st != NON_TRIED:
                tried.append((s, e, st))
        # One merge over all runs, not one clip per run: this runs ten times a second, and a
        # scratched disc's map has thousands of runs (a retry's reads are waited for meanwhile)
        for lo, hi, st in clip_tagged(tried, self.data_windows):
            if st == BAD:
                bad += hi - lo
                areas += 1
            else:
                pending += hi - lo
        for lo, hi, _ in clip_tagged(tried, self.once_windows):
            not_data += hi - lo
        return done, bad, pending, not_data, areas

    def emit(self, now: float) -> None:
        done, bad, pending, not_data, areas = self.tally()
        ss = self.ss
        t_mark, b_mark = self._rate_mark
        if now - t_mark >= 0.5 and not self.cancel.paused:
            inst = (done * ss - b_mark) / (now - t_mark)
            self.rate = inst if self.rate == 0 else 0.5 * self.rate + 0.5 * inst
            self._rate_mark = (now, done * ss)
        eta = self._eta()
        self.progress(
            Progress(
                phase=self.phase,
                pass_no=self.pass_no,
                pass_count=self.pass_count,
                position=self.pos * ss,
                total=(self.total - self._audio) * ss,
                done=done * ss,
                bad=bad * ss,
                bad_areas=areas,
                # As 2048-byte sectors/s: a raw read's 75 sectors/s is 1x, as for any CD
                rate=self.rate * 2048 / ss if self.phase in ("copy", "once") else 0.0,
                eta_seconds=eta,
                message="paused" if self.cancel.paused else "",
                # The plan (what is data, run-out, gap, audio) so a view can show the layout
                # while the rescue runs; fail_seconds: what failed reads cost, measured.
                extra={
                    "map": self.map.copy(),
                    "failed_reads": self.failed,
                    "reads": self.reads,
                    "plan": self.opened.plan,
                    "fail_seconds": self.fail_seconds,
                },
                pending=pending * ss,
                not_data=not_data * ss,
                medium=self.src.medium if self.src.is_drive else None,
                paused=self.cancel.paused,
                phase_label=PHASE_WORDS.get(self.phase, self.phase),
            )
        )

    def _eta(self) -> float | None:
        """Copy: what is left at the measured rate. Trim, scrape, retry: the reads left, each
        costing what a failed read has cost so far (on a real drive, seconds)."""
        if self.phase == "copy":
            runs = clip(self.map.runs_with(NON_TRIED), self.data_windows)
            left = sum(hi - lo for lo, hi in runs)
            return left * self.ss / self.rate if self.rate > 0 else None
        if self.phase not in ("trim", "scrape", "retry") or not self.failed:
            return None
        cost = self.fail_seconds / self.failed
        if self.phase == "trim":
            reads = 2 * len(clip(self.map.runs_with(NON_TRIMMED), self.data_windows))
        elif self.phase == "scrape":
            runs = clip(self.map.runs_with(NON_SCRAPED), self.data_windows)
            reads = sum(h - lo for lo, h in runs)
        else:
            reads = self.pass_left
        return reads * cost

    # ---- passes' bookkeeping ------------------------------------------------------------------
    def begin(self, phase: str, direction: str) -> PassRecord:
        self._settle_writes()  # each pass sees the map whole
        self.phase = phase
        self.src.set_phase("copy" if phase == "once" else phase)
        self.pass_no += 1
        rec = PassRecord(phase, self.pass_no, direction)
        self.passes.append(rec)
        self.tick(force=True)
        return rec

    def fill_markers(self) -> None:
        self._settle_writes()
        runs = self.map.runs_with(BAD + NON_SCRAPED + NON_TRIMMED + NON_TRIED)
        for lo, hi in clip(runs, self.data_windows):
            for lba in range(lo, hi):
                self.write(lba, marker_sector(lba, self.ss))


def _runs_of(doc: object) -> list[tuple[int, int]]:
    if not isinstance(doc, list):
        return []
    out = []
    for item in doc:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, int) for x in item):
            out.append((item[0], item[1]))
    return out


def _proof_counts(src: SectorSource) -> dict[str, int]:
    proof = getattr(src, "proof", None)
    if proof is None:
        return {}
    transport = getattr(src, "transport", None)
    return {**proof.to_json(), "c2": int(bool(getattr(transport, "c2", False)))}


def rescue(
    source: SectorSource,
    image_path: str,
    map_path: str | None = None,
    settings: RescueSettings | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    *,
    command_line: str = "",
    force: bool = False,
) -> RescueResult:
    """``Engine(...).run()`` for callers that need nothing else."""
    return Engine(
        source,
        image_path,
        map_path or "",
        settings,
        progress,
        cancel,
        command_line=command_line,
        force=force,
    ).run()


__all__ = ["DestinationError", "Engine", "Opened", "RescueResult", "RescueSettings", "rescue"]
