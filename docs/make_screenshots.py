"""Screenshots for the README, from the real app on an X server (run under Xvfb).

    Xvfb :99 -screen 0 1280x800x24 &  DISPLAY=:99 python docs/make_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from app.core.disc.demo import DemoSource
from app.gui.main_window import MainWindow, app_icon
from app.gui.settings import Settings

HERE = Path(__file__).resolve().parent


def main() -> int:
    app = QApplication(sys.argv)
    app.setWindowIcon(app_icon())
    tmp = tempfile.mkdtemp()
    settings = Settings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
    settings.folder = os.path.join(tmp, "Discs")
    settings.verify_after = False
    win = MainWindow(settings, poll_ms=0)
    win.move(0, 0)
    win.show()
    demo = win.panel.entries[-1]
    demo.opener = lambda: DemoSource(rate=30e6, error_delay=0.03)
    win.panel.setCurrentRow(len(win.panel.entries) - 1)

    def shot(name: str) -> None:
        g = win.frameGeometry()
        subprocess.run(["import", "-window", "root", "-crop",
                        f"{g.width()}x{g.height()}+{g.x()}+{g.y()}", str(HERE / f"{name}.png")],
                       check=True)
        print("saved", name, flush=True)

    taken: set[str] = set()

    def on_progress(p: object) -> None:
        phase = getattr(p, "phase", "")
        if phase in ("scrape", "retry") and "rescue" not in taken:
            taken.add("rescue")
            QTimer.singleShot(150, lambda: shot("rescue"))

    def inspect() -> None:
        win.open_image(win.backup.card.image)
        QTimer.singleShot(2500, lambda: (win.inspect.tree.expandAll(), QTimer.singleShot(
            300, lambda: (shot("inspector"), app.quit()))))

    def start() -> None:
        shot("main")
        win.backup.start_backup()
        assert win.backup.job is not None
        win.backup.job.progress.connect(on_progress)
        win.backup.job.finished.connect(lambda _: QTimer.singleShot(500, lambda: (
            shot("finished"), inspect())))

    QTimer.singleShot(800, start)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
