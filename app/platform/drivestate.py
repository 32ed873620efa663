"""The drive settings a rescue changed, kept in a small file until they are restored.

A rescue lowers the drive's read retry count and changes its speed (``drivectl.py``). Those
settings live in the drive until it is power-cycled, so a DiscVault that dies mid-rescue
(``kill -9``, a power cut of the computer but not of a USB drive) would leave the drive
crippled for every other program. So the original settings are written here, durably, before
the first change; a normal end restores them and removes the file; the next DiscVault that
opens the same drive finds a file left behind and restores what it says.

One file per drive, named after the drive's identity (INQUIRY vendor, product, revision and
serial number), in the platform's state folder (``$DISCVAULT_STATE_DIR`` overrides it). The
file names its writer (pid and start time), so a second DiscVault never undoes the settings of
a rescue that is still running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA = "discvault.drive-state/1"
STATE_ENV = "DISCVAULT_STATE_DIR"


def state_dir() -> str:
    """Where drive state files live: per user, never in the backup's folder (a drive is
    shared by every backup)."""
    env = os.environ.get(STATE_ENV)
    if env:
        return env
    home = str(Path.home())
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "DiscVault", "drive-state")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "DiscVault", "drive-state")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(base, "discvault", "drive-state")


def process_start(pid: int) -> float | None:
    """When process ``pid`` started (None when there is no such process): a pid alone could
    have been reused by another program since the file was written."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:  # psutil missing, no such process, access denied: treat as gone
        return None


@dataclass
class Saved:
    """A drive's settings before DiscVault changed them."""

    drive: str  # the drive's identity, in words (vendor product revision serial)
    path: str  # its device path when saved, for messages
    pid: int  # the process that changed the settings
    started: float  # and when that process started
    page01: str | None = None  # MODE SENSE(10) reply with page 01h, hex; None: retries untouched
    speed: int | None = None  # the read speed the drive had selected, kB/s; None: unknown
    speed_method: str = ""  # "cd" (SET CD SPEED) or "streaming" (SET STREAMING); "": untouched

    @property
    def owner_alive(self) -> bool:
        if self.pid == os.getpid():
            return False  # our own leftover (a source opened twice): ours to restore
        started = process_start(self.pid)
        return started is not None and abs(started - self.started) < 2.0

    @classmethod
    def mine(cls, drive: str, path: str) -> Saved:
        pid = os.getpid()
        return cls(drive, path, pid, process_start(pid) or 0.0)


class StateFile:
    """The state file of one drive."""

    def __init__(self, drive: str, folder: str | None = None) -> None:
        self.folder = folder if folder is not None else state_dir()
        digest = hashlib.sha256(drive.encode("utf-8", "replace")).hexdigest()[:20]
        self.path = os.path.join(self.folder, f"drive-{digest}.json")

    def load(self) -> Saved | None:
        """What an earlier run saved; None when there is no file. A file that cannot be
        understood is removed (it can restore nothing) and reported as ``ValueError``."""
        try:
            with open(self.path, encoding="utf-8") as f:
                doc = json.load(f)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as e:
            self.remove()
            raise ValueError(f"unreadable drive state file {self.path} ({e})") from e
        try:
            if doc.get("schema") != SCHEMA:
                raise ValueError(f"schema {doc.get('schema')!r}")
            fields = {k: doc[k] for k in Saved.__dataclass_fields__ if k in doc}
            saved = Saved(**fields)
            if saved.page01 is not None:
                bytes.fromhex(saved.page01)
            return saved
        except (AttributeError, TypeError, ValueError) as e:
            self.remove()
            raise ValueError(f"malformed drive state file {self.path} ({e})") from e

    def save(self, saved: Saved) -> None:
        """Durably (temp file, fsync, rename): it must survive the crash it exists for."""
        os.makedirs(self.folder, exist_ok=True)
        data = json.dumps({"schema": SCHEMA, **asdict(saved)}, indent=1).encode()
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError, AttributeError):  # Windows cannot open a folder
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def remove(self) -> None:
        with contextlib.suppress(OSError):  # gone already, or a folder that cannot be
            os.unlink(self.path)
