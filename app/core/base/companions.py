"""The files that travel with an image: one place names them all.

``disc.iso`` has ``disc.iso.map`` (the ddrescue mapfile), ``disc.iso.report.json``,
``disc.iso.md5`` / ``.sha1`` / ``.sha256`` (coreutils format, so ``sha1sum -c`` works in place),
and, for a disc with several sessions or audio tracks, ``disc.cue`` (a cue sheet sits beside
its image under the image's own stem, where every cue reader looks for it).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

# Algorithms with a coreutils tool, hence a sidecar file (CRC32 lives in the report and DATs).
# hashing.ALGORITHMS without CRC32 (checked by test_companions): not imported from there, as
# hashing loads OpenSSL and threads, and every `inspect` reads companions.
SIDECAR_ALGORITHMS = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class Companions:
    image: str
    map: str
    report: str
    cue: str
    sidecars: dict[str, str] = field(default_factory=dict)  # algorithm -> path

    @classmethod
    def of(cls, image: str, map_path: str = "", report_path: str = "") -> Companions:
        stem, ext = os.path.splitext(image)
        return cls(
            image,
            map_path or image + ".map",
            report_path or image + ".report.json",
            (stem if ext.lower() == ".iso" else image) + ".cue",
            {a: f"{image}.{a}" for a in SIDECAR_ALGORITHMS},
        )

    def outputs(self) -> list[tuple[str, str]]:
        """Every file a backup writes, as (what it is, path)."""
        return [
            ("image", self.image),
            ("mapfile", self.map),
            ("report", self.report),
            ("cue sheet", self.cue),
            *((f"{a} checksum file", p) for a, p in self.sidecars.items()),
        ]


def open_regular(path: str) -> int:
    """Open a file a user or another tool put beside an image, for reading, only if it is a
    regular file: opening a FIFO blocks forever (deaf to Ctrl-C), and a device like /dev/zero
    never ends. ``OSError`` naming ``path`` otherwise."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a pipe, a device or a folder)", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small(path: str, limit: int) -> str:
    """The text of a small regular file beside an image (a report, a checksum file, a cue
    sheet), at most ``limit`` bytes; ``OSError`` naming ``path`` for anything else."""
    fd = open_regular(path)
    try:
        if os.fstat(fd).st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit} bytes: not one of ours", path)
        chunks = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    if left <= 0:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes: not one of ours", path)
    return b"".join(chunks).decode("utf-8", errors="replace")
