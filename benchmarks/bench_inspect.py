"""Listing 100 000-file Joliet + Rock Ridge images: DiscVault vs `7z l` and `xorriso -find`.

Every image shape counts: two makers (genisoimage, xorriso) x two fan-outs (100 and 1000 files
per folder). Per image, rounds are interleaved (this shared machine's speed drifts, and it
should drift for every tool alike), and a ratio is the median of the per-round ratios.

The in-process walk (``open_image`` + ``walk()``) is timed in a fresh interpreter per round, the
way the app runs it: the GUI's index keeps what it lists with the cyclic collector off
(``app.gui.inspect_page``), the command line streams with it off (``cli_inspect``); the default
``walk()`` with the collector on is timed too.
"""

from __future__ import annotations

import compileall
import json
import platform
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from benchmarks.bench_rip import timed

MAKERS = ("genisoimage", "xorriso")
FAN_OUTS = (100, 1000)

# One fresh interpreter per round: what a walk costs in a process that did nothing else.
PROBE = r"""
import gc, json, sys, time
from app.core.fs.inspection import open_image
iso, what = sys.argv[1], sys.argv[2]
if what != "kept_gc":
    gc.disable()
t0 = time.perf_counter()
i = open_image(iso)
if what == "first_view":
    n = len(i.children(i.root))
elif what == "rows":
    n = sum(len(items) for items, _ in i.walk_rows())
else:
    n = sum(1 for _ in i.walk(keep=what != "stream"))
print(json.dumps({"seconds": time.perf_counter() - t0, "entries": n}))
"""
ROWS_PROBE = "walk_rows(), collector off (`inspect --files`)"  # the walk the listing makes
PROBES = {
    "first view (open + root)": "first_view",
    "walk(), kept, collector off (GUI index)": "kept",
    ROWS_PROBE: "rows",
    "walk(keep=False), collector off": "stream",
    "walk(), kept, collector on": "kept_gc",
}


def make_image(work: Path, files: int, maker: str = "genisoimage", per_dir: int = 100) -> Path:
    """``files`` files of 0-6 bytes in folders of ``per_dir``, made by ``maker`` with Rock
    Ridge and Joliet (the default is the image the GUI benchmark opens)."""
    iso = work / (
        f"many_{files}.iso"
        if (maker, per_dir) == ("genisoimage", 100)
        else f"many_{files}_{maker}_{per_dir}.iso"
    )
    if iso.exists():
        return iso
    tree = work / (f"many_{files}" if per_dir == 100 else f"many_{files}_{per_dir}")
    if not tree.exists():
        for d in range(files // per_dir):
            sub = tree / f"dir_{d:04d}"
            sub.mkdir(parents=True)
            for f in range(per_dir):
                (sub / f"file_with_a_longer_name_{f:03d}.txt").write_bytes(b"x" * (f % 7))
    if maker == "genisoimage":
        cmd = ["genisoimage", "-quiet", "-R", "-J", "-joliet-long", "-o", str(iso), str(tree)]
    else:
        cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-joliet-long"]
        cmd += ["-o", str(iso), str(tree)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return iso


def machine() -> dict[str, str]:
    """What a figure was measured on: CPU model, and how this Python was built."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "build": " ".join(platform.python_build()),
        "config_args": str(sysconfig.get_config_var("CONFIG_ARGS") or ""),
    }


def compile_app() -> None:
    """Bytecode for every module first, as an installed wheel or the frozen bundle has it: with
    PYTHONDONTWRITEBYTECODE set (as in some shells), a module changed since its last .pyc would
    otherwise be compiled again in every timed run."""
    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "app"), quiet=1)


def _probe(iso: Path, what: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(iso), what], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "DiscVault" / "discvault"
FROZEN = "frozen bundle: discvault inspect --files"


def fresh_bundle() -> Path | None:
    """The frozen bundle `make package` built, if it is newer than every module of the app: what
    a .deb or tarball user runs, whose start differs from a venv's (PyInstaller's importers)."""
    try:
        built = BUNDLE.resolve().stat().st_mtime
    except OSError:
        return None
    newest = max(p.stat().st_mtime for p in (ROOT / "app").rglob("*.py"))
    return BUNDLE if built >= newest else None


def bench_image(work: Path, iso: Path, rounds: int) -> dict[str, Any]:
    dv = [sys.executable, "-m", "app", "inspect", str(iso), "--files"]
    cmds = {
        "discvault inspect --files": dv,
        "discvault inspect --files --json": [*dv, "--json"],
        "7z l": ["7z", "l", str(iso)],
        "xorriso -find": ["xorriso", "-indev", str(iso), "-find", "/"],
    }
    bundle = fresh_bundle()
    if bundle is not None:
        cmds[FROZEN] = [str(bundle), "inspect", str(iso), "--files"]
    times: dict[str, list[float]] = {name: [] for name in cmds}
    rss: dict[str, int] = dict.fromkeys(cmds, 0)
    walks: dict[str, list[float]] = {name: [] for name in PROBES}
    entries = 0
    for _ in range(rounds):
        for name, cmd in cmds.items():
            seconds, peak, code = timed(cmd, work)
            if code:
                raise RuntimeError(f"{name} failed on {iso} (exit {code})")
            times[name].append(seconds)
            rss[name] = max(rss[name], peak)
        for name, what in PROBES.items():
            got = _probe(iso, what)
            walks[name].append(got["seconds"])
            if what == "stream":
                entries = got["entries"]
    me = times["discvault inspect --files"]
    frozen = {}
    if FROZEN in times:
        pairs = zip(times[FROZEN], times["7z l"], strict=True)
        frozen["frozen_vs_7z"] = statistics.median(a / b for a, b in pairs)
    return {
        **frozen,
        "image": iso.name,
        "entries": entries,
        "rounds": rounds,
        "median": {name: statistics.median(t) for name, t in times.items()},
        "best": {name: min(t) for name, t in times.items()},
        # per round, DiscVault over the peer of the same round; then the median
        "ratio": {
            name: statistics.median(a / b for a, b in zip(me, t, strict=True))
            for name, t in times.items()
        },
        "rss_kib": rss,
        "walk_median": {name: statistics.median(t) for name, t in walks.items()},
    }


def bench_inspect(work: Path, files: int = 100_000, rounds: int = 7) -> dict[str, Any]:
    compile_app()
    images = [
        (maker, per_dir, make_image(work, files, maker, per_dir))
        for maker in MAKERS
        for per_dir in FAN_OUTS
    ]
    shapes = []
    for maker, per_dir, iso in images:
        row = bench_image(work, iso, rounds)
        row.update(maker=maker, per_dir=per_dir)
        shapes.append(row)
    return {"files": files, "machine": machine(), "shapes": shapes}
