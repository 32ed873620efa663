"""The shared list of system packages (packaging/deps/apt.txt), the script that installs or names
them (packaging/deps/ensure), and the tests' one way of asking for a tool (require_tool)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEPS_LIST, require_tool, tool_packages

ROOT = Path(__file__).resolve().parents[2]
ENSURE = ROOT / "packaging" / "deps" / "ensure"
GROUPS = {"venv", "run", "test", "package", "ci", "deb"}
# Always there on Debian/Ubuntu (libc6, libstdc++6, libgcc-s1, zlib1g, libzstd1: required).
BASE_LIBS = re.compile(r"(ld-linux.*|lib(c|m|dl|pthread|rt|stdc\+\+|gcc_s|z|zstd)\.so\..*)")

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux list")


def entries() -> list[tuple[str, set[str], list[str]]]:
    out = []
    for line in DEPS_LIST.read_text().splitlines():
        f = line.split()
        if f and not f[0].startswith("#"):
            out.append((f[0], set(f[1].split(",")), f[2:]))
    return out


def ensure(
    *groups: str, listing: str | None = None, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DISCVAULT_DEPS": "check", **env}
    if listing is not None:
        path = tmp_path / "apt.txt"
        path.write_text(listing)
        full["DISCVAULT_DEPS_LIST"] = str(path)
    return subprocess.run(
        ["sh", str(ENSURE), *groups], capture_output=True, text=True, env=full, timeout=60
    )


def test_every_line_is_well_formed() -> None:
    names = [e[0] for e in entries()]
    assert len(names) == len(set(names)), "a package listed twice"
    for pkg, groups, probes in entries():
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]+(\{pyver\})?", pkg), pkg
        assert groups and groups <= GROUPS, (pkg, groups)
        assert probes and all(re.fullmatch(r"(cmd|lib|py|pylib):\S+", p) for p in probes), pkg
    # What issue 13 found missing on a fresh Debian, and what the coming tests use.
    packages = tool_packages()
    assert packages["genisoimage"] == "genisoimage"
    assert packages["libxcb-icccm.so.4"] == "libxcb-icccm4"
    assert packages["libxcb-keysyms.so.1"] == "libxcb-keysyms1"
    for tool in ("hformat", "bchunk", "cd-info", "xvfb-run", "identify"):
        assert tool in packages, tool


@linux_only
def test_the_list_covers_what_the_qt_platform_plugins_link() -> None:
    """Every library that Qt's xcb and offscreen plugins (and the Qt libraries and PySide6
    modules under them) link, and the PySide6 wheel does not carry, is in the run group. A new
    PySide6 that links one more library fails here, not on a user's fresh machine."""
    require_tool("readelf")
    import PySide6

    pyside = Path(PySide6.__file__).parent
    qt = pyside / "Qt"
    elves = [
        qt / "plugins/platforms/libqxcb.so",
        qt / "plugins/platforms/libqoffscreen.so",
        qt / "plugins/xcbglintegrations/libqxcb-glx-integration.so",
        qt / "plugins/platformthemes/libqxdgdesktopportal.so",
        qt / "plugins/iconengines/libqsvgicon.so",
        *qt.glob("lib/libQt6XcbQpa.so.*"),
        *pyside.glob("Qt*.abi3.so"),
    ]
    carried = {p.name for p in pyside.parent.rglob("*.so*")}
    needed: set[str] = set()
    for elf in elves:
        assert elf.exists(), elf
        out = subprocess.run(["readelf", "-d", str(elf)], capture_output=True, text=True).stdout
        needed.update(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
    external = {s for s in needed - carried if not BASE_LIBS.fullmatch(s)}
    run_libs = {
        p[len("lib:") :] for _, groups, probes in entries() if "run" in groups for p in probes
    }
    assert external, "readelf found no system libraries: the check checks nothing"
    assert external <= run_libs, f"not in the run group of apt.txt: {sorted(external - run_libs)}"
    # The deb depends on the same libraries the source checkout needs.
    for pkg, groups, _ in entries():
        if "run" in groups and pkg != "python3-venv":
            assert "deb" in groups, pkg


@linux_only
def test_ensure_is_silent_when_nothing_is_missing(tmp_path: Path) -> None:
    listing = "# a comment\ncoreutils  run  cmd:ls cmd:cat\nlibc6  run,test  lib:libc.so.6\n"
    listing += "python3  run  py:json\n"
    r = ensure("run", listing=listing, tmp_path=tmp_path, PY=sys.executable)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@linux_only
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="the Debian/Ubuntu wording")
def test_ensure_names_the_exact_command_and_stops(tmp_path: Path) -> None:
    listing = (
        "coreutils         run   cmd:ls\n"
        "no-such-pkg       run   cmd:discvault-no-such-tool\n"
        "no-such-lib1      run   lib:libdiscvault-no-such.so.1\n"
        "other-group-pkg   ci    cmd:discvault-other-missing\n"
    )
    r = ensure("run", listing=listing, tmp_path=tmp_path)
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first == (
        "discvault: packaging/deps/ensure run needs 2 more packages — "
        f"run: {sudo}apt-get install -y --no-install-recommends no-such-pkg no-such-lib1"
    )
    # Groups are separate: .ci/run's own tools are not asked of `make run`.
    r = ensure("ci", "run", listing=listing, tmp_path=tmp_path)
    assert "no-such-pkg no-such-lib1 other-group-pkg" in r.stderr


