"""Which disc is this? A fingerprint from the layout and the filesystems' own descriptors.

A resume must prove that the image, the mapfile and the disc belong together, and the library
must recognise the same disc in any drive. Neither the size alone (two discs of one size) nor the
label (every camera's "PHOTOS") is enough; the volume descriptors carry creation times to the
second and the root's location, so together with the layout they tell discs apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError

SECTOR = 2048
MAX_DESCRIPTORS = 64
UDF_ANCHOR = 256

ReadFn = Callable[[int, int], bytes]  # (lba, count) -> bytes; ReadError when unreadable


@dataclass(frozen=True)
class DiscIdentity:
    layout: str  # DiscLayout.fingerprint()
    descriptors: str | None  # hash of the descriptor sectors, None when none could be read
    sectors: int  # the layout's end (what an image of the disc holds)
    label: str = ""

    @property
    def key(self) -> str:
        """One string for catalogues: equal keys mean the same disc."""
        return f"{self.layout}:{self.descriptors or 'unread'}:{self.sectors}"

    def conflicts(self, other: DiscIdentity) -> str | None:
        """Why ``other`` is not the same disc, or None when nothing says so.

        Descriptors are compared only when both were read: a damaged LBA 16 on a second try
        must not make a disc a stranger to itself."""
        if self.sectors != other.sectors:
            return f"{other.sectors} sectors where it had {self.sectors}"
        if self.layout != other.layout:
            return "a different layout (sessions and tracks)"
        if self.descriptors and other.descriptors and self.descriptors != other.descriptors:
            return "different volume descriptors"
        return None

    def describe(self) -> str:
        name = f"'{self.label}'" if self.label else "no label"
        return f"{name}, {self.sectors} sectors"

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "layout": self.layout,
            "descriptors": self.descriptors,
            "sectors": self.sectors,
            "label": self.label,
        }

    @classmethod
    def from_json(cls, doc: object) -> DiscIdentity:
        if not isinstance(doc, dict):
            raise ValueError("not a disc identity")
        try:
            desc = doc.get("descriptors")
            return cls(
                str(doc["layout"]),
                str(desc) if desc else None,
                int(doc["sectors"]),
                str(doc.get("label", "")),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as e:  # 1e400 reads as inf
            raise ValueError(f"not a disc identity ({e})") from e


def descriptor_sectors(layout: DiscLayout) -> list[int]:
    """Where a disc's own description lives: LBA 0 (Apple partition map, MBR, HFS master
    directory block), each data session's volume descriptors from its start + 16, and the
    UDF anchor at 256."""
    lbas = [0]
    for s in layout.data_sessions:
        lbas += range(s.start + 16, s.start + 16 + MAX_DESCRIPTORS)
    lbas.append(UDF_ANCHOR)
    end = layout.end
    return sorted({lba for lba in lbas if lba < end})


def identify(layout: DiscLayout, read: ReadFn) -> DiscIdentity:
    """Read the descriptor sectors (stopping at each session's set terminator) and hash them
    with the layout. Unreadable sectors are left out; all unreadable gives ``descriptors=None``."""
    h = hashlib.sha1()
    got = 0
    label = ""
    stop_session: set[int] = set()
    for lba in descriptor_sectors(layout):
        session = layout.session_of(lba)
        sno = session.number if session else 0
        in_vds = session is not None and lba >= session.start + 16 and lba != UDF_ANCHOR
        if in_vds and sno in stop_session:
            continue
        try:
            data = read(lba, 1)
        except ReadError:  # a damaged descriptor just stays out; a pulled disc propagates
            continue
        if len(data) < SECTOR:
            continue
        if in_vds:
            if data[1:6] != b"CD001":
                stop_session.add(sno)
                continue
            if data[0] == 255:
                stop_session.add(sno)
            elif data[0] == 1:
                label = data[40:72].decode("latin-1").strip() or label
        h.update(lba.to_bytes(4, "little") + data)
        got += 1
    return DiscIdentity(layout.fingerprint(), h.hexdigest() if got else None, layout.end, label)
