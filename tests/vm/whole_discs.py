"""The discs of issue 12's acceptance tests, made by tools we did not write and described for
the emulated USB drive (tests/vm/usbdrive/disc.py): a two-session TAO CD-R, a CD-Extra, a
Mac/PC hybrid whose HFS ends past the ISO volume, a single-session TAO CD-R, a CSS DVD-Video
and an audio CD (tests/discfixtures.py makes most of them). Also what the guest kernel needs to
judge a hybrid (its loop and hfs modules), and how to read back what a disc holds.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import random_bytes
from tests.discfixtures import audio_only, cd_extra, hfs_hybrid_past_iso, multisession
from tests.vm.usbdrive.disc import Disc

SECTOR = 2048


# ---- the discs ----------------------------------------------------------------------------------
def describe(
    w: Path, name: str, profile: str, sessions: list[list[dict[str, Any]]], blob: bytes, **more: Any
) -> Path:
    """A disc description whose data tracks read from one file holding every sector at its
    LBA (``blob``); audio tracks have no file (silence)."""
    (w / f"{name}.bin").write_bytes(blob)
    doc: dict[str, Any] = {"profile": profile, "sessions": [], **more}
    for tracks in sessions:
        out = []
        for t in tracks:
            t = dict(t)
            if t["kind"] != "audio":
                t.update(file=f"{name}.bin", offset=t["start"] * SECTOR)
            out.append(t)
        doc["sessions"].append({"tracks": out})
    path = w / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def from_layout(layout: Any) -> list[list[dict[str, Any]]]:
    return [
        [
            {"kind": str(t.kind), "start": t.start, "length": t.length, "runout": t.runout}
            for t in s.tracks
        ]
        for s in layout.sessions
    ]


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return root


def make_discs(w: Path) -> dict[str, dict[str, Any]]:
    discs: dict[str, dict[str, Any]] = {}
    ms = multisession(mkdir(w / "ms"))
    discs["multisession"] = {
        "json": describe(w, "multisession", "CD-R", from_layout(ms.layout), ms.data),
        "mounts": [["last", "iso9660"], ["session0", "iso9660", "session=0"]],
    }
    ex = cd_extra(mkdir(w / "ex"))
    discs["cdextra"] = {
        "json": describe(w, "cdextra", "CD-ROM", from_layout(ex.layout), ex.data),
        "mounts": [["last", "iso9660"]],
    }
    hybrid, iso_end, hfs_end = hfs_hybrid_past_iso(mkdir(w / "hy"))
    assert iso_end < hfs_end == len(hybrid) // SECTOR
    discs["hybrid"] = {
        "json": describe(
            w, "hybrid", "CD-ROM", [[{"kind": "mode1", "start": 0, "length": hfs_end}]], hybrid
        ),
        "mounts": [["last", "iso9660"], ["hfs", "hfs"]],
        "image_mounts": [["hfs", "hfs"]],
        "iso_end": iso_end,
    }
    t = tree(
        w / "tao",
        {
            "DCIM/IMG_0001.JPG": random_bytes(250_000, 21),
            "DCIM/IMG_0002.JPG": random_bytes(180_000, 22),
            "index.html": b"<p>holiday</p>\n",
        },
    )
    iso = w / "tao.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", "HOLIDAY", "-o", str(iso), str(t)],
        check=True,
        capture_output=True,
    )
    n = iso.stat().st_size // SECTOR
    discs["tao"] = {
        "json": describe(
            w,
            "tao",
            "CD-R",
            [[{"kind": "mode1", "start": 0, "length": n + 2, "runout": 2}]],
            iso.read_bytes(),
        ),
        "mounts": [["last", "iso9660"]],
    }
    # A DVD-Video: its VOB scrambled, the IFOs in the clear (as CSS discs are).
    vt = tree(
        w / "dvd",
        {
            "VIDEO_TS/VIDEO_TS.IFO": random_bytes(12_288, 31),
            "VIDEO_TS/VTS_01_0.IFO": random_bytes(20_480, 32),
            "VIDEO_TS/VTS_01_1.VOB": random_bytes(900_000, 33),
        },
    )
    dvd = w / "dvd.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-udf", "-V", "MOVIE", "-o", str(dvd), str(vt)],
        check=True,
        capture_output=True,
    )
    vob = extent_of(dvd, "VTS_01_1.VOB")
    discs["dvd"] = {
        "json": describe(
            w,
            "dvd",
            "DVD-ROM",
            [[{"kind": "mode1", "start": 0, "length": dvd.stat().st_size // SECTOR}]],
            dvd.read_bytes(),
            css={"region_mask": 0, "scrambled": [[vob + 8, 64]]},
        ),
        "scrambled": vob + 8,
    }
    au = audio_only()
    discs["audio"] = {"json": describe(w, "audio", "CD-ROM", from_layout(au.layout), b"")}
    return discs


def mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def extent_of(iso: Path, name: str) -> int:
    """A file's first LBA as isoinfo (cdrtools/genisoimage, not ours) lists it."""
    listing = subprocess.run(
        ["isoinfo", "-R", "-l", "-i", str(iso)], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"\[\s*(\d+)\s+\d+\]\s+" + re.escape(name) + r"(;1)?\s*$", listing, re.M)
    assert m, listing
    return int(m.group(1))


def kernel_modules(w: Path) -> list[str]:
    """The guest kernel's loop.ko and hfs.ko, from the kernel package the test VM was built
    from (the guest sees the host's files): its own HFS driver judges the hybrid's Mac side."""
    from tests.vm.testvm import build

    kernel, _ = build()
    debs = list((kernel.parent / "deb").glob("*.deb"))
    if not debs:
        return []
    dest = mkdir(w / "kmod")
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], capture_output=True)
    wanted = ["*/drivers/block/loop.ko", "*/fs/hfs/hfs.ko"]
    subprocess.run(
        ["tar", "-x", "-C", str(dest), "--wildcards", *wanted],
        input=tar.stdout,
        capture_output=True,
    )
    found = [next(dest.rglob(name), None) for name in ("loop.ko", "hfs.ko")]
    return [str(f) for f in found if f is not None]


def readable_sectors(desc: Path) -> tuple[bytearray, set[int]]:
    """Every sector the drive reads as data, at its LBA (the rest zero), and their LBAs."""
    disc = Disc.load(desc)
    data = bytearray(disc.capacity * SECTOR)
    good = set()
    for t in disc.tracks:
        if not t.is_data:
            continue
        for lba in range(t.start, t.end - t.runout):
            if any(d.covers(lba) for d in disc.defects):
                continue
            if disc.css is not None and disc.css.is_scrambled(lba):
                continue
            data[lba * SECTOR : (lba + 1) * SECTOR] = disc.sector(t, lba)
            good.add(lba)
    disc.close()
    return data, good


def finished_runs(mapfile: Path) -> list[tuple[int, int]]:
    """The finished ('+') runs of a GNU ddrescue mapfile, in sectors (read as ddrescue's
    format says: comment lines, the current-position line, then pos/size/status lines)."""
    rows = [ln.split() for ln in mapfile.read_text().splitlines() if ln and ln[0] != "#"]
    return [
        (int(pos, 0) // SECTOR, (int(pos, 0) + int(size, 0)) // SECTOR)
        for pos, size, status, *_ in rows[1:]
        if status == "+"
    ]
