"""One disc's turn in unattended backup: identify it, then back it up, fill its gaps, or say it
is already on the shelf — and record what happened, whatever happened.

Which of the three is decided by the disc's identity (``DiscIdentity.key``: the layout, the
volume descriptors and the size), looked up in the catalogue:

- a new disc gets a new disc folder (``{label}_{date}``, as ``library add`` names them) and a
  full backup into it;
- a known disc whose backup is not complete (damaged, pulled out, stopped, disk full) resumes
  in its own folder: the engine proves the mapfile belongs to this disc and reads only what is
  missing;
- a known, complete disc is not read again (unless asked to re-verify it against the disc).

Every folder that got any data is catalogued, failures too (a pulled disc shows as "backup
source gone"); a disc that never gave an identity (blank, audio-only) has no folder, and only
the journal remembers it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Protocol

from app.core.base.events import Cancelled, CancelToken, Progress
from app.core.base.outcome import Outcome
from app.core.base.units import human_bytes
from app.core.disc.identity import DiscIdentity, identify
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError, SectorSource, SourceError, SourceGone
from app.core.library import history
from app.core.library.autolog import AutoEvent
from app.core.library.catalogue import Catalogue, CatalogueError
from app.core.library.folder import (
    DEFAULT_TEMPLATE,
    REPORT_SUFFIX,
    Library,
    LibraryError,
    folder_name,
    safe_name,
)
from app.core.library.records import DiscRecord, Event, day_of, now_iso
from app.core.library.shelf import find_by_identity, ingest
from app.core.library.state import disc_state
from app.core.rescue import report as rip_report
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.outputs import UsageError
from app.core.rescue.types import DestinationError, RescueResult, RescueSettings
from app.core.verify import verifier as verify

PROBES = 8  # sectors tried across a disc whose descriptors were all unreadable
UNREADABLE_BUDGET = 64  # failed reads allowed on a disc where none of the probes read
SLACK = 8 << 20  # room for a report, checksum files, history and the catalogue's growth


@dataclass
class AutoOptions:
    verify: bool = False  # compare each new backup with the disc; re-verify known discs
    eject: bool = False  # open the tray when a disc's turn ends (an autoloader's cue)
    settings: RescueSettings = field(default_factory=RescueSettings)
    template: str = DEFAULT_TEMPLATE
    poll: float = 2.0  # seconds between looks at an idle drive
    progress_every: float = 30.0  # seconds between progress events of a running backup
    max_discs: int | None = None  # stop after this many discs (all drives together)
    command_line: str = "discvault auto"


@dataclass
class JobResult:
    outcome: str  # see autolog.OUTCOMES
    message: str
    label: str = ""
    folder: str = ""
    identity: str = ""
    need_room: int = 0  # bytes the library's disk must have free before going on (0: not full)


class Host(Protocol):
    """What a job needs from the run it belongs to (``AutoRunner``)."""

    lib: Library
    options: AutoOptions

    def emit(self, ev: AutoEvent) -> None: ...

    def progress(self, drive: str, label: str, p: Progress) -> None: ...

    def writing(self) -> AbstractContextManager[None]: ...

    def claim(self, key: str, drive: str, token: CancelToken) -> AbstractContextManager[None]: ...

    def later(self, what: str, task: Callable[[], None]) -> None: ...


class DiscJob:
    def __init__(self, host: Host, drive: str, token: CancelToken) -> None:
        self.host = host
        self.lib = host.lib
        self.opts = host.options
        self.drive = drive
        self.token = token
        self.label = ""

    def say(
        self, kind: str, message: str, folder: str = "", identity: str = "", outcome: str = ""
    ) -> None:
        self.host.emit(
            AutoEvent(
                kind,
                message,
                self.drive,
                label=self.label,
                folder=folder,
                identity=identity,
                outcome=outcome,
            )
        )

    # ---- the turn -----------------------------------------------------------------------------
    def run(self, src: SectorSource) -> JobResult:
        """``src`` is open on the disc; it is closed when this returns."""
        closer = _Once(src)
        try:
            return self._run(src, closer)
        except Cancelled:
            return JobResult("cancelled", "stopped before the disc was read", self.label)
        finally:
            closer.close()

    def _run(self, src: SectorSource, closer: _Once) -> JobResult:
        try:
            layout = src.read_layout()
            if not layout.data_tracks:
                return JobResult(
                    "unreadable", "an audio CD: there is no data track for an .iso — not backed up"
                )
            ident = identify(layout, src.read)
        except SourceGone as e:
            return JobResult("source_gone", f"the disc went away before it was identified ({e})")
        except SourceError as e:
            return JobResult("unreadable", f"the disc cannot be read at all ({e})")
        if ident.sectors == 0:
            return JobResult("unreadable", "blank, or nothing readable on it — not backed up")
        self.label = ident.label
        with self.host.claim(ident.key, self.drive, self.token):
            try:
                with Catalogue(self.lib, what="discvault auto") as cat:
                    rec = find_by_identity(cat, ident)
                    events = cat.events(rec.id) if rec is not None else []
            except CatalogueError as e:
                return JobResult("error", f"{e} — the disc was not read", self.label)
            if rec is not None and rec.complete and self._image_there(rec):
                return self._known(src, closer, rec, events, ident)
            if rec is not None and not rec.complete:
                return self._backup(src, closer, ident, layout, rec)
            return self._backup(src, closer, ident, layout, None)

    def _image_there(self, rec: DiscRecord) -> bool:
        if os.path.isfile(os.path.join(self.lib.path(rec.folder), rec.image)):
            return True
        self.say(
            "problem",
            f"{rec.folder} holds this disc, but its image is missing — backing it up again",
        )
        return False

    # ---- known and complete -------------------------------------------------------------------
    def _known(
        self,
        src: SectorSource,
        closer: _Once,
        rec: DiscRecord,
        events: list[Event],
        ident: DiscIdentity,
    ) -> JobResult:
        st = disc_state(rec, [e for e in events if e.kind in ("verify", "health")])
        when = f"verified {st.verified}" if st.verified else "never verified"
        msg = f"already backed up on {day_of(rec.backed_up)}, {when} ({rec.folder})"
        self.label = rec.label
        self.say("known", msg, folder=rec.folder, identity=ident.key)
        if not self.opts.verify:
            return JobResult("known", msg, rec.label, rec.folder, ident.key)
        image = os.path.join(self.lib.path(rec.folder), rec.image)

        def progress(p: Progress) -> None:
            self.host.progress(self.drive, rec.label, p)

        try:
            vr = verify.verify(image, source=src, progress=progress, cancel=self.token)
        except (verify.VerifyInputError, SourceError) as e:
            return JobResult("known", f"{msg}; cannot re-verify: {e}", rec.label, rec.folder)
        closer.close()
        if vr.outcome == "cancelled":
            raise Cancelled("stopped")
        words = {
            "good": f"compared with the disc in {self.drive}: identical",
            "incomplete": f"compared with the disc in {self.drive}: identical where readable",
            "mismatch": f"compared with the disc in {self.drive}: MISMATCH",
        }[vr.outcome]
        j = verify.to_json(vr)
        doc = {"source": "disc", "drive": self.drive, **{k: j.get(k) for k in VERIFY_KEYS}}
        ev = Event("verify", now_iso(), vr.outcome, words, doc, "")
        self._record_event(rec.folder, ev)
        self.say("verified", words, folder=rec.folder, outcome=vr.outcome)
        outcome = "mismatch" if vr.outcome == "mismatch" else "known"
        return JobResult(outcome, f"{msg}; re-verified: {vr.outcome}", rec.label, rec.folder)

    def _record_event(self, folder: str, ev: Event) -> None:
        """History first (what a rebuild reads), then the catalogue."""
        try:
            ev = history.write(self.lib.path(folder), ev)
        except OSError as e:
            self.say("problem", f"{folder}: the verification is not saved there ({e.strerror})")
        try:
            with self.host.writing(), Catalogue(self.lib, what="discvault auto") as cat:
                cat.add_event(folder, ev)
        except CatalogueError as e:
            self.say("problem", f"{folder}: the verification is not in the catalogue yet ({e})")

    # ---- new, or known and incomplete ---------------------------------------------------------
    def _backup(
        self,
        src: SectorSource,
        closer: _Once,
        ident: DiscIdentity,
        layout: DiscLayout,
        rec: DiscRecord | None,
    ) -> JobResult:
        settings = self.opts.settings
        made = ""
        hopeless = False  # nothing readable anywhere: a short attempt, and nothing to compare
        if rec is not None:
            folder, image = rec.folder, os.path.join(self.lib.path(rec.folder), rec.image)
            self.label = rec.label
            missing = rec.unreadable_sectors
            what = f"{human_bytes(missing * 2048)} missing" if missing else "not finished"
            self.say(
                "resume",
                f"known disc '{rec.label}', {what}: reading what is missing into {folder}",
                folder=folder,
                identity=ident.key,
            )
        else:
            try:
                hopeless = ident.descriptors is None and not _any_readable(src, layout)
            except SourceGone as e:
                return JobResult("source_gone", str(e), self.label, "", ident.key)
            try:
                made = folder = self.lib.new_folder(
                    folder_name(self.opts.template, ident.label, now_iso())
                )
            except LibraryError as e:
                return JobResult("destination_error", str(e), ident.label, "", ident.key)
            image = os.path.join(self.lib.path(folder), f"{safe_name(ident.label or 'DISC')}.iso")
            self.say(
                "new",
                f"new disc {ident.describe()}, {human_bytes(ident.sectors * 2048)}: backing up "
                f"into {folder}",
                folder=folder,
                identity=ident.key,
            )
            if hopeless:
                settings = replace(
                    settings,
                    max_failed_reads=min(
                        settings.max_failed_reads or UNREADABLE_BUDGET, UNREADABLE_BUDGET
                    ),
                )
                self.say(
                    "problem",
                    f"nothing readable in {PROBES} places across the disc: a short attempt "
                    f"({settings.max_failed_reads} failed reads at most), then the next disc",
                    folder=folder,
                )
        opts = BackupOptions(
            source_name=self.drive,
            image=image,
            settings=settings,
            verify=self.opts.verify and not hopeless,
            command_line=self.opts.command_line,
        )
        label = self.label or ident.describe()

        def progress(p: Progress) -> None:
            self.host.progress(self.drive, label, p)

        closer.handed_over()  # run_backup closes the source before it returns
        try:
            done = run_backup(lambda: src, opts, progress, self.token)
        except (UsageError, DestinationError, SourceError) as e:
            return self._no_start(e, folder, made, image, ident)
        return self._after(done, folder, image, ident)

    def _no_start(
        self, e: Exception, folder: str, made: str, image: str, ident: DiscIdentity
    ) -> JobResult:
        """The backup could not begin: nothing was written (the engine promises it)."""
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(self.lib.path(made))  # only when still empty: a failed start leaves none
            folder = "" if not os.path.isdir(self.lib.path(made)) else folder
        if isinstance(e, SourceGone):
            return JobResult("source_gone", str(e), self.label, folder, ident.key)
        if isinstance(e, SourceError):
            return JobResult("unreadable", str(e), self.label, folder, ident.key)
        need = self._room_needed(image, ident)
        return JobResult("destination_error", str(e), self.label, folder, ident.key, need)

    def _after(
        self, done: BackupOutcome, folder: str, image: str, ident: DiscIdentity
    ) -> JobResult:
        res = done.result
        outcome = str(res.outcome)
        if res.outcome is Outcome.INCOMPLETE and res.rescued_sectors == 0:
            outcome = "unreadable"
        msg = _words(res, folder)
        if done.verify is not None:
            msg += f"; compared with the disc: {done.verify.outcome}"
            if done.verify.outcome == "mismatch":
                outcome = "mismatch"
        report_lost = any(p.startswith("cannot write the report") for p in done.problems)
        for p in done.problems:
            self.say("problem", p, folder=folder)
        self._catalogue(folder, done.report if report_lost else None, image)
        need = 0
        if res.outcome is Outcome.DESTINATION_ERROR or report_lost:
            need = self._room_needed(image, ident)
        return JobResult(outcome, msg, self.label, folder, ident.key, need)

    def _catalogue(self, folder: str, lost_report: dict[str, object] | None, image: str) -> None:
        """Catalogue the folder now; when that (or the report) fails, later: after the disk
        has room again, or at the next disc."""

        def task() -> None:
            if lost_report is not None:
                rip_report.write(lost_report, image + REPORT_SUFFIX)
            with self.host.writing(), Catalogue(self.lib, what="discvault auto") as cat:
                ingest(cat, self.lib, folder)

        if lost_report is not None:
            self.host.later(f"the report and catalogue entry of {folder}", task)
            return

        try:
            task()
        except (CatalogueError, LibraryError, OSError) as e:
            self.say("problem", f"{folder} is not in the catalogue yet ({e})", folder=folder)
            self.host.later(f"cataloguing {folder}", task)

    def _room_needed(self, image: str, ident: DiscIdentity) -> int:
        """Bytes the library's disk still needs for this disc, when it has less than that free
        (0 when the trouble was not a full disk: a permission, a mapfile of another disc)."""
        try:
            have = os.stat(image).st_blocks * 512
        except OSError:
            have = 0
        need = max(ident.sectors * 2048 - have, 0) + SLACK
        free = free_bytes(self.lib.root)
        return need if free is not None and free < need else 0


def _words(res: RescueResult, folder: str) -> str:
    """How a backup ended, for the log: what was read, where it is, what to do next."""
    ss = res.sector_size
    read = f"{human_bytes(res.rescued_sectors * ss)} of {human_bytes(res.data_sectors * ss)}"
    bad = human_bytes(res.damaged_sectors * ss)
    areas = len(res.damaged_ranges)
    if res.outcome is Outcome.COMPLETE:
        tail = " (resumed)" if res.resumed else ""
        return f"complete: {read} in {folder}{tail}"
    if res.outcome is Outcome.INCOMPLETE and res.rescued_sectors == 0:
        return f"no readable data: nothing read, recorded in {folder}"
    if res.outcome is Outcome.INCOMPLETE:
        more = f" — {res.message}" if "budget" in res.message else ""
        return (
            f"incomplete: {bad} unreadable in {areas} area{'s' if areas != 1 else ''}, "
            f"saved in {folder}; another drive may read them: put the disc in it{more}"
        )
    if res.outcome is Outcome.SOURCE_GONE:
        return (
            f"the disc went away mid-backup: {read} read, saved in {folder} — put it back "
            "(in any drive) to go on"
        )
    if res.outcome is Outcome.CANCELLED:
        return f"stopped: {read} read, saved in {folder}; it goes on at the next insert"
    return f"{res.message} ({read} read, saved in {folder})"


VERIFY_KEYS = ("outcome", "checks", "hashes", "mismatches", "compared_sectors", "source_unreadable")


def free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(path)
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _any_readable(src: SectorSource, layout: DiscLayout) -> bool:
    """Does any of a few sectors spread over the data tracks read? (A disc whose descriptors
    all failed may still hold data; one that reads nowhere gets a short attempt only.)"""
    spans = [(t.start, t.end) for t in layout.data_tracks if t.end > t.start]
    total = sum(e - s for s, e in spans)
    for k in range(PROBES):
        n = total * k // PROBES
        for s, e in spans:
            if n < e - s:
                try:
                    src.read(s + n, 1)
                    return True
                except ReadError:
                    break
            n -= e - s
    return False


class _Once:
    """Closes a source once, unless it was handed to something that closes it itself."""

    def __init__(self, src: SectorSource) -> None:
        self.src: SectorSource | None = src

    def handed_over(self) -> None:
        self.src = None

    def close(self) -> None:
        if self.src is not None:
            src, self.src = self.src, None
            src.close()
