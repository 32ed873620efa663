"""Truncated and broken images: no partial file is ever left, files past the end are marked,
conflicts follow a policy (or the user's answer, once or for all), and `inspect` sums up its
problems per kind instead of one line per entry."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from app.core.base.events import Cancelled, CancelToken, Progress
from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("trunc")
    tree = fx.make_tree(d / "tree")
    return tree, fx.build("geniso_rr_joliet", tree, d / "base.iso")


def cut_inside(iso: Path, out: Path) -> tuple[Path, str]:
    """The image cut 10 sectors into its last big file: (the cut image, that file's path)."""
    i = open_image(str(iso))
    node = max((n for n in i.walk() if n.size > 20 * 2048), key=lambda n: n.extents[0][0])
    out.write_bytes(iso.read_bytes()[: (node.extents[0][0] + 10) * 2048])
    return out, node.path


def leftovers(out: Path) -> list[str]:
    return [n for _, _, files in os.walk(out) for n in files if n.startswith(".discvault-")]


def test_a_file_past_the_end_leaves_nothing_behind(base: tuple[Path, Path], tmp_path: Path) -> None:
    _, iso = base
    cut, big = cut_inside(iso, tmp_path / "cut.iso")
    whole = open_image(str(cut)).find("/README.txt")  # lies before the cut
    assert whole is not None
    out = tmp_path / "out"
    r = run_cli("extract", str(cut), big, whole.path, "-o", str(out))
    assert r.returncode == 4
    assert sorted(os.listdir(out)) == [whole.name]  # no 0-byte or partial file
    assert r.stderr.startswith(f"discvault: {big}: could not extract: ")
    assert "past the end of the image (the image is truncated)" in r.stderr
    assert whole.size == (out / whole.name).stat().st_size
    # Written over an existing file, a failed extraction keeps the old one whole.
    name = big.rsplit("/", 1)[1]
    (out / name).write_bytes(b"old")
    res = extract(open_image(str(cut)), [big], str(out), conflict="replace")
    assert len(res.refused) == 1 and (out / name).read_bytes() == b"old"
    assert leftovers(out) == []


def test_files_past_the_end_are_marked(base: tuple[Path, Path], tmp_path: Path) -> None:
    _, iso = base
    cut, big = cut_inside(iso, tmp_path / "cut.iso")
    i = open_image(str(cut))
    data = i.find(big)
    assert data is not None and data.missing == data.size - 10 * 2048
    readme = i.find("/README.txt")
    assert readme is not None and readme.missing == 0
    r = run_cli("inspect", str(cut), "--json", "--files")
    files = {f["path"]: f for f in json.loads(r.stdout)["files"]}
    assert files[big]["missing_bytes"] == data.missing
    assert "missing_bytes" not in files["/README.txt"]
    past = {p for p, f in files.items() if f.get("missing_bytes")}
    r = run_cli("inspect", str(cut), "--files")
    marked = {
        ln.split("  [PAST THE END")[0].split()[-1]
        for ln in r.stdout.splitlines()
        if "[PAST THE END" in ln
    }
    assert marked == past and big in marked
    assert f"  {len(past)} file(s) lie past the end of the image, e.g. " in r.stdout


def test_the_conflict_policy_asks_once_or_for_all(base: tuple[Path, Path], tmp_path: Path) -> None:
    tree, iso = base
    i = open_image(str(iso))
    out = tmp_path / "out"
    extract(i, ["/docs"], str(out))
    for k in range(30):
        (out / "docs" / f"note_{k:02d}.txt").write_text("mine")
    asked: list[str] = []

    def ask(path: str, dest: str) -> tuple[str, bool]:
        asked.append(path)
        assert dest == str(out / "docs" / os.path.basename(path)) and os.path.exists(dest)
        if len(asked) == 1:
            return "rename", False  # this one only
        return "replace", True  # and every later one

    res = extract(i, ["/docs"], str(out), conflict=ask)
    assert len(asked) == 2 and res.refused == []
    assert len(res.renamed) == 1 and len(res.replaced) == 29
    renamed_path, renamed_to = res.renamed[0]
    assert Path(renamed_to).read_bytes() == (tree / renamed_path.lstrip("/")).read_bytes()
    assert (out / renamed_path.lstrip("/")).read_text() == "mine"
    for k in range(30):
        p = out / "docs" / f"note_{k:02d}.txt"
        if f"/docs/note_{k:02d}.txt" != renamed_path:
            assert p.read_bytes() == (tree / "docs" / p.name).read_bytes()
    assert leftovers(out) == []


def test_inspect_sums_problems_up_per_kind(base: tuple[Path, Path], tmp_path: Path) -> None:
    """Every one of 30 folders broken: one line for all of them, with the count and an
    example, not 30 lines."""
    tree = tmp_path / "tree"
    for k in range(30):
        (tree / f"d{k:02d}").mkdir(parents=True)
        (tree / f"d{k:02d}" / "f.txt").write_text("f")
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "dirs.iso")
    data = bytearray(iso.read_bytes())
    i = open_image(str(iso))
    for d in i.children(i.root):
        ((lba, _),) = d.extents
        rec = lba * 2048 + data[lba * 2048] + data[lba * 2048 + data[lba * 2048]]  # after . ..
        data[rec] = 20  # a record length no record can have
    broken = tmp_path / "broken.iso"
    broken.write_bytes(bytes(data))
    r = run_cli("inspect", str(broken))
    assert r.returncode == 4
    (line,) = r.stderr.splitlines()
    assert line.startswith("discvault: 30 folder(s) hold malformed records")
    assert re.search(r"; e.g. /d\d\d: malformed directory record at byte \d+ — ", line)
    doc = json.loads(run_cli("inspect", str(broken), "--json", "--files").stdout)
    assert len(doc["problems"]) == 30
    ((summary),) = doc["problem_summary"]
    assert summary["kind"] == "malformed" and summary["count"] == 30


def test_cancelled_mid_file_leaves_no_partial_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "big.bin").write_bytes(os.urandom(3 << 20))
    iso = fx.build_xorriso(src, tmp_path / "src.iso")
    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.message == "/big.bin":
            token.cancel()  # after its first MiB

    out = tmp_path / "out"
    with pytest.raises(Cancelled):
        extract(open_image(str(iso)), None, str(out), progress, token)
    assert os.listdir(out) == ["a.txt"]
