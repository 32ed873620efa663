"""Drive control on the emulated USB drive, through the guest kernel's sr/sg/usb-storage: one boot.

The drive (``tests/vm/usbdrive``) charges modelled time per internal retry, honours the read
retry count MODE SELECT sets and the speed SET CD SPEED chooses, has marginal sectors that read
only after more tries or only when the disc spins slowly, and a read-ahead cache that hands back
a cached failure to a read without FUA. In the guest, ``discvault rip /dev/sr0`` runs:

a. normally: retries 0/1 in the fast passes, the drive's default for the retry passes, full
   speed then slow, FUA on every retry, everything restored at the end;
b. killed with SIGKILL mid-copy (the drive is left changed, the state file says how it was),
   then run again: the new run restores the drive first and resumes;
c. stopped with SIGTERM during the retry passes: exit 130, a valid mapfile, the drive restored;
d. on a drive that refuses MODE SELECT and both speed commands: it keeps its settings, the
   report says so once, and only full-speed tries are made (the slow-only sectors stay unread).

The host module runs as the guest script too (``python -m tests.vm.test_drive_control CONFIG``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.core.base import mapfile
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.host import run_usb_drive_guest, unavailable_reason
from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import Reply

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[2]
RETRIES, CURRENT, SPEED = 32, 20, 24 * 176  # the drive's default, what it has, 24x
MAX = 48 * 176


def scratch(start: int, end: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """A radial scratch's crossings every 9-10 sectors: dead sectors, marginal ones (read at
    their 2nd-4th try), and some that read only at 8x or slower."""
    rng = random.Random(seed)
    defects: list[dict[str, Any]] = []
    kinds: dict[str, list[int]] = {"dead": [], "marginal": [], "slow": []}
    lba = start
    while lba < end:
        r = rng.random()
        if r < 0.6:
            defects.append({"lba": lba})
            kinds["dead"].append(lba)
        elif r < 0.85:
            defects.append({"lba": lba, "tries": rng.randint(2, 4)})
            kinds["marginal"].append(lba)
        else:
            defects.append({"lba": lba, "tries": 2, "max_speed": 8 * 176})
            kinds["slow"].append(lba)
        lba += rng.randint(9, 10)
    return defects, kinds


# ---- the model, on the host ----------------------------------------------------------------
def model(tmp: Path, defects: list[dict[str, Any]], **drive: Any) -> Drive:
    doc = {
        "profile": "CD-ROM",
        "sessions": [{"tracks": [{"start": 0, "length": 1000}]}],
        "defects": defects,
        "drive": {"read_retry_count": 8, **drive},
    }
    return Drive(Disc.from_dict(doc, tmp))


def read(drive: Drive, lba: int, count: int = 1, fua: bool = False) -> Reply:
    return drive.execute(
        bytes([0xA8, 0x08 if fua else 0])
        + lba.to_bytes(4, "big")
        + (count.to_bytes(4, "big"))
        + bytes(2)
    )


def mode_select_retries(drive: Drive, count: int) -> None:
    page = drive.execute(bytes([0x5A, 0x08, 0x01, 0, 0, 0, 0, 0, 20, 0])).data
    params = bytearray(page)
    params[0:2], params[11] = b"\0\0", count
    cdb = bytes([0x55, 0x10, 0, 0, 0, 0, 0, 0, len(params), 0])
    assert drive.execute(cdb, bytes(params)).good


def test_a_dead_sector_costs_one_try_plus_the_retry_count(tmp_path: Path) -> None:
    drive = model(tmp_path, [{"lba": 500}])
    assert not read(drive, 500).good
    assert (drive.mech.failed_tries, drive.mech.internal_retries) == (9, 8)
    t8 = drive.mech.clock
    mode_select_retries(drive, 0)
    drive.mech.clock = 0.0
    assert not read(drive, 500).good
    assert drive.mech.failed_tries == 10 and drive.mech.clock < t8 / 5


def test_a_marginal_sector_reads_at_its_nth_try_internal_retries_included(
    tmp_path: Path,
) -> None:
    drive = model(tmp_path, [{"lba": 10, "tries": 3}, {"lba": 20, "tries": 3}])
    assert read(drive, 10).good  # 8 internal retries: the third try reads it, one command
    mode_select_retries(drive, 0)
    assert [read(drive, 20).good for _ in range(3)] == [False, False, True]


def test_a_slow_only_sector_reads_once_the_drive_slows_down(tmp_path: Path) -> None:
    drive = model(tmp_path, [{"lba": 30, "tries": 1, "max_speed": 8 * 176}])
    assert not any(read(drive, 30).good for _ in range(3))  # 48x: no try brings it closer
    assert drive.execute(bytes([0xBB, 0, 0x02, 0xC0, 0xFF, 0xFF]) + bytes(6)).good  # 704 kB/s
    assert drive.read_speed == 4 * 176 and read(drive, 30).good
    desc = bytearray(28)
    desc[0] = 0x04  # SET STREAMING, RDD: back to the drive's default (its fastest)
    assert drive.execute(bytes([0xB6] + [0] * 8 + [0, 28, 0]), bytes(desc)).good
    assert drive.read_speed == 48 * 176


def test_the_cache_hands_back_a_failure_without_fua(tmp_path: Path) -> None:
    drive = model(tmp_path, [{"lba": 120, "tries": 2}], cache=64)
    mode_select_retries(drive, 0)
    assert read(drive, 100, 10).good  # read-ahead from 110 tries 120 once and keeps the failure
    assert drive.mech.tries_at[120] == 1
    bad = read(drive, 120)
    assert not bad.good and bad.info == 120
    assert drive.mech.tries_at[120] == 1 and drive.mech.cache_hits == 1  # the disc untouched
    assert read(drive, 120, fua=True).good  # FUA: the disc is read; second try, it reads


def test_fua_ignored_or_refused(tmp_path: Path) -> None:
    ignoring = model(tmp_path, [{"lba": 120, "tries": 2}], cache=64, fua="ignore")
    mode_select_retries(ignoring, 0)
    read(ignoring, 100, 10)
    assert not read(ignoring, 120, fua=True).good  # still the cached failure
    refusing = model(tmp_path, [], fua="refuse")
    r = read(refusing, 5, fua=True)
    assert not r.good and str(r.sense) == "05/24/00"


def test_a_drive_can_refuse_commands(tmp_path: Path) -> None:
    drive = model(tmp_path, [], refuse=["SET CD SPEED"])
    r = drive.execute(bytes([0xBB, 0, 0x02, 0xC0, 0xFF, 0xFF]) + bytes(6))
    assert not r.good and str(r.sense) == "05/20/00"


# ---- the emulated USB drive, in a VM ---------------------------------------------------------
@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    if not shutil.which("xorriso"):
        pytest.skip("xorriso is missing (apt install xorriso)")
    w = tmp_path_factory.mktemp("drivectl")
    tree = w / "t"
    tree.mkdir()
    for i in range(4):
        (tree / f"f{i}.bin").write_bytes(random.Random(i).randbytes(900_000))
    subprocess.run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-V",
            "SCRATCH",
            "-o",
            str(w / "d.iso"),
            tree,
        ],
        check=True,
        capture_output=True,
    )
    n = (w / "d.iso").stat().st_size // 2048
    defects, kinds = scratch(300, n - 200, 7)
    disc = {
        "profile": "CD-R",
        "drive": {
            "read_retry_count": RETRIES,
            "current_retry_count": CURRENT,
            "speed": SPEED,
            "cache": 64,
        },
        "sessions": [{"tracks": [{"start": 0, "length": n, "file": "d.iso"}]}],
        "defects": defects,
    }
    (w / "disc.json").write_text(json.dumps(disc))
    (w / "config.json").write_text(json.dumps({"disc": str(w / "disc.json")}))
    script = w / "guest.sh"
    script.write_text(f"exec {sys.executable} -m tests.vm.test_drive_control {w}/config.json\n")
    g = run_usb_drive_guest(w / "disc.json", script, w / "vm", timeout=800)
    results = {p.stem: json.loads(p.read_text()) for p in (g.out / "results").glob("*.json")}
    return {"r": results, "g": g, "out": g.out, "w": w, "kinds": kinds, "n": n}


def commands(run: dict[str, Any], step: str) -> list[dict[str, Any]]:
    """The drive's commands during one step of the guest session."""
    lo, hi = run["r"][step]["commands"]
    return [c for c in run["g"].commands() if lo < c["seq"] <= hi]


