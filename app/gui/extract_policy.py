"""Extract with a conflict policy (replace, skip or rename what already exists) and leave no
partial files behind. No Qt: the inspector runs this in a worker thread.

The core extracts into a hidden staging folder next to the destination (same filesystem, so
moving is a rename); then each top-level item is moved into place by the policy, items that
could not be extracted whole are dropped, and the staging folder is removed on every path.
When the core's ``extract`` takes a conflict policy itself, ``extract_with_policy`` is the one
place to hand it through.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from app.core.base.events import CancelToken, ProgressCallback, no_progress
from app.core.fs.extract import ExtractResult, extract
from app.core.fs.inspection import Inspection

POLICIES = ("replace", "skip", "rename")


def top_names(insp: Inspection, paths: list[str] | None) -> list[str]:
    """The names that land directly in the destination folder."""
    if not paths:
        return [n.name for n in insp.children(insp.root)]
    return [p.rstrip("/").rsplit("/", 1)[-1] for p in paths if p.strip("/")]


def conflicts(insp: Inspection, paths: list[str] | None, out_dir: str) -> list[str]:
    """Top-level names that already exist in ``out_dir`` (what the user is asked about)."""
    return [n for n in top_names(insp, paths) if os.path.lexists(os.path.join(out_dir, n))]


def unique_name(folder: str, name: str) -> str:
    stem, ext = os.path.splitext(name)
    if stem.startswith(".") and not ext:
        stem, ext = name, ""
    k = 2
    while os.path.lexists(os.path.join(folder, f"{stem} ({k}){ext}")):
        k += 1
    return f"{stem} ({k}){ext}"


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def extract_with_policy(
    insp: Inspection,
    paths: list[str] | None,
    out_dir: str,
    policy: str = "skip",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ExtractResult:
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r}")
    os.makedirs(out_dir, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".discvault-extract-", dir=out_dir)
    try:
        staged = extract(insp, paths, stage, progress, cancel)
        res = ExtractResult(refused=[], bytes=staged.bytes)
        tops = [p for p in (paths or ["/"])]
        bases = {}  # image path of each top item -> its parent's image path
        for p in tops:
            if p.strip("/") == "":
                for child in insp.children(insp.root):
                    bases[child.path] = ""
            else:
                bases["/" + p.strip("/")] = (
                    "/" + p.strip("/").rsplit("/", 1)[0] if "/" in p.strip("/") else ""
                )
        # A file that failed half-way is never moved into place.
        for image_path, why in staged.refused:
            base = next(
                (b for t, b in bases.items() if image_path == t or image_path.startswith(t + "/")),
                None,
            )
            if base is not None and why.startswith("could not extract"):
                partial = os.path.join(stage, image_path[len(base) :].lstrip("/"))
                if os.path.lexists(partial) and not os.path.isdir(partial):
                    os.unlink(partial)
            res.refused.append((image_path, why))
        for name in sorted(os.listdir(stage)):
            src, dest = os.path.join(stage, name), os.path.join(out_dir, name)
            if os.path.lexists(dest):
                if policy == "skip":
                    res.refused.append((name, f"skipped: {dest} exists"))
                    continue
                if policy == "rename":
                    dest = os.path.join(out_dir, unique_name(out_dir, name))
                else:
                    _remove(dest)
            os.replace(src, dest)
            res.written.append(dest)
        return res
    finally:
        shutil.rmtree(stage, ignore_errors=True)
