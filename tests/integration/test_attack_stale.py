"""Checksum files must say the truth about the image beside them, after any interruption.

Seen before these tests:
- a resume that added sectors and was then stopped (Ctrl-C, SIGTERM) or killed left the previous
  run's checksum files beside the changed image: verify said "MISMATCH: the image is not what it
  should be" (exit 3) about a good image;
- running the same backup again over a finished image that had rotted since (a flipped bit the
  resume's samples did not touch) rewrote the checksum files to match the rot: verify then said
  the image was good.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import FaultDevice
from tests.integration.test_attack_companions import cli, one_line

SECTOR = 2048
N = 800
SIGAT = Path(__file__).resolve().parents[1] / "sigat.py"


@pytest.fixture
def half_done(make_device: MakeDevice, tmp_path: Path) -> tuple[FaultDevice, bytes, Path]:
    """An incomplete backup with its checksum files: the first run's budget of failed reads
    ran out at a sector that reads on a later try."""
    data = random_bytes(N * SECTOR, seed=81)
    dev = make_device(data, [{"lba": 400, "kind": "flaky", "fails": 2}])
    dev.control("reset")  # the kernel's probe of the new device read it: flaky again
    out = tmp_path / "o.iso"
    assert cli("rip", dev.path, str(out), "--max-failed-reads", "1").returncode == 1
    assert Path(f"{out}.sha1").exists()
    return dev, data, out


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_a_resume_stopped_after_it_changed_the_image_leaves_no_false_mismatch(
    half_done: tuple[FaultDevice, bytes, Path], sig: str
) -> None:
    dev, data, out = half_done
    cmd = [sys.executable, str(SIGAT), "hash", sig, "--", "rip", dev.path, str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode in (130, -9), r.stderr
    assert out.read_bytes() == data  # the resume read everything before it was stopped
    r = cli("verify", str(out))
    assert "MISMATCH" not in r.stdout, r.stdout
    assert r.returncode == 0, r.stdout
    # And the next run finishes the job: checksum files that match the image.
    assert cli("rip", dev.path, str(out)).returncode == 0
    assert cli("verify", str(out)).returncode == 0


def test_running_a_finished_backup_again_does_not_bless_an_image_that_rotted(
    tmp_path: Path,
) -> None:
    data = random_bytes(N * SECTOR, seed=82)
    src = tmp_path / "disc.bin"
    src.write_bytes(data)
    out = tmp_path / "o.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    sidecars = {a: Path(f"{out}.{a}").read_text() for a in ("md5", "sha1", "sha256")}
    report = json.loads(Path(f"{out}.report.json").read_text())
    with open(out, "r+b") as f:  # one flipped bit, between the sectors a resume samples
        f.seek(333 * SECTOR + 100)
        b = f.read(1)
        f.seek(333 * SECTOR + 100)
        f.write(bytes([b[0] ^ 0x10]))
    r = cli("rip", str(src), str(out))
    assert r.returncode == 4, r.stdout
    line = one_line(r)
    assert str(out) in line and "changed" in line
    assert {a: Path(f"{out}.{a}").read_text() for a in sidecars} == sidecars
    assert json.loads(Path(f"{out}.report.json").read_text())["hashes"] == report["hashes"]
    r = cli("verify", str(out))
    assert r.returncode == 3, r.stdout  # the rot is still found
