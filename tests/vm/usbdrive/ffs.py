"""USB mass storage, bulk-only transport (BOT), over Linux FunctionFS: the wire of the drive.

Runs inside the test VM (``gadget.py`` starts it). The FunctionFS mount holds ``ep0`` (control)
and, once our descriptors are written, ``ep1`` (bulk IN) and ``ep2`` (bulk OUT). The host's
usb-storage sends a 31-byte CBW on bulk OUT, moves the data phase, and reads a 13-byte CSW on
bulk IN (USB Mass Storage Class Bulk-Only Transport 1.0).

Pitfalls this code is shaped by (see ../shared/VM-DRIVE.md):
- a data-in reply shorter than the host asked for ends with a short packet, or, when its length
  is a multiple of the packet size (0 included: a failed command), with a stall of bulk IN:
  FunctionFS sends no zero-length packet, and the host would wait for the rest. Padding with
  zeros instead is allowed by BOT, but Linux's usb-storage then sees a residue on a 36-byte
  INQUIRY (a VPD page) and decides to ignore every later residue (US_FL_IGNORE_RESIDUE), so
  SG_IO callers get the padding as data;
- a data-out phase is always read whole, even when the command fails;
- a Bulk-Only Reset on ep0 interrupts a transfer the host gave up on (a signal to the bulk
  thread dequeues it), so the next CBW is read afresh.
"""

from __future__ import annotations

import errno
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.vm.usbdrive.mmc import Drive
from tests.vm.usbdrive.scsi import Reply

CBW_SIGNATURE, CSW_SIGNATURE = 0x43425355, 0x53425355
CBW_LEN = 31
DESCRIPTORS_MAGIC_V2, STRINGS_MAGIC = 3, 2
HAS_FS_DESC, HAS_HS_DESC = 1, 2
EVENT_SIZE = 12  # struct usb_functionfs_event
BIND, UNBIND, ENABLE, DISABLE, SETUP, SUSPEND, RESUME = range(7)
GET_MAX_LUN = (0xA1, 0xFE)  # class request, interface recipient, device-to-host
BULK_ONLY_RESET = (0x21, 0xFF)
CHUNK = 64 * 1024  # bytes per write on bulk IN: a multiple of every packet size


def descriptors() -> bytes:
    """FunctionFS v2 descriptors: one mass-storage interface (class 08h, SCSI transparent 06h,
    bulk-only 50h), bulk IN then bulk OUT, at full speed (64-byte packets) and high speed
    (512). FunctionFS numbers the endpoint files in this order: ep1 = IN, ep2 = OUT."""

    def interface() -> bytes:
        return struct.pack("<9B", 9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 1)

    def endpoint(address: int, packet: int) -> bytes:
        return struct.pack("<BBBBHB", 7, 5, address, 0x02, packet, 0)

    fs = interface() + endpoint(0x81, 64) + endpoint(0x02, 64)
    hs = interface() + endpoint(0x81, 512) + endpoint(0x02, 512)
    body = struct.pack("<II", 3, 3) + fs + hs
    flags = HAS_FS_DESC | HAS_HS_DESC
    return struct.pack("<III", DESCRIPTORS_MAGIC_V2, 12 + len(body), flags) + body


def strings(interface_name: str = "DiscVault MMC model") -> bytes:
    text = interface_name.encode() + b"\0"
    body = struct.pack("<H", 0x0409) + text
    return struct.pack("<IIII", STRINGS_MAGIC, 16 + len(body), 1, 1) + body


class BulkReset(Exception):
    """The host reset the transport (Bulk-Only Reset): drop the command in flight."""


