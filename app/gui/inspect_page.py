"""Inspect: what is in an image, where each file sits on the disc, which files are damaged."""

from __future__ import annotations

import gc
import os
import tempfile
import time

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.base import mapfile
from app.core.base.events import CancelToken, ProgressCallback
from app.core.base.units import human_bytes
from app.core.fs.extract import ExtractResult, extract
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import InspectError, Node
from app.gui.file_model import FileTreeModel, SearchModel
from app.gui.workers import CoreJob, Job, JobQueue


def _index_job(insp: Inspection, map_path: str | None) -> CoreJob:
    def run(progress: ProgressCallback, token: CancelToken) -> object:
        nodes: list[Node] = []
        # A gen-2 collection walks every object while holding the GIL (50-80 ms for 100 000
        # new nodes): the GUI would freeze. Nodes hold no cycles, so collect after the walk,
        # once, and freeze the survivors out of later passes.
        gc.disable()
        try:
            for n in insp.walk():
                nodes.append(n)
                if len(nodes) % 200 == 0:
                    token.raise_if_cancelled()
                    # Hand the GIL to the GUI thread: pure-Python work in a QThread otherwise
                    # starves the event loop for the whole walk.
                    time.sleep(0.0005)
        finally:
            gc.enable()
            gc.freeze()
        damage = insp.damage(map_path) if map_path else {}
        return nodes, damage

    return run


def _open_and_list_root(path: str) -> Inspection:
    """Open and read the root directory off the GUI thread, so the first view only shows it."""
    insp = open_image(path)
    insp.children(insp.root)
    return insp


