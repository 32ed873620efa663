"""CDs with audio and Mode 2 tracks for the emulated drive, and what a faithful rip of each holds.

The data comes from tools we did not write (genisoimage for a Mode 1 track, vcdimager for a
Video CD's Mode 2 track); the audio is seeded noise. ``truth`` is the disc as recorded, sector
by sector (data sectors made raw by ``cdsector.encode``, which tests/unit/test_cdsector.py judges
against ECMA-130, vcdimager, chdman and bchunk), and ``files`` the Redump-style BIN/CUE files a
rip must produce from it.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.disc import cdsector

RAW = 2352
PREGAP = 150


def noise(sectors: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(sectors * RAW)


@dataclass
class RawDisc:
    doc: dict[str, Any]  # the disc description (tests/vm/usbdrive/disc.py)
    base: Path  # where its backing files are
    truth: bytes  # every sector of the program area, LBA 0 first, 2352 bytes each
    spans: list[tuple[int, int, int]]  # (track, first LBA, end LBA) of each track's file
    iso: bytes = b""  # the data track's user data (what bchunk must give back)
    audio: dict[int, bytes] = field(default_factory=dict)  # track -> its samples (INDEX 01 on)

    def json_path(self, name: str = "disc.json", **drive: object) -> Path:
        doc = json.loads(json.dumps(self.doc))
        doc.setdefault("drive", {}).update(drive)
        path = self.base / name
        path.write_text(json.dumps(doc))
        return path

    def files(self, stem: str) -> dict[str, bytes]:
        many = len(self.spans) > 1
        width = 2 if len(self.spans) >= 10 else 1
        out = {}
        for n, a, b in self.spans:
            name = f"{stem} (Track {n:0{width}d}).bin" if many else f"{stem}.bin"
            out[name] = self.truth[a * RAW : b * RAW]
        return out


def genisoimage(work: Path, files: dict[str, bytes], label: str = "MIXED") -> bytes:
    tree = work / f"tree-{label}"
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    out = work / f"{label}.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", label, "-o", str(out), str(tree)], check=True
    )
    return out.read_bytes()


def mixed_mode(work: Path, audio: tuple[int, ...] = (200, 150)) -> RawDisc:
    """Track 1 Mode 1 (a genisoimage ISO, then the 2-second postgap Yellow Book asks for
    before audio), then audio tracks. Redump's files: track 1 up to the postgap; track 2 from
    its 2-second pregap (which holds the data track's postgap sectors) on."""
    work.mkdir(parents=True, exist_ok=True)
    iso = genisoimage(
        work, {"game/a.bin": random.Random(7).randbytes(300_000), "readme.txt": b"hi\n"}
    )
    n1 = len(iso) // 2048
    (work / "t1.iso").write_bytes(iso)
    data_len = n1 + PREGAP
    tracks: list[dict[str, Any]] = [
        {"kind": "mode1", "start": 0, "length": data_len, "file": "t1.iso"}
    ]
    lba = data_len
    samples = {}
    for i, n in enumerate(audio, start=2):
        pcm = noise(n, 100 + i)
        (work / f"a{i}.raw").write_bytes(pcm)
        tracks.append(
            {
                "kind": "audio",
                "start": lba,
                "length": n,
                "file": f"a{i}.raw",
                "isrc": f"DEDV1{i:07d}",
            }
        )
        samples[i] = pcm
        lba += n
    user = iso + bytes(PREGAP * 2048)
    truth = cdsector.encode(user, 0) + b"".join(samples[i] for i in sorted(samples))
    spans = [(1, 0, n1)]
    a = n1
    for i, n in enumerate(audio, start=2):
        b = (a + PREGAP + n) if i == 2 else a + n
        spans.append((i, a, b))
        a = b
    doc = {
        "profile": "CD-ROM",
        "sessions": [{"tracks": tracks}],
        "mcn": "4006381333931",
        "cdtext": {
            "title": "Mixed Test",
            "performer": "DiscVault",
            "tracks": {"2": {"title": "Noise Two"}, "3": {"title": "Noise Three"}},
        },
    }
    return RawDisc(doc, work, truth, spans, iso, samples)


def audio_cd(work: Path, lengths: tuple[int, ...] = (120, 90, 60)) -> RawDisc:
    work.mkdir(parents=True, exist_ok=True)
    tracks, lba, samples, spans = [], 0, {}, []
    for i, n in enumerate(lengths, start=1):
        pcm = noise(n, 200 + i)
        (work / f"c{i}.raw").write_bytes(pcm)
        tracks.append({"kind": "audio", "start": lba, "length": n, "file": f"c{i}.raw"})
        samples[i] = pcm
        spans.append((i, lba, lba + n))
        lba += n
    truth = b"".join(samples[i] for i in sorted(samples))
    return RawDisc(
        {"profile": "CD-ROM", "sessions": [{"tracks": tracks}]}, work, truth, spans, b"", samples
    )


def video_cd(work: Path, vcdimager_bin: bytes) -> RawDisc:
    """One Mode 2 track of raw sectors as vcdimager wrote them (Form 1 and Form 2)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "vcd.bin").write_bytes(vcdimager_bin)
    n = len(vcdimager_bin) // RAW
    doc = {
        "profile": "CD-ROM",
        "sessions": [
            {
                "tracks": [
                    {"kind": "mode2", "start": 0, "length": n, "file": "vcd.bin", "format": "raw"}
                ]
            }
        ],
    }
    return RawDisc(doc, work, vcdimager_bin, [(1, 0, n)])


def shifted(pcm: bytes, correction: int) -> bytes:
    """What a drive needing ``correction`` returns for a lone run of audio, uncorrected: the
    samples ``correction`` earlier (zeros before the start)."""
    k = 4 * correction
    return (bytes(k) + pcm)[: len(pcm)] if k >= 0 else (pcm[-k:] + bytes(-k))
