"""`discvault auto` on real faulty block devices (FUSE + loop, 2048-byte sectors) as drives.

Each loop device is a drive; the test plays the person (or the autoloader) at the drive: a
disc goes away with ``vanish()`` (the device reports no size, as a drive without a disc does)
and comes back with ``restore()``; another disc of the same size is put in by rewriting the
backing file while the device is empty. `discvault auto` runs as a user runs it, in its own
process, and is watched through its JSON event lines; the library it leaves is checked through
`discvault library show --json`, the images byte by byte.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.base import mapfile
from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import FaultDevice, expected_image
from tests.integration.isofixtures import need

Event = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]


def make_disc(tmp: Path, label: str, seed: int, megabytes: float = 4) -> bytes:
    """A data CD with one file of ``megabytes``: discs of one size have images of one size."""
    need("genisoimage")
    tree = tmp / f"tree_{label}_{seed}"
    tree.mkdir()
    (tree / "data.bin").write_bytes(random_bytes(int(megabytes * (1 << 20)), seed=seed))
    (tree / "label.txt").write_text(label)
    iso = tmp / f"{label}_{seed}.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", label, "-o", str(iso), str(tree)], check=True
    )
    return iso.read_bytes()


def swap(dev: FaultDevice, data: bytes) -> None:
    """Put another disc in an empty drive (same size: the device keeps its capacity)."""
    assert len(data) == dev.backing.stat().st_size
    with open(dev.backing, "r+b") as f:
        f.write(data)
    dev.restore()


class Auto:
    """`discvault auto` in its own process; its events are read from its JSON lines."""

    def __init__(self, lib: Path, drives: list[str], *more: str, env: dict[str, str] | None = None):
        self.out = lib.parent / f"auto-{len(list(lib.parent.glob('auto-*')))}.jsonl"
        self.log = open(self.out, "w")  # noqa: SIM115 (closed in finish)
        cmd = [sys.executable, "-m", "app", "auto", "--library", str(lib), "--json"]
        cmd += ["--poll", "0.2", "--progress-every", "0.1", "--drives", *drives, *more]
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, "DISCVAULT_LIBRARY_WAIT": "5", **(env or {})},
        )

    def events(self) -> list[Event]:
        out = []
        for line in self.out.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def wait(self, pred: Callable[[list[Event]], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events()
            if pred(evs):
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {what}; output:\n{self.out.read_text()[-4000:]}")
            time.sleep(0.1)

    def done(self, n: int, drive: str | None = None) -> None:
        self.wait(lambda e: len(dones(e, drive)) >= n, f"{n} discs done")

    def idle(self, drive: str, n: int) -> None:
        """The drive has reported "waiting for a disc" ``n`` times (it saw the disc go)."""
        self.wait(
            lambda e: (
                sum(
                    1 for x in e if x.get("drive") == drive and x["message"] == "waiting for a disc"
                )
                >= n
            ),
            f"{drive} waiting for a disc ({n})",
        )

    def finish(self, timeout: float = 120) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"auto did not end:\n{self.out.read_text()[-4000:]}") from None
        finally:
            self.log.close()
        return rc

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.finish()


def dones(evs: list[Event], drive: str | None = None) -> list[Event]:
    return [e for e in evs if e["kind"] == "done" and (drive is None or e.get("drive") == drive)]


def show(lib: Path, disc: str) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-m", "app", "library", "show", disc, "--json", "--library", str(lib)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def folders(lib: Path) -> list[str]:
    return sorted(p.name for p in lib.iterdir() if not p.name.startswith("."))


def reads(doc: dict[str, Any]) -> list[tuple[str, list[list[int]]]]:
    return [(e["doc"]["source"], e["doc"]["ranges"]) for e in doc["history"] if e["kind"] == "read"]


# ---- the whole sequence on two drives ---------------------------------------------------------
def test_new_faulty_pulled_resumed_and_known_discs_on_two_drives(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    new = make_disc(tmp_path, "NEW", 1)
    pulled = make_disc(tmp_path, "PULLED", 2)
    faulty = make_disc(tmp_path, "FAULTY", 3)
    copy = bytes(new)  # a second pressing of NEW: another disc, the same bytes
    bad = [400, 401, 402, 403, 1500]
    # Drive A reads slowly (a slow sector every 64 KiB) so a disc can be pulled mid-backup.
    slow = [{"lba": n, "kind": "slow", "delay": 0.04} for n in range(20, len(new) // 2048, 32)]
    a = make_device(new, slow)
    b = make_device(faulty, [{"lba": n, "kind": "bad"} for n in bad], error_delay=0.002)
    lib = tmp_path / "lib"
    auto = Auto(lib, [a.path, b.path], "--max-discs", "6")
    # 1. Both drives at once: NEW in A, FAULTY in B.
    auto.done(1, a.path)
    auto.done(1, b.path)
    first = auto.events()
    starts = {e["drive"]: first.index(e) for e in first if e["kind"] == "new"}
    ends = {e["drive"]: first.index(e) for e in dones(first)}
    assert starts[a.path] < ends[b.path] and starts[b.path] < ends[a.path], "one after the other"
    # 2. NEW out, PULLED in; pulled out again while it is read.
    a.vanish()
    auto.idle(a.path, 1)
    swap_started = len(auto.events())
    swap(a, pulled)
    auto.wait(
        lambda e: any(
            x["kind"] == "progress" and x.get("label") == "PULLED" and x["fraction"] > 0.2
            for x in e[swap_started:]
        ),
        "PULLED under way",
    )
    a.vanish()
    auto.done(2, a.path)
    assert dones(auto.events(), a.path)[-1]["outcome"] == "source_gone"
    # 3. The same disc again: only what is missing is read.
    auto.idle(a.path, 2)
    a.control("reset")  # count reads from here
    a.restore()
    auto.done(3, a.path)
    resumed = dones(auto.events(), a.path)[-1]
    assert resumed["outcome"] == "complete", resumed
    read_again = a.stats()["bytes_read"] // 2048
    # 4. An identical copy: known, nothing read into the library.
    a.vanish()
    auto.idle(a.path, 3)
    swap(a, copy)
    auto.done(4, a.path)
    known = dones(auto.events(), a.path)[-1]
    assert known["outcome"] == "known", known
    assert "already backed up on " + time.strftime("%Y-%m-%d") in known["message"]
    assert "never verified" in known["message"]
    # 5. FAULTY again in B: its gaps are tried again, and stay unreadable.
    b.vanish()
    auto.idle(b.path, 1)
    b.restore()
    assert auto.finish() == 1  # six turns; one disc stays incomplete
    evs = auto.events()
    assert [e["outcome"] for e in dones(evs, b.path)] == ["incomplete", "incomplete"]
    assert [e["kind"] for e in evs if e.get("drive") == b.path].count("resume") == 1

    # The shelf: three discs, each in the state its story left it.
    day = time.strftime("%Y-%m-%d")
    assert folders(lib) == [f"FAULTY_{day}", f"NEW_{day}", f"PULLED_{day}"]
    assert (lib / f"NEW_{day}" / "NEW.iso").read_bytes() == new
    assert (lib / f"PULLED_{day}" / "PULLED.iso").read_bytes() == pulled
    img = (lib / f"FAULTY_{day}" / "FAULTY.iso").read_bytes()
    assert img == expected_image(faulty, set(bad))
    m = mapfile.load(str(lib / f"FAULTY_{day}" / "FAULTY.iso.map"), 2048).map
    assert [(s, e - s) for s, e, st in m.runs() if st != "+"] == [(400, 4), (1500, 1)]
    n = show(lib, "NEW")
    assert (n["state"], n["badge"]) == ("complete", "complete")
    f = show(lib, "FAULTY")
    assert f["state"] == "incomplete" and f["unreadable_sectors"] == len(bad)
    p = show(lib, "PULLED")
    assert (p["state"], p["outcome"]) == ("complete", "complete")
    # Who read what: the first run up to the pull, the second only the rest.
    (src1, first_ranges), (src2, second_ranges) = reads(p)
    assert src1 == src2 == a.path
    total = len(pulled) // 2048
    got = [False] * total
    for s, e in first_ranges + second_ranges:
        assert not any(got[s:e]), "a sector was read twice"
        got[s:e] = [True] * (e - s)
    assert all(got)
    second = sum(e - s for s, e in second_ranges)
    assert 0 < second < total
    # The drive was asked for little more than the missing sectors (identity and resume proof
    # read a few dozen descriptor and sample sectors; the rest is the gap itself).
    assert read_again < second + 200, (read_again, second)
    # The journal in the library tells the same story.
    journal = [
        json.loads(line) for line in (lib / ".discvault" / "auto.jsonl").read_text().splitlines()
    ]
    assert [e["outcome"] for e in dones(journal)] == [e["outcome"] for e in dones(evs)]
