"""One `make package` per test session, shared by the bundle and the .deb tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"


@pytest.fixture(scope="session")
def bundle() -> Path:
    """dist/DiscVault, freshly built (with the tarball and the .deb beside it)."""
    if os.environ.get("DISCVAULT_SKIP_PACKAGE") and not os.environ.get("CI"):
        pytest.skip("DISCVAULT_SKIP_PACKAGE is set")
    r = subprocess.run(["make", "package"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return DIST / "DiscVault"
