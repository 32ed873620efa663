"""READ CD on macOS: DKIOCCDREAD on /dev/rdiskN. No Qt.

macOS sends no CDBs from user space; IOCDMediaBSDClient reads CD sectors by area instead:
``dk_cd_read_t`` names the byte offset (the LBA times the size of the areas asked), the areas
(sync, header, subheader, user data, EDC/ECC "auxiliary", C2 error flags) and the expected
sector type, which are READ CD's expected sector type and byte 9 under other names. ``request``
builds it, pure and tested anywhere; ``MacTransport`` is the ``RawTransport`` over it (macOS
only, not run on a real Mac here). Mac drives give no sense data through this ioctl: a failed
read is EIO, judged a bad sector.
"""

from __future__ import annotations

import ctypes
import errno

from app.core.disc.rawsource import C2_BYTES
from app.core.disc.sources import ReadError
from app.platform.macos import _iowr

# kCDSectorArea* from <IOKit/storage/IOCDTypes.h>
AREA_SYNC, AREA_HEADER, AREA_SUBHEADER, AREA_USER = 0x80, 0x20, 0x40, 0x10
AREA_AUXILIARY, AREA_ERROR_FLAGS, AREA_SUBCHANNEL_Q, AREA_SUBCHANNEL = 0x08, 0x02, 0x04, 0x01
ALL_MAIN = AREA_SYNC | AREA_HEADER | AREA_SUBHEADER | AREA_USER | AREA_AUXILIARY  # 2352 bytes
RAW = 2352


class DkCdRead(ctypes.Structure):
    """dk_cd_read_t (32 bytes on 64-bit)."""

    _fields_ = [
        ("offset", ctypes.c_uint64),
        ("sectorArea", ctypes.c_uint8),
        ("sectorType", ctypes.c_uint8),
        ("reserved0080", ctypes.c_uint8 * 10),
        ("bufferLength", ctypes.c_uint32),
        ("buffer", ctypes.c_void_p),
    ]


DKIOCCDREAD = _iowr("d", 96, ctypes.sizeof(DkCdRead))


def request(lba: int, count: int, expected: int, c2: bool, buffer: int) -> DkCdRead:
    """The read of ``count`` whole sectors at ``lba`` (with C2 error flags when ``c2``);
    ``expected`` is READ CD's sector type (0 any, 1 CD-DA, 2 Mode 1, 3-5 Mode 2)."""
    area = ALL_MAIN | (AREA_ERROR_FLAGS if c2 else 0)
    per = RAW + (C2_BYTES if c2 else 0)
    req = DkCdRead()
    req.offset = lba * per
    req.sectorArea = area
    req.sectorType = expected
    req.bufferLength = count * per
    req.buffer = buffer
    return req


class MacTransport:
    """``RawTransport`` over DKIOCCDREAD (macOS only)."""

    def __init__(self, fd: int, c2: bool = False, max_sectors: int = 26) -> None:
        self.fd = fd
        self.c2 = c2
        self.max_sectors = max_sectors

    def read_cd(self, lba: int, count: int, expected: int, c2: bool) -> tuple[bytes, bytes]:
        import fcntl

        per = RAW + (C2_BYTES if c2 else 0)
        buf = ctypes.create_string_buffer(count * per)
        req = request(lba, count, expected, c2, ctypes.cast(buf, ctypes.c_void_p).value or 0)
        try:
            fcntl.ioctl(self.fd, DKIOCCDREAD, req)
        except OSError as e:
            raise ReadError(lba, count, e.errno or errno.EIO) from e
        data = buf.raw[: req.bufferLength]
        whole = len(data) // per
        raw = b"".join(data[i * per : i * per + RAW] for i in range(whole))
        flags = b"".join(data[i * per + RAW : (i + 1) * per] for i in range(whole)) if c2 else b""
        if whole < count:
            raise ReadError(lba, count, errno.EIO, raw)
        return raw, flags
