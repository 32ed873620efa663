"""The drive layer on a real (emulated) optical drive: one QEMU guest boot for the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base import mapfile
from tests.conftest import random_bytes, require_tool
from tests.faultdev import expected_image
from tests.vm.testvm import Guest, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
BAD = [300, 301, 302, 303, 1200]
FLAKY = [700]


def make_disc(path: Path, label: str, megabytes: int, seed: int) -> Path:
    tree = path.with_suffix(".d")
    tree.mkdir()
    for i in range(max(megabytes // 4, 1)):
        (tree / f"part{i:02d}.bin").write_bytes(random_bytes(4 << 20, seed=seed + i))
    require_tool("genisoimage")
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", label, "-o", str(path), str(tree)], check=True
    )
    return path


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("vm")
    disc1 = make_disc(work / "disc1.iso", "DISC1", 8, 1)
    disc2 = make_disc(work / "disc2.iso", "DISC2", 64, 100)
    script = work / "guest.sh"
    script.write_text(
        f"cd {ROOT}\nexport PYTHONDONTWRITEBYTECODE=1 PYTHONPATH={ROOT}\n"
        f"exec {sys.executable} {ROOT}/tests/vm/guest_session.py\n"
    )
    guest = Guest(script, disc1, work, BAD, FLAKY).start()
    guest.wait_for_file("watch.ready", timeout=600)
    guest.qmp("eject", id="cddev", force=True)
    import time

    time.sleep(2)
    guest.qmp("blockdev-change-medium", id="cddev", filename=str(disc2), format="raw")
    (guest.out / "watch.swapped").write_text("1")
    guest.wait_for_file("rip2.started", timeout=300)
    # The user presses eject mid-backup: the tray is locked, so the drive refuses...
    (guest.out / "eject_while_ripping.json").write_text(json.dumps(guest.qmp("eject", id="cddev")))
    # ...but a disc can still leave (a forced eject stands for a pull, or a drive that ignores
    # the lock): the backup must stop cleanly either way.
    guest.qmp("eject", id="cddev", force=True)
    assert guest.wait() == 0, (guest.out / "guest.log").read_text()
    return {"out": guest.out, "disc1": disc1, "disc2": disc2}


def result(s: dict[str, Path], name: str) -> tuple[int, str]:
    return int((s["out"] / f"{name}.rc").read_text()), (s["out"] / f"{name}.out").read_text()


def test_drives_json_sees_the_drive_its_disc_and_profile(session: dict[str, Path]) -> None:
    rc, out = result(session, "drives1")
    assert rc == 0
    (d,) = json.loads(out)["drives"]
    assert (d["path"], d["vendor"], d["model"]) == ("/dev/sr0", "QEMU", "QEMU CD-ROM")
    assert (d["state"], d["profile"], d["label"], d["has_audio"]) == (
        "disc_ok",
        "CD-ROM",
        "DISC1",
        False,
    )
    assert d["sectors"] == session["disc1"].stat().st_size // 2048


def test_rip_from_the_drive_is_exact_and_maps_the_medium_errors(session: dict[str, Path]) -> None:
    rc, out = result(session, "rip1")
    assert rc == 1, out
    data = session["disc1"].read_bytes()
    assert (session["out"] / "rip1.iso").read_bytes() == expected_image(data, set(BAD))
    m = mapfile.load(str(session["out"] / "rip1.iso.map"), 2048).map
    assert [(s, e - s) for s, e, st in m.runs() if st != "+"] == [(300, 4), (1200, 1)]


def test_sg_io_reads_and_plain_reads_agree_and_the_drive_is_tuned(session: dict[str, Path]) -> None:
    rc, out = result(session, "rip1b")
    assert rc == 1, out
    want = expected_image(session["disc1"].read_bytes(), set(BAD))
    assert (session["out"] / "rip1b.iso").read_bytes() == want
    m = mapfile.load(str(session["out"] / "rip1b.iso.map"), 2048).map
    assert [(s, e - s) for s, e, st in m.runs() if st != "+"] == [(300, 4), (1200, 1)]
    sg = json.loads((session["out"] / "rip1.iso.report.json").read_text())
    plain = json.loads((session["out"] / "rip1b.iso.report.json").read_text())
    notes = sg["source"]["drive_control"]
    assert notes[0].startswith("read through SG_IO READ(12)")
    # QEMU's drive may refuse MODE SELECT or SET CD SPEED: each step is noted either way.
    assert any("retries" in n for n in notes) and any(
        "speed" in n or "slowed" in n for n in notes
    ), notes
    assert plain["source"]["drive_control"] == []


def test_the_tray_is_locked_while_reading_and_unlocked_after(session: dict[str, Path]) -> None:
    reply = json.loads((session["out"] / "eject_while_ripping.json").read_text())
    assert "locked" in reply.get("error", {}).get("desc", ""), reply
    report = json.loads((session["out"] / "rip1.iso.report.json").read_text())
    assert "tray locked while reading" in report["source"]["drive_control"]
    # Before the eject below, rip1 ended and a third rip was killed with SIGKILL: had a lock
    # outlived either, the drive would refuse.
    assert (session["out"] / "killed.iso.map").exists()
    rc, out = result(session, "eject")
    assert rc == 0, out  # eject checks that the tray really opened
    (ejected,) = json.loads(result(session, "drives_ejected")[1])["drives"]
    assert ejected["state"] in ("tray_open", "no_disc")


def test_eject_and_close_tray_change_the_state(session: dict[str, Path]) -> None:
    assert result(session, "eject")[0] == 0
    (ejected,) = json.loads(result(session, "drives_ejected")[1])["drives"]
    assert ejected["state"] in ("tray_open", "no_disc")
    assert result(session, "close")[0] == 0
    (closed,) = json.loads(result(session, "drives_closed")[1])["drives"]
    assert closed["state"] == "disc_ok" and closed["label"] == "DISC1"


def test_watch_reports_the_disc_swapped_through_qmp(session: dict[str, Path]) -> None:
    events = json.loads((session["out"] / "events.json").read_text())
    kinds = [e["kind"] for e in events]
    assert any(k in ("disc_removed", "tray_open") for k in kinds), events
    assert {"kind": "disc_inserted", "path": "/dev/sr0", "label": "DISC2"} in events
    (now,) = json.loads(result(session, "drives_swapped")[1])["drives"]
    assert now["label"] == "DISC2"


def test_disc_pulled_mid_rip_exits_4_and_resumes(session: dict[str, Path], tmp_path: Path) -> None:
    rc, out = result(session, "rip2")
    assert rc == 4, out
    assert "Put the disc back" in out or "disc" in out.lower()
    image = session["out"] / "rip2.iso"
    m = mapfile.load(str(image) + ".map", 2048).map
    total = session["disc2"].stat().st_size // 2048
    assert 0 < m.count("+")[0] < total
    # The same disc, now in "another drive" (its image): the backup resumes and completes.
    r = subprocess.run(
        [sys.executable, "-m", "app", "rip", str(session["disc2"]), str(image)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert image.read_bytes() == session["disc2"].read_bytes()
