"""A backup the app runs by hand, into the library: a new disc folder, or an incomplete disc's
own folder (resume), and the catalogue row afterwards — as ``library add`` and auto do it.

The backup itself is ``run_backup``, unchanged: a resume into a disc folder is the engine's
resume, which proves that the disc in the drive is the one the folder holds (its identity and
a sample of finished sectors) and refuses with one line otherwise.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from app.core.base.units import human_bytes
from app.core.library.catalogue import Catalogue, CatalogueError
from app.core.library.folder import DEFAULT_TEMPLATE, Library, LibraryError, folder_name, safe_name
from app.core.library.records import DiscRecord, now_iso
from app.core.library.shelf import ingest
from app.core.rescue.backup import BackupOutcome

__all__ = [
    "Shelved", "catalogue_folder", "new_disc", "refusal_line", "resume_image", "shelved_words"
]  # fmt: skip


@dataclass
class Shelved:
    """What the catalogue says after a backup into the library."""

    folder: str
    record: DiscRecord | None
    problem: str = ""  # the catalogue could not take it (the folder is there; rebuild finds it)


def new_disc(lib: Library, label: str, template: str = DEFAULT_TEMPLATE) -> tuple[str, str]:
    """Make the disc folder of a new backup (``{label}_{date}``; a taken name gets ``_2``…):
    (folder, image path inside it). ``LibraryError`` when it cannot be made."""
    lib.ensure()
    folder = lib.new_folder(folder_name(template, label, now_iso()))
    return folder, os.path.join(lib.path(folder), f"{safe_name(label or 'DISC')}.iso")


def drop_if_empty(lib: Library, folder: str) -> None:
    """A backup that could not start wrote nothing: its new folder goes again."""
    with contextlib.suppress(OSError):
        os.rmdir(lib.path(folder))


def resume_image(lib: Library, rec: DiscRecord) -> str:
    """The image a resume of ``rec`` writes into (its mapfile beside it). ``LibraryError``
    when the folder no longer holds what the catalogue says."""
    image = os.path.join(lib.path(rec.folder), rec.image)
    if not os.path.exists(image + ".map"):
        raise LibraryError(
            f"{rec.folder} has no mapfile for {rec.image}: there is nothing to resume — "
            "rebuild the catalogue, or back the disc up again"
        )
    return image


def catalogue_folder(lib: Library, folder: str, what: str) -> Shelved:
    """Store the disc folder in the catalogue (the row replaces the old one). A catalogue that
    is busy or damaged does not undo the backup: the folder is there, and the problem is said."""
    try:
        with Catalogue(lib, create=True, what=what) as cat:
            return Shelved(folder, ingest(cat, lib, folder))
    except (CatalogueError, LibraryError, OSError) as e:
        return Shelved(
            folder, None, f"{folder} is not in the catalogue yet ({e}) — Rebuild adds it"
        )


def shelved_words(done: BackupOutcome, shelved: Shelved) -> str:
    """One line: how the backup ended, and where it is on the shelf."""
    res = done.result
    ss = res.sector_size
    if shelved.problem:
        return shelved.problem
    rec = shelved.record
    label = rec.label if rec is not None else shelved.folder
    if res.outcome == "complete":
        how = "complete (resumed)" if res.resumed else "complete"
    elif res.outcome == "incomplete":
        how = f"{human_bytes(res.damaged_sectors * ss)} still unreadable"
    else:
        how = f"{res.outcome}: {human_bytes(res.rescued_sectors * ss)} read"
    return f"{label}: {how} — in the library as {shelved.folder}"


NOT_THIS_DISC = ("belongs to another disc", "does not hold this disc", "cannot check that")


def refusal_line(message: str, lib: Library, label: str) -> str:
    """The engine's refusal of a resume, for a page about the library: its cause with paths
    inside the library shortened to the disc folder, and — when the disc in the drive is not
    this one — the remedy that fits ("put LABEL in the drive"), not "choose another name"."""
    line = (message.splitlines() or ["the resume could not start"])[0]
    line = line.replace(lib.root + os.sep, "")
    cause, _, remedy = line.partition(" — ")
    if any(words in cause for words in NOT_THIS_DISC):
        return f"{cause} — put {label} in the drive, or select the drive it is in"
    return line if remedy else cause
