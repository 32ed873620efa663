"""The rescue engine against real block devices whose reads fail through the kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.core.base.events import CancelToken, Progress
from app.core.disc.sources import ImageSource
from app.core.rescue.engine import RescueSettings, rescue
from tests.conftest import MakeDevice, random_bytes
from tests.faultdev import expected_image

SECTORS = 4096  # 8 MiB
BAD_AREAS = [(100, 3), (1000, 40), (2047, 2), (4000, 1)]
BAD = {lba for start, n in BAD_AREAS for lba in range(start, start + n)}
FAULTS = [{"lba": s, "count": n, "kind": "bad"} for s, n in BAD_AREAS] + [
    {"lba": 500, "kind": "flaky", "fails": 2},
    {"lba": 3000, "count": 2, "kind": "flaky", "fails": 1},
    {"lba": 2500, "count": 64, "kind": "slow", "delay": 0.02},
]


def bad_runs(mapfile_text: str) -> list[tuple[int, int]]:
    """(first LBA, count) of every non-finished block, read straight from the mapfile text."""
    rows = [ln.split() for ln in mapfile_text.splitlines() if ln and not ln.startswith("#")]
    return [(int(p, 16) // 2048, int(s, 16) // 2048) for p, s, st in rows[1:] if st != "+"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=240
    )


def test_rescue_is_exact_on_every_readable_sector(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048)
    dev = make_device(data, FAULTS)
    out = tmp_path / "disc.iso"
    seen: list[Progress] = []
    with ImageSource(dev.path) as src:
        result = rescue(src, str(out), progress=seen.append)
    assert result.outcome == "incomplete"
    assert out.read_bytes() == expected_image(data, BAD)
    assert bad_runs((tmp_path / "disc.iso.map").read_text()) == BAD_AREAS  # flaky ones recovered
    assert result.hashes is not None and result.hashes_from == "image"
    phases = {p.phase for p in seen}
    assert {"copy", "trim", "scrape", "retry"} <= phases
    assert seen[-1].bad == len(BAD) * 2048


def test_failed_reads_per_bad_sector_stay_low(make_device: MakeDevice, tmp_path: Path) -> None:
    """Reading a bad sector wears the drive: no more tries than ddrescue -r3 would spend."""
    dev = make_device(random_bytes(SECTORS * 2048), FAULTS)
    with ImageSource(dev.path) as src:
        rescue(src, str(tmp_path / "d.iso"))
    counts = dev.stats()["sector_reads"]
    worst = max(counts[str(lba)] for lba in BAD)
    assert worst <= 5, counts


def test_a_large_bad_area_costs_one_failed_read_per_sector_past_finding_it(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """A 20-sector area: two failed reads find it (a large read, then a cluster), then each
    of its sectors fails exactly once. The sweep skips the area's rest unread, and the
    reverse sweep walks the skipped run down to the area's end sector by sector: a cluster
    read at either place would only fail again."""
    data = random_bytes(SECTORS * 2048, seed=13)
    dev = make_device(data, [{"lba": 1000, "count": 20, "kind": "bad"}])
    out = tmp_path / "a.iso"
    with ImageSource(dev.path) as src:
        result = rescue(src, str(out), settings=RescueSettings(retries=0))
    assert result.failed_reads == 2 + 20
    assert out.read_bytes() == expected_image(data, set(range(1000, 1020)))
    assert bad_runs((tmp_path / "a.iso.map").read_text()) == [(1000, 20)]


def test_cli_rip_writes_report_sidecars_and_exit_1(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=2)
    dev = make_device(data, FAULTS)
    out = tmp_path / "disc.iso"
    r = run_cli("rip", dev.path, str(out))
    assert r.returncode == 1, r.stderr
    assert "unreadable" in r.stdout
    doc = json.loads((tmp_path / "disc.iso.report.json").read_text())
    assert doc["schema"] == "discvault.rip/1"
    assert doc["unreadable_sectors"] == len(BAD)
    assert [(b["lba"], b["count"]) for b in doc["bad_ranges"]] == BAD_AREAS
    check = subprocess.run(["sha1sum", "-c", "disc.iso.sha1"], cwd=tmp_path, capture_output=True)
    assert check.returncode == 0


def test_hash_of_a_damaged_disc_goes_on_from_what_was_read_in_order(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """The stream hash stops at the first failed read (bad sectors at LBA 100); the
    background hash of the image takes its digests over there instead of hashing LBAs 0-95 a
    second time, and runs from the end of the copy passes on, while trim, scrape and retries
    wait on the drive."""
    import hashlib
    import zlib

    from app.core.rescue.engine import Engine

    data = random_bytes(SECTORS * 2048, seed=6)
    dev = make_device(data, FAULTS)
    out = tmp_path / "h.iso"
    with ImageSource(dev.path) as src:
        engine = Engine(src, str(out))
        result = engine.run()
    # Reads of 32, 64, then 128 sectors: the first failed read began at LBA 96
    assert engine.hash_handover == 96 * 2048
    want = expected_image(data, BAD)
    assert result.hashes == {
        "crc32": f"{zlib.crc32(want):08x}",
        "md5": hashlib.md5(want).hexdigest(),
        "sha1": hashlib.sha1(want).hexdigest(),
        "sha256": hashlib.sha256(want).hexdigest(),
    }


def test_a_failed_read_stops_the_stream_hash_even_when_all_is_read_in_order(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """One marginal sector, read again at once in order: the disc is damaged, so from the
    first failed read on the image is hashed in the background, not while the copy reads.
    (It fails twice: the kernel's block layer tries a failed read once more itself.)"""
    import hashlib

    from app.core.rescue.engine import Engine

    data = random_bytes(SECTORS * 2048, seed=12)
    dev = make_device(data, [{"lba": 2000, "kind": "flaky", "fails": 2}])
    with ImageSource(dev.path) as src:
        engine = Engine(src, str(tmp_path / "f.iso"))
        result = engine.run()
    assert result.outcome == "complete" and result.hashes_from == "image"
    assert 0 < engine.hash_handover <= 2000 * 2048
    assert result.hashes is not None and result.hashes["sha1"] == hashlib.sha1(data).hexdigest()


def test_last_retry_pass_reads_forwards_and_the_hash_follows_it(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    """Marginal sectors, some of which read only in the retry passes: the passes alternate
    and the last one reads forwards (what lies behind it is final, so the background hash of
    the image follows it instead of going back over the image after the end); the hashes are
    those of the image as it finally is."""
    import hashlib

    from app.core.base import mapfile
    from app.core.base.rangemap import FINISHED

    data = random_bytes(SECTORS * 2048, seed=11)
    dead = {100, 101, 102, 3900}
    faults = [{"lba": 100, "count": 3, "kind": "bad"}, {"lba": 3900, "kind": "bad"}]
    # How many of a marginal sector's failures the passes before the retries use up depends on
    # the kernel (the loop driver may read the rest of a short read again, and CI saw every
    # marginal sector recovered before them): with 1 to 14 failures, some are left to the
    # retry passes whatever that is.
    faults += [{"lba": 600 + 233 * k, "kind": "flaky", "fails": k} for k in range(1, 15)]
    dev = make_device(data, faults)
    out = tmp_path / "m.iso"
    with ImageSource(dev.path) as src:
        result = rescue(src, str(out))
    retries = [p for p in result.passes if p.phase == "retry"]
    assert [p.direction for p in retries] == ["forward", "reverse", "forward"]
    # the first two changed the image (else the third would not run); whether the third finds a
    # sector's last failure depends on how many the kernel used up before
    assert retries[0].recovered_sectors and retries[1].recovered_sectors
    rmap = mapfile.load(str(out) + ".map", 2048, SECTORS).map
    unread = {lba for lo, hi, st in rmap.runs() if st != FINISHED for lba in range(lo, hi)}
    assert dead <= unread
    want = expected_image(data, unread)
    assert out.read_bytes() == want
    assert result.hashes is not None and result.hashes["md5"] == hashlib.md5(want).hexdigest()


def test_clean_device_hashes_while_reading(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=5)
    dev = make_device(data, [])
    with ImageSource(dev.path) as src:
        result = rescue(src, str(tmp_path / "c.iso"))
    assert result.outcome == "complete" and result.hashes_from == "stream"
    import hashlib

    assert result.hashes is not None
    assert result.hashes["sha256"] == hashlib.sha256(data).hexdigest()
    # One read of the disc, plus the probes of its layout's descriptors (LBA 0, 16.., 256).
    assert dev.stats()["bytes_read"] <= len(data) + 16 * 2048


def test_disc_removed_mid_rip_stops_then_resumes(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=3)
    dev = make_device(data, [{"lba": 0, "count": SECTORS, "kind": "slow", "delay": 0.01}])
    out = tmp_path / "v.iso"
    token = CancelToken()
    pulled = False

    def on_progress(p: Progress) -> None:
        nonlocal pulled
        if not pulled and p.done > len(data) // 3:
            pulled = True
            dev.vanish()

    with ImageSource(dev.path) as src:
        result = rescue(
            src,
            str(out),
            progress=on_progress,
            cancel=token,
            settings=RescueSettings(max_cluster=32),
        )
    assert result.outcome == "source_gone"
    assert "Put the disc back" in result.message
    done_before = result.rescued_sectors
    assert 0 < done_before < SECTORS
    dev.restore()
    with ImageSource(dev.path) as src:
        again = rescue(src, str(out))
    assert again.outcome == "complete" and again.resumed
    assert out.read_bytes() == data


def test_cli_exit_4_when_the_disc_goes(make_device: MakeDevice, tmp_path: Path) -> None:
    dev = make_device(random_bytes(1024 * 2048), [])
    dev.vanish()
    r = run_cli("rip", dev.path, str(tmp_path / "g.iso"))
    assert r.returncode == 4
    assert r.stderr.startswith("discvault: ") or "went away" in r.stdout + r.stderr