def retry_counts(cmds: list[dict[str, Any]]) -> list[int]:
    return [
        bytes.fromhex(c["data_out"])[11]
        for c in cmds
        if c["name"] == "MODE SELECT(10)" and c["status"] == 0
    ]


def speeds(cmds: list[dict[str, Any]]) -> list[int]:
    return [int(c["cdb"][4:8], 16) for c in cmds if c["name"] == "SET CD SPEED"]


def expected(run: dict[str, Any], unread: set[int]) -> bytes:
    out = bytearray((run["w"] / "d.iso").read_bytes())
    for lba in unread:
        out[lba * 2048 : (lba + 1) * 2048] = bytes(2048)
    return bytes(out)


def settings(status: dict[str, Any]) -> tuple[int, int]:
    return status["read_retry_count"], status["read_speed"]


def test_a_rescue_sets_the_drive_per_pass_and_restores_it(run: dict[str, Any]) -> None:
    a = run["r"]["a"]
    assert a["rc"] == 1, a["out"]
    cmds = commands(run, "a")
    counts = retry_counts(cmds)
    assert counts[0] == 0 and counts[-2:] == [RETRIES, CURRENT] and set(counts) <= {0, 1, 32, 20}
    assert speeds(cmds) == [0xFFFF, 4 * 176, SPEED]
    assert settings(a["status"]) == (CURRENT, SPEED)
    assert a["state_files"] == []
    # every read after the retry passes began asked for FUA, and none was answered from the
    # drive's cache (a cached failure would have cost a retry without touching the disc)
    first_retry = next(
        c["seq"]
        for c in cmds
        if c["name"] == "MODE SELECT(10)" and bytes.fromhex(c["data_out"])[11] == RETRIES
    )
    reads = [c for c in cmds if c["name"] == "READ(12)" and c["seq"] > first_retry]
    assert reads and all(int(c["cdb"][2:4], 16) & 0x08 for c in reads)
    dead = set(run["kinds"]["dead"])
    assert (run["out"] / "a.iso").read_bytes() == expected(run, dead)  # slow-only ones too
    report = json.loads((run["out"] / "a.iso.report.json").read_text())
    assert "drive settings restored" in report["source"]["drive_control"]


