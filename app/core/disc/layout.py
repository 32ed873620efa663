"""A disc's layout: sessions, then tracks. The one place that says what a disc is.

A drive reads it from the disc's table of contents (TOC); an image file or a block device
without a TOC is one data track. What gets imaged is decided from this layout and from the
filesystems found on it (``app.core.disc.plan``), never from the first volume descriptor alone:
a multi-session CD-R's first session describes only its first batch of files.

LBAs are absolute, as the drive numbers them: session 2 of a CD-R starts about 11 400 sectors
after session 1's lead-out begins (lead-out 6 750 + lead-in 4 500 + pregap 150).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

# Writing a track "track at once" leaves two unreadable run-out blocks after its data, inside
# the extent the TOC gives the track (Orange Book; xorriso calls them "intentionally unreadable").
TAO_RUNOUT = 2


class TrackKind(StrEnum):
    MODE1 = "mode1"  # data, 2048 bytes per sector
    MODE2 = "mode2"  # data, CD-ROM XA (Form 1 holds 2048 bytes of user data)
    AUDIO = "audio"  # CD-DA: 2352 bytes of samples, never part of an .iso

    @property
    def is_data(self) -> bool:
        return self is not TrackKind.AUDIO


@dataclass(frozen=True)
class Track:
    number: int
    session: int
    start: int  # first LBA of the track (INDEX 01)
    length: int  # sectors, up to the next track or the session's lead-out
    kind: TrackKind = TrackKind.MODE1
    runout: int = 0  # trailing sectors that may be TAO run-out: "not data" when unreadable
    # Sectors before ``start`` that belong to this track (INDEX 00, its pregap): a BIN/CUE
    # keeps them at the head of this track's file, as Redump does. They lie inside the previous
    # track's TOC extent, so they change no region; the first track of a session has none
    # (its pregap is in the lead-in/session gap).
    pregap: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def is_data(self) -> bool:
        return self.kind.is_data


@dataclass(frozen=True)
class Session:
    number: int
    tracks: tuple[Track, ...]
    leadout: int  # LBA where this session's lead-out begins (= end of its last track)

    @property
    def start(self) -> int:
        return self.tracks[0].start if self.tracks else self.leadout

    @property
    def has_data(self) -> bool:
        return any(t.is_data for t in self.tracks)


@dataclass(frozen=True)
class DiscLayout:
    sessions: tuple[Session, ...]
    origin: str = "flat"  # "toc" (the drive's TOC), "flat" (no TOC: one data track), "cue"
    medium: str = ""  # "CD", "DVD", "BD" or "" when unknown
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was odd while reading it

    @classmethod
    def flat(cls, sectors: int, medium: str = "", origin: str = "flat") -> DiscLayout:
        """An image file or a device without a TOC: one session, one data track."""
        track = Track(1, 1, 0, sectors, TrackKind.MODE1)
        return cls((Session(1, (track,), sectors),), origin, medium)

    # ---- what the disc holds ----------------------------------------------------------------
    @property
    def tracks(self) -> list[Track]:
        return [t for s in self.sessions for t in s.tracks]

    @property
    def data_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.is_data]

    @property
    def audio_tracks(self) -> list[Track]:
        return [t for t in self.tracks if not t.is_data]

    @property
    def data_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.has_data]

    @property
    def is_flat(self) -> bool:
        return self.origin == "flat"

    @property
    def multisession(self) -> bool:
        return len(self.data_sessions) > 1

    @property
    def end(self) -> int:
        """Where the image ends: the end of the last data track (0 for an audio-only disc).

        An .iso keeps absolute LBAs, so everything before that end is part of it, audio tracks
        and session gaps included (as zero-filled sectors that are "not data")."""
        return max((t.end for t in self.data_tracks), default=0)

    @property
    def tracks_end(self) -> int:
        """The end of the last track of any kind (where a BIN/CUE of the disc ends)."""
        return max((t.end for t in self.tracks), default=0)

    def gaps(self) -> list[tuple[int, int]]:
        """Sectors between sessions (lead-out, lead-in, pregap) as ``[start, end)`` runs."""
        out = []
        for a, b in zip(self.sessions, self.sessions[1:], strict=False):
            if b.start > a.leadout:
                out.append((a.leadout, b.start))
        return out

    def track_at(self, lba: int) -> Track | None:
        for t in self.tracks:
            if t.start <= lba < t.end:
                return t
        return None

    def session_of(self, lba: int) -> Session | None:
        for s in self.sessions:
            if s.start <= lba < s.leadout:
                return s
        return None

    # ---- words and documents ----------------------------------------------------------------
    def summary(self) -> str:
        """ "2 sessions, 3 tracks (1 audio)", as the report and the GUI say it."""
        ns, nt, na = len(self.sessions), len(self.tracks), len(self.audio_tracks)
        text = f"{ns} session{'s' if ns != 1 else ''}, {nt} track{'s' if nt != 1 else ''}"
        return text + (f" ({na} audio)" if na else "")

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "medium": self.medium,
            "sessions": [
                {
                    "number": s.number,
                    "leadout": s.leadout,
                    "tracks": [
                        {
                            "number": t.number,
                            "start": t.start,
                            "length": t.length,
                            "kind": str(t.kind),
                            "runout": t.runout,
                            "pregap": t.pregap,
                        }
                        for t in s.tracks
                    ],
                }
                for s in self.sessions
            ],
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, doc: object) -> DiscLayout:
        """The inverse of ``to_json``; ``ValueError`` on anything that is not one."""
        if not isinstance(doc, dict) or not isinstance(doc.get("sessions"), list):
            raise ValueError("not a disc layout")
        sessions = []
        try:
            for s in doc["sessions"]:
                tracks = tuple(
                    Track(
                        int(t["number"]),
                        int(s["number"]),
                        int(t["start"]),
                        int(t["length"]),
                        TrackKind(t["kind"]),
                        int(t.get("runout", 0)),
                        int(t.get("pregap", 0)),
                    )
                    for t in s["tracks"]
                )
                sessions.append(Session(int(s["number"]), tracks, int(s["leadout"])))
            layout = cls(
                tuple(sessions),
                str(doc.get("origin", "flat")),
                str(doc.get("medium", "")),
                tuple(str(n) for n in doc.get("notes", [])),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            raise ValueError(f"not a disc layout ({e})") from e
        layout.validate()
        return layout

    def validate(self) -> None:
        """``ValueError`` when the layout contradicts itself (overlaps, negative sizes)."""
        last = -1
        for s in self.sessions:
            prev_start = s.start
            for t in s.tracks:
                if t.length < 0 or t.start < 0 or t.start < last or t.end > s.leadout:
                    raise ValueError(f"track {t.number} overlaps another or its lead-out")
                if not 0 <= t.runout <= t.length:
                    raise ValueError(f"track {t.number}: run-out longer than the track")
                if t.pregap < 0 or (t.pregap and t is s.tracks[0]):
                    raise ValueError(
                        f"track {t.number}: a session's first track has no pregap here"
                    )
                if t.pregap and t.start - t.pregap < prev_start:
                    raise ValueError(f"track {t.number}: its pregap reaches into the track before")
                prev_start = t.start
                last = t.end
            last = max(last, s.leadout)

    def fingerprint(self) -> str:
        """A short hash of the sessions and tracks (origin and notes left out), so the same
        disc gives the same value in any drive."""
        shape = [
            [s.leadout, [[t.number, t.start, t.length, str(t.kind)] for t in s.tracks]]
            for s in self.sessions
        ]
        import hashlib  # here: loading OpenSSL costs every `inspect` a few ms

        return hashlib.sha1(json.dumps(shape).encode()).hexdigest()[:16]
