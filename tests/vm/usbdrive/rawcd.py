"""The drive's raw side: READ CD of whole sectors with C2 pointers, the audio read offset, silent
corruptions, and the sub-channel answers (MCN, ISRC) and CD-Text. Used by ``mmc.Drive``.

Raw data sectors are made from the track's 2048-byte user data with DiscVault's own
``cdsector.encode`` (itself judged against ECMA-130, vcdimager, chdman and bchunk), or read from
a backing file of raw 2352-byte sectors (``"format": "raw"``: e.g. a VCD made by vcdimager).

What the disc description adds (see ``disc.py``)::

    "drive": {"read_offset": 6,     # the drive's AccurateRip correction: asked for sector X of
                                    # audio, it returns the samples 6 earlier
              "c2": true,           # reports C2 error pointers (page 2Ah, feature 001Eh)
              "raw": true,          # READ CD returns sync/headers/EDC/ECC (false: 05/24/00)
              "zero_codes": false,  # return zero EDC/ECC, as QEMU's ATAPI drive does
              "read_cd": true},     # false: no READ CD at all (05/20/00)
    "corrupt": [{"lba": 30, "count": 1, "fails": 2, "c2": false}],
                                    # silent corruption: the read succeeds with wrong bytes
                                    # (fails times, then right; no "fails": always), flagged
                                    # in the C2 pointers when "c2"
    "mcn": "0123456789012",  "cdtext": {"title": "...", "performer": "...",
                                        "tracks": {"2": {"title": "..."}}}
    tracks: "isrc": "USABC0000001", "format": "raw" | "user"
"""

from __future__ import annotations

import collections

from app.core.disc import cdsector, cdtext
from tests.vm.usbdrive.disc import (
    ILLEGAL_MODE_FOR_TRACK,
    INVALID_FIELD_IN_CDB,
    INVALID_OPCODE,
    LBA_OUT_OF_RANGE,
    RAW,
    Disc,
    Kind,
    Track,
)
from tests.vm.usbdrive.scsi import CommandError, be32

C2_294, C2_296 = 0x02, 0x04  # byte 9 bits 2-1: 01b pointers, 10b pointers + block error byte
ENCODE_BLOCK = 256  # sectors encoded at a time (and cached)
_FLIP = bytes(range(0x40, 0x40 + 32))  # what a silent corruption XORs into a sector


