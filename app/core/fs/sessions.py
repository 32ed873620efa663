"""Multi-session discs: what an earlier session holds that the last one no longer shows.

Session N's directories point into earlier sessions by absolute LBA; a file the last session
deleted or replaced is still on the disc, in the earlier session's tree. This tells them apart:
in the earlier tree, a file whose path the last session lacks was deleted; one whose path it
has with other data was replaced.
"""

from __future__ import annotations

from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import InspectError


def _files(insp: Inspection) -> dict[str, tuple[tuple[int, int], ...]]:
    return {n.path: tuple(n.extents) for n in insp.walk(keep=False) if n.kind != "dir"}


def changes(earlier: Inspection, last: Inspection) -> dict[str, str]:
    """Path -> "deleted" or "replaced", for the earlier session's files the last one changed."""
    now = _files(last)
    out: dict[str, str] = {}
    for path, extents in _files(earlier).items():
        got = now.get(path)
        if got is None:
            out[path] = "deleted"
        elif got != extents:
            out[path] = "replaced"
    return out


def mark_earlier(insp: Inspection) -> None:
    """Viewing an earlier session: mark (``Node.later``) what the last session deleted or
    replaced."""
    numbers = [n for n, _, _ in insp.sessions]
    if len(numbers) < 2 or insp.session == numbers[-1]:
        return
    try:
        last = open_image(insp.path, numbers[-1], insp.view if insp.view != "hfs" else None)
    except InspectError as e:  # the last session cannot be read: this one still can
        insp.problem(f"session {numbers[-1]}: {e}", "layout")
        return
    try:
        insp.later = changes(insp, last)
    finally:
        last.close()


def only_earlier(insp: Inspection) -> list[tuple[str, int, str]]:
    """Viewing the last session: (path, session, "deleted"/"replaced") of every file that only
    an earlier session holds (the newest earlier version of each)."""
    numbers = [n for n, _, _ in insp.sessions]
    if len(numbers) < 2 or insp.session != numbers[-1]:
        return []
    seen: dict[str, tuple[int, str]] = {}
    for number in numbers[:-1]:
        try:
            earlier = open_image(insp.path, number)
        except InspectError as e:
            insp.problem(f"session {number}: {e}", "layout")
            continue
        try:
            for path, status in changes(earlier, insp).items():
                seen[path] = (number, status)
        finally:
            earlier.close()
    return sorted((p, n, s) for p, (n, s) in seen.items())
