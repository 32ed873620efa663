"""What the drive says about itself: INQUIRY, GET CONFIGURATION features, mode pages 01h and 2Ah,
READ DVD STRUCTURE and event notification. Pure functions of the disc and the drive's settings;
``mmc.Drive`` owns the settings and the state."""

from __future__ import annotations

from dataclasses import dataclass

from tests.vm.usbdrive.disc import (
    INCOMPATIBLE_FORMAT,
    INVALID_FIELD_IN_CDB,
    INVALID_FIELD_IN_PARAMETERS,
    PARAMETER_LIST_LENGTH,
    PROFILES,
    Disc,
)
from tests.vm.usbdrive.scsi import CommandError, be16

VENDOR, PRODUCT, REVISION = "DISCVLT", "MMC MODEL USB", "1.00"

# Read speeds the drive can be set to (kB/s), by medium; 1x CD = 176, 1x DVD = 1385, 1x BD = 4495
SPEEDS: dict[str, tuple[int, ...]] = {
    "CD": tuple(x * 176 for x in (4, 8, 16, 24, 32, 40, 48)),
    "DVD": tuple(x * 1385 for x in (2, 4, 8, 12, 16)),
    "BD": tuple(x * 4495 for x in (2, 4, 6, 8)),
}


def inquiry(cdb: bytes, serial: str) -> bytes:
    evpd, page = cdb[1] & 0x01, cdb[2]
    if evpd:
        if page == 0x00:
            return bytes([0x05, 0x00, 0x00, 2, 0x00, 0x80])
        if page == 0x80:
            s = serial.encode("ascii", "replace")[:32]
            return bytes([0x05, 0x80, 0x00, len(s)]) + s
        raise CommandError(INVALID_FIELD_IN_CDB)
    if page:
        raise CommandError(INVALID_FIELD_IN_CDB)
    out = bytearray(36)
    out[0] = 0x05  # peripheral device type: CD/DVD device
    out[1] = 0x80  # RMB: removable medium
    out[2] = 0x05  # SPC-3
    out[3] = 0x02  # response data format 2
    out[4] = 36 - 5  # additional length
    out[8:16] = VENDOR.ljust(8).encode()
    out[16:32] = PRODUCT.ljust(16).encode()
    out[32:36] = REVISION.ljust(4).encode()
    return bytes(out)


# ---- GET CONFIGURATION --------------------------------------------------------------------------
# The profiles a DVD/BD combo reader lists, highest first (MMC-6 5.3.1).
DRIVE_PROFILES = sorted(PROFILES.values(), reverse=True)


def _feature(code: int, version: int, persistent: bool, current: bool, data: bytes) -> bytes:
    flags = (version << 2) | (0x02 if persistent else 0) | (0x01 if current else 0)
    return code.to_bytes(2, "big") + bytes([flags, len(data)]) + data


def features(disc: Disc | None) -> list[tuple[int, bytes]]:
    """(feature code, descriptor) for every feature, current flags set from the medium."""
    medium = disc.medium if disc else ""
    profile = disc.profile if disc else 0
    profiles = b"".join(
        p.to_bytes(2, "big") + bytes([1 if p == profile else 0, 0]) for p in DRIVE_PROFILES
    )
    block = {"CD": 1, "DVD": 16, "BD": 32}.get(medium, 1)
    css = disc is not None and disc.css is not None
    out = [
        (0x0000, _feature(0x0000, 0, True, True, profiles)),
        # Core: physical interface 8 = USB; DBE (deferred buffer errors) mandatory
        (0x0001, _feature(0x0001, 2, True, True, (8).to_bytes(4, "big") + bytes([1, 0, 0, 0]))),
        # Morphing: OCEvent (operational change events) supported
        (0x0002, _feature(0x0002, 1, True, True, bytes([0x02, 0, 0, 0]))),
        # Removable medium: tray (001b), load, eject, lock
        (0x0003, _feature(0x0003, 2, True, True, bytes([0x39, 0, 0, 0]))),
        (
            0x0010,  # Random readable: 2048-byte blocks, ECC block size in blocks
            _feature(
                0x0010,
                0,
                False,
                disc is not None,
                (2048).to_bytes(4, "big") + block.to_bytes(2, "big") + bytes([0, 0]),
            ),
        ),
        (0x001D, _feature(0x001D, 0, False, medium == "CD", b"")),  # Multi-read
        # CD read: C2 flags (bit 1) when the drive reports them, CD-Text (bit 0)
        (
            0x001E,
            _feature(
                0x001E,
                2,
                False,
                medium == "CD",
                bytes([0x03 if disc is None or disc.drive.c2 else 0x01, 0, 0, 0]),
            ),
        ),
        (0x001F, _feature(0x001F, 2, False, medium == "DVD", bytes(4))),  # DVD read
        (0x0040, _feature(0x0040, 1, False, medium == "BD", bytes(28))),  # BD read
        (0x0100, _feature(0x0100, 0, True, True, b"")),  # Power management
        (0x0106, _feature(0x0106, 0, False, css, bytes([0, 0, 0, 1]))),  # DVD CSS, version 1
        # Real-time streaming: SCS (SET CD SPEED supported)
        (0x0107, _feature(0x0107, 4, False, disc is not None, bytes([0x08, 0, 0, 0]))),
    ]
    return out


