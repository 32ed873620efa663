"""Folder -> .iso (ISO 9660 level 3 + Joliet + Rock Ridge, optional UDF 2.60 and El Torito).

Everything that can make the build fail is checked before a byte is written (the output path,
the label, unreadable or special files, the exact size against the chosen medium); the image is
written to ``OUT.part`` and renamed only when complete, so a failed or cancelled build leaves
nothing behind. The steps live in their own modules: ``scan`` (the folder), ``names`` (the label
rule and per-system names), ``layout`` (pycdlib, with the source's dates), ``estimate`` (the
size, fast, for the Create page).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass, field

from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.seekio import SizedReader
from app.core.base.units import human_bytes
from app.core.create.errors import BuildError
from app.core.create.estimate import estimate_bytes
from app.core.create.names import normalise_label, printable, suggest_label
from app.core.create.scan import Entry, Tree, scan

MEDIA = {  # user-data capacity in bytes
    "cd": 360_000 * 2048,  # 80 min CD-R, 703 MiB
    "dvd": 2_295_104 * 2048,  # DVD±R 4.7 GB
    "dvd-dl": 4_173_824 * 2048,  # DVD±R DL 8.5 GB
    "bd": 12_219_392 * 2048,  # BD-R 25 GB
    "bd-dl": 24_438_784 * 2048,  # BD-R DL 50 GB
}

__all__ = [
    "MEDIA",
    "BuildError",
    "BuildOptions",
    "BuildResult",
    "build_iso",
    "estimate_bytes",
    "label_for",
    "scan",
]


@dataclass
class BuildOptions:
    label: str = ""  # empty: derived from the folder's name
    udf: bool = False
    boot: str | None = None  # no-emulation boot image: a path inside the folder
    include_hidden: bool = True
    media: str | None = None
    force: bool = False


@dataclass
class BuildResult:
    path: str
    files: int
    dirs: int
    links: int
    data_bytes: int
    image_bytes: int
    label: str = ""
    undecodable: list[str] = field(default_factory=list)  # names kept byte for byte in RR


def label_for(folder: str, label: str) -> str:
    """The label the image gets: the user's, by the label rule, or one made from the name."""
    if label.strip():
        return normalise_label(label)
    return suggest_label(os.path.basename(os.path.abspath(folder)))


def check_output(folder: str, out: str, force: bool) -> None:
    """Refuse an output that cannot be written or would destroy something, before any work."""
    shown = printable(out)
    if os.path.isdir(out):
        raise BuildError(
            f"{shown} is a folder — give the image a file name, e.g. "
            f"{os.path.join(shown, os.path.basename(os.path.abspath(folder)) or 'disc')}.iso"
        )
    if os.path.lexists(out) and not force:
        raise BuildError(f"{shown} exists — choose another name, or pass --force to replace it")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise BuildError(f"{printable(parent)} does not exist — create it or choose another place")
    if not os.access(parent, os.W_OK):
        raise BuildError(f"cannot write in {printable(parent)} — choose another place")


def boot_path(folder: str, tree: Tree, boot: str) -> str:
    """The boot image as a path relative to ``folder`` (given relative or absolute)."""
    rel = boot
    if os.path.isabs(boot):
        rel = os.path.relpath(boot, os.path.abspath(folder))
    rel = rel.replace(os.sep, "/").strip("/")
    if rel.startswith("../") or rel == "..":
        raise BuildError(
            f"boot image {printable(boot)} is outside {printable(folder)} — copy it into the folder"
        )
    if not any(e.rel == rel and e.kind == "file" for e in tree.entries):
        raise BuildError(
            f"boot image {printable(boot)!r} is not a file in {printable(folder)} — give its "
            "path inside the folder"
        )
    return rel


def _pread(fd: int, size: int, pos: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, size, pos)
    os.lseek(fd, pos, os.SEEK_SET)  # Windows has no pread; one reader per fd, so this is safe
    return os.read(fd, size)


class SourceReadError(BuildError):
    """A source file failed while its data was being copied into the image."""


