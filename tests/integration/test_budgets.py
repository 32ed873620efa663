"""Time budgets: a rescue that stops reading on request or at a budget still finishes properly.

"Finish now" / --max-time / --max-failed-reads stop retrying, keep the mapfile, say what stays
unread, and a later run goes on from there. Faults are real (FUSE + loop device).
"""

from __future__ import annotations

import json
from pathlib import Path

from app.core.base import mapfile
from app.core.base.events import CancelToken, Progress
from app.core.base.outcome import Outcome
from app.core.disc.sources import ImageSource
from app.core.rescue.engine import Engine, RescueSettings
from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import expected_image
from tests.integration.test_rip_faults import run_cli

SECTORS = 3000
BAD = set(range(1000, 1040)) | {2000, 2500}
FAULTS = [
    {"lba": 1000, "count": 40, "kind": "bad"},
    {"lba": 2000, "kind": "bad"},
    {"lba": 2500, "kind": "bad"},
]


def test_max_failed_reads_stops_reading_and_a_second_run_goes_on(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=21)
    dev = make_device(data, FAULTS)
    out = tmp_path / "o.iso"
    r = run_cli("rip", dev.path, str(out), "--max-failed-reads", "3")
    assert r.returncode == 1, r.stderr
    assert "budget of 3 failed reads is used up" in r.stdout
    assert dev.stats()["failed"] == 3
    doc = json.loads(Path(f"{out}.report.json").read_text())
    assert doc["hashes"] and doc["unreadable_sectors"] > len(BAD)  # unread counts as unread
    mf = mapfile.load(f"{out}.map", 2048)
    assert mf.map.count("?")[0] > 0  # honest: not tried is not bad
    r = run_cli("rip", dev.path, str(out))  # no budget now: it goes on to the end
    assert r.returncode == 1
    assert out.read_bytes() == expected_image(data, BAD)


def test_finish_now_during_retries_keeps_everything_and_finishes(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=22)
    dev = make_device(data, FAULTS, error_delay=0.01)
    token = CancelToken()
    etas: list[float] = []

    def progress(p: Progress) -> None:
        if p.phase == "retry":
            if p.eta_seconds is not None:
                etas.append(p.eta_seconds)
            token.finish()

    with ImageSource(dev.path) as src:
        res = Engine(src, str(tmp_path / "o.iso"), progress=progress, cancel=token).run()
    assert res.outcome is Outcome.INCOMPLETE and res.hashes is not None
    assert "finished early at your request" in res.message and "another drive" in res.message
    assert [p.phase for p in res.passes].count("retry") == 1  # stopped within the first retry
    assert res.damaged_sectors == len(BAD)
    # The retry pass's ETA is failed reads left x the measured cost of one: positive, finite.
    assert etas and 0 < etas[0] < 60
    assert (tmp_path / "o.iso").read_bytes() == expected_image(data, BAD)


def test_max_time_is_a_duration_and_a_bad_one_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "s.bin"
    src.write_bytes(random_bytes(64 * 2048))
    r = run_cli("rip", str(src), str(tmp_path / "o.iso"), "--max-time", "soon")
    assert r.returncode == 2 and "is not a time" in r.stderr
    r = run_cli("rip", str(src), str(tmp_path / "o.iso"), "--max-time", "1h30m")
    assert r.returncode == 0, r.stderr
    settings = json.loads(Path(f"{tmp_path / 'o.iso'}.report.json").read_text())["settings"]
    assert settings["max_time"] == 5400


def test_engine_settings_default_to_no_budget() -> None:
    assert RescueSettings().max_time is None and RescueSettings().max_failed_reads is None
