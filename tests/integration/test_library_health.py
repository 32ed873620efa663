"""Health scans on real faulty block devices (FUSE + loop, 2048-byte sectors).

Delays are far apart (none vs 300 ms), so the bucket a block lands in does not depend on how
busy the machine is; nothing here asserts how long anything took.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

from app.core.disc.sources import ImageSource
from app.core.library import health
from tests.conftest import MakeDevice, random_bytes
from tests.integration.isofixtures import need
from tests.integration.test_library import add, cli

BLOCK = 32
SLOW_BLOCKS = (20, 40)
BAD_BLOCK = 50


def make_disc(tmp: Path) -> Path:
    """A 4.5 MB data CD: about 70 blocks of 64 KiB."""
    need("genisoimage")
    tree = tmp / "tree"
    tree.mkdir()
    (tree / "video.mpg").write_bytes(random_bytes(4_500_000, seed=61))
    (tree / "notes.txt").write_text("health\n")
    iso = tmp / "health.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", "AGEING", "-o", str(iso), str(tree)], check=True
    )
    return iso


def test_health_scan_buckets_slow_and_unreadable_blocks_and_stores_them(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    iso = make_disc(tmp_path)
    lib = tmp_path / "lib"
    add(lib, iso)  # the backup of this disc is on the shelf
    faults = [
        {"lba": b * BLOCK + 5, "count": 1, "kind": "slow", "delay": 0.3} for b in SLOW_BLOCKS
    ] + [{"lba": BAD_BLOCK * BLOCK + 3, "count": 1, "kind": "bad"}]
    dev = make_device(iso.read_bytes(), faults)
    r = cli("library", "health", dev.path, "--library", str(lib))
    assert r.returncode == 1, r.stderr  # unreadable blocks: as a rip with bad sectors
    assert "scanning AGEING" in r.stderr  # recognised by its identity, in another "drive"
    blocks = -(-(iso.stat().st_size // 2048) // BLOCK)
    assert f"1 of {blocks} blocks unreadable, 2 slow" in r.stdout
    doc = json.loads(cli("library", "show", "AGEING", "--json", "--library", str(lib)).stdout)
    scans = [e for e in doc["history"] if e["kind"] == "health"]
    assert len(scans) == 1 and scans[0]["outcome"] == "unreadable"
    scan = scans[0]["doc"]
    b = scan["buckets"]
    assert b["<500 ms"] == 2 and b[">500 ms"] == 0
    assert b["<3 ms"] + b["<10 ms"] + b["<50 ms"] + b["<150 ms"] == blocks - 3
    assert [lba for lba, _ms in scan["slow"]] == [n * BLOCK for n in SLOW_BLOCKS]
    assert scan["unreadable"] == [[BAD_BLOCK * BLOCK, BLOCK]]
    assert scan["blocks"] == blocks and scan["source"] == dev.path
    assert scan["curve"] and all(rate > 0 for _lba, rate in scan["curve"])
    assert doc["badge"] == "complete" and "unreadable" in doc["history"][-1]["summary"]
    # Stored in the disc's folder: a rebuild keeps it.
    r = cli("library", "rebuild", "--library", str(lib))
    assert r.returncode == 0, r.stderr
    again = json.loads(cli("library", "show", "AGEING", "--json", "--library", str(lib)).stdout)
    assert again["history"] == doc["history"]


def test_a_disc_not_on_the_shelf_is_scanned_but_not_stored(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    add(lib, make_disc(tmp_path))
    dev = make_device(random_bytes(300 * 2048, seed=62), [])
    r = cli("library", "health", dev.path, "--library", str(lib))
    assert r.returncode == 0, r.stderr
    assert "healthy: 10 blocks, none slow" in r.stdout
    assert "not in the library — the scan was not stored" in r.stderr
    r = cli("library", "health", dev.path, "--disc", "AGEING", "--library", str(lib))
    assert r.returncode == 0, r.stderr  # named by the user: stored with that disc
    doc = json.loads(cli("library", "show", "AGEING", "--json", "--library", str(lib)).stdout)
    assert [e["outcome"] for e in doc["history"] if e["kind"] == "health"] == ["good"]


def test_a_disc_pulled_mid_scan_ends_it_cleanly(make_device: MakeDevice, tmp_path: Path) -> None:
    sectors = 64 * BLOCK
    dev = make_device(
        random_bytes(sectors * 2048, seed=63),
        [{"lba": 0, "count": sectors, "kind": "slow", "delay": 0.02}],
    )
    seen = threading.Event()

    def progress(p: object) -> None:
        seen.set()

    def pull_the_disc() -> None:
        seen.wait(10)  # once the scan has read something
        dev.vanish()

    with ImageSource(dev.path) as src:
        pull = threading.Thread(target=pull_the_disc)
        pull.start()
        res = health.scan(src, progress=progress)
        pull.join()
    assert res.outcome == "source_gone"
    assert 0 < res.scanned < sectors
    assert res.blocks == res.scanned // BLOCK
