"""Interrupted, starved and foreign runs: every one must resume to the same exact image."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.base import mapfile
from app.core.base.events import Progress
from app.core.disc.sources import ImageSource
from app.core.rescue.engine import RescueSettings, rescue
from tests.conftest import MakeDevice, random_bytes, require_tool
from tests.faultdev import expected_image
from tests.integration.test_rip_faults import BAD, BAD_AREAS, FAULTS, SECTORS, bad_runs, run_cli

SLOW_FAULTS = [*FAULTS, {"lba": 0, "count": SECTORS, "kind": "slow", "delay": 0.004}]


def rip_cmd(dev: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "app", "rip", dev, str(out), "--save-interval", "0.05"]


def test_kill_9_at_any_instant_then_resume_is_byte_identical(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=11)
    want = expected_image(data, BAD)
    dev = make_device(data, SLOW_FAULTS, error_delay=0.005)
    t0 = time.monotonic()
    ref = subprocess.run(rip_cmd(dev.path, tmp_path / "ref.iso"), capture_output=True)
    full = time.monotonic() - t0
    assert ref.returncode == 1
    for i, frac in enumerate((0.15, 0.35, 0.55, 0.75, 0.9)):
        dev.control("reset")  # flaky sectors flaky again, as for a fresh disc
        out = tmp_path / f"k{i}.iso"
        proc = subprocess.Popen(
            rip_cmd(dev.path, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(full * frac)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Whatever instant the kill hit, the mapfile on disk is whole and vouches only for
        # sectors whose data really is in the image; killed before it existed, the image is
        # empty (nothing unvouched for is ever left).
        if not Path(f"{out}.map").exists():
            assert not out.exists() or out.stat().st_size == 0
        else:
            mf = mapfile.load(str(out) + ".map", 2048)
            img = out.read_bytes()
            for s, e, st in mf.map.runs():
                if st == "+":
                    assert img[s * 2048 : e * 2048] == data[s * 2048 : e * 2048]
        r = subprocess.run(rip_cmd(dev.path, out), capture_output=True, text=True)
        assert r.returncode == 1, r.stderr
        assert out.read_bytes() == want, f"kill at {frac:.0%}"
        assert bad_runs(Path(str(out) + ".map").read_text()) == BAD_AREAS


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a size-limited tmpfs in CI: {r.stderr}")
        pytest.skip(f"cannot mount tmpfs: {r.stderr}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_destination_full_mid_rip_keeps_mapfile_and_resumes(
    make_device: MakeDevice, small_fs: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=12)
    dev = make_device(data, SLOW_FAULTS)
    out = small_fs / "d.iso"
    filler = small_fs / "filler"

    def fill_disk(p: Progress) -> None:
        if p.done > len(data) // 3 and not filler.exists():
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\xff" * 65536)
                except OSError:
                    pass  # the disk is full now: exactly what the test wants

    with ImageSource(dev.path) as src:
        res = rescue(src, str(out), progress=fill_disk, settings=RescueSettings(save_interval=0.05))
    assert res.outcome == "destination_error"
    assert "full" in res.message
    mf = mapfile.load(str(out) + ".map", 2048)  # intact, and truthful
    img = out.read_bytes()
    assert 0 < mf.map.count("+")[0] < SECTORS
    for s, e, st in mf.map.runs():
        if st == "+":
            assert img[s * 2048 : e * 2048] == data[s * 2048 : e * 2048]
    filler.unlink()
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 1, r.stderr
    assert out.read_bytes() == expected_image(data, BAD)


def test_not_enough_space_is_refused_up_front(make_device: MakeDevice, small_fs: Path) -> None:
    dev = make_device(random_bytes(8192 * 2048), [])  # 16 MiB into 12 MiB
    r = run_cli("rip", dev.path, str(small_fs / "big.iso"))
    assert r.returncode == 4
    assert "not enough space" in r.stderr and r.stderr.count("\n") == 1


def test_resumes_a_mapfile_written_by_gnu_ddrescue(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=13)
    dev = make_device(data, FAULTS)
    out = tmp_path / "dd.iso"
    require_tool("ddrescue")
    # -n: ddrescue skips scraping, leaving non-scraped areas for us to finish.
    subprocess.run(
        ["ddrescue", "-b2048", "-d", "-n", "-q", dev.path, str(out), str(out) + ".map"], check=True
    )
    assert "/" in Path(str(out) + ".map").read_text() or "*" in Path(str(out) + ".map").read_text()
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 1, r.stderr
    assert out.read_bytes() == expected_image(data, BAD)
    assert bad_runs(Path(str(out) + ".map").read_text()) == BAD_AREAS


def test_ddrescue_reads_and_resumes_our_mapfile(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=14)
    dev = make_device(data, FAULTS)
    out = tmp_path / "ours.iso"
    require_tool("ddrescue", "ddrescuelog")
    r = run_cli("rip", dev.path, str(out), "--retries", "0")
    assert r.returncode == 1
    m = str(out) + ".map"
    assert subprocess.run(["ddrescuelog", "-t", m], capture_output=True).returncode == 0
    listed = subprocess.run(["ddrescuelog", "-b2048", "-l-", m], capture_output=True, text=True)
    assert {int(x) for x in listed.stdout.split()} == BAD
    # ddrescue continues our run (retry pass) and agrees on what is bad.
    subprocess.run(["ddrescue", "-b2048", "-d", "-r1", "-q", dev.path, str(out), m], check=True)
    assert out.read_bytes() == expected_image(data, BAD)


def test_refuses_to_overwrite_an_image_it_did_not_make(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(random_bytes(64 * 2048))
    out = tmp_path / "mine.iso"
    out.write_bytes(b"precious")
    r = run_cli("rip", str(src), str(out))
    assert r.returncode == 4 and "--force" in r.stderr
    assert out.read_bytes() == b"precious"
    assert not Path(str(out) + ".map").exists()
    r = run_cli("rip", str(src), str(out), "--force")
    assert r.returncode == 0
    assert out.read_bytes() == src.read_bytes()


def test_run_out_sectors_past_the_filesystem_are_not_damage(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    require_tool("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.bin").write_bytes(random_bytes(500_000))
    iso = tmp_path / "fs.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-o", str(iso), str(tree)], check=True)
    fs = iso.read_bytes()
    n = len(fs) // 2048
    # A TAO CD-R: two unreadable run-out sectors after the filesystem.
    dev = make_device(fs + bytes(4096), [{"lba": n, "count": 2, "kind": "bad"}])
    out = tmp_path / "cd.iso"
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.read_bytes() == fs
    doc = json.loads(Path(str(out) + ".report.json").read_text())
    assert doc["source"]["capacity_sectors"] == n + 2
    assert doc["unreadable_sectors"] == 0 and doc["not_data_sectors"] == 2
    assert doc["complete"] is True
    assert "2 run-out sectors (not data), 0 damaged" in doc["disc"]["summary"]
    assert "2 run-out sectors (not data)" in r.stdout
