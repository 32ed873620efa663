"""Raw CD backups to BIN/CUE, end to end on the emulated drive's firmware (tests/modeldrive.py):
every data sector proven by its own EDC/ECC, silent corruptions re-read and never kept, audio
C2-checked and offset-corrected, and the result judged by tools we did not write (bchunk turns
it back into the ISO and the samples; a Redump-style DAT matches its tracks).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from app.core.base.outcome import Outcome
from app.core.disc import cue, discid
from app.core.disc.sources import SourceError
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.core.verify import verifier
from tests.modeldrive import ModelDriveSource
from tests.rawfixtures import RAW, RawDisc, audio_cd, mixed_mode, shifted, video_cd

FAST = RescueSettings(save_interval=0.2, retries=2)


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is required (apt install {package})")
    return path


def rip(
    disc: Path | dict[str, Any],
    out: Path,
    base: Path | None = None,
    **opts: Any,
) -> BackupOutcome:
    settings = opts.pop("settings", FAST)
    return run_backup(
        lambda: ModelDriveSource(disc, base),
        BackupOptions("model drive", str(out), settings=settings, **opts),
    )


def files_of(folder: Path, stem: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob(f"{stem}*.bin"))}


@pytest.fixture
def mixed(tmp_path: Path) -> RawDisc:
    need("genisoimage", "genisoimage")
    return mixed_mode(tmp_path / "disc")


def test_mixed_mode_cd_becomes_redump_style_bin_cue(mixed: RawDisc, tmp_path: Path) -> None:
    out = tmp_path / "out" / "Game.iso"  # an .iso name: the disc decides (audio: BIN/CUE)
    out.parent.mkdir()
    done = rip(mixed.json_path(), out, read_offset=0)
    r = done.result
    assert r.outcome is Outcome.COMPLETE, r.message
    assert done.image == str(tmp_path / "out" / "Game.cue")
    assert files_of(out.parent, "Game") == mixed.files("Game")
    doc = done.report
    proof = doc["proof"]
    assert isinstance(proof, dict)
    assert proof["verdict"].startswith("every data sector verified by its own error-detection")
    assert proof["not_verified"] == 0 and proof["data_sectors"] == mixed.spans[1][1] + 150
    assert proof["audio_c2_checked"] and proof["edc_failures"] == 0
    # the sheet: Redump's layout of files, and what the drive said about the disc
    sheet_text = (out.parent / "Game.cue").read_bytes().decode()
    assert 'FILE "Game (Track 2).bin" BINARY\r\n  TRACK 02 AUDIO\r\n' in sheet_text
    assert "    INDEX 00 00:00:00\r\n    INDEX 01 00:02:00\r\n" in sheet_text
    assert "CATALOG 4006381333931" in sheet_text and "ISRC DEDV10000003" in sheet_text
    assert 'TITLE "Noise Two"' in sheet_text and 'PERFORMER "DiscVault"' in sheet_text
    sheet = cue.read(str(out.parent / "Game.cue"))
    assert sheet.layout.tracks[1].pregap == 150
    # the disc's MusicBrainz ID comes from the TOC, as libdiscid computes it
    disc_doc = doc["disc"]
    assert isinstance(disc_doc, dict)
    assert disc_doc["musicbrainz_id"] == discid.musicbrainz_id(sheet.layout)
    # checksum files: one line per track, as sha1sum -c wants them
    lines = (out.parent / "Game.cue.sha1").read_text().splitlines()
    assert len(lines) == 3
    subprocess.run(["sha1sum", "-c", "--quiet", "Game.cue.sha1"], cwd=out.parent, check=True)


def test_bchunk_turns_our_bin_cue_back_into_the_iso_and_the_samples(
    mixed: RawDisc, tmp_path: Path
) -> None:
    bchunk = need("bchunk", "bchunk")
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    assert rip(mixed.json_path(), out, read_offset=0).result.outcome is Outcome.COMPLETE
    # bchunk reads one file: give it each FILE block of our sheet with its own .bin
    text = out.read_text().replace("\r\n", "\n")
    blocks = text.split("FILE ")[1:]
    got: dict[int, bytes] = {}
    for block in blocks:
        name = block.split('"')[1]
        track = int(block.split("TRACK ")[1][:2])
        (out.parent / "one.cue").write_text("FILE " + block)
        work = out.parent / f"b{track}"
        work.mkdir()
        subprocess.run(
            [bchunk, "-w", str(out.parent / name), str(out.parent / "one.cue"), str(work / "t")],
            check=True,
            capture_output=True,
        )
        (made,) = list(work.iterdir())
        data = made.read_bytes()
        got[track] = data[44:] if made.suffix == ".wav" else data
    assert got[1] == mixed.iso  # the ISO genisoimage wrote, byte for byte
    assert got[2] == mixed.audio[2] and got[3] == mixed.audio[3]  # samples from INDEX 01


def test_silent_corruptions_are_read_again_and_never_kept(mixed: RawDisc, tmp_path: Path) -> None:
    n1 = mixed.spans[1][1]
    a2 = n1 + 150 + 50
    disc = mixed.json_path(
        "bad.json",
    )
    doc = json.loads(disc.read_text())
    doc["corrupt"] = [
        {"lba": 20, "fails": 2},  # a data sector read wrong twice, then right
        {"lba": 40},  # a data sector that always reads wrong, without an error
        {"lba": a2, "fails": 1, "c2": True},  # an audio sector with C2 errors once
    ]
    disc.write_text(json.dumps(doc))
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    done = rip(disc, out, read_offset=0)
    r = done.result
    assert r.outcome is Outcome.INCOMPLETE
    assert r.damaged_ranges == [(40, 41, "-")]
    got = b"".join(files_of(out.parent, "Game").values())
    want = bytearray(mixed.truth[: len(got)])
    want[40 * RAW : 41 * RAW] = bytes(RAW)  # never written: zero, and unreadable in the map
    assert got == bytes(want)
    proof = done.report["proof"]
    assert isinstance(proof, dict)
    assert proof["edc_failures"] == 2 and proof["c2_failures"] == 1
    # verify from the image alone: the unread sector is the mapfile's business, not damage
    v = verifier.verify(str(out))
    assert v.outcome == "incomplete", v.checks
    edc = next(c for c in v.checks if c.name == "edc")
    assert edc.status == "ok", edc


def test_a_second_drive_fills_the_gap_and_the_resume_is_proven(
    mixed: RawDisc, tmp_path: Path
) -> None:
    first = mixed.json_path("a.json")
    doc = json.loads(first.read_text())
    doc["corrupt"] = [{"lba": 40}]
    first.write_text(json.dumps(doc))
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    assert rip(first, out, read_offset=0).result.outcome is Outcome.INCOMPLETE
    done = rip(mixed.json_path("b.json"), out, read_offset=0)
    assert done.result.outcome is Outcome.COMPLETE and done.result.resumed
    assert files_of(out.parent, "Game") == mixed.files("Game")
    assert verifier.verify(str(out)).outcome == "good"


def test_audio_read_offset_is_corrected(tmp_path: Path) -> None:
    disc = audio_cd(tmp_path / "disc")
    path = disc.json_path(read_offset=6)
    out = tmp_path / "a" / "Album.cue"
    out.parent.mkdir()
    done = rip(path, out, read_offset=6)
    assert done.result.outcome is Outcome.COMPLETE
    want = disc.files("Album")
    last = "Album (Track 3).bin"
    # the disc's last 6 samples lie past what the drive reaches (it cannot read into the
    # lead-out): zero, as in a Redump or AccurateRip rip with such a drive
    want[last] = want[last][:-24] + bytes(24)
    assert files_of(out.parent, "Album") == want
    audio = done.report["audio"]
    assert isinstance(audio, dict)
    assert audio["read_offset"] == {"samples": 6, "source": "user"}
    # unknown to DiscVault and not given: said so, and the samples come out shifted
    out2 = tmp_path / "b" / "Album.cue"
    out2.parent.mkdir()
    done2 = rip(path, out2)
    audio2 = done2.report["audio"]
    assert isinstance(audio2, dict)
    assert audio2["read_offset"] == {"samples": 0, "source": "unknown"}
    assert "is unknown" in str(audio2["offset_note"])
    whole = b"".join(files_of(out2.parent, "Album").values())
    assert whole == shifted(disc.truth, 6)


def test_a_redump_dat_with_per_track_hashes_matches(mixed: RawDisc, tmp_path: Path) -> None:
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    assert rip(mixed.json_path(), out, read_offset=0).result.outcome is Outcome.COMPLETE
    roms = []
    for name, data in mixed.files("Mixed Test (Europe)").items():
        roms.append(
            f'<rom name="{name}" size="{len(data)}" crc="{zlib.crc32(data):08x}" '
            f'md5="{hashlib.md5(data).hexdigest()}" sha1="{hashlib.sha1(data).hexdigest()}"/>'
        )
    roms.append('<rom name="Mixed Test (Europe).cue" size="512" crc="0badc0de"/>')
    dat = tmp_path / "redump.dat"
    dat.write_text(
        '<?xml version="1.0"?>\n<datafile><header><name>Test - Redump</name></header>\n'
        '<game name="Other"><rom name="x.bin" size="2352" crc="00000000"/></game>\n'
        f'<game name="Mixed Test (Europe)"><category>Games</category>{"".join(roms)}</game>\n'
        "</datafile>\n"
    )
    v = verifier.verify(str(out), dat_path=str(dat))
    assert v.outcome == "good", v.checks
    assert v.dat_set is not None and v.dat_set.verdict == "match"
    assert v.dat_set.game == "Mixed Test (Europe)" and len(v.dat_set.matched) == 3
    doc = verifier.to_json(v)
    assert doc["dat"]["verdict"] == "match"  # type: ignore[index]


def test_verify_finds_a_flipped_bit_in_a_data_track(mixed: RawDisc, tmp_path: Path) -> None:
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    rip(mixed.json_path(), out, read_offset=0)
    track1 = out.parent / "Game (Track 1).bin"
    data = bytearray(track1.read_bytes())
    data[17 * RAW + 1000] ^= 0x10
    track1.write_bytes(bytes(data))
    v = verifier.verify(str(out))
    assert v.outcome == "mismatch"
    edc = next(c for c in v.checks if c.name == "edc")
    assert edc.status == "mismatch" and "first at LBA 17 in Game (Track 1).bin" in edc.detail


def test_a_drive_without_raw_reads_falls_back_to_an_iso_of_the_data(
    mixed: RawDisc, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "Game.iso"
    out.parent.mkdir()
    done = rip(mixed.json_path(raw=False), out)
    r = done.result
    assert r.outcome is Outcome.COMPLETE and done.image == str(out)
    assert out.read_bytes()[: len(mixed.iso)] == mixed.iso
    notes = " ".join(r.source_notes)
    assert "does not read raw sectors" in notes and "not imaged" in notes
    # asked for a BIN/CUE, the audio cannot be had: one line, nothing written
    with pytest.raises(
        SourceError, match=r"does not read raw sectors .* cannot be put in a BIN/CUE"
    ):
        rip(mixed.json_path(raw=False), tmp_path / "out" / "X.cue", format="bincue")
    assert not list((tmp_path / "out").glob("X*"))
    disc = audio_cd(tmp_path / "cd")
    with pytest.raises(SourceError, match="audio CD and cannot read it raw"):
        rip(disc.json_path(read_cd=False), tmp_path / "out" / "Y.iso")


def test_a_drive_that_returns_zero_edc_is_not_called_corrupt(
    mixed: RawDisc, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    done = rip(mixed.json_path(zero_codes=True), out, read_offset=0)
    assert done.result.outcome is Outcome.COMPLETE
    proof = done.report["proof"]
    assert isinstance(proof, dict)
    assert proof["not_verified"] == proof["data_sectors"] > 0
    assert proof["edc_failures"] == 0 and proof["zero_codes"] >= proof["data_sectors"]
    v = verifier.verify(str(out))
    edc = next(c for c in v.checks if c.name == "edc")
    assert edc.status == "info" and "carry none to check" in edc.detail


def test_a_video_cd_mode2_track_comes_out_as_vcdimager_wrote_it(tmp_path: Path) -> None:
    """Form 1 and Form 2 sectors as vcdimager wrote them, served raw by the drive: our .bin must
    equal vcdimager's byte for byte, every sector proven (Form 2 by its EDC)."""
    vcdxbuild = need("vcdxbuild", "vcdimager")
    from tests.unit.test_cdsector import VCD_XML, tiny_mpeg

    work = tmp_path / "vcd"
    work.mkdir()
    (work / "data.bin").write_bytes(b"payload" * 1000)
    (work / "m.mpg").write_bytes(tiny_mpeg(120))
    (work / "v.xml").write_text(VCD_XML)
    subprocess.run([vcdxbuild, "-q", "v.xml"], cwd=work, check=True, capture_output=True)
    made = (work / "videocd.bin").read_bytes()
    disc = video_cd(tmp_path / "disc", made)
    out = tmp_path / "out" / "Movie.iso"
    out.parent.mkdir()
    done = rip(disc.json_path(), out)  # Mode 2: a BIN/CUE, whatever the name said
    assert done.result.outcome is Outcome.COMPLETE, done.result.message
    assert done.image.endswith("Movie.cue")
    assert (out.parent / "Movie.bin").read_bytes() == made
    proof = done.report["proof"]
    assert isinstance(proof, dict) and proof["not_verified"] == 0
    assert proof["data_sectors"] == len(made) // RAW
    assert "MODE2/2352" in (out.parent / "Movie.cue").read_text()
    assert verifier.verify(done.image).outcome == "good"
