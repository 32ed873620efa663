"""Raw CD sectors (2352 bytes) from a drive's READ CD, each one proven before anyone keeps it.

``RawCdSource`` is a ``SectorSource`` whose sectors are whole CD sectors: the BIN/CUE output
writes them as they are. Every read goes through here, so every sector is judged at the device
boundary, the same way for the copy pass, a retry, a resume's proof and ``verify --against``:

- a **data** sector (Mode 1, Mode 2 Form 1/Form 2) must carry the sync pattern, its own address
  and a valid mode, and its EDC and ECC must match (``cdsector.check``, in batches). A sector
  that fails is a read error — the read stops there, as a drive's does at an unreadable
  sector, and the rescue re-reads it like one; it is never handed out as good;
- an **audio** sector has no code of its own: when the drive reports C2 error pointers, a sector
  with any C2 error is a read error too. The drive's read offset is corrected here, so audio
  tracks match Redump and AccurateRip (``offsets.py``);
- what was kept without such a proof is said: ``unchecked`` lists, after each read, the sectors
  of it that carried nothing to check (a Form 2 sector recorded without EDC, a drive that
  returns zero EDC/ECC as QEMU's ATAPI drive does, an audio sector from a drive without C2);
  the engine records them so the report can say how many data sectors were not proven;
- a data sector whose header holds its own address in **binary** rather than BCD (QEMU's ATAPI
  drive builds raw sectors that way: hw/ide/atapi.c ``lba_to_msf``) is a drive quirk, not a
  misplaced sector: its header is written in BCD, as ECMA-130 records it on every disc and as
  Redump's images hold it, and the sector is then judged like any other (its EDC/ECC prove it,
  or it carries none and is not proven). The report's ``binary_headers`` counts them, and a
  note says so.

The drive side is a ``RawTransport`` (Linux SG_IO, Windows SCSI pass-through, macOS
DKIOCCDREAD, or a test drive); the cooked source it came from keeps doing everything else
(layout, retries, cache defeat, phases).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Protocol

from app.core.disc import cdsector
from app.core.disc.cdsector import RAW, SectorMode, Verdict
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout, Track, TrackKind
from app.core.disc.sources import ReadError, SectorSource

# READ CD expected sector types (MMC-6 table 6.20).
ANY, CDDA, MODE1, MODE2, FORM1, FORM2 = 0, 1, 2, 3, 4, 5
C2_BYTES = 294  # one bit per byte of the 2352


class RawTransport(Protocol):
    """READ CD (0xBE) as a platform sends it."""

    max_sectors: int  # sectors per command (with C2 data when asked)
    c2: bool  # the drive reports C2 error pointers

    def read_cd(self, lba: int, count: int, expected: int, c2: bool) -> tuple[bytes, bytes]:
        """``count`` sectors of 2352 bytes, and with ``c2`` their 294-byte C2 pointers (else
        b""). ``ReadError`` with ``good`` = the whole sectors before the failing one (C2
        stripped); ``SourceGone`` when the disc went away."""
        ...


@dataclass
class Proof:
    """What the raw reads proved, for the report: counts over this run."""

    edc_failures: int = 0  # data sectors that failed their own check on some read
    c2_failures: int = 0  # audio sectors read with C2 errors on some read
    zero_codes: int = 0  # data sectors read with all-zero EDC/ECC (a drive that fills none)
    binary_headers: int = 0  # data sectors whose header held the address in binary, not BCD
    bad_lbas: set[int] = field(default_factory=set)

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "edc_failures": self.edc_failures,
            "c2_failures": self.c2_failures,
            "zero_codes": self.zero_codes,
        }
        if self.binary_headers:
            doc["binary_headers"] = self.binary_headers
        return doc


_EXPECT = {TrackKind.MODE1: SectorMode.MODE1, TrackKind.MODE2: None, TrackKind.AUDIO: None}


class _OverCooked:
    """What a raw source passes to the drive's 2048-byte source it stands on: the layout it
    was made with, the sector count, retries, phases and closing."""

    cooked: SectorSource
    layout: DiscLayout

    def read_layout(self) -> DiscLayout:
        return self.layout

    def current_sector_count(self) -> int:
        return self.cooked.current_sector_count()

    def prepare_retry(self, lba: int) -> None:
        self.cooked.prepare_retry(lba)

    def set_phase(self, phase: str) -> None:
        self.cooked.set_phase(phase)

    def close(self) -> None:
        self.cooked.close()


class RawCdSource(_OverCooked):
    """2352-byte sectors through ``transport``, everything else through ``cooked``."""

    sector_size = RAW

    def __init__(
        self,
        cooked: SectorSource,
        transport: RawTransport,
        layout: DiscLayout,
        offset: int = 0,
    ) -> None:
        self.cooked = cooked
        self.transport = transport
        self.layout = layout
        self.offset = offset  # audio read offset correction, in samples (4 bytes each)
        self.description = cooked.description
        self.medium = cooked.medium
        self.protection = cooked.protection
        self.is_drive = cooked.is_drive
        self.sector_count = max(cooked.sector_count, layout.tracks_end)
        self.notes: list[str] = getattr(cooked, "notes", [])
        self.trailing_bytes = 0
        self.unchecked: list[tuple[int, int]] = []
        self.proof = Proof()
        self.info: DiscInfo | None = None  # MCN, ISRCs, CD-Text for the cue sheet
        self._runs = _audio_runs(layout)
        # Per LBA, what has been counted already (bit 1: zero codes, bit 2: binary header):
        # a sector read again (a retry, the tail of a failed read) is still one sector.
        self._counted = bytearray(self.sector_count)

    # ---- the SectorSource interface -----------------------------------------------------------
    def read(self, lba: int, count: int) -> bytes:
        """``count`` proven raw sectors, or ``ReadError`` (``kind`` "bad") at the first sector
        that did not read or did not prove itself."""
        self.unchecked = []
        out = bytearray()
        for kind, lo, hi in self._classes(lba, lba + count):
            try:
                got = self._read_audio(lo, hi) if kind == "audio" else self._read_data(lo, hi, kind)
            except ReadError as e:
                raise ReadError(lba, count, e.errno, bytes(out) + e.good, e.kind) from e
            out += got
        return bytes(out)

    # ---- what each sector is ------------------------------------------------------------------
    def _classes(self, lo: int, hi: int) -> list[tuple[str, int, int]]:
        """Runs of ``[lo, hi)`` by how to read them: "audio", "mode1", "mode2", or "any" (a
        session gap, a pregap between tracks of different kinds: judged by what it holds)."""
        out: list[tuple[str, int, int]] = []
        for a in range(lo, hi):
            k = self._class_of(a)
            if out and out[-1][0] == k and out[-1][2] == a:
                out[-1] = (k, out[-1][1], a + 1)
            else:
                out.append((k, a, a + 1))
        return out

    def _class_of(self, lba: int) -> str:
        track = self.layout.track_at(lba)
        if track is None:
            return "any"
        nxt = _next_track(self.layout, track)
        if nxt is not None and nxt.kind is not track.kind and lba >= nxt.start - nxt.pregap:
            return "any"  # the next track's pregap, inside this track's extent
        return "audio" if track.kind is TrackKind.AUDIO else str(track.kind)

    # ---- data ---------------------------------------------------------------------------------
    def _read_data(self, lo: int, hi: int, kind: str) -> bytes:
        """Read the whole run first (several commands), then prove it in one batch: the
        checks run at a few thousand sectors a second only in batches of hundreds."""
        expected = {"mode1": MODE1, "mode2": ANY, "any": ANY}[kind]
        data = bytearray()
        failed: ReadError | None = None
        for a in range(lo, hi, self.transport.max_sectors):
            n = min(self.transport.max_sectors, hi - a)
            try:
                raw, _ = self.transport.read_cd(a, n, expected, False)
            except ReadError as e:
                data += e.good[: len(e.good) - len(e.good) % RAW]
                failed = e
                break
            data += raw
        proven = self._prove(lo, bytes(data), kind)
        if failed is not None:
            raise ReadError(lo, hi - lo, failed.errno, proven, failed.kind) from failed
        if len(proven) < len(data):
            raise ReadError(lo, hi - lo, errno.EILSEQ, proven)
        return proven

    def _prove(self, lba: int, raw: bytes, kind: str) -> bytes:
        """The leading sectors of ``raw`` that prove themselves (data) or are audio."""
        if not raw:
            return b""
        n = len(raw) // RAW
        expect = _EXPECT.get(TrackKind(kind)) if kind in ("mode1", "mode2") else None
        verdicts = cdsector.check(raw, lba, expect)
        raw, fixed = _bcd_headers(raw, lba, verdicts)
        if fixed:
            verdicts = cdsector.check(raw, lba, expect)
            if not self.proof.binary_headers:
                self.notes.append(BINARY_NOTE)
            for i in fixed:
                if self._first(lba + i, _BINARY):
                    self.proof.binary_headers += 1
        for i, v in enumerate(verdicts):
            a = lba + i
            if v is Verdict.OK:
                continue
            sector = raw[i * RAW : (i + 1) * RAW]
            if v is Verdict.UNCHECKED:
                self._unchecked(a)
                continue
            if kind == "any" and v is Verdict.BAD_SYNC:
                continue  # audio in a pregap or a gap: no code of its own to check
            if v in (Verdict.BAD_EDC, Verdict.BAD_ECC) and _codes_absent(sector):
                if self._first(a, _ZERO):
                    self.proof.zero_codes += 1
                self._unchecked(a)
                continue
            if a not in self.proof.bad_lbas:
                self.proof.bad_lbas.add(a)
                self.proof.edc_failures += 1
            return raw[: i * RAW]
        return raw[: n * RAW]

    def _first(self, lba: int, bit: int) -> bool:
        """Whether this is the first time ``bit`` is counted for ``lba`` (and mark it)."""
        if not 0 <= lba < len(self._counted):
            return True
        if self._counted[lba] & bit:
            return False
        self._counted[lba] |= bit
        return True

    def _unchecked(self, lba: int) -> None:
        if self.unchecked and self.unchecked[-1][1] == lba:
            self.unchecked[-1] = (self.unchecked[-1][0], lba + 1)
        else:
            self.unchecked.append((lba, lba + 1))

    # ---- audio --------------------------------------------------------------------------------
    def _read_audio(self, lo: int, hi: int) -> bytes:
        """Sectors ``[lo, hi)`` of audio with the read offset corrected: output byte p is the
        drive's byte p + 4 x offset. Bytes the drive cannot give (before or after the run of
        audio tracks they belong to) are zero, as AccurateRip and Redump take them."""
        run = next(((a, b) for a, b in self._runs if a <= lo < b), (lo, hi))
        shift = 4 * self.offset
        first = lo + shift // RAW
        last = hi + (shift + RAW - 1) // RAW
        a, b = max(first, run[0]), min(last, run[1])
        stream = bytearray((last - first) * RAW)
        good_to = last  # drive sectors before this one read clean
        if a < b:
            got, stop = self._audio_sectors(a, b)
            stream[(a - first) * RAW : (a - first) * RAW + len(got)] = got
            if stop < b:  # past the run the stream is zero, which reads clean
                good_to = stop
        skip = shift - (shift // RAW) * RAW
        out = bytes(stream[skip : skip + (hi - lo) * RAW])
        if good_to >= last:
            return out
        # Output sector k needs drive bytes up to (lo + k + 1) * RAW + shift.
        whole = 0
        while whole < hi - lo and (lo + whole + 1) * RAW + shift <= good_to * RAW:
            whole += 1
        raise ReadError(lo, hi - lo, errno.EIO, out[: whole * RAW])

    def _audio_sectors(self, a: int, b: int) -> tuple[bytes, int]:
        """Drive sectors ``[a, b)`` of audio, and the LBA of the first that did not read clean
        (``b`` when all did). C2 errors count as not clean."""
        c2 = self.transport.c2
        data = bytearray()
        for s in range(a, b, self.transport.max_sectors):
            n = min(self.transport.max_sectors, b - s)
            try:
                raw, flags = self.transport.read_cd(s, n, CDDA, c2)
            except ReadError as e:
                good = e.good[: len(e.good) - len(e.good) % RAW]
                return bytes(data + good), s + len(good) // RAW
            if c2:
                for i in range(n):
                    if any(flags[i * C2_BYTES : (i + 1) * C2_BYTES]):
                        if s + i not in self.proof.bad_lbas:
                            self.proof.bad_lbas.add(s + i)
                            self.proof.c2_failures += 1
                        return bytes(data + raw[: i * RAW]), s + i
            data += raw
        return bytes(data), b


def _next_track(layout: DiscLayout, track: Track) -> Track | None:
    for s in layout.sessions:
        for i, t in enumerate(s.tracks):
            if t is track:
                return s.tracks[i + 1] if i + 1 < len(s.tracks) else None
    return None


def _audio_runs(layout: DiscLayout) -> list[tuple[int, int]]:
    """Contiguous runs of audio-track LBAs: an offset shift never reads across their edges."""
    runs: list[tuple[int, int]] = []
    for t in layout.tracks:
        if t.kind is not TrackKind.AUDIO:
            continue
        if runs and runs[-1][1] == t.start:
            runs[-1] = (runs[-1][0], t.end)
        else:
            runs.append((t.start, t.end))
    return runs


_ZERO, _BINARY = 1, 2  # RawCdSource._counted bits
BINARY_NOTE = (
    "the drive returns raw sector headers with the address in binary, not BCD (as QEMU's "
    "emulated drive does): the headers are written in BCD, as ECMA-130 records them"
)


def _bcd_headers(raw: bytes, lba: int, verdicts: list[Verdict]) -> tuple[bytes, list[int]]:
    """``raw`` with the headers that hold their own address in binary (not BCD) rewritten in
    BCD, and the indexes of those sectors. Only a sector that failed the address check and
    whose header is exactly the binary form of the address it was read at: anything else
    (another sector's address, garbage) stays as read, and stays a failure."""
    fixed: list[int] = []
    out: bytearray | None = None
    for i, v in enumerate(verdicts):
        if v is not Verdict.BAD_ADDRESS:
            continue
        o = i * RAW
        if raw[o + 12 : o + 15] != bytes(cdsector.msf(lba + i)):
            continue
        if out is None:
            out = bytearray(raw)
        out[o + 12 : o + 15] = cdsector.header(lba + i, 0)[:3]
        fixed.append(i)
    return (bytes(out), fixed) if out is not None else (raw, fixed)


def _codes_absent(sector: bytes) -> bool:
    """All-zero EDC and ECC where the sector's mode puts them: a drive that does not return
    the recorded codes (QEMU's ATAPI drive fills zeros), not a corrupt sector."""
    mode = sector[15]
    if mode == 1:
        return not any(sector[2064:])
    if mode == 2 and not sector[18] & cdsector.FORM2_BIT:
        return not any(sector[2072:])
    return False


class EncodedSource(_OverCooked):
    """Raw Mode 1 sectors made from a source's 2048-byte ones (a drive without READ CD, an
    .iso): sync, header, EDC and ECC follow from the user data and the address, so the bytes
    are what the drive would have read raw — but nothing was proven, and every sector is
    listed as ``unchecked``. Only for discs whose data tracks are all Mode 1 and that have no
    audio (anything else cannot be made from 2048-byte sectors)."""

    sector_size = RAW

    def __init__(self, cooked: SectorSource, layout: DiscLayout) -> None:
        self.cooked = cooked
        self.layout = layout
        self.description = cooked.description
        self.medium = cooked.medium
        self.protection = cooked.protection
        self.is_drive = cooked.is_drive
        self.sector_count = cooked.sector_count
        self.notes: list[str] = getattr(cooked, "notes", [])
        self.trailing_bytes = int(getattr(cooked, "trailing_bytes", 0))
        self.unchecked: list[tuple[int, int]] = []
        self.proof = Proof()
        self.info: DiscInfo | None = None

    def read(self, lba: int, count: int) -> bytes:
        self.unchecked = []
        try:
            user = self.cooked.read(lba, count)
        except ReadError as e:
            good = e.good[: len(e.good) - len(e.good) % 2048]
            raw = cdsector.encode(good, lba) if good else b""
            if good:
                self.unchecked = [(lba, lba + len(good) // 2048)]
            raise ReadError(lba, count, e.errno, raw, e.kind) from e
        self.unchecked = [(lba, lba + count)]
        return cdsector.encode(user, lba)
