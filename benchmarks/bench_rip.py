"""DiscVault rip vs GNU ddrescue on the same loop devices, in the same run.

(a) fault-free 2 GiB loop device: ``discvault rip`` (all four hashes) vs ``ddrescue -b2048 -d``
    alone, and vs ddrescue followed by ``md5sum`` + ``sha1sum`` (what a careful user runs).
(b) 700 MiB faulty source (FUSE + loop) with bad and flaky areas, 20 ms per failed read:
    ``discvault rip`` (default settings) vs ``ddrescue -b2048 -d -r3``.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tests.faultdev import FaultDevice

MiB = 1 << 20


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB, sampled every 20 ms) and exit status of one command."""
    t, peak, code, _ = timed_cpu(cmd, cwd)
    return t, peak, code


def timed_cpu(cmd: list[str], cwd: Path) -> tuple[float, int, int, float]:
    """Wall seconds, peak RSS (KiB, sampled every 20 ms), exit status and CPU seconds (user +
    system, all its threads) of one command.

    Sampled, not ru_maxrss: a forked child's high-water mark includes the parent's pages from
    before exec, which would charge the benchmark's own memory to the tool being measured. The
    sampling runs on its own thread so that the end time is exact, not rounded up to a sample.
    """
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        with contextlib.suppress(psutil.Error):  # the command may be gone already
            ps = psutil.Process(proc.pid)
            while True:
                peak = max(peak, ps.memory_info().rss)
                if done.wait(0.02):
                    return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, peak // 1024, code, cpu


def clean(work: Path) -> None:
    for p in work.glob("out*"):
        p.unlink()


def discvault(dev: str, work: Path) -> list[str]:
    return [sys.executable, "-m", "app", "rip", dev, str(work / "out.iso")]