@linux_only
def test_ensure_without_apt_names_what_is_missing(tmp_path: Path) -> None:
    """Another distribution: no apt-get to run, so say which commands and libraries are
    missing, with the Debian names for reference, and stop."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "uname", "grep", "sed", "id", "dirname", "ldconfig"):
        found = shutil.which(tool) or shutil.which(tool, path="/sbin:/usr/sbin")
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    listing = "no-such-pkg  run  cmd:discvault-no-such-tool\nlibc6  run  lib:libc.so.6\n"
    r = ensure("run", listing=listing, tmp_path=tmp_path, PATH=str(bin_dir))
    assert r.returncode == 1
    assert r.stderr.startswith(
        "discvault: packaging/deps/ensure run needs discvault-no-such-tool, which this machine "
        "lacks — install them with your package manager (Debian/Ubuntu: apt-get install -y "
        "--no-install-recommends no-such-pkg)\n"
    ), r.stderr


@linux_only
def test_ensure_refuses_a_bad_setting_or_probe(tmp_path: Path) -> None:
    r = ensure("run", listing="x run nosuch:y\n", tmp_path=tmp_path)
    assert r.returncode == 2 and "unknown probe 'nosuch:y'" in r.stderr
    r = ensure("run", listing="x run cmd:y\n", tmp_path=tmp_path, DISCVAULT_DEPS="maybe")
    assert r.returncode == 2 and "DISCVAULT_DEPS=maybe" in r.stderr
    r = ensure("run", listing="x run cmd:y\n", tmp_path=tmp_path, DISCVAULT_DEPS="off")
    assert (r.returncode, r.stderr) == (0, "")


INNER_TEST = """
import subprocess


def test_runs_a_missing_program():
    subprocess.run(["{tool}", "--version"], check=True)
"""


@pytest.mark.parametrize(
    ("ci", "tool", "outcome", "words"),
    [
        ("", "genisoimage", "skipped", "apt-get install --no-install-recommends genisoimage"),
        ("true", "genisoimage", "failed", "required in CI: genisoimage is not installed"),
        ("", "discvault-unlisted-tool", "skipped", "add discvault-unlisted-tool with its package"),
    ],
)
def test_a_missing_program_is_a_skip_or_a_ci_failure_never_a_traceback(
    tmp_path: Path, ci: str, tool: str, outcome: str, words: str
) -> None:
    """Even a test that forgot require_tool(): subprocess's FileNotFoundError becomes a skip with
    the install command, or in CI a failure that says what to install."""
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(tool=tool))
    env = {**os.environ, "CI": ci, "PATH": str(tmp_path / "empty-bin")}
    args = ["-p", "tests.conftest", "-p", "no:cacheprovider", "-q", "-rsf"]
    args += ["--rootdir", str(tmp_path)]
    r = subprocess.run(
        [sys.executable, "-m", "pytest", *args, str(tmp_path / "test_inner.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert f"1 {outcome}" in r.stdout, r.stdout + r.stderr
    assert words in r.stdout, r.stdout
    assert "Traceback" not in r.stdout and "FileNotFoundError" not in r.stdout, r.stdout
