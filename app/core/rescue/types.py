"""What the rescue engine takes and gives back: settings, pass records, the result."""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.core.base.outcome import Outcome
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc.claims import Claims
from app.core.disc.identity import DiscIdentity
from app.core.disc.plan import Kind, Plan

if TYPE_CHECKING:
    from app.core.disc.offsets import ReadOffset
    from app.core.rescue.output import FileResult, Output


class DestinationError(Exception):
    """The image or mapfile cannot be written (disk full, permission, wrong file)."""


_REMEDY = {
    errno.ENOSPC: "free some space",
    errno.EDQUOT: "free some space (the disk quota is used up)",
    errno.EROFS: "choose a folder on a disk that can be written",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
}


def cannot_write(what: str, path: str, e: OSError) -> str:
    """One line for a file a backup could not write: which file (the one the system named,
    e.g. a temporary name in the way), why, and what to do."""
    where = e.filename if isinstance(e.filename, str) and e.filename else path
    remedy = _REMEDY.get(e.errno or 0, f"move {where} out of the way or choose another place")
    return f"cannot write {what} {where}: {e.strerror} — {remedy}, then run the same backup again"


@dataclass
class RescueSettings:
    cluster: int = 32  # sectors per read at the start and near errors (64 KiB)
    max_cluster: int = 512  # reads grow to this on clean media (1 MiB)
    retries: int = 3
    fill: str = "zero"  # or "marker": unreadable sectors carry a recognisable text
    save_interval: float = 5.0
    skip_max_fraction: float = 0.01
    max_time: float | None = None  # seconds: past this, stop reading and finish
    max_failed_reads: int | None = None  # past this many failed reads, stop and finish


@dataclass
class PassRecord:
    phase: str
    pass_no: int
    direction: str
    reads: int = 0
    failed_reads: int = 0
    recovered_sectors: int = 0
    seconds: float = 0.0


@dataclass
class RescueResult:
    outcome: Outcome
    message: str
    plan: Plan  # what was imaged: the layout, the domain, data and not-data regions
    claims: Claims  # what the filesystems on the disc claim
    identity: DiscIdentity | None
    capacity: int  # sectors the device reported
    sector_size: int
    sectors: int  # the mapfile's domain
    image_sectors: int  # the image file's length (trailing unreadable run-out left out)
    map: RangeMap
    resumed: bool
    hashes: dict[str, str] | None = None
    hashes_from: str = ""  # "stream" (while reading) or "image" (finished image file)
    passes: list[PassRecord] = field(default_factory=list)
    reads: int = 0
    failed_reads: int = 0
    duration: float = 0.0
    settings: RescueSettings = field(default_factory=RescueSettings)
    source_notes: list[str] = field(default_factory=list)  # what the drive layer did
    trailing_bytes: int = 0  # a source file's bytes past its last whole sector (not imaged)
    protection: str = ""  # "CSS" when the disc said so
    files: list[FileResult] = field(default_factory=list)  # what was written, with hashes
    output: Output | None = None  # the format that wrote them (closed), for the sheet
    unchecked: RangeMap | None = None  # "u": kept without a proof of its own (rawsource)
    proof: dict[str, int] = field(default_factory=dict)  # EDC/C2 failures seen, zero codes
    read_offset: ReadOffset | None = None  # the audio read offset applied (raw reads)
    drive: str = ""  # the drive's vendor and product, when known
    raw: bool = False  # sectors were read raw (READ CD) and proven one by one
    format_notes: list[str] = field(default_factory=list)  # why this format, what it lacks

    @property
    def damaged_sectors(self) -> int:
        """Data sectors not rescued: the only unreadable sectors that count."""
        return self.plan.damaged(self.map, self._untried_is_damage)

    @property
    def damaged_ranges(self) -> list[tuple[int, int, str]]:
        return self.plan.damaged_runs(self.map, self._untried_is_damage)

    @property
    def _untried_is_damage(self) -> bool:
        # Copy protection stops a rip at the first refused sector: what lies after it was never
        # asked for, so it is "not read", not damage (a medium error found before still counts).
        return self.outcome is not Outcome.PROTECTED

    def describe(self) -> str:
        """The disc and what became of its sectors, in the report's and the summary's words."""
        if self.outcome is Outcome.PROTECTED:
            return self.plan.describe(self.map, not_read="copy protection")
        return self.plan.describe(self.map)

    @property
    def not_data(self) -> dict[Kind, int]:
        return self.plan.not_data(self.map)

    @property
    def rescued_sectors(self) -> int:
        return self.map.count(FINISHED)[0]

    @property
    def data_sectors(self) -> int:
        """Sectors that hold data: the domain without audio, run-out and session gaps."""
        return sum(e - s for s, e in self.plan.runs(Kind.DATA))

    @property
    def rescued_data_sectors(self) -> int:
        """Data sectors rescued (what "rescued X of Y" counts; not-data ones are named apart)."""
        return self.data_sectors - self.plan.damaged(self.map)


MARKER = b"DISCVAULT: UNREADABLE SECTOR "


def marker_sector(lba: int, size: int) -> bytes:
    """A sector that says what it is, so a damaged file shows where it was damaged."""
    line = MARKER + f"LBA {lba:10d}\n".encode()
    return (line * (size // len(line) + 1))[:size]
