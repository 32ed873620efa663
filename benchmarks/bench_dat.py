"""DAT loading, before and after: a 200 MB Logiqx DAT (977 000 entries) and a DAT with one 16 MB
attribute, read by the streaming loader (``app.core.verify.dat``) and by the ElementTree loader
it replaced (kept below, verbatim), each in a fresh process so peak RSS is its own.

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

# The loader before the rewrite (app/core/verify/dat.py at 97b7a09), verbatim.
OLD = r'''  # noqa: E501
"""Logiqx XML DAT files (as published by preservation projects) and matching an image to them."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass


class DatError(Exception):
    """The DAT file cannot be read or is not Logiqx XML."""


@dataclass(frozen=True)
class DatRom:
    game: str
    name: str
    size: int
    crc32: str
    md5: str
    sha1: str


@dataclass(frozen=True)
class DatMatch:
    verdict: str  # "match", "same_name_different_hashes", "not_in_dat"
    entry: DatRom | None
    dat: str

    def describe(self) -> str:
        if self.verdict == "match" and self.entry:
            return f"matches '{self.entry.game}' ({self.entry.name}) in {self.dat}"
        if self.verdict == "same_name_different_hashes" and self.entry:
            return (
                f"'{self.entry.name}' is in {self.dat} ('{self.entry.game}') but with "
                "different checksums: this is not that disc's verified dump"
            )
        return f"not in {self.dat}"


class Dat:
    def __init__(self, path: str, roms: list[DatRom]) -> None:
        self.path = path
        self.roms = roms
        self._by_size_crc: dict[tuple[int, str], list[DatRom]] = {}
        self._by_name: dict[str, DatRom] = {}
        for rom in roms:
            self._by_size_crc.setdefault((rom.size, rom.crc32), []).append(rom)
            self._by_name.setdefault(rom.name.lower(), rom)

    def match(self, size: int, hashes: dict[str, str], name: str) -> DatMatch:
        label = os.path.basename(self.path)
        for rom in self._by_size_crc.get((size, hashes.get("crc32", "").lower()), []):
            if (not rom.md5 or rom.md5 == hashes.get("md5")) and (
                not rom.sha1 or rom.sha1 == hashes.get("sha1")
            ):
                return DatMatch("match", rom, label)
        same = self._by_name.get(name.lower())
        if same is not None:
            return DatMatch("same_name_different_hashes", same, label)
        return DatMatch("not_in_dat", None, label)


def load(path: str) -> Dat:
    """Stream-parse a DAT; 50 000 entries take a fraction of a second."""
    roms: list[DatRom] = []
    game = ""
    try:
        for event, el in ET.iterparse(path, events=("start", "end")):
            tag = el.tag
            if event == "start" and tag in ("game", "machine"):
                game = el.get("name", "")
            elif event == "end" and tag == "rom":
                try:
                    size = int(el.get("size", "-1"))
                except ValueError:
                    size = -1
                roms.append(
                    DatRom(
                        game,
                        el.get("name", ""),
                        size,
                        el.get("crc", "").lower(),
                        el.get("md5", "").lower(),
                        el.get("sha1", "").lower(),
                    )
                )
                el.clear()
            elif event == "end" and tag in ("game", "machine"):
                el.clear()
    except ET.ParseError as e:
        raise DatError(f"{path}: not a valid XML DAT ({e})") from e
    except OSError as e:
        raise DatError(f"{path}: {e.strerror}") from e
    if not roms:
        raise DatError(f"{path}: no <rom> entries — is this a Logiqx XML DAT?")
    return Dat(path, roms)
'''

# One measurement: load, then one lookup as `verify --dat` does; prints a JSON line.
RUN = """
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
t0, c0 = time.perf_counter(), time.process_time()
outcome = "loaded"
try:
    if kind == "old":
        import types
        old = sys.modules["old_dat"] = types.ModuleType("old_dat")  # dataclasses look it up
        exec(OLD, old.__dict__)
        d = old.load(path)
        n = len(d.roms)
    else:
        from app.core.verify import dat
        d = dat.load(path)
        n = d.rom_count
    hit = d.match(1, {"crc32": "00000000"}, "G5.iso")
except Exception as e:  # the new loader refuses absurd DATs: that is the measured outcome
    outcome, n = "refused: " + str(e).split(": ", 1)[-1], 0
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "entries": n, "outcome": outcome.split(" — ")[0][:160]}))  # what, not advice
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
                f'<game name="G{i}">\n<description>G{i}</description>\n'
                f'<rom name="G{i}.iso" size="{rng.randrange(1 << 30)}" '
                f'crc="{rng.getrandbits(32):08x}" md5="{rng.getrandbits(128):032x}" '
                f'sha1="{rng.getrandbits(160):040x}"/>\n</game>\n'
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
    code = f"OLD = {OLD!r}\n{RUN}"
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


def bench_dat(work: Path, entries: int = ENTRIES, long: int = LONG_ATTR) -> dict[str, Any]:
    big, lng = work / "bench-200mb.dat", work / "bench-long-attribute.dat"
    try:
        sizes = {"big_bytes": make_big(big, entries), "long_bytes": make_long_attribute(lng, long)}
        rows = {
            f"{kind}:{name}": measure(kind, path)
            for name, path in (("big", big), ("long", lng))
            for kind in ("new", "old")
        }
    finally:
        big.unlink(missing_ok=True)
        lng.unlink(missing_ok=True)
    return {**sizes, "entries": entries, "long_attribute": long, "rows": rows, **machine()}


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
        what = (
            f"{d['big_bytes'] / 1e6:.0f} MB"
            if name == "big"
            else f"{d['long_attribute'] >> 20} MiB attribute"
        )
        loader = "streaming (expat, index)" if kind == "new" else "before (ElementTree)"
        lines.append(
            f"| {what} | {loader} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
            f"{r['rss_kib'] / 1024:.0f} MiB | {r['outcome']} ({r['entries']:,} entries) |"
        )
    new, old = rows["new:big"], rows["old:big"]
    lines += [
        "",
        f"- {d['big_bytes'] / 1e6:.0f} MB DAT: **{new['seconds'] / old['seconds']:.2f}x** the time "
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
