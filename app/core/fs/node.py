"""What the filesystem readers (ISO 9660 family, UDF) hand out: nodes, and the image's bytes."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from app.core.base.compat import pread

SECTOR: Final = 2048
MAX_DEPTH = 256  # deeper trees are hostile, not real discs
MAX_ENTRIES = 5_000_000

# Classes of problems, each with what it means for the listing (shown once per class, with a
# count and an example, instead of one line per entry).
PROBLEM_KINDS: dict[str, str] = {
    "truncated": "folder(s) lie past the end of the image (truncated): their entries are missing",
    "malformed": "folder(s) hold malformed records: the entries from there on are missing",
    "loop": "folder(s) point back at a folder already listed (a loop): not listed again",
    "deep": f"folder(s) nested deeper than {MAX_DEPTH}: not listed",
    "overlap": "folder(s) not listed: the folders claim more data than the image holds",
    "rock_ridge": "entry(s) with looping or oversized Rock Ridge data: shown under their "
    "ISO 9660 name, without Rock Ridge attributes",
    "zisofs": "file(s) with an impossible zisofs header: listed and extracted as stored",
    "udf": "UDF entry(s) that cannot be read",
    "extents": "file(s) with more extents than the image can hold: the excess is ignored",
    "boot": "El Torito boot catalog(s) that cannot be read",
    "other": "other problem(s)",
}


class InspectError(Exception):
    """The image (or one directory of it) cannot be read; the message says why, in one line.

    ``kind`` is one of ``PROBLEM_KINDS``: problems are summarised per kind.
    """

    def __init__(self, message: str, kind: str = "other") -> None:
        super().__init__(message)
        self.kind = kind


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
    # The reader's handle for listing a directory lazily. ref[0] identifies the listing: two
    # directories with the same ref[0] are the same directory (a loop, or a shared one).
    ref: tuple[int, ...] = ()
    # What could not be read about this entry: a directory's listing, or metadata that was
    # ignored (looping Rock Ridge data, an impossible zisofs header); problem_kind classifies it.
    problem: str = ""
    inline: bytes | None = None  # UDF: a small file's bytes, kept inside its own entry
    missing: int = 0  # bytes of this entry's data that lie past the end of the image
    problem_kind: str = ""
    # HFS: allocation blocks sit at any 512-byte offset, so the data's exact (image byte
    # offset, bytes) runs; ``extents`` then name the sectors that hold them.
    byte_extents: list[tuple[int, int]] | None = None
    later: str = ""  # multi-session: "deleted" or "replaced" when only an earlier session has it

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    def spans(self) -> list[tuple[int, int]]:
        """The data as (image byte offset, bytes) runs, whatever the reader's granularity."""
        if self.byte_extents is not None:
            return self.byte_extents
        return [(lba * SECTOR, ln) for lba, ln in self.extents]


class Filesystem(Protocol):
    """What Inspection needs from a reader: a root, and a directory's entries as a stream
    ("." and ".." left out). Errors are ``InspectError``; entries read before one are kept."""

    root: Node

    def iterdir(self, node: Node) -> Iterator[Node]: ...


_KIND_OF_MODE = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFSOCK: "a socket",
}


def check_image_path(path: str) -> None:
    """Refuse up front what cannot be an image: reading a FIFO blocks forever, a character
    device (a tape, /dev/zero, a terminal) never ends, a folder has no bytes."""
    try:
        st = os.stat(path)  # stat never blocks, open() of a FIFO does
    except OSError as e:
        raise InspectError(f"{path}: {e.strerror}") from e
    what = _KIND_OF_MODE.get(stat.S_IFMT(st.st_mode))
    if what is not None:
        raise InspectError(
            f"{path}: is {what}, not an image file or a block device — give an .iso file "
            "or a disc device"
        )


class Image:
    """Bounded reads from an image file: nothing is read past its end or trusted beyond it."""

    def __init__(self, path: str) -> None:
        self.path = path
        check_image_path(path)
        # O_NONBLOCK: should the path become a FIFO between the check and the open, the open
        # still returns at once, and the fstat below refuses it.
        nonblock = getattr(os, "O_NONBLOCK", 0)
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock
        try:
            self.fd = os.open(path, flags)
        except OSError as e:
            raise InspectError(f"{path}: {e.strerror}") from e
        st = os.fstat(self.fd)
        mode = stat.S_IFMT(st.st_mode)
        if mode not in (stat.S_IFREG, stat.S_IFBLK):
            os.close(self.fd)
            self.fd = -1
            what = _KIND_OF_MODE.get(mode, "not a regular file")
            raise InspectError(
                f"{path}: is {what}, not an image file or a block device — give an .iso file "
                "or a disc device"
            )
        if nonblock:
            os.set_blocking(self.fd, True)
        # A block device reports st_size 0: its size is where its end is.
        self.size = st.st_size if mode == stat.S_IFREG else os.lseek(self.fd, 0, os.SEEK_END)
        self.sectors = self.size // SECTOR

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset >= self.size:
            return b""
        try:
            return pread(self.fd, min(length, self.size - offset), offset)
        except OSError as e:  # a disc device: an audio track read as data, a scratch
            raise InspectError(
                f"{self.path}: sector {offset // SECTOR} cannot be read ({e.strerror}) — "
                "back the disc up first (discvault rip) and inspect the image"
            ) from e

    def sector(self, lba: int, count: int = 1) -> bytes:
        return self.read(lba * SECTOR, count * SECTOR)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def missing_bytes(extents: list[tuple[int, int]], image_size: int) -> int:
    """How much of these extents lies past the end of the image."""
    lost = 0
    for lba, ln in extents:
        end = lba * SECTOR + ln
        if end > image_size:
            lost += min(ln, end - image_size)
    return lost


# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides, which
# can rewrite a terminal line or reorder it: none may reach a terminal raw.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: str) -> str:
    """``text`` safe for a terminal or a one-line message: control characters (ESC, newline,
    carriage return...) become visible escapes such as ``\\x1b``; everything else is kept."""
    if text.isprintable() or not _UNPRINTABLE.search(text):  # isprintable: C, and the usual
        return text
    return _UNPRINTABLE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
