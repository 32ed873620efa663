"""`discvault verify`: against the disc (real faulty loop devices), sidecars, DATs, wholeness."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from app.core.disc.sources import ImageSource
from app.core.rescue.engine import rescue
from app.core.verify.verifier import verify
from tests.conftest import MakeDevice, random_bytes, require_tool
from tests.integration.test_rip_faults import BAD, BAD_AREAS, FAULTS, SECTORS, run_cli


def make_iso(tmp_path: Path, name: str = "fs.iso") -> Path:
    tree = tmp_path / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "data.bin").write_bytes(random_bytes(700_000, seed=21))
    iso = tmp_path / name
    require_tool("genisoimage")
    subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-o", str(iso), str(tree)], check=True)
    return iso


def test_rip_then_verify_against_the_faulty_disc(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=31)
    dev = make_device(data, FAULTS)
    out = tmp_path / "d.iso"
    assert run_cli("rip", dev.path, str(out)).returncode == 1
    before = dev.stats()["bytes_read"]
    r = run_cli("verify", str(out), "--against", dev.path, "--json")
    assert r.returncode == 1, r.stderr  # incomplete: the mapfile has bad sectors
    doc = json.loads(r.stdout)
    assert doc["schema"] == "discvault.verify/1" and doc["outcome"] == "incomplete"
    assert doc["mismatches"] == []
    assert [(x["lba"], x["count"]) for x in doc["source_unreadable"]] == BAD_AREAS
    assert doc["map_bad_sectors"] == len(BAD)
    # The verify really read the disc again: not a cached answer.
    assert dev.stats()["bytes_read"] - before >= (SECTORS - len(BAD)) * 2048


def test_one_flipped_byte_is_named(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=32)
    dev = make_device(data, [])
    out = tmp_path / "c.iso"
    assert run_cli("rip", dev.path, str(out)).returncode == 0
    with open(out, "r+b") as f:
        f.seek(1234 * 2048 + 77)
        b = f.read(1)
        f.seek(1234 * 2048 + 77)
        f.write(bytes([b[0] ^ 0x01]))
    r = run_cli("verify", str(out), "--against", dev.path)
    assert r.returncode == 3
    assert "first at LBA 1234" in r.stdout
    assert "md5 differs" in r.stdout  # the sidecars catch it too, without the disc


def test_a_sector_bad_at_rip_time_that_reads_now(make_device: MakeDevice, tmp_path: Path) -> None:
    data = random_bytes(SECTORS * 2048, seed=33)
    out = tmp_path / "n.iso"
    with ImageSource(make_device(data, FAULTS).path) as src:
        rescue(src, str(out))
    healed = make_device(data, [])  # the same disc in a better drive
    with ImageSource(healed.path) as src:
        res = verify(str(out), source=src)
    assert res.mismatches == []
    assert res.now_readable == BAD_AREAS
    assert res.outcome == "incomplete"
    assert any("read now" in c.detail for c in res.checks)


def write_dat(path: Path, entries: list[tuple[str, str, int, dict[str, str]]]) -> None:
    games = "".join(
        f'<game name="{g}"><description>{g}</description><rom name="{n}" size="{s}" '
        f'crc="{h["crc32"]}" md5="{h["md5"]}" sha1="{h["sha1"]}"/></game>'
        for g, n, s, h in entries
    )
    path.write_text(
        f'<?xml version="1.0"?><datafile><header><name>Test</name></header>{games}</datafile>'
    )


def test_dat_match_same_name_and_absent(tmp_path: Path) -> None:
    iso = make_iso(tmp_path, "Holiday.iso")
    out = tmp_path / "rip.iso"
    assert run_cli("rip", str(iso), str(out)).returncode == 0
    hashes = json.loads(Path(str(out) + ".report.json").read_text())["hashes"]
    size = out.stat().st_size
    dat = tmp_path / "good.dat"
    fake = {"crc32": "00000000", "md5": "0" * 32, "sha1": "0" * 40}
    write_dat(
        dat,
        [
            ("Other Disc (Europe)", "Other.iso", 1000, fake),
            ("Holiday Disc (USA)", "Holiday.iso", size, hashes),
        ],
    )
    r = run_cli("verify", str(out), "--dat", str(dat))
    assert r.returncode == 0 and "matches 'Holiday Disc (USA)'" in r.stdout
    bad = tmp_path / "bad.dat"
    write_dat(bad, [("Rip Disc", "rip.iso", size, fake)])
    r = run_cli("verify", str(out), "--dat", str(bad))
    assert r.returncode == 3 and "different checksums" in r.stdout
    write_dat(bad, [("Nothing", "nothing.iso", 5, fake)])
    r = run_cli("verify", str(out), "--dat", str(bad))
    assert r.returncode == 0 and "not in bad.dat" in r.stdout


def test_large_dat_finds_the_last_entry(tmp_path: Path) -> None:
    iso = make_iso(tmp_path)
    hashes = verify(str(iso)).hashes
    assert hashes is not None
    rng = random.Random(4)
    entries = [
        (
            f"Game {i}",
            f"g{i}.iso",
            rng.randrange(1, 1 << 32),
            {
                "crc32": f"{rng.getrandbits(32):08x}",
                "md5": f"{rng.getrandbits(128):032x}",
                "sha1": f"{rng.getrandbits(160):040x}",
            },
        )
        for i in range(50_000)
    ]
    entries.append(("The One", "fs.iso", iso.stat().st_size, hashes))
    dat = tmp_path / "big.dat"
    write_dat(dat, entries)
    res = verify(str(iso), dat_path=str(dat))
    assert res.dat_match is not None and res.dat_match.verdict == "match"
    assert res.dat_match.entry is not None and res.dat_match.entry.game == "The One"


def test_malformed_dat_is_one_clear_line(tmp_path: Path) -> None:
    iso = make_iso(tmp_path)
    dat = tmp_path / "broken.dat"
    dat.write_text("<datafile><game name='x'><rom name=")
    r = run_cli("verify", str(iso), "--dat", str(dat))
    assert r.returncode == 4
    assert r.stderr.startswith("discvault: ") and "broken.dat" in r.stderr
    assert r.stderr.count("\n") == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_truncated_image_reports_missing_sectors(tmp_path: Path, seed: int) -> None:
    iso = make_iso(tmp_path)
    full = iso.read_bytes()
    n = len(full) // 2048
    cut = random.Random(seed).randrange(17 * 2048, len(full) - 1)
    iso.write_bytes(full[:cut])
    r = run_cli("verify", str(iso), "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["missing_sectors"] == n - cut // 2048
    assert any(c["status"] == "incomplete" for c in doc["checks"])


def test_missing_image_is_exit_4(tmp_path: Path) -> None:
    r = run_cli("verify", str(tmp_path / "nope.iso"))
    assert r.returncode == 4 and "no such image" in r.stderr


def test_rip_verify_records_the_proof_in_the_report(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    data = random_bytes(SECTORS * 2048, seed=34)
    dev = make_device(data, FAULTS)
    out = tmp_path / "rv.iso"
    r = run_cli("rip", dev.path, str(out), "--verify")
    assert r.returncode == 1, r.stderr
    doc = json.loads(Path(str(out) + ".report.json").read_text())
    assert doc["verify"]["mismatches"] == []
    assert [(x["lba"], x["count"]) for x in doc["verify"]["source_unreadable"]] == BAD_AREAS
