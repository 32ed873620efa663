"""Raw reads from a drive that builds its sectors the way QEMU's ATAPI CD-ROM does
(``-device ide-cd``, hw/ide/atapi.c ``cd_data_to_raw``): the sector's address in the header in
**binary** (``lba_to_msf``), not BCD as ECMA-130 records it, and zeros where the EDC and ECC
belong. The emulated drive's firmware (tests/modeldrive.py) does both with ``"msf": "binary"``
and ``"zero_codes": true``; tests/vm/test_qemu_atapi.py runs the same rip on QEMU itself.

Such sectors are neither corrupt nor proven: they are kept (headers in BCD), counted as not
EDC-checked, and a sector that really is somewhere else still fails.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.core.base.outcome import Outcome
from app.core.disc import cdsector
from app.core.disc.rawsource import BINARY_NOTE
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.core.verify import verifier
from tests.modeldrive import ModelDriveSource
from tests.rawfixtures import RAW, genisoimage, mixed_mode

BAD = 120
ONE_RETRY = RescueSettings(save_interval=0.2, retries=1)


def rip(source: ModelDriveSource, out: Path) -> BackupOutcome:
    out.parent.mkdir(parents=True, exist_ok=True)
    return run_backup(
        lambda: source, BackupOptions("model drive", str(out), settings=ONE_RETRY, format="bincue")
    )


@pytest.fixture
def iso(tmp_path: Path) -> bytes:
    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is required (apt install genisoimage)")
    return genisoimage(tmp_path, {"a.bin": random.Random(16).randbytes(700_000)}, "ATAPI")


def qemu_like(tmp_path: Path, iso: bytes, **drive: Any) -> dict[str, Any]:
    """One Mode 1 track holding ``iso``, sector BAD unreadable (QEMU's blkdebug error)."""
    (tmp_path / "disc.iso").write_bytes(iso)
    track = {"kind": "mode1", "start": 0, "length": len(iso) // 2048, "file": "disc.iso"}
    return {
        "profile": "CD-ROM",
        "drive": {"msf": "binary", "zero_codes": True, "c2": False, **drive},
        "sessions": [{"tracks": [track]}],
        "defects": [{"lba": BAD, "count": 1, "sense": "03/11/00"}],
    }


def report_of(done: BackupOutcome) -> dict[str, Any]:
    doc: dict[str, Any] = done.report
    return doc


def proof_of(done: BackupOutcome) -> dict[str, Any]:
    proof = done.report["proof"]
    assert isinstance(proof, dict)
    return proof


def test_the_model_writes_the_address_in_binary_as_qemu_does(tmp_path: Path, iso: bytes) -> None:
    src = ModelDriveSource(qemu_like(tmp_path, iso), tmp_path)
    cdb = bytes([0xBE, 0x08, 0, 0, 0, 16, 0, 0, 1, 0xF8, 0, 0])  # the VM test's probe
    sector = src.send(cdb, RAW)
    assert sector[12:16] == bytes([0x00, 0x02, 0x10, 0x01])  # 166 = 0:02:16, 16 = 0x10
    assert sector[16:2064] == iso[16 * 2048 : 17 * 2048] and not any(sector[2064:])
    assert cdsector.check_sector(sector, 16) is cdsector.Verdict.BAD_ADDRESS


def test_binary_headers_and_zero_codes_are_kept_as_not_edc_checked(
    tmp_path: Path, iso: bytes
) -> None:
    out = tmp_path / "out" / "Disc.cue"
    done = rip(ModelDriveSource(qemu_like(tmp_path, iso), tmp_path), out)
    assert done.result.outcome is Outcome.INCOMPLETE  # sector BAD stays unreadable
    proof = proof_of(done)
    n = len(iso) // 2048
    assert proof["edc_failures"] == 0 and proof["verified"] == 0
    assert proof["not_verified"] == proof["data_sectors"] == proof["zero_codes"] == n - 1
    # where BCD and binary differ (a frame or second of 10 or more): 446 of this disc's sectors
    assert proof["binary_headers"] == sum(
        1 for a in range(n) if a != BAD and cdsector.header(a, 1)[:3] != bytes(cdsector.msf(a))
    )
    assert "carried none to check" in proof["verdict"]
    assert BINARY_NOTE in report_of(done)["source"]["drive_control"]
    assert [(r["lba"], r["count"]) for r in report_of(done)["bad_ranges"]] == [(BAD, 1)]
    raw = (out.parent / "Disc.bin").read_bytes()
    for a in range(n):
        s = raw[a * RAW : (a + 1) * RAW]
        if a == BAD:
            assert not any(s)
            continue
        # the header as ECMA-130 and every disc have it; the rest exactly as the drive gave it
        assert s[:16] == cdsector.SYNC + cdsector.header(a, 1), a
        assert s[16:2064] == iso[a * 2048 : (a + 1) * 2048] and not any(s[2064:]), a
    v = verifier.verify(str(out))
    checks = {c.name: c for c in v.checks}
    assert checks["edc"].status == "info" and "carry none to check" in checks["edc"].detail
    assert checks["mapfile"].status == "incomplete" and v.outcome == "incomplete"


def test_binary_headers_over_real_codes_are_proven_and_match_the_disc(tmp_path: Path) -> None:
    """A drive that writes the header in binary but returns the codes the disc recorded (made
    over the BCD header): with the header in BCD again, each sector proves itself, and the
    .bin is the disc's bytes exactly."""
    if not shutil.which("genisoimage"):
        pytest.skip("genisoimage is required (apt install genisoimage)")
    disc = mixed_mode(tmp_path / "disc")
    out = tmp_path / "out" / "Game.cue"
    out.parent.mkdir()
    done = run_backup(
        lambda: ModelDriveSource(disc.json_path(msf="binary"), None),
        BackupOptions("model drive", str(out), settings=ONE_RETRY, read_offset=0),
    )
    assert done.result.outcome is Outcome.COMPLETE, done.result.message
    proof = proof_of(done)
    assert proof["not_verified"] == 0 and proof["edc_failures"] == 0
    assert proof["verified"] == proof["data_sectors"] > 0 and proof["binary_headers"] > 0
    got = {p.name: p.read_bytes() for p in sorted(out.parent.glob("Game*.bin"))}
    assert got == disc.files("Game")


class Misaddressing(ModelDriveSource):
    """The drive hands out sector ``lba + 1`` for ``lba`` (a seek gone wrong): its header holds
    that other address, in the drive's binary form, for the first ``times`` reads."""

    def __init__(self, disc: dict[str, Any], base: Path, lba: int, times: int) -> None:
        super().__init__(disc, base)
        self.wrong, self.times = lba, times

    def send(self, cdb: bytes, length: int) -> bytes:
        data = super().send(cdb, length)
        first, count = int.from_bytes(cdb[2:6], "big"), int.from_bytes(cdb[6:9], "big")
        if cdb[0] != 0xBE or not first <= self.wrong < first + count or self.times <= 0:
            return data
        self.times -= 1
        o = (self.wrong - first) * RAW
        other = bytes(cdsector.msf(self.wrong + 1))
        return data[: o + 12] + other + data[o + 15 :]


def test_a_header_with_another_sectors_address_is_still_a_failure(
    tmp_path: Path, iso: bytes
) -> None:
    wrong = 200  # 0:04:50: binary 00 04 32, BCD 00 04 50
    doc = qemu_like(tmp_path, iso)
    doc["defects"] = []
    out = tmp_path / "out" / "Disc.cue"
    done = rip(Misaddressing(doc, tmp_path, wrong, times=1), out)
    assert done.result.outcome is Outcome.COMPLETE, done.result.message  # read again: right
    proof = proof_of(done)
    assert proof["edc_failures"] == 1  # the misplaced sector was refused, not kept
    assert proof["not_verified"] == proof["data_sectors"] == proof["zero_codes"]
    s = (out.parent / "Disc.bin").read_bytes()[wrong * RAW : (wrong + 1) * RAW]
    assert s[12:16] == cdsector.header(wrong, 1)

    stuck = rip(Misaddressing(doc, tmp_path, wrong, times=99), tmp_path / "o2" / "Disc.cue")
    assert stuck.result.outcome is Outcome.INCOMPLETE
    bad = report_of(stuck)["bad_ranges"]
    assert [(r["lba"], r["count"]) for r in bad] == [(wrong, 1)]


def test_the_report_names_the_quirk_once(tmp_path: Path, iso: bytes) -> None:
    out = tmp_path / "out" / "Disc.cue"
    done = rip(ModelDriveSource(qemu_like(tmp_path, iso), tmp_path), out)
    notes = report_of(done)["source"]["drive_control"]
    assert notes.count(BINARY_NOTE) == 1
    doc = json.loads((out.parent / "Disc.cue.report.json").read_text())
    assert doc["proof"]["binary_headers"] > 0