def get_configuration(disc: Disc | None, cdb: bytes) -> bytes:
    rt, start = cdb[1] & 0x03, be16(cdb, 2)
    if rt == 3:
        raise CommandError(INVALID_FIELD_IN_CDB)
    chosen = []
    for code, desc in features(disc):
        current = bool(desc[2] & 0x01)
        if (
            (rt == 0 and code >= start)
            or (rt == 1 and code >= start and current)
            or (rt == 2 and code == start)
        ):
            chosen.append(desc)
    body = b"".join(chosen)
    profile = disc.profile if disc else 0
    return (len(body) + 4).to_bytes(4, "big") + bytes(2) + profile.to_bytes(2, "big") + body


# ---- mode pages -----------------------------------------------------------------------------
@dataclass
class ModeSettings:
    """The changeable parameters, as MODE SELECT left them."""

    error_recovery: int = 0x00  # page 01h byte 2 (AWRE ARRE TB RC EER PER DTE DCR)
    read_retry_count: int = 32
    write_retry_count: int = 0
    recovery_time_limit: int = 0


def page_01(m: ModeSettings, changeable: bool) -> bytes:
    if changeable:
        return bytes([0x01, 0x0A, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0, 0xFF, 0xFF])
    return bytes(
        [0x01, 0x0A, m.error_recovery, m.read_retry_count, 0, 0, 0, 0, m.write_retry_count, 0]
    ) + m.recovery_time_limit.to_bytes(2, "big")


def page_2a(medium: str, speed: int, locked: bool, changeable: bool, c2: bool = True) -> bytes:
    """CD/DVD capabilities and mechanical status (MMC-3 layout, which the kernel's sr reads)."""
    p = bytearray(30)
    p[0], p[1] = 0x2A, 28
    if changeable:
        return bytes(p)
    p[2] = 0x1F  # reads CD-R, CD-RW, fixed-packet (method 2), DVD-ROM, DVD-R
    p[4] = 0x71  # audio play, Mode 2 Form 1 and 2, multi-session
    # CD-DA commands, CD-DA stream accurate, (C2 pointers,) ISRC and UPC (MCN) readable
    p[5] = 0x03 | (0x10 if c2 else 0) | 0x60
    p[6] = 0x29 | (0x02 if locked else 0)  # tray loader, eject, lock (+ lock state)
    top = max(SPEEDS["CD"]) if medium in ("", "CD") else max(SPEEDS[medium])
    p[8:10] = top.to_bytes(2, "big")  # maximum read speed (obsolete in MMC-6; sr reads it)
    p[10:12] = (256).to_bytes(2, "big")  # volume levels
    p[12:14] = (2048).to_bytes(2, "big")  # buffer size, KiB
    p[14:16] = speed.to_bytes(2, "big")  # current read speed
    return bytes(p)


