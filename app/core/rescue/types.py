"""What the rescue engine takes and gives back: settings, pass records, the result."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc import discsize


class DestinationError(Exception):
    """The image or mapfile cannot be written (disk full, permission, wrong file)."""


@dataclass
class RescueSettings:
    cluster: int = 32  # sectors per read at the start and near errors (64 KiB)
    max_cluster: int = 512  # reads grow to this on clean media (1 MiB)
    retries: int = 3
    fill: str = "zero"  # or "marker": unreadable sectors carry a recognisable text
    save_interval: float = 5.0
    skip_max_fraction: float = 0.01


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
    outcome: str  # "complete", "incomplete", "cancelled", "source_gone", "destination_error"
    message: str
    size: discsize.DiscSize
    sector_size: int
    sectors: int
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

    @property
    def bad_ranges(self) -> list[tuple[int, int]]:
        """Every run that is not finished, as (first LBA, count)."""
        return [(s, e - s) for s, e, st in self.map.runs() if st != FINISHED]

    @property
    def rescued_sectors(self) -> int:
        return self.map.count(FINISHED)[0]


MARKER = b"DISCVAULT: UNREADABLE SECTOR "


def marker_sector(lba: int, size: int) -> bytes:
    """A sector that says what it is, so a damaged file shows where it was damaged."""
    line = MARKER + f"LBA {lba:10d}\n".encode()
    return (line * (size // len(line) + 1))[:size]
