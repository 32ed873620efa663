"""Ctrl-C, SIGTERM and kill -9 at every phase of a backup, then a resume.

The disc is a real faulty block device: an ISO 9660 volume with a damaged area (non-trimmed,
then non-scraped), a sector that reads on the third try (recovered by the retry pass), and
after the volume readable data and then unreadable run-out (read once, not data, cut from the
image). Whatever instant the signal hits, the same command run again must give the image an
uninterrupted run gives, byte for byte, and a report that says what the uninterrupted run says.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core.base import mapfile
from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import FaultDevice
from tests.integration.isofixtures import need

SECTOR = 2048
SIGAT = Path(__file__).resolve().parents[1] / "sigat.py"
TAIL_READABLE, TAIL_BAD = 20, 20  # after the volume: data that reads, then run-out that does not


def rip(dev: str, out: Path, *extra: str) -> list[str]:
    return ["rip", dev, str(out), "--save-interval", "0.05", *extra]


def run(args: list[str], when: str = "", sig: str = "") -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "app", *args]
    if when:
        cmd = [sys.executable, str(SIGAT), when, sig, "--", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, r.stderr


@pytest.fixture
def disc(make_device: MakeDevice, tmp_path: Path) -> tuple[FaultDevice, bytes, set[int]]:
    need("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "photos.bin").write_bytes(random_bytes(1_200_000, seed=21))
    iso = tmp_path / "fs.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(iso), str(tree)], check=True)
    fs = iso.read_bytes()
    n = len(fs) // SECTOR
    data = fs + random_bytes((TAIL_READABLE + TAIL_BAD) * SECTOR, seed=22)
    bad = set(range(300, 340))
    faults: list[dict[str, Any]] = [
        {"lba": 300, "count": 40, "kind": "bad"},
        {"lba": 450, "kind": "flaky", "fails": 2},
        {"lba": n + TAIL_READABLE, "count": TAIL_BAD, "kind": "bad"},
    ]
    return make_device(data, faults, error_delay=0.002), data, bad


def expected(data: bytes, bad: set[int]) -> bytes:
    img = bytearray(data[: -TAIL_BAD * SECTOR])  # trailing unreadable run-out is cut
    for lba in bad:
        img[lba * SECTOR : (lba + 1) * SECTOR] = bytes(SECTOR)
    return bytes(img)


TRUTH = ("outcome", "complete", "unreadable_sectors", "not_data_sectors", "bad_ranges", "hashes")


def truth(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: doc[k] for k in TRUTH},
        "summary": doc["disc"]["summary"],
        "image": {k: doc["image"][k] for k in ("sectors", "bytes", "domain_sectors")},
    }


@pytest.mark.parametrize(
    ("when", "sig"),
    [
        ("copy", "SIGINT"),
        ("once", "SIGTERM"),
        ("trim", "SIGTERM"),
        ("scrape", "SIGINT"),
        ("retry", "SIGTERM"),
        ("hash", "SIGTERM"),
        ("hash", "SIGINT"),
        ("report", "SIGTERM"),
        ("sidecars", "SIGINT"),
        ("size", "SIGKILL"),
        ("copy", "SIGKILL"),
        ("once", "SIGKILL"),
        ("trim", "SIGKILL"),
        ("scrape", "SIGKILL"),
        ("retry", "SIGKILL"),
        ("hash", "SIGKILL"),
        ("report", "SIGKILL"),
        ("sidecars", "SIGKILL"),
    ],
)
def test_a_signal_at_any_phase_then_resume_gives_the_same_image_and_report(
    disc: tuple[FaultDevice, bytes, set[int]], tmp_path: Path, when: str, sig: str
) -> None:
    dev, data, bad = disc
    want = expected(data, bad)
    ref = tmp_path / "ref.iso"
    r = run(rip(dev.path, ref))
    assert r.returncode == 1, r.stderr
    assert ref.read_bytes() == want
    ref_doc = json.loads(Path(f"{ref}.report.json").read_text())

    dev.control("reset")  # the flaky sector is flaky again, as for a fresh disc
    out = tmp_path / "out.iso"
    first = run(rip(dev.path, out), when, sig)
    no_traceback(first)
    if sig != "SIGKILL":
        assert f"fired {when}" in first.stderr  # the signal came where it was meant to
    if when in ("report", "sidecars") and sig != "SIGKILL":
        assert first.returncode == 1  # the work was done: what is left takes no time
    elif sig == "SIGKILL":
        assert first.returncode == -9, first.stderr
    else:
        assert first.returncode == 130, first.stderr
        doc = json.loads(Path(f"{out}.report.json").read_text())
        assert doc["outcome"] == "cancelled" and doc["complete"] is False
    if Path(f"{out}.map").exists():  # whatever it says is true of the image
        mf = mapfile.load(f"{out}.map", SECTOR)
        img = out.read_bytes()
        for s, e, st in mf.map.runs():
            if st == "+":
                assert img[s * SECTOR : e * SECTOR] == data[s * SECTOR : e * SECTOR]

    again = run(rip(dev.path, out))
    no_traceback(again)
    assert again.returncode == 1, again.stderr
    assert out.read_bytes() == want
    doc = json.loads(Path(f"{out}.report.json").read_text())
    assert truth(doc) == truth(ref_doc)
    for algo in ("md5", "sha1", "sha256"):
        line = Path(f"{out}.{algo}").read_text()
        assert line == f"{hashlib.new(algo, want).hexdigest()}  out.iso\n"
    ver = run(["verify", str(out)])
    assert ver.returncode == 1, ver.stdout  # incomplete (the damaged area), nothing else
    assert "MISMATCH" not in ver.stdout
