"""GUI responsiveness: longest event-loop stall (10 ms heartbeat) during a backup and while a
100 000-file image opens; time until the inspector shows its first rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROBE = r"""
import json, os, sys, tempfile, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from app.gui.main_window import MainWindow
from app.gui.settings import Settings
from tests.gui.conftest import Heartbeat
app = QApplication([])
tmp = tempfile.mkdtemp()
st = Settings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
st.folder, st.verify_after = tmp, False
win = MainWindow(st, poll_ms=0)
win.show()
out = {}
def wait(cond, timeout=300):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
beat = Heartbeat().start()
win.panel.setCurrentRow(len(win.panel.entries) - 1)
win.backup.start_backup()
wait(lambda: win.backup.stack.currentWidget() is win.backup.card)
out["backup_max_gap_ms"] = beat.stop() * 1000
beat = Heartbeat().start()
t0 = time.perf_counter()
win.open_image(sys.argv[1])
wait(lambda: win.inspect.model is not None and win.inspect.model.rowCount() > 0)
out["first_view_ms"] = (time.perf_counter() - t0) * 1000
wait(lambda: win.inspect.index is not None)
out["index_seconds"] = time.perf_counter() - t0
out["open_max_gap_ms"] = beat.stop() * 1000
print(json.dumps(out))
"""


def bench_gui(work: Path, iso: Path) -> dict[str, Any]:
    env = {**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp()}
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run(
        [sys.executable, "-c", PROBE, str(iso)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if not line:
        raise RuntimeError(r.stderr[-2000:])
    res: dict[str, Any] = json.loads(line[-1])
    res["measured"] = time.strftime("%Y-%m-%d")
    return res