class RawSide:
    """Per-drive state of the raw reads: how often each corrupt sector has been read wrong."""

    def __init__(self) -> None:
        self.corrupted: collections.Counter[int] = collections.Counter()
        self._cache: dict[tuple[int, int], bytes] = {}

    def forget(self) -> None:
        self.corrupted.clear()
        self._cache.clear()

    # ---- sectors ------------------------------------------------------------------------------
    def data_sector(self, disc: Disc, track: Track, lba: int) -> bytes:
        """The 2352 bytes of a data sector as recorded on the disc."""
        if track.format == "raw":
            return disc.sector(track, lba)
        block = (lba - track.start) // ENCODE_BLOCK
        key = (track.number, block)
        raw = self._cache.get(key)
        if raw is None:
            first = track.start + block * ENCODE_BLOCK
            n = min(ENCODE_BLOCK, track.end - first)
            user = b"".join(disc.sector(track, first + i) for i in range(n))
            mode = (
                cdsector.SectorMode.MODE1
                if track.kind is Kind.MODE1
                else cdsector.SectorMode.MODE2_FORM1
            )
            raw = self._cache[key] = cdsector.encode(user, first, mode)
        i = lba - track.start - block * ENCODE_BLOCK
        return raw[i * RAW : (i + 1) * RAW]

    def audio_sector(self, disc: Disc, lba: int) -> bytes:
        """What the drive returns for audio sector ``lba``: the samples ``read_offset`` before
        it (zero where the run of audio tracks ends)."""
        shift = -4 * disc.drive.read_offset
        run = _audio_run(disc, lba)
        start = lba * RAW + shift
        out = bytearray(RAW)
        for a in range(start // RAW, (start + RAW - 1) // RAW + 1):
            if not run[0] <= a < run[1]:
                continue
            t = disc.track_at(a)
            assert t is not None
            data = disc.sector(t, a)
            lo, hi = max(start, a * RAW), min(start + RAW, (a + 1) * RAW)
            out[lo - start : hi - start] = data[lo - a * RAW : hi - a * RAW]
        return bytes(out)

    def corrupt(self, disc: Disc, lba: int, data: bytes) -> tuple[bytes, bool]:
        """``data`` as this read returns it, and whether C2 flags it."""
        for c in disc.corrupt:
            if c.lba <= lba < c.lba + c.count:
                if c.fails is not None and self.corrupted[lba] >= c.fails:
                    return data, False
                self.corrupted[lba] += 1
                bad = bytearray(data)
                for i, x in enumerate(_FLIP):
                    bad[400 + i] ^= x
                return bytes(bad), c.c2
        return data, False

    # ---- READ CD ------------------------------------------------------------------------------
    def read_cd(self, drive_damage: object, disc: Disc, cdb: bytes) -> bytes:
        if not disc.drive.read_cd:
            raise CommandError(INVALID_OPCODE)
        expected = (cdb[1] >> 2) & 0x07
        lba, count, fields, sub = be32(cdb, 2), int.from_bytes(cdb[6:9], "big"), cdb[9], cdb[10]
        c2 = fields & 0x06
        main = fields & 0xF8
        if disc.medium != "CD" or sub or c2 == 0x06 or main not in (0x10, 0xF8) or expected > 5:
            raise CommandError(INVALID_FIELD_IN_CDB)
        if c2 and not disc.drive.c2:
            raise CommandError(INVALID_FIELD_IN_CDB)
        if lba + count > disc.capacity:
            raise CommandError(LBA_OUT_OF_RANGE)
        damage = drive_damage  # Drive._damage(disc, track, lba) -> Sense | None
        out = bytearray()
        for a in range(lba, lba + count):
            track = disc.track_at(a)
            if track is None:
                raise CommandError(disc.gap_sense, info=a, data=bytes(out))
            allowed = (
                (0, 1)
                if not track.is_data
                else ((0, 2) if track.kind is Kind.MODE1 else (0, 3, 4, 5))
            )
            if expected not in allowed:
                raise CommandError(ILLEGAL_MODE_FOR_TRACK, info=a, data=bytes(out))
            sense = damage(disc, track, a)  # type: ignore[operator]
            if sense is not None:
                raise CommandError(sense, info=a, data=bytes(out))
            if track.is_data:
                if main == 0xF8 and not disc.drive.raw:
                    raise CommandError(INVALID_FIELD_IN_CDB)
                raw = self.data_sector(disc, track, a)
                if main == 0x10:
                    sector = cdsector.user_data(raw)
                else:
                    sector = raw
                    if disc.drive.zero_codes:
                        start = 2064 if raw[15] == 1 else 2072
                        sector = raw[:start] + bytes(RAW - start)
            else:
                sector = self.audio_sector(disc, a)
            sector, flagged = self.corrupt(disc, a, sector)
            out += sector
            if c2:
                pointers = bytearray(294)
                if flagged:
                    for i in range(400, 432):
                        pointers[i // 8] |= 0x80 >> (i % 8)
                out += pointers
                if c2 == C2_296:
                    out += bytes([0x01 if flagged else 0, 0])
        return bytes(out)


def _audio_run(disc: Disc, lba: int) -> tuple[int, int]:
    """The run of contiguous audio tracks around ``lba`` (a drive's offset never reads
    across into data or the lead-out: zeros there, as the drives Redump uses overread)."""
    tracks = disc.tracks
    for i, t in enumerate(tracks):
        if t.start <= lba < t.end and not t.is_data:
            lo, hi = i, i
            while lo > 0 and not tracks[lo - 1].is_data and tracks[lo - 1].end == tracks[lo].start:
                lo -= 1
            while (
                hi + 1 < len(tracks)
                and not tracks[hi + 1].is_data
                and tracks[hi + 1].start == tracks[hi].end
            ):
                hi += 1
            return tracks[lo].start, tracks[hi].end
    return lba, lba


# ---- sub-channel and CD-Text -----------------------------------------------------------------
def read_subchannel(disc: Disc, cdb: bytes) -> bytes:
    """READ SUB-CHANNEL, SubQ formats 02h (MCN) and 03h (ISRC); anything else is refused."""
    fmt, track_no = cdb[3], cdb[6]
    if not cdb[2] & 0x40 or fmt not in (0x02, 0x03) or disc.medium != "CD":
        raise CommandError(INVALID_FIELD_IN_CDB)
    body = bytearray(20)
    body[0] = fmt
    if fmt == 0x02:
        if disc.mcn:
            body[4] = 0x80
            body[5:18] = disc.mcn.encode("ascii")
    else:
        track = disc.track(track_no)
        if track is None:
            raise CommandError(INVALID_FIELD_IN_CDB)
        body[1], body[2] = (1 << 4) | track.control, track.number
        if track.isrc:
            body[4] = 0x80
            body[5:17] = track.isrc.encode("ascii")
    return bytes([0, 0, 0, len(body)]) + bytes(body)


def read_cdtext(disc: Disc) -> bytes:
    if not disc.cdtext:
        return bytes([0, 2, 0, 0])
    texts: dict[int, dict[int, str]] = {}
    for key, kind in (("title", cdtext.TITLE), ("performer", cdtext.PERFORMER)):
        per: dict[int, str] = {}
        if disc.cdtext.get(key):
            per[0] = str(disc.cdtext[key])
        for n, t in dict(disc.cdtext.get("tracks", {})).items():
            if t.get(key):
                per[int(n)] = str(t[key])
        if per:
            per.setdefault(0, "")
            for t in disc.tracks:
                per.setdefault(t.number, "")
            texts[kind] = per
    return cdtext.build_packs(texts)