class _LazyFile(SizedReader):
    """Opens its file only while pycdlib copies it, so a 20 000-file tree needs one fd, and
    names the source file (not the image) when it cannot be read."""

    def __init__(self, path: str, rel: str, size: int) -> None:
        super().__init__(size)
        self.path = path
        self.rel = rel
        self._fd: int | None = None

    def _fail(self, why: str) -> SourceReadError:
        return SourceReadError(
            f"{printable(self.rel)}: {why} — the unfinished image was removed; copy the file "
            "off (or leave it out) and build again"
        )

    def _pread(self, pos: int, size: int) -> bytes:
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            data = _pread(self._fd, size, pos)
            while len(data) < size:  # a short read is allowed; an empty one is the end
                more = _pread(self._fd, size - len(data), pos + len(data))
                if not more:
                    raise self._fail("it shrank while the image was being written")
                data += more
        except OSError as e:
            raise self._fail(f"cannot be read ({e.strerror or e})") from None
        if pos + size >= self.size:
            self._close_fd()
        return data

    def read(self, size: int | None = -1) -> bytes:
        # pycdlib reads 1 MiB blocks: one pread straight into a bytes object, no extra copy.
        left = self.size - self.pos
        size = left if size is None or size < 0 else min(size, left)
        if size <= 0:
            return b""
        data = self._pread(self.pos, size)
        self.pos += size
        return data

    def _read_at(self, pos: int, view: memoryview) -> int:
        data = self._pread(pos, len(view))
        view[: len(data)] = data
        return len(data)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self._close_fd()
        super().close()


def build_iso(
    folder: str,
    out: str,
    opts: BuildOptions | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BuildResult:
    from app.core.create.layout import lay_out  # pycdlib: imported only when building

    o = opts or BuildOptions()
    token = cancel or CancelToken()
    label = label_for(folder, o.label)
    check_output(folder, out, o.force)
    part = out + ".part"
    tree = scan(folder, o.include_hidden, exclude=(out, part), cancel=token)
    boot_rel = boot_path(folder, tree, o.boot) if o.boot else None
    lazies: list[_LazyFile] = []

    def source(e: Entry) -> _LazyFile:
        lf = _LazyFile(os.path.join(folder, e.rel), e.rel, e.size)
        lazies.append(lf)
        return lf

    def tick(done: int, total: int) -> None:
        progress(Progress("prepare", 1, 2, done, total, done, 0, 0, 0.0, None))

    lay = lay_out(tree, label, o.udf, source, token, tick)
    iso = lay.iso
    try:
        if boot_rel is not None:
            iso.add_eltorito(
                f"{lay.file_paths[boot_rel]};1",
                bootcatfile="/BOOT.CAT;1",
                rr_bootcatname="boot.catalog",
                joliet_bootcatfile="/boot.catalog",
                udf_bootcatfile="/boot.catalog" if o.udf else None,
            )
        size = lay.image_bytes
        if o.media is not None and size > MEDIA[o.media]:
            raise BuildError(
                f"the image would be {human_bytes(size)} but a {o.media} holds "
                f"{human_bytes(MEDIA[o.media])} — choose a larger medium or fewer files"
            )
        _write(iso, out, part, progress, token)
    finally:
        iso.close()
        for lf in lazies:
            lf.close()
    return BuildResult(
        out,
        lay.files,
        lay.dirs,
        lay.links,
        lay.data_bytes,
        os.path.getsize(out),
        label,
        lay.undecodable,
    )


_FLUSH_EVERY = 64 << 20  # start the disk writing behind us every 64 MiB (see _write)


def _write(
    iso: object, out: str, part: str, progress: ProgressCallback, token: CancelToken
) -> None:
    start = time.monotonic()
    state = {"shown": 0.0, "flushed": 0}

    def on_write(done: int, size: int, _opaque: object) -> None:
        # pycdlib calls this per file; a 20 000-file image would send 40 000 events.
        if token.cancelled:
            raise Cancelled(token.reason)
        if done - state["flushed"] >= _FLUSH_EVERY:
            state["flushed"] = done
            _start_writeback(f)
        now = time.monotonic()
        if now - state["shown"] < 0.1 and done < size:
            return
        state["shown"] = now
        secs = now - start
        rate = done / secs if secs > 0.5 else 0.0
        eta = (size - done) / rate if rate else None
        progress(Progress("write", 2, 2, done, size, done, 0, 0, rate, eta))

    try:
        with open(part, "wb") as f:
            iso.write_fp(f, blocksize=1 << 20, progress_cb=on_write)  # type: ignore[attr-defined]
            f.flush()
            os.fsync(f.fileno())  # the rename below must never publish a half-written image
        os.replace(part, out)
    except BaseException as e:
        if os.path.lexists(part):
            os.unlink(part)
        if isinstance(e, OSError):
            raise BuildError(
                f"{printable(out)}: {e.strerror or e} — the unfinished image was removed; free "
                "some space or choose another place"
            ) from None
        raise


def _start_writeback(f: io.BufferedWriter) -> None:
    """Ask the kernel to write what we wrote so far now, not all at the final fsync (which
    then took 1.2 s of a 7 s build), and to keep a 4 GB image out of the page cache."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    f.flush()
    with contextlib.suppress(OSError):
        advise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
