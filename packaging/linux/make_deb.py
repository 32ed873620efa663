"""dist/DiscVault (onedir) -> dist/discvault_VERSION_ARCH.deb, built with dpkg-deb alone.

Installs the bundle into /opt/discvault, links /usr/bin/discvault to the console program, and
adds a desktop entry (Exec=/opt/discvault/DiscVault %f; the .iso MIME types) and hicolor icons
(the SVG and PNGs rendered from it). postinst/postrm refresh the desktop and icon caches, so
after `apt-get remove` nothing of ours is left in /opt or /usr.

Depends is the `deb` group of packaging/deps/apt.txt (the same list `make run` installs) plus
libc6 at least as new as the build machine's (the bundle carries libraries linked against it).
The build checks that list the way dpkg-shlibdeps would: every library an ELF file in the bundle
links and the bundle does not carry must come from a package in Depends (or libc6),
else it stops and names the library.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPS_LIST = ROOT / "packaging" / "deps" / "apt.txt"
PREFIX = "/opt/discvault"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
# The tarball's extras that make_tarball.py drops into dist/DiscVault; the .deb puts its own
# desktop entry and icons where the desktop looks for them.
TARBALL_ONLY = {"discvault.desktop", "discvault.png"}

# Run after dpkg has put our files in place / taken them away. Triggers of desktop-file-utils
# and the icon theme do the same on Debian; calling the tools directly also covers derivatives
# without them. A cache is only refreshed where the machine keeps one, never created, so
# removing the package leaves no new file behind.
MAINT_SCRIPT = """#!/bin/sh
set -e
case "$1" in
{cases})
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 \\
        && [ -f /usr/share/icons/hicolor/icon-theme.cache ]; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
    ;;
