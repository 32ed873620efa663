"""Bring an existing backup into the library: a new disc folder named from the template.

The image keeps its file name (its checksum files name it, so ``sha1sum -c`` keeps working),
with its mapfile, report and checksum files beside it. Everything is copied under ``.part``
names first and renamed only when all of it is there, so an interrupted import leaves no
half disc folder that a rebuild would take for a disc. ``move`` renames when the library is
on the same filesystem and copies-then-deletes otherwise; the originals go only after the
copies are complete and on disk. An image without a report or checksum files gets checksum
files, hashed while it is copied: the catalogue never hashes, so they must exist on disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass

from app.core.base.events import CancelToken
from app.core.base.hashing import StreamHasher, hash_file
from app.core.fs.inspection import open_image
from app.core.fs.node import InspectError
from app.core.library.catalogue import Catalogue
from app.core.library.folder import (
    DEFAULT_TEMPLATE,
    REPORT_SUFFIX,
    Library,
    LibraryError,
    find_image,
    folder_name,
)
from app.core.library.ingest import image_identity, load_report, sidecar_hashes
from app.core.library.records import SECTOR, DiscRecord, iso_of
from app.core.rescue import report as rip_report

CHUNK = 1 << 20
COMPANIONS = (".map", REPORT_SUFFIX, ".md5", ".sha1", ".sha256")
Bytes = Callable[[int, int], None]  # (done, total)


@dataclass
class Plan:
    image: str  # absolute path of the image to bring in
    label: str
    when: str | None
    in_place: str  # the disc folder's name when the image already sits in one, else ""


def plan(lib: Library, path: str) -> Plan:
    """What adding ``path`` (an image, or a disc folder) would do; ``LibraryError`` if it can't."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        image = find_image(path)
        if image is None:
            raise LibraryError(f"{path}: no disc image in this folder — name the image itself")
        path = os.path.join(path, image)
    if not os.path.isfile(path):
        raise LibraryError(f"{path}: no such image file")
    rep, _ = load_report(path + REPORT_SUFFIX)
    label = ""
    if rep is not None:
        with contextlib.suppress(AttributeError, TypeError):
            label = str(((rep.get("disc") or {}).get("identity") or {}).get("label", ""))
    if not label:
        try:
            insp = open_image(path)
        except InspectError as e:
            if rep is None and not os.path.exists(path + ".map"):
                raise LibraryError(
                    f"{e} — only disc images (or DiscVault backups) go into the library"
                ) from e
        else:
            label = insp.volume_id
            insp.close()
    if not label:
        ident = image_identity(path, os.path.getsize(path) // SECTOR, None)
        label = ident.label if ident else ""
    when = (
        str(rep.get("finished")) if rep and rep.get("finished") else iso_of(os.path.getmtime(path))
    )
    parent = os.path.dirname(path)
    in_place = ""
    if os.path.dirname(parent) == lib.root and not os.path.basename(parent).startswith("."):
        in_place = os.path.basename(parent)
    return Plan(path, label or os.path.splitext(os.path.basename(path))[0], when, in_place)


def duplicate_of(cat: Catalogue, p: Plan) -> DiscRecord | None:
    """The catalogued disc that is this very image (same checksums, same size), if any."""
    if p.in_place:
        return None
    rep, _ = load_report(p.image + REPORT_SUFFIX)
    hashes = rep.get("hashes") if rep and isinstance(rep.get("hashes"), dict) else None
    hashes = hashes or sidecar_hashes(p.image)
    if not hashes:
        return None
    size = os.path.getsize(p.image)
    for rec in cat.discs():
        known = rec.hashes
        same = [a for a in known if a in hashes]
        if same and rec.image_bytes == size and all(known[a] == hashes[a] for a in same):
            return rec
    return None


def add(
    lib: Library,
    p: Plan,
    *,
    move: bool = False,
    template: str = DEFAULT_TEMPLATE,
    on_bytes: Bytes | None = None,
    cancel: CancelToken | None = None,
) -> str:
    """Put the planned backup into its disc folder; returns the folder's name."""
    token = cancel or CancelToken()
    if p.in_place:
        _ensure_hashes(p.image, on_bytes, token)
        return p.in_place
    name = folder_name(template, p.label, p.when)
    folder = lib.new_folder(name)
    _bring(p.image, lib.path(folder), move, on_bytes, token)
    return folder


def _companions(image: str) -> list[str]:
    """The files that travel with an image (as ``app.core.base.companions`` names them on the
    layout-aware engine): mapfile, report, checksum files, and a cue sheet under the image's
    own stem (``disc.cue`` beside ``disc.iso``), where every cue reader looks for it."""
    stem, ext = os.path.splitext(image)
    cue = (stem if ext.lower() == ".iso" else image) + ".cue"
    return [p for p in (*(image + s for s in COMPANIONS), cue) if os.path.isfile(p)]


def _bring(
    image: str, dest_dir: str, move: bool, on_bytes: Bytes | None, token: CancelToken
) -> None:
    sources = [*_companions(image), image]  # the image last: the biggest, and what makes a disc
    if move and _same_device(image, dest_dir):
        _rename_all(sources, dest_dir)
        _ensure_hashes(os.path.join(dest_dir, os.path.basename(image)), on_bytes, token)
        return
    try:
        _copy_all(image, sources, dest_dir, on_bytes, token)
    except BaseException:
        _discard(dest_dir)  # only copies are in there: the originals are untouched
        raise
    if move:
        for src in sources:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(src)


def _rename_all(sources: list[str], dest_dir: str) -> None:
    done: list[tuple[str, str]] = []
    try:
        for src in sources:
            dst = os.path.join(dest_dir, os.path.basename(src))
            os.rename(src, dst)
            done.append((src, dst))
    except BaseException:
        for src, dst in reversed(done):  # put back what was moved: the user's files, not ours
            with contextlib.suppress(OSError):
                os.rename(dst, src)
        with contextlib.suppress(OSError):
            os.rmdir(dest_dir)
        raise


def _copy_all(
    image: str, sources: list[str], dest_dir: str, on_bytes: Bytes | None, token: CancelToken
) -> None:
    need_hashes = not _has_hashes(image)
    parts: list[tuple[str, str]] = []
    hashes: dict[str, str] = {}
    for src in sources:
        dst = os.path.join(dest_dir, os.path.basename(src))
        got = _copy(
            src,
            dst + ".part",
            on_bytes if src == image else None,
            token,
            hash_it=need_hashes and src == image,
        )
        if got:
            hashes = got
        parts.append((dst + ".part", dst))
    for part, dst in parts:
        os.replace(part, dst)
    if hashes:
        rip_report.write_sidecars(os.path.join(dest_dir, os.path.basename(image)), hashes)
    _fsync_dir(dest_dir)


def _copy(
    src: str, dst: str, on_bytes: Bytes | None, token: CancelToken, *, hash_it: bool
) -> dict[str, str]:
    total = os.path.getsize(src)
    hasher = StreamHasher() if hash_it else None
    done = 0
    try:
        with open(src, "rb", buffering=0) as fi, open(dst, "wb", buffering=0) as fo:
            while chunk := fi.read(CHUNK):
                token.raise_if_cancelled()
                view = memoryview(chunk)
                while view:
                    view = view[fo.write(view) or 0 :]
                if hasher is not None:
                    hasher.update(chunk)
                done += len(chunk)
                if on_bytes is not None:
                    on_bytes(done, total)
            os.fsync(fo.fileno())
    except BaseException:
        if hasher is not None:
            hasher.abort()
        raise
    return hasher.finish() if hasher is not None else {}


def _has_hashes(image: str) -> bool:
    rep, _ = load_report(image + REPORT_SUFFIX)
    return bool(rep and rep.get("hashes")) or bool(sidecar_hashes(image))


def _ensure_hashes(image: str, on_bytes: Bytes | None, token: CancelToken) -> None:
    """An image already in place without any stored checksum gets checksum files."""
    if _has_hashes(image):
        return
    total = os.path.getsize(image)
    hashes = hash_file(
        image,
        on_bytes=(lambda n: on_bytes(n, total)) if on_bytes else None,
        should_stop=lambda: token.cancelled,
    )
    token.raise_if_cancelled()
    if hashes:
        rip_report.write_sidecars(image, hashes)


def _same_device(a: str, b: str) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def _discard(dest_dir: str) -> None:
    """Undo a failed import: only what we made (the folder was new and empty before)."""
    for name in os.listdir(dest_dir):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(dest_dir, name))
    with contextlib.suppress(OSError):
        os.rmdir(dest_dir)


def explain(e: OSError, what: str) -> str:
    if e.errno == errno.ENOSPC:
        return f"{what}: the library's disk is full — free some space and add it again"
    return f"{what}: {e.strerror or e}"
