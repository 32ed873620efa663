"""A whole backup as users mean it: rescue, report, checksum files, optional verify and eject.

Both the CLI and the GUI run this one function, so a backup behaves the same from either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from app.core.base.companions import Companions
from app.core.base.events import CancelToken, ProgressCallback, no_progress
from app.core.disc import cue
from app.core.disc.sources import SectorSource, SourceError
from app.core.rescue import report
from app.core.rescue.engine import Engine
from app.core.rescue.resume import needs_cue
from app.core.rescue.types import RescueResult, RescueSettings, cannot_write
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
    engine = Engine(
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
        keep_lock=True,  # until the report and the last checksum file are written
    )
    try:
        return _backup(engine, source, opts, progress, token, problems)
    finally:
        engine.release()


def _backup(
    engine: Engine,
    source: SectorSource,
    opts: BackupOptions,
    progress: ProgressCallback,
    token: CancelToken,
    problems: list[str],
) -> BackupOutcome:
    try:
        result = engine.run()
        comp = opts.companions
        cue_path = comp.cue if needs_cue(result.plan.layout) else None
        doc = report.build(result, opts.source_name, opts.image, opts.map_path, cue_path)
        vr = None
        if opts.verify and result.outcome.finished:
            try:
                vr = verify.verify(
                    opts.image,
                    source=source,
                    map_path=opts.map_path,
                    progress=progress,
                    cancel=token,
                    writer_lock_held=True,
                )
                doc["verify"] = verify.to_json(vr)
            except (verify.VerifyInputError, SourceError) as e:
                problems.append(f"cannot verify: {e}")
    finally:
        source.close()
    what, path = "the report", opts.report_path
    try:
        if cue_path:
            what, path = "the cue sheet", cue_path
            cue.write(result.plan.layout, opts.image, cue_path)
        what, path = "the report", opts.report_path
        report.write(doc, opts.report_path)
        if result.hashes:
            what, path = "the checksum files", f"{opts.image}.*"
            report.write_sidecars(opts.image, result.hashes)
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
    return BackupOutcome(result, vr, doc, problems)
