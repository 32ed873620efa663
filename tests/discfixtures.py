"""Whole discs for tests: multi-session CD-Rs, CD-Extra and Mac hybrids, made by tools we did
not write (xorriso, genisoimage, hfsutils), laid out at their real LBAs with the gaps a drive
cannot read, plus a source that reports their TOC the way a drive does.

The TOC is given at the device boundary, as a drive gives it: the sectors come from a real block
device (FUSE + loop, with the unreadable gaps injected there), the layout from the "drive".
"""

from __future__ import annotations

import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.core.disc.layout import TAO_RUNOUT, DiscLayout, Session, Track, TrackKind
from app.core.disc.sources import ImageSource
from tests.conftest import random_bytes

SECTOR = 2048
FIRST_GAP = 6750 + 4500 + 150


class TocDriveSource(ImageSource):
    """A block device that answers READ TOC like a drive: the layout is the disc's."""

    is_drive = True

    def __init__(self, path: str, layout: DiscLayout, medium: str = "CD") -> None:
        super().__init__(path)
        self._layout = layout
        self.medium = medium

    def read_layout(self) -> DiscLayout:
        return self._layout


@dataclass
class Disc:
    data: bytes  # every sector at its LBA (unreadable ones zero)
    layout: DiscLayout
    unreadable: list[tuple[int, int]]  # (lba, count) a drive cannot read as data
    sessions: list[Path]  # the trees each session was made from

    def faults(self) -> list[dict[str, object]]:
        return [{"lba": s, "count": n, "kind": "bad"} for s, n in self.unreadable]


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return root


def multisession(work: Path, tool: str = "xorriso") -> Disc:
    """Two sessions, TAO: session 2 replaces keep.txt, adds b.bin and deletes nothing.

    Session 1 track: its data + 2 run-out sectors; then lead-out 6750 + lead-in 4500 + pregap
    150; session 2 track: its data + 2 run-out sectors."""
    t1 = _tree(
        work / "s1",
        {
            "a.bin": random_bytes(300_000, 1),
            "keep.txt": b"first batch\n",
            "photos/IMG_0001.JPG": random_bytes(90_000, 2),
        },
    )
    t2 = _tree(
        work / "s2",
        {
            "b.bin": random_bytes(200_000, 3),
            "keep.txt": b"second batch\n",
            "photos/IMG_0002.JPG": random_bytes(70_000, 4),
        },
    )
    s1, s2 = work / "s1.iso", work / "s2.iso"
    mk = ["xorriso", "-as", "mkisofs"] if tool == "xorriso" else ["genisoimage", "-quiet"]
    subprocess.run(
        [*mk, "-R", "-J", "-V", "BATCH1", "-o", str(s1), str(t1)], check=True, capture_output=True
    )
    n1 = os.path.getsize(s1) // SECTOR
    start2 = n1 + TAO_RUNOUT + FIRST_GAP
    subprocess.run(
        [
            *mk,
            "-R",
            "-J",
            "-V",
            "BATCH2",
            "-C",
            f"0,{start2}",
            "-M",
            str(s1),
            "-o",
            str(s2),
            str(t2),
        ],
        check=True,
        capture_output=True,
    )
    n2 = os.path.getsize(s2) // SECTOR
    end = start2 + n2 + TAO_RUNOUT
    data = bytearray(end * SECTOR)
    data[: n1 * SECTOR] = s1.read_bytes()
    data[start2 * SECTOR : (start2 + n2) * SECTOR] = s2.read_bytes()
    t_1 = Track(1, 1, 0, n1 + TAO_RUNOUT, TrackKind.MODE1, TAO_RUNOUT)
    t_2 = Track(2, 2, start2, n2 + TAO_RUNOUT, TrackKind.MODE1, TAO_RUNOUT)
    layout = DiscLayout((Session(1, (t_1,), t_1.end), Session(2, (t_2,), t_2.end)), "toc", "CD")
    unreadable = [(n1, TAO_RUNOUT + FIRST_GAP), (start2 + n2, TAO_RUNOUT)]
    return Disc(bytes(data), layout, unreadable, [t1, t2])


