"""Mac fixtures made by tools we did not write, and those tools' own view of them (the judges).

Makers: genisoimage (-hfs, -part, -probe, -apple), xorriso (-hfsplus), hfsutils (hformat, hcopy,
hmkdir, hdel on a plain file). Judges: hfsutils (hls, hcopy -r) for HFS, 7-Zip for HFS+ and the
Apple partition map (7-Zip does not read classic HFS). Debian has no HFS+ maker in bookworm
(hfsprogs is gone), so the fragmented HFS+ fixture is xorriso's volume with one file's blocks
reordered and its extents rewritten (``fragment_hfsplus``): 7-Zip judges that one too.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
from pathlib import Path

from tests.conftest import random_bytes, require_tool


def need(*tools: str) -> None:
    require_tool(*tools)


def make_tree(root: Path, many: int = 300) -> Path:
    """Names HFS keeps (spaces, Mac Roman letters, 31 characters) and ones it must cut; a folder
    with ``many`` files so the catalog needs index nodes; a nested chain; odd sizes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ReadMe.txt").write_text("read me\n")
    (root / "café crème.txt").write_text("accents\n" * 3)
    (root / "empty").write_bytes(b"")
    (root / "data.bin").write_bytes(random_bytes(300_001, seed=51))
    (root / "A name that is longer than thirty-one characters.txt").write_text("long\n")
    deep = root / "deep"
    for i in range(8):
        deep = deep / f"level {i}"
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_text("deep leaf\n")
    many_dir = root / "many"
    many_dir.mkdir()
    for i in range(many):
        (many_dir / f"file {i:04d}.txt").write_text(f"file {i}\n" * (i % 7 + 1))
    return root


def genisoimage(tree: Path, out: Path, *flags: str) -> Path:
    need("genisoimage")
    cmd = [
        "genisoimage",
        "-quiet",
        *flags,
        "-V",
        "MACHYBRID",
        "-o",
        str(out),
        str(tree),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def xorriso_hfsplus(tree: Path, out: Path) -> Path:
    need("xorriso")
    cmd = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-hfsplus", "-V", "PLUS"]
    subprocess.run([*cmd, "-o", str(out), str(tree)], check=True, capture_output=True)
    return out


def run_xorriso(*args: str) -> None:
    need("xorriso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", *args], check=True, capture_output=True)


