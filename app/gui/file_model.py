"""Item models for the inspector: a lazy tree (directories read when expanded) and a flat list
of search results from the background index."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
)
from PySide6.QtGui import QBrush, QColor

from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection
from app.core.fs.node import Node

COLUMNS = ("Name", "Size", "Modified", "Extent (LBA)", "Status")
DAMAGED = QColor("#e6194b")
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid index: "no parent"
# The view asks for flags and data thousands of times while it lays out a 1000-row directory;
# combining Qt's Python enums on each call cost 10-20 ms of event-loop stall. Combine once.
DISPLAY, FOREGROUND = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole
TOOLTIP, ALIGNMENT = Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.TextAlignmentRole
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
ITEM_FLAGS = (
    Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDragEnabled
)
NO_FLAGS = Qt.ItemFlag.NoItemFlags


@dataclass
class _Item:
    node: Node
    parent: int  # item id of the parent, -1 for top level
    row: int
    children: list[int] | None = None  # None: not listed yet
    kids: list[int] = field(default_factory=list)


def cell(node: Node, col: int, damage: dict[str, int], name: str | None = None) -> str:
    if col == 0:
        return name if name is not None else node.name
    if col == 1:
        return "" if node.is_dir else human_bytes(node.size)
    if col == 2:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(node.mtime)) if node.mtime else ""
    if col == 3:
        return f"{node.extents[0][0]:,}" if node.extents else ""
    if col == 4:
        if node.path in damage:
            return f"{human_bytes(damage[node.path])} unreadable"
        if node.kind == "symlink":
            return f"link → {node.target}"
        return node.problem
    return ""


class _Columns(QAbstractItemModel):
    """The columns both views share, and dragging files out to the file manager."""

    # Set by the inspector: turns dragged nodes into local paths (or [] to refuse the drag).
    drag_provider: Callable[[list[Node]], list[str]] | None = None

    def node(self, index: Index) -> Node | None:
        raise NotImplementedError

    def flags(self, index: Index) -> Qt.ItemFlag:
        return ITEM_FLAGS if index.isValid() else NO_FLAGS

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        nodes = {id(n): n for n in (self.node(i) for i in indexes if i.column() == 0) if n}
        if self.drag_provider is not None and nodes:
            paths = self.drag_provider(list(nodes.values()))
            mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        return mime

    def columnCount(self, parent: Index = ROOT) -> int:
        return len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None


class FileTreeModel(_Columns):
    def __init__(self, insp: Inspection) -> None:
        super().__init__()
        self.insp = insp
        self.items: list[_Item] = []
        self.top: list[int] = []
        self.damage: dict[str, int] = {}
        for row, node in enumerate(insp.children(insp.root)):
            self.items.append(_Item(node, -1, row))
            self.top.append(len(self.items) - 1)

    def set_damage(self, damage: dict[str, int]) -> None:
        """New status texts; the view repaints what is visible (no relayout of every row)."""
        self.damage = damage

    def node(self, index: Index) -> Node | None:
        return self.items[index.internalId()].node if index.isValid() else None

    def _kids(self, parent: Index) -> list[int]:
        if not parent.isValid():
            return self.top
        return self.items[parent.internalId()].children or []

    def index(self, row: int, column: int, parent: Index = ROOT) -> QModelIndex:
        kids = self._kids(parent)
        if 0 <= row < len(kids) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, kids[row])
        return QModelIndex()

    def parent(self, index: Index = ROOT) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        pid = self.items[index.internalId()].parent
        if pid < 0:
            return QModelIndex()
        return self.createIndex(self.items[pid].row, 0, pid)

    def rowCount(self, parent: Index = ROOT) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._kids(parent))

    def hasChildren(self, parent: Index = ROOT) -> bool:
        if not parent.isValid():
            return bool(self.top)
        item = self.items[parent.internalId()]
        return item.node.is_dir and (item.children is None or bool(item.children))

    def canFetchMore(self, parent: Index) -> bool:
        if not parent.isValid():
            return False
        item = self.items[parent.internalId()]
        return item.node.is_dir and item.children is None

    def fetchMore(self, parent: Index) -> None:
        pid = parent.internalId()
        item = self.items[pid]
        nodes = self.insp.children(item.node)  # one directory: fast, and cached afterwards
        ids = []
        for row, node in enumerate(nodes):
            self.items.append(_Item(node, pid, row))
            ids.append(len(self.items) - 1)
        if ids:
            self.beginInsertRows(parent, 0, len(ids) - 1)
            item.children = ids
            self.endInsertRows()
        else:
            item.children = []

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        node = self.node(index)
        if node is None:
            return None
        if role == DISPLAY:
            return cell(node, index.column(), self.damage)
        if role == FOREGROUND and node.path in self.damage:
            return QBrush(DAMAGED)
        if role == TOOLTIP:
            return node.path
        if role == ALIGNMENT and index.column() in (1, 3):
            return RIGHT
        return None


class SearchModel(_Columns):
    """Flat results of a filter over the full index (paths shown in the Name column)."""

    def __init__(self, nodes: list[Node], damage: dict[str, int]) -> None:
        super().__init__()
        self.nodes = nodes
        self.damage = damage

    def node(self, index: Index) -> Node | None:
        return self.nodes[index.row()] if index.isValid() else None

    def index(self, row: int, column: int, parent: Index = ROOT) -> QModelIndex:
        if parent.isValid() or not 0 <= row < len(self.nodes):
            return QModelIndex()
        return self.createIndex(row, column, row)

    def parent(self, index: Index = ROOT) -> QModelIndex:  # type: ignore[override]
        return QModelIndex()

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.nodes)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        node = self.node(index)
        if node is None:
            return None
        if role == DISPLAY:
            return cell(node, index.column(), self.damage, name=node.path)
        if role == FOREGROUND and node.path in self.damage:
            return QBrush(DAMAGED)
        return None
