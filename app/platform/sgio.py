"""SCSI/MMC commands through Linux SG_IO: disc profile, audio tracks, sense decoding. No Qt.

Only commands a read-only descriptor may send (GET CONFIGURATION, READ TOC); a device that
refuses SG_IO (a loop device: ENOTTY) simply has no profile.
"""

from __future__ import annotations

import ctypes
import errno
from dataclasses import dataclass

SG_IO = 0x2285
SG_DXFER_NONE = -1
SG_DXFER_TO_DEV = -2
SG_DXFER_FROM_DEV = -3

PROFILES = {
    0x08: "CD-ROM",
    0x09: "CD-R",
    0x0A: "CD-RW",
    0x10: "DVD-ROM",
    0x11: "DVD-R",
    0x12: "DVD-RAM",
    0x13: "DVD-RW",
    0x14: "DVD-RW",
    0x15: "DVD-R DL",
    0x16: "DVD-R DL",
    0x1A: "DVD+RW",
    0x1B: "DVD+R",
    0x2B: "DVD+R DL",
    0x40: "BD-ROM",
    0x41: "BD-R",
    0x42: "BD-R",
    0x43: "BD-RE",
}


class SgIoHdr(ctypes.Structure):
    """struct sg_io_hdr from <scsi/sg.h> (88 bytes on x86-64)."""

    _fields_ = [
        ("interface_id", ctypes.c_int),
        ("dxfer_direction", ctypes.c_int),
        ("cmd_len", ctypes.c_ubyte),
        ("mx_sb_len", ctypes.c_ubyte),
        ("iovec_count", ctypes.c_ushort),
        ("dxfer_len", ctypes.c_uint),
        ("dxferp", ctypes.c_void_p),
        ("cmdp", ctypes.c_void_p),
        ("sbp", ctypes.c_void_p),
        ("timeout", ctypes.c_uint),
        ("flags", ctypes.c_uint),
        ("pack_id", ctypes.c_int),
        ("usr_ptr", ctypes.c_void_p),
        ("status", ctypes.c_ubyte),
        ("masked_status", ctypes.c_ubyte),
        ("msg_status", ctypes.c_ubyte),
        ("sb_len_wr", ctypes.c_ubyte),
        ("host_status", ctypes.c_ushort),
        ("driver_status", ctypes.c_ushort),
        ("resid", ctypes.c_int),
        ("duration", ctypes.c_uint),
        ("info", ctypes.c_uint),
    ]


@dataclass(frozen=True)
class Sense:
    key: int
    asc: int
    ascq: int

    @property
    def meaning(self) -> str:
        k = (self.key, self.asc)
        if k == (0x03, 0x11):
            return "unrecovered read error"
        if self.key == 0x02 and self.asc == 0x3A:
            return "no disc"
        if k == (0x02, 0x04):
            return "drive becoming ready"
        if k == (0x06, 0x28):
            return "disc changed"
        if k == (0x05, 0x21):
            return "LBA out of range"
        if k == (0x05, 0x6F):
            return "the drive refuses this sector for copy protection"
        if k == (0x05, 0x20):
            return "the drive does not support this command"
        if k in ((0x05, 0x24), (0x05, 0x26)):
            return "the drive does not accept this setting"
        return f"sense {self.key:02x}/{self.asc:02x}/{self.ascq:02x}"


def decode_sense(b: bytes) -> Sense | None:
    if len(b) < 4:
        return None
    code = b[0] & 0x7F
    if code in (0x70, 0x71) and len(b) >= 14:
        return Sense(b[2] & 0x0F, b[12], b[13])
    if code in (0x72, 0x73):
        return Sense(b[1] & 0x0F, b[2], b[3])
    return None


class ScsiError(OSError):
    def __init__(self, sense: Sense | None, status: int) -> None:
        what = sense.meaning if sense else f"SCSI status 0x{status:02x}"
        super().__init__(errno.EIO, what)
        self.sense = sense


def command(
    fd: int, cdb: bytes, data_len: int, timeout_ms: int = 30_000, data_out: bytes | None = None
) -> bytes:
    """Send one command that reads ``data_len`` bytes back (or sends ``data_out``)."""
    if data_out is not None:
        data = ctypes.create_string_buffer(data_out, len(data_out))
        data_len = len(data_out)
    else:
        data = ctypes.create_string_buffer(max(data_len, 1))
    sense = ctypes.create_string_buffer(32)
    cmd = ctypes.create_string_buffer(cdb, len(cdb))
    hdr = SgIoHdr()
    hdr.interface_id = ord("S")
    hdr.dxfer_direction = (
        SG_DXFER_TO_DEV
        if data_out is not None
        else SG_DXFER_FROM_DEV
        if data_len
        else SG_DXFER_NONE
    )
    hdr.cmd_len = len(cdb)
    hdr.mx_sb_len = len(sense)
    hdr.dxfer_len = data_len
    hdr.dxferp = ctypes.cast(data, ctypes.c_void_p).value
    hdr.cmdp = ctypes.cast(cmd, ctypes.c_void_p).value
    hdr.sbp = ctypes.cast(sense, ctypes.c_void_p).value
    hdr.timeout = timeout_ms
    import fcntl  # here, not at the top: Windows' pass-through shares this module's sense codes

    fcntl.ioctl(fd, SG_IO, hdr)
    if hdr.status or hdr.host_status or hdr.driver_status & 0x0F:
        raise ScsiError(decode_sense(sense.raw[: hdr.sb_len_wr]), hdr.status)
    if data_out is not None or not data_len:
        return b""
    return data.raw[: data_len - hdr.resid]


