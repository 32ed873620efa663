"""A BIN/CUE backup on a faulty block device, killed at the moment the files changed but the
checksum files and the report did not yet: verify must not call the good files a mismatch, and
the next run must finish with checksum files that match (as for an .iso, test_attack_stale)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MakeDevice, random_bytes
from tests.integration.test_attack_companions import cli

SECTOR = 2048
N = 800
SIGAT = Path(__file__).resolve().parents[1] / "sigat.py"


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_a_bin_cue_resume_killed_before_its_checksum_files_leaves_no_false_mismatch(
    make_device: MakeDevice, tmp_path: Path, sig: str
) -> None:
    data = random_bytes(N * SECTOR, seed=83)
    dev = make_device(data, [{"lba": 400, "kind": "flaky", "fails": 2}])
    dev.control("reset")
    out = tmp_path / "o.cue"
    rip = ["rip", dev.path, str(out), "--format", "bincue"]
    assert cli(*rip, "--max-failed-reads", "1").returncode == 1
    assert Path(f"{out}.sha1").exists()
    cmd = [sys.executable, str(SIGAT), "hash", sig, "--", *rip]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode in (130, -9), r.stderr
    v = cli("verify", str(out))
    assert "MISMATCH" not in v.stdout, v.stdout
    assert v.returncode == 0, v.stdout
    assert cli(*rip).returncode == 0
    v = cli("verify", str(out))
    assert v.returncode == 0 and "sha1 of every file matches" in v.stdout, v.stdout