class InspectPage(QWidget):
    status = Signal(str)

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.insp: Inspection | None = None
        self.model: FileTreeModel | None = None
        self.index: list[Node] | None = None
        self.damage: dict[str, int] = {}
        self.last_extract: ExtractResult | None = None
        lay = QVBoxLayout(self)
        self.header = QLabel("Drop an .iso file anywhere on the window, or use File → Open image.")
        self.header.setWordWrap(True)
        f = self.header.font()
        f.setBold(True)
        self.header.setFont(f)
        lay.addWidget(self.header)
        self.tabs = QTabWidget()
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
        self.extract_btn.clicked.connect(lambda: self.extract_selected())
        top.addWidget(self.filter, 1)
        top.addWidget(self.extract_btn)
        fl.addLayout(top)
        split = QSplitter(Qt.Orientation.Vertical)
        self.tree = QTreeView()
        self.tree.setUniformRowHeights(True)  # cheap layout for 100 000 rows
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.details = QTextBrowser()
        self.details.setMaximumHeight(140)
        self.details.setPlaceholderText(
            "Select a file to see its details and where it sits on the disc."
        )
        split.addWidget(self.tree)
        split.addWidget(self.details)
        fl.addWidget(split, 1)
        self.volume = QTextBrowser()
        self.boot = QTextBrowser()
        self.tabs.addTab(files, "Files")
        self.tabs.addTab(self.volume, "Volume")
        self.tabs.addTab(self.boot, "Boot")
        lay.addWidget(self.tabs, 1)
        self.tabs.setEnabled(False)

    # ---- opening ---------------------------------------------------------------------------
    def open(self, path: str) -> None:
        """Open off the GUI thread; the root directory shows as soon as it is read."""
        self.header.setText(f"Opening {os.path.basename(path)}…")
        job = Job(
            lambda progress, token: _open_and_list_root(path), resource=f"image:{path}", parent=self
        )
        job.finished.connect(lambda insp: self._opened(insp, path))
        job.failed.connect(self._failed)
        self.jobs.start(job)

    def _failed(self, message: str) -> None:
        self.header.setText(message.splitlines()[0])
        self.status.emit(message.splitlines()[0])

    def _opened(self, insp: object, path: str) -> None:
        assert isinstance(insp, Inspection)
        if self.insp is not None:
            self.insp.close()
        self.insp = insp
        self.model = FileTreeModel(insp)
        self.index, self.damage = None, {}
        self.filter.clear()
        self._set_model(self.model)
        map_path = path + ".map"
        has_map = os.path.exists(map_path)
        self._header_parts = (os.path.basename(path), insp)
        self._update_header("checking damage…" if has_map else None)
        self._fill_volume(insp)
        self.tabs.setEnabled(True)
        self.status.emit(f"Opened {os.path.basename(path)}")
        # The index starts once the first view is on screen, not while it is laid out.
        # The page is the timer's context: a page closed meanwhile cancels it.
        QTimer.singleShot(150, self, lambda: self._start_index(insp, path, has_map))

    def _start_index(self, insp: Inspection, path: str, has_map: bool) -> None:
        if insp is not self.insp:
            return  # another image was opened meanwhile
        map_path = path + ".map"
        job = Job(
            _index_job(insp, map_path if has_map else None), resource=f"index:{path}", parent=self
        )
        job.finished.connect(lambda res: self._indexed(res, path, has_map))
        job.failed.connect(lambda m: self.status.emit(m.splitlines()[0]))
        self.jobs.start(job)

    def _indexed(self, res: object, path: str, has_map: bool) -> None:
        assert isinstance(res, tuple)
        self.index, self.damage = res
        if self.model is not None and self.damage:
            self.model.set_damage(self.damage)
            self.tree.viewport().update()
        if has_map:
            self._update_header(None)
        if self.filter.text():
            self.apply_filter(self.filter.text())

    def _update_header(self, pending: str | None) -> None:
        name, insp = self._header_parts
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
        self.header.setText(
            f"{name}   {human_bytes(insp.size)}   {' + '.join(insp.formats)}   ·   {state}"
        )

    def _set_model(self, model: FileTreeModel | SearchModel) -> None:
        model.drag_provider = self.files_for_drag
        self.tree.setModel(model)
        # Fixed starting widths, not ResizeToContents: that asks the (Python) model about every
        # row, thousands of calls that each wait for the GIL while a background job runs.
        hdr = self.tree.header()
        hdr.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hdr.setStretchLastSection(True)
        em = self.fontMetrics().horizontalAdvance("M")
        for col, width in enumerate((28, 9, 13, 10)):
            hdr.resizeSection(col, width * em)
        self.tree.selectionModel().currentChanged.connect(self._show_details)

    def _fill_volume(self, insp: Inspection) -> None:
        rows = []
        for v in insp.volumes:
            rows.append(f"<h4>{v['kind']}</h4><table>")
            rows += [f"<tr><td>{k}</td><td>{val}</td></tr>" for k, val in v.items() if k != "kind"]
            rows.append("</table>")
        rows.append(
            f"<p>Image: {insp.sectors:,} sectors; the filesystem needs "
            f"{insp.required_sectors:,}.</p>"
        )
        if insp.hybrid:
            rows.append(f"<p>Hybrid boot records: {', '.join(insp.hybrid)}</p>")
        self.volume.setHtml("".join(rows))
        if insp.boot:
            self.boot.setHtml(
                "<table><tr><th>Platform</th><th>Bootable</th><th>Emulation</th>"
                "<th>Load segment</th><th>Sectors</th><th>LBA</th></tr>"
                + "".join(
                    f"<tr><td>{b.platform}</td><td>{'yes' if b.bootable else 'no'}"
                    f"</td><td>{b.emulation}</td><td>0x{b.load_segment:04x}</td>"
                    f"<td>{b.sectors}</td><td>{b.lba}</td></tr>"
                    for b in insp.boot
                )
                + "</table>"
            )
        else:
            self.boot.setPlainText("No El Torito boot catalog: this disc does not boot.")

    # ---- browsing ----------------------------------------------------------------------------
    def apply_filter(self, text: str) -> None:
        if self.model is None:
            return
        if not text:
            self._set_model(self.model)
            return
        if self.index is None:
            self.status.emit("Indexing all files — the filter applies when done…")
            return
        needle = text.casefold()
        hits = [n for n in self.index if needle in n.name.casefold()]
        self._set_model(SearchModel(hits, self.damage))
        self.status.emit(f"{len(hits):,} match(es)")

    def current_node(self, index: QModelIndex) -> Node | None:
        model = self.tree.model()
        return model.node(index) if isinstance(model, FileTreeModel | SearchModel) else None

    def _show_details(self, index: QModelIndex) -> None:
        n = self.current_node(index)
        if n is None:
            return
        lines = [f"<b>{n.path}</b>", f"{n.kind}, {n.size:,} bytes"]
        if n.mtime:
            lines.append("modified " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(n.mtime)))
        if n.mode is not None:
            lines.append(f"mode {n.mode & 0o7777:04o}")
        if n.target is not None:
            lines.append(f"link to {n.target}")
        if n.zisofs:
            lines.append(f"zisofs-compressed: {n.zisofs[2]:,} bytes when extracted")
        ext = ", ".join(f"LBA {lba:,} (+{-(-ln // 2048):,} sectors)" for lba, ln in n.extents[:8])
        if ext:
            lines.append("extents: " + ext + (" …" if len(n.extents) > 8 else ""))
        if n.path in self.damage:
            what = "this folder's listing (entries may be missing)" if n.is_dir else "this file"
            lines.append(
                f"<span style='color:#e6194b'>{human_bytes(self.damage[n.path])} of "
                f"{what} sit on unreadable sectors</span>"
            )
        self.details.setHtml("<br>".join(lines))

    def _menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction("Extract…", lambda: self.extract_selected())
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    DRAG_LIMIT = 64 * 1000 * 1000

    def files_for_drag(self, nodes: list[Node]) -> list[str]:
        """Dropping on a file manager needs real files now: extract small selections to a
        temporary folder; larger ones would freeze the window, so they go through Extract…"""
        if self.insp is None:
            return []
        insp = self.insp
        size = 0
        for n in nodes:
            size += n.size if not n.is_dir else sum(c.size for c in insp.walk(n))
        if size > self.DRAG_LIMIT:
            self.status.emit(f"{human_bytes(size)} is too much to drag: use Extract… instead")
            return []
        tmp = tempfile.mkdtemp(prefix="discvault-drag-")
        res = extract(insp, [n.path for n in nodes], tmp)
        for path, why in res.refused:
            self.status.emit(f"{path}: {why}")
        return [
            os.path.join(tmp, n.name) for n in nodes if os.path.lexists(os.path.join(tmp, n.name))
        ]

    # ---- extraction --------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        rows = self.tree.selectionModel().selectedRows() if self.tree.selectionModel() else []
        nodes = [self.current_node(i) for i in rows]
        return [n.path for n in nodes if n is not None]

    def extract_selected(self, out_dir: str | None = None) -> Job | None:
        if self.insp is None:
            return None
        paths = self.selected_paths() or None
        out = out_dir or QFileDialog.getExistingDirectory(self, "Extract into folder")
        if not out:
            return None
        insp = self.insp
        job = Job(
            lambda progress, token: extract(insp, paths, out, progress, token),
            resource=f"extract:{insp.path}",
            parent=self,
        )
        job.finished.connect(lambda res: self._extracted(res, out))
        job.failed.connect(lambda m: QMessageBox.warning(self, "DiscVault", m.splitlines()[0]))
        self.status.emit("Extracting…")
        return self.jobs.start(job)

    def _extracted(self, res: object, out: str) -> None:
        assert isinstance(res, ExtractResult)
        self.last_extract = res
        msg = f"Extracted {len(res.written)} item(s), {human_bytes(res.bytes)} into {out}"
        self.status.emit(msg)
        if res.refused:
            QMessageBox.information(
                self,
                "DiscVault",
                msg + f"\n\n{len(res.refused)} item(s) "
                "were not extracted:\n" + "\n".join(f"{p}: {w}" for p, w in res.refused[:20]),
            )


__all__ = ["InspectError", "InspectPage", "mapfile"]
