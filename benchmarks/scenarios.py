"""Damage as real discs have it, as fault lists for tests/faultfs.py.

A radial scratch runs from the hub outwards and crosses the spiral once per revolution. A CD is
read at constant linear velocity, so a revolution holds about 9 sectors at the hub and 21 at the
rim: sectors per revolution grow with the radius, i.e. with the square root of the LBA. The
scratch leaves a burst of 1-2 unreadable sectors every revolution across its band; about a
third of them are marginal (they read after 1-3 more tries).
"""

from __future__ import annotations

import math
import random
from typing import Any

CD_SECTORS = 360_000  # an 80-minute CD
HUB, RIM = 9.0, 21.0
# sectors per revolution = HUB * sqrt(1 + lba / K), with K chosen so the rim gives RIM
K = CD_SECTORS / ((RIM / HUB) ** 2 - 1)


def per_revolution(lba: int) -> float:
    return HUB * math.sqrt(1 + lba / K)


def radial_scratch(
    start: int, length: int, seed: int, marginal: float = 1 / 3
) -> tuple[list[dict[str, Any]], set[int], set[int]]:
    """Faults for a scratch band ``[start, start + length)``: (faults, permanently bad sectors,
    marginal sectors). The scratch's angle wanders by up to a sector per turn."""
    rng = random.Random(seed)
    faults: list[dict[str, Any]] = []
    bad: set[int] = set()
    marg: set[int] = set()
    pos = float(start + rng.randrange(0, 9))
    while pos < start + length:
        lba = int(pos)
        width = 1 if rng.random() < 0.6 else 2
        for s in range(lba, lba + width):
            if rng.random() < marginal:
                faults.append({"lba": s, "kind": "flaky", "fails": rng.randint(1, 3)})
                marg.add(s)
            else:
                faults.append({"lba": s, "kind": "bad"})
                bad.add(s)
        pos += per_revolution(lba) + rng.uniform(-0.6, 0.6)
    return faults, bad, marg
