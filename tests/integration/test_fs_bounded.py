"""Bounded time and memory on any input: zisofs streams and refuses a damaged file alone, a
crafted UDF entry cannot make a listing re-read its extents, listings of millions of entries
stream, and what is not an image file or block device is refused up front."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from tests.conftest import random_bytes
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli

MB = 1 << 20


# A small parent spawns the command and reports its peak RSS: measured straight from this
# test process, the child's peak would include this process's own memory, copied at fork.
_MEASURE = """import os, sys
pid = os.posix_spawn(sys.executable, [sys.executable, "-m", "app", *sys.argv[1:]], os.environ)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\nPEAK-RSS-KB {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(args: list[str], stdout: Path) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, stderr) of ``discvault ARGS``, stdout to a file."""
    with open(stdout, "wb") as out:
        r = subprocess.run(
            [sys.executable, "-c", _MEASURE, *args], stdout=out, stderr=subprocess.PIPE, text=True
        )
    err, _, peak = r.stderr.rpartition("\nPEAK-RSS-KB ")
    return r.returncode, int(peak) * 1024, err


def rchar() -> int:
    """Bytes this process has read so far (Linux /proc: counts every read and pread)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def zisofs_image(tmp: Path, files: dict[str, bytes | int]) -> Path:
    """xorriso image whose files are zisofs-compressed (an int: that many zero bytes, sparse)."""
    fx.need("xorriso")
    tree = tmp / "ztree"
    tree.mkdir()
    for name, content in files.items():
        with open(tree / name, "wb") as f:
            if isinstance(content, int):
                f.truncate(content)
            else:
                f.write(content)
    iso = tmp / "z.iso"
    names = [f"/{n}" for n in files]
    cmd = ["xorriso", "-outdev", str(iso), "-map", str(tree), "/"]
    cmd += ["-set_filter_r", "--zisofs", *names, "--"]
    subprocess.run(cmd, check=True, capture_output=True)
    return iso


