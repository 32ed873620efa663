"""ISO fixtures made by tools we did not write (genisoimage, xorriso, mkudffs), and peers' views."""

from __future__ import annotations

import os
import re
import struct
import subprocess
from pathlib import Path

from tests.conftest import random_bytes, require_tool


def need(tool: str) -> None:
    require_tool(tool)


def make_tree(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.txt").write_text("read me\n")
    (root / "Mixed Case Long Name With Spaces.txt").write_text("x" * 1000)
    (root / "empty.bin").write_bytes(b"")
    (root / "data.bin").write_bytes(random_bytes(300_000, seed=41))
    (root / "zeros.bin").write_bytes(bytes(200_000))
    deep = root / "deep"
    for i in range(10):
        deep = deep / f"level{i}"
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_text("deep leaf\n")
    docs = root / "docs"
    docs.mkdir()
    for i in range(30):
        (docs / f"note_{i:02d}.txt").write_text(f"note {i}\n" * (i + 1))
    links = root / "links"
    links.mkdir()
    os.symlink("../README.txt", links / "ok")
    os.symlink("/etc/passwd", links / "abs")
    os.symlink("../../../etc", links / "up")
    (root / "boot").mkdir()
    (root / "boot" / "boot.img").write_bytes(random_bytes(2048 * 4, seed=42))
    (root / "boot" / "efi.img").write_bytes(random_bytes(2048 * 8, seed=43))
    return root


def build(kind: str, tree: Path, out: Path) -> Path:
    if kind == "geniso_rr_joliet":
        need("genisoimage")
        cmd = ["genisoimage", "-quiet", "-R", "-J", "-V", "GENISO", "-o", str(out), str(tree)]
    elif kind == "geniso_joliet":
        need("genisoimage")
        cmd = [
            "genisoimage",
            "-quiet",
            "-J",
            "-m",
            "links",
            "-V",
            "JOLIET",
            "-o",
            str(out),
            str(tree),
        ]
    elif kind == "geniso_plain":
        need("genisoimage")
        cmd = ["genisoimage", "-quiet", "-m", "links", "-o", str(out), str(tree)]
    elif kind == "geniso_udf_bridge":
        need("genisoimage")
        cmd = [
            "genisoimage",
            "-quiet",
            "-udf",
            "-R",
            "-J",
            "-V",
            "BRIDGE",
            "-o",
            str(out),
            str(tree),
        ]
    elif kind == "xorriso_eltorito":
        need("xorriso")
        cmd = [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "XBOOT",
            "-b",
            "boot/boot.img",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-eltorito-alt-boot",
            "-e",
            "boot/efi.img",
            "-no-emul-boot",
            "-o",
            str(out),
            str(tree),
        ]
    elif kind == "xorriso_zisofs":
        need("xorriso")
        cmd = [
            "xorriso",
            "-outdev",
            str(out),
            "-map",
            str(tree),
            "/",
            "-set_filter_r",
            "--zisofs",
            "/zeros.bin",
            "/data.bin",
            "--",
        ]
    else:
        raise ValueError(kind)
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def udf_only_from_bridge(bridge: Path, out: Path) -> Path:
    """Erase the ISO 9660 descriptors: what remains is a UDF-only disc, like most BD-ROMs."""
    data = bytearray(bridge.read_bytes())
    for lba in range(16, 40):
        if data[lba * 2048 + 1 : lba * 2048 + 6] == b"CD001":
            data[lba * 2048 : (lba + 1) * 2048] = bytes(2048)
    out.write_bytes(bytes(data))
    return out


def mkudffs_bd(out: Path) -> Path:
    need("mkudffs")
    with open(out, "wb") as f:
        f.truncate(8 << 20)
    subprocess.run(
        ["mkudffs", "--media-type=bdr", "--udfrev=0x0250", "--label=BDVOLUME", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def seven_zip_listing(image: Path) -> dict[str, tuple[bool, int]]:
    need("7z")
    out = subprocess.run(
        ["7z", "l", "-slt", str(image)], capture_output=True, text=True, check=True
    ).stdout
    items: dict[str, tuple[bool, int]] = {}
    for block in out.split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w ]*?) = (.*)$", block, re.M))
        if "Path" in fields and "Folder" in fields:
            size = int(fields.get("Size") or 0)
            items[fields["Path"]] = (fields["Folder"] == "+", size)
    return items


def xorriso_extents(image: Path) -> dict[str, list[tuple[int, int]]]:
    """path -> [(start LBA, blocks)] per extent, as xorriso reads the image."""
    need("xorriso")
    out = subprocess.run(
        ["xorriso", "-indev", str(image), "-find", "/", "-exec", "report_lba", "--"],
        capture_output=True,
        text=True,
    ).stdout
    ext: dict[str, list[tuple[int, int]]] = {}
    for m in re.finditer(
        r"File data lba:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'(.*)'", out
    ):
        ext.setdefault(m.group(5), []).append((int(m.group(2)), int(m.group(3))))
    return ext


def find_record(data: bytes, name: bytes) -> int:
    """Byte offset of the ISO 9660 directory record whose identifier is ``name``."""
    i = data.find(bytes([len(name)]) + name)
    assert i > 32, name
    return i - 32


def split_into_two_extents(image: Path, name: bytes) -> None:
    """Rewrite one file's directory record as a two-extent (multi-extent) file."""
    data = bytearray(image.read_bytes())
    off = find_record(bytes(data), name)
    ln = data[off]
    rec = bytes(data[off : off + ln])
    lba, size = struct.unpack_from("<I", rec, 2)[0], struct.unpack_from("<I", rec, 10)[0]
    assert size > 2048
    sector_end = (off // 2048 + 1) * 2048
    p = off + ln
    while p < sector_end and data[p]:
        p += data[p]
    rest = bytes(data[off + ln : p])
    assert 2 * ln + len(rest) <= sector_end - off, "no room in the directory sector"
    first = bytearray(rec)
    struct.pack_into("<I", first, 10, 2048)
    struct.pack_into(">I", first, 14, 2048)
    first[25] |= 0x80
    second = bytearray(rec)
    struct.pack_into("<I", second, 2, lba + 1)
    struct.pack_into(">I", second, 6, lba + 1)
    struct.pack_into("<I", second, 10, size - 2048)
    struct.pack_into(">I", second, 14, size - 2048)
    new = bytes(first) + bytes(second) + rest
    data[off:sector_end] = new + bytes(sector_end - off - len(new))
    image.write_bytes(bytes(data))


def make_rr_tree(root: Path) -> Path:
    """Modes, times, 250-byte names (split NM entries) and symlinks: Rock Ridge's corners."""
    root.mkdir(parents=True, exist_ok=True)
    for i, mode in enumerate((0o600, 0o640, 0o644, 0o755, 0o700, 0o444)):
        f = root / f"mode_{mode:o}.bin"
        f.write_bytes(b"m" * (i * 700))
        f.chmod(mode)
        os.utime(f, (1_000_000_000 + i * 86_400, 1_000_000_000 + i * 86_400))
    long_dir = root / ("d" * 200)
    long_dir.mkdir()
    (long_dir / ("n" * 250)).write_text("long\n")
    (long_dir / ("é" * 120 + ".txt")).write_text("utf-8 name\n")
    private = root / "private"
    private.mkdir()
    private.chmod(0o700)
    for i in range(20):
        os.symlink("../" + "t" * (10 * i + 1), private / f"link_{i:02d}")
    return root


def xorriso_lsdl(image: Path) -> dict[str, tuple[str, int, str | None]]:
    """path -> (mode string, size, symlink target) as xorriso reads the Rock Ridge tree."""
    need("xorriso")
    out = subprocess.run(
        ["xorriso", "-indev", str(image), "-find", "/", "-exec", "lsdl", "--"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    items: dict[str, tuple[str, int, str | None]] = {}
    pattern = r"^(\S{10})\s+\d+\s+\d+\s+\d+\s+(\d+) .{12} '(.*?)'(?: -> '(.*)')?$"
    for m in re.finditer(pattern, out, re.M):
        items[m.group(3)] = (m.group(1), int(m.group(2)), m.group(4))
    return items


def map_with_hole(path: Path, image_bytes: int, start: int, length: int) -> Path:
    """A finished ddrescue mapfile: everything read except ``length`` bytes at ``start``."""
    end = start + length
    path.write_text(
        f"0x0 +\n0x0 {hex(start)} +\n{hex(start)} {hex(length)} -\n"
        f"{hex(end)} {hex(image_bytes - end)} +\n"
    )
    return path
