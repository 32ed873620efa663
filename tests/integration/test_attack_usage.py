"""Settings that make no sense are usage errors, not silent hazards.

Seen before these tests: ``--save-interval nan`` (or ``inf``) was accepted and the mapfile was
then never saved while reading (``now - last >= nan`` is never true): a kill -9 lost the whole
run, where the README promises at most --save-interval seconds. ``--cluster 99999999999`` was
accepted and each read asked for the whole disc at once: a DVD's 4.7 GB in one buffer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import random_bytes
from tests.integration.test_attack_companions import cli


@pytest.mark.parametrize(
    "option",
    [
        ["--save-interval", "nan"],
        ["--save-interval", "inf"],
        ["--save-interval", "-5"],
        ["--save-interval", "soon"],
        ["--cluster", "99999999999"],
    ],
)
def test_nonsense_settings_are_usage_errors(tmp_path: Path, option: list[str]) -> None:
    src = tmp_path / "disc.bin"
    src.write_bytes(random_bytes(64 * 2048))
    out = tmp_path / "o.iso"
    r = cli("rip", str(src), str(out), *option)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(f"discvault: rip: argument {option[0]}")
    assert not out.exists()
