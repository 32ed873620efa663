"""Mac hybrid discs: our HFS/HFS+ readers against hfsutils and 7-Zip, on volumes they made."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from app.core.fs import apm
from app.core.fs.hfs import HfsFilesystem
from app.core.fs.hfsbtree import Fork, MacNode
from app.core.fs.hfsplus import HfsPlusFilesystem
from app.core.fs.node import SECTOR, Image, InspectError, Node
from tests import hfsfixtures as fx
from tests.conftest import random_bytes

Reader = HfsFilesystem | HfsPlusFilesystem


def tree_of(fs: Reader) -> dict[str, Node]:
    out: dict[str, Node] = {}
    stack: list[Node] = [fs.root]
    while stack:
        for child in fs.listdir(stack.pop()):
            out[child.path] = child
            if child.kind == "dir":
                stack.append(child)
    return out


def data_of(img: Image, node: Node) -> bytes:
    assert isinstance(node, MacNode) and node.byte_extents is not None
    return Fork(img, node.byte_extents, node.size).read(0, node.size)


def listing(nodes: dict[str, Node]) -> dict[str, tuple[str, int]]:
    return {p: (n.kind, n.size) for p, n in nodes.items()}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.make_tree(tmp_path_factory.mktemp("mac") / "tree")


HYBRIDS = {
    "hfs": ("-hfs",),
    "hfs-part": ("-hfs", "-part"),
    "hfs-probe-rr-joliet": ("-hfs", "-probe", "-R", "-J", "-part"),
}


@pytest.mark.parametrize("flags", HYBRIDS.values(), ids=HYBRIDS.keys())
def test_genisoimage_hfs_hybrid_lists_and_reads_like_hfsutils(
    tree: Path, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    image = fx.genisoimage(tree, tmp_path / "hybrid.iso", *flags)
    img = Image(str(image))
    try:
        (vol,) = apm.mac_volumes(img)
        assert vol.kind == "hfs"
        assert ("-part" in flags) == (vol.partition is not None)
        fs = HfsFilesystem(img)
        assert fs.volume_name == "MACHYBRID"
        nodes = tree_of(fs)
        assert listing(nodes) == fx.hls_tree(image)
        # genisoimage reads names as Latin-1 and stores Mac Roman: UTF-8 "é" becomes "Ã©"
        # (0xCC 0xA9 on the volume), which must decode back. Names are cut at 31 characters.
        assert "/cafÃ© crÃ¨me.txt" in nodes
        assert "/A name that is longer than thir" in nodes
        assert fs.catalog.depth >= 2  # 300 files: the catalog has index nodes
        files = [n for n in nodes.values() if n.kind == "file"]
        picked = [n for n in files if not n.path.startswith("/many/")] + [
            n for n in files if n.path.startswith("/many/")
        ][::37]
        for n in picked:
            assert data_of(img, n) == fx.hcopy_bytes(image, n.path), n.path
        assert data_of(img, nodes["/data.bin"]) == random_bytes(300_001, seed=51)
        # Hybrid data is shared with ISO 9660: 2048-aligned, so plain extents read it too.
        big = nodes["/data.bin"]
        assert [(lba * SECTOR, ln) for lba, ln in big.extents] == big.byte_extents
        words = apm.describe(img)
        assert any(w.startswith("HFS volume 'MACHYBRID'") for w in words), words
        assert not any("MBR" in w for w in words), words  # an HFS hybrid is not an MBR
    finally:
        img.close()


def test_genisoimage_apple_extensions_are_iso9660_not_hfs(tree: Path, tmp_path: Path) -> None:
    """``-apple`` is ISO 9660 with Apple extensions (and cannot be combined with ``-hfs``):
    no HFS volume, no partition map, nothing claimed past the ISO volume."""
    image = fx.genisoimage(tree, tmp_path / "apple.iso", "-apple", "-R")
    img = Image(str(image))
    try:
        assert apm.mac_volumes(img) == [] and apm.claims(img) == [] and apm.describe(img) == []
    finally:
        img.close()


def test_hfsutils_fragmented_volume_reads_through_the_extents_overflow(tmp_path: Path) -> None:
    image = fx.hfsutils_fragmented(tmp_path / "frag.hfs")
    img = Image(str(image))
    try:
        fs = HfsFilesystem(img)
        assert fs.volume_name == "Fragments"
        nodes = tree_of(fs)
        assert listing(nodes) == fx.hls_tree(image)
        frag = nodes["/Fragmented file"]
        runs = frag.spans()
        assert len(runs) > 3, "the fixture must need the extents overflow file"
        assert any(off % SECTOR for off, _ in runs), "the fixture must be unaligned"
        for path in ("/Fragmented file", "/Folder/inside", "/fill001"):
            assert data_of(img, nodes[path]) == fx.hcopy_bytes(image, path), path
        assert [v.kind for v in apm.mac_volumes(img)] == ["hfs"]
        assert apm.claims(img) == [("hfs", 0, img.size // SECTOR)]
    finally:
        img.close()


@pytest.fixture(scope="module")
def plus_image(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (tree / "donor.bin").write_bytes(random_bytes(2048, seed=54))
    (tree / "scattered.bin").write_bytes(random_bytes(50_001, seed=55))
    (tree / "link to readme").symlink_to("ReadMe.txt")
    (tree / "deep" / "absolute link").symlink_to("/etc/passwd")
    try:
        return fx.xorriso_hfsplus(tree, tmp_path_factory.mktemp("plus") / "plus.iso")
    finally:
        for p in ("donor.bin", "scattered.bin", "link to readme", "deep/absolute link"):
            (tree / p).unlink()


def _partition_file(image: Path, vol: apm.MacVolume, out: Path) -> Path:
    with open(image, "rb") as f:
        f.seek(vol.offset)
        out.write_bytes(f.read(vol.length))
    return out


@pytest.mark.parametrize("scatter", [False, True], ids=["xorriso", "xorriso-scattered"])
def test_xorriso_hfsplus_lists_and_reads_like_7zip(
    plus_image: Path, tmp_path: Path, scatter: bool
) -> None:
    image = tmp_path / "plus.iso"
    image.write_bytes(plus_image.read_bytes())
    img = Image(str(image))
    (vol,) = apm.mac_volumes(img)
    img.close()
    if scatter:
        fx.fragment_hfsplus(image, vol.offset, "scattered.bin", "donor.bin")
    img = Image(str(image))
    try:
        assert vol.kind == "hfs+" and vol.partition and vol.partition.type == "Apple_HFS"
        fs = HfsPlusFilesystem(img)
        assert fs.volume_name == "PLUS"
        nodes = tree_of(fs)
        part = _partition_file(image, vol, tmp_path / "part.hfs")
        theirs = fx.seven_zip_tree(part)
        # HFS+ stores names decomposed and 7-Zip shows them so; we show them composed (NFC).
        assert "/cafe\u0301 cre\u0300me.txt" in theirs
        assert listing(nodes) == {unicodedata.normalize("NFC", p): v for p, v in theirs.items()}
        assert fs.catalog.depth >= 2
        out = fx.seven_zip_extract(part, tmp_path / "x")
        extracted = {
            "/" + unicodedata.normalize("NFC", str(f.relative_to(out))): f
            for f in out.rglob("*")
            if f.is_file() and not f.is_symlink()
        }
        files = {p: n for p, n in nodes.items() if n.kind == "file"}
        assert files.keys() == extracted.keys()
        for p, n in files.items():
            assert data_of(img, n) == extracted[p].read_bytes(), p
        links = {p: n.target for p, n in nodes.items() if n.kind == "symlink"}
        assert links == {"/link to readme": "ReadMe.txt", "/deep/absolute link": "/etc/passwd"}
        for p, target in links.items():  # 7-Zip re-roots absolute targets under its folder
            got = os.readlink(out / p[1:])
            assert got == target or (str(target)[0] == "/" and got == f"{out.parent}{target}")
        runs = nodes["/scattered.bin"].spans()
        assert len(runs) == (12 if scatter else 1)
        assert data_of(img, nodes["/scattered.bin"]) == random_bytes(50_001, seed=55)
        assert "/café crème.txt" in nodes  # stored decomposed, shown composed
        assert "/A name that is longer than thirty-one characters.txt" in nodes
        assert apm.describe(img) == [
            "Apple partition map (ISO9660_data, Apple_HFS, ISO9660_data)",
            "HFS+ volume in APM partition 3 'HFSPLUS_Hybrid'",
        ]
    finally:
        img.close()


def test_hfsplus_inside_an_hfs_wrapper(plus_image: Path, tmp_path: Path) -> None:
    img = Image(str(plus_image))
    (vol,) = apm.mac_volumes(img)
    img.close()
    inner = _partition_file(plus_image, vol, tmp_path / "inner.hfs").read_bytes()
    image = fx.hfs_wrapper(inner, tmp_path / "wrapper.img")
    img = Image(str(image))
    try:
        (wrapped,) = apm.mac_volumes(img)
        assert (wrapped.kind, wrapped.offset, wrapped.wrapper) == ("hfs+", 4096, True)
        assert apm.claims(img) == [("hfs", 0, -(-img.size // SECTOR))]  # the wrapper holds all
        assert apm.describe(img) == ["HFS+ volume (inside an HFS wrapper)"]
        with pytest.raises(InspectError, match="no HFS volume"):
            HfsFilesystem(img)  # the wrapper's own catalog is not what the disc holds
        fs = HfsPlusFilesystem(img)
        theirs = fx.seven_zip_tree(image)
        assert listing(tree_of(fs)) == {
            unicodedata.normalize("NFC", p): v for p, v in theirs.items()
        }
    finally:
        img.close()


def test_apm_partitions_match_7zip(plus_image: Path) -> None:
    img = Image(str(plus_image))
    try:
        parts = apm.apm_partitions(img)
        # 7-Zip names an HFS partition "NAME.hfs", the others "NAME.TYPE".
        ours = {
            f"{p.name}.{'hfs' if p.type == 'Apple_HFS' else p.type}": (p.start, p.length)
            for p in parts
        }
        assert ours == fx.seven_zip_archive_items(plus_image, "APM")
        claims = apm.claims(img)
        (hfs_part,) = [p for p in parts if p.type == "Apple_HFS"]
        start, end = hfs_part.start // SECTOR, -(-(hfs_part.start + hfs_part.length) // SECTOR)
        assert ("hfs+", start, end) in claims and ("apm:Apple_HFS", start, end) in claims
        assert max(e for _, _, e in claims) == img.sectors  # the last gap runs to the end
    finally:
        img.close()


def test_claims_survive_a_truncated_image(tree: Path, tmp_path: Path) -> None:
    """A cut image still says how far its filesystems go: the rescue engine reads on to there."""
    image = fx.genisoimage(tree, tmp_path / "whole.iso", "-hfs", "-part")
    whole = Image(str(image))
    want = apm.claims(whole)
    whole.close()
    cut = tmp_path / "cut.iso"
    cut.write_bytes(image.read_bytes()[: 40 * SECTOR])
    img = Image(str(cut))
    try:
        assert apm.claims(img) == want
        assert max(e for _, _, e in want) > img.sectors
    finally:
        img.close()


def test_gpt_appended_partition_is_claimed_like_7zip_lists_it(tree: Path, tmp_path: Path) -> None:
    fx.need("xorriso")
    efi = tmp_path / "efi.img"
    efi.write_bytes(random_bytes(65_536, seed=56))
    image = tmp_path / "gpt.iso"
    fx.run_xorriso(
        "-R",
        "-appended_part_as_gpt",
        "-append_partition",
        "2",
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
        str(efi),
        "-o",
        str(image),
        str(tree),
    )
    img = Image(str(image))
    try:
        parts, claim = apm.gpt_partitions(img)
        theirs = fx.seven_zip_archive_items(image, "GPT")
        assert sorted((p.start, p.length) for p in parts) == sorted(theirs.values())
        (esp,) = [p for p in parts if p.type == "EFI system"]
        assert img.read(esp.start, esp.length) == efi.read_bytes()
        assert claim == img.size
        assert ("gpt:EFI system", esp.start // SECTOR, (esp.start + esp.length) // SECTOR) in (
            apm.claims(img)
        )
        assert apm.mac_volumes(img) == []
    finally:
        img.close()


def test_mbr_appended_partition_past_the_iso_volume_is_claimed(tree: Path, tmp_path: Path) -> None:
    """xorriso's -append_partition puts a partition after the ISO volume and names it in the
    MBR: its bytes sit where the MBR says (7-Zip will not open this MBR: partition 1 starts at
    sector 0), and the claims reach its end, past the ISO 9660 volume."""
    efi = tmp_path / "efi.img"
    efi.write_bytes(random_bytes(65_536, seed=57))
    image = tmp_path / "mbr.iso"
    fx.run_xorriso("-R", "-append_partition", "2", "0xef", str(efi), "-o", str(image), str(tree))
    img = Image(str(image))
    try:
        parts = apm.mbr_partitions(img)
        assert [(p.index, p.type) for p in parts] == [(1, "0x83"), (2, "0xef")]
        esp = parts[1]
        assert img.read(esp.start, esp.length) == efi.read_bytes()
        iso_end = int.from_bytes(img.read(16 * SECTOR + 80, 4), "little")
        ends = {kind: end for kind, _, end in apm.claims(img)}
        assert ends["mbr:0xef"] == (esp.start + esp.length) // SECTOR > iso_end
        assert apm.describe(img) == ["MBR (type 0x83, type 0xef)"]
    finally:
        img.close()