esac
exit 0
"""

DESCRIPTION = """\
Back up optical discs to verified .iso images
 DiscVault reads CDs, DVDs and Blu-ray data discs the way a data-rescue
 professional would: a ddrescue-style multi-pass rescue with GNU ddrescue
 mapfiles, checksums and verification, an inspector for ISO 9660, Joliet,
 Rock Ridge and UDF images with safe extraction, and image building.
 .
 This package installs the self-contained build into /opt/discvault."""


def deb_depends() -> list[str]:
    pkgs = []
    for line in DEPS_LIST.read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "deb" in fields[1].split(","):
            pkgs.append(fields[0])
    return pkgs


def run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def elf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def owner_package(soname: str, ldcache: dict[str, str]) -> str | None:
    """The Debian package that ships ``soname`` here, trying both sides of the /usr merge."""
    path = ldcache.get(soname)
    if path is None:
        return None
    candidates = {path, os.path.realpath(path)}
    for p in list(candidates):
        if p.startswith("/usr/lib/"):
            candidates.add(p[len("/usr") :])
        elif p.startswith("/lib/"):
            candidates.add("/usr" + p)
    for p in sorted(candidates):
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":", 1)[0].strip()
    return None


def check_depends(bundle: Path, depends: list[str]) -> None:
    carried = {p.name for p in bundle.rglob("*") if p.is_file() or p.is_symlink()}
    needed: dict[str, str] = {}
    for p in bundle.rglob("*"):
        if p.is_file() and not p.is_symlink() and is_elf(p):
            for soname in elf_needed(p):
                if soname not in carried:
                    needed.setdefault(soname, str(p.relative_to(bundle)))
    ldcache: dict[str, str] = {}
    for line in run("/sbin/ldconfig", "-p").splitlines()[1:]:
        m = re.match(r"\s*(\S+) \((.*)\) => (\S+)", line)
        if m and ("64" in m.group(2)) == (sys.maxsize > 2**32):
            ldcache.setdefault(m.group(1), m.group(3))
    problems = []
    for soname, user in sorted(needed.items()):
        pkg = owner_package(soname, ldcache)
        if pkg is None:
            problems.append(f"{soname} (needed by {user}) is not installed here")
            continue
        name = pkg.split(":")[0]
        if name not in depends and name != "libc6":  # libc6 (>= the build's) is added below
            problems.append(f"{soname} (needed by {user}) comes from {name}, not in Depends")
    if problems:
        raise SystemExit(
            "discvault: the .deb would miss libraries — add their packages to the deb group of "
            "packaging/deps/apt.txt:\n  " + "\n  ".join(problems)
        )


def glibc_version() -> str:
    version = run("dpkg-query", "-W", "-f=${Version}", "libc6")
    return re.split(r"[-+~]", version)[0]


def render_icons(share: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    svg = ROOT / "resources" / "discvault.svg"
    hicolor = share / "icons" / "hicolor"
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy(svg, hicolor / "scalable" / "apps" / "discvault.svg")
    renderer = QSvgRenderer(str(svg))
    for size in ICON_SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        renderer.render(painter)
        painter.end()
        out = hicolor / f"{size}x{size}" / "apps" / "discvault.png"
        out.parent.mkdir(parents=True)
        if not img.save(str(out)):
            raise SystemExit(f"discvault: could not write {out} — check the Qt image plugins")


def desktop_entry() -> str:
    text = (ROOT / "packaging" / "linux" / "discvault.desktop").read_text()
    return re.sub(r"(?m)^Exec=.*$", f"Exec={PREFIX}/DiscVault %f\nTryExec={PREFIX}/DiscVault", text)


def normalise_modes(tree: Path) -> None:
    """0755 for folders and programs, 0644 for the rest, whatever the umask was."""
    for dirpath, dirnames, filenames in os.walk(tree):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.stat(p).st_mode & 0o111 else 0o644)
    os.chmod(tree, 0o755)


def md5sums(stage: Path) -> str:
    lines = []
    for p in sorted(stage.rglob("*")):
        if p.is_file() and not p.is_symlink() and "DEBIAN" not in p.relative_to(stage).parts:
            digest = hashlib.md5(p.read_bytes()).hexdigest()
            lines.append(f"{digest}  {p.relative_to(stage).as_posix()}\n")
    return "".join(lines)


def main() -> int:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    bundle = ROOT / "dist" / "DiscVault"
    if not bundle.is_dir():
        print("discvault: dist/DiscVault is missing — run pyinstaller first", file=sys.stderr)
        return 1
    if shutil.which("dpkg-deb") is None:
        print("discvault: dpkg-deb is missing — apt-get install dpkg", file=sys.stderr)
        return 1
    arch = run("dpkg", "--print-architecture")
    depends = deb_depends()
    check_depends(bundle, depends)

    stage = ROOT / "build" / "deb" / f"discvault_{version}_{arch}"
    shutil.rmtree(stage, ignore_errors=True)
    opt = stage / PREFIX.lstrip("/")
    shutil.copytree(bundle, opt, symlinks=True, ignore=lambda d, names: TARBALL_ONLY & set(names))
    usr = stage / "usr"
    (usr / "bin").mkdir(parents=True)
    os.symlink(f"{PREFIX}/discvault", usr / "bin" / "discvault")
    share = usr / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / "discvault.desktop").write_text(desktop_entry())
    render_icons(share)
    doc = share / "doc" / "discvault"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        "Upstream-Name: DiscVault\n\nFiles: *\nCopyright: DiscVault developers\n"
        "License: GPL-3.0-or-later\n On Debian systems the full text of the GNU General Public\n"
        " License version 3 is in /usr/share/common-licenses/GPL-3.\n"
    )
    normalise_modes(stage)

    debian = stage / "DEBIAN"
    debian.mkdir()
    installed_kib = sum(p.lstat().st_size for p in stage.rglob("*")) // 1024 + 1
    control = {
        "Package": "discvault",
        "Version": version,
        "Architecture": arch,
        "Maintainer": "DiscVault maintainers <maintainers@users.noreply.r-seed-5b70e118.example>",
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join([f"libc6 (>= {glibc_version()})", *depends]),
        "Section": "otherosfs",
        "Priority": "optional",
        "Description": DESCRIPTION,
    }
    (debian / "control").write_text("".join(f"{k}: {v}\n" for k, v in control.items()))
    (debian / "md5sums").write_text(md5sums(stage))
    for name, cases in (("postinst", "configure"), ("postrm", "remove|purge")):
        script = debian / name
        script.write_text(MAINT_SCRIPT.format(cases=cases))
        script.chmod(0o755)
    (debian / "control").chmod(0o644)
    (debian / "md5sums").chmod(0o644)

    out = ROOT / "dist" / f"discvault_{version}_{arch}.deb"
    out.unlink(missing_ok=True)
    # xz keeps the download smallest; dpkg-deb runs it on every core.
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
