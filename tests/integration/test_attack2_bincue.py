"""A BIN/CUE attacked after the backup: bit rot in one .bin, a sheet that lost a track, a
report forged per file, a pipe where a .bin should be. Verify must never say "good" about it,
a second run of the same backup must never bless it with new checksum files, and every refusal
is one line (tests/modeldrive.py answers as the drive's firmware; no tool needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base.events import CancelToken
from app.core.base.outcome import Outcome
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import DestinationError, RescueSettings
from app.core.verify import verifier
from tests.integration.test_attack_companions import one_line
from tests.modeldrive import ModelDriveSource
from tests.rawfixtures import RAW, RawDisc, audio_cd, mixed_mode

SETTINGS = RescueSettings(save_interval=0.0)


def rip(disc: Path, out: Path) -> BackupOutcome:
    return run_backup(
        lambda: ModelDriveSource(disc),
        BackupOptions("model drive", str(out), settings=SETTINGS, read_offset=0),
    )


@pytest.fixture
def album(tmp_path: Path) -> tuple[RawDisc, Path, Path]:
    disc = audio_cd(tmp_path / "disc", (60, 50, 40))
    path = disc.json_path("d.json", read_offset=0)
    out = tmp_path / "out" / "Album.cue"
    out.parent.mkdir()
    done = rip(path, out)
    assert done.result.outcome is Outcome.COMPLETE, done.result.message
    return disc, path, out


def flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 1]))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=20
    )


def test_rot_in_one_bin_is_not_blessed_by_running_the_backup_again(
    album: tuple[RawDisc, Path, Path],
) -> None:
    _, disc, out = album
    track = out.parent / "Album (Track 3).bin"
    flip(track, 10 * RAW + 5)  # audio: no code of its own, only the checksum files know
    sums = {p.name: p.read_bytes() for p in out.parent.glob("Album.cue.*") if p.suffix != ".map"}
    again = rip(disc, out)  # the same command again: nothing left to read
    assert any("has changed since" in p and "Track 3" in p for p in again.problems), again.problems
    # the checksum files and the report still tell the truth about the rotted file
    now = {p.name: p.read_bytes() for p in out.parent.glob("Album.cue.*") if p.suffix != ".map"}
    assert now == sums
    assert verifier.verify(str(out)).outcome == "mismatch"


@pytest.mark.parametrize("what", ["fifo", "folder", "device"])
@pytest.mark.parametrize("command", ["verify", "inspect", "extract"])
def test_a_pipe_folder_or_device_where_a_bin_should_be_is_refused_at_once(
    album: tuple[RawDisc, Path, Path], what: str, command: str
) -> None:
    _, _, out = album
    track = out.parent / "Album (Track 2).bin"
    track.unlink()
    if what == "fifo":
        os.mkfifo(track)  # opening it to read would wait for a writer forever
    elif what == "folder":
        track.mkdir()
    else:
        track.symlink_to("/dev/zero")
    extra = ["-o", str(out.parent / "x")] if command == "extract" else []
    r = cli(command, str(out), *extra)
    assert r.returncode == 4, r.stdout + r.stderr
    line = one_line(r)
    assert "Album (Track 2).bin is not a file" in line and "put the track's .bin there" in line


def drop_track_3(out: Path) -> None:
    text = out.read_bytes().decode()
    out.write_bytes(text[: text.index('FILE "Album (Track 3).bin"')].encode())


def test_a_sheet_that_lost_a_track_is_not_good(album: tuple[RawDisc, Path, Path]) -> None:
    """sha1sum -c fails on the rotted track; verify read only the sheet's two files."""
    _, _, out = album
    flip(out.parent / "Album (Track 3).bin", 7 * RAW)
    drop_track_3(out)
    r = cli("verify", str(out))
    assert r.returncode == 3, r.stdout
    assert "Album.cue.sha1 names Album (Track 3).bin, which the sheet does not" in r.stdout
    assert "Album.cue.report.json lists Album (Track 3).bin" in r.stdout
    assert "no file for track 3" in r.stdout


def test_a_sheet_that_lost_a_track_and_its_checksum_files_is_incomplete(
    album: tuple[RawDisc, Path, Path],
) -> None:
    _, _, out = album
    drop_track_3(out)
    (out.parent / "Album (Track 3).bin").unlink()
    for p in out.parent.glob("Album.cue.*"):
        if p.suffix != ".map":
            p.unlink()
    v = verifier.verify(str(out))
    assert v.outcome == "incomplete", v.checks
    assert any("no file for track 3" in c.detail for c in v.checks)


@pytest.mark.parametrize(
    "files",
    [
        ["x"],
        [{"name": "Album (Track 1).bin", "hashes": ["md5"]}],
        [{"name": 7, "hashes": {}}],
        [{"name": "Album (Track 1).bin", "hashes": {"md5": 1}}],
        "files",
    ],
)
def test_a_report_forged_per_file_is_named_not_a_traceback(
    album: tuple[RawDisc, Path, Path], files: object
) -> None:
    _, _, out = album
    rep = out.parent / "Album.cue.report.json"
    doc = json.loads(rep.read_text())
    doc["image"]["files"] = files
    rep.write_text(json.dumps(doc))
    r = cli("verify", str(out))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout + r.stderr  # the checksum files still vouch for it
    assert "its files' hashes are not a list of checksums" in r.stdout


