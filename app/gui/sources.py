"""What the drive panel lists: real drives, devices the user opened, and the demo drive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.core.base.units import human_bytes
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import SectorSource
from app.platform import DriveInfo, eject, open_source

STATE_WORDS = {
    "no_disc": "No disc",
    "tray_open": "Tray open",
    "not_ready": "Getting ready…",
    "disc_ok": "",
    "unknown": "",
}
AUDIO_CD = (
    "This is an audio CD: it is backed up as BIN/CUE (one .bin per track and a .cue sheet), "
    "each sector checked by the drive's C2 pointers. A drive that cannot read raw sectors "
    "cannot back it up: the backup then stops and says so."
)


def audio_note(layout: DiscLayout) -> str:
    """What a backup of a disc with audio tracks keeps, in plain words."""
    audio = ", ".join(str(t.number) for t in layout.audio_tracks)
    data = ", ".join(str(t.number) for t in layout.data_tracks)
    many = len(layout.audio_tracks) > 1
    return (
        f"Audio track{'s' if many else ''} {audio} and data track{'s' if ',' in data else ''} "
        f"{data}: backed up as BIN/CUE (one .bin per track and a .cue sheet). A drive that "
        "cannot read raw sectors keeps the data tracks in an .iso and says the audio was "
        "not imaged."
    )


@dataclass
class SourceEntry:
    key: str  # resource id: one job at a time per key
    title: str
    detail: str
    label: str
    opener: Callable[[], SectorSource]
    can_eject: bool = False
    ready: bool = True
    simulated: bool = False
    path: str = ""
    icon: str = "drive"  # theme icon name
    layout: DiscLayout | None = None  # from the drive's TOC, when it gave one
    note: str = ""  # what the user should know before backing it up (audio, protection)

    def eject(self) -> None:
        eject(self.path)


def from_drive(d: DriveInfo) -> SourceEntry:
    parts = [STATE_WORDS.get(d.state, "")]
    note = ""
    layout = d.layout if d.state == "disc_ok" else None
    audio_only = layout is not None and not layout.data_tracks
    if d.state == "disc_ok":
        parts = [human_bytes(d.sectors * 2048)] if d.sectors and not audio_only else []
        if layout is not None and (len(layout.sessions) > 1 or len(layout.tracks) > 1):
            parts.append(layout.summary())
        if audio_only:
            parts.append("audio CD: backed up as BIN/CUE")
            note = AUDIO_CD
        elif layout is not None and layout.audio_tracks:
            note = audio_note(layout)
        elif d.has_audio:  # no TOC was read: the rescue itself finds out
            parts.append("audio tracks: backed up as BIN/CUE")
        if d.protection:
            parts.append(f"{d.protection} copy protection")
            note = (note + " " if note else "") + (
                f"This disc says it is {d.protection}-protected: DiscVault does not circumvent "
                "copy protection, and stops where the drive refuses sectors."
            )
    if d.problem:
        parts.append(d.problem)
    return SourceEntry(
        key=d.path,
        title=d.title,
        detail=" · ".join(p for p in parts if p) or d.path,
        label=d.label,
        opener=lambda: open_source(d.path),
        can_eject=True,
        ready=d.state in ("disc_ok", "unknown"),
        path=d.path,
        layout=layout,
        note=note,
    )


def volume_label(path: str) -> str:
    """The ISO 9660 volume label at sector 16 of an image or device, or "" (one 2 KB read)."""
    try:
        with open(path, "rb") as f:
            f.seek(16 * 2048)
            pvd = f.read(2048)
    except OSError:
        return ""
    if len(pvd) < 72 or pvd[1:6] != b"CD001" or pvd[0] != 1:
        return ""
    return pvd[40:72].decode("ascii", "replace").strip()


def from_path(path: str, label: str = "") -> SourceEntry:
    return SourceEntry(
        key=path,
        title=path,
        detail="device or image",
        label=label or volume_label(path),
        opener=lambda: open_source(path),
        path=path,
    )


def demo_entry(fast: bool = False) -> SourceEntry:
    from app.core.disc.demo import DEMO_LABEL, DemoSource

    return SourceEntry(
        key="demo",
        title="Demo drive",
        detail="simulated disc, 100 MB, scratched",
        label=DEMO_LABEL,
        opener=(lambda: DemoSource(rate=1e12, error_delay=0.0)) if fast else DemoSource,
        simulated=True,
        icon="demo",
    )
