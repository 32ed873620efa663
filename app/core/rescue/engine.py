"""The rescue engine's state and passes (copy, trim, scrape, retry); ``rescue.py`` runs them.

Invariants that make a kill at any instant safe: a sector is marked finished only after its
data was written; the mapfile is written atomically after the image was flushed; and every exit
path saves the mapfile before returning (see ``rescue()``).
"""

from __future__ import annotations

import errno
import os
import time

from app.core.base import mapfile
from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback
from app.core.base.hashing import StreamHasher, hash_file
from app.core.base.rangemap import BAD, FINISHED, NON_SCRAPED, NON_TRIED, NON_TRIMMED, RangeMap
from app.core.disc import discsize
from app.core.disc.sources import ReadError, SectorSource, SourceGone
from app.core.rescue.types import DestinationError, PassRecord, RescueSettings, marker_sector


class Engine:
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
        self.src.set_phase(phase)
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
