"""The Back up page's way into the library: "Save into the library" puts the backup in a new
disc folder named by the library's template and catalogues it — the same core calls as
`discvault library add` and auto (``app.core.library.into``); nothing here decides more than
which library folder the user chose.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QSettings, QStandardPaths

from app.core.base.events import CancelToken, ProgressCallback
from app.core.disc.sources import SectorSource
from app.core.library import into
from app.core.library.folder import DEFAULT_TEMPLATE, Library, folder_name, safe_name
from app.core.library.records import now_iso
from app.core.rescue.backup import BackupOptions, BackupOutcome, run_backup
from app.core.rescue.types import RescueSettings
from app.gui.settings import Settings

FOLDER_KEY = "library/folder"  # where the Library page keeps the folder the user chose


def default_folder() -> str:
    """Documents/DiscVault, as the platform names the documents folder."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return os.path.join(docs or os.path.expanduser("~"), "DiscVault")


def library_root(store: QSettings | None) -> str:
    saved = store.value(FOLDER_KEY, "") if store is not None else ""
    return str(saved) if saved else default_folder()


def preview(root: str, label: str) -> str:
    """Where the image would go: the first free folder name, as ``Library.new_folder`` picks
    it (a disc folder already there, even of the same label, is never resumed by accident)."""
    base = folder_name(DEFAULT_TEMPLATE, label, now_iso())
    n, folder = 1, base
    while os.path.exists(os.path.join(root, folder)):
        n += 1
        folder = f"{base}_{n}"
    return os.path.join(root, folder, f"{safe_name(label or 'DISC')}.iso")


def rescue_settings(st: Settings | None) -> RescueSettings:
    """The Back up page's rescue settings (retries, read size near errors, what unreadable
    sectors hold), for every backup the app starts: by hand, a library resume, auto."""
    if st is None:
        return RescueSettings()
    return RescueSettings(cluster=st.cluster, max_cluster=max(st.cluster, 512),
                          retries=st.retries, fill=st.fill)  # fmt: skip


def resume_disc(
    lib: Library,
    folder: str,
    image: str,
    opener: Callable[[], SectorSource],
    drive: str,
    settings: RescueSettings,
    progress: ProgressCallback,
    token: CancelToken,
) -> str:
    """Run on a job's thread: the library's "Resume with this drive" — the engine's resume
    into the disc's own folder (it refuses another disc), then the catalogue row. Returns
    what happened, in one line."""
    line = f"DiscVault (GUI) resume of {folder} with {drive}"
    opts = BackupOptions(drive, image, settings=settings, command_line=line)
    done = run_backup(opener, opts, progress, token)
    return into.shelved_words(done, into.catalogue_folder(lib, folder, "Resume (DiscVault app)"))


def back_up_into(
    root: str,
    label: str,
    opener: Callable[[], SectorSource],
    opts: BackupOptions,
    progress: ProgressCallback,
    token: CancelToken,
) -> tuple[BackupOutcome, str]:
    """Run on a job's thread: a new disc folder, the backup into it, the catalogue row.
    Returns the outcome and one line saying where it is on the shelf. A backup that could not
    start leaves no folder behind. ``opts.image`` naming an unfinished backup in a disc folder
    of this library resumes it there instead (the engine proves the disc is the same)."""
    lib = Library(root)
    made = ""
    if _unfinished_in(lib, opts.image):  # this page's last backup, resumed (another drive)
        folder, image = os.path.basename(os.path.dirname(opts.image)), opts.image
    else:
        made, image = into.new_disc(lib, label)
        folder = made
    try:
        done = run_backup(opener, replace(opts, image=image), progress, token)
    except BaseException:
        if made:
            into.drop_if_empty(lib, made)
        raise
    shelved = into.catalogue_folder(lib, folder, "Back up (DiscVault app)")
    return done, into.shelved_words(done, shelved)


def _unfinished_in(lib: Library, image: str) -> bool:
    path = os.path.abspath(image)
    in_lib = os.path.dirname(os.path.dirname(path)) == lib.root
    return in_lib and os.path.exists(path + ".map")
