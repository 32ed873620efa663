"""Which format a backup writes, and through which reads: decided once, from the disc's layout
and what the drive can do.

- ``auto``: BIN/CUE for a CD with an audio or a Mode 2 track (an .iso cannot hold either
  faithfully), else an .iso — the default for Mode 1 single-session data discs, DVDs and BDs.
- ``bincue``: asked for. Read raw (READ CD); a drive that will not read raw sectors can still
  give a Mode 1-only disc (raw sectors follow from the user data), marked "not EDC-checked",
  but not audio or Mode 2 (refused with one line).
- ``iso``: 2048-byte user data, as always.

A drive without raw reads under ``auto`` falls back to the .iso: data tracks as 2048-byte
sectors (not EDC-checked), audio tracks named and not imaged; an audio CD then has nothing to
image and is refused with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from app.core.disc.layout import DiscLayout, TrackKind
from app.core.disc.offsets import ReadOffset
from app.core.disc.rawsource import EncodedSource
from app.core.disc.sources import SectorSource, SourceError
from app.core.rescue.bincue import stem_of

FORMAT_CHOICES = ("auto", "iso", "bincue")


@dataclass
class Choice:
    format: str
    source: SectorSource
    image: str
    notes: list[str] = field(default_factory=list)  # what was decided and why, in words
    offset: ReadOffset | None = None
    drive: str = ""
    raw: bool = False  # sectors come from READ CD and are proven one by one
    details: list[str] = field(default_factory=list)  # what the drive said (report only)


def needs_raw(layout: DiscLayout) -> bool:
    """A CD that an .iso cannot hold faithfully: audio tracks, or Mode 2 (XA) tracks."""
    if layout.medium not in ("", "CD"):
        return False
    return any(t.kind in (TrackKind.AUDIO, TrackKind.MODE2) for t in layout.tracks)


PREGAP = 150  # 2 s: what the Red and Yellow Books ask where a track's kind changes


def assume_pregaps(layout: DiscLayout) -> tuple[DiscLayout, str]:
    """The layout with 2-second pregaps where a track follows one of another kind in its
    session (a data track then audio: Mixed Mode), as Redump's files have them. The TOC does not
    say where a pregap (INDEX 00) begins; without reading the Q sub-channel this is the
    standard's value, and the note says so."""
    sessions, changed = [], False
    for s in layout.sessions:
        tracks = list(s.tracks)
        for i in range(1, len(tracks)):
            prev, t = tracks[i - 1], tracks[i]
            if t.kind is not prev.kind and not t.pregap and t.start - prev.start > PREGAP:
                tracks[i] = replace(t, pregap=PREGAP)
                changed = True
        sessions.append(replace(s, tracks=tuple(tracks)))
    if not changed:
        return layout, ""
    note = (
        "pregaps of 2 seconds (150 sectors) assumed where a track's kind changes, as the "
        "standard asks: the drive's TOC does not give INDEX 00"
    )
    return replace(layout, sessions=tuple(sessions)), note


def image_for(image: str, fmt: str) -> str:
    """The primary file's name in ``fmt``: NAME.cue for a BIN/CUE, else NAME.iso (a name
    with another extension, or none, is kept as given for an .iso)."""
    if fmt == "bincue":
        return stem_of(image) + ".cue"
    stem, ext = os.path.splitext(image)
    return stem + ".iso" if ext.lower() in (".cue", ".bin") else image


def choose(
    source: SectorSource, requested: str, image: str, read_offset: int | None = None
) -> Choice:
    """``SourceError`` (one line) when the disc cannot be backed up as asked."""
    if requested not in FORMAT_CHOICES:
        raise ValueError(f"no format {requested!r}")
    layout = source.read_layout()
    want_raw = requested == "bincue" or (requested == "auto" and needs_raw(layout))
    if not want_raw:
        return Choice("iso", source, image_for(image, "iso"))
    maker = getattr(source, "raw_source", None)
    notes: list[str] = []
    raw = None
    if maker is not None:
        with_gaps, note = assume_pregaps(layout)
        raw, notes = maker(with_gaps, read_offset)
        if raw is not None and note:
            notes.append(note)
    else:
        notes.append("2048-byte sectors only, no READ CD")
    if raw is not None:
        info = getattr(source, "disc_info", None)
        if info is not None:
            raw.info = info(layout)
        return Choice(
            "bincue",
            raw,
            image_for(image, "bincue"),
            notes,
            getattr(source, "read_offset", None),
            getattr(source, "drive_title", ""),
            True,
        )
    why = notes[-1] if notes else "no raw reads"
    audio = [t.number for t in layout.audio_tracks]
    mode2 = [t.number for t in layout.tracks if t.kind is TrackKind.MODE2]
    if requested == "bincue":
        if audio or mode2:
            what = "audio" if audio else "Mode 2"
            nums = ", ".join(str(n) for n in (audio or mode2))
            raise SourceError(
                f"{source.description} does not read raw sectors ({why}), so the {what} "
                f"track(s) {nums} cannot be put in a BIN/CUE — try another drive, or back the "
                "data tracks up as an .iso (--format iso)"
            )
        said = [
            f"{source.description} does not read raw sectors ({why}): raw Mode 1 sectors were "
            "made from its 2048-byte reads — the bytes a raw read of a good disc gives, but no "
            "sector was EDC-checked"
        ]
        return Choice(
            "bincue", EncodedSource(source, layout), image_for(image, "bincue"), said,
            details=notes,
        )  # fmt: skip
    if not layout.data_tracks:
        raise SourceError(
            f"{source.description} holds an audio CD and cannot read it raw ({why}): audio "
            "cannot be read without raw sectors — try another drive; no file was written"
        )
    said = [
        f"{source.description} does not read raw sectors ({why}): data tracks are read as "
        "2048-byte sectors into an .iso (not EDC-checked)"
        + (
            f"; the audio track(s) {', '.join(str(n) for n in audio)} cannot be read without "
            "raw reads and are not imaged"
            if audio
            else ""
        )
    ]
    return Choice("iso", source, image_for(image, "iso"), said, details=notes)
