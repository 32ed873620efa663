"""Verify a BIN/CUE from the image alone: every data sector re-checked by its own EDC/ECC.

Each file the sheet names is read once, in order: hashed (CRC32/MD5/SHA-1/SHA-256, per file, as
a Redump DAT lists them) and, where it holds data sectors, checked in batches — sync, header
address, mode, EDC, ECC (``cdsector.check``). A sector that fails is damage the image carries
(a bit flipped on your storage, or a tool that wrote it wrong), unless the backup's mapfile
says it was never read (those are zero and named by the mapfile check). A sector with no code
to check (Form 2 without EDC, a drive's zero EDC/ECC) is counted apart, never called corrupt.

An audio track's file holds no codes; sectors in it that carry a sync pattern (the data in a
Mixed Mode disc's pregap) are checked as data.
"""

from __future__ import annotations

import os

from app.core.base import mapfile
from app.core.base.events import CancelToken, Progress, ProgressCallback
from app.core.base.hashing import StreamHasher
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc import cdsector
from app.core.disc.binset import BinCueError, Sheet, TrackFile, is_bincue, open_sheet
from app.core.disc.cdsector import RAW, SectorMode, Verdict
from app.core.disc.layout import TrackKind
from app.core.verify.checks import Check

BATCH = 256  # sectors checked at a time: cdsector's batch engine is fast from ~256 on


def load_map(path: str) -> tuple[RangeMap | None, int]:
    """The backup's mapfile, and how many sectors it says were kept without a proof of their
    own (made from 2048-byte reads, or a drive's zero codes): their codes in the image were
    computed, not read, so they prove the image unchanged since, not the read."""
    if not os.path.exists(path):
        return None, 0
    try:
        mf = mapfile.load(path, RAW)
    except mapfile.MapfileError:
        return None, 0
    unproven = 0
    runs = mf.meta.get("unchecked")
    for item in runs if isinstance(runs, list) else []:
        if isinstance(item, list) and len(item) == 2:
            unproven += int(item[1]) - int(item[0])
    return mf.map, unproven


def check_files(
    sheet: Sheet,
    bad_map: RangeMap | None,
    progress: ProgressCallback,
    cancel: CancelToken,
) -> None:
    """Read every file once: hashes, and each data sector's own check."""
    total = sum(f.size for f in sheet.files)
    done = 0
    for f in sheet.files:
        hasher = StreamHasher()
        try:
            with open(f.path, "rb", buffering=0) as fh:
                lba = f.start
                while True:
                    cancel.raise_if_cancelled()
                    chunk = fh.read(BATCH * RAW)
                    if not chunk:
                        break
                    hasher.update(chunk)
                    whole = chunk[: len(chunk) - len(chunk) % RAW]
                    if f.mode.endswith("/2352") or f.mode == "AUDIO":
                        _check(f, lba, whole, bad_map)
                    lba += len(whole) // RAW
                    done += len(chunk)
                    progress(
                        Progress(
                            "verify", 1, 1, done, total, done, 0, 0, 0.0, None,
                            phase_label="checking every sector's EDC/ECC",
                        )
                    )  # fmt: skip
        except OSError as e:
            hasher.abort()
            raise BinCueError(f"{f.path}: {e.strerror}") from e
        except BaseException:
            hasher.abort()
            raise
        f.hashes = hasher.finish()


def _check(f: TrackFile, lba: int, raw: bytes, bad_map: RangeMap | None) -> None:
    n = len(raw) // RAW
    if not n:
        return
    data_at = list(range(n))
    if f.kind is TrackKind.AUDIO:
        data_at = [i for i in range(n) if raw[i * RAW : i * RAW + 12] == cdsector.SYNC]
        if not data_at:
            return
    expect = SectorMode.MODE1 if f.kind is TrackKind.MODE1 else None
    verdicts = cdsector.check(raw, lba, expect) if len(data_at) == n else None
    for i in data_at:
        a = lba + i
        if bad_map is not None and a < bad_map.size and bad_map.status_at(a) != FINISHED:
            f.not_read += 1
            continue
        sector = raw[i * RAW : (i + 1) * RAW]
        v = verdicts[i] if verdicts is not None else cdsector.check_sector(sector, a, expect)
        if v is Verdict.OK:
            f.ok += 1
        elif v is Verdict.UNCHECKED or _codes_absent(sector, v):
            f.unchecked += 1
        else:
            f.bad.append(a)


def _codes_absent(sector: bytes, v: Verdict) -> bool:
    if v not in (Verdict.BAD_EDC, Verdict.BAD_ECC):
        return False
    start = 2064 if sector[15] == 1 else 2072
    return not any(sector[start:])


def edc_check(sheet: Sheet) -> Check:
    ok = sum(f.ok for f in sheet.files)
    unchecked = sum(f.unchecked for f in sheet.files)
    bad = [(a, f) for f in sheet.files for a in f.bad]
    if bad:
        a, f = bad[0]
        return Check(
            "edc",
            "mismatch",
            f"{len(bad)} data sector{'s' if len(bad) != 1 else ''} fail their own "
            f"error-detection code (EDC/ECC), first at LBA {a} in {f.name} — the image was "
            "damaged after it was written, or was written wrong",
        )
    if not ok and not unchecked:
        return Check("edc", "info", "no data sectors: nothing carries an EDC/ECC to check")
    if unchecked:
        return Check(
            "edc",
            "info",
            f"{ok} data sectors verified by their own EDC/ECC; {unchecked} carry none to check "
            "(Form 2 without EDC, or zero EDC/ECC from the drive)",
        )
    return Check("edc", "ok", f"every data sector verified by its own EDC/ECC ({ok} sectors)")


def sidecar_checks(cue_path: str, files: list[TrackFile]) -> list[Check]:
    """``NAME.cue.md5`` etc.: one coreutils line per .bin, as the backup wrote them."""
    from app.core.base.companions import Companions

    checks = []
    by_name = {f.name: f for f in files}
    for algo, side in Companions.of(cue_path).sidecars.items():
        if not os.path.exists(side):
            continue
        try:
            with open(side, encoding="utf-8", errors="replace") as fh:
                lines = [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]
        except OSError as e:
            checks.append(Check(f"sidecar:{algo}", "info", f"{side}: {e.strerror}"))
            continue
        differ, seen = [], set()
        for ln in lines:
            digest, _, name = ln.partition(" ")
            name = name.lstrip(" *")
            f = by_name.get(name)
            if f is None or f.hashes is None:
                continue
            seen.add(name)
            if f.hashes.get(algo) != digest.lower():
                differ.append(name)
        if differ:
            checks.append(
                Check(
                    f"sidecar:{algo}",
                    "mismatch",
                    f"{algo} of {', '.join(differ)} differs from {side}",
                )
            )
        elif seen == set(by_name):
            checks.append(Check(f"sidecar:{algo}", "ok", f"{algo} of every file matches {side}"))
        else:
            missing = sorted(set(by_name) - seen)
            checks.append(
                Check(f"sidecar:{algo}", "mismatch", f"{side} has no line for {', '.join(missing)}")
            )
    return checks


__all__ = [
    "BinCueError",
    "Sheet",
    "TrackFile",
    "check_files",
    "edc_check",
    "is_bincue",
    "load_map",
    "open_sheet",
    "sidecar_checks",
]
