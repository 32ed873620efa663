"""Inspection of images made by genisoimage, xorriso and mkudffs, checked against 7z/xorriso."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import Inspection, open_image
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli

KINDS = [
    "geniso_rr_joliet",
    "geniso_joliet",
    "xorriso_eltorito",
    "geniso_udf_bridge",
    "xorriso_zisofs",
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.make_tree(tmp_path_factory.mktemp("tree") / "src")


@pytest.fixture(scope="module")
def images(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("isos")
    return {k: fx.build(k, tree, d / f"{k}.iso") for k in [*KINDS, "geniso_plain"]}


def ours(i: Inspection) -> dict[str, tuple[bool, int]]:
    return {n.path.lstrip("/"): (n.is_dir, n.size) for n in i.walk() if n.kind != "symlink"}


@pytest.mark.parametrize(
    "kind", ["geniso_rr_joliet", "geniso_joliet", "xorriso_eltorito", "geniso_udf_bridge"]
)
def test_listing_equals_7z(images: dict[str, Path], kind: str) -> None:
    i = open_image(str(images[kind]))
    mine = ours(i)
    links = {n.path.lstrip("/") for n in i.walk() if n.kind == "symlink"}
    theirs = {
        p: v
        for p, v in fx.seven_zip_listing(images[kind]).items()
        if not p.startswith("[BOOT]") and p not in links
    }
    assert i.problems == []
    assert mine == theirs


@pytest.mark.parametrize("kind", KINDS)
def test_extents_equal_xorriso(images: dict[str, Path], kind: str) -> None:
    i = open_image(str(images[kind]))
    if i.fs.__class__.__name__ == "UdfFilesystem":
        pytest.skip("xorriso reads the ISO 9660 tree")
    mine = {
        n.path: [(lba, -(-ln // 2048)) for lba, ln in n.extents]
        for n in i.walk()
        if n.kind == "file" and n.size and n.path != "/boot.catalog"
    }
    theirs = {
        p: x for p, x in fx.xorriso_extents(images[kind]).items() if any(blocks for _, blocks in x)
    }  # xorriso lists empty files as 0 blocks
    assert mine == theirs


def test_best_names_rock_ridge_symlinks_modes(images: dict[str, Path], tree: Path) -> None:
    i = open_image(str(images["geniso_rr_joliet"]))
    assert i.formats == ["ISO 9660", "Joliet", "Rock Ridge"]
    ok = i.find("/links/ok")
    assert ok is not None and ok.kind == "symlink" and ok.target == "../README.txt"
    up = i.find("/links/up")
    assert up is not None and up.target == "../../../etc"
    readme = i.find("/README.txt")
    assert readme is not None and readme.mode is not None and readme.mode & 0o777 == 0o644
    assert readme.mtime == pytest.approx((tree / "README.txt").stat().st_mtime, abs=2)
    leaf = i.find("/deep/" + "/".join(f"level{k}" for k in range(10)) + "/leaf.txt")
    assert leaf is not None and leaf.size == 10


@pytest.mark.parametrize(
    "tool",
    [
        ["genisoimage", "-quiet", "-R"],
        ["xorriso", "-as", "mkisofs", "-quiet", "-R"],
        ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-joliet-long"],
    ],
    ids=["genisoimage", "xorriso", "xorriso-joliet"],
)
def test_rock_ridge_modes_long_names_and_links_equal_xorriso(
    tool: list[str], tmp_path: Path
) -> None:
    """Every node's mode, size and link target as xorriso reads them (the in-place fast path
    and the full SUSP parser both run here: 250-byte names need split NM entries)."""
    fx.need(tool[0])
    tree = fx.make_rr_tree(tmp_path / "src")
    iso = tmp_path / "rr.iso"
    subprocess.run([*tool, "-o", str(iso), str(tree)], check=True, capture_output=True)
    i = open_image(str(iso))
    assert "Rock Ridge" in i.formats
    mine = {
        n.path: (stat.filemode(n.mode or 0), 0 if n.kind != "file" else n.size, n.target)
        for n in i.walk()
    }
    theirs = fx.xorriso_lsdl(iso)
    theirs.pop("/")
    assert i.problems == []
    assert mine == {p: (m, s if m[0] == "-" else 0, t) for p, (m, s, t) in theirs.items()}
    for n in i.walk():
        if n.name.startswith("mode_"):
            assert n.mtime == (tree / n.name).stat().st_mtime


def test_plain_iso9660_names_are_the_8_3_ones(images: dict[str, Path]) -> None:
    i = open_image(str(images["geniso_plain"]))
    assert i.formats == ["ISO 9660"]
    names = {n.name for n in i.children(i.root)}
    assert "README.TXT" in names and all(";" not in n for n in names)


def test_el_torito_entries_match_xorriso(images: dict[str, Path]) -> None:
    i = open_image(str(images["xorriso_eltorito"]))
    assert [(b.platform, b.emulation, b.sectors) for b in i.boot] == [
        ("BIOS (x86)", "no emulation", 4),
        ("UEFI", "no emulation", 32),
    ]
    report = subprocess.run(
        ["xorriso", "-indev", str(images["xorriso_eltorito"]), "-report_el_torito", "plain"],
        capture_output=True,
        text=True,
    ).stdout
    for b in i.boot:
        assert f"{b.lba}" in report


def test_udf_only_lists_the_same_files_as_the_bridge(
    images: dict[str, Path], tmp_path: Path
) -> None:
    bridge = open_image(str(images["geniso_udf_bridge"]))
    only = open_image(
        str(fx.udf_only_from_bridge(images["geniso_udf_bridge"], tmp_path / "udf.iso"))
    )
    assert only.formats == ["UDF 1.02"]
    files = {n.path: n.extents for n in only.walk() if n.kind == "file" and n.size}
    assert files == {n.path: n.extents for n in bridge.walk() if n.kind == "file" and n.size}
    out = tmp_path / "x"
    res = extract(only, ["/docs"], str(out))
    assert res.refused == []
    assert (out / "docs" / "note_07.txt").read_text() == "note 7\n" * 8


def test_udf_250_bd_r_opens(tmp_path: Path) -> None:
    # mkudffs makes UDF 2.50 only for BD-R (virtual partition); its root is empty.
    i = open_image(str(fx.mkudffs_bd(tmp_path / "bd.udf")))
    assert i.formats == ["UDF 2.50"] and i.volume_id == "BDVOLUME"
    assert list(i.walk()) == [] and i.problems == []


def test_zisofs_files_extract_decompressed(
    images: dict[str, Path], tree: Path, tmp_path: Path
) -> None:
    i = open_image(str(images["xorriso_zisofs"]))
    z = i.find("/zeros.bin")
    assert z is not None and z.zisofs is not None and z.zisofs[2] == 200_000
    res = extract(i, ["/zeros.bin", "/data.bin"], str(tmp_path))
    assert res.refused == []
    assert (tmp_path / "zeros.bin").read_bytes() == (tree / "zeros.bin").read_bytes()
    assert (tmp_path / "data.bin").read_bytes() == (tree / "data.bin").read_bytes()


def test_multi_extent_file_as_peers_read_it(tree: Path, tmp_path: Path) -> None:
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "me.iso")
    fx.split_into_two_extents(iso, b"DATA.BIN;1")
    i = open_image(str(iso))
    node = i.find("/data.bin")
    assert node is not None and node.size == 300_000 and len(node.extents) == 2
    assert fx.xorriso_extents(iso)["/data.bin"] == [
        (lba, -(-ln // 2048)) for lba, ln in node.extents
    ]
    extract(i, ["/data.bin"], str(tmp_path / "x"))
    assert (tmp_path / "x" / "data.bin").read_bytes() == (tree / "data.bin").read_bytes()


def test_extract_everything_keeps_bytes_links_and_times(
    images: dict[str, Path], tree: Path, tmp_path: Path
) -> None:
    i = open_image(str(images["geniso_rr_joliet"]))
    res = extract(i, None, str(tmp_path / "out"))
    out = tmp_path / "out"
    refused = {p for p, _ in res.refused}
    assert refused == {"/links/abs", "/links/up"}  # both point outside the folder
    assert os.readlink(out / "links" / "ok") == "../README.txt"
    for rel in ["README.txt", "data.bin", "docs/note_29.txt", "empty.bin"]:
        assert (out / rel).read_bytes() == (tree / rel).read_bytes()
    assert abs((out / "data.bin").stat().st_mtime - (tree / "data.bin").stat().st_mtime) < 2
    again = extract(i, ["/README.txt"], str(out))
    assert again.refused and "not overwritten" in again.refused[0][1]


def test_cli_inspect_json_and_damaged_files(images: dict[str, Path], tmp_path: Path) -> None:
    iso = images["geniso_rr_joliet"]
    i = open_image(str(iso))
    data = i.find("/data.bin")
    assert data is not None
    lba = data.extents[0][0]
    n = i.sectors
    mp = fx.map_with_hole(tmp_path / "img.map", n * 2048, (lba + 3) * 2048, 0x1000)
    r = run_cli("inspect", str(iso), "--json", "--files", "--map", str(mp))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "discvault.inspect/1" and doc["whole"] is True
    assert doc["damaged"] == [{"path": "/data.bin", "kind": "file", "unreadable_bytes": 4096}]
    r = run_cli("inspect", str(iso), "--map", str(mp))
    assert "/data.bin" in r.stdout and "unreadable" in r.stdout


def test_a_directory_whose_listing_is_unreadable_is_damaged_too(
    images: dict[str, Path], tmp_path: Path
) -> None:
    """The rescued image holds zeros where /docs' directory records were: its files are gone
    from the listing, so the directory itself must be reported, or nothing would be."""
    iso = images["geniso_rr_joliet"]
    i = open_image(str(iso))
    docs = i.find("/docs")
    assert docs is not None
    ((lba, ln),) = docs.extents
    damaged = tmp_path / "damaged.iso"
    data = bytearray(iso.read_bytes())
    data[lba * 2048 : lba * 2048 + ln] = bytes(ln)  # what a rip leaves in unreadable sectors
    damaged.write_bytes(bytes(data))
    mp = fx.map_with_hole(tmp_path / "damaged.iso.map", len(data), lba * 2048, ln)
    r = run_cli("inspect", str(damaged), "--json", "--map", str(mp))
    doc = json.loads(r.stdout)
    assert {"path": "/docs", "kind": "dir", "unreadable_bytes": ln} in doc["damaged"]
    r = run_cli("inspect", str(damaged), "--map", str(mp))
    assert "/docs  (" in r.stdout and "entries may be missing" in r.stdout
