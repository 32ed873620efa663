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
    """Wall seconds, peak RSS (KiB, sampled every 20 ms) and exit status of one command.

    Sampled, not ru_maxrss: a forked child's high-water mark includes the parent's pages from
    before exec, which would charge the benchmark's own memory to the tool being measured. The
    sampling runs on its own thread so that the end time is exact, not rounded up to a sample.
    """
    peak = 0
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
    return elapsed, peak // 1024, code


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


def bench_clean(work: Path, size: int = 2048 * MiB, rounds: int = 3) -> dict[str, Any]:
    backing, dev = clean_device(work, size)
    subprocess.run(["cat", str(backing)], stdout=subprocess.DEVNULL, check=True)  # warm cache
    rows: dict[str, list[float]] = {"discvault": [], "ddrescue": [], "ddrescue+md5+sha1": []}
    rss: dict[str, int] = {}
    try:
        for _ in range(rounds):
            clean(work)
            t, m, _ = timed(discvault(dev, work), work)
            rows["discvault"].append(t)
            rss["discvault"] = m
            clean(work)
            t, m, _ = timed(["ddrescue", "-b2048", "-d", "-q", dev, "out.bin", "out.map"], work)
            rows["ddrescue"].append(t)
            rss["ddrescue"] = m
            t2, _, _ = timed(["md5sum", "out.bin"], work)
            t3, _, _ = timed(["sha1sum", "out.bin"], work)
            rows["ddrescue+md5+sha1"].append(t + t2 + t3)
    finally:
        clean(work)
        subprocess.run(["losetup", "-d", dev], check=False)
    best = {k: min(v) for k, v in rows.items()}
    return {
        "size": size,
        "best": best,
        "rss_kib": rss,
        "rounds": rounds,
        "md5_floor_seconds": size / md5_rate(),
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
    finally:
        clean(work)
        dev.close()
    return out
