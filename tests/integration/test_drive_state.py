"""Drive control through SG_IO, on the drive model: retries and speed per pass, restored on every
exit path, and after a crash by the next open.

The drive is ``tests/vm/usbdrive``'s MMC model answering the SG_IO ioctl in this process
(``hostsg.py``); everything above the ioctl is DiscVault's real code. ``test_drive_control.py``
runs the same through a real kernel (the emulated USB drive in a VM) and with real kills.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base import mapfile
from app.core.base.events import CancelToken
from app.core.base.outcome import Outcome
from app.core.rescue.engine import Engine, RescueSettings
from app.platform import drivestate
from app.platform.sgsource import SgDriveSource
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.hostsg import model_sg
from tests.vm.usbdrive.mmc import Drive

if not sys.platform.startswith("linux"):
    pytest.skip("SG_IO is Linux only", allow_module_level=True)

SECTORS = 3000
DEAD = [700, 1500, 1501, 2200]
MARGINAL = 1200  # reads at its third try


def disc(tmp: Path, drive: dict[str, object] | None = None, **extra: object) -> Disc:
    data = random.Random(5).randbytes(SECTORS * 2048)
    (tmp / "d.iso").write_bytes(data)
    defects: list[dict[str, object]] = [{"lba": lba} for lba in DEAD]
    defects.append({"lba": MARGINAL, "tries": 3})
    doc = {
        "profile": "CD-R",
        "sessions": [{"tracks": [{"start": 0, "length": SECTORS, "file": "d.iso"}]}],
        "defects": defects,
        "drive": {"read_retry_count": 32, "current_retry_count": 20, "speed": 24 * 176}
        | (drive or {}),
        **extra,
    }
    return Disc.from_dict(doc, tmp)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv(drivestate.STATE_ENV, str(d))
    return d


def rescue(
    drive: Drive, tmp: Path, cancel: CancelToken | None = None, **kw: object
) -> tuple[Engine, object]:
    with model_sg(drive, tmp) as dev:
        src = SgDriveSource(dev)
        try:
            eng = Engine(src, str(tmp / "out.iso"), cancel=cancel, **kw)  # type: ignore[arg-type]
            return eng, eng.run()
        finally:
            src.close()


def selects(drive: Drive) -> list[int]:
    """The read retry count each MODE SELECT asked for."""
    return [e.data_out[8 + 3] for e in drive.commands("MODE SELECT(10)") if e.status == 0]


def speeds(drive: Drive) -> list[int]:
    return [int.from_bytes(e.cdb[2:4], "big") for e in drive.commands("SET CD SPEED")]


def test_retries_and_speed_follow_the_passes_and_are_restored(tmp_path: Path) -> None:
    drive = Drive(disc(tmp_path))
    _, res = rescue(drive, tmp_path)
    # copy with 0 internal retries, trim/scrape with 1, the retry passes with the drive's
    # default (32, from MODE SENSE PC=2: not the 20 another program had left), then the 20 back
    assert selects(drive)[0] == 0 and selects(drive)[-2:] == [32, 20]
    assert set(selects(drive)) <= {0, 1, 32, 20}
    assert speeds(drive) == [0xFFFF, 4 * 176, 24 * 176]  # full, slow for retries, as it was
    assert (drive.mode.read_retry_count, drive.read_speed) == (20, 24 * 176)
    assert res.map.count("-")[0] == len(DEAD)  # type: ignore[attr-defined]
    assert not list((tmp_path / "state").glob("*.json"))  # restored: no state left behind
    assert "drive settings restored" in res.source_notes  # type: ignore[attr-defined]
    # no command is sent per read: the settings change a handful of times in all
    assert len(drive.commands("MODE SELECT(10)")) <= 5


def test_every_read_in_the_retry_passes_has_fua(tmp_path: Path) -> None:
    drive = Drive(disc(tmp_path, {"cache": 64}))
    _, res = rescue(drive, tmp_path)
    first_retry = next(e.seq for e in drive.commands("MODE SELECT(10)") if e.data_out[11] == 32)
    retry_reads = [e for e in drive.commands("READ(12)") if e.seq > first_retry]
    assert retry_reads and all(e.cdb[1] & 0x08 for e in retry_reads)
    assert res.map.status_at(MARGINAL) == "+"  # type: ignore[attr-defined]
    # hashed from the image while the retry passes ran, and rewound when they recovered it
    image = (tmp_path / "out.iso").read_bytes()
    assert res.hashes_from == "image"  # type: ignore[attr-defined]
    assert res.hashes["sha256"] == hashlib.sha256(image).hexdigest()  # type: ignore[attr-defined]
    assert res.hashes["md5"] == hashlib.md5(image).hexdigest()  # type: ignore[attr-defined]
    assert (tmp_path / "out.iso").read_bytes()[MARGINAL * 2048 : (MARGINAL + 1) * 2048] == (
        (tmp_path / "d.iso").read_bytes()[MARGINAL * 2048 : (MARGINAL + 1) * 2048]
    )


def test_a_drive_that_refuses_fua_gets_a_far_read_before_each_retry(tmp_path: Path) -> None:
    drive = Drive(disc(tmp_path, {"cache": 64, "fua": "refuse"}))
    _, res = rescue(drive, tmp_path)
    notes = res.source_notes  # type: ignore[attr-defined]
    assert sum("refuses FUA" in n for n in notes) == 1
    assert res.map.count("-")[0] == len(DEAD)  # type: ignore[attr-defined]
    reads = drive.commands("READ(12)")
    refused = [i for i, e in enumerate(reads) if e.cdb[1] & 0x08]
    assert len(refused) == 1  # asked once; after that no FUA
    after = reads[refused[0] + 1 :]
    # every retry of a bad sector comes right after a read of a sector far from it
    for prev, cur in itertools.pairwise(after):
        lba = int.from_bytes(cur.cdb[2:6], "big")
        if lba in DEAD and cur.status != 0:
            assert abs(int.from_bytes(prev.cdb[2:6], "big") - lba) >= 64


def test_a_crash_leaves_a_state_file_and_the_next_open_restores(
    tmp_path: Path, state_dir: Path
) -> None:
    drive = Drive(disc(tmp_path))
    with model_sg(drive, tmp_path) as dev:
        src = SgDriveSource(dev)
        src.set_phase("copy")
        assert (drive.mode.read_retry_count, drive.read_speed) == (0, max(drive_speeds()))
        (saved,) = state_dir.glob("*.json")
        doc = json.loads(saved.read_text())
        assert doc["schema"] == "discvault.drive-state/1" and doc["pid"] == os.getpid()
        src.control = None  # the process dies here: nothing restores the drive
        src.close()
        # the next DiscVault opens the same drive (a dead owner: pretend it was another pid)
        doc["pid"], doc["started"] = 999_999_999, 0.0
        saved.write_text(json.dumps(doc))
        src2 = SgDriveSource(dev)
        try:
            assert (drive.mode.read_retry_count, drive.read_speed) == (20, 24 * 176)
            assert not saved.exists()
            assert any("earlier run left changed" in n for n in src2.notes)
        finally:
            src2.close()


def drive_speeds() -> tuple[int, ...]:
    from tests.vm.usbdrive.features import SPEEDS

    return SPEEDS["CD"]


def test_settings_of_a_rescue_still_running_are_left_alone(tmp_path: Path, state_dir: Path) -> None:
    drive = Drive(disc(tmp_path))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = drivestate.process_start(other.pid)
        assert started is not None
        with model_sg(drive, tmp_path) as dev:
            src = SgDriveSource(dev)
            key = src.control.identity if src.control else ""
            src.close()
            drive.mode.read_retry_count = 0  # as the other rescue set it
            st = drivestate.StateFile(key)
            st.save(drivestate.Saved(key, dev, other.pid, started, page01="00" * 20))
            src = SgDriveSource(dev)
            src.set_phase("retry")
            src.set_phase("done")
            src.close()
        assert drive.mode.read_retry_count == 0  # neither restored nor changed by us
        assert Path(st.path).exists()
        assert not drive.commands("MODE SELECT(10)")
    finally:
        other.kill()
        other.wait()


def test_a_drive_refusing_control_keeps_its_settings_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refuse = ["MODE SELECT(10)", "SET CD SPEED", "SET STREAMING"]
    drive = Drive(disc(tmp_path, {"refuse": refuse}))
    with caplog.at_level(logging.INFO, logger="discvault.drive"):
        _, res = rescue(drive, tmp_path)
    logged = [r.getMessage() for r in caplog.records if r.name == "discvault.drive"]
    assert sum("keeps its speed" in m for m in logged) == 1  # the app's log: once, too
    assert sum("read retries" in m for m in logged) == 1
    notes = res.source_notes  # type: ignore[attr-defined]
    assert sum("read retries" in n for n in notes) == 1
    assert sum("keeps its speed" in n for n in notes) == 1
    assert len(drive.commands("MODE SELECT(10)")) == 1  # asked once, never per pass or read
    assert len(drive.commands("SET CD SPEED")) == 1
    assert (drive.mode.read_retry_count, drive.read_speed) == (20, 24 * 176)
    assert res.map.count("-")[0] == len(DEAD)  # type: ignore[attr-defined]
    assert not list((tmp_path / "state").glob("*.json"))


def test_no_state_file_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(drivestate.STATE_ENV, str(blocker / "state"))
    drive = Drive(disc(tmp_path))
    _, res = rescue(drive, tmp_path)
    assert not drive.commands("MODE SELECT(10)") and not drive.commands("SET CD SPEED")
    notes = res.source_notes  # type: ignore[attr-defined]
    assert sum("cannot save them to restore after a crash" in n for n in notes) == 1


def test_cancel_at_any_point_restores_the_drive_and_keeps_a_valid_mapfile(
    tmp_path: Path,
) -> None:
    """Cancelled after the drive answered N commands, for N across a whole rescue (copy, trim,
    scrape, each retry pass): the mapfile is whole and the drive is as it was."""
    full = Drive(disc(tmp_path))
    rescue(full, tmp_path)
    total = full.commands_seen
    for stop_after in range(8, total, max(total // 15, 1)):
        for f in tmp_path.glob("out.iso*"):
            f.unlink()
        drive = Drive(disc(tmp_path))
        token = CancelToken()
        drive.on_command = lambda e, t=token, n=stop_after: t.cancel() if e.seq >= n else None
        _, res = rescue(drive, tmp_path, cancel=token, settings=RescueSettings(save_interval=0))
        assert res.outcome is Outcome.CANCELLED, stop_after  # type: ignore[attr-defined]
        mf = mapfile.load(str(tmp_path / "out.iso.map"), 2048)
        assert mf.map.size == SECTORS
        done = mf.map.runs_with("+")
        data = (tmp_path / "d.iso").read_bytes()
        image = (tmp_path / "out.iso").read_bytes()
        for lo, hi in done:  # what the mapfile vouches for is in the image
            assert image[lo * 2048 : hi * 2048] == data[lo * 2048 : hi * 2048], stop_after
        assert (drive.mode.read_retry_count, drive.read_speed) == (20, 24 * 176), stop_after
        assert not list((tmp_path / "state").glob("*.json")), stop_after
