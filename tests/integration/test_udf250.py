"""UDF 2.50 with a metadata partition, as on Blu-ray data discs.

No tool here writes one (see tests/udf250.py), so the image comes from our own writer and is
trusted only because 7-Zip and libudfread read the same files and bytes from it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from tests.integration import isofixtures as fx
from tests.integration import udfread
from tests.integration.test_rip_faults import run_cli
from tests.udf250 import write_udf250


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.make_tree(tmp_path_factory.mktemp("tree") / "src")


@pytest.fixture(scope="module")
def plain_tree(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 7-Zip refuses a whole UDF image that holds a symlink; pressed BDs hold none.
    out = tmp_path_factory.mktemp("plain") / "src"
    shutil.copytree(tree, out, symlinks=True)
    shutil.rmtree(out / "links")
    return out


def test_bd_layout_lists_as_7z_and_libudfread_read_it(plain_tree: Path, tmp_path: Path) -> None:
    iso = write_udf250(plain_tree, tmp_path / "bd.iso")
    i = open_image(str(iso))
    assert i.formats == ["UDF 2.50"]
    assert [v["metadata_partition"] for v in i.volumes if v["kind"] == "udf"] == [True]
    assert i.whole and i.problems == []
    fx.need("udfinfo")
    info = subprocess.run(["udfinfo", str(iso)], capture_output=True, text=True, check=True)
    assert "udfrev=2.50" in info.stdout and "Warning" not in info.stderr, info.stderr
    mine = {n.path.lstrip("/"): (n.is_dir, n.size) for n in i.walk()}
    assert mine == fx.seven_zip_listing(iso)
    theirs = udfread.listing(iso)
    assert mine == {p: (d, s) for p, (d, s, _) in theirs.items()}
    out = tmp_path / "x"
    assert extract(i, None, str(out)).refused == []
    for p, (is_dir, _, data) in theirs.items():
        if not is_dir:
            assert (out / p).read_bytes() == data == (plain_tree / p).read_bytes(), p


def test_split_metadata_file_and_links_extract_to_the_same_tree(tree: Path, tmp_path: Path) -> None:
    """A metadata file in two extents, out of order, directories straddling the split: 7-Zip
    and libudfread read only the first extent, so the source tree itself is the oracle."""
    iso = write_udf250(tree, tmp_path / "split.iso", split_metadata=True)
    i = open_image(str(iso))
    assert i.problems == []
    ok = i.find("/links/ok")
    assert ok is not None and ok.kind == "symlink" and ok.target == "../README.txt"
    out = tmp_path / "x"
    res = extract(i, None, str(out))
    assert sorted(p for p, _ in res.refused) == ["/links/abs", "/links/up"]
    for src in tree.rglob("*"):
        rel = src.relative_to(tree)
        if src.is_symlink():
            if str(rel) == "links/ok":
                assert os.readlink(out / rel) == "../README.txt"
        elif src.is_file():
            assert (out / rel).read_bytes() == src.read_bytes(), rel
            assert (out / rel).stat().st_mtime == pytest.approx(src.stat().st_mtime, abs=1)


def test_a_file_kept_in_its_entry_is_damaged_with_that_sector(
    plain_tree: Path, tmp_path: Path
) -> None:
    iso = write_udf250(plain_tree, tmp_path / "bd.iso")
    i = open_image(str(iso))
    readme = i.find("/README.txt")
    assert readme is not None and readme.inline == b"read me\n"
    ((lba, ln),) = readme.extents
    assert ln == 8
    # Only the entry's sector is unreadable.
    mp = fx.map_with_hole(tmp_path / "bd.map", i.sectors * 2048, lba * 2048, 2048)
    r = run_cli("inspect", str(iso), "--json", "--files", "--map", str(mp))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["damaged"] == [{"path": "/README.txt", "kind": "file", "unreadable_bytes": 8}]
    (entry,) = [f for f in doc["files"] if f["path"] == "/README.txt"]
    assert entry["embedded"] is True and entry["extents"] == [{"lba": lba, "bytes": 8}]
