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

from tests.conftest import random_bytes
from tests.discfixtures import audio_only, cd_extra, hfs_hybrid_past_iso, multisession
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.host import run_usb_drive_guest, unavailable_reason

pytestmark = pytest.mark.timeout(1800)  # one boot (~40 s) plus six rips under TCG
SECTOR = 2048
ROOT = Path(__file__).resolve().parents[2]
DATA_DISCS = ("multisession", "cdextra", "hybrid", "tao")


# ---- the discs ----------------------------------------------------------------------------------
def describe(
    w: Path, name: str, profile: str, sessions: list[list[dict[str, Any]]], blob: bytes, **more: Any
) -> Path:
    """A disc description whose data tracks read from one file holding every sector at its
    LBA (``blob``); audio tracks have no file (silence)."""
    (w / f"{name}.bin").write_bytes(blob)
    doc: dict[str, Any] = {"profile": profile, "sessions": [], **more}
    for tracks in sessions:
        out = []
        for t in tracks:
            t = dict(t)
            if t["kind"] != "audio":
                t.update(file=f"{name}.bin", offset=t["start"] * SECTOR)
            out.append(t)
        doc["sessions"].append({"tracks": out})
    path = w / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1))
    return path


def from_layout(layout: Any) -> list[list[dict[str, Any]]]:
    return [
        [
            {"kind": str(t.kind), "start": t.start, "length": t.length, "runout": t.runout}
            for t in s.tracks
        ]
        for s in layout.sessions
    ]


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    return root


