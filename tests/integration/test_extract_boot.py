"""`extract --boot-images` gives the El Torito boot images as 7-Zip does ([BOOT]/...)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.core.fs.boot import boot_images
from app.core.fs.extract import extract_boot_images
from app.core.fs.inspection import open_image
from tests.conftest import random_bytes
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli


def seven_zip_boot(iso: Path, out: Path) -> dict[str, bytes]:
    fx.need("7z")
    subprocess.run(
        ["7z", "x", f"-o{out}", str(iso), "[BOOT]", "-r"], check=True, capture_output=True
    )
    return {p.name: p.read_bytes() for p in (out / "[BOOT]").iterdir()}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("boot")
    tree = fx.make_tree(d / "tree")
    (tree / "boot" / "floppy.img").write_bytes(random_bytes(1_474_560, seed=44))
    fx.need("genisoimage")
    floppy = d / "floppy.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-b", "boot/floppy.img", "-o", str(floppy), str(tree)],
        check=True,
    )
    return {"bios+uefi": fx.build("xorriso_eltorito", tree, d / "eltorito.iso"), "floppy": floppy}


@pytest.mark.parametrize("kind", ["bios+uefi", "floppy"])
def test_boot_images_equal_what_7zip_extracts(
    images: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    iso = images[kind]
    theirs = seven_zip_boot(iso, tmp_path / "7z")
    i = open_image(str(iso))
    assert {n.name: n.size for n in boot_images(i)} == {k: len(v) for k, v in theirs.items()}
    r = run_cli("extract", str(iso), "--boot-images", "-o", str(tmp_path / "ours"))
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path / "ours") == ["[BOOT]"]  # only the boot images were asked for
    mine = {p.name: p.read_bytes() for p in (tmp_path / "ours" / "[BOOT]").iterdir()}
    assert mine == theirs


def test_boot_images_with_files_and_for_the_gui(images: dict[str, Path], tmp_path: Path) -> None:
    iso = images["bios+uefi"]
    r = run_cli("extract", str(iso), "/README.txt", "--boot-images", "-o", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "a")) == ["README.txt", "[BOOT]"]
    res = extract_boot_images(open_image(str(iso)), str(tmp_path / "b"))
    assert res.refused == [] and len(res.written) == 3  # the folder and two images
    again = extract_boot_images(open_image(str(iso)), str(tmp_path / "b"))
    assert [why for _, why in again.refused] == [
        f"not overwritten: {tmp_path / 'b' / '[BOOT]' / name} exists"
        for name in ("1-Boot-NoEmul.img", "2-Boot-NoEmul.img")
    ]


def test_an_image_without_boot_images_says_so(tmp_path: Path) -> None:
    tree = fx.make_tree(tmp_path / "tree")
    iso = fx.build("geniso_joliet", tree, tmp_path / "plain.iso")
    r = run_cli("extract", str(iso), "--boot-images", "-o", str(tmp_path / "out"))
    assert r.returncode == 4
    assert r.stderr == "discvault: /[BOOT]: the image has no El Torito boot image\n"
    assert os.listdir(tmp_path / "out") == []
