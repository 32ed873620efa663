"""A resume must prove that the image, the mapfile and the disc belong together, with evidence.

Seen before these tests: a disc that read nowhere (a different disc of the same size, or one
this drive cannot read at all) "resumed" a finished backup of another disc and said "Backed up",
exit 0, because every sampled sector failed to read and nothing was compared; and an image that
lost a run of sectors (a hole: never written, or punched out) under a mapfile that says they
were rescued was "Backed up" again, its checksum files rewritten to match the hole, so that
verify then called it good.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.conftest import MakeDevice, random_bytes
from tests.integration.test_attack_companions import cli, one_line

SECTOR = 2048
N = 600


def test_a_disc_that_reads_nowhere_does_not_prove_a_foreign_backup(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    a = tmp_path / "a.bin"
    a.write_bytes(random_bytes(N * SECTOR, seed=61))
    out = tmp_path / "out.iso"
    assert cli("rip", str(a), str(out)).returncode == 0
    before = out.read_bytes()
    sidecar = Path(f"{out}.sha1").read_text()
    # Another disc of the same size, in a drive that cannot read a single sector of it.
    dev = make_device(random_bytes(N * SECTOR, seed=62), [{"lba": 0, "count": N, "kind": "bad"}])
    r = cli("rip", dev.path, str(out))
    assert r.returncode == 4, r.stdout
    line = one_line(r)
    assert str(out) in line and "read" in line
    assert "Backed up" not in r.stdout
    assert out.read_bytes() == before
    assert Path(f"{out}.sha1").read_text() == sidecar


def test_the_same_disc_still_resumes_when_most_samples_fail(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """The evidence rule must not refuse a real resume: a badly scratched disc whose sampled
    sectors mostly fail now still has a few that read, and those match."""
    data = random_bytes(N * SECTOR, seed=63)
    dev = make_device(data, [{"lba": 100, "count": 10, "kind": "bad"}])
    out = tmp_path / "out.iso"
    assert cli("rip", dev.path, str(out), "--retries", "0").returncode == 1
    dev.close()
    worse = make_device(data, [{"lba": 0, "count": 560, "kind": "bad"}])  # the first 16 fail
    r = cli("rip", worse.path, str(out))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1, r.stderr
    want = bytearray(data)
    want[100 * SECTOR : 110 * SECTOR] = bytes(10 * SECTOR)
    assert out.read_bytes() == want


def punch(image: Path, first: int, count: int) -> None:
    """Turn sectors ``[first, first + count)`` of ``image`` into a hole: cut the file there and
    write the rest back, as a copy that lost a run of blocks leaves it."""
    data = image.read_bytes()
    with open(image, "r+b") as f:
        f.truncate(first * SECTOR)
        f.truncate(len(data))
        f.seek((first + count) * SECTOR)
        f.write(data[(first + count) * SECTOR :])
    with open(image, "rb") as f:
        assert os.lseek(f.fileno(), first * SECTOR, os.SEEK_HOLE) == first * SECTOR


def test_a_hole_under_rescued_sectors_is_not_resumed_nor_hashed_as_good(tmp_path: Path) -> None:
    src = tmp_path / "disc.bin"
    src.write_bytes(random_bytes(N * SECTOR, seed=64))
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    sidecars = {a: Path(f"{out}.{a}").read_text() for a in ("md5", "sha1", "sha256")}
    punch(out, 310, 40)  # between the sampled sectors
    r = cli("rip", str(src), str(out))
    assert r.returncode == 4, r.stdout
    line = one_line(r)
    assert str(out) in line and "does not hold this disc's data" in line
    assert {a: Path(f"{out}.{a}").read_text() for a in sidecars} == sidecars
    r = cli("verify", str(out))
    assert r.returncode == 3, r.stdout  # the checksum files still tell the truth


def test_a_sparse_copy_of_a_disc_with_zeros_still_resumes(tmp_path: Path) -> None:
    """A hole is not damage when the disc holds zeros there (rsync -S, cp --sparse=always)."""
    disc = bytearray(random_bytes(N * SECTOR, seed=65))
    disc[300 * SECTOR : 400 * SECTOR] = bytes(100 * SECTOR)
    src = tmp_path / "disc.bin"
    src.write_bytes(bytes(disc))
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    punch(out, 300, 100)
    r = cli("rip", str(src), str(out))
    assert r.returncode == 0, r.stderr
    assert hashlib.sha1(out.read_bytes()).hexdigest() == hashlib.sha1(disc).hexdigest()


def test_verify_finds_an_image_cut_short_of_what_its_mapfile_says_was_rescued(
    tmp_path: Path,
) -> None:
    """No filesystem says how long the image must be, and its checksum files stayed behind
    (only the image and its mapfile were copied, to a disk that could not hold all of it)."""
    src = tmp_path / "disc.bin"
    src.write_bytes(random_bytes(N * SECTOR, seed=66))
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    for extra in ("md5", "sha1", "sha256", "report.json"):
        Path(f"{out}.{extra}").unlink()
    with open(out, "r+b") as f:
        f.truncate(500 * SECTOR)
    r = cli("verify", str(out))
    assert r.returncode == 1, r.stdout
    assert "image is good" not in r.stdout
    assert "ends at sector 500" in r.stdout
