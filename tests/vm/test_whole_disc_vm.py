"""Issue 12's acceptance, on a real kernel: every disc on the shelf backed up whole.

One QEMU boot with the emulated USB drive (tests/vm/usbdrive) as the guest's /dev/sr0. In it
DiscVault runs as a user runs it — ``drives --json``, ``rip /dev/sr0 OUT.iso``, ``inspect``,
``verify --against /dev/sr0`` — on six discs made by tools we did not write (xorriso,
genisoimage, hfsutils; tests/discfixtures.py) and laid out at a real disc's LBAs:

(a) a two-session TAO CD-R (6750 + 4500 + 150 sectors between sessions, 2 run-out per track);
(b) a CD-Extra (two audio tracks in session 1, the data in session 2);
(c) a Mac/PC hybrid whose HFS partition ends past the ISO 9660 volume;
(d) a single-session TAO CD-R;
(e) a CSS DVD-Video whose VOB is scrambled (the drive refuses it with 05/6F/03);
(f) an audio CD.

The disc descriptions are the truth for the sectors; the guest kernel's own isofs (and hfs) is
the independent judge of the files: what ``mount`` shows must be what ``inspect`` lists and
``extract`` writes from the image, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.host import run_usb_drive_guest, unavailable_reason
from tests.vm.whole_discs import (
    SECTOR,
    finished_runs,
    kernel_modules,
    make_discs,
    readable_sectors,
)

pytestmark = pytest.mark.timeout(1800)  # one boot (~40 s) plus six rips under TCG
ROOT = Path(__file__).resolve().parents[2]
DATA_DISCS = ("multisession", "cdextra", "hybrid", "tao")


# ---- one boot -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    for tool in ("xorriso", "genisoimage", "hformat", "isoinfo", "dpkg-deb"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is missing (apt install xorriso genisoimage hfsutils)")
    w = tmp_path_factory.mktemp("wholedisc")
    discs = make_discs(w)
    order = ["multisession", "cdextra", "hybrid", "tao", "dvd", "audio"]
    config = {
        "modules": kernel_modules(w),
        "discs": [
            {
                "name": n,
                "json": str(discs[n]["json"]),
                "mounts": discs[n].get("mounts", []),
                "image_mounts": discs[n].get("image_mounts", []),
            }
            for n in order
        ],
    }
    (w / "config.json").write_text(json.dumps(config, indent=1))
    script = w / "guest.sh"
    script.write_text(f"exec {sys.executable} -m tests.vm.whole_disc_guest {w}/config.json\n")
    t0 = time.monotonic()
    g = run_usb_drive_guest(discs["multisession"]["json"], script, w / "vm", timeout=1700)
    boot = time.monotonic() - t0
    ready = float(g.text("usbdrive/ready.txt") or 0)  # guest uptime when /dev/sr0 was up
    out = g.out / "whole"
    results = {n: json.loads((out / f"{n}.json").read_text()) for n in order}
    timings = {
        n: {k: r[k]["seconds"] for k in ("drives", "rip", "inspect", "verify") if k in r}
        for n, r in results.items()
    }
    doc = {"boot_and_all": boot, "drive_up_after": ready, "steps": timings}
    (w / "timings.json").write_text(json.dumps(doc, indent=1))
    print(f"\nwhole-disc guest: {boot:.0f} s in all; {doc}")  # seen with pytest -s
    return {"r": results, "discs": discs, "out": out, "g": g, "w": w}


def image(vm: dict[str, Any], name: str) -> Path:
    return Path(vm["out"]) / name / f"{name}.iso"


def report(vm: dict[str, Any], name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(f"{image(vm, name)}.report.json").read_text())
    return doc


def said(step: dict[str, Any]) -> str:
    return f"rc={step['rc']}\n--- stdout\n{step['stdout'][-3000:]}\n--- stderr\n{step['stderr']}"


def app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


# ---- what the images hold -----------------------------------------------------------------------
def test_rip_exit_codes_are_what_the_disc_deserves(vm: dict[str, Any]) -> None:
    codes = {n: r["rip"]["rc"] for n, r in vm["r"].items()}
    assert codes == {
        "multisession": 0,
        "cdextra": 0,
        "hybrid": 0,
        "tao": 0,
        "dvd": 4,  # copy protection: a source problem, not damage
        "audio": 4,  # nothing an .iso can hold
    }, {n: said(r["rip"]) for n, r in vm["r"].items()}


@pytest.mark.parametrize("name", DATA_DISCS)
def test_every_readable_data_sector_is_in_the_image_at_its_lba(
    vm: dict[str, Any], name: str
) -> None:
    want, good = readable_sectors(vm["discs"][name]["json"])
    img = image(vm, name).read_bytes()
    assert len(img) % SECTOR == 0
    assert max(good) < len(img) // SECTOR, "the image stops before the last readable sector"
    assert len(img) <= len(want)
    for lba in range(len(img) // SECTOR):  # sector by sector, so a failure names the LBA
        a, b = img[lba * SECTOR : (lba + 1) * SECTOR], want[lba * SECTOR : (lba + 1) * SECTOR]
        assert a == b, (
            f"{name}: LBA {lba} differs from the disc ({'data' if lba in good else 'not data'})"
        )


def test_image_ends_where_the_last_readable_data_ends(vm: dict[str, Any]) -> None:
    """Trailing unreadable run-out holds nothing: a single-session TAO disc gives a plain .iso
    of its data track (Redump's size), a hybrid the whole HFS partition."""
    for name in DATA_DISCS:
        _, good = readable_sectors(vm["discs"][name]["json"])
        assert image(vm, name).stat().st_size == (max(good) + 1) * SECTOR, name
    assert image(vm, "hybrid").stat().st_size // SECTOR > vm["discs"]["hybrid"]["iso_end"]


def test_reports_say_what_the_disc_is_in_words(vm: dict[str, Any]) -> None:
    summaries = {n: report(vm, n)["disc"]["summary"] for n in DATA_DISCS}
    assert summaries == {
        "multisession": "2 sessions, 2 tracks, 4 run-out sectors (not data), "
        "11400 session gap sectors (not data), 0 damaged",
        "cdextra": "2 sessions, 3 tracks (2 audio), 3000 audio sectors (not part of an ISO), "
        "11400 session gap sectors (not data), 0 damaged",
        "hybrid": "1 session, 1 track, 0 damaged",
        "tao": "1 session, 1 track, 2 run-out sectors (not data), 0 damaged",
    }
    for name in DATA_DISCS:
        doc = report(vm, name)
        assert doc["complete"] and doc["unreadable_sectors"] == 0 and doc["bad_ranges"] == []
        assert doc["disc"]["summary"] in vm["r"][name]["rip"]["stdout"]  # the user sees it too
    kinds = {f["kind"] for f in report(vm, "hybrid")["disc"]["filesystems"]}
    assert {"iso9660", "apm", "hfs"} <= kinds
    assert "audio: tracks 1, 2 not part of an ISO" in vm["r"]["cdextra"]["rip"]["stdout"]


def test_a_cue_sheet_lies_beside_multisession_and_mixed_images_only(vm: dict[str, Any]) -> None:
    from app.core.disc import cue

    for name in ("multisession", "cdextra"):
        sheet = cue.read(str(image(vm, name).with_suffix(".cue")))
        desc = Disc.load(vm["discs"][name]["json"])
        got = [(t.number, t.start, t.length, t.is_data) for t in sheet.layout.tracks]
        assert got == [(t.number, t.start, t.length, t.is_data) for t in desc.tracks], name
        # the report names it where the guest wrote it
        assert report(vm, name)["image"]["cue"] == f"/mnt/whole/{name}/{name}.cue"
    for name in ("hybrid", "tao"):
        assert not image(vm, name).with_suffix(".cue").exists(), name
        assert vm["r"][name]["files_after_rip"] == sorted(
            f"{name}.iso{s}" for s in ("", ".map", ".md5", ".report.json", ".sha1", ".sha256")
        )


# ---- drives --json ------------------------------------------------------------------------------
def test_drives_json_shows_each_discs_layout(vm: dict[str, Any]) -> None:
    for name, r in vm["r"].items():
        assert r["drives"]["rc"] == 0, said(r["drives"])
        doc = json.loads(r["drives"]["stdout"])
        (drive,) = doc["drives"]
        assert drive["path"] == "/dev/sr0" and drive["state"] == "disc_ok", name
        desc = Disc.load(vm["discs"][name]["json"])
        layout = drive["layout"]
        assert layout is not None, name
        got = [
            [(t["number"], t["start"], t["length"], t["kind"] == "audio") for t in s["tracks"]]
            for s in layout["sessions"]
        ]
        want = [
            [(t.number, t.start, t.length, not t.is_data) for t in s.tracks] for s in desc.sessions
        ]
        assert got == want, name
    summary = {
        n: json.loads(r["drives"]["stdout"])["drives"][0]["summary"] for n, r in vm["r"].items()
    }
    assert summary["multisession"] == "2 sessions, 2 tracks"
    assert summary["cdextra"] == "2 sessions, 3 tracks (2 audio)"
    assert summary["audio"] == "1 session, 1 track (1 audio)"
    protection = {
        n: json.loads(r["drives"]["stdout"])["drives"][0]["protection"] for n, r in vm["r"].items()
    }
    assert protection == {n: ("CSS" if n == "dvd" else None) for n in vm["r"]}


# ---- the kernel is the judge of the files -------------------------------------------------------
def listed(img: Path, *view: str) -> dict[str, Any]:
    """What ``inspect --json --files`` lists, and what ``extract`` writes, in the walk's form."""
    r = app("inspect", "--json", "--files", str(img), *view)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    files = {f["path"]: f for f in doc["files"]}
    dest = img.parent / ("x" + "".join(view).replace("-", "_").replace("=", "_"))
    shutil.rmtree(dest, ignore_errors=True)
    x = app("extract", str(img), "-o", str(dest), *view)
    assert x.returncode == 0, x.stderr
    out: dict[str, Any] = {}
    for path, f in files.items():
        if f["kind"] == "dir":
            out[path] = {"kind": "dir"}
        else:
            body = (dest / path.lstrip("/")).read_bytes()
            assert len(body) == f["size"], path  # the listing and the bytes agree
            out[path] = {
                "kind": f["kind"],
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
    return out


def kernel(vm: dict[str, Any], name: str, mount: str) -> dict[str, Any]:
    m = vm["r"][name]["mounts"][mount]
    assert "files" in m, f"{name}: the kernel could not mount ({m})"
    walk: dict[str, Any] = m["files"]
    assert walk and all(v["kind"] != "error" for v in walk.values()), walk
    return walk


@pytest.mark.parametrize("name", DATA_DISCS)
def test_the_inspector_shows_the_last_session_as_the_kernel_mounts_it(
    vm: dict[str, Any], name: str
) -> None:
    assert listed(image(vm, name)) == kernel(vm, name, "last")


def test_session_1_of_the_image_is_the_kernels_session_0(vm: dict[str, Any]) -> None:
    first = kernel(vm, "multisession", "session0")
    assert first != kernel(vm, "multisession", "last")  # the sessions differ: a real test
    assert listed(image(vm, "multisession"), "--session", "1") == first


def test_files_only_an_earlier_session_holds_are_named(vm: dict[str, Any]) -> None:
    r = app("inspect", "--json", str(image(vm, "multisession")))
    doc = json.loads(r.stdout)
    assert doc["session"] == 2 and [s["number"] for s in doc["sessions"]] == [1, 2]
    # keep.txt was replaced by session 2; session 1's bytes are still on the disc
    assert {e["path"] for e in doc.get("earlier_only", [])} >= {"/keep.txt"}


def test_the_mac_side_of_the_hybrid_is_what_the_kernels_hfs_shows(vm: dict[str, Any]) -> None:
    """Linux's hfs reads the image (through a loop device: 512-byte sectors). On /dev/sr0 it
    refuses this volume: its 512-byte allocation blocks do not fit the drive's 2048-byte
    sectors ("hfs: unable to set blocksize to 512"), as on a real drive."""
    insmod = json.loads((vm["out"] / "insmod.json").read_text())
    if len(insmod) < 2 or any(m["rc"] for m in insmod):
        pytest.skip(f"the guest kernel's loop/hfs modules did not load: {insmod}")
    mac = vm["r"]["hybrid"]["image_mounts"]["hfs"]
    assert "files" in mac, mac
    assert "/Read Me" in mac["files"]
    assert listed(image(vm, "hybrid"), "--filesystem", "hfs") == mac["files"]
    assert "error" in vm["r"]["hybrid"]["mounts"]["hfs"]  # the drive: see the docstring


# ---- verify and inspect in the guest ------------------------------------------------------------
@pytest.mark.parametrize("name", DATA_DISCS)
def test_verify_against_the_drive_says_good(vm: dict[str, Any], name: str) -> None:
    v = vm["r"][name]["verify"]
    assert v["rc"] == 0, said(v)
    assert json.loads(v["stdout"])["outcome"] == "good"


def read_extent(c: dict[str, Any]) -> tuple[int, int] | None:
    """(LBA, sectors) of a READ(10)/READ(12) the drive received, else None."""
    cdb = bytes.fromhex(c["cdb"])
    if c["name"] == "READ(10)":
        return int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[7:9], "big")
    if c["name"] == "READ(12)":
        return int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[6:10], "big")
    return None


