"""Optical drives on macOS: diskutil/drutil parsing, raw-node reads, eject. No Qt.

Parsers are pure functions over the tools' output (tested here against fixtures built from
Apple's documented keys); the calls run only on macOS. Not exercised on a real Mac here.
"""

from __future__ import annotations

import ctypes
import plistlib
import re
import subprocess
from typing import Any

from app.core.disc import toc
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ImageSource
from app.platform.base import DriveInfo

IOC_OUT = 0x40000000
IOC_INOUT = 0xC0000000


def _ior(group: str, num: int, size: int) -> int:
    """_IOR() from <sys/ioccom.h>."""
    return IOC_OUT | ((size & 0x1FFF) << 16) | (ord(group) << 8) | num


def _iowr(group: str, num: int, size: int) -> int:
    return IOC_INOUT | ((size & 0x1FFF) << 16) | (ord(group) << 8) | num


class DkCdReadToc(ctypes.Structure):
    """dk_cd_read_toc_t from <IOKit/storage/IOCDMediaBSDClient.h> (24 bytes on 64-bit)."""

    _fields_ = [
        ("format", ctypes.c_uint8),
        ("formatAsTime", ctypes.c_uint8),
        ("reserved0016", ctypes.c_uint8 * 5),
        ("address", ctypes.c_uint8),  # session or track
        ("reserved0064", ctypes.c_uint8 * 6),
        ("bufferLength", ctypes.c_uint16),
        ("buffer", ctypes.c_void_p),
    ]


DKIOCGETBLOCKSIZE = _ior("d", 24, 4)  # uint32_t
DKIOCGETBLOCKCOUNT = _ior("d", 25, 8)  # uint64_t
DKIOCCDREADTOC = _iowr("d", 160, ctypes.sizeof(DkCdReadToc))
CD_TOC_FORMAT_FULL = 2  # kCDTOCFormatTOC: Apple's CDTOC is the MMC full TOC

_BSD = re.compile(r"^(?:/dev/)?r?(disk\d+)(s\d+)*$")


def whole_disk(spec: str) -> str:
    """'disk2', '/dev/disk2', '/dev/rdisk2s1' -> 'disk2'; anything else: ValueError."""
    m = _BSD.match(spec.strip())
    if not m:
        raise ValueError(f"{spec!r} is not a disk (like disk2)")
    return m.group(1)


def raw_node(spec: str) -> str:
    """The raw device to read: /dev/rdiskN skips the buffer cache (and works while mounted)."""
    return f"/dev/r{whole_disk(spec)}"


def parse_diskutil_list(data: bytes) -> list[str]:
    """Whole disks from ``diskutil list -plist``."""
    doc = plistlib.loads(data)
    disks = doc.get("WholeDisks")
    if isinstance(disks, list):
        return [str(d) for d in disks]
    return [str(d["DeviceIdentifier"]) for d in doc.get("AllDisksAndPartitions", [])]


def parse_diskutil_info(data: bytes) -> dict[str, Any]:
    """The fields DiscVault uses from ``diskutil info -plist diskN``."""
    d = plistlib.loads(data)
    optical = bool(d.get("OpticalDeviceType") or d.get("OpticalMediaType") or d.get("Optical"))
    return {
        "disk": d.get("DeviceIdentifier", ""),
        "optical": optical,
        "media": d.get("OpticalMediaType") or None,
        "drive_type": d.get("OpticalDeviceType") or None,
        "model": (d.get("MediaName") or d.get("IORegistryEntryName") or "").strip(),
        "label": d.get("VolumeName") or "",
        "filesystem": d.get("FilesystemType") or "",
        "mountpoint": d.get("MountPoint") or "",
        "bytes": int(d.get("TotalSize") or d.get("Size") or 0),
        "block_size": int(d.get("DeviceBlockSize") or 2048),
        "ejectable": bool(d.get("Ejectable", d.get("EjectableMedia", False))),
    }


def parse_drutil_status(text: str) -> dict[str, str]:
    """``drutil status``: vendor/product and the 'Key: value' pairs (two per line)."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.split() == ["Vendor", "Product", "Rev"] and i + 1 < len(lines):
            parts = lines[i + 1].split()
            if parts:
                out["vendor"], out["product"] = parts[0], " ".join(parts[1:-1])
    for key, value in re.findall(r"(\w[\w ]*?):\s+(.*?)(?=\s{2,}\w[\w ]*?:|$)", text, re.M):
        out.setdefault(key.strip(), value.strip())
    return out


def drutil_has_disc(status: dict[str, str]) -> bool:
    kind = status.get("Type", "")
    return bool(kind) and "No Media" not in kind


class MacDriveSource(ImageSource):
    """/dev/rdiskN: the console user owns optical nodes, so no root is needed."""

    allow_char_device = True  # /dev/rdiskN is a character device on macOS
    is_drive = True

    def __init__(self, spec: str) -> None:
        super().__init__(raw_node(spec))
        self.description = whole_disk(spec)
        self.notes: list[str] = []

    def read_layout(self) -> DiscLayout:
        """DKIOCCDREADTOC (the full TOC) on CDs; one data track where it is refused."""
        import fcntl

        buf = ctypes.create_string_buffer(4096)
        req = DkCdReadToc(format=CD_TOC_FORMAT_FULL, formatAsTime=1, address=1)
        req.bufferLength = len(buf)
        req.buffer = ctypes.cast(buf, ctypes.c_void_p).value
        try:
            fcntl.ioctl(self._fd, DKIOCCDREADTOC, req)
            return toc.parse_full_toc(buf.raw[: req.bufferLength or len(buf)], "CD")
        except (OSError, toc.TocError) as e:
            self.notes.append(f"no TOC from the drive ({e}): imaged as one data track")
            return DiscLayout.flat(self.sector_count)


def list_drives() -> list[DriveInfo]:
    out = []
    listing = subprocess.run(["diskutil", "list", "-plist"], capture_output=True).stdout
    for disk in parse_diskutil_list(listing):
        info_raw = subprocess.run(["diskutil", "info", "-plist", disk], capture_output=True).stdout
        try:
            info = parse_diskutil_info(info_raw)
        except (plistlib.InvalidFileException, ValueError):
            continue
        if not info["optical"]:
            continue
        out.append(
            DriveInfo(
                path=disk,
                name=disk,
                model=info["model"],
                state="disc_ok" if info["bytes"] else "no_disc",
                profile=info["media"],
                label=info["label"],
                filesystem=info["filesystem"],
                mountpoint=info["mountpoint"],
                sectors=info["bytes"] // 2048,
            )
        )
    return out


def eject(spec: str) -> None:
    r = subprocess.run(["diskutil", "eject", whole_disk(spec)], capture_output=True, text=True)
    if r.returncode != 0:
        raise OSError(r.returncode, r.stderr.strip() or f"could not eject {spec}")
