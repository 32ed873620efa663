"""Outputs under attack: what lies beside OUT.iso must never make a backup write elsewhere.

Every file a backup writes is first written under ``NAME.tmp`` and renamed into place. That
temporary name sits in the output folder, where anyone who can write there can put something
first: a link to the source (or to the image) must be replaced, never written through.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MakeDevice, random_bytes
from tests.integration.isofixtures import need
from tests.integration.test_attack_companions import one_line
from tests.integration.test_rip_faults import run_cli

SECTOR = 2048


def sha1(p: Path) -> str:
    return hashlib.sha1(p.read_bytes()).hexdigest()


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


# ---- every failure to write says which file and what to do, and a rip that cannot start leaves
# ---- no file behind ----------------------------------------------------------------------------
def says_what_to_do(r: subprocess.CompletedProcess[str], name: str) -> str:
    line = one_line(r)
    assert line.startswith("discvault: ") and " — " in line, line
    assert name in line, line
    return line


def test_a_folder_at_the_mapfiles_temporary_name_is_named_and_nothing_is_left(
    iso: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.iso"
    Path(f"{out}.map.tmp").mkdir()
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4
    says_what_to_do(r, f"{out}.map.tmp")
    assert not out.exists()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    ro = tmp_path / "ro"
    ro.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)])
    if r.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    yield ro
    subprocess.run(["umount", "-l", str(ro)], check=False)


def test_an_image_in_a_read_only_folder_says_what_to_do(iso: Path, read_only: Path) -> None:
    r = run_cli("rip", str(iso), str(read_only / "o.iso"))
    assert r.returncode == 4
    says_what_to_do(r, str(read_only / "o.iso"))


def test_a_mapfile_in_a_read_only_folder_leaves_no_image(
    iso: Path, tmp_path: Path, read_only: Path
) -> None:
    out = tmp_path / "o.iso"
    r = run_cli("rip", str(iso), str(out), "--map", str(read_only / "o.map"))
    assert r.returncode == 4
    says_what_to_do(r, str(read_only / "o.map"))
    assert not out.exists()


def test_a_checksum_file_that_cannot_be_written_is_the_one_named(iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.iso"
    Path(f"{out}.sha1.tmp").mkdir()
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4
    line = says_what_to_do(r, f"{out}.sha1")
    assert "report" not in line
    assert out.read_bytes() == iso.read_bytes()
    assert Path(f"{out}.report.json").exists()


def test_a_disc_pulled_during_the_identity_probe_says_what_to_do(
    make_device: MakeDevice, iso: Path, tmp_path: Path
) -> None:
    dev = make_device(iso.read_bytes(), [{"lba": 16, "kind": "slow", "delay": 3}])
    out = tmp_path / "o.iso"
    rip = subprocess.Popen(
        [sys.executable, "-m", "app", "rip", dev.path, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The image is created (and locked) just before the disc's descriptors are read; the
    # slow LBA 16 holds the probe there while the disc goes.
    while not out.exists() and rip.poll() is None:
        time.sleep(0.01)
    dev.vanish()
    stdout, stderr = rip.communicate(timeout=120)
    r = subprocess.CompletedProcess(rip.args, rip.returncode, stdout, stderr)
    assert r.returncode == 4, stdout + stderr
    says_what_to_do(r, dev.path)
    assert not out.exists() and not Path(f"{out}.map").exists()


def test_a_report_in_a_read_only_folder_is_refused_before_reading_the_disc(
    iso: Path, tmp_path: Path, read_only: Path
) -> None:
    """Not after an hour of rescue: the folder is checked first, and nothing is left."""
    out = tmp_path / "o.iso"
    r = run_cli("rip", str(iso), str(out), "--report", str(read_only / "r.json"))
    assert r.returncode == 4
    says_what_to_do(r, str(read_only))
    assert not out.exists() and not Path(f"{out}.map").exists()
