"""`discvault auto` when things go wrong: a full library disk, a disc with nothing readable,
two copies of one disc at once, a stop mid-backup, a drive another auto already watches.

Drives are loop devices over faultfs, as in test_auto.py; the library's disk is a real small
filesystem (tmpfs with a size) where "full" means what it means on any disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MakeDevice
from tests.integration.test_auto import ROOT, Auto, dones, folders, make_disc, reads, show

DAY = time.strftime("%Y-%m-%d")


def slow(data: bytes, delay: float = 0.04) -> list[dict[str, object]]:
    """A slow sector every 64 KiB: the disc takes seconds to read, so things can happen."""
    return [{"lba": n, "kind": "slow", "delay": delay} for n in range(20, len(data) // 2048, 32)]


@contextlib.contextmanager
def small_disk(path: Path, megabytes: int) -> Iterator[Path]:
    path.mkdir()
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def free_mib(path: Path) -> float:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / (1 << 20)


def test_a_full_library_disk_pauses_every_drive_once_and_goes_on_when_freed(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    small = make_disc(tmp_path, "SMALL", 11, megabytes=6)
    big = make_disc(tmp_path, "BIG", 12, megabytes=24)
    a = make_device(small, slow(small, 0.06))
    b = make_device(big, [])
    with small_disk(tmp_path / "disk", 48) as disk:
        lib = disk / "lib"
        filler = disk / "filler.bin"
        filler.write_bytes(bytes(int((free_mib(disk) - 16) * (1 << 20))))
        auto = Auto(lib, [a.path, b.path], "--max-discs", "3")
        auto.wait(lambda e: any(x["kind"] == "paused" for x in e), "the pause")
        evs = auto.events()
        (failed,) = dones(evs, b.path)
        assert failed["outcome"] == "destination_error"
        assert "not enough space" in failed["message"]
        assert not os.path.exists(lib / f"BIG_{DAY}")  # nothing was written: no half folder
        time.sleep(1.5)  # paused means paused: SMALL does not finish while the disk is full
        assert not dones(auto.events(), a.path)
        filler.unlink()
        auto.wait(lambda e: any(x["kind"] == "resumed" for x in e), "the resume")
        auto.done(1, a.path)
        b.vanish()  # the person takes BIG out and puts it back now that there is room
        auto.idle(b.path, 1)
        b.restore()
        assert auto.finish() == 0
        evs = auto.events()
        kinds = [e["kind"] for e in evs]
        assert kinds.count("paused") == 1 and kinds.count("resumed") == 1
        pause = next(e for e in evs if e["kind"] == "paused")
        assert "every drive is paused" in pause["message"]
        assert kinds.index("resumed") < evs.index(dones(evs, a.path)[0])
        assert [e["outcome"] for e in dones(evs, b.path)] == ["destination_error", "complete"]
        assert folders(lib) == [f"BIG_{DAY}", f"SMALL_{DAY}"]
        assert (lib / f"SMALL_{DAY}" / "SMALL.iso").read_bytes() == small
        assert (lib / f"BIG_{DAY}" / "BIG.iso").read_bytes() == big
        assert show(lib, "SMALL")["state"] == show(lib, "BIG")["state"] == "complete"


def test_a_disc_with_nothing_readable_is_recorded_and_the_queue_goes_on(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    dead = make_disc(tmp_path, "DEAD", 21, megabytes=2)
    good = make_disc(tmp_path, "GOOD", 22, megabytes=2)
    sectors = len(dead) // 2048
    a = make_device(dead, [{"lba": 0, "count": sectors, "kind": "bad"}], error_delay=0.002)
    b = make_device(good, [])
    lib = tmp_path / "lib"
    auto = Auto(lib, [a.path, b.path], "--max-discs", "2")
    assert auto.finish() == 4
    evs = auto.events()
    (gone,) = dones(evs, a.path)
    assert gone["outcome"] == "unreadable" and "no readable data" in gone["message"]
    assert any("nothing readable in 8 places" in e["message"] for e in evs)
    assert dones(evs, b.path)[0]["outcome"] == "complete"
    # Recorded: a disc folder whose every sector is unreadable, so the catalogue knows it.
    doc = show(lib, f"DISC_{DAY}")
    assert doc["state"] == "incomplete" and doc["unreadable_sectors"] == sectors
    # A short attempt, not a full rescue of a dead disc: a few hundred reads, not thousands.
    assert a.stats()["failed"] < 400, a.stats()


def test_two_copies_at_once_make_one_folder_and_the_second_is_re_verified(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    disc = make_disc(tmp_path, "TWIN", 31, megabytes=4)
    a = make_device(disc, slow(disc))
    b = make_device(disc, slow(disc))
    lib = tmp_path / "lib"
    auto = Auto(lib, [a.path, b.path], "--verify", "--max-discs", "2")
    assert auto.finish() == 0
    evs = auto.events()
    assert sorted(e["outcome"] for e in dones(evs)) == ["complete", "known"]
    assert any("the same disc is being read in" in e["message"] for e in evs)
    assert folders(lib) == [f"TWIN_{DAY}"]
    assert (lib / f"TWIN_{DAY}" / "TWIN.iso").read_bytes() == disc
    (done,) = [e for e in dones(evs) if e["outcome"] == "complete"]
    assert "compared with the disc: good" in done["message"]
    (again,) = [e for e in evs if e["kind"] == "verified"]
    assert again["outcome"] == "good" and "identical" in again["message"]
    doc = show(lib, "TWIN")
    verifies = [e for e in doc["history"] if e["kind"] == "verify"]
    assert [v["doc"]["source"] for v in verifies] == ["backup", "disc"]
    assert doc["badge"] == f"verified {DAY}"


def test_stopped_mid_backup_it_resumes_at_the_next_start(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    disc = make_disc(tmp_path, "LONG", 41, megabytes=6)
    a = make_device(disc, slow(disc, 0.06))
    lib = tmp_path / "lib"
    auto = Auto(lib, [a.path])
    auto.wait(lambda e: any(x["kind"] == "progress" and x["fraction"] > 0.2 for x in e), "progress")
    # A second auto on the same drive is refused (a drive is never read by two jobs).
    r = subprocess.run(
        [sys.executable, "-m", "app", "auto", "--library", str(tmp_path / "other"),
         "--drives", a.path],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert r.returncode == 4, r.stderr
    assert "already watched by another discvault auto" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert auto.stop() == 130
    (stopped,) = dones(auto.events())
    assert stopped["outcome"] == "cancelled"
    assert show(lib, "LONG")["badge"].startswith("backup cancelled")
    again = Auto(lib, [a.path], "--max-discs", "1")
    assert again.finish() == 0
    (resumed,) = dones(again.events())
    assert resumed["outcome"] == "complete" and "(resumed)" in resumed["message"]
    assert (lib / f"LONG_{DAY}" / "LONG.iso").read_bytes() == disc
    (_, first), (_, second) = reads(show(lib, "LONG"))
    assert sum(e - s for s, e in first + second) == len(disc) // 2048


def test_a_known_disc_re_verified_finds_an_image_that_changed_on_storage(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    disc = make_disc(tmp_path, "ROT", 61, megabytes=2)
    a = make_device(disc, [])
    lib = tmp_path / "lib"
    assert Auto(lib, [a.path], "--max-discs", "1").finish() == 0
    image = lib / f"ROT_{DAY}" / "ROT.iso"
    with open(image, "r+b") as f:  # one byte of the stored file rots (not the descriptors)
        f.seek(len(disc) // 2)
        byte = f.read(1)
        f.seek(len(disc) // 2)
        f.write(bytes([byte[0] ^ 0x40]))
    again = Auto(lib, [a.path], "--verify", "--max-discs", "1")
    assert again.finish() == 3
    (done,) = dones(again.events())
    assert done["outcome"] == "mismatch" and "re-verified: mismatch" in done["message"]
    doc = show(lib, "ROT")
    assert doc["state"] == "mismatch" and doc["badge"] == "did not match the disc!"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--drives", "/dev/no-such-drive"], 4, "no such drive"),
        (["--drives", "/dev/null", "--template", "{label"], 2, "folder template"),
        (["--drives", "/dev/null", "--poll", "0"], 2, "between 0.05 and 3600"),
    ],
)
def test_bad_input_is_one_line_and_a_contract_exit_code(
    tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "app", "auto", "--library", str(tmp_path / "lib"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == code, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr
    if code == 4:
        assert r.stderr.startswith("discvault: ") and len(r.stderr.strip().splitlines()) == 1


def test_the_journal_is_json_lines_with_a_schema(make_device: MakeDevice, tmp_path: Path) -> None:
    disc = make_disc(tmp_path, "JOURNAL", 51, megabytes=1)
    a = make_device(disc, [])
    lib = tmp_path / "lib"
    assert Auto(lib, [a.path], "--max-discs", "1").finish() == 0
    lines = (lib / ".discvault" / "auto.jsonl").read_text().splitlines()
    docs = [json.loads(line) for line in lines]
    assert {d["schema"] for d in docs} == {"discvault.auto-event/1"}
    assert [d["kind"] for d in docs] == ["started", "inserted", "new", "done", "stopped"]
    assert all(d["kind"] != "progress" for d in docs)
