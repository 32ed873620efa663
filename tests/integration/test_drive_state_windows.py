"""Windows SCSI pass-through, its pure parts: the SCSI_PASS_THROUGH_DIRECT request DiscVault
builds and the answer it decodes, carrying drive control to the drive model.

What Windows' class driver does between the two (DeviceIoControl) is played here by a few
lines that copy the CDB to the MMC model and its status, sense and data back into the same
structure, as the documented interface says. No Windows machine was at hand.
"""

from __future__ import annotations

import ctypes
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from app.platform import drivestate, sgio, windows
from app.platform.drivectl import DriveControl
from tests.vm.usbdrive.disc import Disc
from tests.vm.usbdrive.features import SPEEDS
from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import GOOD, fixed_sense

x64 = pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="x64 layout")


@x64
def test_request_layout_matches_the_sdk() -> None:
    s = windows.SPTD_WITH_SENSE
    assert ctypes.sizeof(windows.SCSI_PASS_THROUGH_DIRECT) == 56
    assert (s.sense.offset, ctypes.sizeof(s)) == (60, 96)
    p = windows.SCSI_PASS_THROUGH_DIRECT
    assert (p.DataTransferLength.offset, p.TimeOutValue.offset) == (12, 16)
    assert (p.DataBuffer.offset, p.SenseInfoOffset.offset, p.Cdb.offset) == (24, 32, 36)
    assert windows.IOCTL_SCSI_PASS_THROUGH_DIRECT == 0x4D014


def test_a_request_says_what_the_drive_needs() -> None:
    cdb = bytes.fromhex("5a08010000000000400000")[:10]
    req = windows.sptd_request(cdb, 0x10000, 64, windows.SCSI_IOCTL_DATA_IN, timeout_s=30)
    sp = req.sptd
    assert (sp.Length, sp.CdbLength, sp.DataIn, sp.DataTransferLength) == (
        ctypes.sizeof(windows.SCSI_PASS_THROUGH_DIRECT),
        10,
        windows.SCSI_IOCTL_DATA_IN,
        64,
    )
    sense_at = windows.SPTD_WITH_SENSE.sense.offset
    assert (sp.SenseInfoLength, sp.SenseInfoOffset, sp.TimeOutValue) == (32, sense_at, 30)
    assert bytes(sp.Cdb[:10]) == cdb and sp.DataBuffer == 0x10000
    none = windows.sptd_request(bytes(6), None, 0, windows.SCSI_IOCTL_DATA_IN)
    assert none.sptd.DataIn == windows.SCSI_IOCTL_DATA_UNSPECIFIED  # no data phase
    with pytest.raises(ValueError):
        windows.sptd_request(bytes(17), None, 0, windows.SCSI_IOCTL_DATA_IN)


def test_a_check_condition_becomes_the_same_error_as_on_linux() -> None:
    req = windows.sptd_request(bytes(12), None, 0, windows.SCSI_IOCTL_DATA_IN)
    req.sptd.ScsiStatus = 2
    raw = bytes([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0])
    for i, b in enumerate(raw):
        req.sense[i] = b
    with pytest.raises(sgio.ScsiError) as e:
        windows.sptd_check(req)
    assert e.value.sense == sgio.Sense(5, 0x20, 0)
    req.sptd.ScsiStatus, req.sptd.DataTransferLength = 0, 8
    assert windows.sptd_check(req) == 8


def model_send(drive: Drive) -> Callable[[bytes, int, bytes | None], bytes]:
    """A send() for DriveControl built on the request/answer pair, Windows played in between."""

    def send(cdb: bytes, data_len: int, data_out: bytes | None) -> bytes:
        n = len(data_out) if data_out is not None else data_len
        buf = ctypes.create_string_buffer(data_out or b"", max(n, 1))
        direction = windows.SCSI_IOCTL_DATA_OUT if data_out is not None else 1
        req = windows.sptd_request(cdb, ctypes.addressof(buf), n, direction)
        # --- the class driver: the CDB to the drive, its answer into the same structure
        sent = bytes(req.sptd.Cdb[: req.sptd.CdbLength])
        out = ctypes.string_at(req.sptd.DataBuffer, n) if direction == 0 else b""
        reply = drive.execute(sent, out)
        req.sptd.ScsiStatus = reply.status
        if reply.status != GOOD and reply.sense is not None:
            for i, b in enumerate(fixed_sense(reply.sense, reply.info)):
                req.sense[i] = b
        if direction == 1:
            ctypes.memmove(req.sptd.DataBuffer, reply.data, min(len(reply.data), n))
            req.sptd.DataTransferLength = min(len(reply.data), n)
        # --- back in DiscVault
        got = windows.sptd_check(req)
        return buf.raw[:got] if data_out is None else b""

    return send


def test_drive_control_over_pass_through_lowers_restores_and_recovers(tmp_path: Path) -> None:
    (tmp_path / "d.iso").write_bytes(random.Random(1).randbytes(200 * 2048))
    disc = Disc.from_dict(
        {
            "profile": "DVD-ROM",
            "sessions": [{"tracks": [{"start": 0, "length": 200, "file": "d.iso"}]}],
            "drive": {"read_retry_count": 16, "current_retry_count": 9},
        },
        tmp_path,
    )
    drive = Drive(disc)
    store = drivestate.StateFile("model", str(tmp_path / "state"))
    notes: list[str] = []
    ctl = DriveControl(model_send(drive), "DVD", 200, "D:", notes, store)
    assert ctl.identity.startswith("DISCVLT MMC MODEL USB")  # INQUIRY through pass-through
    ctl.enter("copy")
    assert drive.mode.read_retry_count == 0 and Path(store.path).exists()
    ctl.enter("retry")
    assert drive.mode.read_retry_count == 16  # the drive's default, not the 9 it had
    assert drive.commands("SET STREAMING")  # a DVD: SET STREAMING, not SET CD SPEED
    assert drive.read_speed == 2 * 1385
    # the process dies here; the next open finds the state file and restores
    ctl2 = DriveControl(model_send(drive), "DVD", 200, "D:", [], store)
    saved = store.load()
    assert saved is not None
    saved.pid, saved.started = 999_999_999, 0.0
    store.save(saved)
    ctl2.recover()
    assert (drive.mode.read_retry_count, drive.read_speed) == (9, max(SPEEDS["DVD"]))
    assert not Path(store.path).exists()
