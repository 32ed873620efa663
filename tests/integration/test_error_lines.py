"""Every error a user can trigger from the command line is one line, says what to do, and has
the documented exit code (README: "Errors are one line on stderr: discvault: <what happened>
— <what to do>")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


CASES = [
    (["inspect", "missing.iso"], 4),
    (["inspect", "."], 4),
    (["extract", "missing.iso", "-o", "out"], 4),
    (["verify", "missing.iso"], 4),
    (["verify", "small.bin", "--against", "/dev/zero"], 4),
    (["rip", "missing.bin", "o.iso"], 4),
    (["rip", "small.bin", "nowhere/o.iso"], 4),
    (["rip", "small.bin", "small.bin"], 2),
    (["rip", "small.bin", "o.iso", "--max-time", "soon"], 2),
    (["rip"], 2),
    (["frobnicate"], 2),
    (["build", "missing-folder", "o.iso"], 4),
    (["eject", "small.bin"], 4),
    (["library", "list", "--library", "small.bin"], 4),
    ([], 4),  # the app, with no display to show it on
]


@pytest.mark.parametrize(("args", "code"), CASES, ids=[" ".join(a) or "(app)" for a, _ in CASES])
def test_one_line_with_what_to_do(tmp_path: Path, args: list[str], code: int) -> None:
    (tmp_path / "small.bin").write_bytes(bytes(40 * 2048))
    r = run(*args, cwd=tmp_path)
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("discvault: ") and " — " in lines[0], lines[0]
    assert "Traceback" not in r.stderr
