"""Cue sheets: the sessions and tracks beside an image, written and read.

For a BIN/CUE (``bincue_text``) the sheet names one BINARY file per track, Redump style: a
track's file starts at its pregap (INDEX 00 at 00:00:00, INDEX 01 after it), the first track
of a session has none in its file (a later session's lead-in and pregap are ``REM`` lines),
with CATALOG, ISRC, TITLE and PERFORMER where the drive gave them.

For a multi-session or mixed .iso (absolute LBAs: sector N of the file is LBA N of the disc) the
sheet names one BINARY file with a MODE1/2048 (or MODE2/2048) track per data track, each at its
LBA, and ``REM SESSION nn`` lines as Redump's sheets have them. Audio tracks are not in an .iso:
they appear as ``REM DISCVAULT AUDIO`` lines so nobody mistakes zeros for music. One
``REM DISCVAULT LAYOUT`` line carries the exact layout (JSON) for DiscVault itself; other cue
readers skip REM lines.

Reading accepts DiscVault's sheets and plain single-file ones from other tools. A malformed
sheet gives one line naming the line number.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from dataclasses import dataclass

from app.core.base.companions import read_small
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.toc import FIRST_GAP, LATER_GAP, msf_to_lba

MODES = {
    "MODE1/2048": TrackKind.MODE1,
    "MODE2/2048": TrackKind.MODE2,
    "MODE1/2352": TrackKind.MODE1,
    "MODE2/2352": TrackKind.MODE2,
    "MODE2/2336": TrackKind.MODE2,
    "AUDIO": TrackKind.AUDIO,
}
MAX_CUE_BYTES = 1 << 20
MAX_TRACKS = 99  # the Red Book's limit: a cue sheet describes a CD


class CueError(ValueError):
    """The sheet cannot be used; the message names the line."""


@dataclass(frozen=True)
class CueTrack:
    """One TRACK as the sheet gives it: its file, mode, and INDEX 00/01 in that file."""

    number: int
    kind: TrackKind
    mode: str  # as written: MODE1/2352, AUDIO, ...
    file: int  # index into CueSheet.files
    index1: int  # frames from the file's start
    index0: int | None  # INDEX 00, or None
    session: int

    @property
    def sector_size(self) -> int:
        return SECTOR_SIZES[self.mode]


@dataclass(frozen=True)
class CueSheet:
    layout: DiscLayout
    files: tuple[str, ...]  # FILE names as written (relative to the sheet's folder)
    tracks: tuple[CueTrack, ...] = ()
    exact: bool = False  # the layout is DiscVault's own record, not worked out from the sheet

    @property
    def per_track(self) -> bool:
        """One file per track (a BIN/CUE as Redump writes it), not one image for all."""
        return len(self.files) > 1 or (
            bool(self.tracks) and self.tracks[0].sector_size != 2048 and len(self.tracks) == 1
        )


SECTOR_SIZES = {
    "MODE1/2048": 2048,
    "MODE2/2048": 2048,
    "MODE1/2352": 2352,
    "MODE2/2352": 2352,
    "MODE2/2336": 2336,
    "AUDIO": 2352,
}


def _index(frames: int) -> str:
    """A position in the file as cue sheets write it (mm:ss:ff, 75 frames a second)."""
    return f"{frames // 4500:02d}:{frames // 75 % 60:02d}:{frames % 75:02d}"


def text(layout: DiscLayout, image_name: str) -> str:
    lines = [
        f"REM DISCVAULT image {image_name}: 2048-byte sectors at their disc LBAs",
        "REM DISCVAULT LAYOUT " + json.dumps(layout.to_json(), separators=(",", ":")),
    ]
    mode = {TrackKind.MODE1: "MODE1/2048", TrackKind.MODE2: "MODE2/2048"}
    for s in layout.sessions:
        lines.append(f"REM SESSION {s.number:02d}")
        if s.number == layout.sessions[0].number:
            lines.append(f'FILE "{image_name}" BINARY')
        for t in s.tracks:
            if t.is_data:
                lines.append(f"  TRACK {t.number:02d} {mode[t.kind]}")
                lines.append(f"    INDEX 01 {_index(t.start)}")
            else:
                lines.append(
                    f"REM DISCVAULT AUDIO TRACK {t.number:02d} LBA {t.start} LENGTH {t.length}"
                    " (not in this image)"
                )
        lines.append(f"REM LEAD-OUT {_index(s.leadout)}")
    return "\r\n".join(lines) + "\r\n"


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'").replace("\r", " ").replace("\n", " ") + '"'


RAW_MODES = {TrackKind.MODE1: "MODE1/2352", TrackKind.MODE2: "MODE2/2352", TrackKind.AUDIO: "AUDIO"}


def bincue_text(layout: DiscLayout, names: dict[int, str], info: DiscInfo | None = None) -> str:
    """The sheet of a BIN/CUE: ``names`` maps each track number to its file's name."""
    info = info or DiscInfo()
    lines = ["REM DISCVAULT LAYOUT " + json.dumps(layout.to_json(), separators=(",", ":"))]
    if info.mcn:
        lines.append(f"CATALOG {info.mcn}")
    if info.performer:
        lines.append(f"PERFORMER {_quote(info.performer)}")
    if info.title:
        lines.append(f"TITLE {_quote(info.title)}")
    multi = len(layout.sessions) > 1
    for i, s in enumerate(layout.sessions):
        if multi:
            lines.append(f"REM SESSION {s.number:02d}")
        if i:
            gap = FIRST_GAP if i == 1 else LATER_GAP
            lines.append(f"REM LEAD-IN {_index(gap - 150 - (6750 if i == 1 else 2250))}")
            lines.append("REM PREGAP 00:02:00")
        for j, t in enumerate(s.tracks):
            pregap = t.pregap if j else 0
            lines.append(f'FILE "{names[t.number]}" BINARY')
            lines.append(f"  TRACK {t.number:02d} {RAW_MODES[t.kind]}")
            text = info.tracks.get(t.number, {})
            if text.get("title"):
                lines.append(f"    TITLE {_quote(text['title'])}")
            if text.get("performer"):
                lines.append(f"    PERFORMER {_quote(text['performer'])}")
            if text.get("isrc"):
                lines.append(f"    ISRC {text['isrc']}")
            if pregap:
                lines.append("    INDEX 00 00:00:00")
            lines.append(f"    INDEX 01 {_index(pregap)}")
        if multi:
            lines.append(f"REM LEAD-OUT {_index(6750 if i == 0 else 2250)}")
    return "\r\n".join(lines) + "\r\n"