def test_a_killed_rescue_leaves_the_drive_changed_and_the_next_one_restores_it(
    run: dict[str, Any],
) -> None:
    b = run["r"]["b"]
    assert b["killed_status"]["read_retry_count"] == 0  # killed while the copy pass ran
    assert len(b["state_files_after_kill"]) == 1
    saved = b["state_files_after_kill"][0]
    assert saved["schema"] == "discvault.drive-state/1" and saved["speed"] == SPEED
    cmds = [c for c in commands(run, "b") if c["seq"] > b["killed_status"]["commands"]]
    # the first thing the second run changes is putting back what the first one left
    assert retry_counts(cmds)[0] == CURRENT and speeds(cmds)[0] == SPEED
    assert b["rc"] == 1, b["out"]
    assert settings(b["status"]) == (CURRENT, SPEED)
    assert b["state_files"] == []
    dead = set(run["kinds"]["dead"])
    assert (run["out"] / "b.iso").read_bytes() == expected(run, dead)
    assert "earlier run left changed" in b["out"] or any(
        "earlier run left changed" in n
        for n in json.loads((run["out"] / "b.iso.report.json").read_text())["source"][
            "drive_control"
        ]
    )


def test_sigterm_during_the_retries_keeps_a_valid_mapfile_and_restores(
    run: dict[str, Any],
) -> None:
    c = run["r"]["c"]
    assert c["status_before_term"]["read_retry_count"] == RETRIES  # in the retry passes
    assert c["rc"] == 130, c["out"]
    assert settings(c["status"]) == (CURRENT, SPEED)
    assert c["state_files"] == []
    m = mapfile.load(str(run["out"] / "c.iso.map"), 2048).map
    data = (run["w"] / "d.iso").read_bytes()
    image = (run["out"] / "c.iso").read_bytes()
    assert m.size == run["n"]
    for lo, hi in m.runs_with("+"):
        assert image[lo * 2048 : hi * 2048] == data[lo * 2048 : hi * 2048]
    assert not m.runs_with("?")  # stopped in the retry passes: everything was tried