class Transport:
    """Serves ``drive`` on the FunctionFS instance mounted at ``ffs``.

    ``bulk_loop`` must run in the main thread (Python runs signal handlers there, and the reset
    interrupts it with a signal); ``control_loop`` runs in another thread."""

    def __init__(
        self,
        drive: Drive,
        ep_in: int,
        ep_out: int,
        lock: threading.Lock,
        ep0: int = -1,
        say: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
        packet_size: Callable[[], int] = lambda: 512,
    ) -> None:
        self.drive, self.lock, self.say = drive, lock, say
        self.ep0, self.ep_in, self.ep_out = ep0, ep_in, ep_out
        self.packet_size = packet_size
        self.packet = packet_size()  # bulk max packet at the speed the host enumerated
        self.enabled = threading.Event()
        self._in_io = False  # the bulk thread is blocked in a transfer a reset may abort
        self._reset_pending = False
        self._bulk_thread = threading.main_thread()
        self.resets = 0

    @classmethod
    def open(
        cls,
        drive: Drive,
        ffs: Path,
        lock: threading.Lock,
        packet_size: Callable[[], int] = lambda: 512,
    ) -> Transport:
        """Write our descriptors and strings to the FunctionFS instance at ``ffs``; FunctionFS
        then creates the endpoint files."""
        ep0 = os.open(ffs / "ep0", os.O_RDWR)
        os.write(ep0, descriptors())
        os.write(ep0, strings())
        ep_in = os.open(ffs / "ep1", os.O_RDWR)
        ep_out = os.open(ffs / "ep2", os.O_RDWR)
        return cls(drive, ep_in, ep_out, lock, ep0, packet_size=packet_size)

    # ---- ep0: enumeration events and class requests ------------------------------------------
    def control_loop(self) -> None:
        while True:
            try:
                buf = os.read(self.ep0, EVENT_SIZE * 4)
            except InterruptedError:
                continue
            for i in range(0, len(buf) - EVENT_SIZE + 1, EVENT_SIZE):
                self._event(buf[i : i + EVENT_SIZE])

    def _event(self, ev: bytes) -> None:
        kind = ev[8]
        if kind == ENABLE:
            self.packet = self.packet_size()
            self.enabled.set()
        elif kind in (DISABLE, UNBIND):
            self.enabled.clear()
        elif kind == SETUP:
            rtype, request, _value, _index, length = struct.unpack("<BBHHH", ev[:8])
            self._setup(rtype, request, length)

    def _setup(self, rtype: int, request: int, length: int) -> None:
        try:
            if (rtype, request) == GET_MAX_LUN:
                os.write(self.ep0, b"\x00"[:length])  # one LUN: number 0
            elif (rtype, request) == BULK_ONLY_RESET:
                os.read(self.ep0, 0)  # the status stage acknowledges it
                self.resets += 1
                self.say("usbdrive: bulk-only reset")
                self._reset_pending = True
                if self._in_io:
                    signal.pthread_kill(self._bulk_thread.ident or 0, signal.SIGUSR1)
            elif rtype & 0x80:  # anything else is stalled: FunctionFS stalls an IN request
                os.read(self.ep0, 0)  # on a read and an OUT request on a write
            else:
                os.write(self.ep0, b"")
        except OSError as e:
            if e.errno not in (errno.EL2HLT, errno.EBADMSG):  # the stall itself
                self.say(f"usbdrive: ep0 request {rtype:02x}/{request:02x}: {e}")

    # ---- bulk: CBW, data, CSW -----------------------------------------------------------------
    def _on_signal(self, signum: int, frame: object) -> None:
        if self._in_io:
            raise BulkReset

    def _io(self, fn: Callable[[], bytes | int]) -> bytes | int:
        """One blocking transfer; ESHUTDOWN (the host went away or reset the device) waits
        for the function to be enabled again and tells the caller to start over."""
        self._in_io = True
        try:
            if self._reset_pending:
                raise BulkReset
            return fn()
        except OSError as e:
            if e.errno in (errno.ESHUTDOWN, errno.ECONNRESET, errno.ENODEV):
                self.enabled.clear()
                raise BulkReset from e
            raise
        finally:
            self._in_io = False

    def bulk_loop(self) -> None:
        signal.signal(signal.SIGUSR1, self._on_signal)
        self._bulk_thread = threading.current_thread()
        while True:
            self.enabled.wait()
            try:
                self._reset_pending = False
                self._one_command()
            except BulkReset:
                self._reset_pending = False
                time.sleep(0.01)

    def _one_command(self) -> None:
        cbw = self._io(lambda: os.read(self.ep_out, CBW_LEN))
        assert isinstance(cbw, bytes)
        if len(cbw) != CBW_LEN or struct.unpack_from("<I", cbw)[0] != CBW_SIGNATURE:
            # An invalid CBW: BOT wants both pipes stalled until a reset; ignoring it and
            # reading the next one works with Linux's usb-storage.
            self.say(f"usbdrive: ignored a {len(cbw)}-byte non-CBW")
            return
        _, tag, expected, flags, _lun, cb_len, cb = struct.unpack("<IIIBBB16s", cbw)
        cdb = cb[: max(1, min(cb_len, 16))]
        to_host = bool(flags & 0x80)
        data_out = b""
        if expected and not to_host:
            data_out = self._read_exact(expected)
        with self.lock:
            reply = self.drive.execute(cdb, data_out)
        residue = 0
        if expected and to_host:
            residue = self._send_data(reply, expected)
        elif expected:
            residue = 0 if reply.good else expected
        status = 0 if reply.good else 1
        csw = struct.pack("<IIIB", CSW_SIGNATURE, tag, residue, status)
        self._io(lambda: os.write(self.ep_in, csw))

    def _read_exact(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            want = min(CHUNK, n - len(out))
            part = self._io(lambda want=want: os.read(self.ep_out, want))  # type: ignore[misc]
            assert isinstance(part, bytes)
            if not part:
                break
            out += part
        return bytes(out)

    def _send_data(self, reply: Reply, expected: int) -> int:
        """Send the reply (at most ``expected`` bytes) and end the data phase; return the
        residue for the CSW."""
        real = reply.data[:expected]
        for at in range(0, len(real), CHUNK):
            piece = real[at : at + CHUNK]
            self._io(lambda piece=piece: os.write(self.ep_in, piece))  # type: ignore[misc]
        if len(real) < expected and len(real) % self.packet == 0:
            self.halt_in()  # no short packet ended the transfer: a stall does
        return expected - len(real)

    def halt_in(self) -> None:
        """Stall bulk IN. FunctionFS halts an endpoint asked for I/O in the wrong direction;
        the host clears the halt before it reads the CSW."""
        try:
            os.read(self.ep_in, 1)
        except OSError as e:
            if e.errno != errno.EBADMSG:
                raise
