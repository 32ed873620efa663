"""The raw path's platform parts that can be checked anywhere: the Windows pass-through request
(layout, sense), macOS's DKIOCCDREAD request (ioctl number, areas, offsets)."""

from __future__ import annotations

import ctypes
import struct

import pytest

from app.platform import rawmac, rawwin, windows
from app.platform.readcd import read_cd_cdb


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="x64 layout")
def test_windows_pass_through_request_layout() -> None:
    cdb = read_cd_cdb(1234, 10, 2, 0xF8)
    req = rawwin.request(cdb, 10 * 2352, 0x1000)
    raw = bytes(req)
    assert ctypes.sizeof(req) == 88 and req.sptd.SenseInfoOffset == 56
    length, _, _, _, _, cdb_len, sense_len, data_in = struct.unpack_from("<HBBBBBBB", raw)
    assert (length, cdb_len, sense_len, data_in) == (56, 12, 32, 1)
    transfer, timeout = struct.unpack_from("<II", raw, 12)  # after 2 bytes of padding
    assert transfer == 23520 and timeout == 60
    assert struct.unpack_from("<Q", raw, 24)[0] == 0x1000  # DataBuffer
    assert raw[36:48] == cdb
    assert windows.IOCTL_SCSI_PASS_THROUGH_DIRECT == 0x4D014


def test_windows_sense_after_check_condition() -> None:
    req = rawwin.request(bytes(12), 0, 0)
    assert rawwin.outcome(req) is None
    req.sptd.ScsiStatus = 2
    for i, b in enumerate(bytes([0x70, 0, 0x03, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0x05])):
        req.sense[i] = b
    assert rawwin.outcome(req) == rawwin.PassSense(3, 0x11, 5)


def test_macos_cd_read_request() -> None:
    assert ctypes.sizeof(rawmac.DkCdRead) == 32
    assert rawmac.DKIOCCDREAD == 0xC0206460  # _IOWR('d', 96, dk_cd_read_t)
    plain = rawmac.request(100, 4, 1, False, 0x2000)
    assert (plain.offset, plain.sectorArea, plain.sectorType) == (100 * 2352, 0xF8, 1)
    assert plain.bufferLength == 4 * 2352
    with_c2 = rawmac.request(100, 4, 1, True, 0x2000)
    assert with_c2.sectorArea == 0xFA and with_c2.offset == 100 * 2646
    assert with_c2.bufferLength == 4 * 2646
