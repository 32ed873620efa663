"""Drive control, on the drive model: what the drive's retry count and speed settings save.

DiscVault's SG_IO drive layer (``app/platform/sgsource.py`` + ``drivectl.py``) and the rescue
engine run unchanged; the SG_IO ioctl is answered in-process by the MMC drive model
(``tests/vm/usbdrive``), whose clock charges every failing try as firmware does
(``tests/vm/usbdrive/mechanics.py`` states the figures). The result is a **modelled** drive
time, not a measurement: what the same commands would cost on a drive that behaves like the
model. The same rescue runs twice: with drive control, and on the same drive refusing MODE
SELECT and both speed commands (its defaults throughout).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from benchmarks.bench_rip import RADIAL_BAND

MODEL_SECTORS = 40_000
MODEL_BANDS = ((5_000, 31), (25_000, 32))


def model_disc(tmp: Path, slow_share: float) -> tuple[Any, set[int], set[int]]:
    """A CD in the drive model with two radial scratch bands; ``slow_share`` of the marginal
    sectors read only at 8x or slower."""
    import random as rnd

    from benchmarks.scenarios import radial_scratch
    from tests.vm.usbdrive.disc import Disc

    defects: list[dict[str, Any]] = []
    bad: set[int] = set()
    slow: set[int] = set()
    rng = rnd.Random(9)
    for start, seed in MODEL_BANDS:
        faults, b, _ = radial_scratch(start, RADIAL_BAND, seed)
        bad |= b
        for f in faults:
            if f["kind"] == "bad":
                defects.append({"lba": f["lba"]})
            elif rng.random() < slow_share:
                defects.append({"lba": f["lba"], "tries": f["fails"] + 1, "max_speed": 8 * 176})
                slow.add(f["lba"])
            else:
                defects.append({"lba": f["lba"], "tries": f["fails"] + 1})
    doc = {
        "profile": "CD-R",
        "sessions": [{"tracks": [{"start": 0, "length": MODEL_SECTORS}]}],
        "defects": defects,
        "drive": {"read_retry_count": 32, "cache": 64},
    }
    return Disc.from_dict(doc, tmp), bad, slow


REFUSE = ("MODE SELECT(10)", "SET CD SPEED", "SET STREAMING")


def model_rip(tmp: Path, slow_share: float, refuse: bool) -> dict[str, Any]:
    """One rescue through DiscVault's SG_IO drive layer, answered in-process by the drive
    model (``tests/vm/usbdrive/hostsg.py``); the model's clock gives the drive time, split
    into the fast passes (copy, trim, scrape) and the retry passes."""
    import dataclasses

    from app.core.rescue.engine import Engine
    from app.platform.sgsource import SgDriveSource
    from tests.vm.usbdrive.hostsg import model_sg
    from tests.vm.usbdrive.mmc import Drive

    disc, bad, slow = model_disc(tmp, slow_share)
    if refuse:
        disc.drive = dataclasses.replace(disc.drive, refuse=REFUSE)
    drive = Drive(disc)
    marks: list[tuple[str, float]] = []
    for f in tmp.glob("m.iso*"):
        f.unlink()
    with model_sg(drive, tmp) as dev:
        src = SgDriveSource(dev)
        set_phase = src.set_phase

        def timed_phase(phase: str) -> None:
            marks.append((phase, drive.mech.clock))
            set_phase(phase)

        src.set_phase = timed_phase  # type: ignore[method-assign]
        try:
            res = Engine(src, str(tmp / "m.iso")).run()
        finally:
            src.close()
    marks.append(("end", drive.mech.clock))
    split = {"fast": 0.0, "retry": 0.0}
    for (phase, t0), (_, t1) in itertools.pairwise(marks):
        if phase in ("copy", "trim", "scrape"):
            split["fast"] += t1 - t0
        elif phase == "retry":
            split["retry"] += t1 - t0
    unread = {lba for lo, hi, st in res.map.runs() if st != "+" for lba in range(lo, hi)}
    return {
        "modelled_seconds": drive.mech.clock,
        "fast_passes_seconds": split["fast"],
        "retry_passes_seconds": split["retry"],
        "failed_reads": res.failed_reads,
        "internal_retries": drive.mech.internal_retries,
        "bad_sectors": len(bad),
        "slow_only_sectors": len(slow),
        "recoverable_left_unread": len(unread - bad),
    }


def bench_drive_model(work: Path) -> dict[str, Any]:
    """Modelled drive time of a rescue with DiscVault's drive control, and on the same drive
    refusing it (its defaults throughout: 32 internal retries, full speed)."""
    tmp = work / "model"
    tmp.mkdir(exist_ok=True)
    out: dict[str, Any] = {"sectors": MODEL_SECTORS, "bands": [list(b) for b in MODEL_BANDS]}
    for share in (0.0, 0.5):
        out[f"slow_share_{share}"] = {
            "control": model_rip(tmp, share, refuse=False),
            "defaults": model_rip(tmp, share, refuse=True),
        }
    return out


def markdown(res: dict[str, Any]) -> list[str]:
    from tests.vm.usbdrive import mechanics as m

    lines = [
        f"## Drive control, modelled: a {res['sectors']:,}-sector CD with two radial scratch "
        "bands in the drive model",
        "",
        "Modelled drive seconds (not measured): the MMC model's clock charges "
        f"{m.RETRY_STEP} s + one revolution for every failing try, {m.ACCESS} s per seek, "
        f"{m.SPIN} s per speed change (`tests/vm/usbdrive/mechanics.py`). The drive's default "
        "is 32 internal retries at full speed. With control: 0 retries for copy, 1 for "
        "trim/scrape, 32 for the retry passes at 4x; every retry a FUA read. Defaults: the "
        "same drive refusing MODE SELECT and both speed commands.",
        "",
        "| marginal sectors that read only at ≤ 8x | drive | total | fast passes | retry "
        "passes | internal retries | recoverable left unread |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in (("slow_share_0.0", "none"), ("slow_share_0.5", "half")):
        case = res.get(key)
        if not isinstance(case, dict):
            continue
        for name, row in (("with control", case["control"]), ("its defaults", case["defaults"])):
            lines.append(
                f"| {label} | {name} | {row['modelled_seconds']:.0f} s | "
                f"{row['fast_passes_seconds']:.0f} s | {row['retry_passes_seconds']:.0f} s | "
                f"{row['internal_retries']} | {row['recoverable_left_unread']} |"
            )
    none = res.get("slow_share_0.0")
    if isinstance(none, dict):
        c, d = none["control"], none["defaults"]
        lines += [
            "",
            f"- the readable data is secured (fast passes done) "
            f"**{d['fast_passes_seconds'] / max(c['fast_passes_seconds'], 1e-9):.1f}x** sooner; "
            f"the whole rescue takes **{c['modelled_seconds'] / d['modelled_seconds']:.2f}x** "
            "the drive time: the retry passes dominate, and at the drive's default retries and "
            "a slower spin each of their failed reads costs more than at full speed",
        ]
    half = res.get("slow_share_0.5")
    if isinstance(half, dict):
        c, d = half["control"], half["defaults"]
        lines.append(
            f"- when half the marginal sectors read only at 8x or slower, the slower retries "
            f"recover them all ({d['recoverable_left_unread']} stay unread at full speed) in "
            f"**{c['modelled_seconds'] / d['modelled_seconds']:.2f}x** the drive time"
        )
    return [*lines, ""]
