"""What the catalogue holds: a row per disc, a row per file, and the disc's history events."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Protocol

ALGORITHMS = ("crc32", "md5", "sha1", "sha256")
SECTOR = 2048
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # as the rip report writes its dates


def now_iso() -> str:
    return time.strftime(STAMP_FORMAT, time.localtime())


def iso_of(seconds: float) -> str:
    return time.strftime(STAMP_FORMAT, time.localtime(seconds))


def parse_iso(text: str | None) -> _dt.datetime | None:
    """A report or event date; None when absent or not a date (never raises)."""
    if not text:
        return None
    for fmt in (STAMP_FORMAT, "%Y-%m-%dT%H:%M:%S"):
        try:
            when = _dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return when if when.tzinfo else when.astimezone()
    return None


def day_of(text: str | None) -> str:
    """``2026-11-30`` from an ISO date, or ``?``."""
    when = parse_iso(text)
    return when.strftime("%Y-%m-%d") if when else "?"


@dataclass
class DiscRecord:
    """One disc: everything here is derived from the files in its folder (nothing else)."""

    folder: str  # the disc folder's name, relative to the library
    image: str  # the image's file name inside the folder
    label: str
    identity: str | None  # DiscIdentity.key; None when it could not be determined
    identity_doc: str | None  # DiscIdentity.to_json() as JSON text
    identity_from: str  # "report" (written by the backup) or "image" (computed from it)
    backed_up: str  # when the backup (last run) finished, ISO 8601
    created: str  # the volume's own creation date, as recorded on the disc ("" if none)
    sectors: int
    image_bytes: int  # size of the image file on storage
    outcome: str  # the report's outcome; "complete"/"incomplete" for images without one
    unreadable_sectors: int
    crc32: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    hashes_from: str  # "report", "sidecars" or "none"
    dat: str | None  # the DAT match (JSON) when the backup looked the image up in one
    formats: str  # "ISO 9660 + Joliet", ...
    volume_id: str
    report_stamp: str  # "mtime_ns:size" of the report: a changed report means re-read it
    image_stamp: str
    problem: str = ""  # why (some) files could not be listed, in one line
    file_count: int = 0
    damaged_files: int = 0
    id: int = field(default=0, compare=False)

    @property
    def hashes(self) -> dict[str, str]:
        return {a: v for a in ALGORITHMS if (v := getattr(self, a))}

    @property
    def unreadable_bytes(self) -> int:
        return self.unreadable_sectors * SECTOR

    @property
    def complete(self) -> bool:
        return self.outcome == "complete" and not self.unreadable_sectors


DISC_COLUMNS = tuple(f.name for f in fields(DiscRecord) if f.name != "id")


@dataclass(slots=True)
class FileRow:
    """One entry of an image: ``dir`` is its folder's path ("" for the root)."""

    dir: str
    name: str
    kind: str  # "file", "dir", "symlink"
    size: int
    mtime: float | None
    unreadable: int  # bytes of it that sit on unreadable sectors

    @property
    def path(self) -> str:
        return f"{self.dir}/{self.name}"


@dataclass
class Event:
    """A verification, health scan or read, as stored in the disc folder's history."""

    kind: str  # "verify", "health", "read"
    at: str
    outcome: str
    summary: str
    doc: dict[str, object]
    file: str  # where it lives, relative to the disc folder ("" when nowhere)


@dataclass
class Hit:
    """A search result: which disc, where on it."""

    folder: str
    label: str
    image: str  # absolute path of the image
    path: str  # path inside the image
    kind: str
    size: int
    mtime: float | None
    unreadable: int


class DiscScan(Protocol):
    """What ``Catalogue.put_disc`` stores: a record, its files (streamed) and its events.

    ``problem`` is read after ``files()`` was consumed: a listing can fail half-way."""

    record: DiscRecord
    events: list[Event]
    problem: str

    def files(self) -> Iterable[FileRow]: ...
