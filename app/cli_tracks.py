"""The tracks of a BIN/CUE in ``discvault inspect``: audio with length and pregap, data with
the EDC/ECC status of every sector (no Qt)."""

from __future__ import annotations

from app.core.fs.inspection import Inspection
from app.core.fs.node import InspectError, printable


def track_lines(i: Inspection) -> list[str]:
    """A BIN/CUE's tracks: audio ones with length and pregap, data ones with their EDC/ECC."""
    out = []
    for t in i.tracks:
        pregap = f", pregap {t['pregap']}" if t.get("pregap") else ""
        line = (
            f"  track {t['number']:02d} {t['kind']:5s} LBA {t['lba']}, {t['sectors']} sectors "
            f"({t['seconds']} s){pregap}  {printable(str(t.get('file') or ''))}"
        )
        edc = t.get("edc")
        if isinstance(edc, dict):
            if edc["bad"]:
                line += f"  EDC/ECC: {edc['bad']} sector(s) FAIL, first at LBA {edc['first_bad']}"
            elif edc["ok"] or edc["unchecked"]:
                line += f"  EDC/ECC: {edc['ok']} sectors ok"
                if edc["unchecked"]:
                    line += f", {edc['unchecked']} carry none"
        out.append(line)
    return out


def check_tracks(i: Inspection) -> None:
    """Re-check every data sector of a BIN/CUE's files by its own EDC/ECC (one read of each)."""
    sheet = getattr(i.img, "sheet", None)
    if sheet is None:
        return
    from app.core.base.events import CancelToken, no_progress
    from app.core.verify.bincue import BinCueError, check_files

    try:
        check_files(sheet, None, no_progress, CancelToken())
    except BinCueError as e:
        raise InspectError(str(e)) from e
    by_track = {f.track: f for f in sheet.files}
    for t in i.tracks:
        f = by_track.get(int(str(t["number"])))
        if f is not None and t["kind"] != "audio":
            t["edc"] = {
                "ok": f.ok,
                "bad": len(f.bad),
                "unchecked": f.unchecked,
                "first_bad": f.bad[0] if f.bad else None,
            }
