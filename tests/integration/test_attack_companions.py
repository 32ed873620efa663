"""The files beside an image, made hostile: pipes, devices, folders, forged or damaged contents.

``verify`` and ``inspect`` read IMAGE.map, IMAGE.report.json, IMAGE.md5/.sha1/.sha256 and
IMAGE.cue on their own. Seen before these tests: a FIFO at any of those names (or ``--map
/dev/zero``) hung ``verify`` forever, deaf to SIGTERM, or read without end. Each must give one
line or a check that says what it is, never a hang.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import random_bytes
from tests.integration.isofixtures import need

SECTOR = 2048
# The progress display's lines on a pipe: "Pass 1 · copying  0.0 %  ...", "Done  100.0 %".
PROGRESS = re.compile(r"^(?!discvault)\S.*?\s{2}\d+\.\d %")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a guard: a hang fails the test (the process is killed), it never blocks."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"discvault {' '.join(args)} hung")


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if not PROGRESS.match(ln)]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("discvault: ") and " — " in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    """A finished backup: image, mapfile, report and checksum files."""
    need("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(300_000, seed=41))
    src = tmp_path / "src.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "SRC", "-o", str(src), str(tree)], check=True
    )
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    return out


def replace_with_fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


@pytest.mark.parametrize("name", [".map"])
def test_verify_refuses_a_fifo_mapfile_beside_the_image(backup: Path, name: str) -> None:
    replace_with_fifo(Path(f"{backup}{name}"))
    r = cli("verify", str(backup))
    assert r.returncode == 4
    assert f"{backup}.map" in one_line(r)


@pytest.mark.parametrize("given", ["fifo", "/dev/zero", "folder"])
def test_verify_refuses_a_map_that_is_not_a_file(backup: Path, tmp_path: Path, given: str) -> None:
    path = tmp_path / given
    if given == "fifo":
        os.mkfifo(path)
    elif given == "folder":
        path.mkdir()
    else:
        path = Path(given)
    r = cli("verify", str(backup), "--map", str(path))
    assert r.returncode == 4
    assert str(path) in one_line(r)


@pytest.mark.parametrize("name", [".sha1", ".md5", ".report.json"])
def test_verify_is_not_held_up_by_a_fifo_checksum_file_or_report(backup: Path, name: str) -> None:
    replace_with_fifo(Path(f"{backup}{name}"))
    r = cli("verify", str(backup))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout  # the image is good; the pipe is named, not trusted
    assert f"{backup.name}{name}" in r.stdout


def test_inspect_is_not_held_up_by_a_fifo_report(backup: Path) -> None:
    replace_with_fifo(Path(f"{backup}.report.json"))
    r = cli("inspect", str(backup))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    assert "'SRC'" in r.stdout


def test_a_huge_file_given_as_the_mapfile_is_refused_at_its_first_line(
    backup: Path, tmp_path: Path
) -> None:
    """Not read whole into memory: a 3 GB sparse file would take 3 GB before failing."""
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(3 << 30)
    r = cli("verify", str(backup), "--map", str(big))
    assert r.returncode == 4
    assert str(big) in one_line(r)
