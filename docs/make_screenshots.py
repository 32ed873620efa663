"""Screenshots for the README, from the real app on an X server, in both themes and two sizes.

    xvfb-run -s '-screen 0 1700x1100x24' .venv/bin/python docs/make_screenshots.py

Each theme and size runs in a fresh app process (a theme is chosen before any widget exists):
the demo drive is backed up and verified, and the window is captured at five moments — ready,
rescuing, verifying, finished, inspecting the damaged image — as docs/NAME-THEME-WxH.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THEMES = ("light", "dark")
SIZES = ((1600, 1000), (1024, 700))


def shoot(theme_name: str, width: int, height: int, out: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.base.events import Progress
    from app.core.disc.demo import DemoSource
    from app.gui import theme
    from app.gui.main_window import MainWindow, app_icon
    from app.gui.settings import Settings

    app = QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    theme.apply(app, theme_name)
    tmp = tempfile.mkdtemp()
    settings = Settings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
    settings.folder = os.path.join(tmp, "Discs")
    settings.verify_after = True
    win = MainWindow(settings, poll_ms=0)
    win.setGeometry(0, 0, width, height)
    win.show()
    demo = win.panel.entries[-1]
    demo.opener = lambda: DemoSource(rate=30e6, error_delay=0.03)
    win.panel.setCurrentRow(len(win.panel.entries) - 1)

    def shot(name: str) -> None:
        path = out / f"{name}-{theme_name}-{width}x{height}.png"
        win.grab().save(str(path))
        print("saved", path.name, flush=True)

    taken: set[str] = set()

    def on_progress(p: object) -> None:
        assert isinstance(p, Progress)
        if p.phase in ("scrape", "retry") and "rescue" not in taken:
            taken.add("rescue")
            QTimer.singleShot(150, lambda: shot("rescue"))
        if p.phase == "verify" and p.fraction > 0.5 and "verify" not in taken:
            taken.add("verify")
            QTimer.singleShot(50, lambda: shot("verify"))

    def inspect() -> None:
        win.open_image(win.backup.card.image)
        QTimer.singleShot(2500, select_damaged)

    def select_damaged() -> None:
        page = win.inspect
        page.tree.expandAll()
        model = page.model
        if model is not None and page.damage:
            idx = model.index_of(next(iter(page.damage)))
            page.tree.setCurrentIndex(idx)
        QTimer.singleShot(400, lambda: (shot("inspector"), app.quit()))

    def start() -> None:
        shot("main")
        win.backup.start_backup()
        assert win.backup.job is not None
        win.backup.job.progress.connect(on_progress)
        win.backup.job.finished.connect(
            lambda _: QTimer.singleShot(500, lambda: (shot("finished"), inspect()))
        )

    QTimer.singleShot(800, start)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 4:  # one theme and size, in this process
        return shoot(argv[1], int(argv[2]), int(argv[3]), HERE)
    env = {**os.environ, "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", tempfile.mkdtemp())}
    for theme_name in THEMES:
        for w, h in SIZES:
            subprocess.run(
                [sys.executable, __file__, theme_name, str(w), str(h)], check=True, env=env
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
