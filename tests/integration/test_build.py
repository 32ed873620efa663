"""`discvault build`, read back by xorriso, 7z, isoinfo and our own inspector."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from tests.conftest import random_bytes, require_tool
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli


def source_tree(root: Path) -> Path:
    fx.make_tree(root)
    (root / "links" / "abs").unlink()  # keep only links that make sense on a disc
    (root / "links" / "up").unlink()
    (
        root / "Ünïcødé name — long enough to need more than sixty-four Joliet characters.txt"
    ).write_text("unicode\n")
    (root / "Same.txt").write_text("upper")
    (root / "same.TXT").write_text("lower")  # collides in ISO 9660 and when case is ignored
    (root / ".hidden").write_text("h")
    return root


def regular_files(tree: Path) -> dict[str, bytes]:
    out = {}
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink():
            out["/" + p.relative_to(tree).as_posix()] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("build")
    tree = source_tree(d / "src")
    out = d / "out.iso"
    r = run_cli("build", str(tree), str(out), "--label", "My Photos", "--boot", "boot/boot.img")
    assert r.returncode == 0, r.stderr
    return tree, out


def test_our_inspector_reads_back_every_byte_name_and_link(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    tree, iso = built
    i = open_image(str(iso))
    assert i.volume_id == "MY_PHOTOS" and "Rock Ridge" in i.formats
    res = extract(i, None, str(tmp_path / "x"))
    # Same.txt and same.TXT are both on the disc (Rock Ridge keeps case); extracting both
    # would overwrite one with the other on Windows and macOS, so the second is refused.
    assert [p for p, _ in res.refused] == ["/same.TXT"]
    got = regular_files(tmp_path / "x")
    got.pop("/boot.catalog")
    want = regular_files(tree)
    del want["/same.TXT"]
    assert got == want
    node = i.find("/same.TXT")
    assert node is not None and node.size == 5
    assert os.readlink(tmp_path / "x" / "links" / "ok") == "../README.txt"


def test_xorriso_and_7z_list_the_same_files(built: tuple[Path, Path]) -> None:
    tree, iso = built
    want = {p: len(b) for p, b in regular_files(tree).items()}
    fx.need("xorriso")
    out = subprocess.run(
        ["xorriso", "-indev", str(iso), "-find", "/", "-type", "f", "-exec", "lsdl", "--"],
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("-"):
            parts = line.split(None, 8)
            found[parts[8].strip("'")] = int(parts[4])
    found.pop("/boot.catalog", None)
    assert found == want
    seven = {
        ("/" + p): size
        for p, (is_dir, size) in fx.seven_zip_listing(iso).items()
        if not is_dir and not p.startswith("[BOOT]")
    }
    seven.pop("/boot.catalog", None)
    # 7z reads Joliet, whose names pycdlib cuts at 32 characters and makes unique (same.TXT~1);
    # Rock Ridge keeps them whole. Every short, unique name must match exactly.
    for path, size in want.items():
        if all(len(part) <= 24 for part in path.split("/")) and path != "/same.TXT":
            assert seven[path] == size, path
    assert sorted(seven.values()) == sorted(want.values())


def test_isoinfo_and_el_torito(built: tuple[Path, Path]) -> None:
    _, iso = built
    require_tool("isoinfo", "xorriso")
    r = subprocess.run(["isoinfo", "-d", "-i", str(iso)], capture_output=True, text=True)
    assert "Volume id: MY_PHOTOS" in r.stdout and "Rock Ridge" in r.stdout
    eltorito = subprocess.run(
        ["xorriso", "-indev", str(iso), "-report_el_torito", "plain"],
        capture_output=True,
        text=True,
    ).stdout
    assert "/boot/boot.img" in eltorito


def test_refusals_write_nothing(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a.txt").write_text("a")
    os.mkfifo(tree / "pipe")
    out = tmp_path / "o.iso"
    r = run_cli("build", str(tree), str(out))
    assert r.returncode == 4 and "pipe: not a regular file" in r.stderr
    assert not out.exists() and not Path(str(out) + ".part").exists()
    (tree / "pipe").unlink()
    r = run_cli("build", str(tree), str(out), "--label", "bad/label!")
    assert r.returncode == 4 and "volume label" in r.stderr
    with open(tree / "big.bin", "wb") as f:  # sparse: costs nothing to make
        f.truncate(800 * 1000 * 1000)
    r = run_cli("build", str(tree), str(out), "--media", "cd")
    assert r.returncode == 4 and "a cd holds" in r.stderr
    assert not out.exists()
    out.write_text("mine")
    (tree / "big.bin").unlink()
    r = run_cli("build", str(tree), str(out))
    assert r.returncode == 4 and "--force" in r.stderr and out.read_text() == "mine"


def test_hidden_files_left_out_on_request(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / ".secret").write_text("s")
    (tree / "seen.txt").write_bytes(random_bytes(5000))
    out = tmp_path / "h.iso"
    assert run_cli("build", str(tree), str(out), "--no-hidden").returncode == 0
    names = {n.name for n in open_image(str(out)).walk()}
    assert names == {"seen.txt"}
