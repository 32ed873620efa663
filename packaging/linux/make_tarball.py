"""dist/DiscVault (onedir) -> dist/DiscVault-VERSION-linux-ARCH.tar.gz with .desktop and icon."""

from __future__ import annotations

import platform
import shutil
import sys
import tarfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    bundle = ROOT / "dist" / "DiscVault"
    if not bundle.is_dir():
        print("dist/DiscVault is missing: run pyinstaller first", file=sys.stderr)
        return 1
    shutil.copy(ROOT / "packaging" / "linux" / "discvault.desktop", bundle / "discvault.desktop")
    shutil.copy(ROOT / "resources" / "discvault.png", bundle / "discvault.png")
    out = ROOT / "dist" / f"DiscVault-{version}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=9) as tar:
        tar.add(bundle, arcname=f"DiscVault-{version}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
