"""The .deb that `make package` builds: its fields and files, then installed with apt, run from
/opt/discvault and removed, leaving nothing behind."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEPS_LIST, in_ci, require_tool

ROOT = Path(__file__).resolve().parents[2]
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# Folders the package lists but shares with the system: they stay after removal.
SHARED_FOLDERS = (
    "/",
    "/opt",
    "/usr",
    "/usr/bin",
    "/usr/share",
    "/usr/share/doc",
    "/usr/share/icons",
)

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux package"),
]


def deb_group() -> list[str]:
    out = []
    for line in DEPS_LIST.read_text().splitlines():
        f = line.split()
        if f and not f[0].startswith("#") and "deb" in f[1].split(","):
            out.append(f[0])
    return out


@pytest.fixture(scope="session")
def deb(bundle: Path) -> Path:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    require_tool("dpkg-deb")
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = ROOT / "dist" / f"discvault_{version}_{arch}.deb"
    assert path.exists(), f"make package made no {path.name}"
    return path


@pytest.fixture(scope="session")
def unpacked(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def field(deb: Path, name: str) -> str:
    r = subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True)
    return r.stdout.strip()


def test_control_fields(deb: Path) -> None:
    assert field(deb, "Package") == "discvault"
    assert field(deb, "Version") in deb.name
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    assert re.fullmatch(r"libc6 \(>= \d+\.\d+\)", depends[0]), depends[0]
    # The xcb platform plugin's libraries, the two a fresh Debian lacked among them.
    assert set(deb_group()) <= set(depends)
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"} <= set(depends)


def deb_entries(deb: Path) -> dict[str, tuple[str, str, list[str]]]:
    """Path -> (mode, owner, [link target]) of every entry in the package."""
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    entries = {}
    for line in listing:
        mode, owner, _size, _date, _time, path, *rest = line.split(maxsplit=6)
        entries[path.removeprefix(".").rstrip("/") or "/"] = (mode, owner, rest)
    return entries


def test_files_go_to_opt_and_the_desktop_places_only(deb: Path) -> None:
    entries = deb_entries(deb)
    assert {owner for _, owner, _ in entries.values()} == {"root/root"}
    for path in entries:
        assert path in SHARED_FOLDERS or path.startswith(
            (
                "/opt/discvault",
                "/usr/bin/discvault",
                "/usr/share/applications",
                "/usr/share/icons/hicolor",
                "/usr/share/doc/discvault",
            )
        ), path
    assert entries["/usr/bin/discvault"][2] == ["-> /opt/discvault/discvault"]
    assert entries["/opt/discvault/DiscVault"][0] == "-rwxr-xr-x"
    # One program on Linux: the CLI name is a link to it (it picks CLI or GUI by argv).
    assert entries["/opt/discvault/discvault"][2] == ["-> DiscVault"]
    assert "/usr/share/applications/discvault.desktop" in entries
    assert "/usr/share/icons/hicolor/scalable/apps/discvault.svg" in entries
    for size in PNG_SIZES:
        assert f"/usr/share/icons/hicolor/{size}x{size}/apps/discvault.png" in entries


def test_desktop_entry_and_icons(unpacked: Path) -> None:
    desktop = unpacked / "usr/share/applications/discvault.desktop"
    text = desktop.read_text()
    assert "\nExec=/opt/discvault/DiscVault %f\n" in text
    mime = re.search(r"(?m)^MimeType=(.*)$", text)
    assert mime is not None
    assert {"application/x-cd-image", "application/vnd.efi.iso"} <= set(mime.group(1).split(";"))
    require_tool("desktop-file-validate")
    r = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert r.returncode == 0 and "error" not in r.stdout.lower(), r.stdout + r.stderr
    for size in PNG_SIZES:
        png = (unpacked / f"usr/share/icons/hicolor/{size}x{size}/apps/discvault.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        assert struct.unpack(">II", png[16:24]) == (size, size)


def test_maintainer_scripts_are_valid_sh(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "-e", str(deb), str(tmp_path / "ctl")], check=True)
    for name in ("postinst", "postrm"):
        script = tmp_path / "ctl" / name
        assert os.access(script, os.X_OK), name
        assert subprocess.run(["sh", "-n", str(script)]).returncode == 0, name
        assert "update-desktop-database" in script.read_text()


# --- installed for real: only where it may change the system (CI, or asked for) ---------------

CACHES = ("/usr/share/applications/mimeinfo.cache", "/usr/share/icons/hicolor/icon-theme.cache")


def snapshot(folders: set[str]) -> set[str]:
    """What ``folders`` hold (one level). Watching only the folders the package writes to keeps
    other work on a shared machine out of the comparison."""
    return {os.path.join(d, n) for d in folders if os.path.isdir(d) for n in os.listdir(d)}


def dpkg_status(pkg: str) -> str:
    r = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}", pkg], capture_output=True, text=True
    )
    return r.stdout.strip() if r.returncode == 0 else "un"


@pytest.fixture
def system_install_allowed() -> Iterator[None]:
    if not (in_ci() or os.environ.get("DISCVAULT_TEST_DEB_INSTALL")):
        pytest.skip(
            "installs a package system-wide: runs in CI or with DISCVAULT_TEST_DEB_INSTALL=1"
        )
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        msg = "installing the .deb needs root and apt-get"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    if dpkg_status("discvault").startswith("i"):
        pytest.fail("discvault is already installed here: this test would replace it")
    yield
    if dpkg_status("discvault") != "un":  # a failed run: leave the machine as it was
        subprocess.run(["dpkg", "--purge", "discvault"], capture_output=True)


def apt(*args: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    r = subprocess.run(
        ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_install_run_and_remove_leave_nothing(
    deb: Path, system_install_allowed: None, tmp_path: Path
) -> None:
    ours = set(deb_entries(deb))
    folders = {os.path.dirname(p) for p in ours} | {"/opt", "/usr/bin"}
    before = snapshot(folders)
    apt("install", "-y", "--no-install-recommends", str(deb))
    try:
        installed = snapshot(folders) - before
        assert "/opt/discvault/DiscVault" in installed and "/usr/bin/discvault" in installed
        # On PATH, as a user types it.
        r = subprocess.run(["discvault", "--version"], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("discvault "), r.stderr
        assert shutil.which("discvault") == "/usr/bin/discvault"
        # The GUI from the installed files, offscreen and (when there is an X server to start)
        # on xcb, which proves the platform plugin finds every library it links.
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(tmp_path)}
        cmd = ["/opt/discvault/DiscVault", "--self-test"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=180)
        assert r.returncode == 0 and "backup ok, inspector ok" in r.stdout, r.stdout + r.stderr
        if shutil.which("xvfb-run") and shutil.which("Xvfb"):
            env["QT_QPA_PLATFORM"] = "xcb"
            r = subprocess.run(
                ["xvfb-run", "-a", *cmd], capture_output=True, text=True, env=env, timeout=180
            )
            assert r.returncode == 0 and "backup ok" in r.stdout, r.stdout + r.stderr
        # The .iso association reaches the desktop's MIME cache (where the machine keeps one).
        if shutil.which("update-desktop-database"):
            cache = Path(CACHES[0]).read_text()
            assert re.search(r"(?m)^application/x-cd-image=.*discvault\.desktop", cache), cache
    finally:
        apt("remove", "-y", "discvault")
    left = snapshot(folders) - before
    assert not left - set(CACHES), sorted(left)[:20]
    assert not any(os.path.lexists(p) for p in ours - before - set(SHARED_FOLDERS))
    assert not os.path.lexists("/opt/discvault") and not os.path.lexists("/usr/bin/discvault")
    if os.path.exists(CACHES[0]):
        assert "discvault.desktop" not in Path(CACHES[0]).read_text()
    assert dpkg_status("discvault") in ("un", "rc", "pn")
