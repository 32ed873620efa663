"""Every disc on the shelf, whole: what the layout holds is imaged, no readable sector dropped.

Real block devices with the unreadable areas a drive has (run-out, session gaps, audio read as
data) injected at the device; the TOC given as a drive gives it (tests/discfixtures.py). The
emulated USB drive in tests/vm checks the same against a real kernel.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.core.base.outcome import Outcome
from app.core.disc import cue
from app.core.rescue.backup import BackupOptions, run_backup
from app.core.rescue.types import RescueSettings
from tests.conftest import MakeDevice, random_bytes
from tests.discfixtures import (
    TocDriveSource,
    audio_only,
    cd_extra,
    hfs_hybrid_past_iso,
    multisession,
)
from tests.integration.isofixtures import need
from tests.integration.test_rip_faults import run_cli

SECTOR = 2048


def test_readable_data_past_the_iso_volume_is_kept_byte_for_byte(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    need("genisoimage")
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f.bin").write_bytes(random_bytes(400_000))
    iso = tmp_path / "fs.iso"
    subprocess.run(["genisoimage", "-quiet", "-R", "-o", str(iso), str(tree)], check=True)
    disc = iso.read_bytes() + random_bytes(3000 * SECTOR, seed=9)  # 3000 readable sectors more
    dev = make_device(disc, [])
    out = tmp_path / "out.iso"
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == disc
    doc = json.loads(Path(f"{out}.report.json").read_text())
    assert doc["image"]["sectors"] == len(disc) // SECTOR
    assert doc["not_data_sectors"] == 0 and doc["complete"]


def _backup(dev_path: str, layout: object, out: Path) -> tuple[object, dict[str, object]]:
    from app.core.disc.layout import DiscLayout

    assert isinstance(layout, DiscLayout)
    done = run_backup(
        lambda: TocDriveSource(dev_path, layout),
        BackupOptions(dev_path, str(out), settings=RescueSettings(save_interval=0.2)),
    )
    return done.result, done.report


def test_multisession_cd_r_keeps_every_session_at_its_lba(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    need("xorriso")
    disc = multisession(tmp_path / "fx")
    dev = make_device(disc.data, disc.faults())
    out = tmp_path / "photos.iso"
    result, report = _backup(dev.path, disc.layout, out)
    assert result.outcome is Outcome.COMPLETE, result.message  # type: ignore[attr-defined]
    img = out.read_bytes()
    end = len(disc.data) - 2 * SECTOR  # the last track's run-out did not read: not imaged
    assert img == disc.data[:end]
    disc_doc = report["disc"]
    assert isinstance(disc_doc, dict)
    assert disc_doc["summary"] == (
        "2 sessions, 2 tracks, 4 run-out sectors (not data), "
        "11400 session gap sectors (not data), 0 damaged"
    )
    assert report["unreadable_sectors"] == 0
    # The cue sheet beside the image names both sessions at their LBAs.
    sheet = cue.read(str(tmp_path / "photos.cue"))
    assert sheet.layout == disc.layout and sheet.files == ("photos.iso",)


def test_multisession_resume_after_a_cut_first_run(make_device: MakeDevice, tmp_path: Path) -> None:
    """A mapfile from a version that cut the image at session 1's volume resumes into the rest."""
    need("xorriso")
    disc = multisession(tmp_path / "fx")
    dev = make_device(disc.data, disc.faults())
    out = tmp_path / "old.iso"
    n1 = disc.unreadable[0][0]
    out.write_bytes(disc.data[: n1 * SECTOR])
    Path(f"{out}.map").write_text(f"0x0 +\n0x0 {n1 * SECTOR:#x} +\n")
    result, _ = _backup(dev.path, disc.layout, out)
    assert result.outcome is Outcome.COMPLETE  # type: ignore[attr-defined]
    assert result.resumed  # type: ignore[attr-defined]
    assert out.read_bytes() == disc.data[: len(disc.data) - 2 * SECTOR]


def test_cd_extra_images_the_data_session_and_names_the_audio(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    need("xorriso")
    disc = cd_extra(tmp_path / "fx")
    dev = make_device(disc.data, disc.faults())
    out = tmp_path / "extra.iso"
    result, report = _backup(dev.path, disc.layout, out)
    assert result.outcome is Outcome.COMPLETE  # type: ignore[attr-defined]
    assert out.read_bytes() == disc.data
    assert dev.stats()["sector_reads"].get("10", 0) == 0  # audio is never read as data
    summary = report["disc"]["summary"]  # type: ignore[index]
    assert summary.startswith("2 sessions, 3 tracks (2 audio), 3000 audio sectors (not part")
    assert "11400 session gap sectors (not data), 0 damaged" in summary


def test_audio_cd_is_explained_and_nothing_is_written(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    disc = audio_only()
    dev = make_device(disc.data, disc.faults())
    out = tmp_path / "album.iso"
    from app.core.disc.sources import SourceError

    with pytest.raises(SourceError, match="holds an audio CD and cannot read it raw"):
        _backup(dev.path, disc.layout, out)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == []


def test_hfs_partition_past_the_iso_volume_is_imaged_and_its_damage_counts(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    need("hformat")
    need("genisoimage")
    (tmp_path / "fx").mkdir()
    disc, iso_end, hfs_end = hfs_hybrid_past_iso(tmp_path / "fx")
    bad = iso_end + 100  # inside the HFS volume, past the ISO 9660 volume
    dev = make_device(disc, [{"lba": bad, "count": 1, "kind": "bad"}])
    out = tmp_path / "hybrid.iso"
    r = run_cli("rip", dev.path, str(out), "--retries", "1")
    assert r.returncode == 1, r.stdout + r.stderr  # damage inside HFS is damage
    img = out.read_bytes()
    assert len(img) == hfs_end * SECTOR
    assert img[: bad * SECTOR] == disc[: bad * SECTOR]
    assert img[(bad + 1) * SECTOR :] == disc[(bad + 1) * SECTOR :]
    doc = json.loads(Path(f"{out}.report.json").read_text())
    kinds = {f["kind"] for f in doc["disc"]["filesystems"]}
    assert {"iso9660", "apm", "hfs"} <= kinds
    assert doc["unreadable_sectors"] == 1 and doc["bad_ranges"][0]["lba"] == bad
