"""What every platform's drive layer reports (no OS imports here: importable everywhere)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.disc.layout import DiscLayout


@dataclass
class DriveInfo:
    path: str
    name: str
    vendor: str = ""
    model: str = ""
    state: str = "unknown"  # no_disc, tray_open, not_ready, disc_ok, unknown
    profile: str | None = None  # "CD-ROM", "DVD+R", "BD-RE", … from GET CONFIGURATION
    has_audio: bool | None = None
    label: str = ""
    filesystem: str = ""
    mountpoint: str = ""
    sectors: int = 0
    simulated: bool = False
    problem: str = ""
    layout: DiscLayout | None = None  # sessions and tracks, when the drive gave a TOC
    protection: str = ""  # "CSS" when a DVD says so
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return " ".join(p for p in (self.vendor, self.model) if p) or self.name


@dataclass(frozen=True)
class DriveEvent:
    kind: str  # "added", "removed" (the drive), "disc_inserted", "disc_removed", "tray_open",
    # "changed" (another disc, or label/size changed)
    drive: DriveInfo
