"""Frozen bundle: size on disk, tar.gz size, and start-up time to a shown main window."""

from __future__ import annotations

import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def startup(exe: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [str(exe), "--startup-probe"], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    return float(next(ln.split()[1] for ln in out.splitlines() if ln.startswith("startup ")))


def bench_package(rounds: int = 5) -> dict[str, Any]:
    subprocess.run(["make", "package"], cwd=ROOT, check=True, capture_output=True)
    bundle = ROOT / "dist" / "DiscVault"
    size = sum(p.lstat().st_size for p in bundle.rglob("*") if not p.is_symlink())
    (tarball,) = sorted((ROOT / "dist").glob("DiscVault-*-linux-*.tar.gz"))
    colds = []
    try:  # a real cold start: nothing of the bundle in the page cache (median of three)
        for _ in range(3):
            subprocess.run(["sync"], check=True)
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
            colds.append(startup(bundle / "DiscVault"))
    except OSError:
        pass
    cold = statistics.median(colds) if colds else None
    warm = [startup(bundle / "DiscVault") for _ in range(rounds)]
    return {
        "bytes": size,
        "tar_gz_bytes": tarball.stat().st_size,
        "cold_start": cold,
        "warm_start_median": statistics.median(warm),
        "rounds": rounds,
    }
