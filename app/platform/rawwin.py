"""READ CD on Windows: SCSI commands through IOCTL_SCSI_PASS_THROUGH_DIRECT. No Qt.

The request is a SCSI_PASS_THROUGH_DIRECT followed by its sense buffer in one structure
(ntddscsi.h's ..._WITH_BUFFER idiom: SenseInfoOffset points just past the header), the data
going straight to a caller buffer. ``request`` builds it and ``outcome`` reads status and sense
back: pure, tested on any platform. ``send`` makes the ``readcd.Send`` the rest of the raw path
uses (``readcd.MmcTransport``, ``probe``, ``disc_info``); it needs Windows, a handle opened with
GENERIC_READ | GENERIC_WRITE, and administrator rights for pass-through. Not run on a real
Windows drive here.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable
from dataclasses import dataclass

from app.platform.windows import IOCTL_SCSI_PASS_THROUGH_DIRECT, SCSI_PASS_THROUGH_DIRECT

SCSI_IOCTL_DATA_IN = 1
SENSE_BYTES = 32
CHECK_CONDITION = 0x02


class SptdWithSense(ctypes.Structure):
    """SCSI_PASS_THROUGH_DIRECT and 32 bytes of sense after it (88 bytes on x64)."""

    _fields_ = [("sptd", SCSI_PASS_THROUGH_DIRECT), ("sense", ctypes.c_ubyte * SENSE_BYTES)]


@dataclass(frozen=True)
class PassSense:
    key: int
    asc: int
    ascq: int


class PassThroughError(OSError):
    """CHECK CONDITION (``sense`` set) or a failed DeviceIoControl (``sense`` None)."""

    def __init__(self, message: str, sense: PassSense | None) -> None:
        super().__init__(errno.EIO, message)
        self.sense = sense


def request(cdb: bytes, length: int, buffer: int, timeout_s: int = 60) -> SptdWithSense:
    """The pass-through request for ``cdb`` reading ``length`` bytes into ``buffer``."""
    if not 6 <= len(cdb) <= 16:
        raise ValueError("a CDB is 6 to 16 bytes")
    req = SptdWithSense()
    s = req.sptd
    s.Length = ctypes.sizeof(SCSI_PASS_THROUGH_DIRECT)
    s.CdbLength = len(cdb)
    s.SenseInfoLength = SENSE_BYTES
    s.DataIn = SCSI_IOCTL_DATA_IN
    s.DataTransferLength = length
    s.TimeOutValue = timeout_s
    s.DataBuffer = buffer
    s.SenseInfoOffset = SptdWithSense.sense.offset
    for i, b in enumerate(cdb):
        s.Cdb[i] = b
    return req


def outcome(req: SptdWithSense) -> PassSense | None:
    """None when the command succeeded; the sense when it ended in CHECK CONDITION. Fixed
    (70h/71h) and descriptor (72h/73h) sense formats."""
    if req.sptd.ScsiStatus != CHECK_CONDITION:
        return None
    b = bytes(req.sense)
    code = b[0] & 0x7F
    if code in (0x72, 0x73):
        return PassSense(b[1] & 0x0F, b[2], b[3])
    return PassSense(b[2] & 0x0F, b[12], b[13])


def send(handle: int) -> Callable[[bytes, int], bytes]:
    """A ``readcd.Send`` over a Windows drive handle (Windows only)."""
    from app.platform.windows import _k32

    def go(cdb: bytes, length: int) -> bytes:
        k = _k32()
        buf = ctypes.create_string_buffer(max(length, 1))
        req = request(cdb, length, ctypes.cast(buf, ctypes.c_void_p).value or 0)
        returned = ctypes.c_uint32()
        ok = k.DeviceIoControl(
            ctypes.c_void_p(handle),
            IOCTL_SCSI_PASS_THROUGH_DIRECT,
            ctypes.byref(req),
            ctypes.sizeof(req),
            ctypes.byref(req),
            ctypes.sizeof(req),
            ctypes.byref(returned),
            None,
        )
        if not ok:
            raise PassThroughError(f"pass-through refused (Windows error {k.GetLastError()})", None)
        sense = outcome(req)
        if sense is not None:
            raise PassThroughError(f"sense {sense.key:02x}/{sense.asc:02x}/{sense.ascq:02x}", sense)
        return buf.raw[: req.sptd.DataTransferLength]

    return go
