"""The frozen Linux bundle: built by `make package`, then run the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration import isofixtures as fx

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux bundle"),
]


def du(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink())


def test_cli_runs_from_the_bundle(bundle: Path, tmp_path: Path) -> None:
    r = subprocess.run([str(bundle / "discvault"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("discvault ")
    tree = fx.make_tree(tmp_path / "tree")
    iso = fx.build("xorriso_eltorito", tree, tmp_path / "x.iso")
    r = subprocess.run(
        [str(bundle / "discvault"), "inspect", str(iso)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert "ISO 9660 + Joliet + Rock Ridge" in r.stdout and "UEFI" in r.stdout
    # Every command's module must be in the bundle, lazily imported ones included.
    out = tmp_path / "copy.iso"
    lib = tmp_path / "lib"
    lib.mkdir()
    for args in (
        ["rip", str(iso), str(out)],
        ["verify", str(out)],
        ["extract", str(out), "-o", str(tmp_path / "x")],
        ["drives", "--json"],
        ["library", "rebuild", "--library", str(lib)],  # SQLite with FTS5, in the bundle
        ["library", "list", "--library", str(lib)],
    ):
        r = subprocess.run(
            [str(bundle / "discvault"), *args], capture_output=True, text=True, timeout=300
        )
        # The fixture tree holds two hostile links; extract refuses them (exit 4) and
        # extracts the rest.
        expected = 4 if args[0] == "extract" else 0
        assert r.returncode == expected, f"{args[0]}: {r.stdout}{r.stderr}"
        assert "Traceback" not in r.stderr
    assert out.read_bytes() == iso.read_bytes()


def test_the_command_line_does_not_load_qt(bundle: Path, tmp_path: Path) -> None:
    # PyInstaller's own PySide6 runtime hook imported QtCore (and ICU) at every start: 0.15 s
    # of every command. The dynamic loader names each library it loads (LD_DEBUG=files).
    iso = fx.build("xorriso_eltorito", fx.make_tree(tmp_path / "tree"), tmp_path / "x.iso")
    env = {**os.environ, "LD_DEBUG": "files", "LD_DEBUG_OUTPUT": str(tmp_path / "ld")}
    for args in (["--version"], ["inspect", str(iso), "--files"]):
        r = subprocess.run([str(bundle / "discvault"), *args], capture_output=True, env=env)
        assert r.returncode == 0
    loaded = "".join(p.read_text() for p in tmp_path.glob("ld.*"))
    assert "libpython" in loaded  # the trace works
    assert "Qt6Core" not in loaded and "icudata" not in loaded


def test_gui_self_test_from_the_bundle(bundle: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(tmp_path)}
    r = subprocess.run(
        [str(bundle / "DiscVault"), "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backup ok, inspector ok" in r.stdout


def test_bundle_size(bundle: Path) -> None:
    assert du(bundle) <= 120 * 1000 * 1000, f"{du(bundle) / 1e6:.0f} MB on disk"
    (tarball,) = sorted((ROOT / "dist").glob("DiscVault-*-linux-*.tar.gz"))
    assert tarball.stat().st_size <= 50 * 1000 * 1000, f"{tarball.stat().st_size / 1e6:.0f} MB"
    assert (bundle / "discvault.desktop").exists() and (bundle / "discvault.png").exists()
