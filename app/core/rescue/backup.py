"""A whole backup as users mean it: rescue, report, checksum files, optional verify and eject.

Both the CLI and the GUI run this one function, so a backup behaves the same from either.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from app.core.base.companions import Companions
from app.core.base.events import CancelToken, ProgressCallback, no_progress
from app.core.base.mapfile import save_atomic
from app.core.disc.sources import SectorSource, SourceError
from app.core.rescue import report
from app.core.rescue.choose import Choice, choose
from app.core.rescue.engine import Engine
from app.core.rescue.outputs import UsageError
from app.core.rescue.types import RescueResult, RescueSettings, cannot_write
from app.core.verify import checks as checkmod
from app.core.verify import verifier as verify


@dataclass
class BackupOptions:
    source_name: str  # what the user typed (a drive, a device, an image file)
    image: str  # the name asked for; the format may change its extension (NAME.cue)
    map_path: str = ""  # "" : beside the image, named after it
    report_path: str = ""
    settings: RescueSettings | None = None
    verify: bool = False
    eject: Callable[[], None] | None = None
    force: bool = False
    command_line: str = ""
    format: str = "auto"  # auto, iso or bincue (app.core.rescue.choose)
    read_offset: int | None = None  # the drive's audio read offset, when the user knows it

    def companions_for(self, image: str) -> Companions:
        return Companions.of(image, self.map_path, self.report_path)

    @property
    def companions(self) -> Companions:
        return self.companions_for(self.image)


@dataclass
class BackupOutcome:
    result: RescueResult
    verify: verify.VerifyResult | None
    report: dict[str, object]
    problems: list[str]  # what went wrong after the rescue itself (report, verify, eject)
    image: str = ""  # the file the backup is named by: the .iso, or the .cue of a BIN/CUE


def run_backup(
    open_source: Callable[[], SectorSource],
    opts: BackupOptions,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BackupOutcome:
    """Raises SourceError/DestinationError only when nothing could start."""
    token = cancel or CancelToken()
    opened = open_source()
    try:
        try:
            choice = choose(opened, opts.format, opts.image, opts.read_offset)
        except ValueError as e:
            raise UsageError(str(e)) from e
        comp = opts.companions_for(choice.image)
        engine = Engine(
            choice.source,
            choice.image,
            comp.map,
            opts.settings,
            progress,
            token,
            command_line=opts.command_line,
            force=opts.force,
            report_path=comp.report,
            source_path=opts.source_name if os.path.exists(opts.source_name) else None,
            fmt=choice.format,
            notes=choice.details + choice.notes,
            keep_lock=True,  # until the report and the last checksum file are written
        )
    except BaseException:
        opened.close()
        raise
    try:
        return _backup(engine, opened, choice, comp, opts, progress, token)
    finally:
        engine.release()


def _wrote(result: RescueResult) -> bool:
    """Whether this run may have changed the image's bytes."""
    return (
        not result.resumed
        or result.settings.fill == "marker"
        or any(p.recovered_sectors for p in result.passes)
    )


def _changed_outside(result: RescueResult, image: str, report_path: str) -> str:
    """A run that wrote nothing must hash the image as its checksum files say: when it does
    not, the image changed since (bit rot, an edit), and writing new checksum files would
    bless the change. One line saying so, or "" when all is well. Checksum files from before
    an earlier, killed run added sectors (the report counts fewer than the mapfile did) say
    nothing about the image now: they are simply replaced."""
    if not result.hashes or _wrote(result):
        return ""
    then = checkmod.report_rescued(report_path)
    if then is not None and then != result.rescued_sectors:
        return ""
    for algo, digest in checkmod.recorded(image).items():
        if result.hashes.get(algo, digest) != digest:
            return (
                f"{image} has changed since this backup wrote {image}.{algo} (it says {digest}, "
                f"the image now hashes to {result.hashes[algo]}): bit rot, or an edit — its "
                "checksum files and report are kept as they were; back the disc up again into "
                "a new image"
            )
    return ""


def _drop_checksum_files(image: str) -> None:
    """Checksum files that no longer describe the image go: a verify would call the image a
    mismatch. The next run that finishes writes new ones."""
    for path in Companions.of(image).sidecars.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _backup(
    engine: Engine,
    opened: SectorSource,
    choice: Choice,
    comp: Companions,
    opts: BackupOptions,
    progress: ProgressCallback,
    token: CancelToken,
) -> BackupOutcome:
    problems: list[str] = []
    image = choice.image
    try:
        result = engine.run()
        result.read_offset = choice.offset
        result.drive = choice.drive
        result.raw = choice.raw
        result.format_notes = choice.notes
        sheet = result.output.sheet() if result.output is not None else None
        if sheet is not None:  # before a verify: a BIN/CUE is read through its sheet
            try:
                save_atomic(*sheet)
            except OSError as e:
                problems.append(cannot_write("the cue sheet", sheet[0], e))
        doc = report.build(result, opts.source_name, image, comp.map)
        vr = None
        if opts.verify and result.outcome.finished:
            try:
                vr = verify.verify(
                    image,
                    source=choice.source,
                    map_path=comp.map,
                    progress=progress,
                    cancel=token,
                    writer_lock_held=True,
                )
                doc["verify"] = verify.to_json(vr)
            except (verify.VerifyInputError, SourceError) as e:
                problems.append(f"cannot verify: {e}")
    finally:
        opened.close()
    rotted = _changed_outside(result, image, comp.report)
    if rotted:  # keep the checksum files and the report that still tell the truth about it
        problems.append(rotted)
        return BackupOutcome(result, vr, doc, problems, image)
    if not result.hashes and _wrote(result):
        _drop_checksum_files(image)  # they describe the image before this run
    what, path = "the report", comp.report
    try:
        report.write(doc, comp.report)
        if result.files and all(f.hashes for f in result.files):
            what, path = "the checksum files", f"{image}.*"
            report.write_file_sidecars(comp, result.files)
    except OSError as e:  # named: the one that failed, not always the report
        problems.append(cannot_write(what, path, e))
    if (
        opts.eject is not None
        and result.outcome.finished
        and not (vr is not None and vr.outcome == "cancelled")
    ):
        try:
            opts.eject()
        except OSError as e:
            problems.append(f"could not eject: {e}")
    return BackupOutcome(result, vr, doc, problems, image)
