"""The files that travel with an image: one place names them all.

``disc.iso`` has ``disc.iso.map`` (the ddrescue mapfile), ``disc.iso.report.json``,
``disc.iso.md5`` / ``.sha1`` / ``.sha256`` (coreutils format, so ``sha1sum -c`` works in place),
and, for a disc with several sessions or audio tracks, ``disc.cue`` (a cue sheet sits beside
its image under the image's own stem, where every cue reader looks for it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from app.core.base.hashing import ALGORITHMS

# Algorithms with a coreutils tool, hence a sidecar file (CRC32 lives in the report and DATs).
SIDECAR_ALGORITHMS = tuple(a for a in ALGORITHMS if a != "crc32")


@dataclass(frozen=True)
class Companions:
    image: str
    map: str
    report: str
    cue: str
    sidecars: dict[str, str] = field(default_factory=dict)  # algorithm -> path

    @classmethod
    def of(cls, image: str, map_path: str = "", report_path: str = "") -> Companions:
        stem, ext = os.path.splitext(image)
        return cls(
            image,
            map_path or image + ".map",
            report_path or image + ".report.json",
            (stem if ext.lower() == ".iso" else image) + ".cue",
            {a: f"{image}.{a}" for a in SIDECAR_ALGORITHMS},
        )

    def outputs(self) -> list[tuple[str, str]]:
        """Every file a backup writes, as (what it is, path)."""
        return [
            ("image", self.image),
            ("mapfile", self.map),
            ("report", self.report),
            ("cue sheet", self.cue),
            *((f"{a} checksum file", p) for a, p in self.sidecars.items()),
        ]
