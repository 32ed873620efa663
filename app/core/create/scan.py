"""Walk the source folder once: what goes on the disc, with modes and dates, and what cannot.

Everything that would make the build fail halfway is found here, before a byte is written:
unreadable files and folders, pipes, devices and sockets. Links are kept as links (never
followed out of the folder).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from app.core.base.events import CancelToken
from app.core.create.errors import BuildError
from app.core.create.names import printable


class ScanError(BuildError):
    """Items that cannot go on the disc; ``problems`` lists each with its reason."""

    def __init__(self, problems: list[str]) -> None:
        listed = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        super().__init__(
            f"cannot read {len(problems)} item(s) — nothing was written: {listed} — "
            "fix or remove them and build again"
        )
        self.problems = problems


@dataclass(frozen=True)
class Times:
    """A file's dates in seconds since the epoch, as the source folder has them."""

    mtime: float
    atime: float
    ctime: float

    @classmethod
    def of(cls, st: os.stat_result) -> Times:
        return cls(st.st_mtime, st.st_atime, st.st_ctime)


@dataclass
class Entry:
    rel: str  # relative path with "/" (undecodable bytes as surrogate escapes)
    kind: str  # dir, file, link
    size: int = 0
    target: str = ""
    mode: int = 0o644
    times: Times = field(default_factory=lambda: Times(0.0, 0.0, 0.0))

    @property
    def name(self) -> str:
        return self.rel.rpartition("/")[2]


@dataclass
class Tree:
    root: str
    root_times: Times
    root_mode: int
    entries: list[Entry]


def scan(
    folder: str,
    include_hidden: bool = True,
    exclude: tuple[str, ...] = (),
    cancel: CancelToken | None = None,
) -> Tree:
    """Every entry under ``folder``, parents before children, names sorted.

    ``exclude`` holds absolute paths left out (the image being written into the folder).
    Raises ``ScanError`` listing everything that cannot be read.
    """
    token = cancel or CancelToken()
    try:
        root_st = os.stat(folder)
    except OSError as e:
        raise ScanError([f"{printable(folder)}: {e.strerror}"]) from None
    if not stat.S_ISDIR(root_st.st_mode):
        raise ScanError([f"{printable(folder)}: not a folder"])
    skip = {os.path.abspath(p) for p in exclude}
    entries: list[Entry] = []
    problems: list[str] = []
    for root, dirs, files in os.walk(
        folder, onerror=lambda e: problems.append(f"{printable(str(e.filename))}: {e.strerror}")
    ):
        token.raise_if_cancelled()
        if not include_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        dirs.sort()
        rel_root = os.path.relpath(root, folder).replace(os.sep, "/")
        rel_root = "" if rel_root == "." else rel_root
        for name in dirs + sorted(files):
            full = os.path.join(root, name)
            if full in skip or os.path.abspath(full) in skip:
                continue
            rel = f"{rel_root}/{name}" if rel_root else name
            try:
                st = os.lstat(full)
            except OSError as e:  # gone since the listing
                problems.append(f"{printable(rel)}: {e.strerror}")
                continue
            times = Times.of(st)
            if stat.S_ISLNK(st.st_mode):
                entries.append(Entry(rel, "link", target=os.readlink(full), times=times))
                if name in dirs:
                    dirs.remove(name)  # never follow links out of the folder
            elif stat.S_ISDIR(st.st_mode):
                entries.append(Entry(rel, "dir", mode=st.st_mode & 0o7777, times=times))
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(full, "rb") as f:
                        f.read(1)
                except OSError as e:
                    problems.append(f"{printable(rel)}: {e.strerror}")
                    continue
                entries.append(
                    Entry(rel, "file", st.st_size, mode=st.st_mode & 0o7777, times=times)
                )
            else:
                problems.append(f"{printable(rel)}: not a regular file (device, pipe or socket)")
    if problems:
        raise ScanError(problems)
    return Tree(folder, Times.of(root_st), root_st.st_mode & 0o7777, entries)
