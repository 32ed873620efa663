"""SCSI plumbing shared by the drive model and its transports: replies, sense data, MSF."""

from __future__ import annotations

from dataclasses import dataclass

from tests.vm.usbdrive.disc import Sense

GOOD = 0x00
CHECK_CONDITION = 0x02

OPCODES: dict[int, str] = {
    0x00: "TEST UNIT READY",
    0x03: "REQUEST SENSE",
    0x12: "INQUIRY",
    0x1B: "START STOP UNIT",
    0x1E: "PREVENT ALLOW MEDIUM REMOVAL",
    0x25: "READ CAPACITY",
    0x28: "READ(10)",
    0x42: "READ SUB-CHANNEL",
    0x43: "READ TOC/PMA/ATIP",
    0x46: "GET CONFIGURATION",
    0x4A: "GET EVENT STATUS NOTIFICATION",
    0x51: "READ DISC INFORMATION",
    0x52: "READ TRACK INFORMATION",
    0x55: "MODE SELECT(10)",
    0x5A: "MODE SENSE(10)",
    0xA8: "READ(12)",
    0xAD: "READ DVD STRUCTURE",
    0xB6: "SET STREAMING",
    0xBB: "SET CD SPEED",
    0xBE: "READ CD",
}


def opcode_name(op: int) -> str:
    return OPCODES.get(op, f"opcode 0x{op:02X}")


class CommandError(Exception):
    """A command ends in CHECK CONDITION with this sense (and the INFORMATION field, if any)."""

    def __init__(self, sense: Sense, info: int | None = None, data: bytes = b"") -> None:
        super().__init__(str(sense))
        self.sense = sense
        self.info = info
        self.data = data  # what was transferred before the failure (good sectors of a read)


@dataclass(frozen=True)
class Reply:
    status: int = GOOD
    data: bytes = b""  # data-in, already cut to the allocation length
    sense: Sense | None = None
    info: int | None = None  # the INFORMATION field (e.g. the failing LBA) when valid

    @property
    def good(self) -> bool:
        return self.status == GOOD


def fixed_sense(sense: Sense, info: int | None = None) -> bytes:
    """18 bytes of fixed-format sense data (SPC-4 4.5.3), VALID set when ``info`` is known."""
    out = bytearray(18)
    out[0] = 0x70 | (0x80 if info is not None else 0)
    out[2] = sense.key
    if info is not None:
        out[3:7] = (info & 0xFFFFFFFF).to_bytes(4, "big")
    out[7] = 10  # additional sense length
    out[12], out[13] = sense.asc, sense.ascq
    return bytes(out)


def be16(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 2], "big")


def be32(b: bytes, at: int) -> int:
    return int.from_bytes(b[at : at + 4], "big")


def msf(lba: int) -> tuple[int, int, int]:
    """Minute, second, frame of an LBA (LBA 0 is 00:02:00, after the 150-sector pregap)."""
    a = lba + 150
    if a < 0:  # lead-in addresses wrap (MMC-6 table "LBA to MSF")
        a += 450_150
    return a // (60 * 75), (a // 75) % 60, a % 75


def address(lba: int, use_msf: bool) -> bytes:
    """A 4-byte TOC address: LBA, or 0 M S F."""
    if use_msf:
        m, s, f = msf(lba)
        return bytes([0, m, s, f])
    return (lba & 0xFFFFFFFF).to_bytes(4, "big")
