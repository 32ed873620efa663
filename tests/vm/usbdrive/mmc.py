"""An MMC-6 optical drive as a Python object: one call per SCSI command, answered from a ``Disc``.

``Drive.execute(cdb, data_out) -> Reply`` is the whole interface a transport needs (the USB
bulk-only transport in ``ffs.py``, or a test calling it directly); the host side of a test drives
the tray with ``load``/``press_eject``/``close_tray``/``remove``. Every command is logged.

The drive keeps the state a real one keeps: tray and lock, pending sense for REQUEST SENSE, a
unit attention after a disc change, the media event for GET EVENT STATUS NOTIFICATION, the mode
parameters MODE SELECT set (page 01h: read retry count), the speed SET CD SPEED chose, and how
often each flaky sector has failed.

Where later work plugs in:
- raw sectors, C2, EDC/ECC, read offset, silent corruptions, MCN/ISRC/CD-Text: ``rawcd.py``;
- retries, speed and cache (issue 17): ``mechanics.py`` keeps the modelled clock, charges every
  failing try (1 + the read retry count MODE SELECT set, at the speed SET CD SPEED or SET
  STREAMING chose), makes marginal sectors (``tries``, ``max_speed``) read as firmware would,
  and keeps a read-ahead buffer that answers reads without FUA.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.vm.usbdrive import features as ft
from tests.vm.usbdrive import rawcd, toc
from tests.vm.usbdrive.disc import (
    ILLEGAL_MODE_FOR_TRACK,
    INVALID_FIELD_IN_CDB,
    INVALID_FIELD_IN_PARAMETERS,
    INVALID_OPCODE,
    MEDIUM_CHANGED,
    NO_SENSE,
    NOT_READY_NO_MEDIUM_CLOSED,
    NOT_READY_NO_MEDIUM_OPEN,
    PARAMETER_LIST_LENGTH,
    REMOVAL_PREVENTED,
    SAVING_NOT_SUPPORTED,
    SCRAMBLED_NO_AUTH,
    USER,
    Defect,
    Disc,
    Sense,
    Track,
)
from tests.vm.usbdrive.firmware import FirmwareReads
from tests.vm.usbdrive.mechanics import Mechanics
from tests.vm.usbdrive.scsi import (
    CHECK_CONDITION,
    GOOD,
    OPCODES,
    CommandError,
    Reply,
    be16,
    be32,
    fixed_sense,
    opcode_name,
)

# Commands that never report a unit attention (MMC-6 4.1.6.1 / SPC-4 5.14) ...
NO_ATTENTION = {0x03, 0x12, 0x46, 0x4A}
# ... and those that work without a disc in the tray.
NO_MEDIUM_NEEDED = {0x00, 0x03, 0x12, 0x1B, 0x1E, 0x46, 0x4A, 0x55, 0x5A, 0xB6, 0xBB}


@dataclass(frozen=True)
class LogEntry:
    seq: int
    op: int
    cdb: bytes
    status: int
    sense: Sense | None
    info: int | None
    length: int  # bytes of data-in the command produced
    data_out: bytes = b""
    clock: float = 0.0  # the drive's modelled clock when the command ended (mechanics.py)

    @property
    def name(self) -> str:
        return opcode_name(self.op)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "op": self.op,
            "name": self.name,
            "cdb": self.cdb.hex(),
            "status": self.status,
            "sense": str(self.sense) if self.sense else None,
            "info": self.info,
            "length": self.length,
            "data_out": self.data_out.hex(),
            "clock": round(self.clock, 4),
        }


def _alloc16_at7(cdb: bytes) -> int:
    return be16(cdb, 7)


class Drive(FirmwareReads):
    LOG_LIMIT = 100_000  # entries kept in memory; a transport may also stream them out

    def __init__(self, disc: Disc | None = None) -> None:
        self.disc = disc
        self.tray_open = False
        self.prevent = False
        self.persistent_prevent = False
        settings = disc.drive if disc else None
        retries = settings.read_retry_count if settings else 32
        current = settings.current_retry_count if settings else None
        self.serial = settings.serial if settings else "DV0001"
        self.mode = ft.ModeSettings(read_retry_count=retries if current is None else current)
        self.default_mode = ft.ModeSettings(read_retry_count=retries)
        self.requested_speed: int | None = None  # what SET CD SPEED asked, kB/s
        self.read_speed = self._pick_speed(settings.speed or 0xFFFF if settings else 0xFFFF)
        self.mech = Mechanics(
            disc.medium if disc else "CD",
            settings.cache if settings else 0,
            settings.fua if settings else "honour",
        )
        names = {name: op for op, name in OPCODES.items()}
        self.refused = {names[n] for n in (settings.refuse if settings else ()) if n in names}
        self.pending: tuple[Sense, int | None] | None = None
        self.unit_attention: Sense | None = None
        self.media_event = ft.NO_CHANGE
        self.failures: collections.Counter[int] = collections.Counter()  # flaky LBA -> fails
        self.log: collections.deque[LogEntry] = collections.deque(maxlen=self.LOG_LIMIT)
        self.on_command: Callable[[LogEntry], None] | None = None
        self._seq = 0
        self._defect_index: dict[int, dict[int, list[Defect]]] = {}
        self._handlers: dict[int, tuple[Callable[[bytes, bytes], bytes], Callable[[bytes], int]]]
        self._handlers = {
            0x00: (self._test_unit_ready, lambda c: 0),
            0x03: (self._request_sense, lambda c: c[4]),
            0x12: (self._inquiry, lambda c: be16(c, 3)),
            0x1B: (self._start_stop, lambda c: 0),
            0x1E: (self._prevent_allow, lambda c: 0),
            0x25: (self._read_capacity, lambda c: 8),
            0x28: (self._read10, lambda c: 1 << 32),
            0x43: (self._read_toc, _alloc16_at7),
            0x46: (self._get_configuration, _alloc16_at7),
            0x4A: (self._event_status, _alloc16_at7),
            0x51: (self._disc_information, _alloc16_at7),
            0x52: (self._track_information, _alloc16_at7),
            0x55: (self._mode_select, lambda c: 0),
            0x5A: (self._mode_sense, _alloc16_at7),
            0xA8: (self._read12, lambda c: 1 << 32),
            0xAD: (self._dvd_structure, lambda c: be16(c, 8)),
            0xB6: (self._set_streaming, lambda c: 0),
            0xBB: (self._set_speed, lambda c: 0),
            0xBE: (self._read_cd, lambda c: 1 << 32),
            0x42: (self._read_subchannel, _alloc16_at7),
        }
        self.raw = rawcd.RawSide()

    # ---- the one entry point --------------------------------------------------------------
    def execute(self, cdb: bytes, data_out: bytes = b"") -> Reply:
        received = bytes(cdb)
        cdb = received + bytes(max(0, 12 - len(received)))  # short CDBs read as zero-padded
        op = cdb[0]
        try:
            if op not in self._handlers or op in self.refused:
                raise CommandError(INVALID_OPCODE)
            handler, alloc = self._handlers[op]
            if op not in NO_ATTENTION and self.unit_attention is not None:
                sense, self.unit_attention = self.unit_attention, None
                raise CommandError(sense)
            if op not in NO_MEDIUM_NEEDED:
                self._need_medium()
            reply = Reply(GOOD, handler(cdb, data_out)[: alloc(cdb)])
            self.pending = None
        except CommandError as e:
            reply = Reply(CHECK_CONDITION, e.data, e.sense, e.info)
            self.pending = (e.sense, e.info)
        self._seq += 1
        entry = LogEntry(
            self._seq,
            op,
            received,
            reply.status,
            reply.sense,
            reply.info,
            len(reply.data),
            data_out,
            self.mech.clock,
        )
        self.log.append(entry)
        if self.on_command is not None:
            self.on_command(entry)
        return reply

    # ---- the tray, from outside (a user's hand, an autoloader) ------------------------------
    def load(self, disc: Disc | None) -> None:
        """Swap discs: the tray opens (whatever the lock says), the disc changes, it closes."""
        self._open_tray()
        if self.disc is not None and self.disc is not disc:
            self.disc.close()
        self.disc = disc
        self.mech.medium = disc.medium if disc else self.mech.medium
        self.close_tray()

    def press_eject(self, force: bool = False) -> bool:
        """The eject button. A locked drive only reports an eject request (False)."""
        if self.prevent and not force:
            self.media_event = ft.EJECT_REQUEST
            return False
        self._open_tray()
        return True

    def remove(self) -> None:
        """Take the disc out of the open tray."""
        self._open_tray()
        if self.disc is not None:
            self.disc.close()
        self.disc = None

    def close_tray(self) -> None:
        if not self.tray_open:
            return
        self.tray_open = False
        if self.disc is not None:
            self.failures.clear()
            self.raw.forget()
            self.mech.tries_at.clear()
            self.mech.forget()
            self.media_event = ft.NEW_MEDIA
            self.unit_attention = MEDIUM_CHANGED

    def _open_tray(self) -> None:
        if not self.tray_open:
            self.tray_open = True
            self.media_event = ft.MEDIA_REMOVAL if self.disc is not None else ft.NO_CHANGE

    @property
    def ready(self) -> bool:
        return self.disc is not None and not self.tray_open

    def _need_medium(self) -> Disc:
        if self.tray_open:
            raise CommandError(NOT_READY_NO_MEDIUM_OPEN)
        if self.disc is None:
            raise CommandError(NOT_READY_NO_MEDIUM_CLOSED)
        return self.disc

    # ---- reads -------------------------------------------------------------------------------
    def sector_fault(self, lba: int) -> tuple[Track | None, Sense | None]:
        """Why this sector can't be read as 2048-byte user data now (None: it can)."""
        disc = self._need_medium()
        track = disc.track_at(lba)
        if track is None:
            return None, disc.gap_sense
        if not track.is_data:
            return track, ILLEGAL_MODE_FOR_TRACK  # READ(10)/(12) of CD-DA (MMC-6 6.15)
        return track, self._damage(disc, track, lba)

    def _defects_at(self, disc: Disc, lba: int) -> list[Defect]:
        """The defects covering ``lba`` (indexed once per disc: a scratched disc has
        hundreds, and every sector read asks)."""
        index = self._defect_index.get(id(disc))
        if index is None:
            index = {}
            for d in disc.defects:
                for a in range(d.lba, d.lba + d.count):
                    index.setdefault(a, []).append(d)
            self._defect_index = {id(disc): index}
        return index.get(lba, [])

    def _damage(self, disc: Disc, track: Track, lba: int) -> Sense | None:
        """Run-out, copy protection, defects: what any kind of read of the sector meets."""
        if track.in_runout(lba):
            return track.runout_sense
        if disc.css is not None and disc.css.is_scrambled(lba):
            return SCRAMBLED_NO_AUTH  # this drive never completes CSS authentication
        for d in self._defects_at(disc, lba):
            if d.covers(lba):
                if d.tries is not None:  # marginal: one try here; firmware retries in _firmware
                    if self.mech.marginal_reads(lba, d.tries, d.max_speed, self.read_speed):
                        continue
                    return d.sense
                if d.fails is None:
                    return d.sense
                if self.failures[lba] < d.fails:
                    self.failures[lba] += 1
                    return d.sense
        return None

    def _user_data(self, disc: Disc, track: Track, lba: int, before: bytes) -> bytes:
        """2048 bytes of user data; a raw-backed Form 2 sector has none (illegal mode)."""
        if track.format != "raw":
            return disc.sector(track, lba)
        raw = disc.sector(track, lba)
        if raw[15] == 2 and raw[18] & 0x20:
            raise CommandError(ILLEGAL_MODE_FOR_TRACK, info=lba, data=before)
        return raw[16:2064] if raw[15] == 1 else raw[24:2072]

    def _read10(self, cdb: bytes, _: bytes) -> bytes:
        if cdb[1] & 0xE0:  # RDPROTECT: no protection information on optical discs
            raise CommandError(INVALID_FIELD_IN_CDB)
        return self._read(be32(cdb, 2), be16(cdb, 7), bool(cdb[1] & 0x08))

    def _read12(self, cdb: bytes, _: bytes) -> bytes:
        if cdb[1] & 0xE0:
            raise CommandError(INVALID_FIELD_IN_CDB)
        return self._read(be32(cdb, 2), be32(cdb, 6), bool(cdb[1] & 0x08))

    def _read_cd(self, cdb: bytes, _: bytes) -> bytes:
        """READ CD: whole CD-DA sectors (with the drive's read offset), user data or whole raw
        data sectors (sync, header, EDC/ECC), C2 pointers, silent corruptions (``rawcd``)."""
        return self.raw.read_cd(self._damage, self._need_medium(), cdb)

    def _read_subchannel(self, cdb: bytes, _: bytes) -> bytes:
        return rawcd.read_subchannel(self._need_medium(), cdb)

    # ---- status and identity -----------------------------------------------------------------
    def _test_unit_ready(self, cdb: bytes, _: bytes) -> bytes:
        self._need_medium()
        return b""

    def _request_sense(self, cdb: bytes, _: bytes) -> bytes:
        if self.pending is not None:
            sense, info = self.pending
        elif self.unit_attention is not None:
            sense, info, self.unit_attention = self.unit_attention, None, None
        else:
            sense, info = NO_SENSE, None
        return fixed_sense(sense, info)

    def _inquiry(self, cdb: bytes, _: bytes) -> bytes:
        return ft.inquiry(cdb, self.serial)

    def _read_capacity(self, cdb: bytes, _: bytes) -> bytes:
        disc = self._need_medium()
        if not cdb[8] & 0x01 and be32(cdb, 2):  # an LBA without PMI is an error (SBC)
            raise CommandError(INVALID_FIELD_IN_CDB)
        return (disc.capacity - 1).to_bytes(4, "big") + USER.to_bytes(4, "big")

    def _get_configuration(self, cdb: bytes, _: bytes) -> bytes:
        return ft.get_configuration(self.disc if self.ready else None, cdb)

    def _event_status(self, cdb: bytes, _: bytes) -> bytes:
        data, reported = ft.event_status(cdb, self.media_event, self.tray_open, self.ready)
        if reported:
            self.media_event = ft.NO_CHANGE
        return data

    # ---- the disc's layout -------------------------------------------------------------------
    def _read_toc(self, cdb: bytes, _: bytes) -> bytes:
        return toc.read_toc(self._need_medium(), cdb)

    def _disc_information(self, cdb: bytes, _: bytes) -> bytes:
        return toc.read_disc_information(self._need_medium(), cdb)

    def _track_information(self, cdb: bytes, _: bytes) -> bytes:
        return toc.read_track_information(self._need_medium(), cdb)

    def _dvd_structure(self, cdb: bytes, _: bytes) -> bytes:
        return ft.read_dvd_structure(self._need_medium(), cdb)

    # ---- settings ----------------------------------------------------------------------------
    def _pages(self, pc: int) -> dict[int, bytes]:
        mode = self.default_mode if pc == 2 else self.mode
        medium = self.disc.medium if self.ready and self.disc else ""
        return {
            0x01: ft.page_01(mode, pc == 1),
            0x2A: ft.page_2a(
                medium,
                self.read_speed,
                self.prevent,
                pc == 1,
                c2=self.disc.drive.c2 if self.disc is not None else True,
            ),
        }

    def _mode_sense(self, cdb: bytes, _: bytes) -> bytes:
        pc, page, subpage = cdb[2] >> 6, cdb[2] & 0x3F, cdb[3]
        if pc == 3:
            raise CommandError(SAVING_NOT_SUPPORTED)
        pages = self._pages(pc)
        if subpage or (page != 0x3F and page not in pages):
            raise CommandError(INVALID_FIELD_IN_CDB)
        body = b"".join(pages.values()) if page == 0x3F else pages[page]
        # 8-byte header, no block descriptors (MMC drives have none)
        return (len(body) + 6).to_bytes(2, "big") + bytes(6) + body

    def _mode_select(self, cdb: bytes, data_out: bytes) -> bytes:
        if (cdb[1] & 0x11) != 0x10:  # PF=1 (page format), SP=0 (nothing is saved)
            raise CommandError(INVALID_FIELD_IN_CDB)
        length = be16(cdb, 7)
        if not length:
            return b""
        if len(data_out) < length:
            raise CommandError(PARAMETER_LIST_LENGTH)
        self.mode = ft.mode_select_pages(data_out[:length], self.mode, self._pages(0))
        return b""

    def _pick_speed(self, kbs: int) -> int:
        medium = self.disc.medium if self.disc else "CD"
        speeds = ft.SPEEDS[medium]
        return max((s for s in speeds if s <= kbs), default=speeds[0])

    def _set_speed(self, cdb: bytes, _: bytes) -> bytes:
        self.requested_speed = be16(cdb, 2)
        self._select_speed(self._pick_speed(self.requested_speed))
        return b""

    def _set_streaming(self, cdb: bytes, data_out: bytes) -> bytes:
        """SET STREAMING with a performance descriptor (type 0): read size (kB) per read time
        (ms) over an LBA range; RDD restores the drive's default (its fastest speed)."""
        length = be16(cdb, 9)
        if cdb[8] != 0:
            raise CommandError(INVALID_FIELD_IN_CDB)  # only performance descriptors
        if length < 28 or len(data_out) < 28:
            raise CommandError(PARAMETER_LIST_LENGTH)
        d = data_out[:28]
        if d[0] & 0x04:  # RDD
            self.requested_speed = None
            self._select_speed(self._pick_speed(0xFFFF))
            return b""
        size, ms = be32(d, 12), be32(d, 16)
        if not ms:
            raise CommandError(INVALID_FIELD_IN_PARAMETERS)
        self.requested_speed = size * 1000 // ms
        self._select_speed(self._pick_speed(self.requested_speed))
        return b""

    def _select_speed(self, speed: int) -> None:
        if speed != self.read_speed:
            self.read_speed = speed
            self.mech.speed_changed()

    def _prevent_allow(self, cdb: bytes, _: bytes) -> bytes:
        self.prevent = bool(cdb[4] & 0x01)
        self.persistent_prevent = bool(cdb[4] & 0x02)
        return b""

    def _start_stop(self, cdb: bytes, _: bytes) -> bytes:
        if cdb[4] >> 4:  # a power condition: LoEj and Start are ignored
            return b""
        loej, start = cdb[4] & 0x02, cdb[4] & 0x01
        if loej and not start:
            if self.prevent and not self.tray_open:
                raise CommandError(REMOVAL_PREVENTED)
            self._open_tray()
        elif loej and start:
            self.close_tray()
        return b""

    # ---- for tests ---------------------------------------------------------------------------
    @property
    def commands_seen(self) -> int:
        return self._seq

    def commands(self, name: str | None = None) -> list[LogEntry]:
        return [e for e in self.log if name is None or e.name == name]
