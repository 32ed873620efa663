"""SG_IO pure parts: the kernel struct layout, CDBs, sense formats, mode page 01h."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import pytest

if not sys.platform.startswith("linux"):
    pytest.skip("SG_IO is Linux only", allow_module_level=True)

from app.platform import sgio


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="x86-64 layout")
def test_sg_io_hdr_is_88_bytes_with_kernel_offsets() -> None:
    h = sgio.SgIoHdr
    assert ctypes.sizeof(h) == 88
    assert (h.dxferp.offset, h.cmdp.offset, h.sbp.offset, h.timeout.offset) == (16, 24, 32, 40)
    assert (h.usr_ptr.offset, h.status.offset, h.resid.offset, h.info.offset) == (56, 64, 72, 80)


def test_sense_fixed_and_descriptor_formats() -> None:
    fixed = bytes([0x70, 0, 0x03]) + bytes(9) + bytes([0x11, 0x00]) + bytes(4)
    assert sgio.decode_sense(fixed) == sgio.Sense(3, 0x11, 0)
    assert sgio.decode_sense(fixed).meaning == "unrecovered read error"  # type: ignore[union-attr]
    desc = bytes([0x72, 0x02, 0x3A, 0x01, 0, 0, 0, 0])
    assert sgio.decode_sense(desc) == sgio.Sense(2, 0x3A, 1)
    assert sgio.Sense(2, 0x3A, 1).meaning == "no disc"
    assert sgio.decode_sense(b"\x00\x00") is None


def test_cdbs() -> None:
    assert sgio.read12_cdb(0x01020304, 32) == bytes.fromhex("a80001020304000000200000")
    assert sgio.get_configuration_cdb() == bytes([0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0])
    assert sgio.set_cd_speed_cdb(704)[:4] == bytes([0xBB, 0, 0x02, 0xC0])
    assert sgio.set_cd_speed_cdb(10**6)[2:4] == b"\xff\xff"


def test_mode_page_01_round_trip() -> None:
    # MODE SENSE(10) reply, no block descriptors: 8-byte header then page 01h (length 0x0A)
    page = bytes([0x81, 0x0A, 0x80, 0x05]) + bytes(8)
    reply = (len(page) + 6).to_bytes(2, "big") + bytes(6) + page
    assert sgio.read_retry_count(reply) == 5
    params = sgio.with_retry_count(reply, 0)
    assert params[:2] == b"\0\0" and params[8] == 0x01  # length reserved, PS bit cleared
    assert sgio.read_retry_count(params) == 0 and len(params) == len(reply)


def test_toc_audio_detection() -> None:
    def toc(*tracks: tuple[int, int]) -> bytes:
        body = b"".join(bytes([0, ctl, no, 0, 0, 0, 0, 0]) for no, ctl in tracks)
        return (len(body) + 2).to_bytes(2, "big") + bytes([1, len(tracks)]) + body

    assert not sgio.parse_toc_audio(toc((1, 0x14), (0xAA, 0x10)))  # data track + lead-out
    assert sgio.parse_toc_audio(toc((1, 0x10), (2, 0x10), (0xAA, 0x10)))  # audio CD


def test_usb_drives_get_commands_they_can_carry(tmp_path: Path) -> None:
    """usb-storage limits a command to 120 KiB: a 64-sector READ(12) never reaches the drive."""
    from app.platform.sgsource import chunk_for

    q = tmp_path / "block" / "sr0" / "queue"
    q.mkdir(parents=True)
    (q / "max_sectors_kb").write_text("120\n")
    assert chunk_for("/dev/sr0", str(tmp_path)) == 60
    (q / "max_sectors_kb").write_text("1280\n")
    assert chunk_for("/dev/sr0", str(tmp_path)) == 64
    assert chunk_for("/dev/sr9", str(tmp_path)) == 60  # unknown: the safe size