def test_a_drive_that_refuses_control_keeps_its_settings_and_says_so_once(
    run: dict[str, Any],
) -> None:
    d = run["r"]["d"]
    assert d["rc"] == 1, d["out"]
    cmds = commands(run, "d")
    assert len([c for c in cmds if c["name"] == "MODE SELECT(10)"]) == 1
    assert len([c for c in cmds if c["name"] == "SET CD SPEED"]) == 1
    assert settings(d["status"]) == (CURRENT, SPEED)
    notes = json.loads((run["out"] / "d.iso.report.json").read_text())["source"]["drive_control"]
    assert sum("read retries" in n for n in notes) == 1  # refused: said once
    assert sum("keeps its speed" in n for n in notes) == 1
    # never slowed down, the sectors that read only at 8x or slower stay unread
    m = mapfile.load(str(run["out"] / "d.iso.map"), 2048).map
    assert all(m.status_at(lba) == "-" for lba in run["kinds"]["slow"])
    assert all(m.status_at(lba) == "+" for lba in run["kinds"]["marginal"])


# ---- the guest side ---------------------------------------------------------------------------
OUT = Path("/mnt")
APP = [sys.executable, "-m", "app"]


def _status() -> dict[str, Any]:
    from tests.vm.usbdrive import control

    return control.request("status")


def _state_files(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def _wait(pred: Any, what: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _status()
        if pred(st):
            return st
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _rip(name: str, env: dict[str, str]) -> dict[str, Any]:
    r = subprocess.run(
        [*APP, "rip", "/dev/sr0", str(OUT / f"{name}.iso")], capture_output=True, text=True, env=env
    )
    return {"rc": r.returncode, "out": r.stdout + r.stderr}


def guest_main(config_path: str) -> None:
    from tests.vm.usbdrive import control

    cfg = json.loads(Path(config_path).read_text())
    results = OUT / "results"
    results.mkdir(parents=True, exist_ok=True)
    state = OUT / "state"
    env = {**os.environ, "DISCVAULT_STATE_DIR": str(state)}

    def step(name: str, body: Any) -> None:
        control.request("load", path=cfg["disc"])  # a fresh disc: marginal sectors as new
        first = _status()["commands"]
        doc = body()
        doc["commands"] = [first, _status()["commands"]]
        doc["status"] = _status()
        doc["state_files"] = _state_files(state)
        (results / f"{name}.json").write_text(json.dumps(doc, indent=1))

    step("a", lambda: _rip("a", env))

    def crash() -> dict[str, Any]:
        control.request("configure", delay=0.05)  # real time per failed read: catch it mid-way
        p = subprocess.Popen([*APP, "rip", "/dev/sr0", str(OUT / "b.iso")], env=env)
        killed = _wait(  # both settings changed: the copy pass runs
            lambda s: s["read_retry_count"] == 0 and s["read_speed"] == MAX, "the copy pass"
        )
        p.send_signal(signal.SIGKILL)
        p.wait()
        control.request("configure", delay=0.0)
        files = _state_files(state)
        doc = _rip("b", env)
        return {**doc, "killed_status": killed, "state_files_after_kill": files}

    step("b", crash)

    def term() -> dict[str, Any]:
        control.request("configure", delay=0.05)
        p = subprocess.Popen(
            [*APP, "rip", "/dev/sr0", str(OUT / "c.iso")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        before = _wait(lambda s: s["read_retry_count"] == RETRIES, "the retry passes")
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=120)
        control.request("configure", delay=0.0)
        return {"rc": p.returncode, "out": out, "status_before_term": before}

    step("c", term)
    control.request("configure", refuse=["MODE SELECT(10)", "SET CD SPEED", "SET STREAMING"])
    step("d", lambda: _rip("d", env))
    control.request("configure", refuse=[])


if __name__ == "__main__":
    guest_main(sys.argv[1])
