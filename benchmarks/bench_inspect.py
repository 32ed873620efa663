"""Listing a 100 000-file Joliet + Rock Ridge image: DiscVault vs `7z l` and `xorriso -find`."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.core.fs.inspection import open_image
from benchmarks.bench_rip import timed


def make_image(work: Path, files: int) -> Path:
    iso = work / f"many_{files}.iso"
    if iso.exists():
        return iso
    tree = work / f"many_{files}"
    if not tree.exists():
        for d in range(files // 100):
            sub = tree / f"dir_{d:04d}"
            sub.mkdir(parents=True)
            for f in range(100):
                (sub / f"file_with_a_longer_name_{f:03d}.txt").write_bytes(b"x" * (f % 7))
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-joliet-long", "-o", str(iso), str(tree)], check=True
    )
    return iso


def bench_inspect(work: Path, files: int = 100_000, rounds: int = 7) -> dict[str, Any]:
    iso = make_image(work, files)
    cmds = {
        "discvault inspect --files": [sys.executable, "-m", "app", "inspect", str(iso), "--files"],
        "7z l": ["7z", "l", str(iso)],
        "xorriso -find": ["xorriso", "-indev", str(iso), "-find", "/"],
    }
    # Interleaved rounds: this shared VM's speed drifts, and it should drift for every tool.
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd, work)[0])
    best = {name: min(t) for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in times.items()}
    t0 = time.perf_counter()
    i = open_image(str(iso))
    first = i.children(i.root)
    first_view = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for _ in i.walk())
    walk = time.perf_counter() - t0
    i.close()
    return {
        "files": files,
        "entries": n,
        "best": best,
        "median": median,
        "first_view_seconds": first_view,
        "root_entries": len(first),
        "walk_seconds": walk,
        "rounds": rounds,
    }
