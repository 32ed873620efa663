"""A CD drive on the host: the emulated drive's firmware (tests/vm/usbdrive) answering the very
CDBs DiscVault sends through SG_IO in the guest.

The fault is injected at the device (the disc description: defects, silent corruptions, C2, a
read offset); DiscVault's code above the SCSI command — READ CD framing, C2 parsing, the raw
source's proofs, the engine, the BIN/CUE output — is the real one. The VM tests run the same
discs through the guest kernel's sr/usb-storage and DiscVault's SG_IO source.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

from app.core.disc import offsets, toc
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout
from app.core.disc.rawsource import RawCdSource
from app.core.disc.sources import ReadError, SourceGone
from app.platform import readcd
from tests.vm.usbdrive.disc import Disc, Sense
from tests.vm.usbdrive.mmc import Drive

SECTOR = 2048
USB_BYTES = 120 * 1024  # what one command carries over usb-storage


class ModelCommandError(OSError):
    """CHECK CONDITION, as sgio.ScsiError reports it: an OSError with the sense attached."""

    def __init__(self, sense: Sense) -> None:
        super().__init__(errno.EIO, f"sense {sense}")
        self.sense = sense


class ModelDriveSource:
    """A ``SectorSource`` (2048-byte READ(12) reads) over the model, with ``raw_source``."""

    medium: str | None = "CD"
    protection = ""
    is_drive = True

    def __init__(self, disc: Disc | Path | str | dict[str, Any], base: Path | None = None) -> None:
        if isinstance(disc, dict):
            disc = Disc.from_dict(disc, base)
        elif not isinstance(disc, Disc):
            disc = Disc.load(disc)
        self.drive = Drive(disc)
        self.sector_size = SECTOR
        self.description = "model drive"
        self.path = "model drive"
        self.notes: list[str] = []
        self.trailing_bytes = 0
        self.sector_count = disc.capacity
        self.read_offset: offsets.ReadOffset | None = None
        self.drive_title = ""
        self.sent: list[bytes] = []

    def send(self, cdb: bytes, length: int) -> bytes:
        self.sent.append(cdb)
        reply = self.drive.execute(cdb)
        if not reply.good:
            assert reply.sense is not None
            raise ModelCommandError(reply.sense)
        return reply.data[:length]

    # ---- SectorSource ---------------------------------------------------------------------------
    def read_layout(self) -> DiscLayout:
        reply = self.send(bytes([0x43, 2, 2, 0, 0, 0, 1, 0x10, 0, 0]), 4096)
        return toc.parse_full_toc(reply, "CD")

    def read(self, lba: int, count: int) -> bytes:
        cdb = bytes([0xA8, 0]) + lba.to_bytes(4, "big") + count.to_bytes(4, "big") + bytes(2)
        try:
            return self.send(cdb, count * SECTOR)
        except ModelCommandError as e:
            if e.sense.key == 0x02 and e.sense.asc == 0x3A:
                raise SourceGone("model drive: no disc") from e
            kind = "protected" if (e.sense.key, e.sense.asc) == (5, 0x6F) else "bad"
            raise ReadError(lba, count, errno.EIO, kind=kind) from e

    def current_sector_count(self) -> int:
        return self.sector_count

    def prepare_retry(self, lba: int) -> None:
        pass

    def set_phase(self, phase: str) -> None:
        pass

    def close(self) -> None:
        pass

    # ---- raw ------------------------------------------------------------------------------------
    def raw_source(
        self, layout: DiscLayout, read_offset: int | None = None
    ) -> tuple[RawCdSource | None, list[str]]:
        transport, notes = readcd.probe(self.send, layout, USB_BYTES, self.path)
        if transport is None:
            return None, notes
        vendor, product = readcd.inquiry(self.send)
        self.read_offset = offsets.resolve(read_offset, vendor, product)
        self.drive_title = f"{vendor} {product}"
        return RawCdSource(self, transport, layout, self.read_offset.samples), notes

    def disc_info(self, layout: DiscLayout) -> DiscInfo:
        return readcd.disc_info(self.send, layout)


def write_disc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc))
    return path
