"""Names on a built image: labels, names that are not UTF-8, and deep folders (rr_moved)."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from app.core.create.names import LabelError, normalise_label, suggest_label
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli


def xorriso_paths(iso: Path) -> set[bytes]:
    fx.need("xorriso")
    out = subprocess.run(
        ["xorriso", "-indev", str(iso), "-find", "/"], capture_output=True, check=True
    ).stdout
    return {line.strip(b"'") for line in out.splitlines()}


def test_a_folder_name_with_dots_and_spaces_gives_a_valid_label(tmp_path: Path) -> None:
    tree = tmp_path / "my.folder v2"
    tree.mkdir()
    (tree / "a.txt").write_text("a")
    out = tmp_path / "o.iso"
    r = run_cli("build", str(tree), str(out))
    assert r.returncode == 0, r.stderr
    fx.need("isoinfo")
    info = subprocess.run(["isoinfo", "-d", "-i", str(out)], capture_output=True, text=True)
    assert "Volume id: MY_FOLDER_V2" in info.stdout


def test_every_suggested_label_passes_the_label_rule() -> None:
    rng = random.Random(7)
    alphabet = "aZ09 ._-éßü€😀\udcff/\\:;!\t"
    names = ["python3.11", "my.folder v2", "", "...", "😀", "\udcff\udcfe", "x" * 80, "Ünïcødé"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    for name in names:
        label = suggest_label(name)
        assert normalise_label(label) == label, name
    assert suggest_label("python3.11") == "PYTHON3_11"
    assert suggest_label("Café Photos") == "CAFE_PHOTOS"
    with pytest.raises(LabelError, match="letters A-Z"):
        normalise_label("bad/label!")


@pytest.fixture
def undecodable_tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    b = os.fsencode(root)
    with open(b + b"/caf\xe9.txt", "wb") as f:  # Latin-1 "café.txt": not UTF-8
        f.write(b"latin-1 name")
    os.mkdir(b + b"/d\xff\xfe")
    with open(b + b"/d\xff\xfe/inner.txt", "wb") as f:
        f.write(b"inner")
    with open(b + b"/caf_.txt", "wb") as f:  # what the Joliet name of caf\xe9.txt would be
        f.write(b"real underscore")
    os.symlink(b"d\xff\xfe/inner.txt", b + b"/link\xe9")
    return root


def test_names_that_are_not_utf8_are_kept_in_rock_ridge(
    undecodable_tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.iso"
    r = run_cli("build", str(undecodable_tree), str(out), "--udf")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "caf\\xe9.txt" in r.stdout and "not UTF-8" in r.stdout  # named, escaped
    assert xorriso_paths(out) == {
        b"/",
        b"/caf\xe9.txt",
        b"/caf_.txt",
        b"/d\xff\xfe",
        b"/d\xff\xfe/inner.txt",
        b"/link\xe9",
    }
    fx.need("xorriso")
    dest = tmp_path / "x"
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", str(out), "-extract", "/", str(dest)],
        capture_output=True,
        check=True,
    )
    d = os.fsencode(dest)
    assert Path(os.fsdecode(d + b"/caf\xe9.txt")).read_bytes() == b"latin-1 name"
    assert Path(os.fsdecode(d + b"/caf_.txt")).read_bytes() == b"real underscore"
    assert os.readlink(d + b"/link\xe9") == b"d\xff\xfe/inner.txt"
    assert Path(os.fsdecode(d + b"/link\xe9")).read_bytes() == b"inner"
    # Joliet (7-Zip without UDF) and UDF (7-Zip with UDF) show safe, unique names.
    for udf in ([], ["--udf"]):
        out2 = tmp_path / f"j{len(udf)}.iso"
        assert run_cli("build", str(undecodable_tree), str(out2), *udf).returncode == 0
        files = {p for p, (is_dir, _) in fx.seven_zip_listing(out2).items() if not is_dir}
        assert len(files) == 3 and "caf_.txt" in files and "d__/inner.txt" in files, files


def deep_tree(root: Path, depth: int) -> Path:
    p = root
    for i in range(depth):
        p = p / f"level{i}"
        p.mkdir(parents=True)
        (p / f"file{i}.txt").write_text(f"at depth {i}\n")
    return root


def test_deep_folders_are_relocated_out_of_sight(tmp_path: Path) -> None:
    tree = deep_tree(tmp_path / "src", 11)
    out = tmp_path / "deep.iso"
    r = run_cli("build", str(tree), str(out), "--udf")
    assert r.returncode == 0, r.stderr
    want = {b"/"} | {b"/" + p.relative_to(tree).as_posix().encode() for p in tree.rglob("*")}
    assert xorriso_paths(out) == want  # no rr_moved in the Rock Ridge view
    fx.need("isoinfo")
    plain = subprocess.run(["isoinfo", "-l", "-i", str(out)], capture_output=True, text=True)
    assert "Directory listing of /RR_MOVED/" in plain.stdout  # relocated in ISO 9660 terms
    rr = subprocess.run(["isoinfo", "-R", "-l", "-i", str(out)], capture_output=True, text=True)
    assert " rr_moved" not in rr.stdout  # isoinfo ignores RE: the name it sees is hidden
    dest = tmp_path / "x"
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", str(out), "-extract", "/", str(dest)],
        capture_output=True,
        check=True,
    )
    # CL/PL/RE right: every file comes back at its own place with its own bytes.
    got = {p.relative_to(dest).as_posix(): p.read_text() for p in dest.rglob("*.txt")}
    assert got == {p.relative_to(tree).as_posix(): p.read_text() for p in tree.rglob("*.txt")}
    seven = {p for p, (is_dir, _) in fx.seven_zip_listing(out).items()}
    assert not any("rr_moved" in p.lower() for p in seven)


def test_a_shallow_tree_has_no_relocation_folder(tmp_path: Path) -> None:
    tree = deep_tree(tmp_path / "src", 7)
    out = tmp_path / "shallow.iso"
    assert run_cli("build", str(tree), str(out)).returncode == 0
    fx.need("isoinfo")
    plain = subprocess.run(["isoinfo", "-l", "-i", str(out)], capture_output=True, text=True)
    assert "RR_MOVED" not in plain.stdout


def test_a_thousand_names_alike_stay_unique(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    for i in range(1000):
        (tree / f"holiday photograph from the summer of 2019 number {i:04d}.jpg").write_text("")
    out = tmp_path / "same.iso"
    assert run_cli("build", str(tree), str(out)).returncode == 0
    assert len(xorriso_paths(out)) == 1001
    assert len(fx.seven_zip_listing(out)) == 1000  # Joliet names, cut at 32, made unique
