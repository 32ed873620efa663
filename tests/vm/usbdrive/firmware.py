"""How the drive model reads data sectors with READ(10)/(12): buffer, firmware retries, time.

A mixin of ``mmc.Drive`` (kept apart so the command set stays readable); the mechanics it
relies on, and the figures they charge, are in ``mechanics.py``.
"""

from __future__ import annotations

import time

from tests.vm.usbdrive.disc import (
    INVALID_FIELD_IN_CDB,
    LBA_OUT_OF_RANGE,
    Defect,
    Disc,
    Sense,
    Track,
)
from tests.vm.usbdrive.features import ModeSettings
from tests.vm.usbdrive.mechanics import Mechanics
from tests.vm.usbdrive.scsi import CommandError


class FirmwareReads:
    mech: Mechanics
    mode: ModeSettings
    read_speed: int

    def _need_medium(self) -> Disc:
        raise NotImplementedError

    def sector_fault(self, lba: int) -> tuple[Track | None, Sense | None]:
        raise NotImplementedError

    def _damage(self, disc: Disc, track: Track, lba: int) -> Sense | None:
        raise NotImplementedError

    def _defects_at(self, disc: Disc, lba: int) -> list[Defect]:
        raise NotImplementedError

    def _user_data(self, disc: Disc, track: Track, lba: int, before: bytes) -> bytes:
        raise NotImplementedError

    def _read(self, lba: int, count: int, fua: bool = False) -> bytes:
        """READ(10)/(12) as firmware does it: from the buffer when it holds every sector (and
        FUA does not forbid it), else from the disc, each medium error tried 1 + the read
        retry count times (``_firmware``), with the time charged to the modelled clock."""
        disc = self._need_medium()
        if lba + count > disc.capacity:
            raise CommandError(LBA_OUT_OF_RANGE)  # checked before any transfer, as drives do
        if fua and self.mech.fua == "refuse":
            raise CommandError(INVALID_FIELD_IN_CDB)
        out = bytearray()
        seg = self.mech.from_cache(lba, count, fua)
        if seg is not None:
            for a in range(lba, lba + count):
                track = disc.track_at(a)
                if a in seg.failed or track is None:
                    self._delay_failure()
                    raise CommandError(seg.failed.get(a, disc.gap_sense), info=a, data=bytes(out))
                out += self._user_data(disc, track, a, bytes(out))
            return bytes(out)
        self.mech.access(lba)
        for a in range(lba, lba + count):
            track, sense = self._firmware(disc, a)
            if sense is not None or track is None:
                self.mech.keep(lba, a + 1, {a: sense or disc.gap_sense})
                self._delay_failure()
                raise CommandError(sense or disc.gap_sense, info=a, data=bytes(out))
            out += self._user_data(disc, track, a, bytes(out))
            self.mech.transferred(a, self.read_speed)
        self._read_ahead(disc, lba, lba + count)
        return bytes(out)

    def _firmware(self, disc: Disc, lba: int) -> tuple[Track | None, Sense | None]:
        """One sector from the disc: a medium error is retried ``read_retry_count`` times;
        only a marginal sector can read on a later try (a dead one, or a ``fails`` defect,
        fails them all), and every failing try costs time."""
        track, sense = self.sector_fault(lba)
        if sense is None or sense.key != 0x03:
            return track, sense  # read, or an illegal request: firmware does not retry those
        marginal = next((d for d in self._defects_at(disc, lba) if d.tries is not None), None)
        self.mech.failed_try(lba, self.read_speed, retry=False)
        for _ in range(self.mode.read_retry_count):
            if marginal is not None and self.mech.marginal_reads(
                lba, marginal.tries or 0, marginal.max_speed, self.read_speed
            ):
                return track, None
            self.mech.failed_try(lba, self.read_speed, retry=True)
        return track, sense

    def _read_ahead(self, disc: Disc, start: int, end: int) -> None:
        """Fill the buffer past a good read, one try a sector, up to the first failure."""
        if not self.mech.cache_sectors:
            return
        failed: dict[int, Sense] = {}
        stop = min(end + self.mech.cache_sectors, disc.capacity)
        a = end
        while a < stop:
            track = disc.track_at(a)
            sense = disc.gap_sense if track is None else self._damage(disc, track, a)
            if sense is not None:
                failed[a] = sense
                a += 1
                break
            a += 1
        self.mech.keep(start, a, failed)

    def _delay_failure(self) -> None:
        if self.mech.delay:
            time.sleep(self.mech.delay)
