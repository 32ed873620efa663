"""What a disc's table of contents looks like on the wire (MMC-6 READ TOC/PMA/ATIP, READ DISC
INFORMATION, READ TRACK INFORMATION), built from a ``Disc``. Replies are whole: the caller cuts
them to the allocation length, so the length fields always say how much the drive holds."""

from __future__ import annotations

from tests.vm.usbdrive.disc import INVALID_FIELD_IN_CDB, Disc, Kind, Track
from tests.vm.usbdrive.scsi import CommandError, address, be32, msf

ADR_Q_POSITION = 1  # ADR 1: Q sub-channel encodes the current position
ADR_Q_MODE5 = 5  # ADR 5: multi-session pointers (B0, C0)
MAX_LEADOUT_MSF = (79, 59, 74)  # outermost possible lead-out of an 80-minute disc
NEXT_SESSION_GAP = 6750 + 4500 + 150  # lead-out + lead-in + pregap of an appended session


def toc_format(cdb: bytes) -> int:
    """Format 0/1/2... from byte 2, or from byte 9 bits 7-6 (the pre-MMC SFF-8020 place that
    Linux's sr still uses for session info: 0x40 in byte 9 with byte 2 = 0)."""
    fmt = cdb[2] & 0x0F
    if fmt == 0 and cdb[9] & 0xC0:
        fmt = cdb[9] >> 6
    return fmt


def read_toc(disc: Disc, cdb: bytes) -> bytes:
    use_msf = bool(cdb[1] & 0x02)
    fmt = toc_format(cdb)
    if fmt == 0:
        return _tracks(disc, cdb[6], use_msf)
    if fmt == 1:
        return _session_info(disc, use_msf)
    if fmt == 2 and disc.medium == "CD":
        return _full_toc(disc, cdb[6])
    if fmt == 5 and disc.medium == "CD" and disc.cdtext:
        from tests.vm.usbdrive.rawcd import read_cdtext

        return read_cdtext(disc)
    # PMA (3), ATIP (4) and CD-TEXT (5) are not recorded on the discs this model describes;
    # formats 2-5 are CD-only.
    raise CommandError(INVALID_FIELD_IN_CDB)


def _adr_ctl(adr: int, control: int) -> int:
    return (adr << 4) | (control & 0x0F)


def _tracks(disc: Disc, first: int, use_msf: bool) -> bytes:
    tracks = disc.tracks
    last = tracks[-1]
    if first == 0xAA:
        chosen: list[Track] = []
    elif first > last.number:
        raise CommandError(INVALID_FIELD_IN_CDB)
    else:
        chosen = [t for t in tracks if t.number >= max(first, 1)]
    body = bytearray()
    for t in chosen:
        body += bytes([0, _adr_ctl(ADR_Q_POSITION, t.control), t.number, 0])
        body += address(t.start, use_msf)
    # The lead-out of the last session; its CONTROL follows the last track (a data disc's
    # lead-out is data).
    body += bytes([0, _adr_ctl(ADR_Q_POSITION, last.control), 0xAA, 0])
    body += address(disc.capacity, use_msf)
    head = (len(body) + 2).to_bytes(2, "big") + bytes([tracks[0].number, last.number])
    return head + bytes(body)


def _session_info(disc: Disc, use_msf: bool) -> bytes:
    last = disc.sessions[-1]
    first_track = last.tracks[0]
    body = bytes([0, _adr_ctl(ADR_Q_POSITION, first_track.control), first_track.number, 0])
    body += address(first_track.start, use_msf)
    return (len(body) + 2).to_bytes(2, "big") + bytes([1, last.number]) + body


def _descriptor(session: int, adr_ctl: int, point: int, atime: bytes, pm: bytes) -> bytes:
    """One 11-byte raw TOC entry: session, ADR/CONTROL, TNO 0, POINT, MIN SEC FRAME, ZERO,
    PMIN PSEC PFRAME. Values are binary, not BCD (MMC-6 READ TOC format 0010b)."""
    return bytes([session, adr_ctl, 0, point]) + atime + pm


