"""The end of a backup: what happened, which files are damaged and how much of each is lost,
how long it took, the checksums, and what to do next."""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.base.units import elapsed, human_bytes, plural, speed
from app.core.fs.inspection import open_image
from app.core.fs.node import InspectError
from app.core.rescue.backup import BackupOutcome
from app.core.verify.verifier import VerifyResult
from app.gui import theme
from app.gui.layout_strip import LayoutStrip, worth_showing
from app.gui.sector_map import Legend, SectorMap, not_data_runs
from app.gui.widgets import FlowLayout

OUTCOME_LOOK = {  # outcome -> (icon, semantic colour)
    "complete": ("ok", "ok"),
    "incomplete": ("warning", "warn"),
    "cancelled": ("stopped", "info"),
    "source_gone": ("error", "bad"),
    "destination_error": ("error", "bad"),
    "protected": ("error", "bad"),
    "mismatch": ("error", "bad"),
}
HEADLINES = {
    "complete": "Backed up",
    "cancelled": "Stopped — resume any time",
    "source_gone": "The disc was removed",
    "destination_error": "Could not write the image",
    "protected": "Stopped: the disc is copy-protected",
}
ANOTHER_DRIVE = (
    "Another drive often reads what this one cannot (each drive's laser and firmware cope "
    "differently with scratches): press Try another drive, pick it on the left, and Resume "
    "backup reads only the {what} still missing."
)
ONE_DRIVE = (
    "The demo drive is simulated and its disc goes in no other drive: Resume backup tries "
    "the {what} still missing again (the demo's scratch stays unreadable)."
)


@dataclass
class DamagedFile:
    path: str
    lost: int  # unreadable bytes
    size: int
    is_dir: bool


def damaged_files(image: str, map_path: str) -> list[DamagedFile]:
    """Which files of the image sit on unreadable sectors (runs in the backup's thread)."""
    try:
        insp = open_image(image)
    except InspectError:
        return []
    try:
        damage = insp.damage(map_path)
        out = []
        for path, lost in damage.items():
            node = insp.find(path)
            size = node.size if node is not None else 0
            out.append(DamagedFile(path, lost, size, node is not None and node.is_dir))
        return sorted(out, key=lambda d: (-d.lost, d.path))
    except (InspectError, OSError, ValueError):
        return []
    finally:
        insp.close()


def verify_line(v: VerifyResult) -> str:
    """'verified X of Y, N differ, M unreadable now' from the verify's own result."""
    if v.outcome == "cancelled":
        return "Verify stopped before the end."
    differ = sum(n for _, n in v.mismatches)
    unreadable = sum(n for _, n in v.source_unreadable)
    back = sum(n for _, n in v.now_readable)
    # Identical is what was compared and matched: not the sectors that differ, that did not
    # read, or that the image lacks and the disc gave now (after Finish now, thousands).
    same = max(v.sectors - unreadable - differ - back - v.not_data_unreadable, 0)
    line = (
        f"Verified against the disc: {same:,} of {v.sectors:,} sectors identical, "
        f"{differ:,} differ, {unreadable:,} unreadable now"
    )
    if back:
        # Not "that were unreadable": a run stopped early never tried most of them.
        line += f"; {back:,} missing from the image read now — resume to add them"
    return line


def _not_read(ranges: object) -> int:
    """Damaged data sectors that were never read one by one (not tried, trimmed or scraped):
    a run stopped early, not sectors proven unreadable."""
    if not isinstance(ranges, list):
        return 0
    return sum(e - s for s, e, st in ranges if st != "-")


