"""Where sectors come from: the ``SectorSource`` protocol and ``ImageSource`` for files/devices.

The rescue engine only ever sees this interface. Errors are sorted at this boundary into three
kinds, because the engine reacts to each differently: a bad sector (mark it, move on), the
source vanishing (save everything and stop: the user can resume), and anything else (stop).
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import struct
import sys
from typing import Protocol

from app.core.base.compat import preadinto
from app.core.base.sector import SECTOR
from app.core.disc.layout import DiscLayout

try:
    import fcntl
except ImportError:  # Windows: block-device ioctls are the platform layer's job there
    fcntl = None  # type: ignore[assignment]

# Errors a drive or block device gives for an unreadable sector (scratch, dye fade, ECC failure).
BAD_SECTOR_ERRNOS = frozenset(
    {errno.EIO, errno.ENODATA, errno.ETIMEDOUT, errno.EBADMSG, errno.EILSEQ, errno.EREMOTEIO}
)
# Errors that mean the medium or the device is gone: reading on would only collect failures.
GONE_ERRNOS = frozenset(
    {errno.ENXIO, errno.ENODEV, errno.ENOMEDIUM, errno.ENOTCONN, errno.ESTALE, errno.EBADF}
)

BLKGETSIZE64 = 0x80081272
BLKSSZGET = 0x1268


class SourceError(Exception):
    """The source cannot be used at all (cannot open, permission, unsupported)."""


class SourceGone(SourceError):
    """The disc or device went away mid-read (ejected, unplugged, media changed)."""


class ReadError(Exception):
    """Sectors ``[lba, lba + count)`` could not be read; ``good`` holds a readable prefix.

    ``kind`` is "bad" for a medium error, or "protected" when the drive refused the sectors
    for copy protection (CSS): that is neither damage nor worth a retry."""

    def __init__(
        self, lba: int, count: int, err: int, good: bytes = b"", kind: str = "bad"
    ) -> None:
        super().__init__(f"read error at LBA {lba} (+{count}): {os.strerror(err)}")
        self.lba = lba
        self.count = count
        self.errno = err
        self.good = good
        self.kind = kind


class SectorSource(Protocol):
    """Anything that hands out 2048-byte sectors by LBA."""

    sector_size: int
    sector_count: int
    description: str
    medium: str | None  # "CD", "DVD", "BD" for a drive that says; None for files and devices
    protection: str  # "CSS" when the disc says it is copy-protected, else ""
    is_drive: bool  # a real optical drive (x-factors and drive control make sense)

    def read_layout(self) -> DiscLayout:
        """Sessions and tracks: the drive's TOC, or one data track where there is none."""
        ...

    def read(self, lba: int, count: int) -> bytes:
        """Return exactly ``count`` sectors or raise ``ReadError`` / ``SourceGone``."""
        ...

    def prepare_retry(self, lba: int) -> None:
        """Make the next read of ``lba`` hit the medium, not a cache (no-op where none)."""
        ...

    def current_sector_count(self) -> int:
        """Capacity as the OS reports it now (a removed disc reports 0)."""
        ...

    def set_phase(self, phase: str) -> None:
        """The engine enters ``phase`` (copy, trim, scrape, retry, done): drives tune themselves."""
        ...

    def close(self) -> None: ...


def _device_size(fd: int) -> int:
    if fcntl is None:
        raise OSError(errno.ENOTTY, "no block-device size query on this platform")
    buf = fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8)
    return int(struct.unpack("Q", buf)[0])