def _hfsutils(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    # hfsutils keep the "current volume" in $HOME/.hcwd: one HOME per fixture, no cross-talk.
    env = {**os.environ, "HOME": str(home), "LC_ALL": "C"}
    return subprocess.run(list(args), capture_output=True, env=env)


def hfsutils_fragmented(out: Path, kb: int = 2500) -> Path:
    """An HFS volume made by hformat whose files are fragmented: fill it with small files,
    delete every other one, then copy a big file into the holes (its extents overflow into
    the extents B-tree) and a folder. 2500 KB puts allocation block 0 at byte 2560, so the
    data is not 2048-aligned either."""
    need("hformat", "hcopy", "hmkdir", "hdel", "humount")
    home = out.parent / (out.name + ".home")
    home.mkdir(exist_ok=True)
    with open(out, "wb") as f:
        f.truncate(kb * 1024)
    _hfsutils(home, "hformat", "-l", "Fragments", str(out)).check_returncode()
    small = home / "small"
    small.write_bytes(random_bytes(9_999, seed=52))
    n = 0
    while _hfsutils(home, "hcopy", "-r", str(small), f":fill{n:03d}").returncode == 0:
        n += 1
    for i in range(0, n, 2):
        _hfsutils(home, "hdel", f":fill{i:03d}").check_returncode()
    big = home / "big"
    big.write_bytes(random_bytes(n // 2 * 9_000, seed=53))
    _hfsutils(home, "hcopy", "-r", str(big), ":Fragmented file").check_returncode()
    _hfsutils(home, "hmkdir", ":Folder").check_returncode()
    _hfsutils(home, "hcopy", "-r", str(small), ":Folder:inside").check_returncode()
    _hfsutils(home, "humount").check_returncode()
    return out


def hls_tree(image: Path, partition: int | None = None) -> dict[str, tuple[str, int]]:
    """path -> ("dir"|"file", data fork size), as hfsutils' hls sees the volume. Names are
    Mac Roman bytes, decoded as such (genisoimage converts to Mac Roman; hfsutils keeps bytes)."""
    need("hmount", "hls", "humount")
    home = image.parent / (image.name + ".hls")
    home.mkdir(exist_ok=True)
    mount = ["hmount", str(image)] + ([str(partition)] if partition is not None else [])
    _hfsutils(home, *mount).check_returncode()
    try:
        names = _hfsutils(home, "hls", "-1aRU").stdout
        longs = _hfsutils(home, "hls", "-laRU").stdout
    finally:
        _hfsutils(home, "humount")
    out: dict[str, tuple[str, int]] = {}
    for nblock, lblock in zip(names.split(b"\n\n"), longs.split(b"\n\n"), strict=True):
        nl, ll = nblock.split(b"\n"), lblock.split(b"\n")
        folder = ""
        if nl[0].startswith(b":") and nl[0].endswith(b":"):  # ":sub:deeper:" heads a folder
            folder = "/" + "/".join(p.decode("mac_roman") for p in nl[0].split(b":")[1:-1])
            nl, ll = nl[1:], ll[1:]
        for name, line in zip(nl, ll, strict=True):
            if not name:
                continue
            fields = line.split()
            path = f"{folder}/{name.decode('mac_roman').replace('/', ':')}"
            if fields[0].startswith(b"d"):
                out[path] = ("dir", 0)
            else:
                out[path] = ("file", int(fields[3]))
    return out


def hcopy_bytes(image: Path, path: str, partition: int | None = None) -> bytes:
    """A file's data fork as hfsutils' ``hcopy -r`` copies it."""
    home = image.parent / (image.name + ".hcp")
    home.mkdir(exist_ok=True)
    mount = ["hmount", str(image)] + ([str(partition)] if partition is not None else [])
    _hfsutils(home, *mount).check_returncode()
    dest = home / "copied"
    dest.unlink(missing_ok=True)
    try:
        mac = ":".join(p.replace(":", "/") for p in path.split("/")).encode("mac_roman")
        subprocess.run(
            [b"hcopy", b"-r", mac, bytes(dest)],
            check=True,
            capture_output=True,
            env={**os.environ, "HOME": str(home)},
        )
    finally:
        _hfsutils(home, "humount")
    return dest.read_bytes()


def seven_zip_tree(volume: Path) -> dict[str, tuple[str, int]]:
    """path -> (kind, size) as 7-Zip lists an HFS+ volume (its root folder, the volume name,
    is dropped from every path)."""
    need("7z")
    out = subprocess.run(
        ["7z", "l", "-slt", "-tHFS", str(volume)], capture_output=True, text=True, check=True
    ).stdout
    items: dict[str, tuple[str, int]] = {}
    for block in out.split("\n\n"):
        f = dict(re.findall(r"^(\w[\w ]*?) = (.*)$", block, re.M))
        if "Path" not in f or "Folder" not in f or "/" not in f["Path"]:
            continue
        if f.get("Alternate Stream") == "+":
            continue  # resource forks: not what a listing shows
        path = "/" + f["Path"].split("/", 1)[1]
        kind = "dir" if f["Folder"] == "+" else "file"
        if f.get("Mode", "").startswith("l"):
            kind = "symlink"
        items[path] = (kind, int(f.get("Size") or 0))
    return items


def seven_zip_archive_items(image: Path, kind: str) -> dict[str, tuple[int, int]]:
    """name -> (offset, size) of the items 7-Zip lists opening ``image`` as ``kind`` (APM, GPT).

    7-Zip believes the driver descriptor's block count, which xorriso fills with x86 boot code
    (0xEB02FFFF blocks: "Unexpected end of archive", exit 2); the entries still list."""
    need("7z")
    out = subprocess.run(
        ["7z", "l", "-slt", f"-t{kind}", str(image)], capture_output=True, text=True
    ).stdout
    items: dict[str, tuple[int, int]] = {}
    for block in out.split("\n\n"):
        f = dict(re.findall(r"^(\w[\w ]*?) = (.*)$", block, re.M))
        if "Path" in f and "Offset" in f and f["Path"] != str(image):
            items[f["Path"]] = (int(f["Offset"]), int(f.get("Size") or 0))
    assert items, out
    return items


def seven_zip_extract(volume: Path, dest: Path) -> Path:
    need("7z")
    subprocess.run(
        ["7z", "x", "-y", "-tHFS", f"-o{dest}", str(volume)], check=True, capture_output=True
    )
    (root,) = [p for p in dest.iterdir() if p.is_dir()]
    return root


def hfs_wrapper(plus_volume: bytes, out: Path) -> Path:
    """An HFS wrapper around an HFS+ volume, as Mac OS 8.1-9 wrote them for old ROMs: only the
    master directory block with its embedded-volume signature and extent (nothing we can call
    makes one; 7-Zip reads it, and judges it)."""
    bs, first = 2048, 4  # allocation blocks of 2048 bytes from byte 2048
    n = -(-len(plus_volume) // bs)
    data = bytearray(first * 512 + (n + 2) * bs + 1024)
    mdb = 1024
    data[mdb : mdb + 2] = b"BD"
    struct.pack_into(">HI", data, mdb + 18, n + 2, bs)
    struct.pack_into(">H", data, mdb + 28, first)
    data[mdb + 36 : mdb + 44] = b"\x07Wrapper"
    data[mdb + 124 : mdb + 126] = b"H+"
    struct.pack_into(">HH", data, mdb + 126, 1, n)  # the HFS+ volume: blocks 1..n
    at = first * 512 + bs
    data[at : at + len(plus_volume)] = plus_volume
    out.write_bytes(bytes(data))
    return out


def fragment_hfsplus(
    image: Path, volume_offset: int, name: str, donor: str, pieces: int = 12
) -> None:
    """Scatter file ``name`` of an xorriso HFS+ volume into ``pieces`` extents laid down in
    reverse order: eight stay in its catalog record, the rest go into the extents overflow
    B-tree. xorriso's extents file is a lone header node, so the file ``donor`` gives up its
    (one) block to become the tree's leaf and is left a 0-byte file. A reader that ignores the
    overflow file, or assumes contiguous data, reads wrong bytes."""
    data = bytearray(image.read_bytes())
    bs = struct.unpack_from(">I", data, volume_offset + 1024 + 40)[0]
    rec = _file_record(data, name)
    fid = struct.unpack_from(">I", data, rec + 8)[0]
    start, count = struct.unpack_from(">II", data, rec + 104)
    assert count >= pieces and struct.unpack_from(">I", data, rec + 116)[0] == 0
    chunk = count // pieces
    lengths = [chunk] * (pieces - 1) + [count - chunk * (pieces - 1)]
    blobs, pos = [], volume_offset + start * bs
    for n in lengths:
        blobs.append(bytes(data[pos : pos + n * bs]))
        pos += n * bs
    starts, where = [0] * pieces, start
    for i in reversed(range(pieces)):  # last piece first on the volume
        starts[i] = where
        at = volume_offset + where * bs
        data[at : at + lengths[i] * bs] = blobs[i]
        where += lengths[i]
    for i in range(8):
        struct.pack_into(">II", data, rec + 104 + 8 * i, starts[i], lengths[i])
    drec = _file_record(data, donor)
    dblock, dcount = struct.unpack_from(">II", data, drec + 104)
    assert dcount == 1
    data[drec + 88 : drec + 168] = bytes(80)  # the donor: a 0-byte file now
    _grow_extents_tree(data, volume_offset, bs, dblock)
    overflow = b"".join(
        struct.pack(">II", s, n) for s, n in zip(starts[8:], lengths[8:], strict=True)
    )
    key = struct.pack(">HBxII", 10, 0, fid, sum(lengths[:8]))
    _put_leaf(data, volume_offset + dblock * bs, bs, key + overflow.ljust(64, b"\0"))
    image.write_bytes(bytes(data))


def _file_record(data: bytearray, name: str) -> int:
    """Offset of the catalog file record whose key ends with ``name``."""
    key_end = struct.pack(">H", len(name)) + name.encode("utf-16-be")
    p = bytes(data).find(key_end + b"\x00\x02")
    assert p > 0 and bytes(data).count(key_end + b"\x00\x02") == 1, name
    return p + len(key_end)


def _grow_extents_tree(data: bytearray, vol: int, bs: int, block: int) -> None:
    """Give the extents file a second node at ``block`` (node size == block size here)."""
    fork = vol + 1024 + 192
    size, _, blocks = struct.unpack_from(">QII", data, fork)
    first, n = struct.unpack_from(">II", data, fork + 16)
    node = struct.unpack_from(">H", data, vol + first * bs + 14 + 18)[0]
    assert (size, blocks, n, node) == (bs, 1, 1, bs), "xorriso changed its extents file"
    struct.pack_into(">Q", data, fork, 2 * bs)
    struct.pack_into(">I", data, fork + 12, 2)
    struct.pack_into(">II", data, fork + 24, block, 1)
    head = vol + first * bs
    # Header record: depth 1, root 1, 1 leaf record, first and last leaf 1, 2 nodes, 0 free.
    struct.pack_into(">HIIII", data, head + 14, 1, 1, 1, 1, 1)
    struct.pack_into(">II", data, head + 14 + 22, 2, 0)
    bitmap = head + struct.unpack_from(">H", data, head + node - 6)[0]
    data[bitmap] |= 0x40  # node 1 in use


def _put_leaf(data: bytearray, at: int, node: int, record: bytes) -> None:
    data[at : at + node] = bytes(node)
    struct.pack_into(">IIbBH", data, at, 0, 0, -1, 1, 1)
    data[at + 14 : at + 14 + len(record)] = record
    struct.pack_into(">HH", data, at + node - 4, 14 + len(record), 14)
