"""Send a list of CDBs and record what comes back: through Linux SG_IO to a real (emulated) drive,
or straight to a ``Drive`` model. The same probes on both sides make a comparison.

In the guest::

    python -m tests.vm.usbdrive.sgprobe /dev/sr0 probes.json answers.json

``probes.json`` is a list of ``{"name", "cdb" (hex), "alloc", "out" (hex, optional)}``; each
answer is ``{"name", "status", "sense" ("KEY/ASC/ASCQ" or null), "info", "data" (hex),
"errno"}``. Kept free of ``app`` imports: this is a judge of the code under test, not part of it.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

SG_IO = 0x2285
SG_DXFER_NONE, SG_DXFER_TO_DEV, SG_DXFER_FROM_DEV = -1, -2, -3


@dataclass(frozen=True)
class Probe:
    name: str
    cdb: bytes
    alloc: int = 0
    out: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cdb": self.cdb.hex(),
            "alloc": self.alloc,
            "out": self.out.hex(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Probe:
        return cls(d["name"], bytes.fromhex(d["cdb"]), int(d["alloc"]), bytes.fromhex(d["out"]))


@dataclass(frozen=True)
class Answer:
    name: str
    status: int
    sense: str | None = None
    info: int | None = None
    data: str = ""  # hex
    errno: int | None = None  # the ioctl failed before reaching the drive (e.g. too long)

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.data)


class _SgIoHdr(ctypes.Structure):
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


def decode_sense(sb: bytes) -> tuple[str | None, int | None]:
    if len(sb) >= 14 and sb[0] & 0x7F in (0x70, 0x71):
        info = int.from_bytes(sb[3:7], "big") if sb[0] & 0x80 else None
        return f"{sb[2] & 0x0F:02X}/{sb[12]:02X}/{sb[13]:02X}", info
    if len(sb) >= 4 and sb[0] & 0x7F in (0x72, 0x73):
        return f"{sb[1] & 0x0F:02X}/{sb[2]:02X}/{sb[3]:02X}", None
    return None, None


def sg_run(fd: int, p: Probe, timeout_ms: int = 30_000) -> Answer:
    length = len(p.out) if p.out else p.alloc
    buf = (
        ctypes.create_string_buffer(p.out, len(p.out))
        if p.out
        else ctypes.create_string_buffer(max(length, 1))
    )
    sense = ctypes.create_string_buffer(64)
    cmd = ctypes.create_string_buffer(p.cdb, len(p.cdb))
    h = _SgIoHdr()
    h.interface_id = ord("S")
    h.dxfer_direction = SG_DXFER_TO_DEV if p.out else SG_DXFER_FROM_DEV if length else SG_DXFER_NONE
    h.cmd_len, h.mx_sb_len, h.dxfer_len = len(p.cdb), len(sense), length
    h.dxferp = ctypes.cast(buf, ctypes.c_void_p).value
    h.cmdp = ctypes.cast(cmd, ctypes.c_void_p).value
    h.sbp = ctypes.cast(sense, ctypes.c_void_p).value
    h.timeout = timeout_ms
    try:
        fcntl.ioctl(fd, SG_IO, h)
    except OSError as e:
        return Answer(p.name, -1, errno=e.errno)
    key, info = decode_sense(sense.raw[: h.sb_len_wr]) if h.sb_len_wr else (None, None)
    data = b"" if p.out else buf.raw[: max(0, length - h.resid)]
    status = h.status if h.status or not h.host_status else -h.host_status
    return Answer(p.name, status, key, info, data.hex())


def model_run(drive: Any, p: Probe, autosense: bool = True) -> Answer:
    """The same probe against a ``mmc.Drive``. With ``autosense``, a CHECK CONDITION's sense
    is fetched at once with REQUEST SENSE, as usb-storage does (which clears it); without, it
    stays pending, as QEMU's scsi-cd keeps it after virtio-scsi delivered it."""
    r = drive.execute(p.cdb, p.out)
    if r.status and autosense:
        drive.execute(bytes([0x03, 0, 0, 0, 18, 0]))
    data = b"" if p.out else r.data[: p.alloc]
    return Answer(p.name, r.status, str(r.sense) if r.sense else None, r.info, data.hex())


def main(argv: list[str]) -> int:
    device, probes_path, answers_path = argv
    with open(probes_path) as f:
        probes = [Probe.from_json(d) for d in json.load(f)]
    fd = os.open(device, os.O_RDWR | os.O_NONBLOCK)
    try:
        answers = [asdict(sg_run(fd, p)) for p in probes]
    finally:
        os.close(fd)
    with open(answers_path, "w") as f:
        json.dump(answers, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
