"""What the Library page shows and does, one call each, run off the GUI thread (no Qt here).

Each call opens its own catalogue connection: SQLite connections belong to one thread, and a
short-lived one always sees the latest catalogue (after a rebuild in another process, too).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from app.core.base import mapfile
from app.core.base.events import CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc.sources import SectorSource
from app.core.library import health, importer
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.core.library.records import SECTOR, DiscRecord, Event, FileRow, Hit
from app.core.library.shelf import find_by_identity, identify_source, ingest
from app.core.library.state import DiscState, disc_state

MAX_DAMAGED = 1000  # a list a person reads; the count says how many more


@dataclass
class ShelfView:
    discs: list[tuple[DiscRecord, DiscState]] = field(default_factory=list)
    files: int = 0
    message: str = ""  # why the shelf is empty, in words


@dataclass
class DiscDetails:
    record: DiscRecord
    state: DiscState
    image: str
    events: list[Event]
    damaged: list[FileRow]
    damaged_total: int
    map: RangeMap | None  # the final sector map (all finished when the backup had no mapfile)
    map_note: str = ""


def load_shelf(lib: Library) -> ShelfView:
    if not lib.exists():
        return ShelfView(message=f"No library yet at {lib.root}: add a backup to start one.")
    if not os.path.exists(lib.catalogue_path):
        has_discs = bool(lib.disc_folders())
        return ShelfView(
            message="The catalogue is missing: rebuild it from the disc folders."
            if has_discs
            else f"No discs yet in {lib.root}: add a backup."
        )
    with Catalogue(lib) as cat:
        events = cat.all_events()
        discs = [(d, disc_state(d, events.get(d.id, []))) for d in cat.discs()]
        _, files = cat.totals()
    return ShelfView(discs, files, "" if discs else f"No discs yet in {lib.root}: add a backup.")


def load_details(lib: Library, folder: str) -> DiscDetails | None:
    with Catalogue(lib) as cat:
        rec = cat.disc(folder)
        if rec is None:
            return None
        events = cat.events(rec.id)
        damaged: list[FileRow] = []
        total = 0
        for f in cat.files(rec.id, damaged_only=True):
            total += 1
            if len(damaged) < MAX_DAMAGED:
                damaged.append(f)
    image = os.path.join(lib.path(folder), rec.image)
    rmap: RangeMap | None = None
    note = ""
    if os.path.exists(image + ".map"):
        try:
            rmap = mapfile.load(image + ".map", SECTOR, rec.sectors).map
        except mapfile.MapfileError as e:
            note = str(e)
    elif rec.sectors:
        rmap = RangeMap(rec.sectors, FINISHED if rec.complete else "?")
        note = "no mapfile: the map shows what the report says"
    state = disc_state(rec, [e for e in events if e.kind in ("verify", "health")])
    return DiscDetails(rec, state, image, events, damaged, total, rmap, note)


def search(lib: Library, query: str, limit: int) -> tuple[list[Hit], bool]:
    """``QueryError`` for words that cannot be looked up (the page shows the message)."""
    with Catalogue(lib) as cat:
        return cat.search(query, limit)


def add_backup(
    lib: Library,
    path: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> str:
    """The app's "Add backup…": import ``path`` into a new disc folder and catalogue it.
    Returns what happened, in words."""
    plan = importer.plan(lib, path)
    lib.ensure()
    t0 = time.monotonic()
    with Catalogue(lib, create=True, what="Add backup (DiscVault app)") as cat, cat.hold():
        twin = importer.duplicate_of(cat, plan)
        if twin is not None:
            return f"{os.path.basename(path)} is already in the library as {twin.folder}"

        def on_bytes(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - t0, 1e-6)
            progress(Progress("copy", 1, 1, done, total, done, 0, 0, rate, None))

        folder = importer.add(lib, plan, on_bytes=on_bytes, cancel=cancel)
        rec = ingest(cat, lib, folder)
    return f"Added {rec.label} as {folder} ({rec.file_count:,} files)"


def scan_health(
    lib: Library,
    source: SectorSource,
    selected: str,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> str:
    """The app's "Health scan": scan the disc in the drive and store it with the catalogued
    disc it is (recognised by identity). Returns what happened, in words."""
    with Catalogue(lib, what="Health scan (DiscVault app)") as cat:
        ident = identify_source(source)
        rec = find_by_identity(cat, ident) if ident else None
        res = health.scan(source, progress=progress, cancel=cancel)
        if res.outcome != "done":
            return f"Health scan stopped: {res.message or res.outcome}"
        if rec is None:
            return f"{res.describe()} — not stored: the disc in the drive is not in the library"
        health.record(lib, cat, rec.folder, res)
    other = "" if rec.folder == selected else f" (the disc in the drive is {rec.label})"
    return f"{rec.label}: {res.describe()}{other}"