def get_configuration_cdb(alloc: int = 8) -> bytes:
    # RT=01b: the feature header (with the current profile) and current features only
    return bytes([0x46, 0x01, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def read_toc_cdb(alloc: int = 804, fmt: int = 0, msf: bool = False, track: int = 0) -> bytes:
    """READ TOC/PMA/ATIP: format 0 tracks, 1 session info, 2 full TOC (MSF only)."""
    return bytes(
        [0x43, 0x02 if msf else 0, fmt & 0x0F, 0, 0, 0, track, alloc >> 8, alloc & 0xFF, 0]
    )


def read_dvd_structure_cdb(fmt: int, alloc: int = 8) -> bytes:
    return bytes([0xAD, 0, 0, 0, 0, 0, 0, fmt, alloc >> 8, alloc & 0xFF, 0, 0])


def medium_of(profile_name: str | None) -> str | None:
    """ "CD-R" -> "CD", "DVD+R DL" -> "DVD", "BD-RE" -> "BD"; None when unknown."""
    if not profile_name:
        return None
    for medium in ("CD", "DVD", "BD"):
        if profile_name.startswith(medium + "-") or profile_name.startswith(medium + "+"):
            return medium
    return None


def parse_copyright(reply: bytes) -> str:
    """READ DVD STRUCTURE format 01h: "CSS" when the copyright protection system type says
    CSS/CPPM, "CPRM" for 02h, else ""."""
    if len(reply) < 5:
        return ""
    return {1: "CSS", 2: "CPRM"}.get(reply[4], "")


def read12_cdb(lba: int, count: int, fua: bool = False) -> bytes:
    """READ(12); ``fua`` (Force Unit Access) makes the drive read the disc, not its cache."""
    flags = 0x08 if fua else 0
    return bytes([0xA8, flags]) + lba.to_bytes(4, "big") + count.to_bytes(4, "big") + bytes(2)


def mode_sense10_cdb(page: int, alloc: int = 64) -> bytes:
    # DBD=1: no block descriptors, so the page follows the 8-byte header directly
    return bytes([0x5A, 0x08, page & 0x3F, 0, 0, 0, 0, alloc >> 8, alloc & 0xFF, 0])


def mode_select10_cdb(length: int) -> bytes:
    return bytes([0x55, 0x10, 0, 0, 0, 0, 0, length >> 8, length & 0xFF, 0])  # PF=1


def prevent_removal_cdb(prevent: bool) -> bytes:
    """PREVENT ALLOW MEDIUM REMOVAL: the eject button does nothing while prevented."""
    return bytes([0x1E, 0, 0, 0, 1 if prevent else 0, 0])


def set_cd_speed_cdb(read_kbs: int) -> bytes:
    r = min(read_kbs, 0xFFFF)
    return bytes([0xBB, 0, r >> 8, r & 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0])


def read_retry_count(mode_data: bytes) -> int | None:
    """Byte 3 of page 01h (read retry count) in a MODE SENSE(10) reply without descriptors."""
    bdl = int.from_bytes(mode_data[6:8], "big") if len(mode_data) >= 8 else 0
    p = 8 + bdl
    if len(mode_data) < p + 4 or mode_data[p] & 0x3F != 0x01:
        return None
    return mode_data[p + 3]


def with_retry_count(mode_data: bytes, count: int) -> bytes:
    """The MODE SELECT(10) parameter list that sets page 01h's read retry count."""
    bdl = int.from_bytes(mode_data[6:8], "big")
    p = 8 + bdl
    page_len = mode_data[p + 1] + 2
    out = bytearray(mode_data[: p + page_len])
    out[0:2] = b"\0\0"  # mode data length is reserved in MODE SELECT
    out[p] &= 0x3F  # PS bit must be zero
    out[p + 3] = count & 0xFF
    return bytes(out)


def parse_profile(header: bytes) -> int | None:
    return int.from_bytes(header[6:8], "big") if len(header) >= 8 else None


def parse_toc_audio(toc: bytes) -> bool:
    """True when any track (lead-out excluded) is audio (control bit 2 clear)."""
    if len(toc) < 4:
        return False
    end = min(len(toc), 2 + int.from_bytes(toc[0:2], "big"))
    for p in range(4, end - 7, 8):
        control, track = toc[p + 1] & 0x0F, toc[p + 2]
        if track != 0xAA and not control & 0x04:
            return True
    return False


def profile(fd: int) -> str | None:
    try:
        code = parse_profile(command(fd, get_configuration_cdb(), 8))
    except OSError:
        return None
    if not code:
        return None
    return PROFILES.get(code, f"profile 0x{code:04x}")


def has_audio(fd: int) -> bool | None:
    try:
        return parse_toc_audio(command(fd, read_toc_cdb(), 804))
    except OSError:
        return None