def mode_select_pages(data: bytes, m: ModeSettings, current: dict[int, bytes]) -> ModeSettings:
    """Apply a MODE SELECT(10) parameter list to a copy of ``m``; page 01h is changeable, any
    other page only if it is sent unchanged. ``current`` maps page code -> current page."""
    if len(data) < 8:
        raise CommandError(PARAMETER_LIST_LENGTH)
    bdl = be16(data, 6)
    p = 8 + bdl
    if bdl not in (0, 8) or len(data) < p:
        raise CommandError(INVALID_FIELD_IN_PARAMETERS)
    new = ModeSettings(**vars(m))
    while p < len(data):
        if len(data) < p + 2:
            raise CommandError(PARAMETER_LIST_LENGTH)
        code, length = data[p] & 0x3F, data[p + 1]
        page = data[p : p + 2 + length]
        if data[p] & 0x40 or code not in current or len(current[code]) != 2 + length:
            raise CommandError(INVALID_FIELD_IN_PARAMETERS)  # subpages, unknown pages
        if len(page) < 2 + length:
            raise CommandError(PARAMETER_LIST_LENGTH)
        if code == 0x01:
            new.error_recovery, new.read_retry_count = page[2], page[3]
            new.write_retry_count = page[8]
            new.recovery_time_limit = be16(page, 10)
        elif page[2:] != current[code][2:]:
            raise CommandError(INVALID_FIELD_IN_PARAMETERS)  # not changeable
        p += 2 + length
    return new


# ---- READ DVD STRUCTURE ---------------------------------------------------------------------
def read_dvd_structure(disc: Disc, cdb: bytes) -> bytes:
    media_type, layer, fmt = cdb[1] & 0x0F, cdb[6], cdb[7]
    if media_type != 0:  # 1 = BD structures: none are modelled yet
        raise CommandError(INVALID_FIELD_IN_CDB)
    if disc.medium != "DVD":
        raise CommandError(INCOMPATIBLE_FORMAT)
    if fmt == 0x00:  # physical format information, layer 0
        if layer != 0:
            raise CommandError(INVALID_FIELD_IN_CDB)
        body = bytearray(2048)
        book = 0x0A if disc.profile == 0x1B else 0x00  # DVD+R book type, else DVD-ROM
        body[0] = (book << 4) | 0x01  # part version 1
        body[1] = 0x02  # 120 mm, maximum rate 10.08 Mbit/s
        body[2] = 0x01  # one layer, embossed (read-only) data
        start = 0x030000  # first PSN of the data area
        body[4:8] = start.to_bytes(4, "big")
        body[8:12] = (start + disc.capacity - 1).to_bytes(4, "big")
        return (len(body) + 2).to_bytes(2, "big") + bytes(2) + bytes(body)
    if fmt == 0x01:  # copyright information
        cpst = 0x01 if disc.css is not None else 0x00  # 01h: CSS/CPPM
        rmi = disc.css.region_mask if disc.css is not None else 0x00
        return (6).to_bytes(2, "big") + bytes(2) + bytes([cpst, rmi, 0, 0])
    if fmt == 0xFF:  # the structures this drive can return
        listing = b"".join(  # format, readable (40h), size of what it returns
            bytes([code, 0x40]) + size.to_bytes(2, "big")
            for code, size in ((0x00, 2052), (0x01, 8), (0xFF, 16))
        )
        return (len(listing) + 2).to_bytes(2, "big") + bytes(2) + listing
    raise CommandError(INVALID_FIELD_IN_CDB)


# ---- GET EVENT STATUS NOTIFICATION ----------------------------------------------------------
MEDIA_CLASS = 4  # notification class 4: media; supported-class bit 4
NO_CHANGE, EJECT_REQUEST, NEW_MEDIA, MEDIA_REMOVAL = 0, 1, 2, 3


def event_status(cdb: bytes, event: int, tray_open: bool, present: bool) -> tuple[bytes, bool]:
    """The reply, and whether it reported the pending media ``event`` (the caller then clears
    it). Polling only: the asynchronous mode is optional in MMC-6 and refused."""
    if not cdb[1] & 0x01:
        raise CommandError(INVALID_FIELD_IN_CDB)
    supported = 1 << MEDIA_CLASS
    # The EVENT DATA LENGTH counts the bytes after the 4-byte header (Linux's sr checks that it
    # covers the 4-byte media event descriptor).
    if not cdb[4] & supported:
        return bytes([0, 0, 0x80, supported]), False  # NEA: no requested class available
    status = (0x01 if tray_open else 0) | (0x02 if present else 0)
    return bytes([0, 4, MEDIA_CLASS, supported, event, status, 0, 0]), True
