"""Building an image from a 2 GiB / 20 000-file tree: DiscVault vs `xorriso -as mkisofs -R -J`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.bench_rip import MiB, timed


def make_tree(work: Path, files: int, total: int) -> Path:
    tree = work / f"tree_{files}"
    if tree.exists():
        return tree
    per = total // files
    block = bytes(range(256)) * (per // 256 + 1)
    for i in range(files):
        d = tree / f"album_{i // 200:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"photo_{i:05d}.jpg").write_bytes(block[i % 256 : i % 256 + per])
    return tree


def bench_build(
    work: Path, files: int = 20_000, total: int = 2048 * MiB, rounds: int = 2
) -> dict[str, Any]:
    tree = make_tree(work, files, total)
    out = work / "built.iso"
    cmds = {
        "discvault build": [sys.executable, "-m", "app", "build", str(tree), str(out), "--force"],
        "xorriso -as mkisofs -R -J": [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-o",
            str(out),
            str(tree),
        ],
    }
    best: dict[str, float] = {}
    rss: dict[str, int] = {}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            out.unlink(missing_ok=True)
            t, m, code = timed(cmd, work)
            assert code == 0, (name, code)
            best[name] = min(best.get(name, t), t)
            rss[name] = m
    out.unlink(missing_ok=True)
    return {"files": files, "bytes": total, "best": best, "rss_kib": rss, "rounds": rounds}
