"""Render resources/discvault.svg to the PNG/ICO/ICNS files the installers need (run by hand
when the SVG changes; the outputs are committed so builds need no extra tools)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent


def render(size: int) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    QSvgRenderer(str(HERE / "discvault.svg")).render(p)
    p.end()
    return img


def main() -> int:
    _app = QGuiApplication(sys.argv)
    render(256).save(str(HERE / "discvault.png"))
    render(256).save(str(HERE / "discvault.ico"))
    if not render(512).save(str(HERE / "discvault.icns")):
        print("no ICNS writer in this Qt: discvault.icns not updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