class _Row(QTreeWidgetItem):
    """Sorts by the number behind a cell (bytes), not by its text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        col = tree.sortColumn() if tree is not None else 0
        a, b = self.data(col, Qt.ItemDataRole.UserRole), other.data(col, Qt.ItemDataRole.UserRole)
        if isinstance(a, int) and isinstance(b, int):
            return a < b
        return self.text(col).casefold() < other.text(col).casefold()


class ResultCard(QScrollArea):
    """Scrolls rather than squeezes: at 640x480 every line and button keeps its size."""

    inspect_requested = Signal(str)
    verify_requested = Signal(str)
    another_drive = Signal()
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QFrame()
        body.setFrameShape(QFrame.Shape.StyledPanel)
        self.setWidget(body)
        self.setFrameShape(QFrame.Shape.NoFrame)
        lay = QVBoxLayout(body)
        head = QHBoxLayout()
        self.icon = QLabel()
        self.icon.setFixedSize(36, 36)
        self.headline = QLabel()
        f = self.headline.font()
        f.setPointSizeF(f.pointSizeF() * 1.45)
        f.setBold(True)
        self.headline.setFont(f)
        self.headline.setWordWrap(True)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.headline, 1)
        lay.addLayout(head)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.detail)
        self.damaged = QTreeWidget()
        self.damaged.setColumnCount(3)
        self.damaged.setHeaderLabels(["Damaged file", "Unreadable", "Of"])
        self.damaged.setRootIsDecorated(False)
        self.damaged.setSortingEnabled(True)
        self.damaged.setAccessibleName("Damaged files")
        self.damaged.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.damaged)
        self.hashes = QPlainTextEdit()
        self.hashes.setReadOnly(True)
        self.hashes.setFont(QFont("monospace"))
        self.hashes.setMaximumHeight(84)
        self.hashes.setAccessibleName("Checksums")
        lay.addWidget(self.hashes)
        row = FlowLayout()
        self.copy = QPushButton("Copy checksums")
        self.copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.hashes.toPlainText())
        )
        self.open_folder = QPushButton("Open folder")
        self.inspect = QPushButton("Inspect image")
        self.verify = QPushButton("Verify again")
        self.another = QPushButton("Try another drive")
        self.another.setToolTip("Read only the missing parts with a different drive")
        # The demo drive (one simulated drive) offers only this: there is no other drive.
        self.resume = QPushButton("Resume backup")
        self.resume.setToolTip("Read again only the missing parts, with the same drive")
        self.resume.setVisible(False)
        buttons = (self.copy, self.open_folder, self.inspect, self.verify, self.another)
        for b in (*buttons, self.resume):
            row.addWidget(b)
        lay.addLayout(row)
        self.another_note = QLabel("")
        self.another_note.setWordWrap(True)
        self.another_note.setVisible(False)
        lay.addWidget(self.another_note)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setVisible(False)
        lay.addWidget(self.note)
        self.strip = LayoutStrip()
        lay.addWidget(self.strip)
        self.map = SectorMap()
        self.map.setMinimumHeight(48)
        lay.addWidget(self.map, 1)
        self.legend = Legend()
        lay.addWidget(self.legend)
        self.image = ""
        self.outcome = ""
        self.open_folder.clicked.connect(self.open_containing_folder)
        self.inspect.clicked.connect(lambda: self.inspect_requested.emit(self.image))
        self.verify.clicked.connect(lambda: self.verify_requested.emit(self.image))
        self.another.clicked.connect(self.another_drive)
        self.resume.clicked.connect(self.resume_requested)

    def prewarm(self) -> None:
        """Polish the card and draw its outcome icons once while the app is idle, so showing
        it at the end of a backup costs a layout, not a first-time style pass (10-20 ms)."""
        self.ensurePolished()
        body = self.widget()
        if body is not None:
            body.ensurePolished()
        for name, _ in OUTCOME_LOOK.values():
            theme.icon(name).pixmap(36, 36)

    def buttons(self) -> list[QPushButton]:
        """The actions, in the order Tab reaches them (asked without searching the widget tree:
        findChildren walks and wraps every child, 10 ms here)."""
        return [self.open_folder, self.inspect, self.verify, self.another, self.resume, self.copy]

    def open_containing_folder(self) -> bool:
        folder = os.path.dirname(self.image)
        ok = QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
        if not ok:
            QGuiApplication.clipboard().setText(folder)
            self.show_note(
                f"No file manager could be opened. The image is in {folder} "
                "(the folder's path is on the clipboard)."
            )
        return bool(ok)

    def show_note(self, text: str, kind: str = "warn") -> None:
        self.note.setText(text)
        if text:  # a style sheet change re-polishes the label: only when there is a note
            self.note.setStyleSheet(f"color: {theme.colour(kind)};")
        self.note.setVisible(bool(text))

    def _look(self, kind: str) -> None:
        name, _ = OUTCOME_LOOK.get(kind, ("warning", "warn"))
        self.icon.setPixmap(theme.icon(name).pixmap(36, 36))
        self.outcome = kind

    def show_outcome(
        self,
        done: BackupOutcome,
        image: str,
        damaged: list[DamagedFile] | None = None,
        another_drive: bool = True,
    ) -> None:
        """``another_drive``: the disc could go in another drive (False for the demo drive,
        whose simulated disc exists only there: its card offers Resume backup instead)."""
        r = done.result
        self.image = image
        self.show_note("")
        # Damage is data that stayed unreadable; sectors that are not data (run-out, session
        # gaps) never count. The engine that knows them says so (``damaged_sectors``).
        bad = int(getattr(r, "damaged_sectors", r.sectors - r.rescued_sectors))
        ranges = getattr(r, "damaged_ranges", None)
        areas = (
            len(ranges)
            if isinstance(ranges, list)
            else sum(1 for _, _, st in r.map.runs() if st != "+")
        )
        kind = str(r.outcome)  # an Outcome (a str enum) on newer engines
        unread = _not_read(ranges)
        if r.outcome == "incomplete" and unread:
            # Finish now (or a budget) stopped the reading: not everything was tried.
            head = f"Finished early — {human_bytes(bad * r.sector_size)} not read or not retried"
        elif r.outcome == "incomplete":
            head = f"Backed up — {human_bytes(bad * r.sector_size)} unreadable in " + plural(
                areas, "area"
            )
        else:
            head = HEADLINES.get(r.outcome, r.message or r.outcome)
        v = done.verify
        if v is not None and r.outcome == "complete":
            head = "Backed up and verified" if v.outcome == "good" else head
        if v is not None and v.outcome == "mismatch":
            head, kind = "Backed up — the disc reads differently now", "mismatch"
        self.headline.setText(head)
        self._look(kind)
        lines = [image]
        if r.message and r.outcome != "complete":
            lines.append(r.message)
        plan = getattr(r, "plan", None)
        if plan is not None and r.outcome != "cancelled" and worth_showing(plan):
            # "2 sessions, 3 tracks (1 audio), 2 run-out sectors (not data), 0 damaged"
            lines.append("Disc: " + plan.describe(r.map))
            if plan.layout.audio_tracks:  # what became of the audio: the format's own words
                lines += list(getattr(r, "format_notes", None) or []) or [
                    f"Audio tracks {', '.join(str(t.number) for t in plan.layout.audio_tracks)}"
                    ": kept in the BIN/CUE, one .bin per track"
                ]
        read = sum(p.recovered_sectors for p in r.passes) * r.sector_size
        if r.duration > 0:
            avg = speed(read / r.duration) if read else "nothing new read"
            lines.append(
                f"Took {elapsed(r.duration)} · read {human_bytes(read)} this run · average {avg}"
            )
        proof = done.report.get("proof")
        if isinstance(proof, dict) and r.outcome in ("complete", "incomplete"):
            lines.append(str(proof.get("verdict", "")))  # what the sectors' own codes proved
        if v is not None:
            lines.append(verify_line(v))
        lines += done.problems
        self.detail.setText("\n".join(lines))
        self._fill_damage(damaged or [], untried=unread > 0)
        if r.hashes:
            self.hashes.setPlainText(
                "\n".join(
                    f"{a.upper():7s} {r.hashes[a]}" for a in ("crc32", "md5", "sha1", "sha256")
                )
            )
        elif r.files and all(f.hashes for f in r.files):  # a BIN/CUE: one line per track
            self.hashes.setPlainText(
                "\n".join(
                    f"{f.part.name}: CRC32 {f.hashes['crc32']}  SHA-1 {f.hashes['sha1']}"
                    for f in r.files
                    if f.hashes
                )
            )
        else:
            self.hashes.setPlainText("(no checksums: they come when the backup is finished)")
        self.copy.setEnabled(bool(r.hashes) or bool(r.files and all(f.hashes for f in r.files)))
        self.strip.set_plan(plan)
        self.map.set_plan(plan)
        self.legend.show_not_data(bool(not_data_runs(plan)))
        self.map.set_map(r.map)
        finished = r.outcome in ("complete", "incomplete")
        self.inspect.setEnabled(finished)
        self.verify.setEnabled(finished)
        more = r.outcome in ("incomplete", "source_gone")
        self.another.setVisible(more and another_drive)
        self.resume.setVisible(more and not another_drive)
        # The engine's own message may say it already (a finish-early run): once is enough.
        said = another_drive and "another drive" in (r.message or "")
        words = ANOTHER_DRIVE if another_drive else ONE_DRIVE
        self.another_note.setText(words.format(what=plural(bad, "sector")))
        self.another_note.setVisible(r.outcome == "incomplete" and bad > 0 and not said)

    def _fill_damage(self, damaged: list[DamagedFile], untried: bool = False) -> None:
        """``untried``: the run stopped before every sector was tried (Finish now), so what a
        file lacks is missing, not proven unreadable."""
        self.damaged.clear()
        self.damaged.setHeaderLabels(["Damaged file", "Missing" if untried else "Unreadable", "Of"])
        self.damaged.setVisible(bool(damaged))
        for d in damaged:
            what = "listing of " + d.path if d.is_dir else d.path
            share = f"{100 * d.lost / d.size:.1f} % of " if d.size and not d.is_dir else ""
            item = _Row([what, human_bytes(d.lost), f"{share}{human_bytes(d.size)}"])
            item.setData(1, Qt.ItemDataRole.UserRole, d.lost)
            item.setData(2, Qt.ItemDataRole.UserRole, d.size)
            item.setToolTip(0, d.path)
            self.damaged.addTopLevelItem(item)
        self.damaged.sortItems(1, Qt.SortOrder.DescendingOrder)
        if damaged:  # as tall as its rows (up to five), not a box of empty space
            row = max(self.damaged.sizeHintForRow(0), self.fontMetrics().height() + 4)
            head = self.damaged.header().sizeHint().height()
            frame = 2 * self.damaged.frameWidth() + 2
            self.damaged.setFixedHeight(head + min(len(damaged), 5) * row + frame)
