"""What the Back up page says (its hints, in one place to read and to test) and how much of an
unfinished image a resume would still read."""

from __future__ import annotations

from app.core.base import mapfile
from app.core.disc import plan as planmod
from app.core.disc.layout import DiscLayout

AUTO_TIP = (
    "Auto: back up every disc put in this drive, unattended, into the library — new discs "
    "backed up, known incomplete ones filled in, known complete ones skipped"
)
NO_AUTO_TIP = "Auto needs a drive (or a device): the demo drive cannot take another disc"
EMPTY_HINT = "Pick a drive on the left, check where the image goes, and press {button}."
NOT_READY_HINT = (
    "There is nothing to back up in this drive now: put a disc in it, or pick another "
    "drive on the left."
)
ANOTHER_HINT = (
    "Put the disc in another drive and pick that drive on the left: {button} then reads only "
    "what is still missing."
)
NO_OTHER_DRIVE = (
    "No other drive is connected. Connect one (a USB drive will do) and pick it on the left, "
    "or put the disc back in this drive after cleaning it and press {button}."
)
MOVED_HINT = "Press {button} to read what is missing with {drive}."


def missing_data(mf: mapfile.Mapfile) -> int:
    """Data sectors a resume would still read. Run-out and session gaps the backup recorded
    as not data never count: a whole multi-session backup is complete, not "missing 23 MB"."""
    rmap = mf.map
    try:
        layout = DiscLayout.from_json(mf.meta.get("layout"))
        plan = planmod.from_json(layout, rmap.size, mf.meta.get("not_data"))
    except (ValueError, TypeError):  # a GNU ddrescue mapfile: every sector is data
        return rmap.size - rmap.count("+")[0]
    return plan.damaged(rmap)
