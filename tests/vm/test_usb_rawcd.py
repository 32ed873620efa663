"""Raw CD backups through a real kernel: the emulated USB drive (our firmware) serves a Mixed
Mode CD with raw sectors, C2 pointers, a read offset, silent corruptions and a medium error;
the guest kernel's sr and usb-storage carry DiscVault's SG_IO READ CD commands. One boot.

What must hold: every sector that read wrong without an error was read again and never kept;
the sector that never reads right is unreadable in the mapfile and zero in its .bin; a second,
better drive fills it in; the BIN/CUE then equals the disc, track by track; a drive without READ
CD gives the data as an .iso and says why the audio is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any

import pytest

from tests.rawfixtures import RawDisc, audio_cd, mixed_mode
from tests.vm.usbdrive.host import run_usb_drive_guest, unavailable_reason

pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is missing (apt install genisoimage)")
    w = tmp_path_factory.mktemp("usbrawcd")
    disc = mixed_mode(w / "disc")
    n1 = disc.spans[1][1]
    audio = n1 + 150 + 30
    scratched = json.loads(disc.json_path("scratched.json", read_offset=6).read_text())
    scratched["corrupt"] = [
        {"lba": 20, "fails": 2},  # wrong bytes twice, then right: EDC catches it
        {"lba": 40},  # always wrong, never an error from the drive
        {"lba": audio, "fails": 1, "c2": True},  # audio with C2 errors once
    ]
    scratched["defects"] = [{"lba": 60, "sense": "03/11/00", "fails": 1}]  # a flaky sector
    scratched_path = disc.base / "scratched.json"  # beside its backing files
    scratched_path.write_text(json.dumps(scratched))
    clean = disc.json_path("clean.json", read_offset=6)
    noraw = disc.json_path("noraw.json", read_cd=False)
    album = audio_cd(w / "album")
    config = {
        "clean": str(clean),
        "noraw": str(noraw),
        "audio_noraw": str(album.json_path("noraw.json", read_cd=False)),
    }
    (w / "config.json").write_text(json.dumps(config))
    script = w / "guest.sh"
    script.write_text(f"exec {sys.executable} -m tests.vm.rawcd_guest_session {w}/config.json\n")
    g = run_usb_drive_guest(scratched_path, script, w / "vm", timeout=1400)
    results = {p.stem: json.loads(p.read_text()) for p in (g.out / "results").glob("*.json")}
    return {"r": results, "g": g, "disc": disc, "out": g.out}


def test_drives_lists_the_mixed_mode_disc(run: dict[str, Any]) -> None:
    doc = json.loads(run["r"]["drives"]["stdout"])
    (drive,) = doc["drives"]
    assert drive["summary"] == "1 session, 3 tracks (2 audio)"


def test_silent_corruptions_are_read_again_and_never_kept(run: dict[str, Any]) -> None:
    r1 = run["r"]["rip1"]
    assert r1["rc"] == 1, r1  # one sector never read right: incomplete
    assert "1 data sector unreadable" in r1["stdout"] or "unreadable" in r1["stdout"]
    report = json.loads((run["out"] / "mixed" / "Game.cue.report.json").read_text())
    # (rip2 rewrote the report; the first run's facts are in its output and the mapfile's
    # history: what rip1 said)
    assert "failed their check and were read again" in r1["stdout"]
    assert report["outcome"] == "complete"
    v1 = json.loads(run["r"]["verify1"]["stdout"])
    checks = {c["name"]: c for c in v1["checks"]}
    assert checks["mapfile"]["status"] == "incomplete" and checks["edc"]["status"] == "ok"
    # the READ CD commands the kernel carried asked for the track's sector type and C2
    cmds = [c for c in run["g"].commands() if c["name"] == "READ CD"]
    assert any(c["cdb"][2:4] == "08" and c["cdb"][18:20] == "f8" for c in cmds)  # Mode 1, all
    assert any(c["cdb"][2:4] == "04" and c["cdb"][18:20] == "14" for c in cmds)  # CD-DA + C2


def test_a_better_drive_fills_the_gap_and_the_bin_cue_equals_the_disc(
    run: dict[str, Any],
) -> None:
    disc: RawDisc = run["disc"]
    r2 = run["r"]["rip2"]
    assert r2["rc"] == 0, r2
    assert "every data sector verified by its own error-detection code" in r2["stdout"]
    got = {p.name: p.read_bytes() for p in (run["out"] / "mixed").glob("Game*.bin")}
    want = disc.files("Game")
    last = "Game (Track 3).bin"  # a +6 drive cannot give the disc's last 6 samples
    want[last] = want[last][:-24] + bytes(24)
    assert got == want
    assert json.loads(run["r"]["verify2"]["stdout"])["outcome"] == "good"
    sheet = (run["out"] / "mixed" / "Game.cue").read_bytes().decode()
    assert "CATALOG 4006381333931" in sheet and 'TITLE "Noise Two"' in sheet
    assert "ISRC DEDV10000002" in sheet


def test_the_inspector_reads_the_bin_cue_written_in_the_guest(run: dict[str, Any]) -> None:
    doc = json.loads(run["r"]["inspect"]["stdout"])
    assert doc["volume_id"] == "MIXED"
    assert [t["kind"] for t in doc["tracks"]] == ["mode1", "audio", "audio"]
    assert doc["tracks"][0]["edc"]["bad"] == 0


def test_a_drive_without_read_cd_gives_the_data_and_says_why_not_the_audio(
    run: dict[str, Any],
) -> None:
    r = run["r"]["noraw"]
    assert r["rc"] == 0, r
    assert "not imaged" in r["stdout"]
    iso = (run["out"] / "noraw" / "Game.iso").read_bytes()
    disc: RawDisc = run["disc"]
    assert iso[: len(disc.iso)] == disc.iso
    a = run["r"]["audio_noraw"]
    assert a["rc"] == 4
    line = a["stderr"].strip().splitlines()[-1]
    assert line.startswith("discvault: ") and "audio CD" in line and " — " in line
    assert not (run["out"] / "noraw" / "Album.iso").exists()
