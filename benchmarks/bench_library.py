"""A shelf of 1 000 000 files: catalogue build time and size, search time, rebuild == original.

Ten real ISO images (genisoimage) of 100 000 synthetic files each — camera folders, documents,
the names a family shelf holds — sit in a library folder. The catalogue is made the way a user
makes it (``library add`` disc by disc), then again with ``library rebuild``; the two must be
equal (a streamed digest of everything the catalogue says). Search is timed in-process over a
set of typical queries (median of many runs each), after the first query of a fresh connection.

    python -m benchmarks.bench_library [FILES_PER_DISC] [DISCS]
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from benchmarks.bench_rip import timed

HERE = Path(__file__).resolve().parent
QUERIES = {
    "exact name": "IMG_0042.JPG",
    "piece of a name": "0042",
    "two words": "holiday budget",
    "pattern": "*.pdf",
    "path piece": "DCIM/100CANON/IMG_0042",
    "no match": "zebra_quartz",
    "no match, common pieces": "IMG_9999.PDF",
    "very common (first 200)": "jpg",
}
WORDS = [
    *("holiday", "budget", "family", "invoice", "letter", "scan", "school", "recipe"),
    *("garden", "wedding", "birthday", "report", "tax", "insurance", "travel", "music"),
    *("lesson", "notes", "draft", "final", "summer", "winter", "party", "camping"),
]
EXTS = ("pdf", "doc", "txt", "xls", "mp3", "htm", "png", "odt")
CAMERAS = ("IMG_", "DSC", "DSCN", "P10", "CIMG")


def names(disc: int, files: int) -> list[str]:
    """Relative paths of one disc: 70 % camera folders (1 000 photos each), 30 % documents."""
    rng = random.Random(disc)
    photos = files * 7 // 10
    out = []
    cam = CAMERAS[disc % len(CAMERAS)]
    for i in range(photos):
        out.append(f"DCIM/{100 + i // 1000}CANON/{cam}{(i + disc * 37) % 10_000:04d}.JPG")
    for i in range(files - photos):
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        out.append(f"Documents/{a}/{a}_{b} {i:05d}.{rng.choice(EXTS)}")
    return out


def make_disc(work: Path, disc: int, files: int) -> Path:
    iso = work / f"shelf_{files}_{disc}.iso"
    if iso.exists():
        return iso
    tree = work / f"shelf_tree_{disc}"
    shutil.rmtree(tree, ignore_errors=True)
    made: set[str] = set()
    for rel in names(disc, files):
        parent = os.path.dirname(rel)
        if parent not in made:
            os.makedirs(tree / parent, exist_ok=True)
            made.add(parent)
        os.close(os.open(tree / rel, os.O_CREAT | os.O_WRONLY, 0o644))
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-joliet-long", "-V", f"SHELF_{disc:02d}",
         "-o", str(iso), str(tree)],
        check=True,
    )  # fmt: skip
    shutil.rmtree(tree)  # 100 000 inodes each: keep only the image
    return iso


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    build, date = platform.python_build()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()} "
        f"({build}, {date}, {platform.python_compiler()})",
        "sqlite": sqlite3.sqlite_version,
    }


def _size(lib: Library) -> int:
    return sum(
        os.path.getsize(lib.catalogue_path + s)
        for s in ("", "-wal")
        if os.path.exists(lib.catalogue_path + s)
    )


def bench_library(
    work: Path, files: int = 100_000, discs: int = 10, runs: int = 31
) -> dict[str, Any]:
    isos = [make_disc(work, d, files) for d in range(discs)]
    root = work / "shelf_library"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    for d, iso in enumerate(isos):
        (root / f"SHELF_{d:02d}").mkdir()
        os.link(iso, root / f"SHELF_{d:02d}" / iso.name)
    lib = Library(str(root))
    cmd = [sys.executable, "-m", "app", "library"]
    # The user's way: one `library add` per disc (already in place: hashed once, then indexed).
    t_add = 0.0
    for d in range(discs):
        elapsed, _rss, code = timed([*cmd, "add", str(root / f"SHELF_{d:02d}"), "--library",
                                     str(root)], work)  # fmt: skip
        assert code == 0, f"library add failed for disc {d}"
        t_add += elapsed
    with Catalogue(lib) as cat:
        total_discs, total_files = cat.totals()
        original = cat.digest()
    build, rss, code = timed([*cmd, "rebuild", "--library", str(root)], work)
    assert code == 0, "library rebuild failed"
    size = _size(lib)
    with Catalogue(lib) as cat:
        rebuilt = cat.digest()
        t0 = time.perf_counter()
        cat.search(QUERIES["exact name"])
        first = time.perf_counter() - t0
        per: dict[str, dict[str, float]] = {}
        for name, q in QUERIES.items():
            times = []
            hits: list[Any] = []
            for _ in range(runs):
                t0 = time.perf_counter()
                hits, _more = cat.search(q, 200)
                times.append(time.perf_counter() - t0)
            per[name] = {
                "query": q,  # type: ignore[dict-item]
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
                "hits": len(hits),
            }
    medians = [p["median_ms"] for p in per.values()]
    return {
        "discs": total_discs,
        "files": total_files,
        "machine": machine(),
        "add_seconds": t_add,
        "rebuild_seconds": build,
        "rebuild_rss_kib": rss,
        "catalogue_bytes": size,
        "image_bytes": sum(i.stat().st_size for i in isos),
        "rebuild_equals_original": rebuilt == original,
        "first_search_ms": first * 1000,
        "search": per,
        "search_median_ms": statistics.median(medians),
        "search_worst_median_ms": max(medians),
        "runs": runs,
        "measured": time.strftime("%Y-%m-%d"),
    }


def markdown(r: dict[str, Any]) -> list[str]:
    m = r["machine"]
    lines = [
        f"## Library: {r['files']:,} files on {r['discs']} discs (real ISO images)",
        "",
        f"Measured {r.get('measured', '?')} on {m['cpu']} ({m['cores']} cores), {m['python']}, "
        f"SQLite {m['sqlite']}.",
        "",
        f"- build: `library add` disc by disc **{r['add_seconds']:.1f} s**; `library rebuild` "
        f"from the folders **{r['rebuild_seconds']:.1f} s** (peak RSS "
        f"{r['rebuild_rss_kib'] / 1024:.0f} MiB)",
        f"- catalogue size: **{r['catalogue_bytes'] / 1e6:.0f} MB** "
        f"({r['catalogue_bytes'] / max(r['files'], 1):.0f} bytes per file)",
        f"- rebuild equals the original: **{r['rebuild_equals_original']}**",
        f"- search, median of {r['runs']} runs per query: **{r['search_median_ms']:.1f} ms** "
        f"over the queries, worst query {r['search_worst_median_ms']:.1f} ms (target < 100 ms); "
        f"first query of a fresh connection {r['first_search_ms']:.1f} ms",
        "",
        "| query | median ms | max ms | hits (≤ 200) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} `{p['query']}` | {p['median_ms']:.2f} | {p['max_ms']:.2f} | {p['hits']} |"
        for name, p in r["search"].items()
    ]
    return [*lines, ""]


def main() -> int:
    work = HERE / "work"
    work.mkdir(exist_ok=True)
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    discs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    r = bench_library(work, files, discs)
    print(json.dumps(r, indent=2))
    print("\n".join(markdown(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
