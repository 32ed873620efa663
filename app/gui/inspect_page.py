"""Inspect: what is in an image, where each file sits on the disc, which files are damaged.

Every open starts from a clean page: the previous image's tree, details, tabs and damage are
gone before the new one is read, and a failure shows in a banner with nothing else on screen,
so Extract can never pull files from an image that is no longer the one named. A multi-session
image offers its sessions (files that only an earlier session holds are marked), a hybrid its
filesystems; a missing or malformed cue sheet is said in the banner.
"""

from __future__ import annotations

import os
import tempfile

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.base import mapfile
from app.core.base.units import human_bytes, plural
from app.core.fs import dragout
from app.core.fs.extract import ExtractResult, extract
from app.core.fs.inspection import Inspection
from app.core.fs.node import InspectError, Node
from app.gui import theme
from app.gui.file_model import COLUMNS, FileTreeModel, SearchModel, own_status, past_end
from app.gui.inspect_choices import ViewChoices
from app.gui.inspect_extract import Extractor
from app.gui.inspect_jobs import EnterFilter, Indexed, index_job, open_and_list_root
from app.gui.inspect_text import boot_html, details_html, volume_html
from app.gui.settings import Settings
from app.gui.widgets import Banner, hint_label
from app.gui.workers import BusyError, Job, JobQueue

DROP_HINT = (
    "Drop an .iso file anywhere on this window to look inside it,\n"
    "or open one with the button below (Ctrl+O)."
)


