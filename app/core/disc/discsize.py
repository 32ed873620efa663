"""How many sectors a disc really has.

Device capacity is not the disc: a TAO CD-R adds two unreadable run-out sectors, DVD±R capacity
can exceed what was written. The ISO 9660 volume space size is what the filesystem claims; when
it fits inside the capacity it is the trustworthy figure, and the sectors past it are padding,
not damage. UDF-only discs have no PVD: their capacity is used as is (reported as such).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from app.core.disc.sources import ReadError, SectorSource

PVD_LBA = 16
UDF_ANCHOR_LBA = 256


@dataclass(frozen=True)
class DiscSize:
    sectors: int  # what the backup covers
    capacity: int  # what the device reports
    filesystem: int | None  # what the filesystem claims, when known
    basis: str  # "iso9660", "capacity", "capacity (UDF-only)", ...
    note: str = ""


def iso9660_volume_space(pvd: bytes) -> int | None:
    """Volume space size from a primary volume descriptor sector, or None if it is not one."""
    if len(pvd) < 2048 or pvd[0] != 1 or pvd[1:6] != b"CD001":
        return None
    le = int(struct.unpack_from("<I", pvd, 80)[0])
    be = int(struct.unpack_from(">I", pvd, 84)[0])
    # Both-endian field: a mismatch means a corrupt descriptor, so do not trust either.
    return le if le == be or be == 0 else None


def is_udf_anchor(sector: bytes) -> bool:
    return len(sector) >= 16 and struct.unpack_from("<H", sector, 0)[0] == 2


def determine(source: SectorSource) -> DiscSize:
    capacity = source.sector_count
    try:
        pvd = source.read(PVD_LBA, 1) if capacity > PVD_LBA else b""
    except ReadError:
        return DiscSize(capacity, capacity, None, "capacity", "LBA 16 unreadable: using capacity")
    vss = iso9660_volume_space(pvd)
    if vss is not None:
        if 0 < vss <= capacity:
            pad = capacity - vss
            note = f"{pad} sector(s) past the filesystem are padding/run-out" if pad else ""
            return DiscSize(vss, capacity, vss, "iso9660", note)
        return DiscSize(
            capacity,
            capacity,
            vss,
            "capacity",
            f"filesystem claims {vss} sectors: larger than disc",
        )
    try:
        anchor = source.read(UDF_ANCHOR_LBA, 1) if capacity > UDF_ANCHOR_LBA else b""
    except ReadError:
        anchor = b""
    if is_udf_anchor(anchor):
        return DiscSize(capacity, capacity, None, "capacity (UDF-only)")
    return DiscSize(capacity, capacity, None, "capacity", "no ISO 9660 or UDF filesystem found")