def test_neither_rip_nor_verify_reads_the_cd_extras_audio_as_data(vm: dict[str, Any]) -> None:
    """Single-sector probes aside — the rip's resume identity reads LBA 0 and the UDF anchor at
    256 (they fail on audio and stay out of the hash), verify's cache flush before LBA 0 reads
    a sector 20 000 away or, on a smaller disc, LBA 0 — no audio sector is read."""
    audio_end = Disc.load(vm["discs"]["cdextra"]["json"]).tracks[1].end
    for step, probes in (("rip", {(0, 1), (256, 1)}), ("verify", {(0, 1)})):
        first, last = vm["r"]["cdextra"][step]["seq"]
        reads = [read_extent(c) for c in vm["g"].commands() if first < c["seq"] <= last]
        assert any(r is not None and r[0] >= audio_end for r in reads), step
        audio = {r for r in reads if r is not None and r[0] < audio_end}
        assert audio <= probes, (step, sorted(audio)[:5])


@pytest.mark.parametrize("name", DATA_DISCS)
def test_inspect_in_the_guest_sees_the_image_whole(vm: dict[str, Any], name: str) -> None:
    i = vm["r"][name]["inspect"]
    assert i["rc"] == 0, said(i)
    doc = json.loads(i["stdout"])
    assert doc["whole"], doc
    sessions = 2 if name in ("multisession", "cdextra") else 1
    assert doc["session"] == sessions and len(doc["sessions"]) == (
        2 if name == "multisession" else 1
    )


