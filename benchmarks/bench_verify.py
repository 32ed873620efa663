"""Verify vs `cmp` + `sha1sum` on the same image/device pair (page cache dropped before each
command, so every tool reads from disk); DAT load time."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.core.base.hashing import hash_file
from app.core.verify import dat
from benchmarks.bench_rip import MiB, clean_device, timed


def cold() -> None:
    """Same start for every tool: nothing of the image or the device in the page cache."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def bench_verify(work: Path, size: int = 2048 * MiB, rounds: int = 3) -> dict[str, Any]:
    backing, dev = clean_device(work, size)
    image = work / "verify.iso"
    subprocess.run(["cp", "--reflink=auto", str(backing), str(image)], check=True)
    rows: dict[str, list[float]] = {"discvault": [], "cmp+sha1sum": []}
    try:
        for _ in range(rounds):
            t, _, code = timed(
                [sys.executable, "-m", "app", "verify", str(image), "--against", dev], work
            )
            assert code == 0, code
            rows["discvault"].append(t)
            cold()
            t1, _, _ = timed(["cmp", str(image), dev], work)
            cold()
            t2, _, _ = timed(["sha1sum", str(image)], work)
            rows["cmp+sha1sum"].append(t1 + t2)
        cold()
        t0 = time.perf_counter()
        hash_file(str(image))  # the floor: the four digests over the image, nothing else
        hash_only = time.perf_counter() - t0
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
        image.unlink()
    return {
        "size": size,
        "rounds": rounds,
        "best": {k: min(v) for k, v in rows.items()},
        "hash_only_seconds": hash_only,
    }


def bench_dat(work: Path, entries: int = 50_000) -> dict[str, Any]:
    rng = random.Random(5)
    path = work / "big.dat"
    games = "".join(
        f'<game name="Game {i}"><description>Game {i}</description><rom name="g{i}.iso" '
        f'size="{rng.randrange(1 << 32)}" crc="{rng.getrandbits(32):08x}" '
        f'md5="{rng.getrandbits(128):032x}" sha1="{rng.getrandbits(160):040x}"/></game>\n'
        for i in range(entries)
    )
    path.write_text(f'<?xml version="1.0"?>\n<datafile>\n{games}</datafile>\n')
    t0 = time.perf_counter()
    loaded = dat.load(str(path))
    seconds = time.perf_counter() - t0
    path.unlink()
    return {"entries": loaded.rom_count, "seconds": seconds}
