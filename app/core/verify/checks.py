"""The checks that need no disc: wholeness, the mapfile's word, checksum files, the report."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from app.core.base.companions import Companions
from app.core.base.rangemap import FINISHED, NON_TRIED, RangeMap
from app.core.disc.plan import Kind, Plan
from app.core.disc.wholeness import Wholeness


@dataclass
class Check:
    name: str  # "wholeness", "mapfile", "sidecar:md5", "report", "dat", "source"
    status: str  # "ok", "mismatch", "incomplete", "info"
    detail: str


def wholeness(w: Wholeness) -> list[Check]:
    status = "incomplete" if w.missing else ("mismatch" if w.extra_bytes else "ok")
    checks = [Check("wholeness", status, w.describe())]
    checks += [Check("layout", "info", note) for note in w.layout.notes]
    return checks


def mapfile_check(bad_map: RangeMap, plan: Plan | None) -> tuple[list[Check], int]:
    """What the backup's mapfile says: damaged data sectors (not-data ones are named apart)."""
    if plan is None:
        bad = bad_map.size - bad_map.count(FINISHED)[0]
        nd_words = ""
    else:
        bad = plan.damaged(bad_map)
        nd = plan.not_data(bad_map)
        nd_words = ", ".join(f"{n} {kind}" for kind, n in nd.items())
    checks = []
    untried = sum(
        max(0, min(e, hi) - max(s, lo))
        for s, e, st in bad_map.runs()
        if st == NON_TRIED
        for lo, hi in (plan.runs(Kind.DATA) if plan is not None else [(0, bad_map.size)])
    )
    if bad:
        words = []
        if bad - untried:
            words.append(f"{bad - untried} unreadable")
        if untried:
            words.append(f"{untried} never read (the backup stopped before them)")
        checks.append(
            Check(
                "mapfile",
                "incomplete",
                f"incomplete: {bad} data sector{'s' if bad != 1 else ''} missing per the mapfile: "
                + ", ".join(words),
            )
        )
    else:
        checks.append(Check("mapfile", "ok", "the mapfile says every data sector was rescued"))
    if nd_words:
        checks.append(Check("not-data", "info", f"unreadable but not data: {nd_words}"))
    return checks, bad


def _sidecar_hash(path: str, image_name: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    except OSError:
        return None
    for ln in lines:
        digest, _, name = ln.partition(" ")
        name = name.lstrip(" *")
        if name == image_name or len(lines) == 1:
            return digest.lower()
    return None


def checksums(image: str, hashes: dict[str, str]) -> list[Check]:
    checks = []
    name = os.path.basename(image)
    comp = Companions.of(image)
    for algo, side in comp.sidecars.items():
        if not os.path.exists(side):
            continue
        want = _sidecar_hash(side, name)
        tag = f"sidecar:{algo}"
        if want is None:
            checks.append(Check(tag, "mismatch", f"{side} has no line for {name}"))
        elif want == hashes[algo]:
            checks.append(Check(tag, "ok", f"{algo} matches {side}"))
        else:
            checks.append(
                Check(
                    tag,
                    "mismatch",
                    f"{algo} differs from {side}: image {hashes[algo]}, file {want}",
                )
            )
    checks += _report(comp.report, hashes)
    return checks


def _report(rep: str, hashes: dict[str, str]) -> list[Check]:
    if not os.path.exists(rep):
        return []
    name = os.path.basename(rep)
    try:
        with open(rep, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return [
            Check("report", "info", f"{name} cannot be read ({e}): its hashes were not checked")
        ]
    recorded = doc.get("hashes") if isinstance(doc, dict) else None
    if recorded is None:
        return []
    if not isinstance(recorded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in recorded.items()
    ):
        return [Check("report", "info", f"{name}: its 'hashes' is not a list of checksums")]
    differ = [a for a, v in recorded.items() if a in hashes and hashes[a] != v.lower()]
    if differ:
        return [Check("report", "mismatch", f"{', '.join(differ)} differ from {name}")]
    if any(a in hashes for a in recorded):
        return [Check("report", "ok", f"all hashes match {name}")]
    return []