def test_inspect_pointed_at_the_drive_answers_in_one_line_or_lists_it(vm: dict[str, Any]) -> None:
    """A user may point ``inspect`` at /dev/sr0: never a traceback."""
    for name, r in vm["r"].items():
        step = r["inspect_drive"]
        assert "Traceback" not in step["stderr"], f"{name}: {said(step)}"
        if step["rc"]:
            lines = step["stderr"].strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("discvault: "), f"{name}: {said(step)}"


def test_inspect_pointed_at_the_drive_shows_the_last_session_as_mount_does(
    vm: dict[str, Any],
) -> None:
    doc = json.loads(vm["r"]["multisession"]["inspect_drive"]["stdout"])
    assert doc["session"] == 2


# ---- the discs that give no image ----------------------------------------------------------------
def test_a_css_dvd_stops_with_one_clear_line_and_no_damage(vm: dict[str, Any]) -> None:
    rip = vm["r"]["dvd"]["rip"]
    text = rip["stdout"] + rip["stderr"]
    assert rip["rc"] == 4, said(rip)
    assert "Traceback" not in text
    protection = [
        ln for ln in text.splitlines() if "copy protection" in ln or "copy-protected" in ln
    ]
    assert protection, said(rip)
    assert "CSS" in text and "does not circumvent" in text
    doc = report(vm, "dvd")
    assert doc["outcome"] == "protected"
    assert doc["unreadable_sectors"] == 0 and doc["bad_ranges"] == [], doc["disc"]
    assert re.search(r"\b[1-9]\d* damaged", text) is None, said(rip)
    assert re.search(r", \d+ sectors not read \(copy protection\), 0 damaged", rip["stdout"])
    # what was read before the refusal is kept, byte for byte, and the mapfile says so
    want, _ = readable_sectors(vm["discs"]["dvd"]["json"])
    img = image(vm, "dvd").read_bytes()
    finished = finished_runs(Path(f"{image(vm, 'dvd')}.map"))
    assert finished and finished[0][0] == 0 and finished[0][1] > 16  # the volume descriptors
    for a, b in finished:
        assert b <= vm["discs"]["dvd"]["scrambled"] or a >= vm["discs"]["dvd"]["scrambled"] + 64
        assert img[a * SECTOR : b * SECTOR] == want[a * SECTOR : b * SECTOR], (a, b)
    # not a retry loop: the rip asked for a scrambled sector once
    assert len(refused_reads(vm, "rip")) == 1


def refused_reads(vm: dict[str, Any], step: str) -> list[dict[str, Any]]:
    """The reads the drive refused for copy protection while ``step`` ran on the DVD."""
    first, last = vm["r"]["dvd"][step]["seq"]
    return [
        c
        for c in vm["g"].commands()
        if first < c["seq"] <= last and c["name"].startswith("READ(") and c["sense"] == "05/6F/03"
    ]


def test_verify_of_a_css_dvds_image_is_no_retry_loop_and_no_damage(vm: dict[str, Any]) -> None:
    v = vm["r"]["dvd"]["verify"]
    doc = json.loads(v["stdout"])
    assert "resume the backup" not in json.dumps(doc["checks"])
    assert "unreadable" not in next(c for c in doc["checks"] if c["name"] == "mapfile")["detail"]
    assert len(refused_reads(vm, "verify")) <= 2


def test_an_audio_cd_is_explained_and_nothing_is_written(vm: dict[str, Any]) -> None:
    rip = vm["r"]["audio"]["rip"]
    assert rip["rc"] == 4, said(rip)
    lines = rip["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("discvault: ") and "audio" in lines[0], said(rip)
    assert vm["r"]["audio"]["files_after_rip"] == []
