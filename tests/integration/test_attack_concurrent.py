"""The same image used by two commands at once: rip and verify, rip and rip.

Seen before these tests: a verify run while a backup was still writing the image (resuming an
incomplete backup, or writing its report and checksum files) compared the changing image with
the previous run's checksum files and said "MISMATCH: the image is not what it should be" (exit
3) about an image that was fine, or "incomplete" about one a second later complete. A backup
holds its image's lock from start to the last checksum file; a verify takes the lock shared
and refuses while a backup holds it, and a backup refuses while a verify reads.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import MakeDevice, random_bytes
from tests.integration.test_attack_companions import cli, one_line

SECTOR = 2048
SIGAT = Path(__file__).resolve().parents[1] / "sigat.py"
Start = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def start() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start the CLI in the background; whatever a test leaves running is stopped after it
    (a failed assertion must not leave a process holding a fault device)."""
    procs: list[subprocess.Popen[str]] = []

    def run(*args: str, pause_at: str = "") -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "app", *args]
        if pause_at:
            cmd = [sys.executable, str(SIGAT), pause_at, "PAUSE", "--", *args]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        return p

    yield run
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate()


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)


def test_verify_refuses_while_a_backup_writes_the_image(
    make_device: MakeDevice, tmp_path: Path, start: Start
) -> None:
    data = random_bytes(3000 * SECTOR, seed=71)
    dev = make_device(data, [{"lba": 0, "count": 3000, "kind": "slow", "delay": 0.2}])
    out = tmp_path / "o.iso"
    rip = start("rip", dev.path, str(out))
    wait_for(Path(f"{out}.map"), rip)
    r = cli("verify", str(out))
    assert r.returncode == 4, r.stdout
    assert "writing" in one_line(r)
    assert rip.wait(300) == 0
    assert out.read_bytes() == data
    assert cli("verify", str(out)).returncode == 0


def test_verify_refuses_while_a_backup_writes_its_checksum_files(
    make_device: MakeDevice, tmp_path: Path, start: Start
) -> None:
    """The rescue is over but the report and checksum files are not written yet: the image is
    new, the checksum files beside it are the previous run's."""
    data = random_bytes(800 * SECTOR, seed=72)
    dev = make_device(data, [{"lba": 400, "kind": "flaky", "fails": 2}])
    dev.control("reset")  # the kernel's own probe of a new device read it: flaky again
    out = tmp_path / "o.iso"
    # A first run stopped by its budget at the flaky sector: an incomplete image, with its
    # checksum files. The next run reads the rest: the image changes.
    assert cli("rip", dev.path, str(out), "--max-failed-reads", "1").returncode == 1
    rip = start("rip", dev.path, str(out), pause_at="report")
    flag = Path(f"{out}.paused")
    wait_for(flag, rip)
    r = cli("verify", str(out))
    flag.unlink()
    assert rip.wait(300) == 0, rip.communicate()
    assert r.returncode == 4, r.stdout
    assert "writing" in one_line(r)
    r = cli("verify", str(out))
    assert r.returncode == 0, r.stdout


def test_a_backup_refuses_while_a_verify_reads_the_image(
    make_device: MakeDevice, tmp_path: Path, start: Start
) -> None:
    data = random_bytes(3000 * SECTOR, seed=73)
    src = tmp_path / "disc.bin"
    src.write_bytes(data)
    out = tmp_path / "o.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    slow = make_device(data, [{"lba": 0, "count": 3000, "kind": "slow", "delay": 0.2}])
    ver = start("verify", str(out), "--against", slow.path)
    while "verified" not in (line := ver.stderr.readline() if ver.stderr else ""):
        assert line or ver.poll() is None, ver.communicate()
    r = cli("rip", str(src), str(out))
    assert r.returncode == 4, r.stdout
    assert str(out) in one_line(r)
    assert ver.wait(300) == 0
