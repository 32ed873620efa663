"""Files for a drag out of the inspector: a file manager wants real files at the drop, so a
small selection is extracted to a temporary folder there and then. Qt-free; the page only asks
and shows what it is told."""

from __future__ import annotations

import os
import tempfile

from app.core.base.units import human_bytes
from app.core.fs.extract import extract
from app.core.fs.inspection import Inspection
from app.core.fs.node import Node


def selection_bytes(insp: Inspection, nodes: list[Node]) -> int:
    """What extracting ``nodes`` would write (a folder: everything below it)."""
    return sum(n.size if not n.is_dir else sum(c.size for c in insp.walk(n)) for n in nodes)


def files_for_drag(insp: Inspection, nodes: list[Node], limit: int) -> tuple[list[str], list[str]]:
    """(the extracted files, messages for the user). Past ``limit`` bytes nothing is extracted:
    the drop waits for it, and a large one would freeze the window (Extract… runs in the
    background instead)."""
    size = selection_bytes(insp, nodes)
    if size > limit:
        return [], [f"{human_bytes(size)} is too much to drag: use Extract… instead"]
    tmp = tempfile.mkdtemp(prefix="discvault-drag-")
    res = extract(insp, [n.path for n in nodes], tmp)
    said = [f"{path}: {why}" for path, why in res.refused]
    got = [os.path.join(tmp, n.name) for n in nodes]
    return [p for p in got if os.path.lexists(p)], said
