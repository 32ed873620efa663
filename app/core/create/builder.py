"""Folder -> .iso (ISO 9660 level 3 + Joliet + Rock Ridge, optional UDF 2.60 and El Torito).

Everything that can make the build fail is checked before a byte is written (label, unreadable
or special files, size against the chosen medium); the image is written to ``OUT.part`` and
renamed only when complete, so a failed or cancelled build leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import re
import stat
from dataclasses import dataclass
from typing import Any

from app.core.base.events import Cancelled, CancelToken, Progress, ProgressCallback, no_progress
from app.core.base.seekio import SizedReader
from app.core.base.units import human_bytes

MEDIA = {  # user-data capacity in bytes
    "cd": 360_000 * 2048,  # 80 min CD-R, 703 MiB
    "dvd": 2_295_104 * 2048,  # DVD±R 4.7 GB
    "dvd-dl": 4_173_824 * 2048,  # DVD±R DL 8.5 GB
    "bd": 12_219_392 * 2048,  # BD-R 25 GB
    "bd-dl": 24_438_784 * 2048,  # BD-R DL 50 GB
}
LABEL_RE = re.compile(r"^[A-Z0-9_]{0,32}$")
JOLIET_MAX_BYTES = 64  # pycdlib's limit, in UTF-16 bytes: 32 characters (Rock Ridge keeps all)


class BuildError(Exception):
    """The folder cannot become an image as asked; the message says what to change."""


@dataclass
class BuildOptions:
    label: str = ""
    udf: bool = False
    boot: str | None = None  # path inside the folder of a no-emulation boot image
    include_hidden: bool = True
    media: str | None = None
    force: bool = False


@dataclass
class BuildResult:
    path: str
    files: int
    dirs: int
    links: int
    data_bytes: int
    image_bytes: int


def normalise_label(label: str) -> str:
    lab = label.strip().upper().replace(" ", "_").replace("-", "_")
    if not LABEL_RE.match(lab):
        raise BuildError(f"volume label {label!r}: use letters, digits, spaces or _ (at most 32)")
    return lab


class _LazyFile(SizedReader):
    """Opens its file only while pycdlib copies it, so a 20 000-file tree needs one fd."""

    def __init__(self, path: str, size: int) -> None:
        super().__init__(size)
        self.path = path
        self._f: io.BufferedReader | None = None

    def _read_at(self, pos: int, view: memoryview) -> int:
        if self._f is None:
            self._f = open(self.path, "rb")  # noqa: SIM115 (closed at end of data)
        self._f.seek(pos)
        n = self._f.readinto(view) or 0
        if n < len(view):
            raise OSError(f"{self.path} shrank while the image was being written")
        if pos + n >= self.size:
            self._f.close()
            self._f = None
        return n

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        super().close()


def _iso_name(name: str, is_dir: bool, taken: set[str]) -> str:
    """A level-3 ISO 9660 name (d-characters, 30/31 chars), unique within its directory."""
    up = re.sub(r"[^A-Z0-9_.]", "_", name.upper())
    if is_dir:
        base, ext = up.replace(".", "_")[:31], ""
    else:
        stem, dot, ext = up.rpartition(".")
        base, ext = (stem, ext) if dot and stem else (up, "")
        base, ext = base.replace(".", "_"), ext.replace(".", "_")[:8]
        base = base[: 30 - len(ext) - 1] if ext else base[:30]
    candidate = base + (f".{ext}" if ext else "")
    k = 1
    while candidate in taken or not base:
        suffix = f"_{k}"
        b = (base or "_")[: (31 if is_dir else 30 - len(ext) - 1) - len(suffix)] + suffix
        candidate = b + (f".{ext}" if ext else "")
        k += 1
    taken.add(candidate)
    return candidate


def _fit_joliet(name: str, room: int) -> str:
    while len(name.encode("utf-16-be")) > room:
        name = name[:-1]
    return name


def _joliet_name(name: str, taken: set[str]) -> str:
    cand = _fit_joliet(name, JOLIET_MAX_BYTES)
    k = 1
    while cand.casefold() in taken:
        suffix = f"~{k}"
        cand = _fit_joliet(name, JOLIET_MAX_BYTES - 2 * len(suffix)) + suffix
        k += 1
    taken.add(cand.casefold())
    return cand


@dataclass
class _Entry:
    rel: str  # relative path with "/"
    kind: str  # dir, file, link
    size: int = 0
    target: str = ""
    mode: int = 0o644


def scan(folder: str, opts: BuildOptions) -> list[_Entry]:
    if not os.path.isdir(folder):
        raise BuildError(f"{folder}: not a folder")
    entries: list[_Entry] = []
    problems: list[str] = []
    for root, dirs, files in os.walk(
        folder, onerror=lambda e: problems.append(f"{e.filename}: {e.strerror}")
    ):
        if not opts.include_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            files = [f for f in files if not f.startswith(".")]
        dirs.sort()
        rel_root = os.path.relpath(root, folder).replace(os.sep, "/")
        rel_root = "" if rel_root == "." else rel_root
        for name in dirs + sorted(files):
            full = os.path.join(root, name)
            rel = f"{rel_root}/{name}" if rel_root else name
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                entries.append(_Entry(rel, "link", target=os.readlink(full)))
                if name in dirs:
                    dirs.remove(name)  # never follow links out of the folder
            elif stat.S_ISDIR(st.st_mode):
                entries.append(_Entry(rel, "dir", mode=st.st_mode & 0o7777))
            elif stat.S_ISREG(st.st_mode):
                try:
                    with open(full, "rb") as f:
                        f.read(1)
                except OSError as e:
                    problems.append(f"{rel}: {e.strerror}")
                    continue
                entries.append(_Entry(rel, "file", st.st_size, mode=st.st_mode & 0o7777))
            else:
                problems.append(f"{rel}: not a regular file (device, pipe or socket)")
    if problems:
        listed = "; ".join(problems[:10]) + (
            f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise BuildError(f"cannot read {len(problems)} item(s) — nothing was written: {listed}")
    return entries


def estimate_bytes(entries: list[_Entry]) -> int:
    data = sum(-(-e.size // 2048) * 2048 for e in entries if e.kind == "file")
    meta = (len(entries) * 3 + 64) * 2048  # directories, path tables, RR, Joliet: generous
    return data + meta


def build_iso(
    folder: str,
    out: str,
    opts: BuildOptions | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BuildResult:
    import pycdlib

    o = opts or BuildOptions()
    token = cancel or CancelToken()
    label = normalise_label(o.label or os.path.basename(os.path.abspath(folder)) or "DISC")
    if os.path.exists(out) and not o.force:
        raise BuildError(f"{out} exists: choose another name, or pass --force to replace it")
    entries = scan(folder, o)
    need = estimate_bytes(entries)
    if o.media is not None:
        cap = MEDIA[o.media]
        if need > cap:
            raise BuildError(
                f"the folder needs about {human_bytes(need)} but a {o.media} holds "
                f"{human_bytes(cap)}: choose a larger medium or fewer files"
            )
    try:
        return _build(pycdlib, folder, out, o, label, entries, progress, token)
    except pycdlib.pycdlibexception.PyCdlibException as e:
        raise BuildError(f"cannot build the image: {e}") from e


def _build(
    pycdlib: Any,
    folder: str,
    out: str,
    o: BuildOptions,
    label: str,
    entries: list[_Entry],
    progress: ProgressCallback,
    token: CancelToken,
) -> BuildResult:
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3,
        vol_ident=label,
        joliet=3,
        rock_ridge="1.09",
        udf="2.60" if o.udf else None,
        app_ident_str="DISCVAULT",
    )
    iso_paths: dict[str, str] = {"": ""}
    joliet_paths: dict[str, str] = {"": ""}
    taken: dict[str, set[str]] = {}
    jtaken: dict[str, set[str]] = {}
    result = BuildResult(out, 0, 0, 0, 0, 0)
    lazies: list[_LazyFile] = []
    file_paths: dict[str, str] = {}
    for e in entries:
        parent, _, name = e.rel.rpartition("/")
        iname = _iso_name(name, e.kind == "dir", taken.setdefault(parent, set()))
        jname = _joliet_name(name, jtaken.setdefault(parent, set()))
        ipath = f"{iso_paths[parent]}/{iname}"
        jpath = f"{joliet_paths[parent]}/{jname}"
        upath = "/" + e.rel if o.udf else None
        if e.kind == "dir":
            iso_paths[e.rel], joliet_paths[e.rel] = ipath, jpath
            iso.add_directory(
                ipath, rr_name=name, joliet_path=jpath, udf_path=upath, file_mode=0o40000 | e.mode
            )
            result.dirs += 1
        elif e.kind == "file":
            lf = _LazyFile(os.path.join(folder, e.rel), e.size)
            lazies.append(lf)
            file_paths[e.rel] = ipath
            iso.add_fp(
                lf,
                e.size,
                f"{ipath};1",
                rr_name=name,
                joliet_path=jpath,
                udf_path=upath,
                file_mode=0o100000 | e.mode,
            )
            result.files += 1
            result.data_bytes += e.size
        else:
            iso.add_symlink(
                f"{ipath};1",
                rr_symlink_name=name,
                rr_path=e.target,
                udf_symlink_path=upath,
                udf_target=e.target if o.udf else None,
            )
            result.links += 1
    if o.boot:
        boot_iso = file_paths.get(o.boot.strip("/"))
        if boot_iso is None:
            raise BuildError(f"boot image {o.boot!r} is not a file in {folder}")
        iso.add_eltorito(
            f"{boot_iso};1",
            bootcatfile="/BOOT.CAT;1",
            rr_bootcatname="boot.catalog",
            joliet_bootcatfile="/boot.catalog",
            udf_bootcatfile="/boot.catalog" if o.udf else None,
        )
    part = out + ".part"

    def on_write(done: int, size: int, _opaque: object) -> None:
        if token.cancelled:
            raise Cancelled(token.reason)
        progress(Progress("build", 1, 1, done, size, done, 0, 0, 0.0, None))

    try:
        with open(part, "wb") as f:
            iso.write_fp(f, blocksize=1 << 20, progress_cb=on_write)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, out)
    except BaseException:
        if os.path.exists(part):
            os.unlink(part)
        raise
    finally:
        iso.close()
        for lf in lazies:
            lf.close()
    result.image_bytes = os.path.getsize(out)
    return result
