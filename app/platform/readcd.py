"""READ CD and what goes with it, over any SCSI pass-through: portable, no OS imports.

Every platform that can send a CDB (Linux SG_IO, Windows IOCTL_SCSI_PASS_THROUGH_DIRECT) gives a
``send(cdb, length) -> bytes`` that raises ``OSError`` (with a ``sense`` attribute holding
key/asc/ascq when the drive answered CHECK CONDITION); this module turns it into:

- ``MmcTransport``: READ CD (0xBE) of whole 2352-byte sectors with the expected sector type of
  the track, and C2 error pointers (error code 10b: 294 bytes of pointers plus the block error
  byte and a pad byte; 01b is avoided because some drives, e.g. ASUS DRW-24B1ST, answer it with
  296 bytes too);
- ``capabilities``: whether the drive reads CDs raw and reports C2, from GET CONFIGURATION
  feature 001Eh (CD Read: C2 flag, CD-Text) and MODE SENSE page 2Ah (byte 5: CD-DA commands,
  accurate stream, C2 pointers, ISRC, UPC), confirmed by reading one sector;
- ``disc_info``: the catalogue number and ISRCs (READ SUB-CHANNEL 42h) and CD-Text (READ TOC
  format 05h) — where the drive gives them;
- ``inquiry``: vendor and product, to look the drive's read offset up.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.disc import cdtext
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout, TrackKind
from app.core.disc.rawsource import ANY, C2_BYTES, CDDA, MODE1
from app.core.disc.sources import ReadError, SourceError, SourceGone

Send = Callable[[bytes, int], bytes]
RAW = 2352
C2_BLOCK = C2_BYTES + 2  # error code 10b: pointers, block error byte, pad
USER_DATA_ONLY, EVERYTHING = 0x10, 0xF8  # byte 9: user data; sync + headers + data + EDC/ECC
C2_AND_BLOCK = 0x04  # byte 9 bits 2-1 = 10b


class RawUnsupported(SourceError):
    """The drive does not read raw sectors (no READ CD, or it refuses the fields asked)."""


def read_cd_cdb(lba: int, count: int, expected: int, fields: int) -> bytes:
    """READ CD (MMC-6 6.19): expected sector type in byte 1 bits 4-2, LBA, a 24-bit count,
    the fields to return in byte 9, no sub-channel."""
    return (
        bytes([0xBE, (expected & 7) << 2])
        + (lba & 0xFFFFFFFF).to_bytes(4, "big")
        + count.to_bytes(3, "big")
        + bytes([fields, 0, 0])
    )


def read_subchannel_cdb(fmt: int, track: int = 0, alloc: int = 24) -> bytes:
    """READ SUB-CHANNEL with SubQ: format 02h (MCN) or 03h (ISRC of ``track``)."""
    return bytes([0x42, 0, 0x40, fmt, 0, 0, track, alloc >> 8, alloc & 0xFF, 0])


def read_cdtext_cdb(alloc: int) -> bytes:
    return bytes([0x43, 0, 0x05, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def feature_cdb(feature: int, alloc: int = 16) -> bytes:
    """GET CONFIGURATION, RT=10b: the one feature descriptor ``feature``."""
    return bytes([0x46, 0x02, feature >> 8, feature & 0xFF, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def page_2a_cdb(alloc: int = 64) -> bytes:
    return bytes([0x5A, 0x08, 0x2A, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


INQUIRY_CDB = bytes([0x12, 0, 0, 0, 36, 0])


@dataclass
class Capabilities:
    cd_read: bool | None = None  # feature 001Eh present and current (None: not reported)
    c2: bool = False
    cdtext: bool = False
    cdda: bool | None = None  # page 2Ah: CD-DA commands supported
    accurate: bool | None = None  # page 2Ah: CD-DA stream is accurate (no jitter)
    isrc: bool = False
    upc: bool = False
    notes: list[str] = field(default_factory=list)


def parse_cd_read_feature(reply: bytes) -> tuple[bool, bool, bool] | None:
    """GET CONFIGURATION reply holding feature 001Eh: (current, C2 flags, CD-Text); None when
    the drive lists no such feature."""
    if len(reply) < 12 or int.from_bytes(reply[8:10], "big") != 0x001E:
        return None
    current = bool(reply[10] & 0x01)
    flags = reply[12] if len(reply) > 12 and reply[11] >= 4 else 0
    return current, bool(flags & 0x02), bool(flags & 0x01)


def parse_page_2a(reply: bytes) -> dict[str, bool] | None:
    """MODE SENSE(10) page 2Ah (no block descriptors): the CD-DA and C2 bits of byte 5."""
    if len(reply) < 8:
        return None
    bdl = int.from_bytes(reply[6:8], "big")
    p = 8 + bdl
    if len(reply) < p + 6 or reply[p] & 0x3F != 0x2A:
        return None
    b5 = reply[p + 5]
    return {
        "cdda": bool(b5 & 0x01),
        "accurate": bool(b5 & 0x02),
        "c2": bool(b5 & 0x10),
        "isrc": bool(b5 & 0x20),
        "upc": bool(b5 & 0x40),
    }


def capabilities(send: Send) -> Capabilities:
    caps = Capabilities()
    try:
        got = parse_cd_read_feature(send(feature_cdb(0x001E), 16))
        if got is not None:
            caps.cd_read, caps.c2, caps.cdtext = got
    except OSError as e:
        caps.notes.append(f"no GET CONFIGURATION feature 001Eh ({e.strerror or e})")
    try:
        page = parse_page_2a(send(page_2a_cdb(), 64))
        if page is not None:
            caps.cdda, caps.accurate = page["cdda"], page["accurate"]
            caps.c2 = caps.c2 or page["c2"]
            caps.isrc, caps.upc = page["isrc"], page["upc"]
    except OSError as e:
        caps.notes.append(f"no MODE SENSE page 2Ah ({e.strerror or e})")
    return caps


def inquiry(send: Send) -> tuple[str, str]:
    """(vendor, product) as the drive names itself, blanks trimmed; ("", "") when it won't."""
    try:
        data = send(INQUIRY_CDB, 36)
    except OSError:
        return "", ""
    if len(data) < 32:
        return "", ""
    return (
        data[8:16].decode("ascii", "replace").strip(),
        data[16:32].decode("ascii", "replace").strip(),
    )


