"""An image that 7-Zip or xorriso can list is never refused whole: odd root records, Rock Ridge
continuation areas that loop, zisofs entries that claim absurd sizes. The metadata that cannot
be trusted is ignored for that entry alone, which says so."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

from app.core.fs.extract import extract
from app.core.fs.inspection import Inspection, open_image
from tests.integration import isofixtures as fx
from tests.integration.test_fs_bounded import compressible, zisofs_image


def ours(i: Inspection) -> dict[str, tuple[bool, int]]:
    return {n.path.lstrip("/"): (n.is_dir, n.size) for n in i.walk() if n.kind != "symlink"}


def theirs_7z(iso: Path, i: Inspection) -> dict[str, tuple[bool, int]]:
    links = {n.path.lstrip("/") for n in i.walk() if n.kind == "symlink"}
    return {
        p: v
        for p, v in fx.seven_zip_listing(iso).items()
        if not p.startswith("[BOOT]") and p not in links
    }


def xorriso_paths(iso: Path) -> set[str]:
    fx.need("xorriso")
    out = subprocess.run(
        ["xorriso", "-indev", str(iso), "-find", "/"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {m.group(1) for m in re.finditer(r"^'(.*)'$", out, re.M)} - {"/"}


def test_a_root_record_with_odd_fields_and_dates_lists_as_the_peers_list_it(
    tmp_path: Path,
) -> None:
    tree = fx.make_tree(tmp_path / "tree")
    data = bytearray(fx.build("geniso_rr_joliet", tree, tmp_path / "base.iso").read_bytes())
    for vd in (16, 17):  # the primary and the Joliet descriptor
        root = vd * 2048 + 156
        data[root] = 0x30  # claims 48 bytes where the descriptor holds 34
        data[root + 18 : root + 25] = bytes([255, 13, 32, 25, 61, 61, 0x9C])  # no such date
        lba = struct.unpack_from("<I", data, root + 2)[0]
        data[lba * 2048 + 18 : lba * 2048 + 25] = bytes([0, 0, 0, 99, 99, 99, 0x7F])  # "."
    iso = tmp_path / "odd_root.iso"
    iso.write_bytes(bytes(data))
    i = open_image(str(iso))
    assert i.formats == ["ISO 9660", "Joliet", "Rock Ridge"]
    assert ours(i) == theirs_7z(iso, i)
    # xorriso also shows genisoimage's rr_moved, which only holds the deep folders it
    # relocated (and which we show at their real place, as xorriso does too).
    assert {n.path for n in i.walk()} == xorriso_paths(iso) - {"/rr_moved"}
    assert i.problems == []


def test_rock_ridge_continuation_areas_that_loop_fall_back_to_the_iso_name(
    tmp_path: Path,
) -> None:
    """xorriso itself hangs on such an image; 7-Zip lists it, and reads no continuation area,
    so it shows the record's ISO 9660 name: so do we, for that entry only."""
    fx.need("genisoimage")
    tree = tmp_path / "tree"
    (tree / ("d" * 200)).mkdir(parents=True)
    (tree / ("d" * 200) / "inside.txt").write_text("in\n")
    (tree / "short.txt").write_text("s\n")
    (tree / "other").mkdir()
    base = tmp_path / "rr.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(base), str(tree)], check=True)
    entries = fx.su_px(0o40755) + fx.su_nm(b"d" * 200)
    iso = tmp_path / "ce_loop.iso"
    iso.write_bytes(fx.rr_payload(base.read_bytes(), b"DDDDDDDD", entries, loop=True))
    i = open_image(str(iso))
    assert ours(i) == theirs_7z(iso, i)
    assert set(ours(i)) == {"DDDDDDDD", "DDDDDDDD/inside.txt", "short.txt", "other"}
    node = i.find("/DDDDDDDD")
    assert node is not None
    assert node.problem == (
        "/DDDDDDDD: Rock Ridge continuation areas loop: shown under its ISO 9660 name"
    )
    assert i.problems == [node.problem]
    res = extract(i, None, str(tmp_path / "out"))
    assert res.refused == [] and res.notes == [("/DDDDDDDD", node.problem)]
    assert (tmp_path / "out" / "DDDDDDDD" / "inside.txt").read_text() == "in\n"


def test_zisofs_entries_claiming_absurd_sizes_list_as_7zip_lists_them(tmp_path: Path) -> None:
    """The ZF entry of one file claims 4 GB for 15 KB of stored data (xorriso lists 4 GB and
    cannot restore it); the file's own zisofs header is sound, so the file still comes out
    whole. 7-Zip, which ignores zisofs, lists the stored sizes: so do we."""
    content = compressible(300_000)
    iso = zisofs_image(tmp_path, {"big.bin": content, "fine.bin": content})
    data = bytearray(iso.read_bytes())
    zf = data.find(b"ZF\x10\x01pz", fx.find_dir_record(bytes(data), b"BIG.BIN;1"))
    struct.pack_into("<I", data, zf + 8, 0xFFFFFFF0)
    struct.pack_into(">I", data, zf + 12, 0xFFFFFFF0)
    data[zf + 7] = 40  # and a block size of 2^40
    iso.write_bytes(bytes(data))
    i = open_image(str(iso))
    assert ours(i) == theirs_7z(iso, i)
    big = i.find("/big.bin")
    assert big is not None and big.zisofs is not None and big.zisofs[2] == 300_000
    assert big.problem.startswith("/big.bin: zisofs block size 2^40 is not valid")
    assert [k for k, _, _ in i.problem_summary()] == ["zisofs"]
    res = extract(i, None, str(tmp_path / "out"))
    assert res.refused == []
    assert (tmp_path / "out" / "big.bin").read_bytes() == content
    assert (tmp_path / "out" / "fine.bin").read_bytes() == content
