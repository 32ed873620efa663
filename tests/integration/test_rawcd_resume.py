"""A BIN/CUE backup stopped half-way resumes into the same bytes; a resume proves the files hold
this disc, even against another drive's read offset; an .iso file becomes a BIN/CUE through the
command line, and bchunk gives the .iso back."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base.events import CancelToken
from app.core.base.outcome import Outcome
from app.core.rescue.backup import BackupOptions, run_backup
from app.core.rescue.types import DestinationError, RescueSettings
from tests.modeldrive import ModelDriveSource
from tests.rawfixtures import RAW, audio_cd, mixed_mode

SETTINGS = RescueSettings(save_interval=0.0, cluster=8, max_cluster=8)


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is required")


def test_a_stopped_bin_cue_backup_resumes_into_the_same_bytes(tmp_path: Path) -> None:
    need("genisoimage")
    disc = mixed_mode(tmp_path / "disc")
    path = disc.json_path()
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    token = CancelToken()

    class StopsHalfWay(ModelDriveSource):
        """Ctrl-C after the 40th READ CD: deterministic, whatever the machine's speed."""

        reads = 0

        def send(self, cdb: bytes, length: int) -> bytes:
            if cdb[0] == 0xBE:
                self.reads += 1
                if self.reads == 40:
                    token.cancel("test")
            return super().send(cdb, length)

    first = run_backup(
        lambda: StopsHalfWay(path),
        BackupOptions("m", str(out), settings=SETTINGS, read_offset=0),
        cancel=token,
    )
    assert first.result.outcome is Outcome.CANCELLED
    done = run_backup(
        lambda: ModelDriveSource(path),
        BackupOptions("m", str(out), settings=SETTINGS, read_offset=0),
    )
    assert done.result.outcome is Outcome.COMPLETE and done.result.resumed
    got = {p.name: p.read_bytes() for p in out.parent.glob("Game*.bin")}
    assert got == disc.files("Game")
    assert done.result.hashes_from == "image"  # out of order: hashed from the files


def test_another_drive_with_another_offset_is_refused_with_the_reason(tmp_path: Path) -> None:
    disc = audio_cd(tmp_path / "disc", (300, 200))
    out = tmp_path / "out" / "Album.cue"
    out.parent.mkdir()
    first = disc.json_path("a.json", read_offset=0)
    doc = first.read_text().replace(
        '"sessions"', '"corrupt": [{"lba": 250, "c2": true}], "sessions"'
    )
    first.write_text(doc)
    r1 = run_backup(
        lambda: ModelDriveSource(first),
        BackupOptions("m", str(out), settings=SETTINGS, read_offset=0),
    )
    assert r1.result.outcome is Outcome.INCOMPLETE  # C2 errors every time: never kept
    # The second drive needs +30 but is told nothing: its audio comes out shifted.
    second = disc.json_path("b.json", read_offset=30)
    with pytest.raises(DestinationError, match="read offset may differ"):
        run_backup(
            lambda: ModelDriveSource(second), BackupOptions("m", str(out), settings=SETTINGS)
        )
    # Told its offset, it fills the gap.
    r3 = run_backup(
        lambda: ModelDriveSource(second),
        BackupOptions("m", str(out), settings=SETTINGS, read_offset=30),
    )
    assert r3.result.outcome is Outcome.COMPLETE
    got = {p.name: p.read_bytes() for p in out.parent.glob("Album*.bin")}
    assert got == disc.files("Album")  # sector 250 from the second drive, corrected


def test_an_iso_file_becomes_a_bin_cue_on_the_command_line(tmp_path: Path) -> None:
    need("genisoimage")
    need("bchunk")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f.bin").write_bytes(bytes(range(256)) * 4000)
    iso = tmp_path / "src.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(iso), str(tree)], check=True)
    r = subprocess.run(
        [sys.executable, "-m", "app", "rip", str(iso), str(tmp_path / "Disc.cue")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "no sector was EDC-checked" in r.stdout
    subprocess.run(
        ["bchunk", "Disc.bin", "Disc.cue", "back"], cwd=tmp_path, check=True, capture_output=True
    )
    assert (tmp_path / "back01.iso").read_bytes() == iso.read_bytes()
    v = subprocess.run(
        [sys.executable, "-m", "app", "verify", str(tmp_path / "Disc.cue")],
        capture_output=True,
        text=True,
    )
    assert v.returncode == 0 and "not EDC-checked when read" in v.stdout


def test_rip_then_verify_against_the_drive_compares_raw_sectors(tmp_path: Path) -> None:
    disc = audio_cd(tmp_path / "disc", (100, 80))
    path = disc.json_path("d.json", read_offset=0)
    out = tmp_path / "out" / "Album.cue"
    out.parent.mkdir()
    done = run_backup(
        lambda: ModelDriveSource(path),
        BackupOptions("m", str(out), settings=SETTINGS, read_offset=0, verify=True),
    )
    assert done.result.outcome is Outcome.COMPLETE and done.verify is not None
    assert done.verify.outcome == "good", done.verify.checks
    source = next(c for c in done.verify.checks if c.name == "source")
    assert source.status == "ok" and "identical" in source.detail
    # a sample flipped in the image after the backup: the disc says otherwise
    track = out.parent / "Album (Track 2).bin"
    data = bytearray(track.read_bytes())
    data[10 * RAW + 7] ^= 1
    track.write_bytes(bytes(data))
    from app.core.verify import verifier

    src = ModelDriveSource(path)
    raw, _ = src.raw_source(src.read_layout(), 0)
    assert raw is not None
    v = verifier.verify(str(out), source=raw)
    assert v.outcome == "mismatch" and v.mismatches == [(110, 1)]
