"""A disc's state in words, the same in the CLI and the GUI: the badge the user reads first.

Worst news first: a stored image that changed, vanished or cannot be read is what the user
must act on; then damage from the backup itself; then when it was last proven good.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.base.units import human_bytes
from app.core.library.records import DiscRecord, Event, day_of, parse_iso

STORAGE_TROUBLE = {
    "changed": "changed on storage!",
    "missing": "image missing!",
    "unreadable": "unreadable on storage!",
}


@dataclass(frozen=True)
class DiscState:
    key: str  # "changed", "missing", "unreadable", "mismatch", "incomplete", "verified", "complete"
    badge: str  # what the table shows
    verified: str  # date of the last good verification ("" if never)
    health: str  # last health scan, in a few words ("" if never)

    @property
    def alarming(self) -> bool:
        return self.key in (*STORAGE_TROUBLE, "mismatch")


def _after_backup(ev: Event, rec: DiscRecord) -> bool:
    """An event that predates the current backup (a resume replaced the image) says nothing
    about the image now."""
    when, backed = parse_iso(ev.at), parse_iso(rec.backed_up)
    return when is None or backed is None or when >= backed


def damage_words(rec: DiscRecord) -> str:
    n = rec.damaged_files
    files = f" ({n} file{'s' if n != 1 else ''})" if n else ""
    return f"{human_bytes(rec.unreadable_bytes)} unreadable{files}"


def disc_state(rec: DiscRecord, events: list[Event]) -> DiscState:
    """``events``: the disc's verify and health events, oldest first."""
    verifies = [e for e in events if e.kind == "verify" and _after_backup(e, rec)]
    health = [e for e in events if e.kind == "health"]
    last = verifies[-1] if verifies else None
    good = [e for e in verifies if e.outcome in ("good", "incomplete")]
    verified = day_of(good[-1].at) if good else ""
    scan = f"{health[-1].outcome} ({day_of(health[-1].at)})" if health else ""
    if rec.image_bytes == 0 and "image missing" in rec.problem:
        return DiscState("missing", STORAGE_TROUBLE["missing"], verified, scan)
    if last is not None and last.outcome in STORAGE_TROUBLE:
        return DiscState(last.outcome, STORAGE_TROUBLE[last.outcome], verified, scan)
    if last is not None and last.outcome == "mismatch":
        return DiscState("mismatch", "did not match the disc!", verified, scan)
    if not rec.complete:
        badge = damage_words(rec)
        if rec.outcome not in ("complete", "incomplete"):
            badge = f"backup {rec.outcome.replace('_', ' ')}: {badge}"
        return DiscState("incomplete", badge, verified, scan)
    if verified:
        return DiscState("verified", f"verified {verified}", verified, scan)
    return DiscState("complete", "complete", verified, scan)
