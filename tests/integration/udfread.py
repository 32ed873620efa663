"""libudfread (VideoLAN's UDF reader, used by VLC and libbluray) through ctypes: a peer for UDF."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

from tests.conftest import missing_tool


class _Dirent(ctypes.Structure):
    _fields_ = [("d_type", ctypes.c_uint), ("d_name", ctypes.c_char_p)]


UDF_DT_DIR = 1


def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("udfread") or "libudfread.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        missing_tool("libudfread.so.0")
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    for fn, res, args in (
        ("udfread_init", vp, []),
        ("udfread_open", ctypes.c_int, [vp, cp]),
        ("udfread_close", None, [vp]),
        ("udfread_opendir", vp, [vp, cp]),
        ("udfread_readdir", ctypes.POINTER(_Dirent), [vp, ctypes.POINTER(_Dirent)]),
        ("udfread_closedir", None, [vp]),
        ("udfread_file_open", vp, [vp, cp]),
        ("udfread_file_size", ctypes.c_int64, [vp]),
        ("udfread_file_read", ctypes.c_ssize_t, [vp, vp, ctypes.c_size_t]),
        ("udfread_file_close", None, [vp]),
    ):
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    return lib


def listing(image: Path) -> dict[str, tuple[bool, int, bytes | None]]:
    """path -> (is a directory, size, the file's bytes) as libudfread reads the image."""
    lib = _lib()
    udf = lib.udfread_init()
    if lib.udfread_open(udf, str(image).encode()) < 0:
        lib.udfread_close(udf)
        raise AssertionError(f"libudfread cannot open {image}")
    out: dict[str, tuple[bool, int, bytes | None]] = {}
    todo = [""]
    try:
        while todo:
            parent = todo.pop()
            d = lib.udfread_opendir(udf, (parent or "/").encode())
            assert d, f"libudfread cannot open directory {parent or '/'}"
            entry = _Dirent()
            while lib.udfread_readdir(d, ctypes.byref(entry)):
                name = (entry.d_name or b"").decode()
                if name in ("", ".", ".."):
                    continue
                path = f"{parent}/{name}"
                if entry.d_type == UDF_DT_DIR:
                    out[path.lstrip("/")] = (True, 0, None)
                    todo.append(path)
                else:
                    out[path.lstrip("/")] = (False, *_read(lib, udf, path))
            lib.udfread_closedir(d)
    finally:
        lib.udfread_close(udf)
    return out


def _read(lib: ctypes.CDLL, udf: int, path: str) -> tuple[int, bytes]:
    f = lib.udfread_file_open(udf, path.encode())
    assert f, f"libudfread cannot open {path}"
    size = lib.udfread_file_size(f)
    buf = ctypes.create_string_buffer(max(size, 1))
    got = lib.udfread_file_read(f, buf, size) if size else 0
    lib.udfread_file_close(f)
    return size, buf.raw[:got]
