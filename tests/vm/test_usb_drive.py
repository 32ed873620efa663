"""The emulated USB optical drive, judged by the guest kernel: one QEMU boot for the module.

Discs are made by tools we did not write (xorriso); the drive serves them at the LBAs a real
CD-R has (session 2 after a lead-out + lead-in + pregap gap, TAO run-out), and the guest's
usb-storage, sr, cdrom and isofs read them. What the kernel reports must be what the disc
description says.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.vm.usb_guest_session import toc_probes
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.host import run_usb_drive_guest, unavailable_reason
from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import msf
from tests.vm.usbdrive.sgprobe import model_run

pytestmark = pytest.mark.timeout(900)  # one boot (~40 s under TCG) plus every step
GAP = 6750 + 4500 + 150
ROOT = Path(__file__).resolve().parents[2]


def rnd(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def xorriso(*args: str) -> None:
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", *args], check=True, capture_output=True)


def sectors(p: Path) -> int:
    return p.stat().st_size // 2048


def walk_of(files: dict[str, bytes]) -> dict[str, list[str]]:
    out = {f"/{n}": ["file", hashlib.sha256(d).hexdigest()] for n, d in files.items()}
    for n in files:
        parts = n.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            out["/" + "/".join(parts[:i])] = ["dir"]
    return out


FIRST = {
    "photos/a.jpg": rnd(400_000, 1),
    "photos/b.jpg": rnd(200_000, 2),
    "notes.txt": b"first batch\n",
    "replace.txt": b"old\n",
}
SECOND = {
    "replace.txt": b"new contents\n",
    "photos/c.jpg": rnd(150_000, 3),
    "batch2/readme.txt": b"second batch\n",
}
EXTRA_DATA = {"cdplus/info.txt": b"enhanced cd\n", "cdplus/cover.jpg": rnd(60_000, 4)}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    if not shutil.which("xorriso"):
        pytest.skip("xorriso is missing (apt install xorriso)")
    w = tmp_path_factory.mktemp("usbdrive")
    # A two-session CD-R: session 2 replaces one file and adds others (xorriso -C/-M).
    s1, s2 = w / "s1.iso", w / "s2.iso"
    xorriso("-R", "-J", "-V", "MULTI", "-o", str(s1), str(tree(w / "t1", FIRST)))
    n1 = sectors(s1)
    start2 = n1 + 2 + GAP  # after track 1's two TAO run-out blocks and the session gap
    xorriso(
        "-R",
        "-J",
        "-V",
        "MULTI",
        "-C",
        f"0,{start2}",
        "-M",
        str(s1),
        "-o",
        str(s2),
        str(tree(w / "t2", SECOND)),
    )
    n2 = sectors(s2)
    bad, flaky = n1 - 30, n1 - 20  # inside xorriso's trailing padding: no file is there
    data1 = s1.read_bytes()
    assert data1[bad * 2048 : (flaky + 1) * 2048] == bytes((flaky + 1 - bad) * 2048)
    ms = {
        "profile": "CD-R",
        "sessions": [
            {
                "tracks": [
                    {"kind": "mode1", "start": 0, "length": n1 + 2, "file": "s1.iso", "runout": 2}
                ]
            },
            {
                "tracks": [
                    {
                        "kind": "mode1",
                        "start": start2,
                        "length": n2 + 2,
                        "file": "s2.iso",
                        "runout": 2,
                    }
                ]
            },
        ],
        "defects": [
            {"lba": bad, "sense": "03/11/00"},
            {"lba": flaky, "sense": "03/11/00", "fails": 2},
        ],
    }
    (w / "ms.json").write_text(json.dumps(ms))
    # CD-Extra: two audio tracks in session 1, the data (CD-ROM XA) in session 2.
    a1, a2 = rnd(300 * 2352, 5), rnd(200 * 2352, 6)
    (w / "a1.raw").write_bytes(a1)
    (w / "a2.raw").write_bytes(a2)
    extra_start = 500 + GAP
    xorriso(
        "-R",
        "-J",
        "-V",
        "EXTRA",
        "-C",
        f"0,{extra_start}",
        "-o",
        str(w / "extra.iso"),
        str(tree(w / "tx", EXTRA_DATA)),
    )
    audio_tracks = [
        {"kind": "audio", "start": 0, "length": 300, "file": "a1.raw"},
        {"kind": "audio", "start": 300, "length": 200, "file": "a2.raw"},
    ]
    extra = {
        "profile": "CD-ROM",
        "sessions": [
            {"tracks": audio_tracks},
            {
                "tracks": [
                    {
                        "kind": "mode2",
                        "start": extra_start,
                        "length": sectors(w / "extra.iso"),
                        "file": "extra.iso",
                    }
                ]
            },
        ],
    }
    (w / "extra.json").write_text(json.dumps(extra))
    (w / "audio.json").write_text(
        json.dumps({"profile": "CD-ROM", "sessions": [{"tracks": audio_tracks}]})
    )
    # A CSS DVD-Video: some sectors scrambled.
    xorriso(
        "-V",
        "DVD",
        "-o",
        str(w / "dvd.iso"),
        str(tree(w / "td", {"VIDEO_TS/VTS_01_1.VOB": rnd(600_000, 7)})),
    )
    dvd = {
        "profile": "DVD-ROM",
        "sessions": [
            {"tracks": [{"start": 0, "length": sectors(w / "dvd.iso"), "file": "dvd.iso"}]}
        ],
        "css": {"region_mask": 0, "scrambled": [[100, 16]]},
    }
    (w / "dvd.json").write_text(json.dumps(dvd))
    config = {
        "multisession": {"bad": bad, "flaky": flaky, "runout": n1, "gap": n1 + 2 + 100},
        "extra": {"json": str(w / "extra.json"), "audio_lba": 10},
        "audio": {"json": str(w / "audio.json")},
        "dvd": {"json": str(w / "dvd.json"), "scrambled": 104, "clear": 40},
    }
    (w / "config.json").write_text(json.dumps(config))
    script = w / "guest.sh"
    script.write_text(f"exec {sys.executable} -m tests.vm.usb_guest_session {w}/config.json\n")
    g = run_usb_drive_guest(w / "ms.json", script, w / "vm", timeout=800)
    results = {p.stem: json.loads(p.read_text()) for p in (g.out / "results").glob("*.json")}
    return {
        "r": results, "g": g, "w": w, "n1": n1, "n2": n2, "start2": start2, "bad": bad,
        "flaky": flaky, "a1": a1, "extra_start": extra_start, "s1": data1,
    }  # fmt: skip


def answers(run: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in run["r"][name]}


def test_the_kernel_sees_a_usb_cd_drive_with_our_firmware(run: dict[str, Any]) -> None:
    sysfs = run["r"]["sysfs"]
    assert (sysfs["vendor"], sysfs["model"]) == ("DISCVLT", "MMC MODEL USB")
    assert "sr0" in sysfs["cdrom_info"]
    names = [c["name"] for c in run["g"].commands()]
    assert names[0] == "INQUIRY" and "MODE SENSE(10)" in names and "READ CAPACITY" in names


def test_mount_shows_the_last_session_and_session_0_the_first(run: dict[str, Any]) -> None:
    assert run["r"]["ms_last"] == walk_of({**FIRST, **SECOND})
    assert run["r"]["ms_session0"] == walk_of(FIRST)
    # the kernel found session 2 through READ TOC session info, asked the old SFF-8020 way
    old_style = [
        c
        for c in run["g"].commands()
        if c["name"] == "READ TOC/PMA/ATIP" and c["cdb"][18:20] == "40"
    ]
    assert old_style and all(c["status"] == 0 for c in old_style)


def test_cdrommultisession_and_the_kernels_toc_are_the_descriptions(run: dict[str, Any]) -> None:
    k = run["r"]["ms_kernel"]
    assert k["multisession_lba"] == run["start2"]
    assert k["disc_status"] == 101  # CDS_DATA_1
    assert k["first_last"] == [1, 2]
    assert [(e["track"], e["ctrl"] & 4, e["lba"]) for e in k["entries"]] == [
        (1, 4, 0),
        (2, 4, run["start2"]),
    ]
    assert k["size"] == (run["start2"] + run["n2"] + 2) * 2048  # READ CAPACITY: the whole disc


def test_read_toc_through_sg_io_is_what_the_description_says(run: dict[str, Any]) -> None:
    got = answers(run, "ms_toc")
    model = Drive(Disc.load(run["w"] / "ms.json"))
    for p in toc_probes():
        want = model_run(model, p)
        assert (got[p.name]["status"], got[p.name]["data"]) == (want.status, want.data), p.name
    start2, end = run["start2"], run["start2"] + run["n2"] + 2
    toc0 = bytes.fromhex(got["toc0"]["data"])
    entries = [(toc0[i + 2], int.from_bytes(toc0[i + 4 : i + 8], "big")) for i in range(4, 28, 8)]
    assert entries == [(1, 0), (2, start2), (0xAA, end)]
    toc1 = bytes.fromhex(got["toc1"]["data"])
    assert (toc1[3], toc1[6], int.from_bytes(toc1[8:12], "big")) == (2, 2, start2)
    assert got["toc1 old-style"]["data"] == got["toc1"]["data"]
    toc2 = bytes.fromhex(got["toc2"]["data"])
    points = {(toc2[i], toc2[i + 3]): toc2[i : i + 11] for i in range(4, len(toc2), 11)}
    assert tuple(points[1, 0xA2][8:11]) == msf(run["n1"] + 2)  # session 1 lead-out
    assert tuple(points[2, 0xA2][8:11]) == msf(end)
    assert tuple(points[1, 0xB0][4:7]) == msf(start2 - 150)  # next program area
    assert (2, 0xB0) not in points  # a closed disc


def test_medium_errors_flaky_sectors_run_out_and_gaps(run: dict[str, Any]) -> None:
    bad, flaky = run["bad"], run["flaky"]
    got = [(a["status"], a["sense"], a["info"]) for a in run["r"]["ms_defects"]]
    assert got == [
        (2, "03/11/00", bad), (2, "03/11/00", bad),
        (2, "03/11/00", flaky), (2, "03/11/00", flaky), (0, None, None),
        (2, "05/64/00", run["n1"]),  # TAO run-out
        (2, "05/21/00", run["n1"] + 2 + 100),  # the gap between sessions
    ]  # fmt: skip
    assert (
        bytes.fromhex(run["r"]["ms_defects"][4]["data"])
        == run["s1"][flaky * 2048 : (flaky + 1) * 2048]
    )
    assert run["r"]["ms_direct_bad"] == {"errno": errno.ENODATA}  # the block layer's medium error
    assert "Unrecovered read error" in run["g"].text("dmesg.txt")
    assert run["r"]["ms_status"]["failures"] == {str(flaky): 2}


def test_mode_select_speed_and_the_tray_lock_are_remembered(run: dict[str, Any]) -> None:
    s = answers(run, "ms_settings")
    assert s["mode select"]["status"] == 0
    assert bytes.fromhex(s["mode sense 01"]["data"])[11] == 5
    assert s["set speed"]["status"] == 0
    assert int.from_bytes(bytes.fromhex(s["mode sense 2a"]["data"])[22:24], "big") == 4 * 176
    assert s["eject while locked"]["sense"] == "05/53/02"
    assert s["allow"]["status"] == 0
    assert (
        run["r"]["ms_status"]["read_retry_count"],
        run["r"]["ms_status"]["requested_speed"],
    ) == (5, 1000)
    selects = [c for c in run["g"].commands() if c["name"] == "MODE SELECT(10)"]
    assert selects and bytes.fromhex(selects[-1]["data_out"])[11] == 5


def test_cd_extra_is_mixed_audio_and_data_to_the_kernel(run: dict[str, Any]) -> None:
    assert run["r"]["extra_load"] == {"ok": True}
    k = run["r"]["extra_kernel"]
    assert k["disc_status"] == 105  # CDS_MIXED: audio tracks and a data track
    assert [(e["track"], e["ctrl"] & 4) for e in k["entries"]] == [(1, 0), (2, 0), (3, 4)]
    assert k["multisession_lba"] == run["extra_start"]
    assert run["r"]["extra_last"] == walk_of(EXTRA_DATA)
    r10, rcd = run["r"]["extra_reads"]
    assert (r10["status"], r10["sense"]) == (2, "05/64/00")  # READ(10) of CD-DA
    assert bytes.fromhex(rcd["data"]) == run["a1"][10 * 2352 : 11 * 2352]
    assert run["r"]["audio_kernel"]["disc_status"] == 100  # CDS_AUDIO


def test_a_css_dvd_reports_copyright_and_refuses_scrambled_sectors(run: dict[str, Any]) -> None:
    d = answers(run, "dvd")
    assert bytes.fromhex(d["profile"]["data"])[6:8] == b"\x00\x10"
    assert bytes.fromhex(d["copyright"]["data"]) == bytes([0, 6, 0, 0, 1, 0, 0, 0])
    assert (d["read10 104+1"]["status"], d["read10 104+1"]["sense"]) == (2, "05/6F/03")
    assert d["read10 40+1"]["status"] == 0
    assert "errno" in run["r"]["dvd_direct_scrambled"]


def test_the_tray_opens_and_closes_through_the_kernel(run: dict[str, Any]) -> None:
    tray = run["r"]["tray"]
    assert tray["after_eject"] == 2 and tray["drive"]["tray_open"]  # CDS_TRAY_OPEN
    assert tray["after_close"] == 4  # CDS_DISC_OK


def test_one_usb_command_carries_at_most_120_kib(run: dict[str, Any]) -> None:
    """usb-storage gives a high-speed device 240 512-byte sectors per command: an SG_IO read of
    64 CD sectors (128 KiB) fails with EIO before the drive sees it, 60 sectors pass. A real USB
    drive behaves the same, so SG_IO readers must keep their chunks at or under 120 KiB."""
    assert run["r"]["sysfs"]["max_hw_sectors_kb"] == 120
    ok, big = run["r"]["ms_big_reads"]
    assert ok["status"] == 0 and bytes.fromhex(ok["data"]) == run["s1"][: 60 * 2048]
    assert big["errno"] == errno.EIO
    assert not [c for c in run["g"].commands() if c["cdb"].startswith("a800000000000000000040")]


def test_a_scsi_reset_is_a_bulk_only_reset_and_reads_go_on(run: dict[str, Any]) -> None:
    assert "bulk-only reset" in run["g"].text("usbdrive/commands.stderr")
    (after,) = run["r"]["ms_after_reset"]
    assert after["status"] == 0 and bytes.fromhex(after["data"]) == run["s1"][: 4 * 2048]
