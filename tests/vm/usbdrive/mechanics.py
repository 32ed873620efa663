"""The drive model's mechanics: what a read costs in time, how firmware retries, the cache.

Nothing here sleeps: the model keeps a **clock in modelled seconds**, so a test (or a benchmark)
can say what a rescue would have cost on a drive like this one whatever the machine's speed.
The figures are a model, stated here so anyone can argue with them:

- speed: the drive reads at the speed SET CD SPEED / SET STREAMING selected; sectors per second
  at S kB/s are S/176*75 on a CD (1x = 75 sectors), S/1385*676 on a DVD, S/4495*2195 on a BD;
- a read that does not continue where the last one ended first seeks: ``ACCESS`` seconds;
- each sector transferred costs 1/(sectors per second);
- **each failing try** at a sector costs ``RETRY_STEP`` (jump back a track, refocus, re-sync)
  plus one revolution at the current speed (9 sectors per revolution at a CD's hub to 21 at its
  rim, growing with the square root of the LBA; the spindle turns at most ``MAX_RPM``);
- a speed change spins the disc up or down: ``SPIN`` seconds at the next access.

Firmware: a read stops at its first unreadable sector. A medium error (sense key 3) is tried
1 + *read retry count* (MODE page 01h byte 3) times before the drive gives up; every failing
try is charged. A dead sector fails every try. A **marginal** sector (a defect with ``tries``)
reads at its N-th try, internal retries included, and with ``max_speed`` only while the drive
spins at or below that speed. (A defect with ``fails`` is a test knob from before: it fails
that many whole commands whatever the retry count.)

Cache: after reading from the disc the drive keeps the sectors it read, and reads ahead
``cache`` more without retrying (stopping at the first that fails, which it keeps as a failure).
A read whose every sector is in that buffer is answered from it, with no disc access: a cached
failure comes back as a failure, even if the disc would now read. FUA (Force Unit Access) makes
the drive read the disc; a drive may also ``ignore`` FUA or ``refuse`` it (invalid field).
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from tests.vm.usbdrive.disc import Sense

ACCESS = 0.08  # seconds: seek and settle for a read that does not continue the last one
RETRY_STEP = 0.25  # seconds per failing try, on top of a revolution
SPIN = 1.0  # seconds to change speed
MAX_RPM = 10_000
HUB, RIM, CD_SECTORS = 9.0, 21.0, 360_000
_K = CD_SECTORS / ((RIM / HUB) ** 2 - 1)
ONE_X = {"CD": (176, 75.0), "DVD": (1385, 676.0), "BD": (4495, 2195.0)}  # kB/s, sectors/s


def sectors_per_revolution(lba: int, medium: str) -> float:
    """CLV: the spiral's circumference grows with the radius, i.e. with sqrt(LBA)."""
    scale = {"CD": 1.0, "DVD": 3.0, "BD": 5.0}.get(medium, 1.0)
    return scale * HUB * math.sqrt(1 + max(lba, 0) / _K)


@dataclass
class CacheSegment:
    start: int
    end: int  # [start, end): every sector in it is known
    failed: dict[int, Sense]  # sectors kept as failures (read-ahead stops at the first)


class Mechanics:
    """The clock, the counters and the buffer of one drive."""

    def __init__(self, medium: str = "CD", cache: int = 0, fua: str = "honour") -> None:
        if fua not in ("honour", "ignore", "refuse"):
            raise ValueError(f"fua must be honour, ignore or refuse, not {fua!r}")
        self.medium = medium
        self.cache_sectors = cache
        self.fua = fua
        self.clock = 0.0  # modelled seconds
        self.tries = 0  # every attempt at a sector on the disc, internal retries included
        self.failed_tries = 0
        self.internal_retries = 0
        self.cache_hits = 0  # reads answered from the buffer
        self.medium_reads = 0  # reads that went to the disc
        self.tries_at: collections.Counter[int] = collections.Counter()  # marginal progress
        self.next_lba: int | None = None
        self._spin_pending = False
        self.segment: CacheSegment | None = None
        self.delay = 0.0  # real seconds to sleep per failed command (tests that must catch a
        # rescue mid-way); never part of the modelled clock

    # ---- time ---------------------------------------------------------------------------------
    def sectors_per_second(self, speed_kbs: int) -> float:
        kbs, sps = ONE_X.get(self.medium, ONE_X["CD"])
        return max(speed_kbs, 1) / kbs * sps

    def revolution(self, lba: int, speed_kbs: int) -> float:
        per_rev = sectors_per_revolution(lba, self.medium)
        return max(per_rev / self.sectors_per_second(speed_kbs), 60.0 / MAX_RPM)

    def speed_changed(self) -> None:
        self._spin_pending = True

    def access(self, lba: int) -> None:
        """A read goes to the disc at ``lba``."""
        self.medium_reads += 1
        if self._spin_pending:
            self.clock += SPIN
            self._spin_pending = False
        if lba != self.next_lba:
            self.clock += ACCESS

    def transferred(self, lba: int, speed_kbs: int) -> None:
        self.tries += 1
        self.clock += 1.0 / self.sectors_per_second(speed_kbs)
        self.next_lba = lba + 1

    def failed_try(self, lba: int, speed_kbs: int, retry: bool) -> None:
        self.tries += 1
        self.failed_tries += 1
        self.internal_retries += retry
        self.clock += RETRY_STEP + self.revolution(lba, speed_kbs)
        self.next_lba = None  # after giving up, the head is not where a next read continues

    def marginal_reads(self, lba: int, tries: int, max_speed: int | None, speed: int) -> bool:
        """One try at a marginal sector: True when this try reads it. Tries at a speed above
        ``max_speed`` never read and do not bring it closer."""
        if max_speed is not None and speed > max_speed:
            return False
        self.tries_at[lba] += 1
        return self.tries_at[lba] >= tries

    # ---- the buffer ---------------------------------------------------------------------------
    def from_cache(self, lba: int, count: int, fua: bool) -> CacheSegment | None:
        """The segment that answers this read without the disc, if any."""
        seg = self.segment
        if seg is None or (fua and self.fua == "honour"):
            return None
        if seg.start <= lba and lba + count <= seg.end:
            self.cache_hits += 1
            return seg
        return None

    def keep(self, start: int, end: int, failed: dict[int, Sense]) -> None:
        """What a disc read left in the buffer: [start, end) with its failures."""
        if self.cache_sectors:
            self.segment = CacheSegment(start, end, dict(failed))

    def forget(self) -> None:
        self.segment = None
        self.next_lba = None

    def status(self) -> dict[str, float | int]:
        return {
            "clock": round(self.clock, 3),
            "tries": self.tries,
            "failed_tries": self.failed_tries,
            "internal_retries": self.internal_retries,
            "cache_hits": self.cache_hits,
            "medium_reads": self.medium_reads,
        }
