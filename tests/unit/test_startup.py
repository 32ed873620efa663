"""What `discvault inspect` loads before it lists: a 100 000-file listing takes about 0.3 s, and
the interpreter's start and imports were a third of it (benchmarks/RESULTS.md). These hold the
listing path to what it needs; a new import of the engine, OpenSSL or the mapfile code there
fails here, not silently in the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.base.companions import SIDECAR_ALGORITHMS
from app.core.base.hashing import ALGORITHMS

ROOT = Path(__file__).resolve().parents[2]

# Loaded only by what listing an .iso does not do: hashing, mapfiles, rescue, drives, Qt.
NOT_FOR_LISTING = (
    "hashlib",
    "app.core.base.hashing",
    "app.core.base.mapfile",
    "app.core.rescue",
    "app.platform",
    "app.cli_disc",
    "app.cli_library",
    "app.cli_auto",
    "app.core.fs.hfs",
    "app.core.fs.rawimage",
    "PySide6",
)

PROBE = r"""
import contextlib, io, json, sys
from app.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_sidecars_are_the_hashes_but_crc32() -> None:
    assert tuple(a for a in ALGORITHMS if a != "crc32") == SIDECAR_ALGORITHMS


def _loaded(*argv: str) -> tuple[int, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True, check=True
    )
    got = json.loads(out.stdout.splitlines()[-1])
    return got["code"], got["modules"]


@pytest.fixture(scope="module")
def iso(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    (tree / "dir").mkdir()
    (tree / "dir" / "a.txt").write_text("hello\n")
    out = tmp_path_factory.mktemp("iso") / "small.iso"
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-o", str(out), str(tree)],
        check=True,
        capture_output=True,
    )
    return out


def test_listing_an_iso_loads_only_what_it_needs(iso: Path) -> None:
    code, modules = _loaded("inspect", str(iso), "--files")
    assert code == 0
    loaded = [m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_FOR_LISTING)]
    assert loaded == []


def test_the_map_option_still_loads_the_mapfile_reader(iso: Path, tmp_path: Path) -> None:
    # the laziness must not cost the feature: --map reads a mapfile (no bad sectors here)
    mapf = tmp_path / "small.iso.map"
    sectors = iso.stat().st_size // 2048
    mapf.write_text(f"0x0 ?\n0x0 {sectors * 2048:#x} +\n")
    code, modules = _loaded("inspect", str(iso), "--map", str(mapf))
    assert code == 0
    assert "app.core.base.mapfile" in modules


def test_every_command_line_command_reaches_the_command_line() -> None:
    from app.__main__ import CLI_COMMANDS
    from app.cli import COMMANDS

    assert set(COMMANDS) == CLI_COMMANDS


def test_each_command_parses_with_only_its_own_group() -> None:
    # `discvault inspect` builds only the inspect group's parsers: each command must parse
    # (and reach its function) that way, as it does with all of them built
    from app.cli import COMMANDS, build_parser

    for name in COMMANDS:
        args = ["library", "list"] if name == "library" else [name, "--help"]
        if name != "library":
            with pytest.raises(SystemExit) as e:
                build_parser(name).parse_args(args)
            assert e.value.code == 0
        else:
            assert build_parser(name).parse_args(args).func is not None
