"""Keep the catalogue in step with the disc folders: one disc, or all of them; find a disc.

``rebuild`` makes the whole catalogue again in a single transaction: until it commits, readers
see the old catalogue, and a crash or Ctrl-C leaves the old one in place. A catalogue SQLite
cannot read at all is moved aside (``catalogue.sqlite3.damaged-…``), never deleted.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.base.events import CancelToken
from app.core.disc.identity import DiscIdentity, identify
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import SectorSource, SourceError
from app.core.library.catalogue import Catalogue, CatalogueBusy, CatalogueDamaged, wait_seconds
from app.core.library.folder import REPORT_SUFFIX, Library, LibraryError, find_image
from app.core.library.ingest import FolderScan, stamp
from app.core.library.lock import LibraryBusy, ProcessLock
from app.core.library.records import DiscRecord

Step = Callable[[int, int, str], None]  # (done, total, folder)


def _no_step(done: int, total: int, folder: str) -> None:
    """Default: nobody watches."""


@dataclass
class ShelfResult:
    discs: int = 0
    files: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (folder, what)
    seconds: float = 0.0
    moved_aside: str = ""  # where a damaged catalogue went


def ingest(
    cat: Catalogue, lib: Library, folder: str, cancel: CancelToken | None = None
) -> DiscRecord:
    """Read one disc folder and store it (replacing what the catalogue had for it)."""
    try:
        scan = FolderScan(lib, folder)
    except ValueError as e:
        raise LibraryError(str(e)) from e
    try:
        scan.persist()
        cat.put_disc(scan, cancel)
    finally:
        scan.close()
    return scan.record


def _require(lib: Library) -> None:
    if not lib.exists():
        raise LibraryError(
            f"no library folder at {lib.root} — check --library, or add a disc to start one"
        )


def rebuild(lib: Library, step: Step = _no_step, cancel: CancelToken | None = None) -> ShelfResult:
    """The catalogue again, from the disc folders alone."""
    _require(lib)
    lib.ensure()
    t0 = time.monotonic()
    res = ShelfResult()
    lock = ProcessLock(lib.lock_path, "library rebuild")
    try:
        lock.acquire(timeout=wait_seconds())
    except LibraryBusy as e:
        raise CatalogueBusy(
            f"the library {lib.root} is in use by another DiscVault process ({e}) — "
            "wait for it to finish, then try again"
        ) from e
    try:
        try:
            _rebuild_into(lib, lock, res, step, cancel)
        except CatalogueDamaged:
            res.moved_aside = move_aside(lib)
            _rebuild_into(lib, lock, res, step, cancel)
    finally:
        lock.release()
    res.seconds = time.monotonic() - t0
    return res


def _rebuild_into(
    lib: Library, lock: ProcessLock, res: ShelfResult, step: Step, cancel: CancelToken | None
) -> None:
    folders = lib.disc_folders()
    res.discs = res.files = 0
    res.problems.clear()
    with Catalogue(lib, create=True, what="library rebuild", lock=lock) as cat:
        with cat.writing():
            cat.reset()
            for i, folder in enumerate(folders):
                step(i, len(folders), folder)
                if cancel is not None:
                    cancel.raise_if_cancelled()
                rec = ingest(cat, lib, folder, cancel)
                res.discs += 1
                res.files += rec.file_count
                if rec.problem:
                    res.problems.append((folder, rec.problem))
        step(len(folders), len(folders), "")
        cat.checkpoint()


def move_aside(lib: Library) -> str:
    """Rename a damaged catalogue (and its WAL) out of the way; returns the new name."""
    dest = f"{lib.catalogue_path}.damaged-{time.strftime('%Y%m%dT%H%M%S')}"
    for suffix in ("", "-wal", "-shm"):
        src = lib.catalogue_path + suffix
        if os.path.exists(src):
            if suffix == "-shm":  # the shared-memory index is only a cache of the WAL
                with contextlib.suppress(OSError):
                    os.unlink(src)
                continue
            os.replace(src, dest + suffix)
    return dest


def changed(lib: Library, rec: DiscRecord) -> bool:
    """Has the folder changed since the catalogue read it (report, image, which image)?"""
    path = lib.path(rec.folder)
    image = find_image(path)
    if image != rec.image:
        return True
    img = os.path.join(path, rec.image)
    return stamp(img + REPORT_SUFFIX) != rec.report_stamp or stamp(img) != rec.image_stamp


def identify_source(source: SectorSource) -> DiscIdentity | None:
    """The identity of the disc in a drive (or a device, or an image opened as a source),
    computed as the backup computes it: from the drive's own layout (its TOC) where the source
    can read one, else as one data track of the source's capacity."""
    read_layout = getattr(source, "read_layout", None)  # drives that report their TOC
    try:
        layout = read_layout() if read_layout else DiscLayout.flat(source.sector_count)
        return identify(layout, source.read)
    except SourceError:  # no disc, or it went away: nothing to recognise
        return None


def find_by_identity(cat: Catalogue, ident: DiscIdentity) -> DiscRecord | None:
    """The catalogued disc with this identity: the same key, else (a drive may report a
    slightly different size than the image holds, e.g. TAO run-out) the one disc whose
    volume descriptors hash the same."""
    discs = cat.discs()
    same = [d for d in discs if d.identity == ident.key]
    if same:
        return same[0]
    if ident.descriptors:
        near = [d for d in discs if d.identity and d.identity.split(":")[1] == ident.descriptors]
        if len(near) == 1:
            return near[0]
    return None


def resolve(cat: Catalogue, text: str) -> DiscRecord:
    """A disc named the way a user would: its folder, the start of it, or its label."""
    discs = cat.discs()
    tests: list[Callable[[DiscRecord], bool]] = [
        lambda d: d.folder == text,
        lambda d: d.folder.casefold() == text.casefold(),
        lambda d: d.label.casefold() == text.casefold(),
        lambda d: d.folder.casefold().startswith(text.casefold()),
    ]
    for test in tests:
        found = [d for d in discs if test(d)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(d.folder for d in found[:5])
            raise LibraryError(
                f"{text!r} names {len(found)} discs ({names}) — give the folder name"
            )
    raise LibraryError(f"no disc {text!r} in the library — `discvault library list` shows them")
