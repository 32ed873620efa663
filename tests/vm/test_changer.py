"""`discvault auto` with a disc changer: two emulated SCSI CD drives in the QEMU guest.

The host is the autoloader (and the person who pulls a disc): over QMP it puts the next disc
in a drive once auto has ejected the last one (``blockdev-change-medium``: the tray opens, the
disc changes, the tray closes — what a Nimbie-style loader does), and pulls a disc out in the
middle of its backup (a forced ``eject``). The sequence:

- /dev/sr0: NEW (backed up), then PULLED (pulled out mid-backup), then DEAD (nothing readable);
- /dev/sr1: FAULTY (MEDIUM ERRORs from blkdebug) at the same time as NEW, then COPY (a second
  pressing of NEW: known), then PULLED again (its gaps filled from this other drive).

Auto runs with ``--eject --verify``. At the end every disc's catalogue state, history and image
are checked: exact on every readable sector, unreadable exactly where the faults are.
One guest boot for the module (several minutes under TCG).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core.base import mapfile
from tests.conftest import random_bytes
from tests.faultdev import expected_image
from tests.vm.test_drive_vm import make_disc
from tests.vm.testvm import Guest, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
BAD = [300, 301, 302, 1100]
SR0, SR1 = "/dev/sr0", "/dev/sr1"
DAY = time.strftime("%Y-%m-%d")
Event = dict[str, Any]


class Events:
    """The guest's `discvault auto --json` lines, read as they arrive over the shared folder."""

    def __init__(self, guest: Guest) -> None:
        self.guest = guest
        self.path = guest.out / "auto.jsonl"

    def all(self) -> list[Event]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def wait(self, pred: Callable[[list[Event]], bool], what: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self.all()):
            proc = self.guest.proc
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                tail = self.path.read_text(errors="replace")[-4000:] if self.path.exists() else ""
                raise AssertionError(f"never saw {what}; auto said:\n{tail}")
            time.sleep(0.2)

    def count(self, kind: str, drive: str) -> Callable[[list[Event]], int]:
        return lambda evs: sum(1 for e in evs if e["kind"] == kind and e.get("drive") == drive)

    def wait_count(self, kind: str, drive: str, n: int) -> None:
        counter = self.count(kind, drive)
        self.wait(lambda evs: counter(evs) >= n, f"{n} '{kind}' on {drive}")


def dones(evs: list[Event], drive: str) -> list[Event]:
    return [e for e in evs if e["kind"] == "done" and e.get("drive") == drive]


@pytest.fixture(scope="module")
def changer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drives are required in CI: {reason}")
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("changer")
    discs = {
        "new": make_disc(work / "new.iso", "NEW", 8, 1),
        "faulty": make_disc(work / "faulty.iso", "FAULTY", 8, 20),
        "pulled": make_disc(work / "pulled.iso", "PULLED", 48, 40),
        "dead": work / "dead.iso",
        "copy": work / "copy.iso",
    }
    discs["dead"].write_bytes(random_bytes(1 << 20, seed=99))
    shutil.copy(discs["new"], discs["copy"])  # a second pressing: other disc, same bytes
    script = work / "guest.sh"
    script.write_text(
        f"cd {ROOT}\nexport PYTHONDONTWRITEBYTECODE=1 PYTHONPATH={ROOT}\n"
        f"exec {sys.executable} {ROOT}/tests/vm/changer_guest.py\n"
    )
    guest = Guest(script, discs["new"], work, [], [], timeout=1800, drives=2).start()
    guest.wait_for_file("ready", timeout=600)
    guest.change_medium("cddev1", discs["faulty"], bad=BAD)
    (guest.out / "go").write_text("1")
    ev = Events(guest)
    # /dev/sr0: NEW is done and out; PULLED goes in and is pulled out mid-backup.
    ev.wait_count("ejected", SR0, 1)
    guest.change_medium("cddev", discs["pulled"])
    ev.wait(
        lambda evs: any(
            e["kind"] == "progress" and e.get("label") == "PULLED" and 0.1 < e["fraction"] < 0.8
            for e in evs
        ),
        "PULLED under way",
    )
    guest.qmp("eject", id="cddev", force=True)
    ev.wait_count("done", SR0, 2)
    # ...then a disc with nothing readable on it.
    ev.wait(lambda evs: len(dones(evs, SR0)) >= 2 and guest.tray_open("cddev"), "sr0 open")
    guest.change_medium("cddev", discs["dead"], every=True)
    ev.wait_count("done", SR0, 3)
    # /dev/sr1: FAULTY is done and out; COPY goes in (known), then PULLED (resumed here).
    ev.wait_count("ejected", SR1, 1)
    guest.change_medium("cddev1", discs["copy"])
    ev.wait_count("ejected", SR1, 2)
    guest.change_medium("cddev1", discs["pulled"])
    ev.wait_count("ejected", SR1, 3)
    ev.wait_count("ejected", SR0, 3)
    (guest.out / "stop").write_text("1")
    assert guest.wait() == 0, (guest.out / "guest.log").read_text()
    return {"out": guest.out, **discs}


def events(c: dict[str, Path]) -> list[Event]:
    return [json.loads(line) for line in (c["out"] / "auto.jsonl").read_text().splitlines()]


