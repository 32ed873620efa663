"""What a CD says about itself besides its TOC: the catalogue number (MCN), each track's ISRC,
and CD-Text (titles and performers), as drives report them. Pure parsing.

- MCN and ISRC come from READ SUB-CHANNEL (42h) formats 02h and 03h: a 13-digit catalogue
  number (UPC/EAN) and a 12-character ISRC per track, each with a "valid" bit.
- CD-Text comes from READ TOC format 05h: a list of 18-byte packs (type, track, sequence,
  block/character position, 12 text bytes, CRC-16). Texts run across packs, NUL-terminated,
  one per track in track order ("\\t" repeats the previous one). Only block 0 (the first
  language) and the single-byte character sets are read; packs with a wrong CRC are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PACK = 18
TITLE, PERFORMER, SONGWRITER, COMPOSER, ARRANGER, MESSAGE = 0x80, 0x81, 0x82, 0x83, 0x84, 0x85
_FIELDS = {TITLE: "title", PERFORMER: "performer", SONGWRITER: "songwriter"}
_ISRC = re.compile(r"^[A-Z0-9]{5}[0-9]{7}$")


@dataclass
class DiscInfo:
    """Catalogue number, ISRCs and CD-Text: what goes into a cue sheet besides the tracks."""

    mcn: str = ""
    title: str = ""
    performer: str = ""
    songwriter: str = ""
    tracks: dict[int, dict[str, str]] = field(default_factory=dict)  # number -> field -> text

    def track(self, number: int) -> dict[str, str]:
        return self.tracks.setdefault(number, {})

    @property
    def empty(self) -> bool:
        return not (self.mcn or self.title or self.performer or any(self.tracks.values()))

    def to_json(self) -> dict[str, object]:
        return {
            "mcn": self.mcn or None,
            "title": self.title or None,
            "performer": self.performer or None,
            "tracks": {str(n): dict(v) for n, v in sorted(self.tracks.items()) if v},
        }


def crc16(data: bytes) -> int:
    """CRC-16/CCITT (x^16+x^12+x^5+1, initial 0), as CD-Text packs and Q sub-channel use it;
    the packs store its complement."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_mcn(reply: bytes) -> str:
    """READ SUB-CHANNEL format 02h: the 13-digit MCN, or "" when the disc has none."""
    if len(reply) < 24 or not reply[8] & 0x80:
        return ""
    text = reply[9:22].decode("ascii", "replace")
    return text if text.isdigit() and set(text) != {"0"} else ""


def parse_isrc(reply: bytes) -> str:
    """READ SUB-CHANNEL format 03h: the track's ISRC (CCOOOYYSSSSS), or "" when none."""
    if len(reply) < 24 or not reply[8] & 0x80:
        return ""
    text = reply[9:21].decode("ascii", "replace")
    return text if _ISRC.match(text) else ""


def parse_cdtext(reply: bytes, info: DiscInfo | None = None) -> DiscInfo:
    """READ TOC format 05h -> titles, performers and songwriters (block 0)."""
    info = info or DiscInfo()
    if len(reply) < 4:
        return info
    length = min(len(reply), 2 + int.from_bytes(reply[0:2], "big"))
    texts: dict[int, bytearray] = {}
    first_track: dict[int, int] = {}
    double: set[int] = set()
    for p in range(4, length - PACK + 1, PACK):
        pack = reply[p : p + PACK]
        kind, track, block = pack[0], pack[1] & 0x7F, (pack[3] >> 4) & 0x07
        if kind not in _FIELDS or block != 0:
            continue
        if (~int.from_bytes(pack[16:18], "big")) & 0xFFFF != crc16(pack[:16]):
            continue
        if pack[3] & 0x80:
            double.add(kind)
        first_track.setdefault(kind, track)
        texts.setdefault(kind, bytearray()).extend(pack[4:16])
    for kind, data in texts.items():
        if kind in double:
            continue  # two-byte character sets (MS-JIS) are not decoded here
        parts = bytes(data).split(b"\0")
        number = first_track[kind]
        previous = ""
        for raw in parts:
            text = raw.decode("latin-1").strip()
            if text == "\t":
                text = previous
            previous = text
            if text:
                name = _FIELDS[kind]
                if number == 0:
                    setattr(info, name, text)
                else:
                    info.track(number)[name] = text
            number += 1
    return info


def build_packs(texts: dict[int, dict[int, str]]) -> bytes:
    """CD-Text packs for ``{pack type: {track (0 = disc): text}}`` (block 0, ISO-8859-1), as a
    READ TOC format 05h reply. For test drives: the inverse of ``parse_cdtext``."""
    body = bytearray()
    seq = 0
    for kind in sorted(texts):
        per = texts[kind]
        first = min(per)
        data = b"".join(
            per.get(n, "").encode("latin-1") + b"\0" for n in range(first, max(per) + 1)
        )
        track, pos = first, 0
        for off in range(0, len(data), 12):
            chunk = data[off : off + 12].ljust(12, b"\0")
            head = bytes([kind, track, seq & 0xFF, min(pos, 15)])
            crc = (~crc16(head + chunk)) & 0xFFFF
            body += head + chunk + crc.to_bytes(2, "big")
            seq += 1
            # where the next pack starts: the track of its first character, and how far in
            used = data[: off + 12]
            track = first + used.count(b"\0")
            pos = len(used) - (used.rfind(b"\0") + 1)
    return (len(body) + 2).to_bytes(2, "big") + bytes(2) + bytes(body)