def compressible(n: int) -> bytes:
    """Text-like bytes: zlib shrinks them, so each zisofs block holds real deflate data."""
    words = random_bytes(n // 4, seed=5).hex().encode()
    return (words * 3)[:n]


def test_a_big_zisofs_file_extracts_in_constant_memory(tmp_path: Path) -> None:
    """A 192 MB zisofs file (zeros: stored as empty blocks): the whole file used to be held in
    memory before the first byte was written (when its ratio did not get it refused)."""
    size = 192 * MB
    iso = zisofs_image(tmp_path, {"big.bin": size})
    node = open_image(str(iso)).find("/big.bin")
    assert node is not None and node.zisofs is not None and node.zisofs[2] == size
    code, rss, err = run_measured(
        ["extract", str(iso), "-o", str(tmp_path / "out")], tmp_path / "log"
    )
    assert code == 0, err
    assert (tmp_path / "out" / "big.bin").stat().st_size == size
    assert rss < 100 * MB, f"peak RSS {rss / MB:.0f} MB"


def test_corrupt_zisofs_data_refuses_that_file_alone(tmp_path: Path) -> None:
    good = compressible(400_000)
    iso = zisofs_image(tmp_path, {"bad.bin": good, "good.bin": good})
    node = open_image(str(iso)).find("/bad.bin")
    assert node is not None and node.zisofs is not None
    data = bytearray(iso.read_bytes())
    start = node.extents[0][0] * 2048
    first, second = struct.unpack_from("<2I", data, start + 16 + 4 * 3)  # block 3
    data[start + first + 10 : start + second - 10] = b"\xff" * (second - first - 20)
    bad = tmp_path / "bad.iso"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out"
    r = run_cli("extract", str(bad), "-o", str(out))
    assert r.returncode == 4 and "Traceback" not in r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith("discvault: /bad.bin: could not extract: zisofs") and "block 3" in line
    assert (out / "good.bin").read_bytes() == good
    assert sorted(os.listdir(out)) == ["good.bin"]  # no partial file, no temporary left


def test_an_absurd_zisofs_header_gives_way_to_the_sound_one(tmp_path: Path) -> None:
    """The file's own header says its pointer table starts 4 bytes in: read so, the pointers
    are garbage. The Rock Ridge ZF entry says where it is: that one is used. With both absurd,
    the file comes out as stored, and says so (as 7-Zip gives it)."""
    content = compressible(300_000)
    iso = zisofs_image(tmp_path, {"a.bin": content, "b.bin": content})
    i = open_image(str(iso))
    a, b = i.find("/a.bin"), i.find("/b.bin")
    assert a is not None and b is not None
    data = bytearray(iso.read_bytes())
    data[a.extents[0][0] * 2048 + 12] = 1  # a.bin: header size / 4
    data[b.extents[0][0] * 2048 + 12] = 1  # b.bin: the same, and its ZF entry claims 4 GB
    zf = data.find(b"ZF\x10\x01pz", fx.find_dir_record(bytes(data), b"B.BIN;1"))
    struct.pack_into("<I", data, zf + 8, 0xFFFFFFF0)
    struct.pack_into(">I", data, zf + 12, 0xFFFFFFF0)
    iso.write_bytes(bytes(data))
    res = extract(open_image(str(iso)), None, str(tmp_path / "out"))
    assert res.refused == []
    assert (tmp_path / "out" / "a.bin").read_bytes() == content
    stored = (tmp_path / "out" / "b.bin").read_bytes()
    assert stored[:8] == b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07" and len(stored) == b.size
    ((path, note),) = res.notes
    assert path == "/b.bin" and note.endswith("listed as stored")


def _udf_with_crafted_link(tmp: Path, loop: bool) -> tuple[Path, int]:
    """A UDF-only image whose /data.bin entry becomes a symlink of a terabyte: 233 extents,
    each the whole image, or with ``loop`` one-sector extents continued in a block that
    continues into itself."""
    tree = fx.make_tree(tmp / "tree")
    bridge = fx.build("geniso_udf_bridge", tree, tmp / "bridge.iso")
    iso = fx.udf_only_from_bridge(bridge, tmp / "udf.iso")
    i = open_image(str(iso))
    node = i.find("/data.bin")
    assert node is not None
    fe = node.ref[0] * 2048
    part = next(iter(i.fs.parts.values()))  # type: ignore[union-attr]
    data = bytearray(iso.read_bytes())
    extent = 2048 if loop else (0x3FFFFFFF // 2048) * 2048
    ads = struct.pack("<II", extent, 0) * 233
    if loop:
        cont = len(data) // 2048
        ads = ads[:-8] + struct.pack("<II", (3 << 30) | 2048, cont - part)
        block = bytes(24) + struct.pack("<II", extent, 0) * 252
        block += struct.pack("<II", (3 << 30) | 2048, cont - part)
        data += block + bytes(2048 - len(block))
    data[fe + 16 + 11] = 12  # file type: symlink
    struct.pack_into("<H", data, fe + 16 + 18, 0)  # short allocation descriptors
    struct.pack_into("<Q", data, fe + 56, 1 << 40)
    struct.pack_into("<II", data, fe + 168, 0, len(ads))
    data[fe + 176 : fe + 176 + len(ads)] = ads
    iso.write_bytes(bytes(data))
    return iso, len(data)


@pytest.mark.parametrize("loop", [False, True], ids=["233-extents", "looping-continuation"])
@pytest.mark.timeout(60)
def test_a_crafted_udf_link_cannot_make_inspect_reread_extents(loop: bool, tmp_path: Path) -> None:
    iso, size = _udf_with_crafted_link(tmp_path, loop)
    before = rchar()
    i = open_image(str(iso))
    nodes = {n.path: n for n in i.walk()}
    read = rchar() - before
    assert read < 4 * size, f"read {read / MB:.0f} MB of a {size / MB:.1f} MB image"
    link = nodes["/data.bin"]
    assert link.kind == "symlink" and link.target is None
    assert link.problem.endswith(f"a link of {1 << 40} bytes, not read")
    if loop:
        assert "allocation descriptors loop" in link.problem
        assert len(link.extents) == 232 + 252
    assert len(nodes) == len(list(open_image(str(iso)).walk()))  # and the rest lists


def test_two_million_entries_stream_in_constant_memory(tmp_path: Path) -> None:
    """300 000 entries here (the issue's 2 million took 1.92 GB): peak memory must not grow
    with the listing, for --json --files and for the text listing."""
    n = 300_000
    iso = fx.many_entries_iso(tmp_path, n)
    out = tmp_path / "listing.json"
    code, rss, err = run_measured(["inspect", str(iso), "--json", "--files"], out)
    assert code == 0, err
    assert rss < 80 * MB, f"--json --files peaked at {rss / MB:.0f} MB"
    files = 0
    head: list[str] = []
    with open(out) as f:
        for line in f:
            if line.startswith('    {"path"'):
                entry = json.loads(line.rstrip().rstrip(","))
                assert entry["path"] == f"/F{files:07d}" and entry["kind"] == "file"
                files += 1
            else:
                head.append(line)
    assert files == n
    doc = json.loads("".join(head))  # the rest, with an empty "files", is the same document
    assert doc["schema"] == "discvault.inspect/1" and doc["files"] == [] and doc["problems"] == []
    code, rss, err = run_measured(["inspect", str(iso), "--files"], tmp_path / "listing.txt")
    assert code == 0, err
    assert rss < 80 * MB, f"--files peaked at {rss / MB:.0f} MB"
    text = (tmp_path / "listing.txt").read_text().splitlines()
    assert text[-1] == f"  {n} file(s), 0 folder(s), 0 B"
    assert sum(1 for ln in text if "/F0" in ln) == n


@pytest.mark.parametrize("what", ["fifo", "folder", "char device"])
@pytest.mark.parametrize("command", ["inspect", "extract"])
def test_what_is_not_an_image_file_or_block_device_is_refused_up_front(
    what: str, command: str, tmp_path: Path
) -> None:
    """A FIFO used to hang inspect and extract forever (SIGINT and SIGTERM ignored)."""
    if what == "fifo":
        path = str(tmp_path / "pipe.iso")
        os.mkfifo(path)
    elif what == "folder":
        path = str(tmp_path)
    else:
        path = "/dev/zero"
    args = [command, path] + (["-o", str(tmp_path / "out")] if command == "extract" else [])
    r = subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 4
    kind = {"fifo": "a FIFO (named pipe)", "folder": "a folder", "char device": "a character"}
    assert r.stderr.startswith(f"discvault: {path}: is {kind[what]}")
    assert len(r.stderr.splitlines()) == 1 and " — " in r.stderr
    assert not (tmp_path / "out").exists()
