"""Light and dark themes, a clearly visible keyboard focus, and themed SVG icons.

Qt's Fusion style with an explicit palette looks the same on every platform and has a real dark
variant; "system" keeps the platform's own style and palette. Icons are SVGs drawn in
``currentColor``, recoloured for the palette once and handed to Qt's SVG icon engine, so they
stay crisp at any size and device pixel ratio.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QWidget,
)

ICONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "resources", "icons"))
THEMES = ("system", "light", "dark")

# Colours that carry meaning, readable on both themes (damage red is lighter on dark).
_SEMANTIC = {
    "light": {"bad": "#c8102e", "warn": "#9a6700", "ok": "#1f7a3a", "info": "#1f5fbf"},
    "dark": {"bad": "#ff6b7a", "warn": "#f2c14e", "ok": "#6fd08c", "info": "#7fb0ff"},
}


class FocusStyle(QProxyStyle):
    """The platform style, with a focus ring nobody misses: 2 px in the highlight colour."""

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if element == QStyle.PrimitiveElement.PE_FrameFocusRect:
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r: QRect = option.rect.adjusted(1, 1, -1, -1)
            painter.drawRoundedRect(r, 3, 3)
            painter.restore()
            return
        super().drawPrimitive(element, option, painter, widget)


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    if dark:
        colours = {
            role.Window: "#26292e",
            role.WindowText: "#e6e8eb",
            role.Base: "#1d1f23",
            role.AlternateBase: "#2b2e34",
            role.Text: "#e6e8eb",
            role.Button: "#33373d",
            role.ButtonText: "#e6e8eb",
            role.Highlight: "#3d7fe0",
            role.HighlightedText: "#ffffff",
            role.ToolTipBase: "#33373d",
            role.ToolTipText: "#e6e8eb",
            role.PlaceholderText: "#8d939c",
            role.Link: "#7fb0ff",
            role.Mid: "#4a4f57",
            role.Dark: "#17191c",
            role.Light: "#454a52",
            role.Midlight: "#3b4047",
            role.Shadow: "#0d0e10",
            role.BrightText: "#ffffff",
        }
    else:
        colours = {
            role.Window: "#f4f5f7",
            role.WindowText: "#1d2127",
            role.Base: "#ffffff",
            role.AlternateBase: "#f0f2f5",
            role.Text: "#1d2127",
            role.Button: "#e9ebef",
            role.ButtonText: "#1d2127",
            role.Highlight: "#2f6fd6",
            role.HighlightedText: "#ffffff",
            role.ToolTipBase: "#ffffff",
            role.ToolTipText: "#1d2127",
            role.PlaceholderText: "#7b828c",
            role.Link: "#1f5fbf",
            role.Mid: "#b9bec6",
            role.Dark: "#9aa0a9",
            role.Light: "#ffffff",
            role.Midlight: "#f7f8fa",
            role.Shadow: "#6b7079",
            role.BrightText: "#ffffff",
        }
    for r, c in colours.items():
        pal.setColor(r, QColor(c))
    muted = QColor("#6f7680" if dark else "#9aa0a9")
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, muted)
    return pal


_current = {"mode": "system"}
_styles: list[QProxyStyle] = []


def apply(app: QApplication, mode: str) -> None:
    """Switch the whole app to ``mode`` ("system", "light" or "dark")."""
    mode = mode if mode in THEMES else "system"
    _current["mode"] = mode
    base = QStyleFactory.create("Fusion") if mode != "system" else None
    style = FocusStyle(base) if base is not None else FocusStyle()
    _styles.append(style)  # the Python wrapper must outlive Qt's use of it
    app.setStyle(style)
    if mode != "system":
        app.setPalette(_palette(mode == "dark"))
    _icon_cache.clear()


def is_dark() -> bool:
    pal = QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def colour(name: str) -> str:
    """A colour with a meaning ("bad", "warn", "ok", "info") for the current theme."""
    return _SEMANTIC["dark" if is_dark() else "light"][name]


_icon_cache: dict[str, QIcon] = {}
_themed_dir: dict[str, str] = {}


def icon(name: str) -> QIcon:
    """The SVG icon ``name`` drawn in the palette's text colour (cached per theme)."""
    text = QApplication.palette().color(QPalette.ColorRole.WindowText).name()
    key = f"{name}:{text}"
    cached = _icon_cache.get(key)
    if cached is not None:
        return cached
    src = os.path.join(ICONS, f"{name}.svg")
    try:
        with open(src, encoding="utf-8") as f:
            svg = f.read()
    except OSError:
        return QIcon()
    if "currentColor" in svg:
        folder = _themed_dir.get(text)
        if folder is None:
            # Qt's SVG icon engine reads files; the recoloured copies live for this process.
            folder = tempfile.mkdtemp(prefix="discvault-icons-")
            atexit.register(shutil.rmtree, folder, True)
            _themed_dir[text] = folder
        path = os.path.join(folder, f"{name}.svg")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write(svg.replace("currentColor", text))
        src = path
    result = QIcon(src)
    _icon_cache[key] = result
    return result
