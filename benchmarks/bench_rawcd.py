"""A clean raw rip against a 52x drive: READ CD sectors served from memory, every data sector
checked by its EDC/ECC, written to per-track .bin files, all four hashes per file.

A 52x drive delivers 52 x 75 = 3 900 sectors/s = 9.17 MB/s of 2352-byte sectors. The rip must
keep up with it (wall time per second of 52x data < 1) on less than one core (CPU seconds, all
threads, per second of 52x data < 1). The "drive" is a ``RawTransport`` over an in-memory disc
(a Mode 1 track and audio tracks), so the engine, the proofs, the BIN/CUE output and the hashing
are measured, not a device. ``python -m benchmarks.bench_rawcd`` runs it alone; ``make bench``
runs it as "rawcd".
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

from app.core.disc import cdsector as cd
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.rawsource import RawCdSource
from app.core.disc.sources import ReadError
from app.core.rescue.engine import Engine
from app.core.rescue.types import RescueSettings
from benchmarks.bench_dat import machine

DRIVE_52X = 52 * 75
RAW = cd.RAW


class MemoryDisc:
    """The drive's side: raw sectors in memory, READ CD over them (no C2 errors)."""

    max_sectors = 46  # what one USB command carries with C2 data
    c2 = True

    def __init__(self, raw: bytes, layout: DiscLayout) -> None:
        self.raw = raw
        self.layout = layout
        self.sector_size = 2048
        self.sector_count = len(raw) // RAW
        self.description = "memory disc"
        self.medium = "CD"
        self.protection = ""
        self.is_drive = True
        self.notes: list[str] = []

    def read_cd(self, lba: int, count: int, expected: int, c2: bool) -> tuple[bytes, bytes]:
        data = self.raw[lba * RAW : (lba + count) * RAW]
        if len(data) < count * RAW:
            raise ReadError(lba, count, 5)
        return data, bytes(294 * count) if c2 else b""

    # the cooked side the raw source leans on
    def read_layout(self) -> DiscLayout:
        return self.layout

    def read(self, lba: int, count: int) -> bytes:
        raise ReadError(lba, count, 5)

    def current_sector_count(self) -> int:
        return self.sector_count

    def prepare_retry(self, lba: int) -> None:
        pass

    def set_phase(self, phase: str) -> None:
        pass

    def close(self) -> None:
        pass


def disc(data_sectors: int, audio_sectors: int) -> tuple[bytes, DiscLayout]:
    rng = random.Random(16)
    data = cd.encode(rng.randbytes(cd.USER * data_sectors), 0)
    audio = rng.randbytes(RAW * audio_sectors)
    half = audio_sectors // 2
    t1 = Track(1, 1, 0, data_sectors, TrackKind.MODE1)
    t2 = Track(2, 1, data_sectors, half, TrackKind.AUDIO)
    t3 = Track(3, 1, data_sectors + half, audio_sectors - half, TrackKind.AUDIO)
    end = data_sectors + audio_sectors
    return data + audio, DiscLayout((Session(1, (t1, t2, t3), end),), "toc", "CD")


def bench_rawcd(
    work: Path, data_sectors: int = 40_000, audio_sectors: int = 10_000
) -> dict[str, Any]:
    raw, layout = disc(data_sectors, audio_sectors)
    out = work / "rawcd"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    drive = MemoryDisc(raw, layout)
    src = RawCdSource(drive, drive, layout, 0)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter(), time.process_time()
    result = Engine(
        src, str(out / "Bench.cue"), settings=RescueSettings(save_interval=5.0), fmt="bincue"
    ).run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(raw) // RAW
    assert result.damaged_sectors == 0 and result.hashes_from == "stream"
    assert all(f.hashes for f in result.files)
    got = b"".join((out / f.part.name).read_bytes() for f in result.files)
    assert got == raw, "the .bin files differ from the disc"
    seconds_of_52x = n / DRIVE_52X
    shutil.rmtree(out, ignore_errors=True)
    return {
        "sectors": n,
        "data_sectors": data_sectors,
        "audio_sectors": audio_sectors,
        "seconds": wall,
        "cpu_seconds": cpu,
        "raw_mb_per_s": n * RAW / wall / 1e6,
        "x_factor": n / wall / 75,
        "wall_per_52x_second": wall / seconds_of_52x,
        "cpu_per_52x_second": cpu / seconds_of_52x,
        "cores_used": cpu / wall,
        **machine(),
    }


def markdown(d: dict[str, Any]) -> list[str]:
    return [
        "## Raw CD rip to BIN/CUE from memory (EDC/ECC checks, .bin per track, 4 hashes)",
        "",
        f"{d['cpu']}, {d['cores']} cores, Python {d['python']}. {d['sectors']:,} sectors "
        f"({d['data_sectors']:,} Mode 1, {d['audio_sectors']:,} audio); a 52x drive delivers "
        f"{DRIVE_52X:,} sectors/s (9.17 MB/s raw).",
        "",
        "| wall s | CPU s (all threads) | raw MB/s | x-factor | wall s per 52x second | "
        "CPU s per 52x second | cores used |",
        "|---|---|---|---|---|---|---|",
        f"| {d['seconds']:.2f} | {d['cpu_seconds']:.2f} | {d['raw_mb_per_s']:.1f} | "
        f"{d['x_factor']:.0f}x | **{d['wall_per_52x_second']:.2f}** | "
        f"**{d['cpu_per_52x_second']:.2f}** | {d['cores_used']:.2f} |",
        "",
        "- target: keep up with 52x (wall < 1 s per second of 52x data) on less than one core "
        "(CPU < 1 s per second of 52x data)",
        "",
    ]


if __name__ == "__main__":
    here = Path(__file__).resolve().parent / "work"
    here.mkdir(exist_ok=True)
    res = bench_rawcd(here)
    print(json.dumps(res, indent=2))
    print("\n".join(markdown(res)))
