"""Proof that a backup is good: wholeness, checksums, DAT entries, and a re-read of the source.

The image is read exactly once (``compare.py``), in order, every byte hashed; when a source is
given it is compared in the same pass. The checks that need no disc are in ``checks.py``.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field

from app.core.base import mapfile
from app.core.base.companions import Companions
from app.core.base.compat import try_lock
from app.core.base.events import Cancelled, CancelToken, ProgressCallback, no_progress
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.base.sector import SECTOR
from app.core.disc import plan as planmod
from app.core.disc import wholeness as wholemod
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import SectorSource
from app.core.verify import bincue
from app.core.verify import checks as checkmod
from app.core.verify import dat as datmod
from app.core.verify.checks import Check
from app.core.verify.compare import Comparison, InputError

__all__ = ["Check", "VerifyInputError", "VerifyResult", "to_json", "verify"]


class VerifyInputError(Exception):
    """An input (image, DAT, source) cannot be read at all."""


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
    extra_bytes: int = 0
    map_bad_sectors: int = 0
    not_data_unreadable: int = 0
    protected_sectors: int = 0  # refused by the drive for copy protection
    source_sectors: int = 0
    compared_sectors: int = 0
    dat_match: datmod.DatMatch | None = None
    dat_set: datmod.SetMatch | None = None  # a BIN/CUE's tracks against one game's roms
    files: list[dict[str, object]] = field(default_factory=list)  # per file of a BIN/CUE
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


def _plan_from(mf: mapfile.Mapfile | None) -> planmod.Plan | None:
    """The not-data regions the backup recorded in its mapfile (None for ddrescue's files)."""
    if mf is None or "not_data" not in mf.meta:
        return None
    try:
        layout = DiscLayout.from_json(mf.meta.get("layout"))
        return planmod.from_json(layout, mf.map.size, mf.meta["not_data"])
    except (ValueError, TypeError):
        return None


def _check_image(image: str) -> None:
    try:
        st = os.stat(image)
    except FileNotFoundError as e:
        raise VerifyInputError(f"{image}: no such image file — check the path") from e
    except OSError as e:
        raise VerifyInputError(f"{image}: {e.strerror} — check the path") from e
    if not stat.S_ISREG(st.st_mode):
        raise VerifyInputError(f"{image} is not an image file — give the .iso to verify")


def verify(
    image: str,
    *,
    source: SectorSource | None = None,
    dat_path: str | None = None,
    map_path: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    writer_lock_held: bool = False,
) -> VerifyResult:
    """``writer_lock_held``: the caller is the backup writing ``image`` (rip --verify)."""
    token = cancel or CancelToken()
    _check_image(image)
    lock = -1 if writer_lock_held else _reader_lock(image)
    try:
        return _verify(image, source, dat_path, map_path, progress, token)
    finally:
        if lock >= 0:
            os.close(lock)


def _reader_lock(image: str) -> int:
    """A descriptor holding a reader's lock on ``image`` for the whole verify: while a backup
    writes the image (and its report and checksum files) what verify would read is a moment of
    a changing file; and no backup may start writing while verify reads."""
    try:
        fd = os.open(image, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise VerifyInputError(f"{image}: {e.strerror} — check the path") from e
    if not try_lock(fd, shared=True):
        os.close(fd)
        raise VerifyInputError(
            f"a backup is writing {image} now — wait for it to finish, then verify it"
        )
    return fd


def _verify(
    image: str,
    source: SectorSource | None,
    dat_path: str | None,
    map_path: str | None,
    progress: ProgressCallback,
    token: CancelToken,
) -> VerifyResult:
    try:  # DatError before the long read; Ctrl-C is honoured while a big DAT loads
        dat = datmod.load(dat_path, cancel=token) if dat_path else None
    except Cancelled:
        return VerifyResult(image, 0, cancelled=True)
    if bincue.is_bincue(image):
        from app.core.verify.binverify import verify_bincue

        return verify_bincue(image, source, dat, map_path, progress, token)
    map_path = map_path or Companions.of(image).map
    mf = None
    if os.path.exists(map_path):
        try:
            mf = mapfile.load(map_path, SECTOR)
        except mapfile.MapfileError as e:
            raise VerifyInputError(f"{e} — move it away, or give the right one with --map") from e
    plan = _plan_from(mf)
    bad_map: RangeMap | None = mf.map if mf is not None else None
    try:
        job = Comparison(image, source, bad_map, plan, progress, token)
    except OSError as e:
        raise VerifyInputError(f"{image}: {e.strerror}") from e
    result = VerifyResult(image, job.sectors)
    try:
        whole = wholemod.check(image, job.fd)
        result.missing_sectors = whole.missing
        result.extra_bytes = whole.extra_bytes
        result.checks += checkmod.wholeness(whole)
        if bad_map is not None:
            found, result.map_bad_sectors = checkmod.mapfile_check(bad_map, plan, job.sectors)
            result.checks += found
        job.sequential_pass()
        if source is not None:
            job.close_look()
        result.hashes = job.hasher.finish()
    except Cancelled:
        job.hasher.abort()
        result.cancelled = True
    except InputError as e:
        job.hasher.abort()
        raise VerifyInputError(str(e)) from e
    except OSError as e:
        job.hasher.abort()
        raise VerifyInputError(f"{image}: {e.strerror}") from e
    finally:
        job.close()
    result.duration = time.monotonic() - job.t0
    if result.cancelled or result.hashes is None:
        return result
    rescued_now = mf.map.count(FINISHED)[0] if mf is not None else None
    result.checks += checkmod.checksums(image, result.hashes, rescued_now)
    if dat is not None:
        m = dat.match(job.size, result.hashes, os.path.basename(image))
        result.dat_match = m
        status = {"match": "ok", "not_in_dat": "info"}.get(m.verdict, "mismatch")
        result.checks.append(Check("dat", status, m.describe()))
    if source is not None:
        result.mismatches = _runs(sorted(job.mismatch))
        result.now_readable = _runs(sorted(job.now_readable))
        result.source_unreadable, result.not_data_unreadable = job.unreadable_now()
        result.source_sectors = source.sector_count
        result.protected_sectors = job.protected
        result.compared_sectors = job.state.size
        result.checks.append(_source_check(result, source))
    return result


def _source_check(r: VerifyResult, source: SectorSource) -> Check:
    name = source.description
    if r.mismatches:
        n = sum(c for _, c in r.mismatches)
        return Check(
            "source",
            "mismatch",
            f"differs from {name} in {n} sector{'s' if n != 1 else ''}, first at LBA "
            f"{r.mismatches[0][0]}",
        )
    if r.source_sectors < r.sectors:
        return Check(
            "source",
            "mismatch",
            f"{name} has {r.source_sectors} sectors, the image {r.sectors}: sectors "
            f"{r.source_sectors} to {r.sectors - 1} have nothing to be compared with — "
            "is this the right disc?",
        )
    parts = [f"identical to {name} on all {r.compared_sectors} sectors that read"]
    if r.source_unreadable:
        n = sum(c for _, c in r.source_unreadable)
        parts.append(f"{n} sector{'s' if n != 1 else ''} unreadable on the source now")
    if r.not_data_unreadable:
        parts.append(f"{r.not_data_unreadable} unreadable sectors that are not data")
    if r.protected_sectors:
        parts.append(
            f"{r.protected_sectors} sectors the drive refuses for copy protection (DiscVault "
            "does not circumvent it; a resume would be refused too)"
        )
    if r.now_readable:
        n = sum(c for _, c in r.now_readable)
        parts.append(
            f"{n} sector{'s' if n != 1 else ''} unreadable at backup time read now: resume "
            "the backup to add them"
        )
    if r.source_sectors > r.sectors:
        parts.append(f"the source has {r.source_sectors - r.sectors} sectors past the image")
    status = "incomplete" if r.now_readable else "ok"
    return Check("source", status, "; ".join(parts))


def to_json(r: VerifyResult) -> dict[str, object]:
    """The documented ``discvault.verify/1`` document."""
    dat: dict[str, object] | None = None
    if r.dat_match is not None:
        entry = r.dat_match.entry
        dat = {
            "verdict": r.dat_match.verdict,
            "game": entry.game if entry else None,
            "rom": entry.name if entry else None,
            "dat": r.dat_match.dat,
        }
    if r.dat_set is not None:
        m = r.dat_set
        dat = {
            "verdict": m.verdict,
            "game": m.game or None,
            "rom": None,
            "dat": m.dat,
            "matched": [{"rom": rom.name, "file": f.name} for rom, f in m.matched],
            "missing": [rom.name for rom in m.missing],
            "extra": [f.name for f in m.extra],
        }
    return {
        "schema": "discvault.verify/1",
        "image": os.path.abspath(r.image),
        "files": r.files or None,
        "sectors": r.sectors,
        "outcome": r.outcome,
        "hashes": r.hashes,
        "checks": [{"name": c.name, "status": c.status, "detail": c.detail} for c in r.checks],
        "missing_sectors": r.missing_sectors,
        "map_bad_sectors": r.map_bad_sectors,
        "extra_bytes": r.extra_bytes,
        "compared_sectors": r.compared_sectors,
        "protected_sectors": r.protected_sectors,
        "source_sectors": r.source_sectors if r.compared_sectors or r.source_sectors else None,
        "mismatches": [{"lba": a, "count": n} for a, n in r.mismatches],
        "source_unreadable": [{"lba": a, "count": n} for a, n in r.source_unreadable],
        "now_readable": [{"lba": a, "count": n} for a, n in r.now_readable],
        "dat": dat,
        "duration_seconds": round(r.duration, 3),
    }
