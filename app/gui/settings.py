"""Typed settings over QSettings: every key has one name, one type and one default here."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings


class Settings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or QSettings("DiscVault", "DiscVault")

    def _get(self, key: str, default: object, kind: type) -> object:
        value = self.store.value(key, default)
        if kind is bool and isinstance(value, str):  # some backends store "true"/"false"
            return value.lower() == "true"
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    @property
    def folder(self) -> str:
        return str(self._get("backup/folder", os.path.join(os.path.expanduser("~"), "Discs"), str))

    @folder.setter
    def folder(self, value: str) -> None:
        self.store.setValue("backup/folder", value)

    @property
    def retries(self) -> int:
        value = self._get("backup/retries", 3, int)
        return value if isinstance(value, int) else 3

    @retries.setter
    def retries(self, value: int) -> None:
        self.store.setValue("backup/retries", value)

    @property
    def verify_after(self) -> bool:
        return bool(self._get("backup/verify_after", True, bool))

    @verify_after.setter
    def verify_after(self, value: bool) -> None:
        self.store.setValue("backup/verify_after", value)

    @property
    def eject_when_done(self) -> bool:
        return bool(self._get("backup/eject", True, bool))

    @eject_when_done.setter
    def eject_when_done(self, value: bool) -> None:
        self.store.setValue("backup/eject", value)

    @property
    def dat_files(self) -> list[str]:
        value = self.store.value("verify/dat_files", [])
        return (
            [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
        )

    @dat_files.setter
    def dat_files(self, value: list[str]) -> None:
        self.store.setValue("verify/dat_files", value)
