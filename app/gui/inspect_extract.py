"""The inspector's extractions: files, or the El Torito boot images, into a folder, each as a
job through the window's ``JobQueue`` (one extraction per image at a time).

Conflicts go to the core's ``extract`` as a policy ("replace", "skip", "rename") or, when none
was given, as a ``ConflictAsker`` that asks the user for each existing item (once or for all).
Everything that happens is said on the page (status bar and banner), never in a box that stops
everything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from app.core.base.events import CancelToken, ProgressCallback
from app.core.fs.extract import ConflictPolicy, ExtractResult, extract, extract_boot_images
from app.core.fs.inspection import Inspection
from app.gui.extract_policy import ConflictAsker
from app.gui.inspect_text import extract_summary
from app.gui.workers import BusyError, CoreJob, Job

if TYPE_CHECKING:
    from app.gui.inspect_page import InspectPage


class Extractor(QObject):
    def __init__(self, page: InspectPage) -> None:
        super().__init__(page)
        self.page = page
        self.asker: ConflictAsker | None = None  # the running extraction's

    def files(
        self, insp: Inspection, paths: list[str] | None, out_dir: str | None, policy: str | None
    ) -> Job | None:
        out = out_dir or self._pick("Extract into folder")
        if not out:
            return None

        def make(conflict: ConflictPolicy) -> CoreJob:
            def run(progress: ProgressCallback, token: CancelToken) -> object:
                return extract(insp, paths, out, progress, token, conflict)

            return run

        return self._start(insp, make, out, policy, "item")

    def boot_images(self, insp: Inspection, out_dir: str | None, policy: str | None) -> Job | None:
        out = out_dir or self._pick("Extract the boot images into folder")
        if not out:
            return None

        def make(conflict: ConflictPolicy) -> CoreJob:
            def run(progress: ProgressCallback, token: CancelToken) -> object:
                return extract_boot_images(insp, out, progress, token, conflict)

            return run

        return self._start(insp, make, out, policy, "boot image")

    def _pick(self, title: str) -> str:
        settings = self.page.settings
        out = QFileDialog.getExistingDirectory(self.page, title, settings.last_dir("extract"))
        if out:
            settings.remember_dir("extract", out)
        return out

    def _start(
        self,
        insp: Inspection,
        make: Callable[[ConflictPolicy], CoreJob],
        out: str,
        policy: str | None,
        what: str,
    ) -> Job | None:
        # One asker per job: its questions and answers never mix with another extraction's.
        asker = ConflictAsker(self.page)
        job = Job(
            make(policy or asker),
            resource=f"extract:{insp.path}",
            parent=self,
            what=f"Extracting from {os.path.basename(insp.path)}",
        )
        asker.token = job.token
        job.finished.connect(lambda res: self._done(res, out, what))
        job.failed.connect(lambda m: self._failed(m, job))
        try:
            self.page.jobs.start(job)
        except BusyError as e:  # said on the page; never an exception out of a slot
            self.page.banner.show_message(str(e), "warn")
            return None
        self.asker = asker
        self.page.status.emit("Extracting…")
        return job

    def _done(self, res: object, out: str, what: str) -> None:
        assert isinstance(res, ExtractResult)
        page = self.page
        page.last_extract = res
        written = res.written
        if what == "boot image":  # the [BOOT] folder itself is not a boot image
            res = ExtractResult(
                [w for w in written if not w.endswith("[BOOT]")],
                res.refused,
                res.bytes,
                res.skipped,
                res.renamed,
                res.replaced,
                res.notes,
            )
        msg = extract_summary(res, out, what)
        page.status.emit(msg)
        if res.refused:  # said in the banner, not in a box that stops everything
            shown = "; ".join(f"{p}: {w}" for p, w in res.refused[:3])
            more = f" and {len(res.refused) - 3} more" if len(res.refused) > 3 else ""
            page.banner.show_message(f"{msg}. Not extracted: {shown}{more}", "warn")
        elif what == "boot image":
            page.banner.show_message(msg, "info")

    def _failed(self, message: str, job: Job) -> None:
        first = message.splitlines()[0] if message else "extraction failed"
        stopped = job.token.cancelled
        if stopped:
            first = "Extraction stopped: what was written is whole; nothing half-written is left."
        self.page.banner.show_message(first, "info" if stopped else "error")
        self.page.status.emit(first)
