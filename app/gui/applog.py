"""The app's log file: rotating, in the platform's app-data folder, shown by Help → Show log."""

from __future__ import annotations

import logging
import logging.handlers
import os

from PySide6.QtCore import QStandardPaths

LOG = logging.getLogger("discvault")


def log_path() -> str:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return os.path.join(base or os.path.expanduser("~"), "logs", "discvault.log")


def setup() -> str:
    path = log_path()
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in LOG.handlers):
        return path
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1 << 20, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return ""  # a read-only home must not stop the app
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    return path


def tail(max_bytes: int = 200_000) -> str:
    try:
        with open(log_path(), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - max_bytes, 0))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log yet)"