def cd_extra(work: Path) -> Disc:
    """Audio tracks in session 1 (unreadable as 2048-byte data), data in session 2."""
    t = _tree(
        work / "data", {"README.TXT": b"bonus content\n", "video.mpg": random_bytes(150_000, 5)}
    )
    iso = work / "extra.iso"
    audio = 3000  # sectors of "music" in two tracks
    start2 = audio + FIRST_GAP
    subprocess.run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-R",
            "-J",
            "-V",
            "EXTRA",
            "-C",
            f"0,{start2}",
            "-o",
            str(iso),
            str(t),
        ],
        check=True,
        capture_output=True,
    )
    n = os.path.getsize(iso) // SECTOR
    data = bytearray((start2 + n) * SECTOR)
    data[start2 * SECTOR :] = iso.read_bytes()
    layout = DiscLayout(
        (
            Session(
                1,
                (Track(1, 1, 0, 1800, TrackKind.AUDIO), Track(2, 1, 1800, 1200, TrackKind.AUDIO)),
                audio,
            ),
            Session(2, (Track(3, 2, start2, n, TrackKind.MODE2),), start2 + n),
        ),
        "toc",
        "CD",
    )
    return Disc(bytes(data), layout, [(0, start2)], [t])


def audio_only() -> Disc:
    layout = DiscLayout((Session(1, (Track(1, 1, 0, 2000, TrackKind.AUDIO),), 2000),), "toc", "CD")
    return Disc(bytes(2000 * SECTOR), layout, [(0, 2000)], [])


def hfs_hybrid_past_iso(work: Path, hfs_sectors: int = 600) -> tuple[bytes, int, int]:
    """An ISO 9660 volume with an HFS volume after it, named by an Apple partition map at LBA 0
    (as Mac/PC hybrids are): returns (disc, where the ISO volume ends, where HFS ends)."""
    t = _tree(work / "pc", {"SETUP.EXE": random_bytes(120_000, 6)})
    iso = work / "pc.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", "HYBRID", "-o", str(iso), str(t)],
        check=True,
        capture_output=True,
    )
    hfs = work / "mac.hfs"
    hfs.write_bytes(bytes(hfs_sectors * SECTOR))
    subprocess.run(["hformat", "-l", "MacSide", str(hfs)], check=True, capture_output=True)
    mac_file = work / "Read Me"
    mac_file.write_bytes(random_bytes(400_000, 7))
    subprocess.run(["hcopy", "-r", str(mac_file), ":Read Me"], check=True, capture_output=True)
    subprocess.run(["humount"], capture_output=True)
    iso_data = bytearray(iso.read_bytes())
    n_iso = len(iso_data) // SECTOR
    # Apple partition map in the system area: driver descriptor + 2 entries (the map, HFS).
    blk = 512
    dd = bytearray(blk)
    dd[0:2] = b"ER"
    struct.pack_into(">HI", dd, 2, blk, (n_iso + hfs_sectors) * 4)

    def entry(start: int, count: int, name: bytes, kind: bytes) -> bytes:
        e = bytearray(blk)
        e[0:2] = b"PM"
        struct.pack_into(">III", e, 4, 2, start, count)
        e[16 : 16 + len(name)] = name
        e[48 : 48 + len(kind)] = kind
        return bytes(e)

    iso_data[0:blk] = dd
    iso_data[blk : 2 * blk] = entry(1, 2, b"Apple", b"Apple_partition_map")
    iso_data[2 * blk : 3 * blk] = entry(n_iso * 4, hfs_sectors * 4, b"MacSide", b"Apple_HFS")
    disc = bytes(iso_data) + hfs.read_bytes()
    return disc, n_iso, n_iso + hfs_sectors