def write(layout: DiscLayout, image: str, path: str) -> None:
    from app.core.base.mapfile import save_atomic

    save_atomic(path, text(layout, os.path.basename(image)))


def read(path: str) -> CueSheet:
    try:
        if os.path.getsize(path) > MAX_CUE_BYTES:
            raise CueError(f"{path}: {os.path.getsize(path)} bytes is too big for a cue sheet")
        raw = read_small(path, MAX_CUE_BYTES)  # a regular file only: a FIFO would block
    except OSError as e:
        raise CueError(f"{path}: {e.strerror}") from e
    return parse(raw, path)


_TRACK = re.compile(r"TRACK\s+(\d{1,2})\s+(\S+)$", re.I)
_INDEX = re.compile(r"INDEX\s+(\d{1,2})\s+(\d{1,3}):(\d{2}):(\d{2})$", re.I)
_FILE = re.compile(r'FILE\s+(?:"([^"]*)"|(\S+))\s+(\S+)$', re.I)
_SESSION = re.compile(r"REM\s+SESSION\s+(\d{1,2})$", re.I)


def parse(raw: str, name: str = "cue sheet") -> CueSheet:
    """A sheet's files and tracks; its layout exactly when DiscVault wrote it, else worked out
    from the INDEX lines (a one-file sheet; a sheet with a file per track needs the files'
    sizes: ``with_sizes``). ``CueError`` names the line of anything malformed."""
    files: list[str] = []
    exact: DiscLayout | None = None
    session = 1
    pending: tuple[int, TrackKind, str, int] | None = None  # (number, kind, mode, session)
    index0: int | None = None
    tracks: list[CueTrack] = []
    count = 0  # TRACK lines
    for no, line in enumerate(raw.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        upper = s.upper()
        if s.startswith("REM DISCVAULT LAYOUT "):
            try:
                exact = DiscLayout.from_json(json.loads(s[len("REM DISCVAULT LAYOUT ") :]))
            except (ValueError, RecursionError) as e:  # RecursionError: nested 100 000 deep
                why = f"DiscVault's layout line is damaged ({e})"
                raise CueError(f"{name}, line {no}: {why}") from e
            continue
        if m := _SESSION.match(s):
            session = int(m.group(1))
            continue
        if upper.startswith(("REM", "CATALOG", "PERFORMER", "TITLE", "SONGWRITER", "ISRC")):
            continue
        if upper.startswith(("FLAGS", "PREGAP", "POSTGAP", "CDTEXTFILE")):
            continue
        if m := _FILE.match(s):
            files.append(m.group(1) if m.group(1) is not None else m.group(2))
            continue
        if m := _TRACK.match(s):
            mode = m.group(2).upper()
            if mode not in MODES:
                raise CueError(f"{name}, line {no}: unknown track mode {m.group(2)!r}")
            if not files:
                raise CueError(f"{name}, line {no}: TRACK before any FILE")
            count += 1
            if count > MAX_TRACKS:
                raise CueError(f"{name}, line {no}: more than {MAX_TRACKS} tracks (no CD has)")
            pending, index0 = (int(m.group(1)), MODES[mode], mode, session), None
            continue
        if m := _INDEX.match(s):
            if pending is None:
                raise CueError(f"{name}, line {no}: INDEX outside a TRACK")
            mm, ss, ff = int(m.group(2)), int(m.group(3)), int(m.group(4))
            if ss > 59 or ff > 74:
                raise CueError(f"{name}, line {no}: {mm:02d}:{ss:02d}:{ff:02d} is not a time")
            frames = msf_to_lba(mm, ss, ff) + 150
            if int(m.group(1)) == 0:
                index0 = frames
            elif int(m.group(1)) == 1:
                number, kind, mode, sess = pending
                if index0 is not None and index0 > frames:
                    raise CueError(f"{name}, line {no}: INDEX 01 before INDEX 00")
                tracks.append(CueTrack(number, kind, mode, len(files) - 1, frames, index0, sess))
            continue
        raise CueError(f"{name}, line {no}: not a cue sheet line: {s[:60]!r}")
    if exact is not None:
        return CueSheet(exact, tuple(files), tuple(tracks), True)
    if not tracks:
        raise CueError(f"{name}: no TRACK with an INDEX 01")
    starts = [(t.number, t.kind, t.session, t.index1) for t in tracks]
    return CueSheet(_layout_from(starts), tuple(files), tuple(tracks))


def with_sizes(sheet: CueSheet, sectors: list[int]) -> DiscLayout:
    """The layout of a sheet with a file per track, from each file's length in sectors: files
    follow each other on the disc, a later session after the standard gap (``CueError`` when
    they do not fit their INDEX lines)."""
    if sheet.exact:
        return sheet.layout
    if len(sectors) != len(sheet.files):
        raise CueError("the sheet names other files than given")
    sessions: list[Session] = []
    lba = 0
    by_session: dict[int, list[CueTrack]] = {}
    for t in sheet.tracks:
        by_session.setdefault(t.session, []).append(t)
    base_of: dict[int, int] = {}
    for n, sno in enumerate(sorted(by_session)):
        if n:
            lba += FIRST_GAP if n == 1 else LATER_GAP
        mine = by_session[sno]
        built: list[Track] = []
        for t in mine:
            if t.file not in base_of:
                base_of[t.file] = lba
                lba += sectors[t.file]
            start = base_of[t.file] + t.index1
            pregap = t.index1 - t.index0 if t.index0 is not None and built else 0
            if t.index1 > sectors[t.file]:
                raise CueError(f"track {t.number}: INDEX 01 lies past the end of its file")
            built.append(Track(t.number, n + 1, start, 0, t.kind, 0, pregap))
        fixed = []
        for i, b in enumerate(built):
            end = built[i + 1].start if i + 1 < len(built) else lba
            fixed.append(Track(b.number, b.session, b.start, end - b.start, b.kind, 0, b.pregap))
        sessions.append(Session(n + 1, tuple(fixed), lba))
    layout = DiscLayout(tuple(sessions), "cue")
    try:
        layout.validate()
    except ValueError as e:
        raise CueError(f"the sheet's tracks contradict their files: {e}") from e
    return layout


def _layout_from(starts: list[tuple[int, TrackKind, int, int]]) -> DiscLayout:
    """A layout from plain TRACK/INDEX lines: lengths run to the next track (the last one's
    end is unknown here: the caller bounds it by the image's size)."""
    sessions: list[Session] = []
    numbers = sorted({s for _, _, s, _ in starts})
    ordered = sorted(starts, key=lambda x: x[3])
    lbas = [x[3] for x in ordered]
    for sno in numbers:
        mine = [x for x in ordered if x[2] == sno]
        tracks = []
        for num, kind, _, lba in mine:
            k = bisect_right(lbas, lba)  # the next track that starts after this one
            end = lbas[k] if k < len(lbas) else lba
            tracks.append(Track(num, len(sessions) + 1, lba, end - lba, kind))
        sessions.append(Session(len(sessions) + 1, tuple(tracks), tracks[-1].end))
    return DiscLayout(tuple(sessions), "cue")


def bounded(layout: DiscLayout, sectors: int) -> DiscLayout:
    """A plain sheet's last track runs to the end of the image."""
    if layout.origin != "cue" or not layout.sessions:
        return layout
    last = layout.sessions[-1]
    t = last.tracks[-1]
    if t.length or sectors <= t.start:
        return layout
    grown = Track(t.number, t.session, t.start, sectors - t.start, t.kind)
    sess = Session(last.number, (*last.tracks[:-1], grown), sectors)
    return DiscLayout((*layout.sessions[:-1], sess), layout.origin, layout.medium, layout.notes)
