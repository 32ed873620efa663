"""The emulated drive's USB wire (tests/vm/usbdrive/ffs.py) on the host: FunctionFS descriptors,
and CBW/data/CSW over pipes standing in for the bulk endpoints, the test playing usb-storage."""

from __future__ import annotations

import os
import struct
import threading

from tests.unit.test_mmc_model import drive, mode_sense, sector, toc
from tests.vm.usbdrive.ffs import CBW_SIGNATURE, CSW_SIGNATURE, Transport, descriptors, strings
from tests.vm.usbdrive.mmc import Drive

__all__ = ["drive"]  # the fixture


def test_functionfs_descriptors_are_a_bulk_only_mass_storage_interface() -> None:
    d = descriptors()
    magic, length, flags, fs_count, hs_count = struct.unpack_from("<5I", d)
    assert (magic, length, flags, fs_count, hs_count) == (3, len(d), 3, 3, 3)
    intf = d[20:29]
    assert (intf[4], intf[5], intf[6], intf[7]) == (2, 0x08, 0x06, 0x50)
    hs_in = d[20 + 23 + 9 : 20 + 23 + 16]
    assert (hs_in[2], hs_in[3], struct.unpack_from("<H", hs_in, 4)[0]) == (0x81, 2, 512)
    s = strings()
    assert struct.unpack_from("<4I", s) == (2, len(s), 1, 1)


class PipeTransport(Transport):
    """The transport with pipes for bulk endpoints; a stall is recorded in the stream."""

    def halt_in(self) -> None:
        os.write(self.ep_in, b"<STALL>")


class Pipes:
    """A Transport whose bulk endpoints are pipes: the test plays usb-storage."""

    def __init__(self, drive: Drive) -> None:
        self.host_out_r, self.host_out_w = os.pipe()  # host -> device (bulk OUT)
        self.dev_in_r, self.dev_in_w = os.pipe()  # device -> host (bulk IN)
        self.t = PipeTransport(drive, self.dev_in_w, self.host_out_r, threading.Lock())

    def command(
        self, cdb: bytes, expected: int, to_host: bool = True, out: bytes = b""
    ) -> tuple[bytes, tuple[int, ...]]:
        """Send a CBW; return what came on bulk IN before the CSW, and the CSW."""
        flags = 0x80 if to_host else 0
        cbw = struct.pack("<IIIBBB16s", CBW_SIGNATURE, 7, expected, flags, 0, len(cdb), cdb)
        os.write(self.host_out_w, cbw + out)
        self.t._one_command()  # everything it wrote fits in the pipe's buffer
        got = os.read(self.dev_in_r, 1 << 20)
        return got[:-13], struct.unpack("<IIIB", got[-13:])


def test_short_bulk_replies_end_with_a_short_packet_or_a_stall(drive: Drive) -> None:
    p = Pipes(drive)
    data, csw = p.command(bytes([0x43, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0]), 512)  # READ TOC, 512
    assert data == toc(drive, 0).data  # 28 bytes: a short packet ends the transfer
    assert csw == (CSW_SIGNATURE, 7, 512 - 28, 0)
    data, csw = p.command(bytes([0x28, 0, 0, 0, 0, 4, 0, 0, 2, 0]), 4096)  # LBA 4, 5: 5 is bad
    assert data == sector(4) + b"<STALL>" and csw == (CSW_SIGNATURE, 7, 2048, 1)
    data, csw = p.command(bytes([0x03, 0, 0, 0, 18, 0]), 18)
    assert data[2] == 3 and data[12] == 0x11 and csw[3] == 0
    data, csw = p.command(bytes([0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0]), 2048)
    assert data == b"<STALL>" and csw == (CSW_SIGNATURE, 7, 2048, 1)  # nothing, then a stall
    data, csw = p.command(bytes([0x12, 0, 0, 0, 36, 0]), 36)
    assert len(data) == 36 and csw == (CSW_SIGNATURE, 7, 0, 0)  # whole: no residue


def test_a_data_out_phase_is_read_whole_even_when_the_command_fails(drive: Drive) -> None:
    p = Pipes(drive)
    params = bytes(mode_sense(drive, 0x01).data)
    params = b"\0\0" + params[2:11] + b"\x05" + params[12:]
    _, csw = p.command(
        bytes([0x55, 0x10, 0, 0, 0, 0, 0, 0, len(params), 0]), len(params), False, params
    )
    assert csw == (CSW_SIGNATURE, 7, 0, 0) and drive.mode.read_retry_count == 5
    _, csw = p.command(
        bytes([0x55, 0x11, 0, 0, 0, 0, 0, 0, len(params), 0]), len(params), False, params
    )
    assert csw == (CSW_SIGNATURE, 7, len(params), 1)
    _, csw = p.command(bytes([0x00, 0, 0, 0, 0, 0]), 0)  # the next CBW is read as one
    assert csw == (CSW_SIGNATURE, 7, 0, 0)
