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
    bench_auto,
    bench_build,
    bench_cdsector,
    bench_dat,
    bench_drivemodel,
    bench_gui,
    bench_inspect,
    bench_library,
    bench_package,
    bench_rawcd,
    bench_rip,
    bench_shelf_gui,
    bench_verify,
)

HERE = Path(__file__).resolve().parent


def main() -> int:
    if os.geteuid() != 0:
        print("make bench needs root (loop devices, FUSE)", file=sys.stderr)
        return 2
    work = HERE / "work"
    work.mkdir(exist_ok=True)
    every = [
        *("rip", "verify", "dat", "cdsector", "rawcd", "inspect", "build", "package", "gui"),
        *("library", "auto", "shelf-gui"),
    ]
    which = sys.argv[1:] or every
    results: dict[str, object] = {}
    if "rip" in which or "rip-clean" in which:
        results["rip_clean"] = bench_rip.bench_clean(work)
    if "rip" in which or "rip-faulty" in which:
        results["rip_faulty"] = bench_rip.bench_faulty(work)
    if "rip" in which or "rip-radial" in which:
        results["rip_radial"] = bench_rip.bench_radial(work)
    if "rip" in which or "drive-model" in which:
        results["drive_model"] = bench_drivemodel.bench_drive_model(work)
    if "verify" in which:
        results["verify"] = bench_verify.bench_verify(work)
        results["dat"] = bench_verify.bench_dat(work)
    if "dat" in which:
        results["dat_stream"] = bench_dat.bench_dat(work)
    if "cdsector" in which:
        results["cdsector"] = bench_cdsector.bench_cdsector()
    if "rawcd" in which:
        results["rawcd"] = bench_rawcd.bench_rawcd(work)
    if "inspect" in which:
        results["inspect"] = bench_inspect.bench_inspect(work)
    if "build" in which:
        results["build"] = bench_build.bench_build(work)
    if "package" in which:
        results["package"] = bench_package.bench_package()
    if "library" in which:
        results["library"] = bench_library.bench_library(work)
    if "auto" in which:
        results["auto"] = bench_auto.bench_auto(work)
    if "shelf-gui" in which:
        results["shelf_gui"] = bench_shelf_gui.bench_shelf_gui(work)
    if "gui" in which:
        results["gui"] = bench_gui.bench_gui(work, bench_inspect.make_image(work, 100_000))
    old = HERE / "results.json"
    if old.exists() and not set(every) <= set(which):  # a partial run keeps the other sections
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
    lines += bench_rip.markdown(results)
    dm = results.get("drive_model")
    if isinstance(dm, dict):
        lines += bench_drivemodel.markdown(dm)
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
    ds = results.get("dat_stream")
    if isinstance(ds, dict):
        lines += bench_dat.markdown(ds)
    cds = results.get("cdsector")
    if isinstance(cds, dict):
        lines += bench_cdsector.markdown(cds)
    raw = results.get("rawcd")
    if isinstance(raw, dict):
        lines += bench_rawcd.markdown(raw)
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
    lib = results.get("library")
    if isinstance(lib, dict):
        lines += bench_library.markdown(lib)
    auto = results.get("auto")
    if isinstance(auto, dict):
        lines += bench_auto.markdown(auto)
    shelf_gui = results.get("shelf_gui")
    if isinstance(shelf_gui, dict):
        lines += bench_shelf_gui.markdown(shelf_gui)
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


def listing_markdown(ins: dict[str, Any]) -> list[str]:
    """The listing section: one table per image shape, the machine next to the figures."""
    m = ins["machine"]
    lines = [
        f"## Listing {ins['files']:,}-file Joliet + Rock Ridge images",
        "",
        f"Measured on **{m['cpu']}**, Python {m['python']} ({m.get('build', '')}) built with "
        f"`{m['config_args']}` "
        "(sysconfig CONFIG_ARGS), stdout to /dev/null. Rounds are interleaved; a ratio is the "
        "median over rounds of DiscVault's time over the peer's in the same round (< 1: "
        "DiscVault is faster). Target: `inspect --files` no slower than `7z l` on every shape, "
        "the in-process walk ≤ 0.3 s.",
        "",
    ]
    me = "discvault inspect --files"
    shapes = ins["shapes"]
    ratios = [s["ratio"]["7z l"] for s in shapes]
    walks = [s["walk_median"].get(bench_inspect.ROWS_PROBE, 0.0) for s in shapes]
    ok = max(ratios) <= 1.0 and max(walks) <= 0.3
    lines += [
        f"Over the {len(shapes)} shapes: `inspect --files` **{min(ratios):.2f}x-"
        f"{max(ratios):.2f}x** `7z l`, its walk (`walk_rows`) {min(walks):.2f}-{max(walks):.2f} s"
        f" — target {'met' if ok else '**missed**'}.",
        "",
    ]
    for shape in shapes:
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
            if name != bench_inspect.FROZEN
        ]
        if "frozen_vs_7z" in shape:
            lines += [
                "",
                f"- the frozen bundle (`dist/DiscVault/discvault`, what the .deb and tarball run): "
                f"{med[bench_inspect.FROZEN]:.3f} s, **{shape['frozen_vs_7z']:.2f}x** `7z l`",
            ]
        lines += ["", "| in-process, fresh interpreter | median s |", "|---|---|"]
        lines += [f"| {name} | {t:.3f} |" for name, t in shape["walk_median"].items()]
        lines.append("")
    return lines


if __name__ == "__main__":
    sys.exit(main())
