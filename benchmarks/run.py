"""``make bench``: run the benchmarks and rewrite benchmarks/RESULTS.md with ratios."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_build,
    bench_gui,
    bench_inspect,
    bench_package,
    bench_rip,
    bench_verify,
)

HERE = Path(__file__).resolve().parent


def main() -> int:
    if os.geteuid() != 0:
        print("make bench needs root (loop devices, FUSE)", file=sys.stderr)
        return 2
    work = HERE / "work"
    work.mkdir(exist_ok=True)
    which = sys.argv[1:] or ["rip", "verify", "inspect", "build", "package", "gui"]
    results: dict[str, object] = {}
    if "rip" in which:
        results["rip_clean"] = bench_rip.bench_clean(work)
        results["rip_faulty"] = bench_rip.bench_faulty(work)
    if "verify" in which:
        results["verify"] = bench_verify.bench_verify(work)
        results["dat"] = bench_verify.bench_dat(work)
    if "inspect" in which:
        results["inspect"] = bench_inspect.bench_inspect(work)
    if "build" in which:
        results["build"] = bench_build.bench_build(work)
    if "package" in which:
        results["package"] = bench_package.bench_package()
    if "gui" in which:
        results["gui"] = bench_gui.bench_gui(work, bench_inspect.make_image(work, 100_000))
    old = HERE / "results.json"
    if old.exists() and len(which) < 6:  # a partial run keeps the other sections
        results = {**json.loads(old.read_text()), **results}
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results)
    print((HERE / "RESULTS.md").read_text())
    return 0


def write_markdown(results: dict[str, object]) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, by `make bench` (raw numbers: `results.json`).",
        "Each ratio is DiscVault's wall time over the peer's, same input, same run; < 1 is faster.",
        "",
    ]
    clean = results.get("rip_clean")
    if isinstance(clean, dict):
        b = clean["best"]
        lines += [
            f"## Rip, fault-free {clean['size'] >> 20} MiB loop device (best of {clean['rounds']})",
            "",
            "| tool | seconds | peak RSS |",
            "|---|---|---|",
            f"| discvault rip (CRC32+MD5+SHA-1+SHA-256) | {b['discvault']:.2f} | "
            f"{clean['rss_kib']['discvault'] / 1024:.0f} MiB |",
            f"| ddrescue -b2048 -d | {b['ddrescue']:.2f} | "
            f"{clean['rss_kib']['ddrescue'] / 1024:.0f} MiB |",
            f"| ddrescue + md5sum + sha1sum | {b['ddrescue+md5+sha1']:.2f} | |",
            "",
            f"- ratio vs ddrescue alone: **{b['discvault'] / b['ddrescue']:.2f}x** "
            "(target ≤ 0.45x)",
            f"- ratio vs ddrescue + md5sum + sha1sum: "
            f"**{b['discvault'] / b['ddrescue+md5+sha1']:.2f}x**",
            f"- floor: MD5 alone over this size takes {clean['md5_floor_seconds']:.2f} s on one "
            f"core = **{clean['md5_floor_seconds'] / b['ddrescue']:.2f}x** ddrescue's time. "
            "MD5 is inherently serial, so the 0.45x target is below what any reader that "
            "computes MD5 can reach on this machine; the rip is CPU-bound (two cores share "
            "MD5, SHA-1, SHA-256, CRC32, the reads and the writes).",
            "",
        ]
    faulty = results.get("rip_faulty")
    if isinstance(faulty, dict):
        d, r = faulty["discvault"], faulty["ddrescue -r3"]
        lines += [
            f"## Rip, faulty {faulty['size'] >> 20} MiB source (FUSE + loop), "
            f"{faulty['bad_sectors']} bad + {faulty['flaky_sectors']} flaky sectors, "
            "20 ms per failed read",
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
        lines += [
            "",
            f"- time ratio: **{d['seconds'] / r['seconds']:.2f}x** (target ≤ 0.7x)",
            f"- failed reads ratio: **{d['failed_reads'] / max(r['failed_reads'], 1):.2f}x** "
            "(target ≤ 1x)",
            "",
        ]
    ver = results.get("verify")
    if isinstance(ver, dict):
        b = ver["best"]
        lines += [
            f"## Verify, fault-free {ver['size'] >> 20} MiB image vs its loop device "
            f"(best of {ver['rounds']}, page cache dropped before each command)",
            "",
            "| tool | seconds |",
            "|---|---|",
            f"| discvault verify --against (compare + CRC32/MD5/SHA-1/SHA-256) | "
            f"{b['discvault']:.2f} |",
            f"| cmp + sha1sum | {b['cmp+sha1sum']:.2f} |",
            "",
            f"- ratio: **{b['discvault'] / b['cmp+sha1sum']:.2f}x** (target ≤ 0.6x)",
            f"- for reference, hashing the image alone (`hash_file`, all four digests) took "
            f"{ver['hash_only_seconds']:.2f} s: verify overlaps the device read and the "
            "comparison with the hashing",
            "",
        ]
    d = results.get("dat")
    if isinstance(d, dict):
        lines += [f"## DAT load: {d['entries']} entries in **{d['seconds']:.2f} s**", ""]
    ins = results.get("inspect")
    if isinstance(ins, dict) and "shapes" in ins:
        lines += listing_markdown(ins)
    bld = results.get("build")
    if isinstance(bld, dict):
        b = bld["best"]
        lines += [
            f"## Build from a {bld['bytes'] >> 20} MiB / {bld['files']:,}-file tree "
            f"(best of {bld['rounds']})",
            "",
            "| tool | seconds | peak RSS |",
            "|---|---|---|",
        ]
        lines += [f"| {n} | {t:.2f} | {bld['rss_kib'][n] / 1024:.0f} MiB |" for n, t in b.items()]
        ratio = b["discvault build"] / b["xorriso -as mkisofs -R -J"]
        lines += ["", f"- ratio: **{ratio:.2f}x** (target ≤ 2x)", ""]
    pkg = results.get("package")
    if isinstance(pkg, dict):
        cold = pkg["cold_start"]
        lines += [
            "## Frozen Linux bundle (PyInstaller onedir)",
            "",
            f"- on disk: **{pkg['bytes'] / 1e6:.0f} MB** (target ≤ 120 MB); tar.gz: "
            f"**{pkg['tar_gz_bytes'] / 1e6:.1f} MB** (target ≤ 50 MB)",
            f"- start to a shown main window (offscreen): cold (page cache dropped, median of 3) "
            f"**{cold:.2f} s**, warm median **{pkg['warm_start_median']:.2f} s** "
            "(target ≤ 1.5 s cold)"
            if cold is not None
            else f"- start to a shown main window: warm median {pkg['warm_start_median']:.2f} s",
            "",
        ]
    gui = results.get("gui")
    if isinstance(gui, dict):
        lines += [
            "## GUI responsiveness (offscreen, 10 ms heartbeat timer)",
            "",
            f"Median of {gui.get('runs', 1)} fresh app processes (worst run in brackets):",
            "",
            f"- longest event-loop stall during a demo-drive backup: "
            f"**{gui['backup_max_gap_ms']:.0f} ms** "
            f"({gui.get('worst_backup_max_gap_ms', gui['backup_max_gap_ms']):.0f} ms) "
            "(target ≤ 50 ms)",
            f"- opening the 100 000-file image: first rows after **{gui['first_view_ms']:.0f} ms** "
            f"(target ≤ 500 ms); full index in the background in {gui['index_seconds']:.1f} s; "
            f"longest stall meanwhile **{gui['open_max_gap_ms']:.0f} ms** "
            f"({gui.get('worst_open_max_gap_ms', gui['open_max_gap_ms']):.0f} ms) (target ≤ 50 ms)",
            "",
        ]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


def listing_markdown(ins: dict[str, Any]) -> list[str]:
    """The listing section: one table per image shape, the machine next to the figures."""
    m = ins["machine"]
    lines = [
        f"## Listing {ins['files']:,}-file Joliet + Rock Ridge images",
        "",
        f"Measured on **{m['cpu']}**, Python {m['python']} built with `{m['config_args']}` "
        "(sysconfig CONFIG_ARGS), stdout to /dev/null. Rounds are interleaved; a ratio is the "
        "median over rounds of DiscVault's time over the peer's in the same round (< 1: "
        "DiscVault is faster). Target: `inspect --files` no slower than `7z l` on every shape, "
        "the in-process walk ≤ 0.3 s.",
        "",
    ]
    me = "discvault inspect --files"
    for shape in ins["shapes"]:
        med, ratio, rss = shape["median"], shape["ratio"], shape["rss_kib"]
        lines += [
            f"### {shape['maker']}, {shape['per_dir']} files per folder "
            f"({shape['entries']:,} entries, {shape['rounds']} rounds; {m['cpu']}, "
            f"Python {m['python']})",
            "",
            "| tool | median s | `inspect --files` / tool | peak RSS |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {t:.3f} | {'' if name == me else f'**{ratio[name]:.2f}x**'} | "
            f"{rss[name] / 1024:.0f} MiB |"
            for name, t in med.items()
        ]
        lines += ["", "| in-process, fresh interpreter | median s |", "|---|---|"]
        lines += [f"| {name} | {t:.3f} |" for name, t in shape["walk_median"].items()]
        lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
