"""Runtime hook of the frozen bundle, in place of PyInstaller's pyi_rth_pyside6.

It sets the same Qt paths, but does not import Qt: PyInstaller's hook imports PySide6.QtCore at
every start (to look for an embedded qt.conf), so every command-line run (`discvault inspect`,
`discvault --version`) loaded Qt and ICU first: about 0.15 s of a 0.25 s start. The window does
that check itself when it opens (app.gui.app.frozen_qt_conf).
"""

import os
import sys


def _hook() -> None:
    base = sys._MEIPASS  # type: ignore[attr-defined]  # set by the bootloader
    windows = sys.platform.startswith("win")
    qt = os.path.join(base, "PySide6") if windows else os.path.join(base, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt, "plugins")
    os.environ["QML2_IMPORT_PATH"] = os.path.join(qt, "qml")

    def prepend(var: str) -> None:
        old = os.environ.get(var)
        os.environ[var] = base + (os.pathsep + old if old else "")

    if windows:  # where QtNetwork finds OpenSSL DLLs collected beside it, as the original did
        prepend("PATH")
    app_bundle = sys.platform == "darwin" and base.endswith("Contents/Frameworks")
    if sys.platform == "darwin" and not app_bundle:
        prepend("DYLD_LIBRARY_PATH")


_hook()
del _hook
