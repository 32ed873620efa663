"""Issue 12's VM acceptance (test_whole_disc_vm.py) found these; here they are shown without
the VM, with the fault at the device boundary: a faultfs block device, or a source raising what
the drive layer raises for a copy-protection refusal.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import random_bytes
from tests.discfixtures import cd_extra
from tests.vm.whole_discs import SECTOR, extent_of, mkdir, tree

ROOT = Path(__file__).resolve().parents[2]


def app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


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

    # Verify against the same drive: no retry loop over refused sectors, no "resume to add
    # them" (a resume would be refused too), never-read sectors not called unreadable.
    from app.core.verify.verifier import verify

    reads: list[tuple[int, int]] = []

    class Counting(CssDrive):
        def read(self, lba: int, count: int) -> bytes:
            reads.append((lba, count))
            return super().read(lba, count)

    src = Counting(str(iso))
    try:
        v = verify(str(out), source=src)
    finally:
        src.close()
    refused = [(a, n) for a, n in reads if a + n > vob and a < vob + 64]
    assert len(refused) <= 2
    text = " ".join(c.detail for c in v.checks)
    assert "resume the backup" not in text and "refuses for copy protection" in text
    mapline = next(c for c in v.checks if c.name == "mapfile").detail
    assert "never read" in mapline and "unreadable" not in mapline


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
    disc = cd_extra(mkdir(tmp_path / "fx"))
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
