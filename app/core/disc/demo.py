"""The demo drive: a simulated disc with a scratch and flaky sectors, for trying DiscVault anywhere.

The disc is a real ISO 9660 + Joliet + Rock Ridge image built once with pycdlib from the sample
files in ``resources/demo`` plus a large generated "video" file, cached in the user's cache
folder. Reads go through the same rescue engine as a real drive; this source only adds what a
real scratched disc does: read time, unreadable sectors, and sectors that read after a few tries.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

from app.core.base.sector import SECTOR
from app.core.base.seekio import SizedReader
from app.core.disc.sources import ImageSource, ReadError

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources" / "demo"
DEMO_LABEL = "HOLIDAY_2009"
VIDEO_SIZE = 96 * (1 << 20)
DEMO_VERSION = 1


class _PatternFile(SizedReader):
    """A large file whose bytes are generated on demand (no memory, no disk)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        block = bytearray()
        for i in range(4096):
            block += f"DiscVault demo video frame {i:05d} ".encode().ljust(64, b".")
        self.block = bytes(block)  # 256 KiB of text, repeated

    def _read_at(self, pos: int, view: memoryview) -> int:
        done = 0
        while done < len(view):
            off = (pos + done) % len(self.block)
            take = min(len(view) - done, len(self.block) - off)
            view[done : done + take] = self.block[off : off + take]
            done += take
        return done


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA", base)
    return Path(base) / "DiscVault"


_build_lock = threading.Lock()


def demo_image() -> Path:
    """Build (once) and return the demo disc image."""
    target = cache_dir() / f"demo-disc-v{DEMO_VERSION}.iso"
    with _build_lock:
        if target.exists():
            return target
        import pycdlib

        target.parent.mkdir(parents=True, exist_ok=True)
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=DEMO_LABEL)
        iso.add_directory("/PHOTOS", rr_name="Photos", joliet_path="/Photos")
        iso.add_directory("/VIDEO", rr_name="Video", joliet_path="/Video")
        keep = []
        for src in sorted(RESOURCES.glob("*")):
            if src.is_file():
                f = open(src, "rb")  # noqa: SIM115 (pycdlib reads at write time)
                keep.append(f)
                short = src.stem.upper().replace("-", "_")[:8] + ".TXT;1"
                iso.add_fp(
                    f,
                    src.stat().st_size,
                    f"/PHOTOS/{short}",
                    rr_name=src.name,
                    joliet_path=f"/Photos/{src.name}",
                )
        video = _PatternFile(VIDEO_SIZE)
        iso.add_fp(
            video,  # type: ignore[arg-type]  # read/seek/tell is all pycdlib uses
            VIDEO_SIZE,
            "/VIDEO/BEACH.VOB;1",
            rr_name="Beach day.vob",
            joliet_path="/Video/Beach day.vob",
        )
        tmp = target.with_suffix(".tmp")
        iso.write(str(tmp))
        iso.close()
        for f in keep:
            f.close()
        os.replace(tmp, target)
        return target


class DemoSource(ImageSource):
    """The demo disc, read at a believable speed, with a scratch and three flaky sectors."""

    def __init__(self, rate: float = 24e6, error_delay: float = 0.01) -> None:
        super().__init__(str(demo_image()))
        self.description = "Demo drive (simulated)"
        n = self.sector_count
        # A scratch across the video file, and a smaller one near the end of the disc.
        self.bad = set(range(n // 2, n // 2 + 40)) | set(range(n - 900, n - 896))
        self.flaky = {n // 3: 2, n // 3 + 1: 1, (2 * n) // 3: 2}
        self.rate = rate
        self.error_delay = error_delay
        self._lock = threading.Lock()

    def read(self, lba: int, count: int) -> bytes:
        with self._lock:
            hit = [s for s in range(lba, lba + count) if s in self.bad or self.flaky.get(s, 0)]
            for s in hit:
                if self.flaky.get(s, 0):
                    self.flaky[s] -= 1
        if hit:
            time.sleep(self.error_delay)
            good = hit[0] - lba
            data = super().read(lba, good) if good else b""
            raise ReadError(lba, count, errno.EIO, data)
        time.sleep(count * SECTOR / self.rate)
        return super().read(lba, count)
