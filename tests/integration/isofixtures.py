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


def build_xorriso(tree: Path, out: Path) -> Path:
    """Rock Ridge only (xorriso's native mode): every name, link and mode as in ``tree``."""
    need("xorriso")
    cmd = ["xorriso", "-outdev", str(out), "-map", str(tree), "/"]
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


# ---- Hand-made Rock Ridge: what no writer makes, for the hostile tests ---------------------------


def _both(fmt: str, v: int) -> bytes:
    return struct.pack("<" + fmt, v) + struct.pack(">" + fmt, v)


def su_ce(lba: int, offset: int, length: int) -> bytes:
    return b"CE\x1c\x01" + _both("I", lba) + _both("I", offset) + _both("I", length)


def su_nm(name: bytes) -> bytes:
    """NM entries for ``name``, split at 250 bytes (each but the last flagged CONTINUE)."""
    parts = [name[i : i + 250] for i in range(0, len(name), 250)] or [b""]
    out = b""
    for k, p in enumerate(parts):
        out += b"NM" + bytes([5 + len(p), 1, 1 if k < len(parts) - 1 else 0]) + p
    return out


def su_sl(target: bytes) -> bytes:
    """SL entries for ``target`` (components split at 200 bytes, entries at 250)."""
    comps = b""
    for c in target.split(b"/"):
        if c == b".":
            comps += b"\x02\x00"
        elif c == b"..":
            comps += b"\x04\x00"
        else:
            pieces = [c[i : i + 200] for i in range(0, len(c), 200)] or [b""]
            for k, p in enumerate(pieces):
                comps += bytes([1 if k < len(pieces) - 1 else 0, len(p)]) + p
    out = b""
    # Split the component records over SL entries without cutting a record.
    entry = b""
    pos = 0
    while pos < len(comps):
        rec = comps[pos : pos + 2 + comps[pos + 1]]
        if len(entry) + len(rec) > 245:
            out += b"SL" + bytes([5 + len(entry), 1, 1]) + entry
            entry = b""
        entry += rec
        pos += len(rec)
    return out + b"SL" + bytes([5 + len(entry), 1, 0]) + entry


def su_px(mode: int) -> bytes:
    return b"PX\x24\x01" + _both("I", mode) + _both("I", 1) + _both("I", 0) + _both("I", 0)


def find_dir_record(data: bytes, name: bytes) -> int:
    """Byte offset of the directory record named ``name`` (not a path table entry that happens
    to hold the same bytes): its both-endian fields must agree."""
    j = data.find(name)
    while j >= 0:
        off = j - 33
        if (
            off >= 0
            and data[off + 32] == len(name)
            and data[off] >= 33 + len(name)
            and data[off + 2 : off + 6] == data[off + 6 : off + 10][::-1]
            and data[off + 10 : off + 14] == data[off + 14 : off + 18][::-1]
        ):
            return off
        j = data.find(name, j + 1)
    raise AssertionError(f"no directory record named {name!r}")


def rr_payload(data: bytes, iso_name: bytes, entries: bytes, loop: bool = False) -> bytes:
    """Give the record named ``iso_name`` (the first one found) new Rock Ridge entries: its
    system use area becomes one CE pointing at sectors appended to the image, which hold
    ``entries`` (with ``loop``, followed by a CE pointing back at those same sectors)."""
    out = bytearray(data)
    assert len(out) % 2048 == 0
    off = find_dir_record(data, iso_name)
    ln, nl = out[off], out[off + 32]
    su = off + 33 + nl + (1 - nl % 2)
    assert off + ln - su >= 28, "no room for a CE entry"
    lba = len(out) // 2048
    area = len(entries) + (28 if loop else 0)
    payload = entries + (su_ce(lba, 0, area) if loop else b"")
    out[su : off + ln] = su_ce(lba, 0, area) + bytes(off + ln - su - 28)
    out += payload + bytes(-len(payload) % 2048)
    return bytes(out)


def many_entries_iso(tmp: Path, entries: int) -> Path:
    """A plain ISO 9660 image whose root holds ``entries`` empty files (names F0000000;1...),
    written record by record: 300 000 entries take 12.8 MB."""
    need("genisoimage")
    empty = tmp / "empty"
    empty.mkdir(exist_ok=True)
    base = tmp / "base.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(base), str(empty)], check=True)
    data = bytearray(base.read_bytes())
    lba = len(data) // 2048
    when = bytes([126, 1, 1, 0, 0, 0, 0])

    def record(name: bytes, at: int, size: int, flags: int) -> bytes:
        body = _both("I", at) + _both("I", size) + when + bytes([flags, 0, 0]) + _both("H", 1)
        rec = bytes([0, 0]) + body + bytes([len(name)]) + name
        rec += bytes(len(rec) % 2)
        return bytes([len(rec)]) + rec[1:]

    per = 2048 // len(record(b"F0000000;1", 0, 0, 0))
    sectors = 1 + -(-entries // per)
    size = sectors * 2048
    out = bytearray(record(b"\0", lba, size, 2) + record(b"\1", lba, size, 2))
    out += bytes(2048 - len(out))
    for first in range(0, entries, per):
        sector = b"".join(
            record(b"F%07d;1" % k, 0, 0, 0) for k in range(first, min(first + per, entries))
        )
        out += sector + bytes(2048 - len(sector))
    data += out
    root = 16 * 2048 + 156
    data[root : root + 34] = record(b"\0", lba, size, 2)
    data[16 * 2048 + 80 : 16 * 2048 + 88] = _both("I", len(data) // 2048)
    iso = tmp / f"many_{entries}.iso"
    iso.write_bytes(bytes(data))
    return iso
