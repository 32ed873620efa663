"""The BIN/CUE format: one .bin of raw 2352-byte sectors per track, Redump style, and a .cue.

Files are named as Redump names them, from the sheet's name: ``NAME.bin`` for a one-track disc,
else ``NAME (Track 1).bin`` ... (``Track 01`` when the disc has ten tracks or more). A track's
file starts at its pregap (INDEX 00) and runs to the next track's pregap; the first track of a
session starts at INDEX 01 (its pregap is in the lead-in or the session gap, which no file
holds). Each file's CRC32/MD5/SHA-1 is what a Redump DAT lists for that track.

Registered in ``formats.FORMATS`` as "bincue".
"""

from __future__ import annotations

import os

from app.core.disc import cdsector, cue
from app.core.disc.binset import track_files
from app.core.disc.layout import DiscLayout, TrackKind
from app.core.rescue.formats import register
from app.core.rescue.output import Output, Part


def stem_of(path: str) -> str:
    """The name a backup's files share: the path without .cue, .bin or .iso."""
    stem, ext = os.path.splitext(path)
    return stem if ext.lower() in (".cue", ".bin", ".iso") else path


def track_names(stem: str, layout: DiscLayout) -> dict[int, str]:
    """Redump's file names: ``NAME.bin`` alone, else ``NAME (Track N).bin``."""
    tracks = layout.tracks
    base = os.path.basename(stem)
    if len(tracks) == 1:
        return {tracks[0].number: f"{base}.bin"}
    width = 2 if len(tracks) >= 10 else 1
    return {t.number: f"{base} (Track {t.number:0{width}d}).bin" for t in tracks}


@register
class BinCueOutput(Output):
    format = "bincue"
    sector_size = 2352
    extension = ".cue"

    def make_parts(self, layout: DiscLayout) -> list[Part]:
        stem = stem_of(self.comp.image)
        folder = os.path.dirname(stem)
        names = track_names(stem, layout)
        kinds = {t.number: t.kind for t in layout.tracks}
        return [
            Part(
                os.path.join(folder, names[n]),
                a,
                b,
                f"track {n:02d}",
                n,
                cue.RAW_MODES[kinds[n]],
            )
            for n, a, b in track_files(layout)
        ]

    def sheet_path(self) -> str | None:
        return self.comp.image

    def sheet(self) -> tuple[str, str] | None:
        names = {p.track: p.name for p in self.parts}
        return self.comp.image, cue.bincue_text(self.layout, names, self.info)

    def user_data(self, lba: int, raw: bytes) -> bytes | None:
        track = self.layout.track_at(lba)
        if track is None or track.kind is TrackKind.AUDIO or raw[:12] != cdsector.SYNC:
            return None
        try:
            data = cdsector.user_data(raw)
        except ValueError:
            return None
        return data if len(data) == 2048 else None
