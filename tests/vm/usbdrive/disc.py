"""A disc in the emulated drive, described by a JSON file: what its TOC says and how it reads.

The description is the test's statement of truth: the drive model (``mmc.py``) answers every
MMC command from it, so a test knows exactly what DiscVault should find. Format::

    {
      "profile": "CD-R",                # CD-ROM, CD-R, CD-RW, DVD-ROM, DVD-R, DVD+R, DVD+RW,
                                        # DVD+R DL, DVD-RAM, BD-ROM, BD-R, BD-RE, or a number
      "appendable": false,              # optional: disc not closed (READ DISC INFORMATION, B0)
      "drive": {                        # optional: the drive itself, used when the drive is
        "serial": "DV0001",             # created with this disc (a later load keeps the drive):
        "read_retry_count": 32,         # INQUIRY page 80h, MODE SENSE page 01h default,
        "current_retry_count": 20,      # optional: page 01h as another program left it,
        "speed": 4224,                  # optional: the read speed selected at power-on (kB/s),
        "cache": 64,                    # optional: sectors read ahead into its buffer (0: none),
        "fua": "honour",                # honour | ignore | refuse FUA reads (mechanics.py),
        "refuse": ["SET CD SPEED"]      # optional: commands it answers 05/20/00
      },
      "gap_sense": "05/21/00",          # optional: what reading a session gap returns
      "runout_sense": "05/64/00",       # optional: default sense of TAO run-out sectors
      "sessions": [
        {
          "leadout": 1234,              # optional: LBA where the lead-out begins (default: the
                                        # end of the session's last track)
          "tracks": [
            {
              "number": 1,              # optional: 1, 2, 3... in disc order by default
              "kind": "mode1",          # mode1 | mode2 | audio
              "start": 0,               # first LBA (INDEX 01)
              "length": 1232,           # sectors, run-out included
              "file": "s1.iso",         # optional backing file, relative to this JSON file;
                                        # data tracks hold 2048-byte sectors, audio 2352-byte
                                        # ones; without a file (or past its end) sectors are 0
              "offset": 0,              # optional byte offset of the track's first sector
              "runout": 2,              # optional: the last N sectors are unreadable (TAO)
              "runout_sense": "05/64/00",  # optional, per track
              "control": 4              # optional Q-channel CONTROL nibble (data 4, audio 0)
            }
          ]
        }
      ],
      "defects": [                      # optional unreadable sectors
        {"lba": 300, "count": 1, "sense": "03/11/00"},           # always fails
        {"lba": 310, "sense": "03/11/00", "fails": 2},           # flaky: fails twice, then reads
        {"lba": 320, "tries": 3, "max_speed": 1408}              # marginal: reads at its third
      ],                                # try (internal retries count), only at <= 8x
      "css": {                          # optional, DVD only: CSS copy protection
        "region_mask": 0,               # READ DVD STRUCTURE 01h byte 5 (1 bit = region refused)
        "scrambled": [[400, 16]]        # [lba, count] runs refused with 05/6F/03 without
      }                                 # authentication (this drive never authenticates)
    }

LBAs are absolute. A multi-session CD-R written track-at-once has session 2 about 11 400
sectors after session 1's lead-out begins (lead-out 6 750 + lead-in 4 500 + pregap 150); every
LBA between sessions (and any other LBA inside the disc that no track covers) is a gap and
answers ``gap_sense``. Senses are ``"KEY/ASC/ASCQ"`` in hex.

Pure Python and stdlib only: the same code runs on the host (unit tests) and in the test VM.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

USER = 2048  # bytes of user data in a data sector (Mode 1, Mode 2 Form 1)
RAW = 2352  # bytes in a CD sector as the drive reads it raw (all of an audio sector)

# MMC-6 profile numbers (GET CONFIGURATION "current profile").
PROFILES: dict[str, int] = {
    "CD-ROM": 0x08,
    "CD-R": 0x09,
    "CD-RW": 0x0A,
    "DVD-ROM": 0x10,
    "DVD-R": 0x11,
    "DVD-RAM": 0x12,
    "DVD-RW": 0x13,
    "DVD+RW": 0x1A,
    "DVD+R": 0x1B,
    "DVD+R DL": 0x2B,
    "BD-ROM": 0x40,
    "BD-R": 0x41,
    "BD-RE": 0x43,
}


def medium_of(profile: int) -> str:
    """ "CD", "DVD" or "BD" for a profile number (MMC-6 groups them by range)."""
    if 0x08 <= profile <= 0x0A:
        return "CD"
    if 0x10 <= profile <= 0x2B:
        return "DVD"
    if 0x40 <= profile <= 0x43:
        return "BD"
    raise ValueError(f"profile 0x{profile:04x} is not a CD, DVD or BD profile")


@dataclass(frozen=True)
class Sense:
    """Sense key, additional sense code and qualifier, as a drive reports a failure."""

    key: int
    asc: int
    ascq: int

    @classmethod
    def parse(cls, text: str) -> Sense:
        parts = str(text).split("/")
        if len(parts) != 3:
            raise ValueError(f"sense {text!r} is not KEY/ASC/ASCQ in hex, e.g. 03/11/00")
        key, asc, ascq = (int(p, 16) for p in parts)
        if not (0 <= key <= 0x0F and 0 <= asc <= 0xFF and 0 <= ascq <= 0xFF):
            raise ValueError(f"sense {text!r} is out of range")
        return cls(key, asc, ascq)

    def __str__(self) -> str:
        return f"{self.key:02X}/{self.asc:02X}/{self.ascq:02X}"


# The senses the model uses by name (SPC-4 / MMC-6 tables).
NO_SENSE = Sense(0x00, 0x00, 0x00)
NOT_READY_NO_MEDIUM_CLOSED = Sense(0x02, 0x3A, 0x01)
NOT_READY_NO_MEDIUM_OPEN = Sense(0x02, 0x3A, 0x02)
UNRECOVERED_READ_ERROR = Sense(0x03, 0x11, 0x00)
INVALID_OPCODE = Sense(0x05, 0x20, 0x00)
LBA_OUT_OF_RANGE = Sense(0x05, 0x21, 0x00)
INVALID_FIELD_IN_CDB = Sense(0x05, 0x24, 0x00)
INVALID_FIELD_IN_PARAMETERS = Sense(0x05, 0x26, 0x00)
PARAMETER_LIST_LENGTH = Sense(0x05, 0x1A, 0x00)
INCOMPATIBLE_FORMAT = Sense(0x05, 0x30, 0x02)
SAVING_NOT_SUPPORTED = Sense(0x05, 0x39, 0x00)
REMOVAL_PREVENTED = Sense(0x05, 0x53, 0x02)
ILLEGAL_MODE_FOR_TRACK = Sense(0x05, 0x64, 0x00)
SCRAMBLED_NO_AUTH = Sense(0x05, 0x6F, 0x03)
MEDIUM_CHANGED = Sense(0x06, 0x28, 0x00)

DEFAULT_GAP_SENSE = LBA_OUT_OF_RANGE
# Several drives refuse a TAO track's two run-out blocks this way (the kernel logs "Illegal mode
# for this track" for the classic TAO read-ahead failure); others give a medium error.
DEFAULT_RUNOUT_SENSE = ILLEGAL_MODE_FOR_TRACK


class Kind(StrEnum):
    MODE1 = "mode1"
    MODE2 = "mode2"
    AUDIO = "audio"


@dataclass(frozen=True)
class Track:
    number: int
    session: int
    kind: Kind
    start: int
    length: int
    file: Path | None = None
    offset: int = 0
    runout: int = 0
    runout_sense: Sense = DEFAULT_RUNOUT_SENSE
    control: int = 4
    format: str = "user"  # data tracks: "user" (2048-byte sectors) or "raw" (2352, as recorded)
    isrc: str = ""  # audio tracks: READ SUB-CHANNEL format 03h

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def is_data(self) -> bool:
        return self.kind is not Kind.AUDIO

    @property
    def sector_size(self) -> int:
        """Bytes per sector in the backing file."""
        return USER if self.is_data and self.format != "raw" else RAW

    def in_runout(self, lba: int) -> bool:
        return self.end - self.runout <= lba < self.end


@dataclass(frozen=True)
class Session:
    number: int
    tracks: tuple[Track, ...]
    leadout: int

    @property
    def start(self) -> int:
        return self.tracks[0].start


@dataclass(frozen=True)
class Defect:
    """``count`` sectors from ``lba`` answer ``sense``: always, or ``fails`` times then read."""

    lba: int
    count: int = 1
    sense: Sense = UNRECOVERED_READ_ERROR
    fails: int | None = None  # None: never reads
    tries: int | None = None  # marginal: reads at this try, firmware retries included
    max_speed: int | None = None  # marginal: reads only at or below this speed (kB/s)

    def covers(self, lba: int) -> bool:
        return self.lba <= lba < self.lba + self.count


@dataclass(frozen=True)
class Css:
    region_mask: int = 0
    scrambled: tuple[tuple[int, int], ...] = ()

    def is_scrambled(self, lba: int) -> bool:
        return any(s <= lba < s + n for s, n in self.scrambled)


@dataclass(frozen=True)
class Corrupt:
    """A silent corruption: ``count`` sectors from ``lba`` read with wrong bytes and no error
    (``fails`` times, then right; None: always), flagged in the C2 pointers when ``c2``."""

    lba: int
    count: int = 1
    fails: int | None = None
    c2: bool = False


@dataclass(frozen=True)
class DriveSettings:
    serial: str = "DV0001"
    read_retry_count: int = 32
    read_offset: int = 0  # audio: the AccurateRip correction this drive needs (samples)
    c2: bool = True  # reports C2 error pointers
    raw: bool = True  # READ CD returns whole data sectors (sync, headers, EDC/ECC)
    zero_codes: bool = False  # returns zero EDC/ECC, as QEMU's ATAPI drive does
    read_cd: bool = True  # answers READ CD at all (false: 05/20/00, an invalid opcode)
    current_retry_count: int | None = None  # None: the default
    speed: int | None = None  # kB/s selected at power-on; None: the fastest
    cache: int = 0  # sectors of read-ahead (mechanics.py); 0: no buffer
    fua: str = "honour"
    refuse: tuple[str, ...] = ()  # command names (scsi.OPCODES) answered 05/20/00


@dataclass
class Disc:
    """One disc. Immutable in meaning; it only keeps its backing files open."""

    profile: int
    sessions: tuple[Session, ...]
    appendable: bool = False
    drive: DriveSettings = field(default_factory=DriveSettings)
    gap_sense: Sense = DEFAULT_GAP_SENSE
    defects: tuple[Defect, ...] = ()
    css: Css | None = None
    corrupt: tuple[Corrupt, ...] = ()
    mcn: str = ""
    cdtext: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # where the description came from, for messages
    _files: dict[Path, BinaryIO] = field(default_factory=dict, repr=False, compare=False)

    # ---- what the disc is -------------------------------------------------------------------
    @property
    def medium(self) -> str:
        return medium_of(self.profile)

    @property
    def tracks(self) -> list[Track]:
        return [t for s in self.sessions for t in s.tracks]

    @property
    def capacity(self) -> int:
        """Sectors up to the last session's lead-out (READ CAPACITY answers this minus one)."""
        return self.sessions[-1].leadout

    def track(self, number: int) -> Track | None:
        return next((t for t in self.tracks if t.number == number), None)

    def track_at(self, lba: int) -> Track | None:
        return next((t for t in self.tracks if t.start <= lba < t.end), None)

    def session_of(self, track: Track) -> Session:
        return next(s for s in self.sessions if s.number == track.session)

    # ---- sectors ------------------------------------------------------------------------------
    def sector(self, track: Track, lba: int) -> bytes:
        """The backing bytes of one sector: 2048 for data, 2352 for audio; zeros past the file."""
        size = track.sector_size
        if track.file is None:
            return bytes(size)
        f = self._files.get(track.file)
        if f is None:
            f = self._files[track.file] = open(track.file, "rb")  # noqa: SIM115 (kept open)
        f.seek(track.offset + (lba - track.start) * size)
        data = f.read(size)
        return data + bytes(size - len(data))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()

    # ---- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Disc:
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot read the disc description ({e})") from e
        return cls.from_dict(doc, path.parent, str(path))

    @classmethod
    def from_dict(cls, doc: Any, base: Path | None = None, source: str = "") -> Disc:
        """Build and check a disc; ``ValueError`` names what is wrong."""
        where = source or "disc description"
        try:
            disc = _parse(doc, base or Path.cwd(), where)
        except (KeyError, TypeError, AttributeError, ValueError) as e:
            if isinstance(e, ValueError) and str(e).startswith(where):
                raise
            raise ValueError(f"{where}: malformed ({e!r})") from e
        disc.validate()
        return disc

    def validate(self) -> None:
        where = self.source or "disc description"
        if not self.sessions:
            raise ValueError(f"{where}: a disc needs at least one session")
        medium_of(self.profile)
        last_end, numbers = 0, []
        for s in self.sessions:
            if not s.tracks:
                raise ValueError(f"{where}: session {s.number} has no tracks")
            for t in s.tracks:
                numbers.append(t.number)
                if t.start < last_end or t.length <= 0:
                    raise ValueError(f"{where}: track {t.number} overlaps or is empty")
                if not 0 <= t.runout <= t.length:
                    raise ValueError(f"{where}: track {t.number} run-out is longer than it")
                if t.kind is Kind.AUDIO and self.medium != "CD":
                    raise ValueError(f"{where}: audio track {t.number} on a {self.medium}")
                last_end = t.end
            if s.leadout < last_end:
                raise ValueError(f"{where}: session {s.number} lead-out is inside its tracks")
            last_end = s.leadout
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers) or numbers[0] < 1:
            raise ValueError(f"{where}: track numbers must rise in disc order, from 1 or more")
        if numbers[-1] > 99:
            raise ValueError(f"{where}: a CD has at most 99 tracks")
        if self.css is not None and self.medium != "DVD":
            raise ValueError(f"{where}: CSS is a DVD protection")


