"""The core must import and read on systems without fcntl, pread and preadv (Windows)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = r"""
import builtins, os, sys
real = builtins.__import__
def fake(name, *a, **k):
    if name == "fcntl":
        raise ImportError("no fcntl here")
    return real(name, *a, **k)
builtins.__import__ = fake
del os.pread, os.preadv
import app.cli, app.cli_disc, app.core.rescue.engine, app.core.verify.verifier
import app.core.fs.inspection, app.core.create.builder, app.platform
from app.core.rescue.engine import rescue
from app.core.disc.sources import ImageSource
from app.core.verify.verifier import verify
src = ImageSource(sys.argv[1])
r = rescue(src, sys.argv[2])
src.close()
print(r.outcome, verify(sys.argv[2]).outcome)
"""


def test_core_runs_without_posix_only_calls(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 8 * 64)
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(src), str(tmp_path / "o.iso")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["complete", "good"]
    assert (tmp_path / "o.iso").read_bytes() == src.read_bytes()
