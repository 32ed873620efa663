"""Read one disc folder into what the catalogue stores: never anything but the folder's files.

The report (when the backup wrote one) gives the outcome, hashes, dates and the disc identity;
the image gives the files (walked with the inspector's reader, damage from the mapfile);
``history/`` gives verifications, health scans and reads. Images without a report (imported
from elsewhere) use their checksum files and their mapfile instead. Nothing is hashed here:
rebuilding a shelf of Blu-rays must not read terabytes.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
from collections.abc import Iterator
from typing import Any

from app.core.base import mapfile
from app.core.base.compat import pread
from app.core.base.rangemap import FINISHED, RangeMap
from app.core.disc.identity import DiscIdentity, identify
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import InspectError
from app.core.library import history
from app.core.library.folder import REPORT_SUFFIX, Library, find_image
from app.core.library.records import (
    SECTOR,
    DiscRecord,
    Event,
    FileRow,
    iso_of,
)

SIDECARS = {"md5": 32, "sha1": 40, "sha256": 64}


def stamp(path: str) -> str:
    """``mtime_ns:size`` — what tells a changed file from the one the catalogue read."""
    try:
        st = os.stat(path)
    except OSError:
        return ""
    return f"{st.st_mtime_ns}:{st.st_size}"


def load_report(path: str) -> tuple[dict[str, Any] | None, str]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None, ""
    except (OSError, ValueError) as e:
        return None, f"report unreadable ({e})"
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("discvault.rip/"):
        return None, "report is not a DiscVault backup report"
    return doc, ""


def sidecar_hashes(image: str) -> dict[str, str]:
    """``IMAGE.md5`` etc. (coreutils format) that name this image."""
    out: dict[str, str] = {}
    name = os.path.basename(image)
    for algo, length in SIDECARS.items():
        try:
            with open(f"{image}.{algo}", encoding="utf-8") as f:
                parts = f.readline().split(None, 1)
        except (OSError, UnicodeError):
            continue
        if len(parts) == 2 and len(parts[0]) == length and parts[1].strip().lstrip("*") == name:
            with contextlib.suppress(ValueError):
                int(parts[0], 16)
                out[algo] = parts[0].lower()
    return out


def image_identity(path: str, sectors: int, bad: RangeMap | None) -> DiscIdentity | None:
    """The identity a drive would give this disc: sectors the mapfile calls unreadable read as
    errors (as on the disc), not as the zeros the image holds in their place."""
    if sectors <= 0:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None

    def read(lba: int, count: int) -> bytes:
        if bad is not None and any(bad.status_at(x) != FINISHED for x in range(lba, lba + count)):
            raise ReadError(lba, count, errno.EIO)
        return pread(fd, count * SECTOR, lba * SECTOR)

    try:
        return identify(DiscLayout.flat(sectors), read)
    except OSError:
        return None
    finally:
        os.close(fd)


def _int(value: object, default: int) -> int:
    """A report's number, or ``default`` when it is missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        return max(int(value), 0)
    except ValueError:
        return default


def _drive(report: dict[str, Any] | None) -> str:
    """Which drive read the disc, as the report names it (a model when it says, else a path)."""
    if not report:
        return "unknown (imported)"
    src = report.get("source") or {}
    drive = src.get("drive")
    if isinstance(drive, dict):
        words = " ".join(str(drive.get(k, "")) for k in ("vendor", "model")).strip()
        if words:
            return words
    elif isinstance(drive, str) and drive:
        return drive
    return str(src.get("path") or "unknown")