def show(c: dict[str, Path], label: str) -> dict[str, Any]:
    (path,) = c["out"].glob(f"show-{label}_*.json")
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


def image(c: dict[str, Path], label: str) -> bytes:
    return (c["out"] / "lib" / f"{label}_{DAY}" / f"{label}.iso").read_bytes()


def test_each_drive_took_its_discs_in_turn_and_ejected_each(changer: dict[str, Path]) -> None:
    evs = events(changer)
    assert [e["outcome"] for e in dones(evs, SR0)] == ["complete", "source_gone", "unreadable"]
    assert [e["outcome"] for e in dones(evs, SR1)] == ["incomplete", "known", "complete"]
    assert [e.get("label") for e in dones(evs, SR1)] == ["FAULTY", "NEW", "PULLED"]
    for drive in (SR0, SR1):
        kinds = [e["kind"] for e in evs if e.get("drive") == drive]
        turns = [k for k in kinds if k in ("done", "ejected")]
        assert turns == ["done", "ejected"] * 3, kinds
    assert (changer["out"] / "auto.rc").read_text() == "130"  # stopped with SIGTERM


def test_both_drives_read_at_once(changer: dict[str, Path]) -> None:
    evs = events(changer)
    start = {d: next(i for i, e in enumerate(evs) if e["kind"] == "new" and e["drive"] == d)
             for d in (SR0, SR1)}  # fmt: skip
    end = {d: evs.index(dones(evs, d)[0]) for d in (SR0, SR1)}
    assert start[SR0] < end[SR1] and start[SR1] < end[SR0]


def test_new_disc_is_exact_and_verified_and_its_copy_re_verified(
    changer: dict[str, Path],
) -> None:
    assert image(changer, "NEW") == changer["new"].read_bytes()
    doc = show(changer, "NEW")
    assert doc["state"] == "verified" and doc["outcome"] == "complete"
    verifies = [(e["doc"]["source"], e["outcome"]) for e in doc["history"] if e["kind"] == "verify"]
    assert verifies == [("backup", "good"), ("disc", "good")]
    (known,) = [e for e in events(changer) if e["kind"] == "known"]
    assert f"already backed up on {DAY}, verified {DAY}" in known["message"]


def test_faulty_disc_is_exact_where_readable_and_unreadable_exactly_at_the_faults(
    changer: dict[str, Path],
) -> None:
    data = changer["faulty"].read_bytes()
    assert image(changer, "FAULTY") == expected_image(data, set(BAD))
    m = mapfile.load(str(changer["out"] / "lib" / f"FAULTY_{DAY}" / "FAULTY.iso.map"), 2048).map
    assert [(s, e - s) for s, e, st in m.runs() if st != "+"] == [(300, 3), (1100, 1)]
    doc = show(changer, "FAULTY")
    assert doc["state"] == "incomplete" and doc["unreadable_sectors"] == len(BAD)


def test_pulled_disc_was_finished_from_the_other_drive_reading_only_the_gap(
    changer: dict[str, Path],
) -> None:
    data = changer["pulled"].read_bytes()
    assert image(changer, "PULLED") == data
    doc = show(changer, "PULLED")
    assert doc["state"] == "verified" and doc["outcome"] == "complete"
    reads = [e["doc"] for e in doc["history"] if e["kind"] == "read"]
    assert [r["source"] for r in reads] == [SR0, SR1]
    total = len(data) // 2048
    got = [False] * total
    for s, e in reads[0]["ranges"] + reads[1]["ranges"]:
        assert not any(got[s:e]), "a sector was read twice"
        got[s:e] = [True] * (e - s)
    assert all(got)
    assert 0 < reads[0]["sectors"] < total and 0 < reads[1]["sectors"] < total


def test_a_disc_with_nothing_readable_is_recorded_and_ejected(changer: dict[str, Path]) -> None:
    (dead,) = [e for e in dones(events(changer), SR0) if e["outcome"] == "unreadable"]
    assert "no readable data" in dead["message"]
    doc = show(changer, "DISC")
    assert doc["state"] == "incomplete"
    total = len(changer["dead"].read_bytes()) // 2048
    # Every data sector unreadable; the track's last two may be TAO run-out (not data).
    assert total - 2 <= doc["unreadable_sectors"] <= total
    (folder,) = (changer["out"] / "lib").glob("DISC_*")
    m = mapfile.load(str(folder / "DISC.iso.map"), 2048).map
    assert m.count("+")[0] == 0
    # A short attempt, then the queue went on; no verify of a disc that gave nothing.
    assert "compared with the disc" not in dead["message"]


def test_the_catalogue_holds_four_discs_and_the_journal_the_same_story(
    changer: dict[str, Path],
) -> None:
    listed = json.loads((changer["out"] / "list.json").read_text())["discs"]
    assert sorted(d["label"] for d in listed) == [f"DISC_{DAY}", "FAULTY", "NEW", "PULLED"]
    journal = [
        json.loads(line)
        for line in (changer["out"] / "lib" / "journal.jsonl").read_text().splitlines()
    ]
    evs = events(changer)
    assert [e["outcome"] for e in journal if e["kind"] == "done"] == [
        e["outcome"] for e in evs if e["kind"] == "done"
    ]
