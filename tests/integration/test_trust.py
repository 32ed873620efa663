"""Never "good" about a wrong image, never destroy what the user did not ask to destroy.

Each case was seen to fail before: an all-zero image resumed and verified "good", a mapfile
from another disc kept its data, the source replaced with JSON, a FIFO that hung forever.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MakeDevice, random_bytes
from tests.integration.isofixtures import need
from tests.integration.test_rip_faults import run_cli

SECTOR = 2048


@pytest.fixture
def iso(tmp_path: Path) -> Path:
    need("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(600_000, seed=3))
    out = tmp_path / "src.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "SRC", "-o", str(out), str(tree)], check=True
    )
    return out


def other_iso(tmp_path: Path, size_like: Path, seed: int) -> Path:
    tree = tmp_path / f"other{seed}"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(600_000, seed=seed))
    out = tmp_path / f"other{seed}.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "OTHER", "-o", str(out), str(tree)], check=True
    )
    assert out.stat().st_size == size_like.stat().st_size  # same size: only content differs
    return out


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


# ---- resume must prove the image, the mapfile and the disc belong together --------------------
def test_deleted_image_is_not_resumed_into_zeros(iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.iso"
    assert run_cli("rip", str(iso), str(out)).returncode == 0
    out.unlink()
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4
    assert "is missing" in one_line(r)
    assert not out.exists()  # and no empty file is left to block the next run
    assert run_cli("verify", str(tmp_path / "out.iso")).returncode == 4


def test_mapfile_of_another_disc_of_the_same_size_is_refused(iso: Path, tmp_path: Path) -> None:
    other = other_iso(tmp_path, iso, seed=4)
    out = tmp_path / "out.iso"
    assert run_cli("rip", str(other), str(out)).returncode == 0
    before = out.read_bytes()
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4
    assert "belongs to another disc" in one_line(r)
    assert out.read_bytes() == before


def test_ddrescue_style_mapfile_with_a_foreign_image_is_refused(iso: Path, tmp_path: Path) -> None:
    """No identity in the mapfile (GNU ddrescue wrote it): sampled sectors must match."""
    other = other_iso(tmp_path, iso, seed=5)
    out = tmp_path / "out.iso"
    shutil.copy(other, out)
    size = iso.stat().st_size
    Path(f"{out}.map").write_text(f"0x0 +\n0x0 {size:#x} +\n")
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4
    assert "does not hold this disc's data" in one_line(r)


def test_smaller_disc_mapfile_is_refused(iso: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.iso"
    small.write_bytes(iso.read_bytes()[: 40 * SECTOR])
    out = tmp_path / "out.iso"
    run_cli("rip", str(small), str(out))
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4 and "belongs to another disc" in one_line(r)


def test_truncated_image_is_not_resumed(iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.iso"
    run_cli("rip", str(iso), str(out))
    with open(out, "r+b") as f:
        f.truncate(10 * SECTOR)
    r = run_cli("rip", str(iso), str(out))
    assert r.returncode == 4 and "shorter than" in one_line(r)


# ---- outputs: never the source, never each other, never half-made ---------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--report", "{src}"],
        ["--report", "{out}"],
        ["--map", "{out}"],
        ["--map", "{src}", "--force"],
    ],
)
def test_an_output_equal_to_the_source_or_another_output_is_a_usage_error(
    iso: Path, tmp_path: Path, args: list[str]
) -> None:
    out = tmp_path / "x.iso"
    before = iso.read_bytes()
    r = run_cli("rip", str(iso), str(out), *[a.format(src=iso, out=out) for a in args])
    assert r.returncode == 2, r.stderr
    one_line(r)
    assert iso.read_bytes() == before
    assert not out.exists()


def test_rip_onto_its_own_source_is_refused_even_with_force(iso: Path) -> None:
    before = hashlib.sha1(iso.read_bytes()).hexdigest()
    r = run_cli("rip", str(iso), str(iso), "--force")
    assert r.returncode == 2 and "is the source itself" in one_line(r)
    assert hashlib.sha1(iso.read_bytes()).hexdigest() == before


def test_a_foreign_existing_report_is_not_overwritten_without_force(
    iso: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    r = run_cli("rip", str(iso), str(tmp_path / "o.iso"), "--report", str(notes))
    assert r.returncode == 4 and "not this backup's report" in one_line(r)
    assert notes.read_text() == "my notes\n"


def test_mapfile_in_a_missing_folder_leaves_nothing_behind(iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.iso"
    r = run_cli("rip", str(iso), str(out), "--map", str(tmp_path / "nowhere" / "o.map"))
    assert r.returncode == 4 and "does not exist" in one_line(r)
    assert not out.exists()


def test_not_enough_space_leaves_no_empty_image(make_device: MakeDevice, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        dev = make_device(random_bytes(4096 * SECTOR), [])
        r = run_cli("rip", dev.path, str(small / "big.iso"))
        assert r.returncode == 4 and "not enough space" in one_line(r)
        assert os.listdir(small) == []
        r = run_cli("rip", dev.path, str(small / "big.iso"))  # the next run says the same
        assert "not enough space" in one_line(r)
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_two_rips_to_one_image_at_once_the_second_is_refused(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(4000 * SECTOR, seed=8)
    dev = make_device(data, [{"lba": 0, "count": 4000, "kind": "slow", "delay": 0.3}])
    out = tmp_path / "o.iso"
    first = subprocess.Popen(
        [sys.executable, "-m", "app", "rip", dev.path, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not Path(f"{out}.map").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 4 and "already writing" in one_line(r)
    assert first.wait(120) == 0
    assert out.read_bytes() == data


@pytest.mark.parametrize("command", ["rip", "verify-against"])
def test_a_fifo_is_refused_up_front(tmp_path: Path, iso: Path, command: str) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    args = (
        ["rip", str(fifo), str(tmp_path / "o.iso")]
        if command == "rip"
        else ["verify", str(iso), "--against", str(fifo)]
    )
    r = subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 4 and "FIFO" in one_line(r)


def test_broken_pipe_on_stdout_is_not_a_traceback(iso: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        f"{sys.executable} -m app rip {iso} {tmp_path / 'o.iso'} | true",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert (tmp_path / "o.iso").read_bytes() == iso.read_bytes()


def test_odd_sized_source_says_what_was_left_out(tmp_path: Path) -> None:
    src = tmp_path / "odd.bin"
    src.write_bytes(random_bytes(100 * SECTOR + 832))
    out = tmp_path / "o.iso"
    r = run_cli("rip", str(src), str(out))
    assert r.returncode == 0
    assert "last 832 bytes are not a whole sector" in r.stdout
    doc = json.loads(Path(f"{out}.report.json").read_text())
    assert doc["source"]["trailing_bytes"] == 832


# ---- verify: never "good" about a wrong image ------------------------------------------------
def test_verify_against_dev_zero_is_refused(iso: Path) -> None:
    r = run_cli("verify", str(iso), "--against", "/dev/zero")
    assert r.returncode == 4 and "character device" in one_line(r)


def test_verify_against_a_smaller_source_is_a_mismatch(iso: Path, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.bin"
    tiny.write_bytes(iso.read_bytes()[:SECTOR])
    r = run_cli("verify", str(iso), "--against", str(tiny))
    assert r.returncode == 3, r.stdout
    assert "have nothing to be compared with" in r.stdout


def test_appended_bytes_are_named_and_the_sidecar_check_agrees_with_sha1sum(
    iso: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.iso"
    run_cli("rip", str(iso), str(out))
    with open(out, "ab") as f:
        f.write(b"x" * 100)
    peer = subprocess.run(["sha1sum", "-c", f"{out}.sha1"], cwd=tmp_path, capture_output=True)
    r = run_cli("verify", str(out))
    assert peer.returncode != 0 and r.returncode == 3
    assert "100 extra bytes past the last sector" in r.stdout
    assert "sha1 differs" in r.stdout


def test_udf_only_image_cut_short_is_not_whole_for_verify_or_inspect(tmp_path: Path) -> None:
    need("mkudffs")
    img = tmp_path / "udf.img"
    img.write_bytes(bytes(8192 * SECTOR))
    subprocess.run(
        ["mkudffs", "--media-type=hd", "--blocksize=2048", str(img)],
        check=True,
        capture_output=True,
    )
    with open(img, "r+b") as f:
        f.truncate(1000 * SECTOR)
    v = run_cli("verify", str(img))
    i = run_cli("inspect", str(img))
    assert v.returncode == 1 and "truncated" in v.stdout
    assert "TRUNCATED" in i.stdout


def test_report_whose_hashes_is_not_an_object_is_no_traceback(iso: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.iso"
    run_cli("rip", str(iso), str(out))
    rep = Path(f"{out}.report.json")
    doc = json.loads(rep.read_text())
    doc["hashes"] = ["not", "an", "object"]
    rep.write_text(json.dumps(doc))
    r = run_cli("verify", str(out))
    assert "Traceback" not in r.stderr and r.returncode == 0, r.stderr
    assert "is not a list of checksums" in r.stdout
