"""Optical drives on Windows (constants from mingw-w64 headers; see shared DRIVES.md). No Qt.

Importable everywhere: the structures and numbers are plain ctypes and integers, and the Win32
calls are looked up only when a function runs. Not exercised on a real Windows drive here.

Drive control (read retry count and speed per pass, ``drivectl.py``) goes through
IOCTL_SCSI_PASS_THROUGH_DIRECT on a second, read-write handle, which Windows grants only to an
elevated process; without it the drive keeps its settings and the report says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import string
import sys
from typing import Any

from app.core.base.sector import SECTOR
from app.core.disc import toc
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError, SourceError, SourceGone
from app.platform import sgio
from app.platform.base import DriveInfo
from app.platform.drivectl import DriveControl

# CTL_CODE(DeviceType, Function, Method, Access) from winioctl.h
FILE_DEVICE_CD_ROM, FILE_DEVICE_CONTROLLER, FILE_DEVICE_DISK = 0x02, 0x04, 0x07
FILE_DEVICE_FILE_SYSTEM, FILE_DEVICE_MASS_STORAGE = 0x09, 0x2D
METHOD_BUFFERED, METHOD_NEITHER = 0, 3
FILE_ANY_ACCESS, FILE_READ_ACCESS, FILE_READ_WRITE_ACCESS = 0, 1, 3


def ctl_code(device: int, function: int, method: int, access: int) -> int:
    return (device << 16) | (access << 14) | (function << 2) | method


IOCTL_STORAGE_CHECK_VERIFY2 = ctl_code(
    FILE_DEVICE_MASS_STORAGE, 0x0200, METHOD_BUFFERED, FILE_ANY_ACCESS
)
IOCTL_STORAGE_EJECT_MEDIA = ctl_code(
    FILE_DEVICE_MASS_STORAGE, 0x0202, METHOD_BUFFERED, FILE_READ_ACCESS
)
IOCTL_STORAGE_EJECTION_CONTROL = ctl_code(
    FILE_DEVICE_MASS_STORAGE, 0x0250, METHOD_BUFFERED, FILE_ANY_ACCESS
)
IOCTL_CDROM_GET_CONFIGURATION = ctl_code(
    FILE_DEVICE_CD_ROM, 0x0016, METHOD_BUFFERED, FILE_READ_ACCESS
)
IOCTL_CDROM_READ_TOC_EX = ctl_code(FILE_DEVICE_CD_ROM, 0x0015, METHOD_BUFFERED, FILE_READ_ACCESS)
TOC_FORMAT_TOC, TOC_FORMAT_SESSION, TOC_FORMAT_FULL = 0, 1, 2
IOCTL_DISK_GET_LENGTH_INFO = ctl_code(FILE_DEVICE_DISK, 0x0017, METHOD_BUFFERED, FILE_READ_ACCESS)
FSCTL_ALLOW_EXTENDED_DASD_IO = ctl_code(
    FILE_DEVICE_FILE_SYSTEM, 32, METHOD_NEITHER, FILE_ANY_ACCESS
)
IOCTL_SCSI_PASS_THROUGH_DIRECT = ctl_code(
    FILE_DEVICE_CONTROLLER, 0x0405, METHOD_BUFFERED, FILE_READ_WRITE_ACCESS
)

DRIVE_CDROM = 5
GENERIC_READ = 0x80000000
GENERIC_WRITE = 0x40000000
FILE_SHARE_READ, FILE_SHARE_WRITE = 1, 2
OPEN_EXISTING = 3
FILE_READ_ATTRIBUTES = 0x80
FILE_FLAG_NO_BUFFERING = 0x20000000
INVALID_HANDLE_VALUE = ctypes.c_void_p(-1).value

# Win32 errors a read can end with, sorted the way the rescue engine needs them.
BAD_SECTOR_ERRORS = {
    23: "CRC error (unreadable sector)",
    1117: "I/O device error",
    121: "the drive timed out",
    27: "sector not found",
}
GONE_ERRORS = {
    21: "the drive is not ready (no disc)",
    1110: "the disc was changed",
    1112: "no disc in the drive",
    1167: "the drive was disconnected",
}


class SCSI_PASS_THROUGH_DIRECT(ctypes.Structure):
    """ntddscsi.h; 56 bytes on x64, 44 on x86."""

    _fields_ = [
        ("Length", ctypes.c_ushort),
        ("ScsiStatus", ctypes.c_ubyte),
        ("PathId", ctypes.c_ubyte),
        ("TargetId", ctypes.c_ubyte),
        ("Lun", ctypes.c_ubyte),
        ("CdbLength", ctypes.c_ubyte),
        ("SenseInfoLength", ctypes.c_ubyte),
        ("DataIn", ctypes.c_ubyte),
        ("DataTransferLength", ctypes.c_uint32),
        ("TimeOutValue", ctypes.c_uint32),
        ("DataBuffer", ctypes.c_void_p),
        ("SenseInfoOffset", ctypes.c_uint32),
        ("Cdb", ctypes.c_ubyte * 16),
    ]


SCSI_IOCTL_DATA_OUT, SCSI_IOCTL_DATA_IN, SCSI_IOCTL_DATA_UNSPECIFIED = 0, 1, 2
SENSE_LEN = 32


class SPTD_WITH_SENSE(ctypes.Structure):
    """SCSI_PASS_THROUGH_DIRECT followed by its sense buffer, as Microsoft's samples lay it out
    (SCSI_PASS_THROUGH_DIRECT_WITH_BUFFER: the ULONG filler keeps the sense 4-byte aligned).
    96 bytes on x64, sense at offset 60."""

    _fields_ = [
        ("sptd", SCSI_PASS_THROUGH_DIRECT),
        ("filler", ctypes.c_uint32),
        ("sense", ctypes.c_ubyte * SENSE_LEN),
    ]


def sptd_request(
    cdb: bytes, buffer: int | None, length: int, direction: int, timeout_s: int = 60
) -> SPTD_WITH_SENSE:
    """The input (and output) of one IOCTL_SCSI_PASS_THROUGH_DIRECT. ``buffer`` is the data's
    address: it must be aligned as the adapter wants (a page-aligned mmap always is)."""
    if not 6 <= len(cdb) <= 16:
        raise ValueError(f"a CDB is 6 to 16 bytes, not {len(cdb)}")
    req = SPTD_WITH_SENSE()
    req.sptd.Length = ctypes.sizeof(SCSI_PASS_THROUGH_DIRECT)
    req.sptd.CdbLength = len(cdb)
    req.sptd.SenseInfoLength = SENSE_LEN
    req.sptd.SenseInfoOffset = SPTD_WITH_SENSE.sense.offset
    req.sptd.DataIn = direction if length else SCSI_IOCTL_DATA_UNSPECIFIED
    req.sptd.DataTransferLength = length
    req.sptd.TimeOutValue = timeout_s
    req.sptd.DataBuffer = buffer
    for i, b in enumerate(cdb):
        req.sptd.Cdb[i] = b
    return req


def sptd_check(req: SPTD_WITH_SENSE) -> int:
    """After the ioctl: the bytes transferred, or ``sgio.ScsiError`` with the drive's sense
    (the same errors as Linux SG_IO, so drive control is one code for both)."""
    status = req.sptd.ScsiStatus
    if status:
        raw = bytes(req.sense[: min(req.sptd.SenseInfoLength, SENSE_LEN)])
        raise sgio.ScsiError(sgio.decode_sense(raw), status)
    return int(req.sptd.DataTransferLength)


class GET_LENGTH_INFORMATION(ctypes.Structure):
    _fields_ = [("Length", ctypes.c_int64)]


class PREVENT_MEDIA_REMOVAL(ctypes.Structure):
    _fields_ = [("PreventMediaRemoval", ctypes.c_ubyte)]


def parse_drive(spec: str) -> str:
    """'d', 'D:', 'D:\\' or '\\\\.\\D:' -> the volume path '\\\\.\\D:'.

    Anything else raises ValueError."""
    s = spec.strip()
    if s.startswith(("\\\\.\\", "//./")):
        s = s[4:]
    s = s.rstrip("\\/")
    if len(s) == 2 and s[1] == ":":
        s = s[0]
    if len(s) != 1 or s.upper() not in string.ascii_uppercase:
        raise ValueError(f"{spec!r} is not a drive letter (like D:)")
    return f"\\\\.\\{s.upper()}:"


def classify(winerror: int) -> str:
    """'bad' (mark the sector), 'gone' (stop, resumable), 'denied', or 'error'."""
    if winerror in BAD_SECTOR_ERRORS:
        return "bad"
    if winerror in GONE_ERRORS:
        return "gone"
    if winerror == 5:
        return "denied"
    return "error"


def permission_hint(spec: str) -> str:
    return (
        f"Windows refused access to {spec}: reading a disc sector by sector needs "
        "DiscVault to run as administrator (right-click → Run as administrator)"
    )


def _k32() -> Any:
    if sys.platform != "win32":
        raise OSError(errno.ENOSYS, "Windows drive access is only available on Windows")
    return ctypes.windll.kernel32


def _open(volume: str, access: int, flags: int = 0) -> int:
    k = _k32()
    k.CreateFileW.restype = ctypes.c_void_p
    h = k.CreateFileW(
        volume, access, FILE_SHARE_READ | FILE_SHARE_WRITE, None, OPEN_EXISTING, flags, None
    )
    if h in (None, INVALID_HANDLE_VALUE):
        code = int(k.GetLastError())
        if code == 5:
            raise SourceError(permission_hint(volume))
        raise SourceError(f"{volume}: Windows error {code}")
    return int(h)


def _ioctl(
    handle: int, code: int, out: ctypes.Structure | None = None, inp: ctypes.Structure | None = None
) -> int:
    k = _k32()
    returned = ctypes.c_uint32()
    ok = k.DeviceIoControl(
        ctypes.c_void_p(handle),
        code,
        ctypes.byref(inp) if inp is not None else None,
        ctypes.sizeof(inp) if inp is not None else 0,
        ctypes.byref(out) if out is not None else None,
        ctypes.sizeof(out) if out is not None else 0,
        ctypes.byref(returned),
        None,
    )
    return 0 if ok else int(k.GetLastError())


def read_toc_ex_input(fmt: int, msf: bool, session_track: int = 0) -> bytes:
    """CDROM_READ_TOC_EX: Format:4, Reserved1:3, Msf:1, SessionTrack, Reserved2, Reserved3."""
    return bytes([(fmt & 0x0F) | (0x80 if msf else 0), session_track, 0, 0])


class WindowsDriveSource:
    """\\\\.\\D: read with FILE_FLAG_NO_BUFFERING into page-aligned buffers (2048 multiples)."""

    sector_size = SECTOR
    medium: str | None = None
    protection = ""
    is_drive = True

    def __init__(self, spec: str) -> None:
        self.volume = parse_drive(spec)
        self.description = spec
        self.notes: list[str] = []
        self.handle = _open(self.volume, GENERIC_READ, FILE_FLAG_NO_BUFFERING)
        _ioctl(self.handle, FSCTL_ALLOW_EXTENDED_DASD_IO)  # read past the filesystem's end
        self.sector_count = self.current_sector_count()
        self._buf = mmap.mmap(-1, 1024 * SECTOR)  # page-aligned, as NO_BUFFERING demands
        self.control = self._drive_control()

    def _toc(self, fmt: int, msf: bool, session_track: int) -> bytes:
        k = _k32()
        inp = ctypes.create_string_buffer(read_toc_ex_input(fmt, msf, session_track), 4)
        out = ctypes.create_string_buffer(4096)
        got = ctypes.c_uint32()
        ok = k.DeviceIoControl(
            ctypes.c_void_p(self.handle),
            IOCTL_CDROM_READ_TOC_EX,
            inp,
            4,
            out,
            len(out),
            ctypes.byref(got),
            None,
        )
        if not ok:
            raise OSError(errno.EIO, f"Windows error {int(k.GetLastError())}")
        return out.raw[: got.value]

    def read_layout(self) -> DiscLayout:
        """IOCTL_CDROM_READ_TOC_EX: the full TOC, else tracks + session info, else one track."""
        try:
            return toc.parse_full_toc(self._toc(TOC_FORMAT_FULL, True, 1))
        except (OSError, toc.TocError):
            pass
        try:
            entries, leadout = toc.parse_tracks(self._toc(TOC_FORMAT_TOC, False, 0))
            try:
                _, last, _ = toc.parse_session_info(self._toc(TOC_FORMAT_SESSION, False, 0))
            except (OSError, toc.TocError):
                last = None
            return toc.from_entries(entries, leadout, last)
        except (OSError, toc.TocError):
            return DiscLayout.flat(self.sector_count)

    def current_sector_count(self) -> int:
        info = GET_LENGTH_INFORMATION()
        err = _ioctl(self.handle, IOCTL_DISK_GET_LENGTH_INFO, out=info)
        return 0 if err else int(info.Length) // SECTOR

    def read(self, lba: int, count: int) -> bytes:
        k = _k32()
        want = count * SECTOR
        if want > len(self._buf):
            self._buf = mmap.mmap(-1, want)
        pos = ctypes.c_int64(lba * SECTOR)
        k.SetFilePointerEx(ctypes.c_void_p(self.handle), pos, None, 0)
        got = ctypes.c_uint32()
        buf = (ctypes.c_char * want).from_buffer(self._buf)
        ok = k.ReadFile(ctypes.c_void_p(self.handle), buf, want, ctypes.byref(got), None)
        if ok and got.value == want:
            return bytes(self._buf[:want])
        code = int(k.GetLastError()) if not ok else 23
        kind = classify(code)
        if kind == "gone":
            raise SourceGone(f"{self.description}: {GONE_ERRORS[code]}")
        if kind == "bad":
            whole = got.value - got.value % SECTOR
            raise ReadError(lba, count, errno.EIO, bytes(self._buf[:whole]))
        raise SourceError(f"{self.description}: Windows error {code} at LBA {lba}")

    def prepare_retry(self, lba: int) -> None:
        far = lba + 20_000 if lba + 20_000 < self.sector_count else max(lba - 20_000, 0)
        with contextlib.suppress(ReadError):
            self.read(far, 1)

    # ---- drive control through SCSI pass-through ----------------------------------------------
    def _drive_control(self) -> DriveControl | None:
        self._pt = 0
        try:
            self._pt = _open(self.volume, GENERIC_READ | GENERIC_WRITE)
        except SourceError as e:
            self.notes.append(f"drive settings left as they are: no SCSI pass-through ({e})")
            return None
        with contextlib.suppress(OSError):
            self.medium = sgio.medium_of(
                sgio.PROFILES.get(
                    sgio.parse_profile(self._send(sgio.get_configuration_cdb(), 8, None)) or 0
                )
            )
        control = DriveControl(
            self._send, self.medium, self.sector_count, self.description, self.notes
        )
        control.recover()
        return control

    def _send(self, cdb: bytes, data_len: int, data_out: bytes | None) -> bytes:
        """One command through IOCTL_SCSI_PASS_THROUGH_DIRECT on the read-write handle."""
        n = len(data_out) if data_out is not None else data_len
        buf = mmap.mmap(-1, max(n, 1))  # page-aligned: any adapter's alignment mask is met
        try:
            if data_out is not None:
                buf[:n] = data_out
            view = (ctypes.c_char * max(n, 1)).from_buffer(buf)
            direction = SCSI_IOCTL_DATA_OUT if data_out is not None else SCSI_IOCTL_DATA_IN
            req = sptd_request(cdb, ctypes.addressof(view), n, direction)
            del view
            returned = ctypes.c_uint32()
            k = _k32()
            ok = k.DeviceIoControl(
                ctypes.c_void_p(self._pt),
                IOCTL_SCSI_PASS_THROUGH_DIRECT,
                ctypes.byref(req),
                ctypes.sizeof(req),
                ctypes.byref(req),
                ctypes.sizeof(req),
                ctypes.byref(returned),
                None,
            )
            if not ok:
                raise OSError(errno.EIO, f"Windows error {int(k.GetLastError())}")
            got = sptd_check(req)
            return b"" if data_out is not None else bytes(buf[: min(got, n)])
        finally:
            buf.close()

    def set_phase(self, phase: str) -> None:
        if self.control is not None:
            self.control.enter(phase)

    def close(self) -> None:
        if self.control is not None:
            self.control.restore()
            self.control = None
        if self._pt:
            _k32().CloseHandle(ctypes.c_void_p(self._pt))
            self._pt = 0
        if self.handle:
            _k32().CloseHandle(ctypes.c_void_p(self.handle))
            self.handle = 0


def list_drives() -> list[DriveInfo]:
    import psutil

    out = []
    for part in psutil.disk_partitions(all=True):
        if "cdrom" not in part.opts:
            continue
        letter = part.device.rstrip("\\")
        info = DriveInfo(
            path=letter,
            name=letter,
            filesystem=part.fstype,
            mountpoint=part.mountpoint if part.fstype else "",
        )
        try:
            h = _open(parse_drive(letter), FILE_READ_ATTRIBUTES)
        except SourceError as e:
            info.problem = str(e)
        else:
            err = _ioctl(h, IOCTL_STORAGE_CHECK_VERIFY2)
            info.state = "disc_ok" if err == 0 else ("no_disc" if err == 21 else "unknown")
            _k32().CloseHandle(ctypes.c_void_p(h))
        out.append(info)
    return out


def eject(spec: str) -> None:
    h = _open(parse_drive(spec), GENERIC_READ)
    try:
        err = _ioctl(h, IOCTL_STORAGE_EJECT_MEDIA)
        if err:
            raise OSError(errno.EIO, f"could not eject {spec}: Windows error {err}")
    finally:
        _k32().CloseHandle(ctypes.c_void_p(h))
