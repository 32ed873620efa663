"""The output formats a backup can write, in one registry: adding a format is a class here.

- ``iso``: one file of 2048-byte sectors at their disc LBAs (LBA N at byte N x 2048), with a
  cue sheet beside it when the disc has several sessions or audio tracks. The default for
  data discs, and what Redump DATs hold for DVDs, BDs and Mode 1 single-session CDs.
- ``bincue``: registered by ``app.core.rescue.bincue`` (one .bin of raw 2352-byte sectors per
  track, Redump style, and a .cue).
"""

from __future__ import annotations

import os

from app.core.base.companions import Companions
from app.core.disc import cue
from app.core.disc.layout import DiscLayout
from app.core.rescue.output import Output, Part, with_end

FORMATS: dict[str, type[Output]] = {}


def register(cls: type[Output]) -> type[Output]:
    FORMATS[cls.format] = cls
    return cls


def needs_cue(layout: DiscLayout) -> bool:
    """A plain .iso says everything about a single data session; more needs a cue sheet."""
    return len(layout.sessions) > 1 or bool(layout.audio_tracks)


@register
class IsoOutput(Output):
    format = "iso"
    sector_size = 2048
    extension = ".iso"

    def make_parts(self, layout: DiscLayout) -> list[Part]:
        return [Part(self.comp.image, 0, layout.end, "image")]

    def refuse(self, source: str) -> str | None:
        if self.layout.data_tracks:
            return None
        return (
            f"{source} is an audio CD: it has no data track, so there is nothing to put in an "
            ".iso — back it up as BIN/CUE (--format bincue); no file was written"
        )

    def set_domain(self, sectors: int) -> None:
        self.parts = [with_end(self.parts[0], sectors)]

    def image_end(self, sectors: int) -> None:
        self.parts = [with_end(self.parts[0], sectors)]

    def sheet_path(self) -> str | None:
        return self.comp.cue if needs_cue(self.layout) else None

    def sheet(self) -> tuple[str, str] | None:
        path = self.sheet_path()
        if path is None:
            return None
        return path, cue.text(self.layout, os.path.basename(self.image))


def make(fmt: str, comp: Companions, layout: DiscLayout) -> Output:
    _load_all()
    try:
        cls = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"no output format {fmt!r} (one of {', '.join(sorted(FORMATS))})"
        ) from None
    return cls(comp, layout)


# Formats that live in their own module register themselves when imported.
MODULES: tuple[str, ...] = ("app.core.rescue.bincue",)


def _load_all() -> None:
    import importlib

    for name in MODULES:
        importlib.import_module(name)