def _drive(d: dict[str, Any]) -> DriveSettings:
    def opt(key: str) -> int | None:
        return None if d.get(key) is None else int(d[key])

    return DriveSettings(
        serial=str(d.get("serial", "DV0001")),
        read_retry_count=int(d.get("read_retry_count", 32)),
        read_offset=int(d.get("read_offset", 0)),
        c2=bool(d.get("c2", True)),
        raw=bool(d.get("raw", True)),
        zero_codes=bool(d.get("zero_codes", False)),
        read_cd=bool(d.get("read_cd", True)),
        current_retry_count=opt("current_retry_count"),
        speed=opt("speed"),
        cache=int(d.get("cache", 0)),
        fua=str(d.get("fua", "honour")),
        refuse=tuple(str(x) for x in d.get("refuse", ())),
    )


def _sense(doc: dict[str, Any], key: str, default: Sense) -> Sense:
    return Sense.parse(doc[key]) if key in doc else default


def _parse(doc: Any, base: Path, where: str) -> Disc:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: not a JSON object")
    prof = doc.get("profile", "CD-ROM")
    if isinstance(prof, str):
        if prof not in PROFILES:
            raise ValueError(f"{where}: unknown profile {prof!r} (one of {', '.join(PROFILES)})")
        profile = PROFILES[prof]
    else:
        profile = int(prof)
    runout_default = _sense(doc, "runout_sense", DEFAULT_RUNOUT_SENSE)
    sessions, number = [], 0
    for i, s in enumerate(doc["sessions"], start=1):
        tracks = []
        for t in s["tracks"]:
            number = int(t.get("number", number + 1))
            kind = Kind(t.get("kind", "mode1"))
            file = t.get("file")
            tracks.append(
                Track(
                    number=number,
                    session=i,
                    kind=kind,
                    start=int(t["start"]),
                    length=int(t["length"]),
                    file=(base / file) if file else None,
                    offset=int(t.get("offset", 0)),
                    runout=int(t.get("runout", 0)),
                    runout_sense=_sense(t, "runout_sense", runout_default),
                    control=int(t.get("control", 4 if kind is not Kind.AUDIO else 0)),
                    format=str(t.get("format", "user")),
                    isrc=str(t.get("isrc", "")),
                )
            )
        end = tracks[-1].end if tracks else 0
        sessions.append(Session(i, tuple(tracks), int(s.get("leadout", end))))
    defects = tuple(
        Defect(
            int(d["lba"]),
            int(d.get("count", 1)),
            _sense(d, "sense", UNRECOVERED_READ_ERROR),
            None if d.get("fails") is None else int(d["fails"]),
            None if d.get("tries") is None else int(d["tries"]),
            None if d.get("max_speed") is None else int(d["max_speed"]),
        )
        for d in doc.get("defects", [])
    )
    drive = doc.get("drive", {})
    css = None
    if doc.get("css") is not None:
        c = doc["css"]
        css = Css(
            int(c.get("region_mask", 0)),
            tuple((int(a), int(n)) for a, n in c.get("scrambled", [])),
        )
    return Disc(
        profile=profile,
        sessions=tuple(sessions),
        appendable=bool(doc.get("appendable", False)),
        drive=_drive(drive),
        corrupt=tuple(
            Corrupt(
                int(c["lba"]),
                int(c.get("count", 1)),
                None if c.get("fails") is None else int(c["fails"]),
                bool(c.get("c2", False)),
            )
            for c in doc.get("corrupt", [])
        ),
        mcn=str(doc.get("mcn", "")),
        cdtext=dict(doc.get("cdtext", {})),
        gap_sense=_sense(doc, "gap_sense", DEFAULT_GAP_SENSE),
        defects=defects,
        css=css,
        source=where,
    )