def make_file(path: Path, size: int, seed: int) -> None:
    rng = random.Random(seed)
    block = rng.randbytes(MiB)
    with open(path, "wb") as f:
        for i in range(size // MiB):
            f.write(block[i % 997 :] + block[: i % 997])  # distinct blocks, cheap to make


def clean_device(work: Path, size: int) -> tuple[Path, str]:
    """The fault-free source both the rip and verify benchmarks read: file + loop device."""
    backing = work / "clean.bin"
    if not backing.exists() or backing.stat().st_size != size:
        make_file(backing, size, 1)
    dev = subprocess.run(
        ["losetup", "-f", "--show", "-r", "--sector-size", "2048", str(backing)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return backing, dev


def machine() -> dict[str, str]:
    """What the figures were measured on: the CPU, and how this Python was built (a build
    without --enable-optimizations runs the interpreter's own code slower)."""
    import platform
    import sysconfig

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": f"{cpu or platform.processor()} ({os.cpu_count()} cores)",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "config_args": str(sysconfig.get_config_var("CONFIG_ARGS") or ""),
    }


def bench_clean(work: Path, size: int = 2048 * MiB, rounds: int = 5) -> dict[str, Any]:
    """Interleaved rounds (DiscVault, then ddrescue, ...) so that a busy moment of the shared
    machine hits both; medians and bests are reported."""
    backing, dev = clean_device(work, size)
    subprocess.run(["cat", str(backing)], stdout=subprocess.DEVNULL, check=True)  # warm cache
    rows: dict[str, list[float]] = {"discvault": [], "ddrescue": [], "ddrescue+md5+sha1": []}
    rss: dict[str, int] = {"discvault": 0, "ddrescue": 0}
    cpu: dict[str, list[float]] = {"discvault": [], "ddrescue": []}
    try:
        for _ in range(rounds):
            clean(work)
            t, m, _, c = timed_cpu(discvault(dev, work), work)
            rows["discvault"].append(t)
            rss["discvault"] = max(rss["discvault"], m)
            cpu["discvault"].append(c)
            clean(work)
            dd = ["ddrescue", "-b2048", "-d", "-q", dev, "out.bin", "out.map"]
            t, m, _, c = timed_cpu(dd, work)
            rows["ddrescue"].append(t)
            rss["ddrescue"] = max(rss["ddrescue"], m)
            cpu["ddrescue"].append(c)
            t2, _, _ = timed(["md5sum", "out.bin"], work)
            t3, _, _ = timed(["sha1sum", "out.bin"], work)
            rows["ddrescue+md5+sha1"].append(t + t2 + t3)
    finally:
        clean(work)
        subprocess.run(["losetup", "-d", dev], check=False)
    return {
        "size": size,
        "best": {k: min(v) for k, v in rows.items()},
        "median": {k: statistics.median(v) for k, v in rows.items()},
        "runs": rows,
        "cpu_seconds": {k: statistics.median(v) for k, v in cpu.items()},
        "rss_kib": rss,
        "rounds": rounds,
        "md5_floor_seconds": size / md5_rate(),
        "machine": machine(),
    }


def md5_rate() -> float:
    """Bytes/s of one core's MD5: no reader can hash the disc faster than this."""
    import hashlib

    data = os.urandom(128 * MiB)
    t0 = time.perf_counter()
    hashlib.md5(data).digest()
    return len(data) / (time.perf_counter() - t0)


def bench_faulty(work: Path, size: int = 700 * MiB) -> dict[str, Any]:
    backing = work / "faulty.bin"
    if not backing.exists() or backing.stat().st_size != size:
        make_file(backing, size, 2)
    sectors = size // 2048
    rng = random.Random(3)
    faults: list[dict[str, Any]] = []
    bad: set[int] = set()
    for _ in range(12):  # scratches: runs of 1..48 bad sectors
        start, n = rng.randrange(1000, sectors - 1000), rng.randrange(1, 48)
        faults.append({"lba": start, "count": n, "kind": "bad"})
        bad.update(range(start, start + n))
    flaky = [rng.randrange(1000, sectors - 1000) for _ in range(8)]
    faults += [{"lba": lba, "kind": "flaky", "fails": 2} for lba in flaky if lba not in bad]
    fdir = work / "fault"
    fdir.mkdir(exist_ok=True)
    dev = FaultDevice(backing, fdir, faults, error_delay=0.02)
    out: dict[str, Any] = {"size": size, "bad_sectors": len(bad), "flaky_sectors": len(flaky)}
    try:
        for name, cmd in (
            ("discvault", discvault(dev.path, work)),
            (
                "ddrescue -r3",
                ["ddrescue", "-b2048", "-d", "-r3", "-q", dev.path, "out.bin", "out.map"],
            ),
        ):
            clean(work)
            dev.control("reset")
            t, m, code = timed(cmd, work)
            st = dev.stats()
            img = "out.iso" if name == "discvault" else "out.bin"
            mp = img + ".map" if name == "discvault" else "out.map"
            listed = subprocess.run(
                ["ddrescuelog", "-b2048", "-l-", str(work / mp)], capture_output=True, text=True
            ).stdout.split()
            unread = {int(x) for x in listed}
            out[name] = {
                "seconds": t,
                "rss_kib": m,
                "exit": code,
                "failed_reads": st["failed"],
                "failed_reads_per_bad_sector": st["failed"] / max(len(bad), 1),
                "recovered_all_recoverable": unread == bad,
            }
            if name == "discvault":
                out[name]["breakdown"] = dv_breakdown(work / "out.iso.report.json", t)
    finally:
        clean(work)
        dev.close()
    return out


# ---- radial scratches ----------------------------------------------------------------------
# Each round is one disc: a 700 MiB CD with four scratch bands from hub to rim (the period grows
# from about 9 to 21 sectors with the radius), each band with its own seed.
RADIAL_ROUNDS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((6_000, 11), (90_000, 12), (200_000, 13), (330_000, 14)),
    ((30_000, 21), (140_000, 22), (250_000, 23), (345_000, 24)),
)
RADIAL_BAND = 1_200  # sectors per band


def radial_faults(
    bands: tuple[tuple[int, int], ...],
) -> tuple[list[dict[str, Any]], set[int], set[int]]:
    from benchmarks.scenarios import radial_scratch

    faults: list[dict[str, Any]] = []
    bad: set[int] = set()
    marginal: set[int] = set()
    for start, seed in bands:
        f, b, m = radial_scratch(start, RADIAL_BAND, seed)
        faults += f
        bad |= b
        marginal |= m
    return faults, bad, marginal


def dv_breakdown(report: Path, wall: float) -> dict[str, float]:
    """Where DiscVault's wall time went: the passes, the closing hash pass and everything
    outside the engine (interpreter start, imports, opening, the report)."""
    import json

    try:
        doc = json.loads(report.read_text())
    except (OSError, ValueError):
        return {}
    passes: dict[str, float] = {}
    for p in doc.get("passes", []):
        passes[p["phase"]] = passes.get(p["phase"], 0.0) + p["seconds"]
    engine = float(doc.get("duration_seconds", 0.0))
    return {
        **{f"pass_{k}": v for k, v in passes.items()},
        "engine_other": engine - sum(passes.values()),  # open, closing hash pass, saves
        "outside_engine": wall - engine,
        "hashes_from_image": float(doc.get("hashes_from") == "image"),
    }


def bench_radial(work: Path, size: int = 700 * MiB) -> dict[str, Any]:
    """Radial scratches, side by side with ``ddrescue -b2048 -d -r3``, 20 ms per failed read.

    The metric: failed reads that touched a permanently bad sector, per permanently bad sector.
    A drive stops a read at its first unreadable sector, so such a read touches exactly one
    dead sector; each dead sector must fail once before it is known and once in each of the
    three retry passes: the floor is 4.0."""
    backing = work / "faulty.bin"
    if not backing.exists() or backing.stat().st_size != size:
        make_file(backing, size, 2)
    rounds: list[dict[str, Any]] = []
    for bands in RADIAL_ROUNDS:
        faults, bad, marginal = radial_faults(bands)
        fdir = work / "fault"
        fdir.mkdir(exist_ok=True)
        dev = FaultDevice(backing, fdir, faults, error_delay=0.02)
        row: dict[str, Any] = {
            "bands": [list(b) for b in bands],
            "bad_sectors": len(bad),
            "marginal_sectors": len(marginal),
            "marginal_fails": sum(f.get("fails", 0) for f in faults if f["kind"] == "flaky"),
        }
        try:
            for name, cmd in (
                ("discvault", discvault(dev.path, work)),
                (
                    "ddrescue -r3",
                    ["ddrescue", "-b2048", "-d", "-r3", "-q", dev.path, "out.bin", "out.map"],
                ),
            ):
                clean(work)
                dev.control("reset")
                t, m, code = timed(cmd, work)
                st = dev.stats()
                mp = "out.iso.map" if name == "discvault" else "out.map"
                listed = subprocess.run(
                    ["ddrescuelog", "-b2048", "-l-", str(work / mp)],
                    capture_output=True,
                    text=True,
                ).stdout.split()
                row[name] = {
                    "seconds": t,
                    "rss_kib": m,
                    "exit": code,
                    "failed_reads": st["failed"],
                    "failed_on_bad": st["failed_on_bad"],
                    "per_bad_sector": st["failed_on_bad"] / max(len(bad), 1),
                    "recovered_all_recoverable": {int(x) for x in listed} == bad,
                }
                if name == "discvault":
                    row[name]["breakdown"] = dv_breakdown(work / "out.iso.report.json", t)
        finally:
            clean(work)
            dev.close()
        rounds.append(row)
    return {"size": size, "band": RADIAL_BAND, "rounds": rounds}


# ---- RESULTS.md ------------------------------------------------------------------------------
def markdown(results: dict[str, Any]) -> list[str]:
    """The rip sections of RESULTS.md."""
    lines: list[str] = []
    clean = results.get("rip_clean")
    if isinstance(clean, dict):
        lines += _clean_md(clean)
    faulty = results.get("rip_faulty")
    if isinstance(faulty, dict):
        lines += _faulty_md(faulty)
    radial = results.get("rip_radial")
    if isinstance(radial, dict):
        lines += _radial_md(radial)
    return lines


def _clean_md(c: dict[str, Any]) -> list[str]:
    b, med = c["best"], c.get("median", c["best"])
    mach = c.get("machine", {})
    rss = c["rss_kib"]
    dv, dd = "discvault", "ddrescue"
    return [
        f"## Rip, fault-free {c['size'] >> 20} MiB loop device ({c['rounds']} interleaved rounds)",
        "",
        f"Machine: {mach.get('cpu', '?')}; {mach.get('python', '?')}, built with "
        f"`{mach.get('config_args', '?')}`.",
        "",
        "| tool | best s | median s | peak RSS |",
        "|---|---|---|---|",
        f"| discvault rip (CRC32+MD5+SHA-1+SHA-256) | {b[dv]:.2f} | {med[dv]:.2f} | "
        f"{rss[dv] / 1024:.0f} MiB |",
        f"| ddrescue -b2048 -d | {b[dd]:.2f} | {med[dd]:.2f} | {rss[dd] / 1024:.0f} MiB |",
        f"| ddrescue + md5sum + sha1sum | {b['ddrescue+md5+sha1']:.2f} | "
        f"{med['ddrescue+md5+sha1']:.2f} | |",
        "",
        f"- ratio vs ddrescue alone: best **{b[dv] / b[dd]:.2f}x**, median "
        f"**{med[dv] / med[dd]:.2f}x** (target ≤ 0.7x)",
        f"- ratio vs ddrescue + md5sum + sha1sum: {b[dv] / b['ddrescue+md5+sha1']:.2f}x",
        *_cpu_md(c),
        f"- floor: MD5 alone over this size takes {c['md5_floor_seconds']:.2f} s on one core "
        f"(= {c['md5_floor_seconds'] / b[dd]:.2f}x ddrescue's best): MD5 is serial, so no "
        "reader that computes it can be faster. The digests run on two threads (MD5 alone; "
        "SHA-1, SHA-256 and CRC32 together), the image is written by a third while the next "
        "chunk is read, and written pages are pushed to the disk as they go: the closing "
        "`fdatasync` that makes the mapfile true has little left to wait for. ddrescue never "
        "syncs: its time does not include writing the image to the disk.",
        "",
    ]


def _cpu_md(c: dict[str, Any]) -> list[str]:
    cpu = c.get("cpu_seconds")
    if not cpu:
        return []
    return [
        f"- CPU time (user + system, median): DiscVault {cpu['discvault']:.2f} s, ddrescue "
        f"{cpu['ddrescue']:.2f} s (plus, for both, the loop device's kernel thread). On two "
        f"cores DiscVault cannot finish in less than half its CPU time, "
        f"{cpu['discvault'] / 2:.2f} s = **{cpu['discvault'] / 2 / c['median']['ddrescue']:.2f}x** "
        "ddrescue's median: the rip is CPU-bound, and four digests over every byte are most "
        "of that CPU.",
    ]


def _faulty_md(f: dict[str, Any]) -> list[str]:
    d, r = f["discvault"], f["ddrescue -r3"]
    lines = [
        f"## Rip, large bad areas: {f['size'] >> 20} MiB source (FUSE + loop), "
        f"{f['bad_sectors']} bad + {f['flaky_sectors']} flaky sectors, 20 ms per failed read",
        "",
        "| tool | seconds | failed reads | failed reads / bad sector | all recoverable "
        "recovered | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in (("discvault rip", d), ("ddrescue -b2048 -d -r3", r)):
        lines.append(
            f"| {name} | {row['seconds']:.2f} | {row['failed_reads']} | "
            f"{row['failed_reads_per_bad_sector']:.2f} | {row['recovered_all_recoverable']} | "
            f"{row['rss_kib'] / 1024:.0f} MiB |"
        )
    return [
        *lines,
        "",
        f"- time ratio: **{d['seconds'] / r['seconds']:.2f}x** (target ≤ 0.6x)",
        f"- failed reads ratio: {d['failed_reads'] / max(r['failed_reads'], 1):.2f}x",
        *_breakdown_md(d.get("breakdown", {}), ""),
        "",
    ]


def _breakdown_md(bd: dict[str, float], what: str) -> list[str]:
    if not bd:
        return []
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in bd.items() if k != "hashes_from_image")
    return [f"- where DiscVault's time went{what}: {parts}"]


def _radial_md(rad: dict[str, Any]) -> list[str]:
    lines = [
        f"## Rip, radial scratches: {rad['size'] >> 20} MiB CD (FUSE + loop), 20 ms per "
        "failed read",
        "",
        f"Each round is one disc with four scratch bands of {rad['band']} sectors from hub to "
        "rim (`benchmarks/scenarios.py`: 1-2 unreadable sectors per revolution, the period "
        "growing from 9 to 21 sectors with the square root of the LBA, a third of them "
        "marginal: they read after 1-3 more tries), side by side with "
        "`ddrescue -b2048 -d -r3` in the same run.",
        "",
        "**The metric**: failed reads that touched a permanently bad (dead) sector, per dead "
        "sector. A drive stops a read at its first unreadable sector (so does "
        "`tests/faultfs.py`), so each such read touches exactly one dead sector. Each dead "
        "sector must fail once before anyone knows it is bad, and once in each of the three "
        "retry passes both tools make (`-r3`, `--retries 3`): **the floor is 4.0**. Failed "
        "reads on marginal sectors are not in it: a marginal sector that fails k times costs "
        "k failed reads to any tool that recovers it.",
        "",
        "| round: dead + marginal sectors | tool | seconds | failed reads | on dead sectors "
        "| per dead sector | all recoverable recovered |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios, floors = [], []
    for i, row in enumerate(rad["rounds"], 1):
        d, r = row["discvault"], row["ddrescue -r3"]
        for name, x in (("discvault rip", d), ("ddrescue -r3", r)):
            lines.append(
                f"| {i}: {row['bad_sectors']} + {row['marginal_sectors']} | {name} | "
                f"{x['seconds']:.2f} | {x['failed_reads']} | {x['failed_on_bad']} | "
                f"{x['per_bad_sector']:.2f} | {x['recovered_all_recoverable']} |"
            )
        ratios.append(d["seconds"] / r["seconds"])
        floor = (4 * row["bad_sectors"] + row.get("marginal_fails", 0)) * 0.02
        floors.append(floor / r["seconds"])
    lines += [
        "",
        "- time ratio per round: "
        + ", ".join(f"**{x:.2f}x**" for x in ratios)
        + " (target ≤ 0.85x); per dead sector: target ≤ 4.2",
        "- what the target meets: a tool at the floor, with every failed read costing its "
        "20 ms and nothing else costing anything, would take "
        + ", ".join(f"{x:.2f}x" for x in floors)
        + " of ddrescue's time in these rounds ((4 x dead + the marginal sectors' failures) x "
        "20 ms)"
        + (
            ": with ddrescue at about 4.3 failed reads per dead sector, 0.85x is below what "
            "three retries of every dead sector allow on this device."
            if min(floors) > 0.85
            else "."
        ),
    ]
    for i, row in enumerate(rad["rounds"], 1):
        lines += _breakdown_md(row["discvault"].get("breakdown", {}), f", round {i}")
    return [*lines, ""]
