from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.platform import linux

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def fake_sysfs(root: Path, drives: dict[str, tuple[str, str, str]]) -> Path:
    for name, (typ, vendor, model) in drives.items():
        d = root / "block" / name / "device"
        d.mkdir(parents=True)
        (d / "type").write_text(typ + "\n")
        (d / "vendor").write_text(vendor + "  \n")
        (d / "model").write_text(model + "\n")
    return root


def test_discovers_only_optical_drives_from_sysfs(tmp_path: Path) -> None:
    root = fake_sysfs(
        tmp_path / "sys",
        {
            "sr0": ("5", "ASUS", "BW-16D1HT"),
            "sr1": ("0", "Some", "Disk"),
            "sr2": ("5", "QEMU", "QEMU CD-ROM"),
        },
    )
    drives = linux.list_drives(str(root), str(tmp_path / "dev"), probe=False)
    assert [(d.name, d.title, d.path) for d in drives] == [
        ("sr0", "ASUS BW-16D1HT", str(tmp_path / "dev" / "sr0")),
        ("sr2", "QEMU QEMU CD-ROM", str(tmp_path / "dev" / "sr2")),
    ]


def test_missing_device_node_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    root = fake_sysfs(tmp_path / "sys", {"sr0": ("5", "A", "B")})
    (d,) = linux.list_drives(str(root), str(tmp_path / "dev"))
    assert d.state == "unknown" and "No such file" in d.problem


def test_no_sysfs_means_no_drives(tmp_path: Path) -> None:
    assert linux.list_drives(str(tmp_path / "nothing")) == []


def test_a_non_drive_answers_enotty_and_stays_unknown(tmp_path: Path) -> None:
    root = fake_sysfs(tmp_path / "sys", {"sr0": ("5", "A", "B")})
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "sr0").write_bytes(bytes(4096))  # a file: the CDROM ioctls answer ENOTTY
    (d,) = linux.list_drives(str(root), str(dev))
    assert d.state == "unknown" and d.problem == ""
    with pytest.raises(OSError, match="not an optical drive"):
        linux.eject(str(dev / "sr0"))
