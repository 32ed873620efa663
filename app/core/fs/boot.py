"""El Torito boot images as files, named and sized the way 7-Zip shows them (``[BOOT]/...``)."""

from __future__ import annotations

from app.core.fs.inspection import Inspection
from app.core.fs.node import SECTOR, Node, missing_bytes

BOOT_DIR = "[BOOT]"
# 7-Zip's names for the boot media types, and the fixed sizes of emulated floppies.
_MEDIA = {
    "no emulation": "NoEmul",
    "1.2M floppy": "1.2M",
    "1.44M floppy": "1.44M",
    "2.88M floppy": "2.88M",
    "hard disk": "HardDisk",
}
_FLOPPY = {"1.2M floppy": 1200 << 10, "1.44M floppy": 1440 << 10, "2.88M floppy": 2880 << 10}


def boot_images(insp: Inspection) -> list[Node]:
    """One file node per boot entry: ``/[BOOT]/Boot-NoEmul.img``, or ``/[BOOT]/1-Boot-...``
    when there are several. A floppy image is the floppy's size; any other is the entry's
    count of 512-byte sectors, cut at the end of the image (as 7-Zip does)."""
    out: list[Node] = []
    many = len(insp.boot) > 1
    for k, b in enumerate(insp.boot, 1):
        size = _FLOPPY.get(b.emulation, b.sectors * 512)
        start = b.lba * SECTOR
        if start < insp.size:
            size = min(size, insp.size - start)
        name = (f"{k}-" if many else "") + f"Boot-{_MEDIA.get(b.emulation, 'Unknown')}.img"
        extents = [(b.lba, size)] if size else []
        out.append(
            Node(
                name,
                f"/{BOOT_DIR}/{name}",
                "file",
                size,
                extents,
                missing=missing_bytes(extents, insp.size),
            )
        )
    return out
