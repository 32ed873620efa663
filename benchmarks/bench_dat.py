"""DAT loading, before and after: a 200 MB Logiqx DAT (977 000 entries) and a DAT with one 16 MB
attribute, read by the streaming loader (``app.core.verify.dat``) and by the ElementTree loader
it replaced (kept below, verbatim in behaviour), each in a fresh process so peak RSS is its own.

``python -m benchmarks.bench_dat [WORKDIR]`` runs it alone; ``make bench`` runs it as "dat".
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any
from xml.parsers import expat

ENTRIES = 977_000
LONG_ATTR = 16 << 20

# The loader before the rewrite: ElementTree.iterparse over the whole file, one DatRom per entry.
OLD = """
import xml.etree.ElementTree as ET
def load(path):
    roms = []
    game = ""
    for event, el in ET.iterparse(path, events=("start", "end")):
        if event == "start" and el.tag in ("game", "machine"):
            game = el.get("name", "")
        elif event == "end" and el.tag == "rom":
            roms.append((game, el.get("name", ""), el.get("size"), el.get("crc", "").lower(),
                         el.get("md5", "").lower(), el.get("sha1", "").lower()))
            el.clear()
        elif event == "end" and el.tag in ("game", "machine"):
            el.clear()
    return roms
"""

# One measurement: load, then one lookup as `verify --dat` does; prints a JSON line.
RUN = """
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
t0, c0 = time.perf_counter(), time.process_time()
outcome = "loaded"
try:
    if kind == "old":
        exec(OLD)
        roms = load(path)
        by = {(r[2], r[3]): r for r in roms}
        hit = by.get(("1", "00000000"))
        n = len(roms)
    else:
        from app.core.verify import dat
        d = dat.load(path)
        hit = d.match(1, {"crc32": "00000000"}, "Game 5 (Europe).iso")
        n = d.rom_count
except Exception as e:  # the new loader refuses absurd DATs: that is the measured outcome
    outcome, n = f"error: {e}", 0
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "entries": n, "outcome": outcome[:160]}))
"""


def make_big(path: Path, entries: int = ENTRIES) -> int:
    """A Redump-like DAT: game, description and one rom with size, CRC, MD5 and SHA-1."""
    rng = random.Random(13)
    with open(path, "w") as f:
        f.write(
            '<?xml version="1.0"?>\n<!DOCTYPE datafile PUBLIC "-//Logiqx//DTD ROM Management '
            'Datafile//EN" "http://www.logiqx.com/Dats/datafile.dtd">\n<datafile>\n'
            "\t<header>\n\t\t<name>Benchmark</name>\n\t</header>\n"
        )
        for i in range(entries):
            f.write(
                f'\t<game name="Game {i} (Europe)">\n\t\t<description>Game {i}</description>\n'
                f'\t\t<rom name="Game {i} (Europe).iso" size="{rng.randrange(1 << 30)}" '
                f'crc="{rng.getrandbits(32):08x}" md5="{rng.getrandbits(128):032x}" '
                f'sha1="{rng.getrandbits(160):040x}"/>\n\t</game>\n'
            )
        f.write("</datafile>\n")
    return path.stat().st_size


def make_long_attribute(path: Path, length: int = LONG_ATTR) -> int:
    with open(path, "wb") as f:
        f.write(b'<?xml version="1.0"?>\n<datafile><game name="G"><rom name="')
        f.write(b"a" * length)
        f.write(b'" size="1" crc="00000000"/></game></datafile>\n')
    return path.stat().st_size


def measure(kind: str, path: Path) -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    code = RUN.replace("exec(OLD)", f"exec({OLD!r})")
    out = subprocess.run(
        [sys.executable, "-c", code, kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def machine() -> dict[str, str]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": sys.version.split()[0],
        "config_args": str(sysconfig.get_config_var("CONFIG_ARGS") or ""),
        "expat": expat.EXPAT_VERSION,
    }


def bench_dat(work: Path) -> dict[str, Any]:
    big, long = work / "bench-200mb.dat", work / "bench-long-attribute.dat"
    try:
        sizes = {"big_bytes": make_big(big), "long_bytes": make_long_attribute(long)}
        rows = {
            f"{kind}:{name}": measure(kind, path)
            for name, path in (("big", big), ("long", long))
            for kind in ("new", "old")
        }
    finally:
        big.unlink(missing_ok=True)
        long.unlink(missing_ok=True)
    return {**sizes, "entries": ENTRIES, "long_attribute": LONG_ATTR, "rows": rows, **machine()}


def markdown(d: dict[str, Any]) -> list[str]:
    rows = d["rows"]
    lines = [
        f"## DAT load + one lookup: {d['big_bytes'] / 1e6:.0f} MB DAT ({d['entries']:,} entries) "
        f"and a DAT with one {d['long_attribute'] >> 20} MiB attribute",
        "",
        f"{d['cpu']}, {d['cores']} cores, Python {d['python']} (expat {d['expat']}), "
        f"CONFIG_ARGS `{d['config_args']}`",
        "",
        "| DAT | loader | wall s | CPU s | peak RSS | outcome |",
        "|---|---|---|---|---|---|",
    ]
    for key, r in rows.items():
        kind, name = key.split(":")
        what = "200 MB" if name == "big" else "16 MiB attribute"
        loader = "streaming (expat, index)" if kind == "new" else "before (ElementTree)"
        lines.append(
            f"| {what} | {loader} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
            f"{r['rss_kib'] / 1024:.0f} MiB | {r['outcome']} ({r['entries']:,} entries) |"
        )
    new, old = rows["new:big"], rows["old:big"]
    lines += [
        "",
        f"- 200 MB DAT: **{new['seconds'] / old['seconds']:.2f}x** the time "
        f"({new['cpu_seconds'] / old['cpu_seconds']:.2f}x the CPU) and "
        f"**{new['rss_kib'] / 1024:.0f} MiB** peak RSS (targets: ≤ 0.5x, < 200 MB)",
        "",
    ]
    return lines


if __name__ == "__main__":
    where = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "work"
    where.mkdir(exist_ok=True)
    result = bench_dat(where)
    print(json.dumps(result, indent=2))
    print("\n".join(markdown(result)))
