"""Names on the disc: the volume label rule, and each entry's ISO 9660, Joliet and UDF name.

Rock Ridge keeps a file's name byte for byte; the other three name systems have rules of their
own, so every entry gets a name per system here, unique within its folder. A name that is not
valid UTF-8 (possible on Linux) has its undecodable bytes shown as ``_`` in Joliet, UDF and the
label; Python hands such a name over with each bad byte as a surrogate (``surrogateescape``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from app.core.create.errors import BuildError

LABEL_MAX = 32
LABEL_RULE = "letters A-Z, digits and _, at most 32 (spaces, - and . become _)"
_LABEL_RE = re.compile(r"^[A-Z0-9_]{1,32}$")
_LABEL_SEPARATORS = str.maketrans({" ": "_", "-": "_", ".": "_"})
JOLIET_MAX_BYTES = 64  # pycdlib's limit, in UTF-16 bytes: 32 characters (Rock Ridge keeps all)
UDF_MAX_LATIN1 = 253  # OSTA UDF 2.60 2.3.4.2: L_FI <= 254 with the compression-ID byte
UDF_MAX_UTF16 = 126
RELOCATION_DIR = "RR_MOVED"  # ISO 9660 name of the folder deep directories move to
RELOCATION_RR_NAME = ".rr_moved"  # its Rock Ridge name (hidden from RR readers by an RE entry)


class LabelError(BuildError):
    """A volume label the rule refuses; the message says what the rule is."""


def normalise_label(label: str) -> str:
    """The one label rule: what the user typed, upper-cased, with separators as ``_``."""
    lab = label.strip().upper().translate(_LABEL_SEPARATORS)
    if not _LABEL_RE.match(lab):
        raise LabelError(f"volume label {label!r} is not allowed — use {LABEL_RULE}")
    return lab


def suggest_label(name: str) -> str:
    """A label derived from a folder name that ``normalise_label`` always accepts."""
    lab = re.sub(r"[^A-Z0-9]+", "_", ascii_fold(name).upper()).strip("_")
    return lab[:LABEL_MAX].rstrip("_") or "DISC"


def ascii_fold(name: str) -> str:
    """'Café' -> 'Cafe': accents dropped, so ISO names and labels keep the letters."""
    if name.isascii():
        return name
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_SURROGATE = re.compile("[\udc80-\udcff]")


def is_undecodable(name: str) -> bool:
    """True for a name that was not valid UTF-8 on disk (it holds surrogate escapes)."""
    return not name.isascii() and _SURROGATE.search(name) is not None


def raw_bytes(name: str) -> bytes:
    """The name's bytes on disk (a surrogate escape stands for one byte)."""
    return name.encode("utf-8", "surrogateescape")


def readable(name: str) -> str:
    """Undecodable bytes as ``_``: safe to encode anywhere, and as long in UTF-8 as on disk."""
    return _SURROGATE.sub("_", name) if is_undecodable(name) else name


def printable(name: str) -> str:
    """For messages: undecodable bytes and control characters as ``\\xNN``, so the line stays
    one line and the user can still find the file."""
    if is_undecodable(name):
        name = raw_bytes(name).decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class Taken:
    """The names already used in one folder, and the next free number per clipped name (so
    that 1 000 names clipped to the same 30 characters cost 1 000 steps, not 500 000)."""

    __slots__ = ("counters", "names")

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.counters: dict[str, int] = {}

    def unique(
        self,
        key: str,
        first: str,
        numbered: Callable[[int], str],
        fold: Callable[[str], str] = str,
    ) -> str:
        """``first`` if free, else ``numbered(k)`` for the first free k (k counts per key);
        names compare as ``fold`` makes them (``str.casefold``: case is ignored)."""
        if first and fold(first) not in self.names:
            self.names.add(fold(first))
            return first
        k = self.counters.get(key, 1)
        while fold(cand := numbered(k)) in self.names:
            k += 1
        self.counters[key] = k + 1
        self.names.add(fold(cand))
        return cand


def iso_name(name: str, is_dir: bool, taken: Taken) -> str:
    """A level-3 ISO 9660 name (d-characters, 30/31 chars), unique within its directory."""
    up = re.sub(r"[^A-Z0-9_.]", "_", ascii_fold(name).upper())
    if is_dir:
        base, ext = up.replace(".", "_")[:31], ""
    else:
        stem, dot, ext = up.rpartition(".")
        base, ext = (stem, ext) if dot and stem else (up, "")
        base, ext = base.replace(".", "_"), ext.replace(".", "_")[:8]
        base = base[: 30 - len(ext) - 1] if ext else base[:30]
    dot_ext = f".{ext}" if ext else ""
    room = 31 if is_dir else 30 - len(ext) - 1

    def numbered(k: int) -> str:
        suffix = f"_{k}"
        return (base or "_")[: room - len(suffix)] + suffix + dot_ext

    return taken.unique(base + dot_ext, base + dot_ext if base else "", numbered)


# Joliet forbids these (and pycdlib refuses them); control characters break listings.
_JOLIET_BAD = re.compile(r"[\x00-\x1f*/:;?\\\udc80-\udcff]")


def _cut(name: str, units: int, width: Callable[[str], int]) -> str:
    """The longest prefix of ``name`` that is at most ``units`` wide."""
    if name.isascii():
        return name[:units]
    used = 0
    for i, c in enumerate(name):
        used += width(c)
        if used > units:
            return name[:i]
    return name


def _utf16(c: str) -> int:
    return 2 if c > "\uffff" else 1


def joliet_name(name: str, taken: Taken) -> str:
    """Cut to 32 UTF-16 units, unique when case is ignored (Windows reads Joliet)."""
    safe = _JOLIET_BAD.sub("_", name)
    units = JOLIET_MAX_BYTES // 2
    first = _cut(safe, units, _utf16)

    def numbered(k: int) -> str:
        suffix = f"~{k}"
        return _cut(safe, units - len(suffix), _utf16) + suffix

    return taken.unique(first.casefold(), first, numbered, str.casefold)


def udf_name(name: str, taken: Taken) -> str:
    """UDF keeps case and long names, but its names are Unicode: bad bytes become ``_``."""
    safe = re.sub("[\x00/\udc80-\udcff]", "_", name)
    try:
        safe.encode("latin-1")
        units, width = UDF_MAX_LATIN1, (lambda c: 1)
    except UnicodeEncodeError:
        units, width = UDF_MAX_UTF16, _utf16
    first = _cut(safe, units, width)

    def numbered(k: int) -> str:
        suffix = f"~{k}"
        return _cut(safe, units - len(suffix), width) + suffix

    return taken.unique(first, first, numbered)
