"""Audio CD identities computed from the table of contents: the MusicBrainz disc ID (and the
older FreeDB ID), with no network needed.

MusicBrainz's algorithm (musicbrainz.org/doc/Disc_ID_Calculation, as libdiscid implements it):
SHA-1 over the first and last track numbers (2 hex digits each), the lead-out's sector offset
and the offsets of tracks 1-99 (8 hex digits each, 0 for absent tracks), all upper case, where an
offset is the LBA + 150; then base64 with ``+/=`` replaced by ``._-`` (28 characters).

Which tracks count (libdiscid's ``mb_disc_load_toc``): every track up to the last audio track,
data tracks before it included (a Mixed Mode CD's data track 1 is part of its ID). When data
tracks follow the last audio track (CD-Extra / Enhanced CD: audio in session 1, data in session
2), the lead-out is taken as the first such data track's start minus 11 400 sectors (152 s: the
lead-out, lead-in and pregap between the sessions), not the disc's final lead-out.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass

from app.core.disc.layout import DiscLayout

PREGAP = 150  # LBA 0 is 00:02:00: MusicBrainz offsets count from 00:00:00
XA_INTERVAL = (60 + 90 + 2) * 75  # 11 400 sectors from session 1's audio to session 2's data


@dataclass(frozen=True)
class Toc:
    """What the IDs are computed from: track numbers and sector offsets (LBA + 150)."""

    first: int
    last: int
    leadout: int
    offsets: tuple[int, ...]  # of tracks first..last

    def __post_init__(self) -> None:
        if (
            not 1 <= self.first <= self.last <= 99
            or len(self.offsets) != self.last - self.first + 1
        ):
            raise ValueError(f"not a CD TOC: tracks {self.first}-{self.last}, {self.offsets}")
        points = [*self.offsets, self.leadout]
        if any(b <= a for a, b in itertools.pairwise(points)) or points[0] < 0:
            raise ValueError(f"not a CD TOC: offsets must rise up to the lead-out: {points}")

    @classmethod
    def from_layout(cls, layout: DiscLayout) -> Toc | None:
        """The TOC MusicBrainz identifies a disc by; None for a disc without audio tracks."""
        tracks = layout.tracks
        audio = [i for i, t in enumerate(tracks) if not t.is_data]
        if not audio:
            return None
        counted = tracks[: audio[-1] + 1]
        if audio[-1] + 1 < len(tracks):  # data after the last audio track: CD-Extra
            leadout = tracks[audio[-1] + 1].start - XA_INTERVAL
        else:
            leadout = layout.sessions[-1].leadout
        return cls(
            counted[0].number,
            counted[-1].number,
            leadout + PREGAP,
            tuple(t.start + PREGAP for t in counted),
        )

    def musicbrainz_id(self) -> str:
        text = f"{self.first:02X}{self.last:02X}{self.leadout:08X}"
        by_number = self._by_number()
        text += "".join(f"{by_number.get(n, 0):08X}" for n in range(1, 100))
        digest = hashlib.sha1(text.encode("ascii")).digest()
        return base64.b64encode(digest, altchars=b"._").decode("ascii").replace("=", "-")

    def freedb_id(self) -> str:
        """The FreeDB/CDDB ID (8 hex digits): a digit sum of the track starts in seconds, the
        playing time in seconds and the track count. Tracks below ``first`` count as starting
        at 0 and the count is ``last``, as libdiscid computes it."""
        starts = [self._by_number().get(n, 0) for n in range(1, self.last + 1)]
        n = sum(sum(int(d) for d in str(o // 75)) for o in starts)
        t = self.leadout // 75 - starts[0] // 75
        return f"{(n % 255) << 24 | t << 8 | self.last:08x}"

    def _by_number(self) -> dict[int, int]:
        return dict(zip(range(self.first, self.last + 1), self.offsets, strict=True))

    def toc_string(self) -> str:
        """``first last leadout offset...``, as MusicBrainz's web service takes a TOC."""
        return " ".join(str(x) for x in (self.first, self.last, self.leadout, *self.offsets))


def musicbrainz_id(layout: DiscLayout) -> str | None:
    """The disc's MusicBrainz ID, or None when it has no audio track."""
    toc = Toc.from_layout(layout)
    return toc.musicbrainz_id() if toc else None
