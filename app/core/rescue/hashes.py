"""A backup's checksums, mixed into ``Engine``: streamed per file while a clean disc reads in
LBA order; else, for a single-file image, hashed from the image while trim, scrape and the
retry passes wait on the drive, going on from the digests of what the copy pass streamed in
order before its first failed read (``ImageHasher``: a sector rewritten later rewinds it);
else read back from the finished files. Never from a second read of the disc."""

from __future__ import annotations

import time

from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback
from app.core.base.hashing import ImageHasher
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.base.units import PHASE_WORDS
from app.core.rescue.output import FileResult, Output, PartHasher, hash_parts


class Hashing:
    hasher: PartHasher | None
    image_hasher: ImageHasher | None
    out: Output
    map: RangeMap
    ss: int
    total: int
    phase: str
    pass_no: int
    pass_count: int
    progress: ProgressCallback
    cancel: CancelToken
    _last_emit: float
    hash_handover: int  # bytes the background hash took over from the stream (for tests)

    def _feed_hash(self, lba: int, data: bytes) -> None:
        if self.hasher is not None:
            self.hasher.feed(lba, data)

    def start_image_hash(self) -> None:
        """After the copy passes, when the stream hash cannot give the hashes (the disc was
        not read whole and in order): hash the image in the background while trim, scrape and
        retries wait on the drive, going on from what the stream hashed in order. Only an
        image of one file from LBA 0 (an .iso): a BIN/CUE is hashed at the end."""
        if self.image_hasher is not None or not self.out.single_file:
            return
        marks = [lo * self.ss for lo, _, st in self.map.runs() if st != FINISHED]
        start = None
        if self.hasher is not None:
            if not self.hasher.broken and not marks:
                return  # read whole and in order: the stream has the hashes
            start = self.hasher.take()
            self.hasher = None
        self.hash_handover = start[1] if start is not None else 0
        self.image_hasher = ImageHasher(
            self.out.parts[0].path, marks, self.total * self.ss, start=start
        )

    def hash_hold(self, lba: int | None) -> None:
        """Sectors from ``lba`` on may still change, those before it no more (None: any)."""
        if self.image_hasher is not None:
            self.image_hasher.hold(None if lba is None else lba * self.ss)

    def finish_hashes(self) -> tuple[list[FileResult], str]:
        """Every file's hashes, and where they came from ("stream" or "image")."""
        parts = self.out.parts
        streamed = self.hasher.finish(parts) if self.hasher is not None else {}
        self.hasher = None
        files = self.out.file_results()
        if len(streamed) == len(parts):
            for i, f in enumerate(files):
                f.hashes = streamed[i]
            return files, "stream"
        self.phase = "hash"
        self.out.sync()

        def on_bytes(done: int, total: int) -> None:
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
                        phase_label=PHASE_WORDS["hash"],
                    )
                )

        def stop() -> bool:
            return self.cancel.cancelled

        bg, self.image_hasher = self.image_hasher, None
        got: list[dict[str, str]] | None = None
        if bg is not None and len(files) == 1:
            size = files[0].size
            try:  # mostly done during the retry passes; if that failed, one plain pass
                one = bg.finish(size, lambda done: on_bytes(done, size), stop)
            except OSError:
                one = None
            else:
                # A stop asked for while the hashes were finishing is a stop, even when the
                # background hasher had already read every byte: as with a plain pass.
                if one is None or stop():
                    raise Cancelled(self.cancel.reason)
            got = [one] if one is not None else None
        elif bg is not None:
            bg.abort()
        if got is None:
            got = hash_parts(parts, streamed, on_bytes, stop)
        if got is None or stop():  # a stop asked for while hashing: honoured, even at 100 %
            raise Cancelled(self.cancel.reason)
        for f, h in zip(files, got, strict=True):
            f.hashes = h
        return files, "image"
