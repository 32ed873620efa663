"""Start the desktop app (and its self-test, used as the smoke test of frozen builds)."""

from __future__ import annotations

import gc
import os
import sys
import tempfile

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import __version__
from app.gui import applog
from app.gui.main_window import MainWindow, app_icon


def _no_display() -> bool:
    """On Linux and BSD without DISPLAY or WAYLAND_DISPLAY (a server, an SSH session) Qt
    aborts with a page of plugin errors; say it in one line instead."""
    if not sys.platform.startswith(("linux", "freebsd")) or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def frozen_qt_conf() -> None:
    """In the frozen bundle, before the QApplication: what PyInstaller's Qt runtime hook did at
    every start (register an embedded qt.conf when PySide6 has none), now only when the window
    opens (packaging/rthook_qt.py says why)."""
    base = getattr(sys, "_MEIPASS", None)
    if not getattr(sys, "frozen", False) or base is None:
        return
    try:
        from _pyi_rth_utils import qt as pyi_qt  # type: ignore[import-not-found]  # in the bundle
    except ImportError:
        return
    windows = sys.platform.startswith("win")
    pyi_qt.create_embedded_qt_conf(
        "PySide6", os.path.join(base, "PySide6") if windows else os.path.join(base, "PySide6", "Qt")
    )


def main(argv: list[str]) -> int:
    frozen_qt_conf()
    if "--self-test" in argv:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if _no_display() and QApplication.instance() is None:
        print(
            "discvault: there is no display to show the app on — run it in a desktop session, "
            "or use a command (discvault --help lists them)",
            file=sys.stderr,
        )
        return 4
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    assert isinstance(app, QApplication)
    app.setApplicationName("DiscVault")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("DiscVault")
    app.setWindowIcon(app_icon())
    applog.setup()
    if "--self-test" in argv:
        return self_test(app)
    from app.gui import theme
    from app.gui.settings import Settings

    settings = Settings()
    theme.apply(app, settings.theme)
    win = MainWindow(settings)
    win.show()
    freeze_startup_heap()
    if "--startup-probe" in argv:  # benchmarks: time from process start to a shown window
        QTimer.singleShot(0, lambda: (print(f"startup {startup_seconds():.3f}"), app.quit()))
    for arg in argv:
        if os.path.isfile(arg):
            win.open_image(arg)
            break
    return app.exec()


def freeze_startup_heap() -> None:
    """Move everything alive after startup (modules, Qt wrappers, the window) out of the
    cyclic collector's reach. Otherwise the first full collection, typically triggered while
    an image opens, walks all of it with the GUI thread waiting: 20-30 ms measured."""
    gc.collect()
    gc.freeze()


def startup_seconds() -> float:
    import time

    import psutil

    return time.time() - psutil.Process().create_time()


def self_test(app: QApplication) -> int:
    """Open the window, back up the demo disc, inspect the result; exit 0 when all worked."""
    from app.gui.settings import Settings

    tmp = tempfile.mkdtemp(prefix="discvault-selftest-")
    from PySide6.QtCore import QSettings

    settings = Settings(QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat))
    settings.folder = tmp
    settings.verify_after = False
    win = MainWindow(settings, fast_demo=True, poll_ms=0)
    win.show()
    freeze_startup_heap()
    outcome = {"code": 1}

    def step_inspect() -> None:
        image = win.backup.card.image
        win.open_image(image)
        QTimer.singleShot(1500, finish)

    def finish() -> None:
        model = win.inspect.model
        ok = model is not None and model.rowCount() > 0
        print(
            f"self-test: backup {'ok' if win.backup.card.image else 'FAILED'}, "
            f"inspector {'ok' if ok else 'FAILED'}"
        )
        outcome["code"] = 0 if ok else 1
        app.quit()

    win.backup.card.inspect_requested.connect(lambda _: None)
    win.backup.status.connect(
        lambda msg: msg.startswith("Backed up") and QTimer.singleShot(0, step_inspect)
    )
    win.panel.setCurrentRow(len(win.panel.entries) - 1)
    QTimer.singleShot(200, win.backup.start_backup)
    QTimer.singleShot(60_000, app.quit)
    app.exec()
    return outcome["code"]
