"""A whole backup as users mean it: rescue, report, checksum files, optional verify and eject.

Both the CLI and the GUI run this one function, so a backup behaves the same from either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from app.core.base.companions import Companions
from app.core.base.events import CancelToken, ProgressCallback, no_progress
from app.core.base.mapfile import save_atomic
from app.core.disc.sources import SectorSource, SourceError
from app.core.rescue import report
from app.core.rescue.choose import choose
from app.core.rescue.engine import Engine
from app.core.rescue.outputs import UsageError
from app.core.rescue.types import RescueResult, RescueSettings
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
    problems: list[str] = []
    try:
        try:
            choice = choose(opened, opts.format, opts.image, opts.read_offset)
        except ValueError as e:
            raise UsageError(str(e)) from e
        source = choice.source
        comp = opts.companions_for(choice.image)
        result = Engine(
            source,
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
        ).run()
        result.read_offset = choice.offset
        result.drive = choice.drive
        result.raw = choice.raw
        result.format_notes = choice.notes
        sheet = result.output.sheet() if result.output is not None else None
        if sheet is not None:  # before a verify: a BIN/CUE is read through its sheet
            try:
                save_atomic(*sheet)
            except OSError as e:
                problems.append(f"cannot write the cue sheet {sheet[0]}: {e.strerror}")
        doc = report.build(result, opts.source_name, choice.image, comp.map)
        vr = None
        if opts.verify and result.outcome.finished:
            try:
                vr = verify.verify(
                    choice.image,
                    source=source,
                    map_path=comp.map,
                    progress=progress,
                    cancel=token,
                )
                doc["verify"] = verify.to_json(vr)
            except (verify.VerifyInputError, SourceError) as e:
                problems.append(f"cannot verify: {e}")
    finally:
        opened.close()
    try:
        report.write(doc, comp.report)
        if result.files and all(f.hashes for f in result.files):
            report.write_file_sidecars(comp, result.files)
    except OSError as e:
        problems.append(f"cannot write the report {comp.report}: {e.strerror}")
    if (
        opts.eject is not None
        and result.outcome.finished
        and not (vr is not None and vr.outcome == "cancelled")
    ):
        try:
            opts.eject()
        except OSError as e:
            problems.append(f"could not eject: {e}")
    return BackupOutcome(result, vr, doc, problems, choice.image)
