"""Checking raw CD sectors (sync, address, mode, EDC, ECC P and Q) against a 52x drive.

A 52x drive delivers 52 * 75 = 3 900 sectors/s: 9.17 MB/s of raw 2352-byte sectors (7.8 MiB/s of
user data). A clean raw rip must check them as they come on less than one core. The image is
built in memory first (the drive's side), then checked in batches as a rip would hand them over;
CPU time is the process's own.

``python -m benchmarks.bench_cdsector`` runs it alone; ``make bench`` runs it as "cdsector".
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from app.core.disc import cdsector as cd
from benchmarks.bench_dat import machine

DRIVE_52X = 52 * 75  # sectors per second


def image(sectors: int, mixed: bool) -> bytes:
    """Raw sectors from LBA 0: Mode 1, or Mode 2 alternating runs of Form 1 and Form 2."""
    rng = random.Random(52)
    if not mixed:
        return cd.encode(rng.randbytes(cd.USER * sectors), 0)
    parts, lba = [], 0
    while lba < sectors:
        n = min(64, sectors - lba)
        form2 = (lba // 64) % 2 == 1
        mode = cd.SectorMode.MODE2_FORM2 if form2 else cd.SectorMode.MODE2_FORM1
        size = cd.FORM2_USER if form2 else cd.USER
        parts.append(cd.encode(rng.randbytes(size * n), lba, mode))
        lba += n
    return b"".join(parts)


def run(raw: bytes, batch: int) -> dict[str, float]:
    n = len(raw) // cd.RAW
    view = memoryview(raw)
    wall, cpu = time.perf_counter(), time.process_time()
    bad = 0
    for first in range(0, n, batch):
        chunk = view[first * cd.RAW : min(n, first + batch) * cd.RAW]
        bad += sum(not v.good for v in cd.check(chunk, first))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert bad == 0, f"{bad} clean sectors failed their check"
    return {
        "batch": batch,
        "sectors": n,
        "seconds": wall,
        "cpu_seconds": cpu,
        "sectors_per_s": n / cpu,
        "raw_mb_per_s": n * cd.RAW / cpu / 1e6,
        "cpu_per_52x_second": cpu / (n / DRIVE_52X),
    }


def bench_cdsector(sectors: int = 20_000) -> dict[str, Any]:
    mode1 = image(sectors, mixed=False)
    rows = [dict(run(mode1, b), kind="mode1") for b in (64, 256, 1024, 4096)]
    rows.append(dict(run(image(sectors, mixed=True), 1024), kind="mode2 form1+form2"))
    one = mode1[: 200 * cd.RAW]
    t = time.process_time()
    for i in range(200):
        cd.check_sector(one[i * cd.RAW : (i + 1) * cd.RAW], i)
    single = 200 / (time.process_time() - t)
    return {"rows": rows, "single_sector_per_s": single, **machine()}


def markdown(d: dict[str, Any]) -> list[str]:
    lines = [
        "## Raw CD sector checks (sync, address, mode, EDC, ECC P+Q), one core",
        "",
        f"{d['cpu']}, {d['cores']} cores, Python {d['python']}. A 52x drive delivers "
        f"{DRIVE_52X:,} sectors/s (9.17 MB/s raw, 7.8 MiB/s of user data).",
        "",
        "| sectors | batch | sectors/s (CPU) | raw MB/s | CPU s per second of 52x data |",
        "|---|---|---|---|---|",
    ]
    for r in d["rows"]:
        lines.append(
            f"| {r['kind']} | {r['batch']} | {r['sectors_per_s']:,.0f} | "
            f"{r['raw_mb_per_s']:.1f} | **{r['cpu_per_52x_second']:.2f}** |"
        )
    lines += [
        "",
        f"- one sector at a time (`check_sector`): {d['single_sector_per_s']:,.0f} sectors/s "
        "(re-reads only; a rip checks batches)",
        "- target: < 1 CPU second per second of 52x data",
        "",
    ]
    return lines


if __name__ == "__main__":
    result = bench_cdsector()
    print(json.dumps(result, indent=2))
    print("\n".join(markdown(result)))
