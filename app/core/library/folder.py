"""The library folder: one folder per disc (named from a template), and DiscVault's own files.

```
LIBRARY/
  HOLIDAY_2009_2026-11-22/        one disc: image, mapfile, report, checksum files,
    HOLIDAY_2009.iso                and history/ (verifications, health scans, reads)
    HOLIDAY_2009.iso.map
    HOLIDAY_2009.iso.report.json
    HOLIDAY_2009.iso.md5 .sha1 .sha256
    history/verify-20261130T101500.json
  .discvault/                     the catalogue (rebuilt from the folders at any time),
    catalogue.sqlite3               the writer lock, library verify runs and their reports
```
"""

from __future__ import annotations

import os
import re
import sys
import time

from app.core.library.records import parse_iso

STATE_DIR = ".discvault"
CATALOGUE = "catalogue.sqlite3"
HISTORY = "history"
IMAGE_SUFFIXES = (".iso", ".img", ".udf")
REPORT_SUFFIX = ".report.json"
DEFAULT_TEMPLATE = "{label}_{date}"
TEMPLATE_FIELDS = ("label", "date", "time", "year")
# Characters no common filesystem takes in a name (Windows is the strictest), plus controls.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10))}
_RESERVED |= {f"LPT{i}" for i in range(10)}
MAX_NAME = 120


class LibraryError(Exception):
    """The library folder cannot be used; one line saying why and what to do."""


def default_library() -> str:
    """``$DISCVAULT_LIBRARY``, else the user's documents folder + ``DiscVault`` (the GUI asks
    Qt for the documents folder; this is the same place without Qt)."""
    env = os.environ.get("DISCVAULT_LIBRARY")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    home = os.path.expanduser("~")
    docs = os.path.join(home, "Documents")
    if sys.platform.startswith("linux"):
        docs = _xdg_documents(home) or docs
    return os.path.join(docs, "DiscVault")


def _xdg_documents(home: str) -> str | None:
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    try:
        with open(os.path.join(config, "user-dirs.dirs"), encoding="utf-8") as f:
            for line in f:
                if line.startswith("XDG_DOCUMENTS_DIR="):
                    value = line.split("=", 1)[1].strip().strip('"')
                    return value.replace("$HOME", home)
    except OSError:
        pass
    return None


def safe_name(text: str) -> str:
    """A folder name every filesystem accepts, readable: unsafe characters become ``_``."""
    name = _UNSAFE.sub("_", text).strip(" ._")
    name = re.sub(r"_{2,}", "_", name)[:MAX_NAME].rstrip(" .")
    if not name or name.upper().split(".")[0] in _RESERVED:
        name = f"DISC_{name}" if name else "DISC"
    return name


def check_template(template: str) -> None:
    """``LibraryError`` when the template names an unknown field or has a stray brace."""
    try:
        template.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
    except (KeyError, IndexError, ValueError) as e:
        known = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        raise LibraryError(f"folder template {template!r}: {e} — use only {known}") from None


def folder_name(template: str, label: str, when: str | None) -> str:
    check_template(template)
    moment = parse_iso(when)
    stamp = moment.timetuple() if moment else time.localtime()
    values = {
        "label": label.strip() or "DISC",
        "date": time.strftime("%Y-%m-%d", stamp),
        "time": time.strftime("%H%M%S", stamp),
        "year": time.strftime("%Y", stamp),
    }
    return safe_name(template.format(**values))


class Library:
    """Paths in one library folder. Nothing here touches the catalogue."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))

    @property
    def state_dir(self) -> str:
        return os.path.join(self.root, STATE_DIR)

    @property
    def catalogue_path(self) -> str:
        return os.path.join(self.state_dir, CATALOGUE)

    @property
    def lock_path(self) -> str:
        return os.path.join(self.state_dir, "writer.lock")

    @property
    def reports_dir(self) -> str:
        return os.path.join(self.state_dir, "reports")

    def exists(self) -> bool:
        return os.path.isdir(self.root)

    def ensure(self) -> None:
        """Create the library (and its state folder) if needed."""
        try:
            os.makedirs(self.state_dir, exist_ok=True)
        except OSError as e:
            raise LibraryError(
                f"cannot create the library folder {self.root}: {e.strerror} — "
                "choose another with --library"
            ) from e

    def path(self, folder: str) -> str:
        return os.path.join(self.root, folder)

    def disc_folders(self) -> list[str]:
        """Every disc folder (one holding an image), sorted: the order of a rebuild."""
        try:
            names = sorted(os.listdir(self.root))
        except OSError as e:
            raise LibraryError(f"cannot read the library folder {self.root}: {e.strerror}") from e
        return [n for n in names if not n.startswith(".") and find_image(self.path(n))]

    def new_folder(self, name: str) -> str:
        """Create ``name`` (or ``name_2``, ``name_3``… when taken) and return what was made."""
        self.ensure()
        for n in range(1, 10_000):
            candidate = name if n == 1 else f"{name}_{n}"
            try:
                os.mkdir(self.path(candidate))
            except FileExistsError:
                continue
            except OSError as e:
                raise LibraryError(f"cannot create {self.path(candidate)}: {e.strerror}") from e
            return candidate
        raise LibraryError(f"{name}: 10 000 folders of that name already — rename some")


def find_image(folder_path: str) -> str | None:
    """The image in a disc folder: the one a report describes, else the one image file.

    Folders with no image or several unexplained ones are not disc folders (None)."""
    try:
        names = sorted(os.listdir(folder_path))
    except OSError:
        return None
    reported = [n[: -len(REPORT_SUFFIX)] for n in names if n.endswith(REPORT_SUFFIX)]
    if len(reported) == 1:
        return reported[0]
    images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    if len(reported) > 1:
        images = [n for n in reported if n in images] or reported
    return images[0] if len(images) == 1 else None
