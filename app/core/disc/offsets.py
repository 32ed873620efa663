"""Drive read offsets: how many audio samples early or late a drive starts reading CD-DA.

Most drives do not start an audio read exactly at the sector boundary. The correction is a
constant per drive model (in samples of 4 bytes; +6 means the data must be taken 6 samples
later than the drive delivers it), and Redump and AccurateRip store audio corrected by it, so a
rip matches theirs only when it is applied. The values below are a selection of common drives
from AccurateRip's public drive-offset list (accuraterip.com/driveoffsets.htm, as mirrored with
DiscImageCreator), by the vendor and product strings the drive answers INQUIRY with. A drive
that is not here has an unknown offset: the user gives it (``--read-offset``, the setting in
the app), or the report says the audio may be shifted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# AccurateRip lists some vendors by another name than their drives' INQUIRY gives.
VENDOR_ALIASES = {"HL-DT-ST": "LG ELECTRONICS", "MATSHITA": "PANASONIC", "JLMS": "LITE-ON"}

# (vendor, product) -> correction in samples.
TABLE: dict[tuple[str, str], int] = {
    ("ASUS", "BC-12D2HT"): 6,
    ("ASUS", "BW-16D1HT"): 6,
    ("ASUS", "DRW-1608P2S"): 48,
    ("ASUS", "DRW-24B1ST"): 6,
    ("ASUS", "DRW-24B3ST"): 6,
    ("ASUS", "DRW-24B5ST"): 6,
    ("ASUS", "DRW-24D3ST"): 6,
    ("ASUS", "DRW-24D5MT"): 6,
    ("ASUS", "DRW-24F1MT"): 6,
    ("ASUS", "DRW-24F1ST"): 6,
    ("ASUS", "SDRW-08D3S-U"): 6,
    ("ASUS", "SDRW-08U5S-U"): 6,
    ("NEC", "DVD_RW ND-3520A"): 48,
    ("NEC", "DVD_RW ND-3540A"): 48,
    ("NEC", "DVD_RW ND-3550A"): 48,
    ("NEC", "DVD_RW ND-4550A"): 48,
    ("OPTIARC", "DVD RW AD-7200S"): 48,
    ("OPTIARC", "DVD RW AD-7240S"): 48,
    ("OPTIARC", "DVD RW AD-7260S"): 48,
    ("OPTIARC", "DVD RW AD-7280S"): 48,
    ("OPTIARC", "DVD RW AD-7560S"): 6,
    ("OPTIARC", "DVD RW AD-7580S"): 6,
    ("OPTIARC", "DVD RW AD-7710H"): 48,
    ("PANASONIC", "BD-MLT UJ260"): 103,
    ("PANASONIC", "BD-MLT UJ272"): 103,
    ("PANASONIC", "DVD-RAM UJ-850S"): 102,
    ("PANASONIC", "DVD-RAM UJ8A0AS"): 102,
    ("PANASONIC", "DVD-RAM UJ8C2"): 103,
    ("PANASONIC", "DVD-RAM UJ8E2"): 103,
    ("PIONEER", "BD-ROM BDC-202"): 667,
    ("PIONEER", "BD-RW BDR-205"): 667,
    ("PIONEER", "BD-RW BDR-206"): 667,
    ("PIONEER", "BD-RW BDR-207D"): 667,
    ("PIONEER", "BD-RW BDR-208D"): 667,
    ("PIONEER", "BD-RW BDR-209D"): 667,
    ("PIONEER", "BD-RW BDR-209M"): 667,
    ("PIONEER", "BD-RW BDR-S09"): 667,
    ("PIONEER", "BD-RW BDR-XD04"): 667,
    ("PIONEER", "BD-RW BDR-XD05"): 667,
    ("PIONEER", "DVD RW DVR-108"): 48,
    ("PIONEER", "DVD RW DVR-109"): 48,
    ("PIONEER", "DVD-ROM DVD-106"): 102,
    ("PIONEER", "DVD-ROM DVD-105"): 690,
    ("PLEXTOR", "DVDR PX-716A"): 30,
}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().upper())


@dataclass(frozen=True)
class ReadOffset:
    samples: int
    source: str  # "user" (given), "table" (the drive's model is listed), "unknown"

    @property
    def known(self) -> bool:
        return self.source != "unknown"

    def describe(self, drive: str) -> str:
        if self.source == "user":
            return f"audio read offset {self.samples:+d} samples, as given"
        if self.source == "table":
            return f"audio read offset {self.samples:+d} samples for {drive} (AccurateRip's list)"
        return (
            f"the read offset of {drive or 'this drive'} is unknown: audio tracks may be "
            "shifted by a few samples against Redump and AccurateRip — give it with "
            "--read-offset (look the drive up in AccurateRip's drive offset list)"
        )

    def to_json(self) -> dict[str, object]:
        return {"samples": self.samples, "source": self.source}


def lookup(vendor: str, product: str) -> int | None:
    """The correction for a drive, by its INQUIRY vendor and product; None when unknown."""
    v, p = _norm(vendor), _norm(product)
    v = VENDOR_ALIASES.get(v, v)
    for (tv, tp), samples in TABLE.items():
        if tv == v and tp == p:
            return samples
    return None


def resolve(user: int | None, vendor: str, product: str) -> ReadOffset:
    if user is not None:
        return ReadOffset(user, "user")
    found = lookup(vendor, product)
    if found is not None:
        return ReadOffset(found, "table")
    return ReadOffset(0, "unknown")