class FolderScan:
    """One disc folder, read; ``files()`` streams its files (the image stays open until then)."""

    def __init__(self, library: Library, folder: str) -> None:
        self.library = library
        self.folder = folder
        self.path = library.path(folder)
        image = find_image(self.path)
        if image is None:
            raise ValueError(f"{self.path}: no disc image in this folder")
        self.image_path = os.path.join(self.path, image)
        self.map_path = self.image_path + ".map"
        self.report_path = self.image_path + REPORT_SUFFIX
        self.problems: list[str] = []
        self.report, why = load_report(self.report_path)
        if why:
            self.problems.append(why)
        self.insp: Inspection | None = None
        self.map: RangeMap | None = None
        size = 0
        try:
            size = os.path.getsize(self.image_path)
        except OSError:
            self.problems.append("image missing")
        if size:
            try:
                self.insp = open_image(self.image_path)
            except InspectError as e:
                self.problems.append(str(e))
        sectors = self._sectors(size)
        if os.path.exists(self.map_path) and sectors:
            try:
                self.map = mapfile.load(self.map_path, SECTOR, sectors).map
            except mapfile.MapfileError as e:
                self.problems.append(str(e))
        self.record = self._record(image, size, sectors)
        events, bad = history.read_all(self.path)
        self.problems += bad
        self.events = events + self._backup_verify()
        self.new_reads = self._reads(events)
        self.events += self.new_reads

    @property
    def problem(self) -> str:
        return "; ".join(dict.fromkeys(self.problems))

    @problem.setter
    def problem(self, text: str) -> None:
        self.problems = [text] if text else []

    def _sectors(self, size: int) -> int:
        img = (self.report or {}).get("image")
        return _int(img.get("sectors") if isinstance(img, dict) else None, size // SECTOR)

    def _record(self, image: str, size: int, sectors: int) -> DiscRecord:
        rep = self.report or {}
        insp = self.insp
        ident, ident_from = None, "none"
        with contextlib.suppress(ValueError, AttributeError):
            ident = DiscIdentity.from_json((rep.get("disc") or {}).get("identity"))
            ident_from = "report"
        if ident is None and size:
            ident = image_identity(self.image_path, size // SECTOR, self.map)
            ident_from = "image" if ident else "none"
        hashes = rep.get("hashes") if isinstance(rep.get("hashes"), dict) else None
        hashes_from = "report" if hashes else "none"
        if not hashes:
            hashes = sidecar_hashes(self.image_path)
            hashes_from = "sidecars" if hashes else "none"
        bad = 0
        if self.map is not None:
            bad = sum(e - s for s, e, st in self.map.runs() if st != FINISHED)
        elif insp is not None:
            bad = insp.missing_sectors
        unreadable = _int(rep.get("unreadable_sectors"), bad) if rep else bad
        outcome = str(rep.get("outcome", "")) or ("incomplete" if unreadable else "complete")
        verify = rep.get("verify") if isinstance(rep.get("verify"), dict) else {}
        dat = verify.get("dat") if verify else None
        created = ""
        if insp is not None:
            created = next(
                (str(v.get("created", "")) for v in insp.volumes if v.get("created")), ""
            )
        label = (ident.label if ident else "") or (insp.volume_id if insp else "") or self.folder
        when = str(rep.get("finished", "")) or iso_of(
            os.path.getmtime(self.image_path) if size else 0
        )
        return DiscRecord(
            folder=self.folder,
            image=image,
            label=label,
            identity=ident.key if ident else None,
            identity_doc=json.dumps(ident.to_json(), sort_keys=True) if ident else None,
            identity_from=ident_from,
            backed_up=when,
            created=created,
            sectors=sectors,
            image_bytes=size,
            outcome=outcome,
            unreadable_sectors=unreadable,
            crc32=hashes.get("crc32"),
            md5=hashes.get("md5"),
            sha1=hashes.get("sha1"),
            sha256=hashes.get("sha256"),
            hashes_from=hashes_from,
            dat=json.dumps(dat, sort_keys=True) if dat else None,
            formats=" + ".join(insp.formats) if insp else "",
            volume_id=insp.volume_id if insp else "",
            report_stamp=stamp(self.report_path),
            image_stamp=stamp(self.image_path),
        )

    def _backup_verify(self) -> list[Event]:
        """``rip --verify`` compared the image with the disc: the first verification."""
        rep = self.report or {}
        doc = rep.get("verify")
        if not isinstance(doc, dict):
            return []
        outcome = str(doc.get("outcome", "unknown"))
        words = {
            "good": "compared with the disc at backup time: identical",
            "incomplete": "compared with the disc at backup time: identical where readable",
            "mismatch": "compared with the disc at backup time: MISMATCH",
        }
        details = {"source": "backup", "checks": doc.get("checks", []), "hashes": doc.get("hashes")}
        summary = words.get(outcome, f"verified at backup time: {outcome}")
        at = str(rep.get("finished", ""))
        return [Event("verify", at, outcome, summary, details, os.path.basename(self.report_path))]

    def _reads(self, recorded: list[Event]) -> list[Event]:
        """A read record for sectors no earlier record explains: which drive read what."""
        rep = self.report
        if rep is None or not self.record.sectors:
            return []
        done = RangeMap(self.record.sectors, "?")
        if self.map is not None:
            for s, e, st in self.map.runs():
                if st == FINISHED:
                    done.set(s, e, FINISHED)
        elif rep.get("complete"):
            done.set(0, self.record.sectors, FINISHED)
        for ev in recorded:
            ranges = ev.doc.get("ranges") if ev.kind == "read" else None
            for pair in ranges if isinstance(ranges, list) else []:
                with contextlib.suppress(TypeError, ValueError, IndexError):
                    done.set(int(pair[0]), int(pair[1]), "-")  # explained: out of the way
        fresh = [[s, e] for s, e, st in done.runs() if st == FINISHED]
        if not fresh:
            return []
        n = sum(e - s for s, e in fresh)
        drive = _drive(rep)
        at = str(rep.get("finished", "")) or self.record.backed_up
        doc: dict[str, object] = {
            "drive": drive,
            "source": (rep.get("source") or {}).get("path"),
            "ranges": fresh,
            "sectors": n,
        }
        ev = Event("read", at, "ok", f"{n} sector(s) read by {drive}", doc, "")
        return [
            Event(ev.kind, ev.at, ev.outcome, ev.summary, ev.doc, history.file_for(self.path, ev))
        ]

    def persist(self) -> None:
        """Write new read records into the folder's history, so a rebuild finds them."""
        for ev in self.new_reads:
            try:
                history.write(self.path, ev)
            except OSError as e:
                self.problems.append(f"cannot write {ev.file}: {e.strerror}")

    def files(self) -> Iterator[FileRow]:
        insp = self.insp
        if insp is None:
            return
        damage: dict[str, int] = {}
        if self.map is not None:
            with contextlib.suppress(InspectError, mapfile.MapfileError):
                damage = insp.damage(self.map_path)
        gc.disable()  # 100 000 nodes with no cycles: the cyclic collector would only rescan them
        try:
            for node in insp.walk():
                d, _, _ = node.path.rpartition("/")
                yield FileRow(
                    d, node.name, node.kind, node.size, node.mtime, damage.get(node.path, 0)
                )
        except InspectError as e:
            self.problems.append(str(e))
        finally:
            gc.enable()
        if insp.problems:
            n = len(insp.problems)
            self.problems.append(f"{n} folder(s) could not be listed: {insp.problems[0]}")

    def close(self) -> None:
        if self.insp is not None:
            self.insp.close()
            self.insp = None
