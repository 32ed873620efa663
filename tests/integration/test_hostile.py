"""Hostile and broken images: a clear error or a safe listing, never a traceback or a hang."""

from __future__ import annotations

import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from app.core.fs.node import InspectError
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    d = tmp_path_factory.mktemp("hostile")
    tree = fx.make_tree(d / "tree")
    return fx.build("geniso_rr_joliet", tree, d / "base.iso").read_bytes()


def survive(path: Path, out: Path) -> list[str]:
    """Open, walk and extract; return the problems. Only InspectError may escape."""
    try:
        i = open_image(str(path))
    except InspectError as e:
        assert "\n" not in str(e)
        return [str(e)]
    try:
        list(i.walk())
        res = extract(i, None, str(out))
        for _, why in res.refused:
            assert why
        for w in res.written:
            assert os.path.commonpath(
                [os.path.realpath(out), os.path.realpath(w)]
            ) == os.path.realpath(out)
        return i.problems + [w for _, w in res.refused]
    except InspectError as e:
        return [str(e)]
    finally:
        i.close()


def patch_record(
    data: bytes, name: bytes, lba: int | None = None, size: int | None = None
) -> bytes:
    out = bytearray(data)
    off = fx.find_record(data, name)
    if lba is not None:
        struct.pack_into("<I", out, off + 2, lba)
        struct.pack_into(">I", out, off + 6, lba)
    if size is not None:
        struct.pack_into("<I", out, off + 10, size)
        struct.pack_into(">I", out, off + 14, size)
    return bytes(out)


def root_lba(data: bytes) -> int:
    return int(struct.unpack_from("<I", data, 16 * 2048 + 156 + 2)[0])


def test_truncated_anywhere(base: bytes, tmp_path: Path) -> None:
    rng = random.Random(1)
    n = len(base) // 2048
    for k, cut in enumerate(
        sorted({*range(0, n * 2048, 7 * 2048), *rng.sample(range(len(base)), 20)})
    ):
        p = tmp_path / f"t{k}.iso"
        p.write_bytes(base[:cut])
        problems = survive(p, tmp_path / f"o{k}")
        if cut < len(base) - 2048:
            try:
                i = open_image(str(p))
            except InspectError:
                continue
            assert not i.whole and i.missing_sectors > 0
            i.close()
        assert all(isinstance(x, str) for x in problems)


def test_directory_pointing_at_its_parent_is_a_loop(base: bytes, tmp_path: Path) -> None:
    for name in (b"DOCS", b"LINKS"):
        p = tmp_path / "loop.iso"
        p.write_bytes(patch_record(base, name, lba=root_lba(base)))
        problems = survive(p, tmp_path / name.decode())
        assert any("loop" in x for x in problems), problems


def test_enormous_sizes(base: bytes, tmp_path: Path) -> None:
    p = tmp_path / "huge_dir.iso"
    p.write_bytes(patch_record(base, b"DOCS", size=0xFFFFF000))
    assert any("beyond the end" in x for x in survive(p, tmp_path / "a"))
    p = tmp_path / "huge_file.iso"
    p.write_bytes(patch_record(base, b"DATA.BIN;1", size=0xFFFFFFF0))
    problems = survive(p, tmp_path / "b")
    assert any("past the end of the image" in x for x in problems), problems


def test_dot_dot_and_slash_names_never_leave_the_folder(base: bytes, tmp_path: Path) -> None:
    data = base
    # Rock Ridge name "README.txt" becomes "../../evil" (same length).
    i = data.find(b"NM\x0f\x01\x00README.txt")
    assert i > 0
    data = data[: i + 5] + b"../../evil" + data[i + 15 :]
    # Joliet and ISO names: "DATA.BIN;1" -> "../x.BIN;1", "..". (d-characters be damned)
    data = data.replace(b"DATA.BIN;1", b"../x.BIN;1")
    p = tmp_path / "evil.iso"
    p.write_bytes(data)
    out = tmp_path / "deep" / "out"
    problems = survive(p, out)
    assert any("'/'" in x for x in problems), problems
    assert not (tmp_path / "evil").exists() and not (tmp_path / "deep" / "evil").exists()


def test_symlink_chains_that_could_resolve_outside_are_never_made(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f.txt").write_text("f")
    os.symlink(".", tree / "d")
    os.symlink("d/..", tree / "x")  # lexically inside, physically the parent of the folder
    iso = tmp_path / "c.iso"
    fx.need("xorriso")
    subprocess.run(
        ["xorriso", "-outdev", str(iso), "-map", str(tree), "/"], check=True, capture_output=True
    )
    i = open_image(str(iso))
    res = extract(i, None, str(tmp_path / "out"))
    assert [p for p, _ in res.refused] == ["/x"]
    assert "climbs ('..') after 'd'" in res.refused[0][1]
    assert not os.path.lexists(tmp_path / "out" / "x")
    assert os.readlink(tmp_path / "out" / "d") == "."


def test_fuzzed_directories_never_crash(base: bytes, tmp_path: Path) -> None:
    rng = random.Random(2024)
    lo, hi = 16 * 2048, 60 * 2048  # descriptors, path tables, directories
    for k in range(150):
        data = bytearray(base)
        for _ in range(rng.randrange(1, 40)):
            data[rng.randrange(lo, hi)] = rng.randrange(256)
        p = tmp_path / "f.iso"
        p.write_bytes(bytes(data))
        survive(p, tmp_path / f"f{k}")


def test_not_an_image_is_one_line_exit_4(tmp_path: Path) -> None:
    p = tmp_path / "noise.iso"
    p.write_bytes(random.Random(3).randbytes(100 * 2048))
    r = run_cli("inspect", str(p))
    assert r.returncode == 4
    assert r.stderr == (
        f"discvault: {p}: not an ISO 9660, UDF or HFS image"
        " — give a disc image (.iso, .cue) or a drive\n"
    )
    small = tmp_path / "small.iso"
    small.write_bytes(b"hi")
    r = run_cli("inspect", str(small))
    assert r.returncode == 4 and "too small" in r.stderr
