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
from PySide6.QtGui import QBrush, QColor, QIcon

from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection
from app.core.fs.node import SECTOR, Node
from app.gui import theme

COLUMNS = ("Name", "Size", "Modified", "First sector", "Status")
CONTAINS_DAMAGE = "contains damaged files"
PAST_END = "past the end of the image (truncated)"
# Multi-session: an earlier session's file the last session no longer shows as it is here.
LATER_WORDS = {
    "deleted": "only in this session: deleted later",
    "replaced": "replaced later: the last session has a newer version",
}
Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid index: "no parent"
# The view asks for flags and data thousands of times while it lays out a 1000-row directory;
# combining Qt's Python enums on each call cost 10-20 ms of event-loop stall. Combine once.
DISPLAY, FOREGROUND = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole
DECORATION = Qt.ItemDataRole.DecorationRole
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


def past_end(node: Node, sectors: int) -> bool:
    """Some of the node's data lies beyond the image's last sector (a truncated image)."""
    return any(lba + -(-ln // SECTOR) > sectors for lba, ln in node.extents if ln)


def cell(node: Node, col: int, marks: Marks, name: str | None = None) -> str:
    if col == 0:
        return name if name is not None else node.name
    if col == 1:
        return "" if node.is_dir else human_bytes(node.size)
    if col == 2:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(node.mtime)) if node.mtime else ""
    if col == 3:
        return f"{node.extents[0][0]:,}" if node.extents else ""
    if col == 4:
        return marks.status(node)
    return ""


def own_status(node: Node) -> str:
    """What a node says of itself in the status column: a link's target, a listing problem,
    what a later session did to it ("" for most files)."""
    if node.later:
        return LATER_WORDS.get(node.later, node.later)
    if node.kind == "symlink":
        return f"link → {node.target}"
    return node.problem


class Marks:
    """What the status column says about a node: damage (from the mapfile), folders holding
    damaged files, data past the end of a truncated image, links, listing problems."""

    def __init__(self, damage: dict[str, int] | None = None, sectors: int | None = None) -> None:
        self.damage: dict[str, int] = {}
        self.damaged_dirs: set[str] = set()
        self.sectors = sectors
        # Viewing an earlier session: path -> "deleted" / "replaced" (by a later session).
        self.later: dict[str, str] = {}
        # Viewing the last session: path -> the earlier session holding an older version.
        self.older: dict[str, int] = {}
        # Looked up once: data() runs thousands of times while a view lays out.
        self.bad_brush = QBrush(QColor(theme.colour("bad")))
        self.warn_brush = QBrush(QColor(theme.colour("warn")))
        self.info_brush = QBrush(QColor(theme.colour("info")))
        self.icons = {
            n: theme.icon(n) for n in ("folder", "folder-damaged", "file", "file-damaged", "link")
        }
        self.set_damage(damage or {})

    def set_damage(self, damage: dict[str, int]) -> None:
        self.damage = damage
        dirs: set[str] = set()
        for path in damage:
            parts = path.strip("/").split("/")
            for k in range(1, len(parts)):
                dirs.add("/" + "/".join(parts[:k]))
        self.damaged_dirs = dirs

    def bad(self, node: Node) -> bool:
        return node.path in self.damage or (
            self.sectors is not None and not node.is_dir and past_end(node, self.sectors)
        )

    def status(self, node: Node) -> str:
        if node.path in self.damage:
            return f"{human_bytes(self.damage[node.path])} unreadable"
        if self.sectors is not None and not node.is_dir and past_end(node, self.sectors):
            return PAST_END
        if node.is_dir and node.path in self.damaged_dirs:
            return CONTAINS_DAMAGE
        later = self.session_note(node)
        if later:
            return later
        return own_status(node)

    def session_note(self, node: Node) -> str:
        """Multi-session: what a later session did to this file, or that an earlier one holds
        an older version ("" when neither)."""
        later = self.later.get(node.path) or node.later
        if later:
            return LATER_WORDS.get(later, later)
        if node.path in self.older:
            return f"an older version is in session {self.older[node.path]}"
        return ""

    def texts(self, truncated: bool, own: list[str]) -> list[str]:
        """Every kind of status text a row can show (its widest is what the column needs);
        [] when no row has a status, so the column can go. ``own``: what nodes say of
        themselves (links, problems), found by the index."""
        out = [t for t in own if t]
        if self.damage:
            out += [f"{human_bytes(max(self.damage.values()))} unreadable"]
            out += [CONTAINS_DAMAGE] if self.damaged_dirs else []
        if truncated:
            out.append(PAST_END)
        out += [LATER_WORDS.get(w, w) for w in set(self.later.values())]
        if self.older:
            out.append(f"an older version is in session {max(self.older.values())}")
        return out

    def foreground(self, node: Node) -> QBrush | None:
        if self.bad(node):
            return self.bad_brush
        if node.is_dir and node.path in self.damaged_dirs:
            return self.warn_brush
        if node.path in self.later or node.later:
            return self.info_brush
        return None

    def icon(self, node: Node) -> QIcon:
        flagged = self.bad(node) or node.path in self.damaged_dirs
        if node.is_dir:
            return self.icons["folder-damaged" if flagged else "folder"]
        if node.kind == "symlink":
            return self.icons["link"]
        return self.icons["file-damaged" if flagged else "file"]

    def sort_key(self, col: int) -> Callable[[Node], object]:
        if col == 1:
            return lambda n: n.size
        if col == 2:
            return lambda n: n.mtime or 0.0
        if col == 3:
            return lambda n: n.extents[0][0] if n.extents else -1
        if col == 4:
            return lambda n: (self.damage.get(n.path, 0), self.status(n).casefold())
        return lambda n: n.name.casefold()


def sort_nodes(nodes: list[Node], key: Callable[[Node], object], descending: bool) -> list[Node]:
    """Folders first, then by ``key`` (the way file managers list)."""
    out = sorted(nodes, key=key, reverse=descending)  # type: ignore[arg-type]
    out.sort(key=lambda n: not n.is_dir)  # stable: keeps the order within each group
    return out


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
        self.marks = Marks(sectors=insp.sectors)
        self.sort_col, self.descending = 0, False
        for row, node in enumerate(self._sorted(insp.children(insp.root))):
            self.items.append(_Item(node, -1, row))
            self.top.append(len(self.items) - 1)

    @property
    def damage(self) -> dict[str, int]:
        return self.marks.damage

    def set_damage(self, damage: dict[str, int]) -> None:
        """New status texts; the view repaints what is visible (no relayout of every row)."""
        self.marks.set_damage(damage)

    def _sorted(self, nodes: list[Node]) -> list[Node]:
        return sort_nodes(nodes, self.marks.sort_key(self.sort_col), self.descending)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort every listed folder; folders listed later come sorted the same way."""
        self.sort_col, self.descending = column, order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        for kids in [self.top, *(it.children for it in self.items if it.children)]:
            by_node = {id(self.items[i].node): i for i in kids}
            order_ids = [by_node[id(n)] for n in self._sorted([self.items[i].node for i in kids])]
            kids[:] = order_ids
            for row, i in enumerate(order_ids):
                self.items[i].row = row
        self.changePersistentIndexList(
            old,
            [
                self.createIndex(self.items[i.internalId()].row, i.column(), i.internalId())
                for i in old
            ],
        )
        self.layoutChanged.emit()

    def index_of(self, path: str) -> QModelIndex:
        """The row of ``path``, listing the folders on the way (for revealing a search hit)."""
        parent = QModelIndex()
        for part in [p for p in path.split("/") if p]:
            if self.canFetchMore(parent):
                self.fetchMore(parent)
            kids = self._kids(parent)
            row = next((r for r, i in enumerate(kids) if self.items[i].node.name == part), -1)
            if row < 0:
                return QModelIndex()
            parent = self.index(row, 0, parent)
        return parent

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
        nodes = self._sorted(self.insp.children(item.node))  # one directory, cached after
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
            return cell(node, index.column(), self.marks)
        if role == FOREGROUND:
            return self.marks.foreground(node)
        if role == DECORATION and index.column() == 0:
            return self.marks.icon(node)
        if role == TOOLTIP:
            return node.path
        if role == ALIGNMENT and index.column() in (1, 3):
            return RIGHT
        return None


class SearchModel(_Columns):
    """Flat results of a filter over the full index (paths shown in the Name column)."""

    def __init__(self, nodes: list[Node], marks: Marks) -> None:
        super().__init__()
        self.nodes = nodes
        self.marks = marks

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        held = [self.nodes[i.row()] for i in old]
        key = self.marks.sort_key(column)
        path_key: Callable[[Node], object] = lambda n: n.path.casefold()  # noqa: E731
        self.nodes = sort_nodes(
            self.nodes, path_key if column == 0 else key, order == Qt.SortOrder.DescendingOrder
        )
        rows = {id(n): r for r, n in enumerate(self.nodes)}
        self.changePersistentIndexList(
            old,
            [
                self.createIndex(rows[id(n)], i.column(), rows[id(n)])
                for n, i in zip(held, old, strict=True)
            ],
        )
        self.layoutChanged.emit()

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
            return cell(node, index.column(), self.marks, name=node.path)
        if role == FOREGROUND:
            return self.marks.foreground(node)
        if role == DECORATION and index.column() == 0:
            return self.marks.icon(node)
        if role == TOOLTIP:
            return node.path
        if role == ALIGNMENT and index.column() in (1, 3):
            return RIGHT
        return None
