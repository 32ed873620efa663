"""What the filesystem readers (ISO 9660 family, UDF) hand out: nodes, and the image's bytes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.core.base.compat import pread

SECTOR = 2048
MAX_DEPTH = 256  # deeper trees are hostile, not real discs
MAX_ENTRIES = 5_000_000


class InspectError(Exception):
    """The image cannot be inspected; the message says why, in one line."""


@dataclass(slots=True)  # 100 000 files: no per-node dict, shorter GC passes
class Node:
    name: str
    path: str  # "/"-joined, "/" for the root
    kind: str  # "dir", "file", "symlink"
    size: int = 0
    extents: list[tuple[int, int]] = field(default_factory=list)  # (LBA, bytes)
    mtime: float | None = None
    mode: int | None = None
    target: str | None = None  # symlink target, as recorded
    zisofs: tuple[int, int, int] | None = None  # (header bytes, log2 block size, real size)
    hidden: bool = False
    ref: tuple[int, ...] = ()  # the reader's handle for listing a directory lazily
    problem: str = ""  # why a directory could not be listed, if it could not
    inline: bytes | None = None  # UDF: a small file's bytes, kept inside its own entry

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


class Image:
    """Bounded reads from an image file: nothing is read past its end or trusted beyond it."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as e:
            raise InspectError(f"{path}: {e.strerror}") from e
        self.size = os.fstat(self.fd).st_size
        self.sectors = self.size // SECTOR

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset >= self.size:
            return b""
        return pread(self.fd, min(length, self.size - offset), offset)

    def sector(self, lba: int, count: int = 1) -> bytes:
        return self.read(lba * SECTOR, count * SECTOR)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
