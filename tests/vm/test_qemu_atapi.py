"""The raw path on a second, independent drive implementation: QEMU's ATAPI CD-ROM
(``-device ide-cd``, through the guest kernel's libata and sr). One boot.

QEMU answers READ CD with whole 2352-byte sectors for a data image, but fills them in itself:
sync, the header with the sector's address and mode 1, the user data, and then zeros where the
EDC and ECC belong (its cd_data_to_raw: "ECC not computed"). Those are not corrupt sectors and
not proven ones either: DiscVault keeps them, counts them as "not EDC-checked" (zero codes), and
says so in the report and in verify. A read error QEMU reports (blkdebug) stays a read error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core.disc import cdsector
from tests.conftest import random_bytes
from tests.vm.testvm import Guest, unavailable_reason

pytestmark = pytest.mark.timeout(900)
ROOT = Path(__file__).resolve().parents[2]
RAW = 2352
BAD = 120

GUEST = """\
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONDONTWRITEBYTECODE=1 PYTHONPATH={root}
cd {root}
mkdir -p /mnt/q /mnt/results
for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /dev/sr0 ] && break; sleep 1; done
{py} -m tests.vm.usbdrive.sgprobe /dev/sr0 {probes} /mnt/results/probes.json
{py} -m app rip /dev/sr0 /mnt/q/Disc.cue --format bincue --retries 1 \\
  > /mnt/results/rip.out 2> /mnt/results/rip.err; echo $? > /mnt/results/rip.rc
{py} -m app verify /mnt/q/Disc.cue --json > /mnt/results/verify.json 2> /mnt/results/verify.err
echo $? > /mnt/results/verify.rc
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the emulated drive is required in CI: {reason}")
        pytest.skip(reason)
    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is missing (apt install genisoimage)")
    work = tmp_path_factory.mktemp("atapi")
    tree = work / "t"
    tree.mkdir()
    (tree / "a.bin").write_bytes(random_bytes(700_000, seed=16))
    iso = work / "disc.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "ATAPI", "-o", str(iso), str(tree)], check=True
    )
    probes = work / "probes.json"
    read_cd = bytes([0xBE, 0x08, 0, 0, 0, 16, 0, 0, 1, 0xF8, 0, 0])  # LBA 16, Mode 1, all
    probes.write_text(
        json.dumps([{"name": "read cd 16", "cdb": read_cd.hex(), "alloc": RAW, "out": ""}])
    )
    script = work / "guest.sh"
    script.write_text(GUEST.format(root=ROOT, py=sys.executable, probes=probes))
    guest = Guest(script, iso, work, [BAD], [], timeout=800, ide=True).start()
    rc = guest.wait()
    out = guest.out
    if rc != 0:
        raise RuntimeError((out / "guest.log").read_text(errors="replace")[-3000:])
    res = out / "results"
    return {
        "iso": iso.read_bytes(),
        "out": out,
        "probe": json.loads((res / "probes.json").read_text())[0],
        "rip": (
            (res / "rip.out").read_text(),
            (res / "rip.err").read_text(),
            int((res / "rip.rc").read_text()),
        ),
        "verify": json.loads((res / "verify.json").read_text() or "{}"),
        "verify_rc": int((res / "verify.rc").read_text()),
    }


def test_qemu_fills_zeros_where_edc_and_ecc_belong(run: dict[str, Any]) -> None:
    sector = bytes.fromhex(run["probe"]["data"])
    assert len(sector) == RAW
    assert sector[:12] == cdsector.SYNC and sector[12:16] == cdsector.header(16, 1)
    assert sector[16:2064] == run["iso"][16 * 2048 : 17 * 2048]
    assert not any(sector[2064:]), "QEMU started computing EDC/ECC: update this note"
    assert cdsector.check_sector(sector, 16) is cdsector.Verdict.BAD_EDC  # what a check says


def test_a_raw_rip_keeps_qemus_sectors_as_not_edc_checked(run: dict[str, Any]) -> None:
    stdout, stderr, rc = run["rip"]
    assert rc == 1, (stdout, stderr)  # the blkdebug sector stays unreadable
    report = json.loads((run["out"] / "q" / "Disc.cue.report.json").read_text())
    proof = report["proof"]
    assert proof["edc_failures"] == 0 and proof["verified"] == 0
    assert proof["not_verified"] == proof["data_sectors"] == proof["zero_codes"] > 0
    assert "carried none to check" in stdout
    assert [(r["lba"], r["count"]) for r in report["bad_ranges"]] == [(BAD, 1)]
    (binfile,) = (run["out"] / "q").glob("*.bin")
    raw = binfile.read_bytes()
    iso = run["iso"]
    n = len(iso) // 2048
    for lba in range(n):
        s = raw[lba * RAW : (lba + 1) * RAW]
        if lba == BAD:
            assert not any(s)  # never read: zero, and unreadable in the mapfile
        else:
            assert s[16:2064] == iso[lba * 2048 : (lba + 1) * 2048], lba


def test_verify_says_the_sectors_carry_no_codes_not_that_they_are_corrupt(
    run: dict[str, Any],
) -> None:
    v = run["verify"]
    checks = {c["name"]: c for c in v["checks"]}
    assert checks["edc"]["status"] == "info" and "carry none to check" in checks["edc"]["detail"]
    assert checks["mapfile"]["status"] == "incomplete"
    assert run["verify_rc"] == 1 and v["outcome"] == "incomplete"