def test_a_pipe_as_a_checksum_file_of_a_bin_cue_does_not_hang(
    album: tuple[RawDisc, Path, Path],
) -> None:
    _, _, out = album
    side = out.parent / "Album.cue.md5"
    side.unlink()
    os.mkfifo(side)
    r = cli("verify", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Album.cue.md5" in r.stdout and "not a regular file" in r.stdout


def test_verify_of_a_cue_waits_for_no_backup_and_no_backup_starts_under_it(
    tmp_path: Path,
) -> None:
    """The backup locks the .bin files (the sheet is written last, a new file): verify of the
    .cue read them half-written, and a backup could start rewriting them under a verify."""
    disc = audio_cd(tmp_path / "disc", (200, 150))
    path = disc.json_path("d.json", read_offset=0)
    out = tmp_path / "out" / "Album.cue"
    out.parent.mkdir()
    token = CancelToken()
    small = RescueSettings(save_interval=0.0, cluster=8, max_cluster=8)  # many READ CDs
    seen: list[str] = []

    class Drive(ModelDriveSource):
        reads = 0

        def send(self, cdb: bytes, length: int) -> bytes:
            if cdb[0] == 0xBE:
                Drive.reads += 1
                if Drive.reads == 5 and out.exists():  # the second run, half-way
                    try:
                        verifier.verify(str(out))
                    except verifier.VerifyInputError as e:
                        seen.append(str(e))
                if Drive.reads == 20:
                    token.cancel("test")
            return super().send(cdb, length)

    opts = BackupOptions("m", str(out), settings=small, read_offset=0)
    assert run_backup(lambda: Drive(path), opts, cancel=token).result.outcome is Outcome.CANCELLED
    Drive.reads = 0
    token = CancelToken()
    run_backup(lambda: Drive(path), opts, cancel=token)
    assert seen and "a backup is writing" in seen[0] and "Album (Track 1).bin" in seen[0]

    refused: list[str] = []

    def start_a_backup(_: object) -> None:
        if not refused:
            try:
                run_backup(lambda: ModelDriveSource(path), opts)
                refused.append("started")
            except DestinationError as e:
                refused.append(str(e))

    verifier.verify(str(out), progress=start_a_backup)
    assert "already writing or verifying" in refused[0], refused


def test_a_sheet_naming_files_with_escapes_never_reaches_the_terminal_raw(
    album: tuple[RawDisc, Path, Path],
) -> None:
    _, _, out = album
    evil = "\x1b[2J\x1b[31mA.bin"
    (out.parent / "Album (Track 1).bin").rename(out.parent / evil)
    out.write_bytes(out.read_bytes().replace(b"Album (Track 1).bin", evil.encode()))
    r = cli("verify", str(out))
    assert "\x1b" not in r.stdout + r.stderr and "\\x1b[31mA.bin" in r.stdout, r.stdout
    (out.parent / evil).unlink()  # now the sheet names a file that is not there
    r = cli("verify", str(out))
    assert r.returncode == 4
    assert "\x1b" not in one_line(r) and "\\x1b[2J" in one_line(r)


@pytest.mark.parametrize("command", ["verify", "inspect"])
def test_a_sheet_naming_a_file_with_a_nul_byte_is_one_line(
    album: tuple[RawDisc, Path, Path], command: str
) -> None:
    """Found by mutating our own sheets: os.stat raised ValueError, a traceback."""
    _, _, out = album
    out.write_bytes(out.read_bytes().replace(b"Album (Track 2).bin", b"Album\x00.bin"))
    r = cli(command, str(out))
    assert r.returncode == 4
    assert "NUL byte" in one_line(r)


def test_inspect_does_not_read_a_sparse_terabyte_past_a_track(tmp_path: Path) -> None:
    """inspect re-checks the data tracks' codes; it hashed every byte of every file, so a .bin
    grown (sparse) to a terabyte kept it reading for hours."""
    if shutil.which("genisoimage") is None:
        pytest.skip("genisoimage is required (apt install genisoimage)")
    disc = mixed_mode(tmp_path / "disc", (60, 40))
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    assert rip(disc.json_path(read_offset=0), out).result.outcome is Outcome.COMPLETE
    os.truncate(out.parent / "Game (Track 3).bin", 10**12)
    r = cli("inspect", str(out))  # 20 s at most (cli's timeout)
    assert "Traceback" not in r.stderr, r.stderr
    assert "track 03" in r.stdout and "EDC/ECC" in r.stdout


def test_inspect_of_an_audio_cd_says_so(album: tuple[RawDisc, Path, Path]) -> None:
    """It said "too small to be a disc image (0 bytes) — give an .iso image"."""
    _, _, out = album
    r = cli("inspect", str(out))
    assert r.returncode == 4
    assert "an audio CD (3 tracks, no data track)" in one_line(r)
