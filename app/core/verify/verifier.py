"""Proof that a backup is good: wholeness, checksums, DAT entries, and a re-read of the source.

The image is read exactly once, in order, and all four hashes are computed in that pass; when a
source is given it is compared in the same pass, read with the rescue engine's skip-ahead
strategy so a scratched disc does not stall the verify.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from app.core.base import mapfile
from app.core.base.compat import pread
from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.hashing import StreamHasher
from app.core.base.rangemap import FINISHED, NON_TRIED, RangeMap
from app.core.disc import discsize
from app.core.disc.sources import SECTOR, ReadError, SectorSource
from app.core.verify import dat as datmod

SIDECAR_ALGOS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256"}


class VerifyInputError(Exception):
    """An input (image, DAT, source) cannot be read at all."""


@dataclass
class Check:
    name: str  # "wholeness", "sidecar:md5", "report", "dat", "source"
    status: str  # "ok", "mismatch", "incomplete", "not_found", "info"
    detail: str


@dataclass
class VerifyResult:
    image: str
    sectors: int
    hashes: dict[str, str] | None = None
    checks: list[Check] = field(default_factory=list)
    mismatches: list[tuple[int, int]] = field(default_factory=list)
    source_unreadable: list[tuple[int, int]] = field(default_factory=list)
    now_readable: list[tuple[int, int]] = field(default_factory=list)
    missing_sectors: int = 0
    map_bad_sectors: int = 0
    dat_match: datmod.DatMatch | None = None
    cancelled: bool = False
    duration: float = 0.0

    @property
    def outcome(self) -> str:
        if self.cancelled:
            return "cancelled"
        if any(c.status == "mismatch" for c in self.checks):
            return "mismatch"
        if any(c.status == "incomplete" for c in self.checks):
            return "incomplete"
        return "good"


def _runs(lbas: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lba in lbas:
        if out and out[-1][0] + out[-1][1] == lba:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((lba, 1))
    return out


class _Verify:
    def __init__(
        self,
        image: str,
        source: SectorSource | None,
        bad_map: RangeMap | None,
        progress: ProgressCallback,
        cancel: CancelToken,
    ) -> None:
        self.image = image
        self.src = source
        self.bad_map = bad_map
        self.progress = progress
        self.cancel = cancel
        self.fd = os.open(image, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.size = os.fstat(self.fd).st_size
        self.sectors = self.size // SECTOR
        self.hasher = StreamHasher()
        self.mismatch: list[int] = []
        self.now_readable: list[int] = []
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        # Compared region: the image, bounded by what the source has.
        n = min(self.sectors, source.sector_count) if source else 0
        self.state = RangeMap(n)

    def image_read(self, lba: int, count: int) -> bytes:
        return pread(self.fd, count * SECTOR, lba * SECTOR)

    def compare(self, lba: int, img: bytes, disc: bytes) -> None:
        if img == disc:
            return
        for k in range(len(disc) // SECTOR):
            a = img[k * SECTOR : (k + 1) * SECTOR]
            b = disc[k * SECTOR : (k + 1) * SECTOR]
            if a != b:
                was_bad = self.bad_map is not None and self.bad_map.status_at(lba + k) != FINISHED
                (self.now_readable if was_bad else self.mismatch).append(lba + k)

    def tick(self, phase: str, pos: int) -> None:
        self.cancel.raise_if_cancelled()
        now = time.monotonic()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = self.done * SECTOR / max(now - self.t0, 1e-6)
        left = (self.sectors - self.done) * SECTOR / rate if rate else None
        bad = self.state.count("-")[0] + self.state.count("*")[0]
        self.progress(
            Progress(
                phase,
                1,
                1,
                pos * SECTOR,
                self.sectors * SECTOR,
                self.done * SECTOR,
                bad * SECTOR,
                0,
                rate,
                left,
                extra={"map": self.state.copy()},
            )
        )

    def sequential_pass(self) -> None:
        """Hash the whole image in order; compare with the source where it reads."""
        cluster, size, skip, skip_until = 32, 32, 32, 0
        skip_max = max(cluster, self.state.size // 100)
        lba = 0
        while lba < self.sectors:
            n = min(size, self.sectors - lba)
            img = self.image_read(lba, n)
            if len(img) != n * SECTOR:
                raise VerifyInputError(f"{self.image}: short read at LBA {lba}")
            self.hasher.update(img)
            cmp_end = min(lba + n, self.state.size)
            if self.src is not None and skip_until <= lba < cmp_end:
                if lba == 0:
                    self.src.prepare_retry(0)
                try:
                    disc = self.src.read(lba, cmp_end - lba)
                    self.compare(lba, img, disc)
                    self.state.set(lba, cmp_end, FINISHED)
                    size, skip = min(size * 2, 512), cluster
                except ReadError as e:
                    good = len(e.good) // SECTOR
                    if good:
                        self.compare(lba, img, e.good)
                        self.state.set(lba, lba + good, FINISHED)
                    self.state.set(lba + good, cmp_end, "*")
                    # Skip ahead (doubling) so a scratch costs few failed reads; what is
                    # skipped stays non-tried for the closer look afterwards.
                    skip_until = cmp_end + skip
                    size, skip = cluster, min(skip * 2, skip_max)
            self.done = lba + n
            self.tick("verify", lba)
            lba += n

    def close_look(self) -> None:
        """Skipped areas in clusters, then failed areas sector by sector (each read once)."""
        assert self.src is not None
        for lo, hi in self.state.runs_with(NON_TRIED):
            for lba in range(lo, hi, 32):
                n = min(32, hi - lba)
                try:
                    disc = self.src.read(lba, n)
                    self.compare(lba, self.image_read(lba, n), disc)
                    self.state.set(lba, lba + n, FINISHED)
                except ReadError:
                    self.state.set(lba, lba + n, "*")
                self.tick("verify", lba)
        for lo, hi in self.state.runs_with("*"):
            for lba in range(lo, hi):
                self.src.prepare_retry(lba)
                try:
                    self.compare(lba, self.image_read(lba, 1), self.src.read(lba, 1))
                    self.state.set(lba, lba + 1, FINISHED)
                except ReadError:
                    self.state.set(lba, lba + 1, "-")
                self.tick("verify", lba)


def _sidecar_hash(path: str, image_name: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    except OSError:
        return None
    for ln in lines:
        digest, _, name = ln.partition(" ")
        name = name.lstrip(" *")
        if name == image_name or len(lines) == 1:
            return digest.lower()
    return None


def check_checksums(image: str, hashes: dict[str, str]) -> list[Check]:
    checks = []
    name = os.path.basename(image)
    for ext, algo in SIDECAR_ALGOS.items():
        side = f"{image}.{ext}"
        if not os.path.exists(side):
            continue
        want = _sidecar_hash(side, name)
        if want is None:
            checks.append(Check(f"sidecar:{ext}", "mismatch", f"{side} has no line for {name}"))
        elif want == hashes[algo]:
            checks.append(Check(f"sidecar:{ext}", "ok", f"{algo} matches {side}"))
        else:
            checks.append(
                Check(
                    f"sidecar:{ext}",
                    "mismatch",
                    f"{algo} differs from {side}: image {hashes[algo]}, file {want}",
                )
            )
    rep = f"{image}.report.json"
    if os.path.exists(rep):
        try:
            with open(rep, encoding="utf-8") as f:
                recorded = json.load(f).get("hashes") or {}
        except (OSError, ValueError, AttributeError):
            recorded = {}
        differ = [a for a, v in recorded.items() if a in hashes and hashes[a] != v]
        if recorded and not differ:
            checks.append(Check("report", "ok", f"all hashes match {os.path.basename(rep)}"))
        elif differ:
            checks.append(
                Check(
                    "report", "mismatch", f"{', '.join(differ)} differ from {os.path.basename(rep)}"
                )
            )
    return checks


def wholeness(image: str, size: int, bad_map: RangeMap | None) -> tuple[list[Check], int, int]:
    sectors = size // SECTOR
    missing = 0
    checks: list[Check] = []
    with open(image, "rb") as f:
        f.seek(discsize.PVD_LBA * SECTOR)
        pvd = f.read(SECTOR)
    vss = discsize.iso9660_volume_space(pvd)
    if vss is not None and vss > sectors:
        missing = vss - sectors
        checks.append(
            Check(
                "wholeness",
                "incomplete",
                f"truncated: the filesystem needs {vss} sectors, the image has "
                f"{sectors} ({missing} missing)",
            )
        )
    elif size % SECTOR:
        checks.append(
            Check(
                "wholeness",
                "incomplete",
                f"the image ends {size % SECTOR} bytes into a sector: truncated?",
            )
        )
    else:
        basis = f"{vss} sectors as its ISO 9660 filesystem says" if vss else f"{sectors} sectors"
        checks.append(Check("wholeness", "ok", f"whole: {basis}"))
    bad = 0
    if bad_map is not None:
        bad = bad_map.size - bad_map.count(FINISHED)[0]
        if bad:
            checks.append(
                Check(
                    "mapfile",
                    "incomplete",
                    f"incomplete: {bad} sector(s) were unreadable (per the mapfile)",
                )
            )
        else:
            checks.append(Check("mapfile", "ok", "the mapfile says every sector was rescued"))
    return checks, missing, bad


def verify(
    image: str,
    *,
    source: SectorSource | None = None,
    dat_path: str | None = None,
    map_path: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> VerifyResult:
    token = cancel or CancelToken()
    if not os.path.isfile(image):
        raise VerifyInputError(f"{image}: no such image file")
    dat = datmod.load(dat_path) if dat_path else None  # DatError before the long read
    map_path = map_path or image + ".map"
    bad_map = None
    if os.path.exists(map_path):
        try:
            bad_map = mapfile.load(map_path, SECTOR).map
        except mapfile.MapfileError as e:
            raise VerifyInputError(str(e)) from e
    try:
        job = _Verify(image, source, bad_map, progress, token)
    except OSError as e:
        raise VerifyInputError(f"{image}: {e.strerror}") from e
    result = VerifyResult(image, job.sectors)
    checks, result.missing_sectors, result.map_bad_sectors = wholeness(image, job.size, bad_map)
    result.checks += checks
    try:
        job.sequential_pass()
        if source is not None:
            job.close_look()
        result.hashes = job.hasher.finish()
    except Cancelled:
        job.hasher.abort()
        result.cancelled = True
    except OSError as e:
        job.hasher.abort()
        raise VerifyInputError(f"{image}: {e.strerror}") from e
    finally:
        os.close(job.fd)
    result.duration = time.monotonic() - job.t0
    if result.cancelled or result.hashes is None:
        return result
    result.checks += check_checksums(image, result.hashes)
    if dat is not None:
        m = dat.match(job.size, result.hashes, os.path.basename(image))
        result.dat_match = m
        status = {"match": "ok", "not_in_dat": "info"}.get(m.verdict, "mismatch")
        result.checks.append(Check("dat", status, m.describe()))
    if source is not None:
        result.mismatches = _runs(sorted(job.mismatch))
        result.now_readable = _runs(sorted(job.now_readable))
        result.source_unreadable = [(s, e - s) for s, e in job.state.runs_with("-")]
        result.checks.append(_source_check(result, source))
    return result


def _source_check(r: VerifyResult, source: SectorSource) -> Check:
    name = source.description
    if r.mismatches:
        n = sum(c for _, c in r.mismatches)
        return Check(
            "source",
            "mismatch",
            f"differs from {name} in {n} sector(s), first at LBA {r.mismatches[0][0]}",
        )
    parts = [f"identical to {name} on every sector that read"]
    if r.source_unreadable:
        n = sum(c for _, c in r.source_unreadable)
        parts.append(f"{n} sector(s) unreadable on the source now")
    if r.now_readable:
        n = sum(c for _, c in r.now_readable)
        parts.append(
            f"{n} sector(s) unreadable at backup time read now: resume the backup to add them"
        )
    if source.sector_count != r.sectors:
        parts.append(f"source has {source.sector_count} sectors, image {r.sectors}")
    status = "incomplete" if r.now_readable else "ok"
    return Check("source", status, "; ".join(parts))


def to_json(r: VerifyResult) -> dict[str, object]:
    """The documented ``discvault.verify/1`` document."""
    dat = None
    if r.dat_match is not None:
        entry = r.dat_match.entry
        dat = {
            "verdict": r.dat_match.verdict,
            "game": entry.game if entry else None,
            "rom": entry.name if entry else None,
            "dat": r.dat_match.dat,
        }
    return {
        "schema": "discvault.verify/1",
        "image": os.path.abspath(r.image),
        "sectors": r.sectors,
        "outcome": r.outcome,
        "hashes": r.hashes,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in r.checks],
        "missing_sectors": r.missing_sectors,
        "map_bad_sectors": r.map_bad_sectors,
        "mismatches": [{"lba": a, "count": n} for a, n in r.mismatches],
        "source_unreadable": [{"lba": a, "count": n} for a, n in r.source_unreadable],
        "now_readable": [{"lba": a, "count": n} for a, n in r.now_readable],
        "dat": dat,
        "duration_seconds": round(r.duration, 3),
    }