def _full_toc(disc: Disc, first_session: int) -> bytes:
    if first_session > disc.sessions[-1].number:
        raise CommandError(INVALID_FIELD_IN_CDB)
    # Disc type in A0's PSEC: 20h for CD-ROM XA (any Mode 2 track), else 00h (CD-DA/CD-ROM).
    disc_type = 0x20 if any(t.kind is Kind.MODE2 for t in disc.tracks) else 0x00
    multi = len(disc.sessions) > 1 or disc.appendable
    body = bytearray()
    zero4 = bytes(4)  # ATIME and ZERO: drives report 0 for the lead-in position
    for i, s in enumerate(disc.sessions):
        if s.number < max(first_session, 1):
            continue
        first, last = s.tracks[0], s.tracks[-1]
        n = s.number
        body += _descriptor(
            n, _adr_ctl(1, first.control), 0xA0, zero4, bytes([first.number, disc_type, 0])
        )
        body += _descriptor(n, _adr_ctl(1, last.control), 0xA1, zero4, bytes([last.number, 0, 0]))
        body += _descriptor(n, _adr_ctl(1, last.control), 0xA2, zero4, bytes(msf(s.leadout)))
        for t in s.tracks:
            body += _descriptor(n, _adr_ctl(1, t.control), t.number, zero4, bytes(msf(t.start)))
        # B0 (Orange Book): where the next session's program area may start. Present in every
        # session of a multi-session disc except the last one of a closed disc.
        later = disc.sessions[i + 1] if i + 1 < len(disc.sessions) else None
        if multi and (later is not None or disc.appendable):
            nxt = later.start - 150 if later is not None else s.leadout + NEXT_SESSION_GAP - 150
            m, sec, f = msf(nxt)
            body += bytes([n, _adr_ctl(ADR_Q_MODE5, last.control), 0, 0xB0, m, sec, f, 1])
            body += bytes(MAX_LEADOUT_MSF)
    head = (len(body) + 2).to_bytes(2, "big") + bytes([1, disc.sessions[-1].number])
    return head + bytes(body)


def read_disc_information(disc: Disc, cdb: bytes) -> bytes:
    if cdb[1] & 0x07:  # data types 001b/010b are for BD track resources / POW resources
        raise CommandError(INVALID_FIELD_IN_CDB)
    out = bytearray(34)
    out[0:2] = (32).to_bytes(2, "big")
    erasable = disc.profile in (0x0A, 0x12, 0x13, 0x1A, 0x43)
    # Last session complete (11b); disc complete (10b) or appendable/incomplete (01b).
    out[2] = (0x10 if erasable else 0) | (0b11 << 2) | (0b01 if disc.appendable else 0b10)
    tracks = disc.tracks
    last = disc.sessions[-1]
    out[3] = tracks[0].number
    out[4] = len(disc.sessions) & 0xFF
    out[5] = last.tracks[0].number & 0xFF
    out[6] = last.tracks[-1].number & 0xFF
    out[7] = 0x20  # URU: unrestricted use
    if disc.medium == "CD":
        out[8] = 0x20 if any(t.kind is Kind.MODE2 for t in tracks) else 0x00
    out[9] = len(disc.sessions) >> 8
    # Last session lead-in start and last possible lead-out start: FFFFFFFFh on a closed disc.
    if disc.appendable and disc.medium == "CD":
        out[16:20] = address(last.leadout + 6750, True)
        out[20:24] = bytes([0, *MAX_LEADOUT_MSF])
    else:
        out[16:24] = b"\xff" * 8
    return bytes(out)


def read_track_information(disc: Disc, cdb: bytes) -> bytes:
    kind, value = cdb[1] & 0x03, be32(cdb, 2)
    track: Track | None
    if kind == 0:  # LBA
        track = disc.track_at(value)
    elif kind == 1:  # track number; 0 (lead-in) and FFh (invisible track) don't exist on a
        track = disc.track(value)  # closed disc
    elif kind == 2:  # session number: its first track
        session = next((s for s in disc.sessions if s.number == value), None)
        track = session.tracks[0] if session else None
    else:
        track = None
    if track is None:
        raise CommandError(INVALID_FIELD_IN_CDB)
    out = bytearray(48)
    out[0:2] = (46).to_bytes(2, "big")
    out[2], out[3] = track.number & 0xFF, track.session & 0xFF
    out[5] = track.control & 0x0F  # track mode = the Q CONTROL nibble
    out[6] = {Kind.MODE1: 0x1, Kind.MODE2: 0x2, Kind.AUDIO: 0xF}[track.kind]
    out[8:12] = track.start.to_bytes(4, "big")
    out[24:28] = track.length.to_bytes(4, "big")
    out[32], out[33] = track.number >> 8, track.session >> 8
    return bytes(out)