def _sense_of(e: OSError) -> tuple[int, int, int] | None:
    sense = getattr(e, "sense", None)
    if sense is None:
        return None
    return int(sense.key), int(sense.asc), int(sense.ascq)


class MmcTransport:
    """``RawTransport`` over a SCSI ``send``."""

    def __init__(self, send: Send, max_bytes: int, c2: bool, path: str = "the drive") -> None:
        self.send = send
        self.c2 = c2
        self.path = path
        self.max_sectors = max(1, max_bytes // (RAW + C2_BLOCK))

    def read_cd(self, lba: int, count: int, expected: int, c2: bool) -> tuple[bytes, bytes]:
        fields = (USER_DATA_ONLY if expected == CDDA else EVERYTHING) | (C2_AND_BLOCK if c2 else 0)
        per = RAW + (C2_BLOCK if c2 else 0)
        try:
            data = self.send(read_cd_cdb(lba, count, expected, fields), count * per)
        except OSError as e:
            sense = _sense_of(e)
            if sense is not None and (
                sense[:2] in ((0x02, 0x3A), (0x06, 0x28)) or (sense[0] == 0x02 and sense[1] == 0x04)
            ):
                raise SourceGone(f"{self.path}: {e.strerror}") from e
            if sense is not None and sense[:2] in ((0x05, 0x20), (0x05, 0x24)):
                raise RawUnsupported(f"{self.path} refuses READ CD ({e.strerror})") from e
            kind = "protected" if sense is not None and sense[:2] == (0x05, 0x6F) else "bad"
            raise ReadError(lba, count, e.errno or errno.EIO, kind=kind) from e
        whole = len(data) // per
        raw = b"".join(data[i * per : i * per + RAW] for i in range(whole))
        flags = (
            b"".join(data[i * per + RAW : i * per + RAW + C2_BYTES] for i in range(whole))
            if c2
            else b""
        )
        if whole < count:
            raise ReadError(lba, count, errno.EIO, raw)
        return raw, flags


def probe(
    send: Send, layout: DiscLayout, max_bytes: int, path: str
) -> tuple[MmcTransport | None, list[str]]:
    """A transport when the drive reads this disc raw (one sector of each kind of track is read
    to be sure), else None; and what was found, in words."""
    caps = capabilities(send)
    notes = list(caps.notes)
    if caps.cd_read is False:
        notes.append("the drive reports no CD Read feature")
    c2 = caps.c2
    t = MmcTransport(send, max_bytes, c2, path)
    for kind in (TrackKind.MODE1, TrackKind.MODE2, TrackKind.AUDIO):
        track = next((x for x in layout.tracks if x.kind is kind and x.length > 2), None)
        if track is None:
            continue
        expected = {TrackKind.MODE1: MODE1, TrackKind.MODE2: ANY, TrackKind.AUDIO: CDDA}[kind]
        try:
            t.read_cd(track.start, 1, expected, c2 and kind is TrackKind.AUDIO)
        except RawUnsupported as e:
            if c2 and kind is TrackKind.AUDIO:  # some drives refuse only the C2 field
                try:
                    t.read_cd(track.start, 1, expected, False)
                    t.c2 = c2 = False
                    notes.append("the drive refuses C2 error pointers: audio is not C2-checked")
                    continue
                except (RawUnsupported, ReadError):
                    pass
            notes.append(str(e))
            return None, notes
        except ReadError:
            continue  # a bad first sector says nothing about the command
    notes.append(
        "raw sectors through READ CD"
        + (", with C2 error pointers" if c2 else " (the drive reports no C2 error pointers)")
        + f", {t.max_sectors} sectors a command"
    )
    return t, notes


def disc_info(send: Send, layout: DiscLayout) -> DiscInfo:
    """MCN, ISRCs (audio tracks) and CD-Text, each where the drive answers; never fails."""
    info = DiscInfo()
    with contextlib.suppress(OSError):
        info.mcn = cdtext.parse_mcn(send(read_subchannel_cdb(0x02), 24))
    for t in layout.audio_tracks:
        try:
            isrc = cdtext.parse_isrc(send(read_subchannel_cdb(0x03, t.number), 24))
        except OSError:
            break  # a drive that refuses one refuses all
        if isrc:
            info.track(t.number)["isrc"] = isrc
    try:
        head = send(read_cdtext_cdb(4), 4)
        length = int.from_bytes(head[0:2], "big") + 2 if len(head) >= 2 else 0
        if length > 4:
            cdtext.parse_cdtext(
                send(read_cdtext_cdb(min(length, 0xFFFF)), min(length, 0xFFFF)), info
            )
    except OSError:
        pass
    return info
