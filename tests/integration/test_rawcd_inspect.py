"""The inspector on a BIN/CUE: the ISO 9660 tree inside its data track, its audio tracks with
length and pregap, each data track's EDC/ECC status; ``extract`` gives genisoimage's files
back; a malformed sheet is one line naming its line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.fs.inspection import open_image
from app.core.fs.node import InspectError
from app.core.rescue.backup import BackupOptions, run_backup
from tests.modeldrive import ModelDriveSource
from tests.rawfixtures import RAW, mixed_mode


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True)


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    if subprocess.run(["which", "genisoimage"], capture_output=True).returncode:
        pytest.skip("genisoimage is required")
    disc = mixed_mode(tmp_path / "disc")
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    run_backup(
        lambda: ModelDriveSource(disc.json_path()), BackupOptions("m", str(out), read_offset=0)
    )
    return out


def test_inspect_lists_the_tree_the_tracks_and_their_edc(backup: Path) -> None:
    r = cli("inspect", str(backup), "--json", "--files")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["volume_id"] == "MIXED" and "ISO 9660" in doc["formats"]
    assert {f["path"] for f in doc["files"]} == {"/game", "/game/a.bin", "/readme.txt"}
    t1, t2, t3 = doc["tracks"]
    assert t1["kind"] == "mode1" and t1["edc"]["bad"] == 0 and t1["edc"]["ok"] > 300
    assert (t2["kind"], t2["pregap"], t2["sectors"]) == ("audio", 150, 200)
    assert t3["file"] == "Game (Track 3).bin" and "edc" not in t3
    text = cli("inspect", str(backup)).stdout
    assert "track 02 audio" in text and "pregap 150" in text and "sectors ok" in text


def test_a_damaged_sector_shows_in_the_track_status(backup: Path) -> None:
    track1 = backup.parent / "Game (Track 1).bin"
    data = bytearray(track1.read_bytes())
    data[300 * RAW + 500] ^= 1
    track1.write_bytes(bytes(data))
    text = cli("inspect", str(backup)).stdout
    assert "EDC/ECC: 1 sector(s) FAIL, first at LBA 300" in text


def test_extract_from_the_bin_cue_gives_the_files_back(backup: Path, tmp_path: Path) -> None:
    r = cli("extract", str(backup), "-o", str(tmp_path / "x"))
    assert r.returncode == 0, r.stderr
    tree = tmp_path / "disc" / "tree-MIXED"
    assert (tmp_path / "x" / "game" / "a.bin").read_bytes() == (
        tree / "game" / "a.bin"
    ).read_bytes()
    assert (tmp_path / "x" / "readme.txt").read_bytes() == b"hi\n"
    # a track's .bin opens with its sheet found beside it
    insp = open_image(str(backup.parent / "Game (Track 1).bin"))
    try:
        assert len(insp.tracks) == 3
    finally:
        insp.close()


@pytest.mark.parametrize(
    ("sheet", "line"),
    [
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n  TRAK 02 AUDIO\n', 4),
        ('FILE "a.bin" BINARY\n  TRACK 01 MODE9/2352\n', 2),
        ('FILE "a.bin" BINARY\n  TRACK 01 AUDIO\n    INDEX 01 00:61:00\n', 3),
    ],
)
def test_a_malformed_sheet_is_one_line_naming_the_line(
    tmp_path: Path, sheet: str, line: int
) -> None:
    (tmp_path / "a.bin").write_bytes(bytes(RAW * 20))
    (tmp_path / "a.cue").write_text(sheet)
    r = cli("inspect", str(tmp_path / "a.cue"))
    assert r.returncode == 4 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"a.cue, line {line}:" in lines[0], r.stderr
    assert lines[0].startswith("discvault: ") and " — " in lines[0]
    with pytest.raises(InspectError, match=f"line {line}"):
        open_image(str(tmp_path / "a.cue"))
