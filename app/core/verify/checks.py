"""The checks that need no disc: wholeness, the mapfile's word, checksum files, the report."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from app.core.base.companions import Companions, read_small
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


def mapfile_check(
    bad_map: RangeMap, plan: Plan | None, image_sectors: int | None = None
) -> tuple[list[Check], int]:
    """What the backup's mapfile says: damaged data sectors (not-data ones are named apart),
    and whether the image still holds every sector it says was rescued (``image_sectors``)."""
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
    past = [(s, e) for s, e, st in bad_map.runs() if st == FINISHED and e > (image_sectors or 0)]
    if image_sectors is not None and past:
        last = past[-1][1] - 1
        checks.append(
            Check(
                "mapfile",
                "incomplete",
                f"truncated: the image ends at sector {image_sectors}, but the mapfile says "
                f"sectors up to {last} were rescued — it was cut short (a copy that did not "
                "fit?): copy it again from where it came",
            )
        )
    return checks, bad


MAX_SIDECAR = 1 << 20  # coreutils lines for a few files; more is not ours
MAX_REPORT = 64 << 20  # a report lists every bad range: megabytes for a badly damaged disc


def _sidecar_hash(path: str, image_name: str) -> str | None:
    """The digest recorded for ``image_name``; None when the file has no line for it.
    ``OSError`` when it is not a small regular file (a FIFO would block forever)."""
    text = read_small(path, MAX_SIDECAR)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for ln in lines:
        digest, _, name = ln.partition(" ")
        name = name.lstrip(" *")
        if name == image_name or len(lines) == 1:
            return digest.lower()
    return None


def recorded(image: str) -> dict[str, str]:
    """What the checksum files beside ``image`` say (algorithm -> digest), where they read."""
    out = {}
    for algo, side in Companions.of(image).sidecars.items():
        try:
            digest = _sidecar_hash(side, os.path.basename(image))
        except OSError:
            continue
        if digest is not None:
            out[algo] = digest
    return out


def report_rescued(rep: str) -> int | None:
    """The rescued sectors a backup's report records (None: no such report)."""
    try:
        doc = json.loads(read_small(rep, MAX_REPORT))
    except (OSError, ValueError, RecursionError):
        return None
    then = doc.get("rescued_sectors") if isinstance(doc, dict) else None
    return then if isinstance(then, int) and not isinstance(then, bool) else None


def _stale(rep: str, rescued_now: int | None) -> Check | None:
    """The report and checksum files describe an earlier state of the image when the mapfile
    says more (or other) sectors are rescued than the report does: a resume added sectors and
    was killed before it wrote new ones. Comparing them would call a good image a mismatch."""
    then = report_rescued(rep)
    if rescued_now is None or then is None or then == rescued_now:
        return None
    return Check(
        "report",
        "info",
        f"{os.path.basename(rep)} and the checksum files are from an earlier run of this backup "
        f"({then} sectors rescued then, {rescued_now} now): not compared — run the backup again "
        "to write new ones",
    )


def checksums(image: str, hashes: dict[str, str], rescued_now: int | None = None) -> list[Check]:
    """``rescued_now``: finished sectors per the image's mapfile (None without one)."""
    checks = []
    name = os.path.basename(image)
    comp = Companions.of(image)
    stale = _stale(comp.report, rescued_now)
    if stale is not None:
        return [stale]
    for algo, side in comp.sidecars.items():
        if not os.path.exists(side):
            continue
        tag = f"sidecar:{algo}"
        try:
            want = _sidecar_hash(side, name)
        except OSError as e:
            checks.append(Check(tag, "info", f"{side} cannot be read ({e.strerror}): not checked"))
            continue
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
        doc = json.loads(read_small(rep, MAX_REPORT))
    except OSError as e:
        why = e.strerror
        return [
            Check("report", "info", f"{name} cannot be read ({why}): its hashes were not checked")
        ]
    except (ValueError, RecursionError) as e:
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
