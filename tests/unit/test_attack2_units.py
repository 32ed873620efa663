"""The progress headline says what a verify reads: "against the disc" only when a disc is read
(a verify of a .cue alone said it while it re-checked the image's own EDC/ECC)."""

from __future__ import annotations

from app.core.base.events import Progress
from app.core.base.units import describe


def verifying(label: str) -> str:
    p = Progress("verify", 1, 1, 10, 100, 10, 0, 0, 0.0, None, phase_label=label)
    return describe(p).headline


def test_a_verify_without_a_disc_does_not_claim_one() -> None:
    assert "disc" not in verifying("checking every sector's EDC/ECC")
    assert "disc" not in verifying("reading the image")
    assert verifying("comparing with the disc") == "Verifying the image against the disc"
