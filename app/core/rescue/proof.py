"""What a raw backup proved about its sectors, in numbers and in words (report and summary).

A data sector read raw carries its own EDC and ECC; ``rawsource`` keeps none that fails them.
What is left to say is how many data sectors were kept *without* such a proof (a Form 2 sector
recorded without EDC, a drive returning zero EDC/ECC, 2048-byte reads turned into raw ones), and
for audio, whether the drive's C2 error pointers vouched for it.
"""

from __future__ import annotations

from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc.layout import DiscLayout


def _overlap(rmap: RangeMap, status: str, lo: int, hi: int) -> int:
    n = 0
    for a, b, st in rmap.runs():
        if st == status:
            n += max(0, min(b, hi) - max(a, lo))
    return n


def _both(rmap: RangeMap, unchecked: RangeMap, lo: int, hi: int) -> int:
    """Finished sectors in [lo, hi) that are also unchecked."""
    n = 0
    for a, b in unchecked.runs_with("u"):
        a, b = max(a, lo), min(b, hi)
        if a < b:
            n += _overlap(rmap, FINISHED, a, b)
    return n


def counts(
    layout: DiscLayout,
    rmap: RangeMap,
    unchecked: RangeMap | None,
    c2: bool,
    raw: bool,
    extra: dict[str, int],
) -> dict[str, object]:
    """Data and audio sectors in the image, and how many of them were proven."""
    data = audio = not_checked = 0
    for t in layout.tracks:
        lo, hi = t.start, min(t.end, rmap.size)
        if lo >= hi:
            continue
        done = _overlap(rmap, FINISHED, lo, hi)
        if t.is_data:
            data += done
            if not raw:
                not_checked += done
            elif unchecked is not None:
                not_checked += _both(rmap, unchecked, lo, hi)
        else:
            audio += done
    doc: dict[str, object] = {
        "raw": raw,
        "data_sectors": data,
        "verified": data - not_checked,
        "not_verified": not_checked,
        "audio_sectors": audio,
        "audio_c2_checked": bool(raw and c2 and audio),
        **extra,
    }
    doc["verdict"] = words(doc)
    return doc


def words(doc: dict[str, object]) -> str:
    data, bad = int(str(doc["data_sectors"])), int(str(doc["not_verified"]))
    audio = int(str(doc.get("audio_sectors", 0)))
    parts = []
    if data:
        if not doc.get("raw"):
            parts.append(
                f"{data} data sectors read as 2048-byte user data: not checked by their own "
                "error-detection code (EDC/ECC)"
            )
        elif bad == 0:
            parts.append("every data sector verified by its own error-detection code (EDC/ECC)")
        else:
            parts.append(
                f"{data - bad} of {data} data sectors verified by their own error-detection code "
                f"(EDC/ECC); {bad} carried none to check"
            )
    if audio:
        if doc.get("audio_c2_checked"):
            parts.append(f"{audio} audio sectors read free of C2 errors")
        else:
            parts.append(f"{audio} audio sectors (the drive reports no C2 errors to check them)")
    failures = int(str(doc.get("edc_failures", 0))) + int(str(doc.get("c2_failures", 0)))
    if failures:
        parts.append(f"{failures} sector reads failed their check and were read again")
    return "; ".join(parts)
