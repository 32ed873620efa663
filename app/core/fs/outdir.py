"""The extraction folder, reached only through real directories.

Every entry is created relative to the file descriptor of its parent directory, and every parent
was opened with O_NOFOLLOW from the folder down: nothing is ever written through a symlink, even
one an earlier run (or anyone) left in the folder. Files are written under a temporary name and
renamed into place only when whole (without replacing anything, unless asked to).

Platforms without ``dir_fd`` support (Windows) fall back to paths, checking each parent with
lstat first: the same rule, with a window between check and use.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterator

_DIR_FDS = {os.open, os.mkdir, os.symlink, os.readlink, os.unlink, os.stat} <= os.supports_dir_fd
_O_DIR = getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
TEMP_PREFIX = ".discvault-"
TEMP_SUFFIX = ".part"


class NotADir(OSError):
    """Something other than a real directory sits where a folder is wanted."""


def _libc_rename_noreplace() -> object:
    if sys.platform.startswith("linux"):
        try:
            return getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
        except OSError:
            return None
    return None


_RENAMEAT2 = _libc_rename_noreplace()


class Dir:
    """One directory inside the folder: ``parts`` from the folder down, and its descriptor."""

    def __init__(self, fd: int, path: str, parts: tuple[str, ...]) -> None:
        self.fd = fd  # -1 without dir_fd support
        self.path = path
        self.parts = parts

    def _at(self, name: str) -> tuple[str, int | None]:
        """(what to name, dir_fd) for the os functions: relative to the descriptor if any."""
        if self.fd >= 0:
            return name, self.fd
        return os.path.join(self.path, name), None

    def lstat(self, name: str) -> os.stat_result | None:
        p, dfd = self._at(name)
        try:
            return os.stat(p, follow_symlinks=False, dir_fd=dfd)
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None

    def readlink(self, name: str) -> str:
        p, dfd = self._at(name)
        return os.readlink(p, dir_fd=dfd)

    def sub(self, name: str) -> Dir:
        """The real directory ``name`` in this one (NotADir for a link, a file...)."""
        p, dfd = self._at(name)
        if self.fd < 0:
            st = os.lstat(p)
            if not stat.S_ISDIR(st.st_mode):
                raise NotADir(errno.ENOTDIR, "not a folder", p)
            return Dir(-1, p, (*self.parts, name))
        try:
            fd = os.open(p, os.O_RDONLY | _O_DIR, dir_fd=dfd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise NotADir(errno.ENOTDIR, "not a folder", name) from None
            raise
        return Dir(fd, os.path.join(self.path, name), (*self.parts, name))

    def mkdir(self, name: str) -> None:
        p, dfd = self._at(name)
        os.mkdir(p, 0o755, dir_fd=dfd)

    def symlink(self, target: str, name: str) -> None:
        p, dfd = self._at(name)
        os.symlink(target, p, dir_fd=dfd)

    def unlink(self, name: str) -> None:
        p, dfd = self._at(name)
        os.unlink(p, dir_fd=dfd)

    def temp(self) -> tuple[int, str]:
        """A new, empty file under a name no entry of an image has (it starts with a dot and
        ends in .part), opened for writing."""
        for _ in range(100):
            name = f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
            p, dfd = self._at(name)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
            try:
                return os.open(p, flags, 0o644, dir_fd=dfd), name
            except FileExistsError:
                continue
        raise FileExistsError(errno.EEXIST, "no free temporary name", self.path)

    def publish(self, tmp: str, name: str, replace: bool) -> None:
        """Rename ``tmp`` to ``name``; without ``replace``, FileExistsError if ``name`` exists
        (checked atomically where the system can)."""
        if replace:
            if self.fd >= 0:
                os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            else:
                os.replace(os.path.join(self.path, tmp), os.path.join(self.path, name))
            return
        if self.fd >= 0 and _RENAMEAT2 is not None:
            fn = _RENAMEAT2
            r = fn(self.fd, os.fsencode(tmp), self.fd, os.fsencode(name), 1)  # type: ignore[operator]
            if r == 0:
                return
            err = ctypes.get_errno()
            if err == errno.EEXIST:
                raise FileExistsError(err, os.strerror(err), name)
            if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise OSError(err, os.strerror(err), name)
        if self.fd >= 0:
            try:  # link() never replaces: the next best atomic no-replace rename
                os.link(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
                os.unlink(tmp, dir_fd=self.fd)
                return
            except FileExistsError:
                raise
            except OSError:
                pass  # a filesystem without hard links (FAT, exFAT)
        if self.lstat(name) is not None:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), name)
        p_tmp, dfd = self._at(tmp)
        p_name, _ = self._at(name)
        os.rename(p_tmp, p_name, src_dir_fd=dfd, dst_dir_fd=dfd)

    def utime(self, name: str | None, mtime: float) -> None:
        """Set the modification time of ``name``, or of this directory itself."""
        if name is None:
            if self.fd >= 0 and os.utime in os.supports_fd:
                os.utime(self.fd, (mtime, mtime))
            else:
                os.utime(self.path, (mtime, mtime))
            return
        p, dfd = self._at(name)
        nofollow = os.utime in os.supports_follow_symlinks
        os.utime(p, (mtime, mtime), follow_symlinks=not nofollow, dir_fd=dfd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class OutDir:
    """The folder an extraction writes into, and its limits."""

    def __init__(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.real = os.path.realpath(path)
        if _DIR_FDS:
            # The folder itself may be a link: the user named it. Below it, nothing is followed.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
            self.top = Dir(fd, path, ())
        else:
            if not os.path.isdir(path):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            self.top = Dir(-1, path, ())
        self.name_max = _pathconf(self.top, "PC_NAME_MAX", 255)
        self.path_max = _pathconf(self.top, "PC_PATH_MAX", 4096)
        self._real_len = len(os.fsencode(self.real))

    def too_long(self, parts: tuple[str, ...]) -> str:
        """Why ``parts`` cannot be a path here ("" if it can)."""
        name = len(os.fsencode(parts[-1]))
        if name > self.name_max:
            return f"name too long ({name} bytes; the limit here is {self.name_max})"
        total = self._real_len + sum(len(os.fsencode(p)) + 1 for p in parts)
        if total >= self.path_max:
            return f"path too long ({total} bytes; the limit here is {self.path_max - 1})"
        return ""

    def open(self, parts: tuple[str, ...]) -> Dir:
        """The real directory at ``parts``, walked down from the folder without following a
        link (NotADir, FileNotFoundError otherwise)."""
        d = self.top
        try:
            for name in parts:
                nxt = d.sub(name)
                if d is not self.top:
                    d.close()
                d = nxt
        except BaseException:
            if d is not self.top:
                d.close()
            raise
        if d is self.top:  # a fresh handle, so that every caller may close what it gets
            return Dir(os.dup(d.fd) if d.fd >= 0 else -1, d.path, ())
        return d

    def lstat(self, parts: tuple[str, ...]) -> os.stat_result | None:
        """lstat of ``parts`` through real directories only (None: missing, or behind a link
        or a file)."""
        if not parts:
            return os.stat(self.top.fd) if self.top.fd >= 0 else os.lstat(self.path)
        try:
            d = self.open(parts[:-1])
        except (NotADir, FileNotFoundError):
            return None
        try:
            return d.lstat(parts[-1])
        finally:
            d.close()

    def readlink(self, parts: tuple[str, ...]) -> str:
        d = self.open(parts[:-1])
        try:
            return d.readlink(parts[-1])
        finally:
            d.close()

    def scan_links(self, limit: int) -> Iterator[tuple[str, ...]]:
        """Every symlink already in the folder, as parts (OverflowError past ``limit``
        entries: the folder is too big to check)."""
        count = 0
        stack: list[tuple[str, ...]] = [()]
        while stack:
            parts = stack.pop()
            where = os.path.join(self.real, *parts)
            try:
                with os.scandir(where) as it:
                    for e in it:
                        count += 1
                        if count > limit:
                            raise OverflowError(count)
                        if e.is_symlink():
                            yield (*parts, e.name)
                        elif e.is_dir(follow_symlinks=False):
                            stack.append((*parts, e.name))
            except (PermissionError, FileNotFoundError, NotADirectoryError):
                continue

    def close(self) -> None:
        self.top.close()


def _pathconf(d: Dir, name: str, default: int) -> int:
    try:
        v = os.fpathconf(d.fd, name) if d.fd >= 0 else os.pathconf(d.path, name)
    except (OSError, ValueError, AttributeError):
        return default
    return v if v and v > 0 else default
