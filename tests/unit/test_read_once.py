"""A rescued sector is read once: the passes' counts add up to what the image holds.

A cluster read that fails at a sector which then reads alone (a passing failure, as on the
demo disc's flaky spots) used to leave the sectors it had just rescued marked for trimming, so
the trim pass read them again and "read N MB this run" counted them twice."""

from __future__ import annotations

from pathlib import Path

from app.core.disc.demo import DemoSource
from app.core.rescue.engine import Engine


def test_every_rescued_sector_is_read_once(tmp_path: Path) -> None:
    result = Engine(DemoSource(rate=1e12, error_delay=0), str(tmp_path / "d.iso"), "", None).run()
    assert result.rescued_sectors > 0
    assert sum(p.recovered_sectors for p in result.passes) == result.rescued_sectors
