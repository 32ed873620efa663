"""Extract files from an image without ever writing, or leaving a link that leads, outside the
chosen folder, and without ever leaving a partial file.

Refused, each with a message, while the rest goes on: names that are empty, ``.``/``..``, hold a
``/``, ``\\`` or NUL; names or paths too long for the folder's filesystem; names that collide with
another after case folding (they would overwrite each other on Windows and macOS); files that lie
past the end of a truncated image or cannot be read; links that could resolve outside the folder
(see ``links``). Parents are opened without following links (see ``outdir``). Files are written
under a temporary name and renamed into place when whole. An existing entry is a conflict,
settled by the policy: refuse (the default), skip, replace (files and links, never a folder) or
rename (``name (1).ext``); a callback may ask the user, once or "for all".
Data streams in 1 MiB pieces (constant memory for a 4 GB file); zisofs files are decompressed
block by block.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from app.core.base.events import CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.units import human_bytes
from app.core.fs import zisofs
from app.core.fs.boot import BOOT_DIR, boot_images
from app.core.fs.inspection import Inspection
from app.core.fs.links import LinkJudge
from app.core.fs.node import InspectError, Node
from app.core.fs.outdir import TEMP_PREFIX, TEMP_SUFFIX, Dir, NotADir, OutDir

CHUNK = 1 << 20
CONFLICT_ACTIONS = ("refuse", "skip", "replace", "rename")
# (image path, destination path) -> (action, apply to all later conflicts too)
AskConflict = Callable[[str, str], tuple[str, bool]]
ConflictPolicy = str | AskConflict
# Errors that every later entry would meet too: stop, instead of one refusal per entry.
_FATAL = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
# Entries whose data cannot be trusted to be whole: refused, not extracted half.
_UNREADABLE_KINDS = {"udf", "extents"}


@dataclass
class ExtractResult:
    written: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (image path, why)
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image path, existing dest)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (image path, dest used)
    replaced: list[str] = field(default_factory=list)  # destinations written over
    # Extracted, with something to know: an entry under its ISO 9660 name because its Rock
    # Ridge data was ignored, a zisofs file written as stored (image path, what).
    notes: list[tuple[str, str]] = field(default_factory=list)


def _bad_name(name: str) -> str | None:
    if name in ("", ".", ".."):
        return "a name that is empty, '.' or '..'"
    if any(c in name for c in "/\\\0"):
        return "a name containing '/', '\\' or NUL"
    return None


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _Extraction:
    def __init__(
        self,
        insp: Inspection,
        out: OutDir,
        progress: ProgressCallback,
        token: CancelToken,
        conflict: ConflictPolicy,
    ) -> None:
        self.insp = insp
        self.out = out
        self.judge = LinkJudge(out)
        self.progress = progress
        self.token = token
        self.policy = conflict
        self.res = ExtractResult()
        self.links: list[tuple[Node, tuple[str, ...]]] = []
        self.entries = insp.lister()

    # ---- conflicts ------------------------------------------------------------------------------
    def _decide(self, node: Node, dest: str) -> str:
        policy = self.policy
        if callable(policy):
            action, for_all = policy(node.path, dest)
            if action not in CONFLICT_ACTIONS:
                action = "refuse"
            if for_all:
                self.policy = action
            return action
        return policy if policy in CONFLICT_ACTIONS else "refuse"

    def _conflict(
        self, node: Node, d: Dir, name: str, names: dict[str, str], folder: bool
    ) -> tuple[str, str] | None:
        """Settle an existing entry at ``name``: (name to use, "create", "replace" or, for a
        folder over a real folder, "merge"), or None when the node is not to be written
        (skipped or refused, and recorded)."""
        st = d.lstat(name)
        if st is None:
            return name, "create"
        if folder and stat.S_ISDIR(st.st_mode):
            return name, "merge"
        dest = os.path.join(d.path, name)
        action = self._decide(node, dest)
        if action == "skip":
            self.res.skipped.append((node.path, dest))
            return None
        if action == "rename":
            new = self._free_name(d, name, names, folder)
            if new is None:
                self.res.refused.append((node.path, f"not overwritten: {dest} exists"))
                return None
            self.res.renamed.append((node.path, os.path.join(d.path, new)))
            return new, "create"
        if action == "replace" and not folder and not stat.S_ISDIR(st.st_mode):
            self.res.replaced.append(dest)
            return name, "replace"
        why = "a folder is in the way" if stat.S_ISDIR(st.st_mode) else "exists"
        if action == "replace":
            why += "; only files and links are replaced"
        self.res.refused.append((node.path, f"not overwritten: {dest} {why}"))
        return None

    def _free_name(self, d: Dir, name: str, names: dict[str, str], folder: bool) -> str | None:
        stem, ext = (name, "") if folder else os.path.splitext(name)
        for k in range(1, 10_000):
            cand = f"{stem} ({k}){ext}"
            if (
                cand.casefold() not in names
                and not self.out.too_long((*d.parts, cand))
                and d.lstat(cand) is None
            ):
                names[cand.casefold()] = ""
                return cand
        return None

    # ---- the tree -------------------------------------------------------------------------------
    def place(self, node: Node, d: Dir, names: dict[str, str]) -> None:
        self.token.raise_if_cancelled()
        res = self.res
        why = _bad_name(node.name)
        if why:
            res.refused.append((node.path, f"refused: {why}"))
            return
        key = node.name.casefold()
        if key in names:
            res.refused.append(
                (node.path, f"refused: same name as {names[key]} when case is ignored")
            )
            return
        names[key] = node.path
        parts = (*d.parts, node.name)
        too_long = self.out.too_long(parts)
        if too_long:
            res.refused.append((node.path, f"refused: {too_long}"))
            return
        try:
            if node.kind == "symlink":
                self.links.append((node, parts))
            elif node.is_dir:
                self._dir(node, d, names)
            else:
                self._file(node, d, names)
        except OSError as e:
            if e.errno in _FATAL:
                raise
            res.refused.append((node.path, f"could not extract: {e.strerror or e}"))

    def _dir(
        self, node: Node, d: Dir, names: dict[str, str], kids: Iterable[Node] | None = None
    ) -> None:
        settled = self._conflict(node, d, node.name, names, folder=True)
        if settled is None:
            return
        name, how = settled
        if how != "merge":
            why = self.judge.folder_refusal((*d.parts, name))
            if why:
                self.res.refused.append((node.path, f"refused: {why}"))
                return
            try:
                d.mkdir(name)
            except FileExistsError:
                self.res.refused.append((node.path, "not overwritten: it appeared meanwhile"))
                return
            self.res.written.append(os.path.join(d.path, name))
        try:
            sub = d.sub(name)
        except NotADir:
            self.res.refused.append((node.path, "refused: replaced by a link meanwhile"))
            return
        try:
            inner: dict[str, str] = {}
            for child in self.entries(node) if kids is None else kids:
                self.place(child, sub, inner)
            if node.mtime is not None:  # after the children, whose writes would change it
                sub.utime(None, node.mtime)
        finally:
            sub.close()
        if node.problem and node.problem_kind in ("rock_ridge", "zisofs"):
            self.res.notes.append((node.path, node.problem))
        elif node.problem:
            self.res.refused.append((node.path, node.problem))

    def _file(self, node: Node, d: Dir, names: dict[str, str]) -> None:
        res = self.res
        if node.missing:
            cut = "" if self.insp.whole else " (the image is truncated)"
            res.refused.append(
                (
                    node.path,
                    f"could not extract: {human_bytes(node.missing)} of it lie past the end "
                    f"of the image{cut}",
                )
            )
            return
        if node.problem and node.problem_kind in _UNREADABLE_KINDS:
            res.refused.append((node.path, f"could not extract: {node.problem}"))
            return
        settled = self._conflict(node, d, node.name, names, folder=False)
        if settled is None:
            return
        name, how = settled
        fd, tmp = d.temp()
        done = False
        try:
            size = self._copy(node, fd)
            if node.mode is not None and os.chmod in os.supports_fd:
                os.chmod(fd, node.mode & 0o777)  # never setuid/setgid/sticky from an image
            if node.mtime is not None and os.utime in os.supports_fd:
                os.utime(fd, (node.mtime, node.mtime))
            os.close(fd)
            fd = -1
            d.publish(tmp, name, replace=how == "replace")
            done = True
            if node.mode is not None and os.chmod not in os.supports_fd:
                os.chmod(os.path.join(d.path, name), node.mode & 0o777)
            if node.mtime is not None and os.utime not in os.supports_fd:
                d.utime(name, node.mtime)
            res.written.append(os.path.join(d.path, name))
            res.bytes += size
            if node.problem:
                res.notes.append((node.path, node.problem))
        except FileExistsError:
            res.refused.append((node.path, "not overwritten: it appeared meanwhile"))
        except InspectError as e:
            res.refused.append((node.path, f"could not extract: {e}"))
        finally:
            if fd >= 0:
                os.close(fd)
            if not done:
                with contextlib.suppress(OSError):
                    d.unlink(tmp)

    def _copy(self, node: Node, fd: int) -> int:
        if node.zisofs is not None:
            read = zisofs.stored_reader(self.insp.img, node.spans())
            chunks: Iterable[bytes] = zisofs.decompress(
                read, node.size, self.token.raise_if_cancelled, node.zisofs
            )
        elif node.inline is not None:
            chunks = [node.inline]
        else:
            chunks = self._plain(node)
        total = 0
        for data in chunks:
            _write_all(fd, data)
            total += len(data)
            self.progress(
                Progress(
                    "extract", 1, 1, total, 0, self.res.bytes + total, 0, 0, 0.0, None, node.path
                )
            )
        return total

    def _plain(self, node: Node) -> Iterator[bytes]:
        left = node.size
        img = self.insp.img
        for start, ln in node.spans():
            off, end = start, start + min(ln, left)
            while off < end:
                self.token.raise_if_cancelled()
                data = img.read(off, min(CHUNK, end - off))
                if not data:
                    raise InspectError("the image ends inside this file (truncated image)")
                off += len(data)
                left -= len(data)
                yield data
        if left > 0 and node.problem:  # HFS: the extents end before the size: no short copy
            raise InspectError(node.problem)

    # ---- links, last --------------------------------------------------------------------------
    def make_links(self) -> None:
        for node, parts in self.links:
            self.token.raise_if_cancelled()
            try:
                self._link(node, parts)
            except OSError as e:
                if e.errno in _FATAL:
                    raise
                self.res.refused.append((node.path, f"could not extract: {e.strerror or e}"))

    def _link(self, node: Node, parts: tuple[str, ...]) -> None:
        target = node.target or ""
        why = self.judge.refusal(parts[:-1], target)
        if why:
            self.res.refused.append((node.path, f"refused: {why}"))
            return
        try:
            d = self.out.open(parts[:-1])
        except (NotADir, FileNotFoundError):
            self.res.refused.append((node.path, "refused: its folder was replaced meanwhile"))
            return
        try:
            settled = self._conflict(node, d, parts[-1], {}, folder=False)
            if settled is None:
                return
            name, how = settled
            if how == "replace":
                tmp = f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
                d.symlink(target, tmp)
                try:
                    d.publish(tmp, name, replace=True)
                except OSError:
                    d.unlink(tmp)
                    raise
            else:
                try:
                    d.symlink(target, name)  # never replaces: EEXIST if anything is there
                except FileExistsError:
                    self.res.refused.append((node.path, "not overwritten: it appeared meanwhile"))
                    return
            self.judge.made((*parts[:-1], name))
            self.res.written.append(os.path.join(d.path, name))
        finally:
            d.close()


def extract(
    insp: Inspection,
    paths: list[str] | None,
    out_dir: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    conflict: ConflictPolicy = "refuse",
    boot: bool = False,
) -> ExtractResult:
    """Extract ``paths`` (None: everything) from the image into ``out_dir``; with ``boot``,
    also its El Torito boot images into ``out_dir/[BOOT]/`` (as 7-Zip shows them).

    ``conflict``: what to do with an entry that already exists, or a callback asking.
    Raises OSError for a folder that cannot be made or written at all (disk full, read-only),
    ``links.FolderTooBig`` for a folder too big to check, and ``Cancelled``; every other
    problem refuses that entry alone and is listed in the result."""
    token = cancel or CancelToken()
    out = OutDir(out_dir)
    try:
        job = _Extraction(insp, out, progress, token, conflict)
        tops: list[Node] = []
        for p in ["/"] if paths is None else paths:
            node = insp.find(p)
            if node is None:
                job.res.refused.append((p, "not in the image"))
            else:
                tops.append(node)
        names: dict[str, str] = {}
        for top in tops:
            # One loop guard per top: "/docs" and "/docs/sub" both asked for list sub twice.
            job.entries = insp.lister()
            if top is insp.root:
                for child in job.entries(top):
                    job.place(child, out.top, names)
                if top.problem:
                    job.res.refused.append((top.path, top.problem))
            else:
                job.place(top, out.top, names)
        images = boot_images(insp) if boot else []
        if images:
            folder = Node(BOOT_DIR, "/" + BOOT_DIR, "dir")
            job._dir(folder, out.top, {}, images)
        elif boot:
            job.res.refused.append(("/" + BOOT_DIR, "the image has no El Torito boot image"))
        job.make_links()
        return job.res
    finally:
        out.close()


def extract_boot_images(
    insp: Inspection,
    out_dir: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    conflict: ConflictPolicy = "refuse",
) -> ExtractResult:
    """Only the El Torito boot images, into ``out_dir/[BOOT]/`` (the GUI's Boot tab)."""
    return extract(insp, [], out_dir, progress, cancel, conflict, boot=True)
