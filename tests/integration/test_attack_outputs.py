"""Outputs under attack: what lies beside OUT.iso must never make a backup write elsewhere.

Every file a backup writes is first written under ``NAME.tmp`` and renamed into place. That
temporary name sits in the output folder, where anyone who can write there can put something
first: a link to the source (or to the image) must be replaced, never written through.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import random_bytes
from tests.integration.isofixtures import need
from tests.integration.test_rip_faults import run_cli

SECTOR = 2048


def sha1(p: Path) -> str:
    return hashlib.sha1(p.read_bytes()).hexdigest()


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    need("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(300_000, seed=31))
    out = tmp_path / "src.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "SRC", "-o", str(out), str(tree)], check=True
    )
    return out


@pytest.mark.parametrize("companion", [".map", ".report.json", ".sha1", ".md5", ".sha256"])
def test_a_link_at_a_temporary_name_is_never_written_through(
    iso: Path, tmp_path: Path, companion: str
) -> None:
    src = tmp_path / "disc.iso"
    src.write_bytes(iso.read_bytes())
    before = sha1(src)
    out = tmp_path / "out.iso"
    trap = Path(f"{out}{companion}.tmp")
    trap.symlink_to(src)
    r = run_cli("rip", str(src), str(out))
    assert "Traceback" not in r.stderr, r.stderr
    assert sha1(src) == before, "the source was written through a link at a temporary name"
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == src.read_bytes()
    assert not trap.is_symlink() or os.readlink(trap) != str(src)


def test_a_link_from_the_mapfiles_temporary_name_to_the_image_leaves_the_image_whole(
    iso: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.iso"
    assert run_cli("rip", str(iso), str(out)).returncode == 0
    Path(f"{out}.map.tmp").symlink_to(out)
    r = run_cli("rip", str(iso), str(out))  # a resume: nothing left to read
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == iso.read_bytes()
    r = run_cli("verify", str(out))
    assert r.returncode == 0, r.stdout