def check_source_path(path: str, allow_char_device: bool = False) -> os.stat_result:
    """Refuse, before opening, anything that is not an image file or a block device: opening
    a FIFO blocks forever, and a folder or a character device is no disc (except macOS's raw
    disk nodes, which the drive layer asks for explicitly)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise SourceError(f"{path}: {e.strerror} — check the path") from e
    if stat.S_ISREG(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return st
    if allow_char_device and stat.S_ISCHR(st.st_mode):
        return st
    what = (
        "a folder"
        if stat.S_ISDIR(st.st_mode)
        else "a pipe (FIFO)"
        if stat.S_ISFIFO(st.st_mode)
        else "a character device"
        if stat.S_ISCHR(st.st_mode)
        else "a socket"
        if stat.S_ISSOCK(st.st_mode)
        else "not a regular file"
    )
    raise SourceError(f"{path} is {what} — give a disc drive, a block device or an image file")


class ImageSource:
    """Reads an image file or a block device (a disc drive on Linux, a loop device).

    Block devices are read with O_DIRECT into a page-aligned buffer so that a failed sector costs
    one failed read, not the kernel re-reading the whole page cache window one page at a time.
    """

    medium: str | None = None
    protection = ""
    is_drive = False
    allow_char_device = False

    def __init__(self, path: str, *, max_sectors: int = 1024) -> None:
        self.path = path
        self.sector_size = SECTOR
        self.description = path
        self._fd = -1
        st = check_source_path(path, self.allow_char_device)
        self._buf = mmap.mmap(-1, max_sectors * SECTOR)
        self._view = memoryview(self._buf)
        self.is_device = stat.S_ISBLK(st.st_mode)
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
        if self.is_device and sys.platform.startswith("linux"):
            flags |= os.O_DIRECT | os.O_NONBLOCK
        try:
            self._fd = os.open(path, flags)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM):
                raise SourceError(
                    f"{path}: permission denied — add yourself to the group that owns it "
                    "(usually 'cdrom' or 'disk') and log in again"
                ) from e
            if e.errno == errno.ENOMEDIUM:
                raise SourceGone(f"{path}: no disc in the drive — insert one and try again") from e
            raise SourceError(f"{path}: {e.strerror}") from e
        self.sector_count = self.current_sector_count()
        # A file whose size is not whole sectors keeps its tail out of the image; say so.
        self.trailing_bytes = self._size() % SECTOR

    def _size(self) -> int:
        if self.is_device:
            try:
                return _device_size(self._fd)
            except OSError as e:
                if e.errno in GONE_ERRNOS:
                    return 0
                raise
        return os.fstat(self._fd).st_size

    def current_sector_count(self) -> int:
        return self._size() // SECTOR

    def read_layout(self) -> DiscLayout:
        return DiscLayout.flat(self.sector_count, self.medium or "")

    def read(self, lba: int, count: int) -> bytes:
        want = count * SECTOR
        if want > len(self._buf):
            self._buf = mmap.mmap(-1, want)
            self._view = memoryview(self._buf)
        view = self._view[:want]
        try:
            got = preadinto(self._fd, view, lba * SECTOR)
        except OSError as e:
            # A traceback kept by a caller must not pin the buffer (close() could not free it).
            view.release()
            if e.errno in GONE_ERRNOS:
                raise SourceGone(f"{self.path}: the disc or device went away ({e.strerror})") from e
            if e.errno in BAD_SECTOR_ERRNOS:
                self._check_still_there()
                raise ReadError(lba, count, e.errno) from e
            raise SourceError(f"{self.path}: {e.strerror} at LBA {lba}") from e
        view.release()
        if got == want:
            return bytes(self._view[:want])
        # Short read: the end of the device moved (disc removed, or the kernel shrank a
        # disc's size after errors near its end) or the driver completed only a prefix.
        self._check_still_there()
        whole = got - got % SECTOR
        raise ReadError(lba, count, errno.EIO, bytes(self._view[:whole]))

    def _check_still_there(self) -> None:
        if self.is_device and self._size() == 0:
            raise SourceGone(f"{self.path}: the disc was removed")

    def prepare_retry(self, lba: int) -> None:
        """Plain files and block devices have no drive cache to defeat (O_DIRECT bypasses ours)."""

    def set_phase(self, phase: str) -> None:
        """Nothing to tune on a file or a plain block device."""

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._view.release()
        self._buf.close()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
