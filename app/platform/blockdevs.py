"""Block devices a user might back up from (the app's "Open device…" list). Never imports Qt.

Linux only for now (from sysfs); elsewhere the list is empty and the dialog offers a file.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

SKIP = ("ram", "zram", "dm-", "md", "nbd")


@dataclass
class BlockDevice:
    path: str
    size: int  # bytes
    model: str
    kind: str  # "optical", "removable", "loop", "disk"


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def list_block_devices(sysfs: str = "/sys/block") -> list[BlockDevice]:
    if not sys.platform.startswith("linux"):
        return []
    try:
        names = sorted(os.listdir(sysfs))
    except OSError:
        return []
    out = []
    for name in names:
        if name.startswith(SKIP):
            continue
        base = os.path.join(sysfs, name)
        try:
            size = int(_read(os.path.join(base, "size")) or 0) * 512
        except ValueError:
            size = 0
        if name.startswith("loop"):
            backing = _read(os.path.join(base, "loop", "backing_file"))
            if not backing or not size:
                continue  # an unused loop device
            model, kind = backing, "loop"
        else:
            model = " ".join(
                p for p in (_read(f"{base}/device/vendor"), _read(f"{base}/device/model")) if p
            )
            if name.startswith("sr"):
                kind = "optical"
            elif _read(os.path.join(base, "removable")) == "1":
                kind = "removable"
            else:
                kind = "disk"
        out.append(BlockDevice(f"/dev/{name}", size, model, kind))
    return out
