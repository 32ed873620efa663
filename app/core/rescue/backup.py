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
from app.core.rescue.engine import Engine
from app.core.rescue.types import RescueResult, RescueSettings
from app.core.verify import verifier as verify


@dataclass
class BackupOptions:
    source_name: str  # what the user typed (a drive, a device, an image file)
    image: str
    map_path: str = ""
    report_path: str = ""
    settings: RescueSettings | None = None
    verify: bool = False
    eject: Callable[[], None] | None = None
    force: bool = False
    command_line: str = ""
    format: str = "iso"  # an output format's name (app.core.rescue.formats)

    def __post_init__(self) -> None:
        comp = Companions.of(self.image, self.map_path, self.report_path)
        self.map_path, self.report_path = comp.map, comp.report

    @property
    def companions(self) -> Companions:
        return Companions.of(self.image, self.map_path, self.report_path)


@dataclass
class BackupOutcome:
    result: RescueResult
    verify: verify.VerifyResult | None
    report: dict[str, object]
    problems: list[str]  # what went wrong after the rescue itself (report, verify, eject)


def run_backup(
    open_source: Callable[[], SectorSource],
    opts: BackupOptions,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BackupOutcome:
    """Raises SourceError/DestinationError only when nothing could start."""
    token = cancel or CancelToken()
    source = open_source()
    problems: list[str] = []
    try:
        result = Engine(
            source,
            opts.image,
            opts.map_path,
            opts.settings,
            progress,
            token,
            command_line=opts.command_line,
            force=opts.force,
            report_path=opts.report_path,
            source_path=opts.source_name if os.path.exists(opts.source_name) else None,
            fmt=opts.format,
        ).run()
        sheet = result.output.sheet() if result.output is not None else None
        doc = report.build(result, opts.source_name, opts.image, opts.map_path)
        vr = None
        if opts.verify and result.outcome.finished:
            try:
                vr = verify.verify(
                    opts.image,
                    source=source,
                    map_path=opts.map_path,
                    progress=progress,
                    cancel=token,
                )
                doc["verify"] = verify.to_json(vr)
            except (verify.VerifyInputError, SourceError) as e:
                problems.append(f"cannot verify: {e}")
    finally:
        source.close()
    try:
        if sheet is not None:
            save_atomic(*sheet)
        report.write(doc, opts.report_path)
        if result.files and all(f.hashes for f in result.files):
            report.write_file_sidecars(opts.companions, result.files)
    except OSError as e:
        problems.append(f"cannot write the report {opts.report_path}: {e.strerror}")
    if (
        opts.eject is not None
        and result.outcome.finished
        and not (vr is not None and vr.outcome == "cancelled")
    ):
        try:
            opts.eject()
        except OSError as e:
            problems.append(f"could not eject: {e}")
    return BackupOutcome(result, vr, doc, problems)