def make_discs(w: Path) -> dict[str, dict[str, Any]]:
    discs: dict[str, dict[str, Any]] = {}
    ms = multisession(_dir(w / "ms"))
    discs["multisession"] = {
        "json": describe(w, "multisession", "CD-R", from_layout(ms.layout), ms.data),
        "mounts": [["last", "iso9660"], ["session0", "iso9660", "session=0"]],
    }
    ex = cd_extra(_dir(w / "ex"))
    discs["cdextra"] = {
        "json": describe(w, "cdextra", "CD-ROM", from_layout(ex.layout), ex.data),
        "mounts": [["last", "iso9660"]],
    }
    hybrid, iso_end, hfs_end = hfs_hybrid_past_iso(_dir(w / "hy"))
    assert iso_end < hfs_end == len(hybrid) // SECTOR
    discs["hybrid"] = {
        "json": describe(
            w, "hybrid", "CD-ROM", [[{"kind": "mode1", "start": 0, "length": hfs_end}]], hybrid
        ),
        "mounts": [["last", "iso9660"], ["hfs", "hfs"]],
        "image_mounts": [["hfs", "hfs"]],
        "iso_end": iso_end,
    }
    t = tree(
        w / "tao",
        {
            "DCIM/IMG_0001.JPG": random_bytes(250_000, 21),
            "DCIM/IMG_0002.JPG": random_bytes(180_000, 22),
            "index.html": b"<p>holiday</p>\n",
        },
    )
    iso = w / "tao.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", "HOLIDAY", "-o", str(iso), str(t)],
        check=True,
        capture_output=True,
    )
    n = iso.stat().st_size // SECTOR
    discs["tao"] = {
        "json": describe(
            w,
            "tao",
            "CD-R",
            [[{"kind": "mode1", "start": 0, "length": n + 2, "runout": 2}]],
            iso.read_bytes(),
        ),
        "mounts": [["last", "iso9660"]],
    }
    # A DVD-Video: its VOB scrambled, the IFOs in the clear (as CSS discs are).
    vt = tree(
        w / "dvd",
        {
            "VIDEO_TS/VIDEO_TS.IFO": random_bytes(12_288, 31),
            "VIDEO_TS/VTS_01_0.IFO": random_bytes(20_480, 32),
            "VIDEO_TS/VTS_01_1.VOB": random_bytes(900_000, 33),
        },
    )
    dvd = w / "dvd.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-udf", "-V", "MOVIE", "-o", str(dvd), str(vt)],
        check=True,
        capture_output=True,
    )
    vob = extent_of(dvd, "VTS_01_1.VOB")
    discs["dvd"] = {
        "json": describe(
            w,
            "dvd",
            "DVD-ROM",
            [[{"kind": "mode1", "start": 0, "length": dvd.stat().st_size // SECTOR}]],
            dvd.read_bytes(),
            css={"region_mask": 0, "scrambled": [[vob + 8, 64]]},
        ),
        "scrambled": vob + 8,
    }
    au = audio_only()
    discs["audio"] = {"json": describe(w, "audio", "CD-ROM", from_layout(au.layout), b"")}
    return discs


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def extent_of(iso: Path, name: str) -> int:
    """A file's first LBA as isoinfo (cdrtools/genisoimage, not ours) lists it."""
    listing = subprocess.run(
        ["isoinfo", "-R", "-l", "-i", str(iso)], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"\[\s*(\d+)\s+\d+\]\s+" + re.escape(name) + r"(;1)?\s*$", listing, re.M)
    assert m, listing
    return int(m.group(1))


def kernel_modules(w: Path) -> list[str]:
    """The guest kernel's loop.ko and hfs.ko, from the kernel package the test VM was built
    from (the guest sees the host's files): its own HFS driver judges the hybrid's Mac side."""
    from tests.vm.testvm import build

    kernel, _ = build()
    debs = list((kernel.parent / "deb").glob("*.deb"))
    if not debs:
        return []
    dest = _dir(w / "kmod")
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], capture_output=True)
    wanted = ["*/drivers/block/loop.ko", "*/fs/hfs/hfs.ko"]
    subprocess.run(
        ["tar", "-x", "-C", str(dest), "--wildcards", *wanted],
        input=tar.stdout,
        capture_output=True,
    )
    found = [next(dest.rglob(name), None) for name in ("loop.ko", "hfs.ko")]
    return [str(f) for f in found if f is not None]


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
def readable_sectors(desc: Path) -> tuple[bytearray, set[int]]:
    """Every sector the drive reads as data, at its LBA (the rest zero), and their LBAs."""
    disc = Disc.load(desc)
    data = bytearray(disc.capacity * SECTOR)
    good = set()
    for t in disc.tracks:
        if not t.is_data:
            continue
        for lba in range(t.start, t.end - t.runout):
            if any(d.covers(lba) for d in disc.defects):
                continue
            if disc.css is not None and disc.css.is_scrambled(lba):
                continue
            data[lba * SECTOR : (lba + 1) * SECTOR] = disc.sector(t, lba)
            good.add(lba)
    disc.close()
    return data, good


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


def finished_runs(mapfile: Path) -> list[tuple[int, int]]:
    """The finished ('+') runs of a GNU ddrescue mapfile, in sectors (read as ddrescue's
    format says: comment lines, the current-position line, then pos/size/status lines)."""
    rows = [ln.split() for ln in mapfile.read_text().splitlines() if ln and ln[0] != "#"]
    return [
        (int(pos, 0) // SECTOR, (int(pos, 0) + int(size, 0)) // SECTOR)
        for pos, size, status, *_ in rows[1:]
        if status == "+"
    ]


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


@pytest.mark.xfail(
    strict=True,
    reason="verify does not know the backup stopped for copy protection: it re-reads every "
    "refused sector alone, calls the sectors never read 'unreadable' and advises a resume",
)
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


# ---- the same refusal without the VM -------------------------------------------------------------
def test_a_protected_stop_names_the_unread_sectors_and_no_damage(tmp_path: Path) -> None:
    """On the host, the drive's CSS refusal injected at the source boundary (what SgDriveSource
    raises for 05/6F): the sectors after it were never asked for, so they are not damage."""
    from app.core.base.outcome import Outcome
    from app.core.disc.sources import ImageSource, ReadError
    from app.core.rescue import report as rip_report
    from app.core.rescue.backup import BackupOptions, run_backup

    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is missing")
    vt = tree(tmp_path / "dvd", {"VIDEO_TS/VTS_01_1.VOB": random_bytes(900_000, 33)})
    iso = tmp_path / "dvd.bin"
    subprocess.run(
        ["genisoimage", "-quiet", "-udf", "-V", "MOVIE", "-o", str(iso), str(vt)],
        check=True,
        capture_output=True,
    )
    vob = extent_of(iso, "VTS_01_1.VOB")
    total = iso.stat().st_size // SECTOR

    class CssDrive(ImageSource):
        protection = "CSS"

        def read(self, lba: int, count: int) -> bytes:
            if lba + count > vob and lba < vob + 64:
                good = super().read(lba, vob - lba) if lba < vob else b""
                raise ReadError(lba, count, 5, good, kind="protected")
            return super().read(lba, count)

    out = tmp_path / "dvd.iso"
    done = run_backup(lambda: CssDrive(str(iso)), BackupOptions(str(iso), str(out)))
    r = done.result
    assert r.outcome is Outcome.PROTECTED
    assert r.damaged_sectors == 0 and r.damaged_ranges == []
    unread = total - r.rescued_sectors
    assert (
        r.describe()
        == f"1 session, 1 track, {unread} sectors not read (copy protection), 0 damaged"
    )
    assert done.report["unreadable_sectors"] == 0 and done.report["bad_ranges"] == []
    assert done.report["disc"]["summary"] == r.describe()  # type: ignore[index]
    assert r.describe() in rip_report.summary(r, str(out))
    assert out.read_bytes()[: vob * SECTOR] == iso.read_bytes()[: vob * SECTOR]


# ---- inspect pointed at a device with unreadable sectors, without the VM -------------------------
def test_inspecting_a_device_with_unreadable_sectors_never_tracebacks(
    make_device: Any, tmp_path: Path
) -> None:
    """What the guest showed for ``inspect /dev/sr0`` on an audio CD (LBA 16 unreadable), on a
    faultfs block device: one line and exit 4; a damaged folder is reported while the rest is
    listed; a damaged file is listed, and extract refuses it and writes the rest."""
    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is missing")
    t = tree(tmp_path / "t", {"a/one.bin": random_bytes(50_000, 41), "b/two.bin": b"two\n"})
    iso = tmp_path / "fs.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(iso), str(t)], check=True)
    data = iso.read_bytes()
    one = extent_of(iso, "one.bin")
    no_vd = make_device(data, [{"lba": 16, "count": 1, "kind": "bad"}])
    r = app("inspect", no_vd.path)
    assert r.returncode == 4 and "Traceback" not in r.stderr, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(f"discvault: {no_vd.path}: sector 16 cannot be read"), line
    bad_dir = make_device(data, [{"lba": extent_of(iso, "a"), "count": 1, "kind": "bad"}])
    r = app("inspect", "--files", bad_dir.path)
    assert r.returncode == 4 and "Traceback" not in r.stderr, r.stderr
    # (buffered reads of a block device come in 4 KiB pages: /b's sector, the bad one's page
    # mate, fails with it)
    assert "/a\n" in r.stdout and "/b\n" in r.stdout and "/a/one.bin" not in r.stdout
    assert "cannot be read (Input/output error)" in r.stderr
    bad_file = make_device(data, [{"lba": one, "count": 1, "kind": "bad"}])
    r = app("inspect", "--files", bad_file.path)
    assert r.returncode == 0 and "/a/one.bin" in r.stdout and "/b/two.bin" in r.stdout, r.stderr
    x = app("extract", bad_file.path, "-o", str(tmp_path / "x"))
    assert x.returncode == 4 and "Traceback" not in x.stderr, x.stderr
    assert f"sector {one} cannot be read" in x.stderr
    assert (tmp_path / "x" / "b" / "two.bin").read_bytes() == b"two\n"
    assert not (tmp_path / "x" / "a" / "one.bin").exists()


# ---- verify never reads a CD-Extra's audio as data, without the VM -------------------------------
def test_verify_against_a_cd_extra_never_reads_its_audio(make_device: Any, tmp_path: Path) -> None:
    """The rip never reads audio sectors as 2048-byte data (they are not part of an .iso); nor
    may verify: it read all 3000 in the guest, then 544 of them one by one (33 s of its 45),
    and said they were 'unreadable on the source now'."""
    from app.core.rescue.backup import BackupOptions, run_backup
    from app.core.verify import verifier
    from tests.discfixtures import TocDriveSource

    if not shutil.which("xorriso"):
        pytest.skip("xorriso is missing")
    disc = cd_extra(_dir(tmp_path / "fx"))
    dev = make_device(disc.data, disc.faults())
    out = tmp_path / "extra.iso"
    done = run_backup(
        lambda: TocDriveSource(dev.path, disc.layout), BackupOptions(dev.path, str(out))
    )
    assert done.result.damaged_sectors == 0
    audio = [lba for t in disc.layout.audio_tracks for lba in range(t.start, t.end)]
    before = dev.stats()["sector_reads"]
    src = TocDriveSource(dev.path, disc.layout)
    try:
        v = verifier.verify(str(out), source=src)
    finally:
        src.close()
    after = dev.stats()["sector_reads"]
    assert v.outcome == "good", v.checks
    read_now = [lba for lba in audio if after.get(str(lba), 0) != before.get(str(lba), 0)]
    assert read_now == []
    source = next(c for c in v.checks if c.name == "source")
    assert "unreadable on the source now" not in source.detail, source.detail
