"""The multi-pass rescue engine: GNU ddrescue's strategy, tuned for optical media.

1. copy   — forward, growing reads on clean media; on an error, mark the cluster non-trimmed and
            skip ahead (doubling up to 1 % of the disc); then a reverse sweep and a plain sweep
            over what was skipped.
2. trim   — from both edges of each non-trimmed run, sector by sector until a bad sector.
3. scrape — each remaining sector of non-scraped runs, once.
4. retry  — up to N passes over bad sectors, alternating direction, until one recovers nothing.

Invariants that make a kill at any instant safe: a sector is marked finished only after its
data was written; the mapfile is written atomically after the image was flushed; and every exit
path (end, error, cancel, disc removed, disk full) saves the mapfile before returning.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core import discsize, mapfile
from app.core.events import Cancelled, CancelToken, Progress, ProgressCallback, no_progress
from app.core.hashing import StreamHasher, hash_file
from app.core.rangemap import BAD, FINISHED, NON_SCRAPED, NON_TRIED, NON_TRIMMED, RangeMap
from app.core.sources import ReadError, SectorSource, SourceError, SourceGone


class DestinationError(Exception):
    """The image or mapfile cannot be written (disk full, permission, wrong file)."""


@dataclass
class RescueSettings:
    cluster: int = 32  # sectors per read at the start and near errors (64 KiB)
    max_cluster: int = 512  # reads grow to this on clean media (1 MiB)
    retries: int = 3
    fill: str = "zero"  # or "marker": unreadable sectors carry a recognisable text
    save_interval: float = 5.0
    skip_max_fraction: float = 0.01


@dataclass
class PassRecord:
    phase: str
    pass_no: int
    direction: str
    reads: int = 0
    failed_reads: int = 0
    recovered_sectors: int = 0
    seconds: float = 0.0


@dataclass
class RescueResult:
    outcome: str  # "complete", "incomplete", "cancelled", "source_gone", "destination_error"
    message: str
    size: discsize.DiscSize
    sector_size: int
    sectors: int
    map: RangeMap
    resumed: bool
    hashes: dict[str, str] | None = None
    hashes_from: str = ""  # "stream" (while reading) or "image" (finished image file)
    passes: list[PassRecord] = field(default_factory=list)
    reads: int = 0
    failed_reads: int = 0
    duration: float = 0.0
    settings: RescueSettings = field(default_factory=RescueSettings)

    @property
    def bad_ranges(self) -> list[tuple[int, int]]:
        """Every run that is not finished, as (first LBA, count)."""
        return [(s, e - s) for s, e, st in self.map.runs() if st != FINISHED]

    @property
    def rescued_sectors(self) -> int:
        return self.map.count(FINISHED)[0]


MARKER = b"DISCVAULT: UNREADABLE SECTOR "


def marker_sector(lba: int, size: int) -> bytes:
    """A sector that says what it is, so a damaged file shows where it was damaged."""
    line = MARKER + f"LBA {lba:10d}\n".encode()
    return (line * (size // len(line) + 1))[:size]


class _Rescue:
    def __init__(
        self,
        source: SectorSource,
        image_path: str,
        map_path: str,
        settings: RescueSettings,
        progress: ProgressCallback,
        cancel: CancelToken,
        command_line: str,
        force: bool,
    ) -> None:
        self.src = source
        self.ss = source.sector_size
        self.image_path = image_path
        self.map_path = map_path
        self.cfg = settings
        self.progress = progress
        self.cancel = cancel
        self.command_line = command_line
        self.force = force
        self.start_time = time.time()
        self.t0 = time.monotonic()
        self.passes: list[PassRecord] = []
        self.reads = self.failed = 0
        self.phase = "copy"
        self.pass_no = 0  # the pass in progress, 1-based once the first begins
        self.pass_count = 3 + 2 + settings.retries
        self.pos = 0
        self.hasher: StreamHasher | None = None
        self.hash_next = 0
        self.rate = 0.0
        self._rate_mark = (self.t0, 0)
        self._last_emit = 0.0
        self._last_save = self.t0
        self._dirty = False

    # ---- setup -------------------------------------------------------------------------
    def open(self) -> None:
        self.size = discsize.determine(self.src)
        total = self.size.sectors
        if total == 0:
            raise SourceGone(f"{self.src.description}: no disc, or nothing readable on it")
        self.resumed = os.path.exists(self.map_path) and not self.force
        if self.resumed:
            try:
                mf = mapfile.load(self.map_path, self.ss)
            except mapfile.MapfileError as e:
                raise DestinationError(f"{e} — move it away to start over") from e
            if mf.map.size != total:
                if mf.map.size > self.size.capacity or mf.map.size == 0:
                    raise DestinationError(
                        f"{self.map_path} describes {mf.map.size} sectors but this disc has "
                        f"{self.size.capacity}: it belongs to another disc"
                    )
                total = mf.map.size  # trust the earlier run's domain (e.g. ddrescue's)
                self.size = discsize.DiscSize(
                    total, self.size.capacity, self.size.filesystem, "mapfile", self.size.note
                )
            self.map = mf.map
        else:
            if os.path.exists(self.image_path) and not self.force:
                raise DestinationError(
                    f"{self.image_path} exists and has no mapfile: choose another name, "
                    "or pass --force to overwrite it"
                )
            self.map = RangeMap(total)
        self.total = total
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
            if self.force and not self.resumed:
                flags |= os.O_TRUNC
            self.img = os.open(self.image_path, flags, 0o644)
        except OSError as e:
            raise DestinationError(f"{self.image_path}: {e.strerror}") from e
        st = os.fstat(self.img)
        need = total * self.ss - st.st_blocks * 512
        free = _free_bytes(self.image_path)
        if free is not None and need > free:
            os.close(self.img)
            raise DestinationError(
                f"not enough space for {self.image_path}: needs {_mb(need)}, {_mb(free)} free — "
                "free some space or choose another folder"
            )
        if st.st_size < total * self.ss:
            os.ftruncate(self.img, total * self.ss)
        if self.map.count(NON_TRIED)[0] == total:
            self.hasher = StreamHasher()
        self.save()  # the mapfile exists from the first second: resume is always possible

    # ---- I/O ---------------------------------------------------------------------------
    def write(self, lba: int, data: bytes) -> None:
        try:
            view = memoryview(data)
            off = lba * self.ss
            while view:
                n = os.pwrite(self.img, view, off)
                view, off = view[n:], off + n
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DestinationError(
                    f"the disk holding {self.image_path} is full — free some space and run "
                    "the same backup again to resume"
                ) from e
            raise DestinationError(f"{self.image_path}: {e.strerror}") from e

    def attempt(self, lba: int, count: int, rec: PassRecord) -> int:
        """Read ``count`` sectors at ``lba``; store what was read; return good sectors."""
        if self.cancel.paused:
            self.save()  # a paused backup is a resumable one, whatever happens next
            self.emit(time.monotonic(), "paused")
            self.cancel.wait_while_paused()
        self.cancel.raise_if_cancelled()
        self.pos = lba
        self.reads += 1
        rec.reads += 1
        try:
            data = self.src.read(lba, count)
        except ReadError as e:
            self.failed += 1
            rec.failed_reads += 1
            data = e.good
        good = len(data) // self.ss
        if good:
            self.write(lba, data)
            self.map.set(lba, lba + good, FINISHED)
            rec.recovered_sectors += good  # only unfinished sectors are ever read
            self._dirty = True
            self._feed_hash(lba, data)
        self.tick()
        return good

    def _feed_hash(self, lba: int, data: bytes) -> None:
        if self.hasher is None:
            return
        if lba == self.hash_next:
            self.hasher.update(data)
            self.hash_next += len(data) // self.ss
        else:  # out of order: hashes will come from the finished image instead
            self.hasher.abort()
            self.hasher = None

    def save(self) -> None:
        # Image first, then the mapfile that vouches for it.
        os.fdatasync(self.img) if hasattr(os, "fdatasync") else os.fsync(self.img)
        mf = mapfile.Mapfile(
            self.map,
            self.ss,
            self.pos * self.ss,
            mapfile.PHASE_STATUS[self.phase],
            max(self.pass_no, 1),
        )
        text = mapfile.format_mapfile(
            mf, command_line=self.command_line, start_time=self.start_time, phase=self.phase
        )
        try:
            mapfile.save_atomic(self.map_path, text)
        except OSError as e:
            raise DestinationError(f"cannot save {self.map_path}: {e.strerror}") from e
        self._last_save = time.monotonic()
        self._dirty = False

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._dirty and now - self._last_save >= self.cfg.save_interval:
            self.save()
        if force or now - self._last_emit >= 0.1:
            self._last_emit = now
            self.emit(now)

    def emit(self, now: float, message: str = "") -> None:
        counts = self.map.counts()
        done_bytes = counts[FINISHED] * self.ss
        t_mark, b_mark = self._rate_mark
        if now - t_mark >= 0.5:
            inst = (done_bytes - b_mark) / (now - t_mark)
            self.rate = inst if self.rate == 0 else 0.5 * self.rate + 0.5 * inst
            self._rate_mark = (now, done_bytes)
        remaining = counts[NON_TRIED] * self.ss
        eta = remaining / self.rate if self.rate > 0 and self.phase == "copy" else None
        bad = (counts[BAD] + counts[NON_SCRAPED] + counts[NON_TRIMMED]) * self.ss
        areas = sum(1 for _, _, st in self.map.runs() if st in (BAD, NON_SCRAPED, NON_TRIMMED))
        self.progress(
            Progress(
                phase=self.phase,
                pass_no=self.pass_no,
                pass_count=self.pass_count,
                position=self.pos * self.ss,
                total=self.total * self.ss,
                done=done_bytes,
                bad=bad,
                bad_areas=areas,
                rate=self.rate,
                eta_seconds=eta,
                message=message,
                extra={"map": self.map.copy(), "failed_reads": self.failed, "reads": self.reads},
            )
        )

    # ---- passes ------------------------------------------------------------------------
    def begin(self, phase: str, direction: str) -> PassRecord:
        self.phase = phase
        self.pass_no += 1
        rec = PassRecord(phase, self.pass_no, direction)
        self.passes.append(rec)
        self.tick(force=True)
        return rec

    def end(self, rec: PassRecord, started: float) -> None:
        rec.seconds = time.monotonic() - started

    def copy_pass(self, forward: bool, skipping: bool) -> None:
        if not self.map.count(NON_TRIED)[0]:
            return
        started = time.monotonic()
        rec = self.begin("copy", "forward" if forward else "reverse")
        cl = self.cfg.cluster
        size, skip = cl, cl
        skip_max = max(cl, int(self.total * self.cfg.skip_max_fraction))
        pos = 0 if forward else self.total
        careful = pos  # inside a big read that failed: stay small until past it
        while (run := self.map.next_run(pos, NON_TRIED, forward)) is not None:
            lo, hi = run
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
        self.end(rec, started)

    def trim_pass(self) -> None:
        runs = self.map.runs_with(NON_TRIMMED)
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
        self.end(rec, started)

    def scrape_pass(self) -> None:
        runs = self.map.runs_with(NON_SCRAPED)
        if not runs:
            return
        started = time.monotonic()
        rec = self.begin("scrape", "forward")
        for lo, hi in runs:
            for lba in range(lo, hi):
                if not self.attempt(lba, 1, rec):
                    self.map.set(lba, lba + 1, BAD)
                    self._dirty = True
        self.end(rec, started)

    def retry_passes(self) -> None:
        for i in range(self.cfg.retries):
            runs = self.map.runs_with(BAD)
            if not runs:
                break
            forward = i % 2 == 1  # first retry backwards: the scrape just went forwards
            started = time.monotonic()
            rec = self.begin("retry", "forward" if forward else "reverse")
            lbas = [lba for lo, hi in runs for lba in range(lo, hi)]
            for lba in lbas if forward else reversed(lbas):
                self.src.prepare_retry(lba)
                self.attempt(lba, 1, rec)
            self.end(rec, started)
            if rec.recovered_sectors == 0:
                break  # a whole pass with nothing back: more passes only wear the drive

    def fill_markers(self) -> None:
        for lo, hi in self.map.runs_with(BAD + NON_SCRAPED + NON_TRIMMED + NON_TRIED):
            for lba in range(lo, hi):
                self.write(lba, marker_sector(lba, self.ss))

    def finish_hashes(self) -> tuple[dict[str, str] | None, str]:
        if self.hasher is not None and self.hash_next == self.total:
            hashes = self.hasher.finish()
            self.hasher = None
            return hashes, "stream"
        if self.hasher is not None:
            self.hasher.abort()
            self.hasher = None
        self.phase = "hash"
        os.fsync(self.img)
        total = self.total * self.ss

        def on_bytes(done: int) -> None:
            now = time.monotonic()
            if now - self._last_emit >= 0.1:
                self._last_emit = now
                self.progress(
                    Progress(
                        "hash",
                        self.pass_no,
                        self.pass_count,
                        done,
                        total,
                        done,
                        0,
                        0,
                        0.0,
                        None,
                        "computing checksums from the image",
                    )
                )

        from_image = hash_file(
            self.image_path, on_bytes=on_bytes, should_stop=lambda: self.cancel.cancelled
        )
        if from_image is None:
            raise Cancelled(self.cancel.reason)
        return from_image, "image"


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


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
    on_finished: Callable[[RescueResult], None] | None = None,
) -> RescueResult:
    """Rescue ``source`` into ``image_path``; resumes when ``map_path`` exists.

    Raises ``DestinationError`` / ``SourceError`` only before anything was written; once the
    run has started every problem comes back as the result's ``outcome`` with the mapfile saved.
    """
    cfg = settings or RescueSettings()
    job = _Rescue(
        source,
        image_path,
        map_path or image_path + ".map",
        cfg,
        progress,
        cancel or CancelToken(),
        command_line,
        force,
    )
    job.open()
    outcome, message = "complete", ""
    hashes: dict[str, str] | None = None
    hashes_from = ""
    try:
        job.copy_pass(forward=True, skipping=True)
        job.copy_pass(forward=False, skipping=True)
        job.copy_pass(forward=True, skipping=False)
        job.trim_pass()
        job.scrape_pass()
        job.retry_passes()
        if cfg.fill == "marker":
            job.fill_markers()
        job.phase = "done"
        job.save()
        hashes, hashes_from = job.finish_hashes()
        bad = job.total - job.map.count(FINISHED)[0]
        if bad:
            outcome, message = "incomplete", f"{bad} sector(s) unreadable"
    except Cancelled:
        outcome, message = "cancelled", "stopped — run the same backup again to resume"
    except SourceGone as e:
        outcome, message = (
            "source_gone",
            (
                f"{e}. Put the disc back and run the same backup again — "
                "nothing read so far is lost."
            ),
        )
    except SourceError as e:
        outcome, message = "source_gone", f"{e}. Run the same backup again to resume."
    except DestinationError as e:
        outcome, message = "destination_error", str(e)
    finally:
        if job.hasher is not None:
            job.hasher.abort()
        try:
            if job.phase not in ("done", "hash"):
                job.save()
        except (DestinationError, OSError) as e:
            # The previous mapfile is still whole (atomic save): at most seconds are lost.
            message += f" (mapfile not updated: {e})"
        os.close(job.img)
        job.tick(force=True)
    result = RescueResult(
        outcome=outcome,
        message=message,
        size=job.size,
        sector_size=job.ss,
        sectors=job.total,
        map=job.map,
        resumed=job.resumed,
        hashes=hashes,
        hashes_from=hashes_from,
        passes=job.passes,
        reads=job.reads,
        failed_reads=job.failed,
        duration=time.monotonic() - job.t0,
        settings=cfg,
    )
    if on_finished is not None:
        on_finished(result)
    return result