class InspectPage(QWidget):
    status = Signal(str)
    open_requested = Signal()

    def __init__(
        self, jobs: JobQueue, settings: Settings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings or Settings()
        self.insp: Inspection | None = None
        self.model: FileTreeModel | None = None
        self.search: SearchModel | None = None
        self.index: list[Node] | None = None
        self.damage: dict[str, int] = {}
        self._note = ""
        self.path = ""  # the image being opened or shown
        self.last_extract: ExtractResult | None = None
        self.only_earlier: list[tuple[str, int, str]] = []
        self.extractor = Extractor(self)
        lay = QVBoxLayout(self)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        f = self.header.font()
        f.setBold(True)
        self.header.setFont(f)
        lay.addWidget(self.header)
        self.choices = ViewChoices()
        self.choices.changed.connect(lambda session, view: self.open(self.path, session, view))
        lay.addWidget(self.choices)
        self.banner = Banner()
        lay.addWidget(self.banner)
        self.body = QStackedWidget()
        lay.addWidget(self.body, 1)
        empty = QWidget()
        el = QVBoxLayout(empty)
        el.addStretch(1)
        drop = QLabel()
        drop.setPixmap(theme.icon("disc").pixmap(64, 64))
        drop.setAlignment(Qt.AlignmentFlag.AlignCenter)
        el.addWidget(drop)
        self.hint = hint_label(DROP_HINT)
        self.hint.setSizePolicy(
            self.hint.sizePolicy().horizontalPolicy(), self.hint.sizePolicy().Policy.Preferred
        )
        el.addWidget(self.hint)
        self.open_button = QPushButton("Open image…")
        self.open_button.clicked.connect(self.open_requested)
        el.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignCenter)
        el.addStretch(1)
        self.empty = empty
        self.body.addWidget(empty)
        self.tabs = QTabWidget()
        self.body.addWidget(self.tabs)
        files = QWidget()
        fl = QVBoxLayout(files)
        fl.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName("Filter files")
        self.filter.textChanged.connect(self.apply_filter)
        self.extract_btn = QPushButton("Extract…")
        self.extract_btn.setToolTip("Copy the selected files (or all) into a folder")
        self.extract_btn.clicked.connect(lambda: self.extract_selected())
        top.addWidget(self.filter, 1)
        top.addWidget(self.extract_btn)
        fl.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.views = QStackedWidget()
        self.tree = self._make_view(tree=True)
        self.list = self._make_view(tree=False)
        self.views.addWidget(self.tree)
        self.views.addWidget(self.list)
        self.details = QTextBrowser()
        self.details.setMinimumHeight(40)
        self.details.setPlaceholderText(
            "Select a file to see its details and where it sits on the disc."
        )
        split.addWidget(self.views)
        split.addWidget(self.details)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        fl.addWidget(split, 1)
        self.volume = QTextBrowser()
        self.boot = QTextBrowser()
        boot_tab = QWidget()
        bl = QVBoxLayout(boot_tab)
        bl.setContentsMargins(0, 4, 0, 0)
        bl.addWidget(self.boot, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.boot_btn = QPushButton("Extract boot images…")
        self.boot_btn.setToolTip(
            "Write the El Torito boot images into a [BOOT] folder, named and sized as 7-Zip does"
        )
        self.boot_btn.clicked.connect(lambda: self.extract_boot())
        row.addWidget(self.boot_btn)
        bl.addLayout(row)
        self.tabs.addTab(files, theme.icon("file"), "Files")
        self.tabs.addTab(self.volume, theme.icon("disc"), "Volume")
        self.tabs.addTab(boot_tab, "Boot")
        self.clear()

    def _make_view(self, tree: bool) -> QTreeView:
        view = QTreeView()
        view.setUniformRowHeights(True)  # cheap layout for 100 000 rows
        view.setRootIsDecorated(tree)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(lambda pos, v=view: self._menu(v, pos))
        view.setDragEnabled(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        view.header().setSortIndicator(0, Qt.SortOrder.AscendingOrder)  # A→Z by default
        view.setSortingEnabled(True)
        view.setAccessibleName("Files" if tree else "Matching files")
        view.installEventFilter(EnterFilter(self, self.open_current))
        return view

    @property
    def view(self) -> QTreeView:
        current = self.views.currentWidget()
        assert isinstance(current, QTreeView)
        return current

    # ---- opening ---------------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the shown image completely (tree, details, tabs, damage, index, filter)."""
        if self.insp is not None:
            self.insp.close()
        self.insp = self.model = self.search = None
        self.index, self.damage = None, {}
        self.only_earlier = []
        self._note = ""  # the index's longest status a node gives itself
        self.tree.setModel(None)
        self.list.setModel(None)
        self.views.setCurrentWidget(self.tree)
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.blockSignals(False)
        self.details.clear()
        self.volume.clear()
        self.boot.clear()
        self.header.setText("")
        self.banner.clear()
        self.choices.show_for(None)
        self.extract_btn.setEnabled(False)
        self.boot_btn.setEnabled(False)
        self.tabs.setEnabled(False)
        self.body.setCurrentWidget(self.empty)

    def open(self, path: str, session: int | None = None, view: str | None = None) -> None:
        """Open off the GUI thread (the last session and the best tree unless asked for
        others); the root directory shows as soon as it is read."""
        self.clear()
        self.path = path
        self.header.setText(f"Opening {os.path.basename(path)}…")
        job = Job(
            lambda progress, token: open_and_list_root(path, session, view),
            resource=f"image:{path}",
            parent=self,
            what=os.path.basename(path),
        )
        job.finished.connect(lambda insp: self._opened(insp, path))
        job.failed.connect(lambda m: self._failed(m, path))
        self.jobs.start(job, queue=True)  # the same image opened twice: the second waits

    def _failed(self, message: str, path: str) -> None:
        if path != self.path:
            return  # an older open that lost the race: the page shows another image now
        first = message.splitlines()[0] if message else "unknown error"
        self.clear()
        self.path = path
        self.header.setText(f"Could not open {os.path.basename(path)}")
        # The core's line usually says what to do already ("… — give a disc image"): a second
        # remedy after it read as two contradicting answers.
        todo = "" if " — " in first else " — check that this is a disc image (.iso or .cue)."
        self.banner.show_message(first + todo, "error")
        self.status.emit(first)

    def _opened(self, insp: object, path: str) -> None:
        assert isinstance(insp, Inspection)
        if path != self.path:
            insp.close()  # another image was asked for meanwhile
            return
        if self.insp is not None:
            self.insp.close()  # the same image, opened twice: keep the newer reading
        self.insp = insp
        self.model = FileTreeModel(insp)
        self.model.drag_provider = self.files_for_drag
        self.tree.setModel(self.model)
        self._columns(self.tree)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.tree.selectionModel().currentChanged.connect(self._show_details)
        map_path = path + ".map"
        has_map = os.path.exists(map_path)
        self._update_header("checking damage…" if has_map else None)
        self.volume.setHtml(volume_html(insp))
        self.boot.setHtml(boot_html(insp))
        self.choices.show_for(insp)
        self._layout_banner()
        self.tabs.setEnabled(True)
        self.extract_btn.setEnabled(True)
        self.boot_btn.setEnabled(bool(insp.boot))
        self.body.setCurrentWidget(self.tabs)
        self.status.emit(f"Opened {os.path.basename(path)}")
        # The index starts once the first view is on screen, not while it is laid out.
        # The page is the timer's context: a page closed meanwhile cancels it.
        QTimer.singleShot(150, self, lambda: self._start_index(insp, path, has_map))

    def _start_index(self, insp: Inspection, path: str, has_map: bool) -> None:
        if insp is not self.insp:
            return  # another image was opened meanwhile
        map_path = path + ".map"
        job = Job(
            index_job(insp, map_path if has_map else None), resource=f"index:{path}", parent=self
        )
        job.finished.connect(lambda res: self._indexed(res, insp, has_map))
        job.failed.connect(lambda m: self.status.emit(m.splitlines()[0]))
        self.jobs.start(job, queue=True)

    def _indexed(self, res: object, insp: Inspection, has_map: bool) -> None:
        if insp is not self.insp:
            return
        assert isinstance(res, Indexed)
        self.index, self.damage = res.nodes, res.damage
        self.only_earlier = res.only_earlier
        if self.model is not None:
            marks = self.model.marks
            marks.later = res.later
            marks.older = {p: n for p, n, why in res.only_earlier if why == "replaced"}
            if self.damage:
                self.model.set_damage(self.damage)
            self._note = res.note
            self._status_column(self.tree)
            self.tree.viewport().update()
        if has_map:
            self._update_header(None)
        self._layout_banner()
        if self.filter.text():
            self.apply_filter(self.filter.text())

    def _layout_banner(self) -> None:
        """What the user should know about the image's layout: a missing or malformed cue
        sheet (only session 1 is shown then), files only earlier sessions hold."""
        insp = self.insp
        if insp is None:
            return
        lines, kind = [], "info"
        for k, n, example in insp.problem_summary():
            if k == "layout":
                more = f" (and {n - 1} more layout problem(s): see Volume)" if n > 1 else ""
                lines.append(example + more)
                kind = "warn"
        if self.only_earlier:
            first = self.only_earlier[0]
            gone = sum(1 for _, _, why in self.only_earlier if why == "deleted")
            older = len(self.only_earlier) - gone
            held = [
                *([plural(gone, "deleted file")] if gone else []),
                *([plural(older, "older version") + " of files shown here"] if older else []),
            ]
            lines.append(
                f"Earlier sessions also hold {' and '.join(held)} (e.g. {first[0]} in session "
                f"{first[1]}) — choose that session above to see and extract them."
            )
        if lines:
            self.banner.show_message("\n".join(lines), kind)

    def _update_header(self, pending: str | None) -> None:
        insp = self.insp
        if insp is None:
            return
        if not insp.whole:
            state = f"truncated: {insp.missing_sectors:,} sectors missing"
        elif pending:
            state = pending
        elif self.damage:
            lost = sum(self.damage.values())
            n = len(self.damage)
            state = f"{n} damaged item{'' if n == 1 else 's'}, {human_bytes(lost)} unreadable"
        else:
            state = "complete"
        name = os.path.basename(self.path)
        self.header.setText(
            f"{name}   {human_bytes(insp.size)}   {' + '.join(insp.formats)}   ·   {state}"
        )

    def _columns(self, view: QTreeView) -> None:
        # Fixed widths, not ResizeToContents: that asks the (Python) model about every row,
        # thousands of calls that each wait for the GIL while a background job runs. The Name
        # column takes the room left: long names, not an empty Status column, get it.
        hdr = view.header()
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hdr.setStretchLastSection(False)
        em = self.fontMetrics().horizontalAdvance("M")
        for col, width in enumerate((22, 7, 12, 7)):
            hdr.resizeSection(col, width * em)
        self._status_column(view)

    def _status_column(self, view: QTreeView) -> None:
        """Status as wide as the widest status a row can show (at most 24 letters, the user
        can widen it), or hidden while no row has one."""
        if self.model is None or self.insp is None:
            return
        own = [self._note] + [own_status(self.model.items[i].node) for i in self.model.top]
        texts = self.model.marks.texts(not self.insp.whole, own)
        view.setColumnHidden(4, not texts)
        if texts:
            fm, em = view.fontMetrics(), self.fontMetrics().horizontalAdvance("M")
            need = max(fm.horizontalAdvance(t) for t in [*texts, COLUMNS[4]]) + em
            view.header().resizeSection(4, min(need, 24 * em))

    # ---- browsing ----------------------------------------------------------------------------
    def apply_filter(self, text: str) -> None:
        if self.model is None:
            return
        if not text:
            self._back_to_tree()
            return
        if self.index is None:
            self.status.emit("Indexing all files — the filter applies when done…")
            return
        needle = text.casefold()
        hits = [n for n in self.index if needle in n.name.casefold()]
        self.search = SearchModel(hits, self.model.marks)  # damage and session marks alike
        self.search.drag_provider = self.files_for_drag
        header = self.list.header()
        col, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.list.setModel(self.search)
        self._columns(self.list)
        self.list.sortByColumn(max(col, 0), order)
        self.list.selectionModel().currentChanged.connect(self._show_details)
        self.views.setCurrentWidget(self.list)
        self.status.emit(f"{len(hits):,} match(es)")

    def _back_to_tree(self) -> None:
        """The tree view was kept as it was (expanded folders, selection, scroll); a file picked
        in the filter view is revealed and selected in it."""
        picked = None
        if self.views.currentWidget() is self.list and self.search is not None:
            picked = self.search.node(self.list.currentIndex())
        self.views.setCurrentWidget(self.tree)
        if picked is not None and self.model is not None:
            idx = self.model.index_of(picked.path)
            if idx.isValid():
                parent = idx.parent()
                while parent.isValid():
                    self.tree.expand(parent)
                    parent = parent.parent()
                self.tree.setCurrentIndex(idx)
                self.tree.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)

    def current_node(self, index: QModelIndex) -> Node | None:
        model = index.model()
        return model.node(index) if isinstance(model, FileTreeModel | SearchModel) else None

    def _show_details(self, index: QModelIndex) -> None:
        n = self.current_node(index)
        if n is None or self.insp is None:
            self.details.clear()
            return
        marks = self.model.marks if self.model is not None else None
        sessions = marks.session_note(n) if marks is not None else ""
        self.details.setHtml(
            details_html(
                n,
                self.damage.get(n.path),
                not n.is_dir and past_end(n, self.insp.sectors),
                theme.colour("bad"),
                sessions,
            )
        )

    def _menu(self, view: QTreeView, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Open", self.open_current)
        menu.addAction("Extract…", lambda: self.extract_selected())
        menu.exec(view.viewport().mapToGlobal(pos))

    def open_current(self) -> None:
        """Enter: a folder opens or closes; a file is extracted to a temporary folder (in the
        background) and opened with the app the system has for it."""
        view = self.view
        idx = view.currentIndex()
        n = self.current_node(idx)
        if n is None or self.insp is None:
            return
        if n.is_dir:
            if view is self.tree:
                view.setExpanded(
                    idx.siblingAtColumn(0), not view.isExpanded(idx.siblingAtColumn(0))
                )
            return
        if n.size > self.DRAG_LIMIT:
            self.status.emit(f"{human_bytes(n.size)} is large: use Extract… to copy it out")
            return
        insp, tmp = self.insp, tempfile.mkdtemp(prefix="discvault-open-")
        job = Job(
            lambda progress, token: extract(insp, [n.path], tmp, progress, token),
            resource=f"open:{n.path}",
            parent=self,
            what=n.name,
        )
        job.finished.connect(lambda _: self._open_file(os.path.join(tmp, n.name)))
        try:
            self.jobs.start(job)
        except BusyError as e:
            self.status.emit(str(e))

    def _open_file(self, path: str) -> None:
        if not os.path.exists(path) or not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.status.emit(f"Could not open {os.path.basename(path)}: no app for it")

    DRAG_LIMIT = 64 * 1000 * 1000

    def files_for_drag(self, nodes: list[Node]) -> list[str]:
        """Dropping on a file manager needs real files now (``dragout``); a selection over
        ``DRAG_LIMIT`` goes through Extract… instead."""
        if self.insp is None:
            return []
        paths, said = dragout.files_for_drag(self.insp, nodes, self.DRAG_LIMIT)
        for line in said:
            self.status.emit(line)
        return paths

    # ---- extraction --------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        sm = self.view.selectionModel()
        rows = sm.selectedRows() if sm is not None else []
        nodes = [self.current_node(i) for i in rows]
        return [n.path for n in nodes if n is not None]

    def extract_selected(self, out_dir: str | None = None, policy: str | None = None) -> Job | None:
        """Extract the selection (or everything) into a folder; an item that already exists
        is asked about (Replace / Skip / Rename, once or for all) unless ``policy`` says."""
        if self.insp is None:
            return None
        return self.extractor.files(self.insp, self.selected_paths() or None, out_dir, policy)

    def extract_boot(self, out_dir: str | None = None, policy: str | None = None) -> Job | None:
        """The Boot tab's button: the El Torito boot images into ``out/[BOOT]/``."""
        if self.insp is None or not self.insp.boot:
            return None
        return self.extractor.boot_images(self.insp, out_dir, policy)


__all__ = ["InspectError", "InspectPage", "mapfile"]
