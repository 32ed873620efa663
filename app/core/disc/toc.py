"""A CD's table of contents, as drives return it, turned into a ``DiscLayout``. Pure parsing.

MMC READ TOC/PMA/ATIP formats 0 (tracks), 1 (session info) and 2 (full TOC) come back in the
same bytes on Linux (SG_IO), Windows (IOCTL_CDROM_READ_TOC_EX) and macOS (DKIOCCDREADTOC
returns the full TOC), so one parser serves every platform. Linux's older CDROMREADTOCENTRY /
CDROMMULTISESSION ioctls give the same facts as tuples (``from_entries``).

The full TOC is the only form that names every session's lead-out. Without it, sessions before
the last are inferred from the last session's start and the standard gap sizes, and the layout
says so in its notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.disc.layout import TAO_RUNOUT, DiscLayout, Session, Track, TrackKind

LEADOUT_POINT = 0xAA
# Between sessions: the first session's lead-out is 1:30 (6750 sectors), later ones 0:30 (2250);
# the next session's lead-in is 1:00 (4500) and its first track's pregap 0:02 (150).
FIRST_GAP = 6750 + 4500 + 150
LATER_GAP = 2250 + 4500 + 150
DISC_TYPE_XA = 0x20


class TocError(ValueError):
    """The bytes are not a TOC of that format (short, inconsistent)."""


def msf_to_lba(m: int, s: int, f: int) -> int:
    return (m * 60 + s) * 75 + f - 150


def lba_to_msf(lba: int) -> tuple[int, int, int]:
    n = lba + 150
    return n // 4500, n // 75 % 60, n % 75


@dataclass(frozen=True)
class TocEntry:
    """One track start as a drive reports it."""

    track: int
    control: int  # bit 2 set: data track
    lba: int
    session: int = 0  # 0 when the source does not say


def _body(data: bytes, unit: int) -> bytes:
    if len(data) < 4:
        raise TocError("shorter than a TOC header")
    length = int.from_bytes(data[0:2], "big") + 2
    if length < 4 or (length - 4) % unit:
        raise TocError(f"TOC length {length - 2} is not whole {unit}-byte descriptors")
    if len(data) < length:
        raise TocError(f"the TOC is cut short ({len(data)} of {length} bytes)")
    return data[4:length]


def parse_tracks(data: bytes, msf: bool = False) -> tuple[list[TocEntry], int]:
    """Format 0: (track entries, lead-out LBA)."""
    body = _body(data, 8)
    entries: list[TocEntry] = []
    leadout = None
    for p in range(0, len(body) - 7, 8):
        control, track = body[p + 1] & 0x0F, body[p + 2]
        a = body[p + 4 : p + 8]
        lba = msf_to_lba(a[1], a[2], a[3]) if msf else int.from_bytes(a, "big", signed=True)
        if track == LEADOUT_POINT:
            leadout = lba
        elif 1 <= track <= 99:
            entries.append(TocEntry(track, control, lba))
    if leadout is None or not entries:
        raise TocError("no tracks or no lead-out in the TOC")
    return entries, leadout


def parse_session_info(data: bytes) -> tuple[int, int, int]:
    """Format 1: (last complete session number, its first track number, that track's LBA)."""
    body = _body(data, 8)
    if len(body) < 8:
        raise TocError("no session descriptor")
    return data[3], body[2], int.from_bytes(body[4:8], "big", signed=True)


def parse_full_toc(data: bytes, medium: str = "CD") -> DiscLayout:
    """Format 2 (full TOC, MSF addresses): every session with its tracks and lead-out."""
    body = _body(data, 11)
    starts: dict[int, list[TocEntry]] = {}
    leadouts: dict[int, int] = {}
    disc_type = 0
    for p in range(0, len(body) - 10, 11):
        d = body[p : p + 11]
        session, control, adr, point = d[0], d[1] & 0x0F, d[1] >> 4, d[3]
        if adr not in (1, 0):  # mode-5 (B0, C0) and others describe writing, not layout
            continue
        if 1 <= point <= 99:
            starts.setdefault(session, []).append(
                TocEntry(point, control, msf_to_lba(d[8], d[9], d[10]), session)
            )
        elif point == 0xA0:
            disc_type = max(disc_type, d[9])
        elif point == 0xA2:
            leadouts[session] = msf_to_lba(d[8], d[9], d[10])
    if not starts:
        raise TocError("the full TOC lists no tracks")
    entries = [e for s in sorted(starts) for e in sorted(starts[s], key=lambda e: e.track)]
    missing = [s for s in starts if s not in leadouts]
    if missing:
        raise TocError(f"session {missing[0]} has no lead-out in the full TOC")
    return build(entries, leadouts, medium, disc_type, "toc")


def from_entries(
    entries: Sequence[TocEntry],
    leadout: int,
    last_session_track: int | None = None,
    medium: str = "CD",
    disc_type: int = 0,
) -> DiscLayout:
    """Format 0 (+ format 1) or the Linux ioctls: tracks, the final lead-out, and the first
    track of the last session. Earlier sessions' lead-outs are inferred (and noted)."""
    entries = sorted(entries, key=lambda e: e.track)
    first_last = last_session_track or entries[0].track
    notes: list[str] = []
    leadouts: dict[int, int] = {}
    tagged: list[TocEntry] = []
    if first_last > entries[0].track:
        # Two sessions at least; without a full TOC we cannot split earlier ones further.
        last_start = next((e.lba for e in entries if e.track == first_last), None)
        if last_start is None:
            raise TocError(f"the session info names track {first_last}, which the TOC lacks")
        leadouts[1] = last_start - FIRST_GAP
        leadouts[2] = leadout
        notes.append(
            "the drive gave no full TOC: the first session's lead-out is inferred from the "
            "standard gap before the last session"
        )
        tagged = [
            TocEntry(e.track, e.control, e.lba, 1 if e.track < first_last else 2) for e in entries
        ]
    else:
        leadouts[1] = leadout
        tagged = [TocEntry(e.track, e.control, e.lba, 1) for e in entries]
    layout = build(tagged, leadouts, medium, disc_type, "toc")
    return DiscLayout(layout.sessions, layout.origin, layout.medium, tuple(notes))


def build(
    entries: Sequence[TocEntry],
    leadouts: dict[int, int],
    medium: str,
    disc_type: int,
    origin: str,
) -> DiscLayout:
    data_kind = TrackKind.MODE2 if disc_type == DISC_TYPE_XA else TrackKind.MODE1
    sessions: list[Session] = []
    notes: list[str] = []
    for sno in sorted(leadouts):
        mine = sorted((e for e in entries if e.session == sno), key=lambda e: e.lba)
        if not mine:
            continue
        if [e.track for e in mine] != sorted(e.track for e in mine):
            raise TocError(f"session {sno}: track numbers do not follow the disc's order")
        lead = leadouts[sno]
        number = len(sessions) + 1
        tracks = []
        for i, e in enumerate(mine):
            end = mine[i + 1].lba if i + 1 < len(mine) else lead
            if end < e.lba:
                notes.append(f"track {e.track} ends before it starts: its length is taken as 0")
                end = e.lba
            data = bool(e.control & 0x04)
            kind = data_kind if data else TrackKind.AUDIO
            runout = min(TAO_RUNOUT, end - e.lba) if data and medium == "CD" else 0
            start = max(e.lba, 0)
            tracks.append(Track(e.track, number, start, end - start, kind, runout))
        sessions.append(Session(number, tuple(tracks), max(lead, tracks[-1].end)))
    layout = DiscLayout(tuple(sessions), origin, medium, tuple(notes))
    try:
        layout.validate()
    except ValueError as e:
        raise TocError(f"the TOC contradicts itself: {e}") from e
    return layout
