"""Before a backup writes anything: every output is checked against the source and each other.

Seen in the field: ``--report small.iso`` replaced the *source* with JSON, ``--map OUT.iso``
replaced the image, ``rip X X --force`` destroyed the source and reported success, and a
``--map`` in a missing folder left a 420 MB image with no mapfile. So: every output path must
differ from the source and from every other output (even with ``--force``), every output's
folder must exist, and an existing file is replaced only when it is DiscVault's own companion of
this image, or with ``--force``.
"""

from __future__ import annotations

import json
import os
import stat

from app.core.rescue.types import DestinationError


class UsageError(ValueError):
    """The command contradicts itself (an output equal to the source or to another output)."""


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _ours(role: str, path: str, images: list[str]) -> bool:
    """An existing file that this image's earlier run wrote, and may be replaced."""
    try:
        if os.path.getsize(path) > 1 << 20:
            return False
        with open(path, encoding="utf-8", errors="strict") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return False
    if role == "report":
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested 100 000 deep
            return False
        return isinstance(doc, dict) and str(doc.get("schema", "")).startswith("discvault.rip/")
    if role == "cue sheet":
        return "REM DISCVAULT" in text
    if role.endswith("checksum file"):
        lines = [ln for ln in text.splitlines() if ln.strip()]
        names = {os.path.basename(i) for i in images}
        return bool(lines) and all(
            any(ln.rstrip().endswith("  " + n) or ln.rstrip().endswith(" *" + n) for n in names)
            for ln in lines
        )
    return False


def check(source: str | None, outs: list[tuple[str, str]], force: bool) -> None:
    """Raise ``UsageError`` (exit 2) or ``DestinationError`` (exit 4) before anything is
    written. ``outs``: every file the backup writes, as (what it is, path) — the output
    format's list. The image files and the mapfile themselves are judged by the engine
    (resume rules)."""
    images = [p for r, p in outs if r == "image"]
    for i, (role, path) in enumerate(outs):
        if source and _same(path, source):
            raise UsageError(
                f"the {role} {path} is the source itself — choose another name for the {role}"
            )
        for role2, path2 in outs[:i]:
            if _same(path, path2):
                raise UsageError(
                    f"the {role} and the {role2} are the same file ({path}) — give them "
                    "different names"
                )
    for role, path in outs:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise DestinationError(
                f"the folder for the {role} does not exist ({folder}) — create it or choose "
                "another place"
            )
        if not os.access(folder, os.W_OK):  # found now, not after hours of rescue
            raise DestinationError(
                f"cannot write the {role} {path}: its folder is read-only or not yours — choose "
                "another place"
            )
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise DestinationError(f"{path}: {e.strerror}") from e
        if not stat.S_ISREG(st.st_mode):
            raise DestinationError(
                f"the {role} {path} exists and is not a file — choose another name"
            )
        if role in ("image", "mapfile"):
            continue  # resume rules decide
        if not force and not _ours(role, path, images):
            raise DestinationError(
                f"{path} exists and is not this backup's {role} — choose another name, or pass "
                "--force to overwrite it"
            )
