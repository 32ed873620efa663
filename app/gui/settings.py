"""Typed settings over QSettings: every key has one name, one type and one default here."""

from __future__ import annotations

import os
import string
import time
from typing import Generic, TypeVar, cast

from PySide6.QtCore import QByteArray, QSettings

DEFAULT_TEMPLATE = "{label}_{date}"
TEMPLATE_FIELDS = ("label", "date", "time", "drive")


T = TypeVar("T", str, int, bool)


class _Key(Generic[T]):
    """One setting: its key, type and default, and the range an int must lie in."""

    def __init__(self, key: str, default: T, lo: int = 0, hi: int = 1 << 30) -> None:
        self.key = key
        self.default: T = default
        self.lo, self.hi = lo, hi

    def __get__(self, obj: Settings, owner: type | None = None) -> T:
        value: object = obj.store.value(self.key, self.default)
        out: object
        if isinstance(self.default, bool):
            out = value.lower() == "true" if isinstance(value, str) else bool(value)
        elif isinstance(self.default, int):
            try:
                out = int(str(value))
            except ValueError:
                out = self.default
            if not self.lo <= int(str(out)) <= self.hi:
                out = self.default
        else:
            out = str(value) if value is not None else self.default
        return cast(T, out)  # type: ignore[redundant-cast]  # (checked per constraint)

    def __set__(self, obj: Settings, value: T) -> None:
        obj.store.setValue(self.key, value)


def template_problem(template: str) -> str | None:
    """Why a naming template cannot be used, or None."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        return f"the template is not valid ({e})"
    unknown = [n for n in names if n not in TEMPLATE_FIELDS]
    if unknown:
        fields = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
        return f"unknown field {{{unknown[0]}}}: use {fields}"
    return None


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_.")


def image_name(template: str, label: str, drive: str = "") -> str:
    """The default image file name: the template filled in, made safe for every filesystem."""
    if template_problem(template):
        template = DEFAULT_TEMPLATE
    now = time.localtime()
    name = template.format(
        label=label or "DISC",
        date=time.strftime("%Y-%m-%d", now),
        time=time.strftime("%H%M", now),
        drive=drive,
    )
    return f"{safe_name(name) or 'DISC'}.iso"


class Settings:
    folder = _Key("backup/folder", os.path.join(os.path.expanduser("~"), "Discs"))
    retries = _Key("backup/retries", 3, 0, 99)
    verify_after = _Key("backup/verify_after", True)
    eject_when_done = _Key("backup/eject", True)
    fill = _Key("backup/fill", "zero")  # "zero" or "marker"
    cluster = _Key("backup/cluster", 32, 1, 4096)
    name_template = _Key("backup/name_template", DEFAULT_TEMPLATE)
    theme = _Key("app/theme", "system")

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("DiscVault", "DiscVault")

    @property
    def dat_files(self) -> list[str]:
        value = self.store.value("verify/dat_files", [])
        return (
            [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
        )

    @dat_files.setter
    def dat_files(self, value: list[str]) -> None:
        self.store.setValue("verify/dat_files", list(value))

    def last_dir(self, purpose: str, fallback: str = "") -> str:
        """The folder a file dialog for ``purpose`` last ended in (if it still exists)."""
        value = str(self.store.value(f"dialogs/{purpose}", "") or "")
        if value and os.path.isdir(value):
            return value
        return fallback if fallback and os.path.isdir(fallback) else os.path.expanduser("~")

    def remember_dir(self, purpose: str, path: str) -> None:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        if folder:
            self.store.setValue(f"dialogs/{purpose}", folder)

    @property
    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    def sync(self) -> None:
        self.store.sync()
