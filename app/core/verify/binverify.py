"""``verify`` of a BIN/CUE: the files the sheet names, each hashed and every data sector
re-checked by its own EDC/ECC (``bincue.py``); the mapfile's word, the checksum files, the
report's per-file hashes, a DAT (per-track entries, as Redump lists CDs: ``Dat.match_set``),
and with a source, a sector-by-sector comparison with the disc read raw again.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

from app.core.base.companions import Companions
from app.core.base.events import Cancelled, CancelToken, ProgressCallback
from app.core.base.rangemap import FINISHED
from app.core.disc.sources import ReadError, SectorSource
from app.core.verify import bincue
from app.core.verify import checks as checkmod
from app.core.verify import dat as datmod
from app.core.verify.checks import Check

if TYPE_CHECKING:
    from app.core.verify.verifier import VerifyResult

RAW = 2352

CLUSTER = 32


def verify_bincue(
    image: str,
    source: SectorSource | None,
    dat: datmod.Dat | None,
    map_path: str | None,
    progress: ProgressCallback,
    token: CancelToken,
) -> VerifyResult:
    from app.core.verify.verifier import VerifyInputError, VerifyResult, _runs

    t0 = time.monotonic()
    try:
        sheet = bincue.open_sheet(image)
    except bincue.BinCueError as e:
        raise VerifyInputError(str(e)) from e
    comp = Companions.of(image, map_path or "")
    bad_map, unproven = bincue.load_map(comp.map)
    sectors = sum(f.size // RAW for f in sheet.files)
    result = VerifyResult(image, sectors)
    result.checks += _wholeness(sheet)
    if bad_map is not None:
        found, result.map_bad_sectors = checkmod.mapfile_check(bad_map, None)
        result.checks += found
    try:
        bincue.check_files(sheet, bad_map, progress, token)
        if source is not None:
            mism, unread = _compare(sheet, source, bad_map, token)
            result.mismatches, result.source_unreadable = _runs(mism), _runs(unread)
            result.compared_sectors = sectors
            result.source_sectors = source.sector_count
    except Cancelled:
        result.cancelled = True
        return result
    except bincue.BinCueError as e:
        raise VerifyInputError(str(e)) from e
    result.files = [f.to_json() for f in sheet.files]
    result.checks.append(bincue.edc_check(sheet))
    if unproven:
        result.checks.append(
            Check(
                "edc-at-backup",
                "info",
                f"{unproven} data sectors were not EDC-checked when read (made from 2048-byte "
                "reads, or the drive returned no codes): their codes prove the image unchanged "
                "since the backup, not the read",
            )
        )
    result.checks += bincue.sidecar_checks(image, sheet.files)
    result.checks += _report(comp.report, sheet.files)
    if dat is not None:
        files = [datmod.DatFile(f.name, f.size, f.hashes or {}) for f in sheet.files if f.hashes]
        m = dat.match_set(files)
        # The DAT's .cue names its files as Redump does: a sheet is text, not data, and ours
        # carries DiscVault's own lines; the tracks are what must match.
        missing = tuple(r for r in m.missing if not r.name.lower().endswith(".cue"))
        if m.verdict == "partial" and m.matched and not missing and not m.extra:
            m = datmod.SetMatch("match", m.game, m.dat, m.matched, m.missing, m.extra)
        result.dat_set = m
        status = {"match": "ok", "not_in_dat": "info"}.get(m.verdict, "mismatch")
        words = m.describe()
        if m.verdict == "match":
            words = f"all {len(m.matched)} tracks match '{m.game}' in {m.dat}"
        result.checks.append(Check("dat", status, words))
    if source is not None:
        if result.mismatches:
            n = sum(c for _, c in result.mismatches)
            result.checks.append(
                Check(
                    "source",
                    "mismatch",
                    f"differs from {source.description} in {n} sectors, first at LBA "
                    f"{result.mismatches[0][0]}",
                )
            )
        else:
            detail = f"identical to {source.description} on every sector that read"
            if result.source_unreadable:
                n = sum(c for _, c in result.source_unreadable)
                detail += f"; {n} sectors unreadable on the source now"
            result.checks.append(Check("source", "ok", detail))
    result.duration = time.monotonic() - t0
    return result


def _wholeness(sheet: bincue.Sheet) -> list[Check]:
    problems = []
    for f in sheet.files:
        per = 2048 if f.mode.endswith("/2048") else RAW
        if f.size % per:
            problems.append(f"{f.name} is not whole {per}-byte sectors ({f.size} bytes)")
        elif f.sectors and f.size // per < f.sectors:
            problems.append(f"{f.name} holds {f.size // per} of its {f.sectors} sectors")
        elif f.sectors and f.size // per > f.sectors:
            problems.append(f"{f.name} holds {f.size // per - f.sectors} sectors past its track")
    if problems:
        status = "incomplete" if any("of its" in p for p in problems) else "mismatch"
        return [Check("wholeness", status, "; ".join(problems))]
    n = len(sheet.files)
    return [Check("wholeness", "ok", f"whole: {n} file{'s' if n != 1 else ''}, every track")]


def _report(path: str, files: list[bincue.TrackFile]) -> list[Check]:
    if not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        recorded = {str(f["name"]): f["hashes"] for f in doc["image"]["files"] if f.get("hashes")}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return [Check("report", "info", f"{os.path.basename(path)} cannot be read ({e})")]
    differ = [
        f.name
        for f in files
        if f.name in recorded
        and f.hashes is not None
        and any(f.hashes.get(a) != v for a, v in recorded[f.name].items())
    ]
    if differ:
        return [
            Check("report", "mismatch", f"{', '.join(differ)} differ from {os.path.basename(path)}")
        ]
    if recorded:
        return [Check("report", "ok", f"every file's hashes match {os.path.basename(path)}")]
    return []


def _compare(
    sheet: bincue.Sheet,
    source: SectorSource,
    bad_map: object,
    token: CancelToken,
) -> tuple[list[int], list[int]]:
    """Each file's sectors against the source read raw again: (differing LBAs, unreadable
    LBAs). A failed cluster is read again sector by sector."""
    mismatch: list[int] = []
    unread: list[int] = []
    for f in sheet.files:
        with open(f.path, "rb") as fh:
            for lba in range(f.start, f.start + f.size // RAW, CLUSTER):
                token.raise_if_cancelled()
                n = min(CLUSTER, f.start + f.size // RAW - lba)
                fh.seek((lba - f.start) * RAW)
                img = fh.read(n * RAW)
                try:
                    disc = source.read(lba, n)
                    _differ(lba, img, disc, mismatch)
                    continue
                except ReadError:
                    pass
                for k in range(n):
                    try:
                        one = source.read(lba + k, 1)
                    except ReadError:
                        unread.append(lba + k)
                        continue
                    _differ(lba + k, img[k * RAW : (k + 1) * RAW], one, mismatch)
    rm = bad_map
    if rm is not None:  # sectors the backup never read are not "differences"
        mismatch = [a for a in mismatch if a >= rm.size or rm.status_at(a) == FINISHED]  # type: ignore[attr-defined]
    return mismatch, unread


def _differ(lba: int, img: bytes, disc: bytes, out: list[int]) -> None:
    if img == disc:
        return
    for k in range(len(disc) // RAW):
        if img[k * RAW : (k + 1) * RAW] != disc[k * RAW : (k + 1) * RAW]:
            out.append(lba + k)
