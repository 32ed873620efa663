"""Rock Ridge (SUSP) entries of ISO 9660 directory records, and compiled record layouts.

``parse_su`` reads every entry DiscVault uses, with continuation areas. A 100 000-file disc
sends 100 000 records through it, though, and most records of one writer look alike: same
record length, same entries at the same offsets, only names and numbers differ. So the first
record of each (record length, name length) pair is compiled into one ``struct`` format that
pulls every field at once, plus a skeleton (entry signatures, lengths, flag bytes) that a record
must match byte for byte to be read that way. A record that does not match goes to
``parse_su``; a layout is only kept if it reads its own record exactly as ``parse_su`` does.
"""

from __future__ import annotations

import calendar
import functools
import operator
import struct
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from app.core.fs.node import SECTOR, Image

CE_MAX: Final = 64  # continuation areas per record: more is hostile
NAME_MAX: Final = 1023  # bytes of a Rock Ridge name: longer ones are hostile (NAME_MAX is 255)
# Entries a layout never compiles: they change what a record means (links, relocation,
# continuation, compression), so such records always take the full parser.
_SPECIAL = {b"SL", b"CE", b"RE", b"CL", b"ZF"}
# The extended attribute length, LBA and size (little-endian halves); the record's length, name
# length and flags are the layout's key, so they are not read again.
_HEADER = "<xBI4xI4x15x"
EAR: Final = 0
LBA: Final = 1
SIZE: Final = 2


@functools.lru_cache(maxsize=8192)
def rec_time(b: bytes) -> float | None:
    if len(b) < 7 or not any(b[:6]):
        return None
    y, mo, d, h, mi, s, tz = b[0], b[1], b[2], b[3], b[4], b[5], struct.unpack("b", b[6:7])[0]
    try:
        return float(calendar.timegm((1900 + y, mo, d, h, mi, s)) - tz * 15 * 60)
    except (ValueError, OverflowError):
        return None


@functools.lru_cache(maxsize=8192)
def tf_time(b: bytes, long: bool) -> float | None:
    if not long:
        return rec_time(b)
    s = b[:14].decode("latin-1", "replace")
    if not s.isdigit():
        return None
    tz = int(struct.unpack("b", b[16:17])[0])
    try:
        return (
            calendar.timegm(
                (int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:14]))
            )
            - tz * 15 * 60
        )
    except (ValueError, OverflowError):
        return None


class RockRidge:
    def __init__(self) -> None:
        self.name: str | None = None
        self.mode: int | None = None
        self.target: str | None = None
        self.mtime: float | None = None
        self.relocated = False  # RE: the real entry lives elsewhere (hide this one)
        self.child_link: int | None = None  # CL: a relocated directory's real extent
        self.zisofs: tuple[int, int, int] | None = None
        # Why this entry's Rock Ridge data must be ignored (continuation areas that loop, a
        # name of kilobytes): the caller falls back to the record's own name.
        self.broken = ""


def parse_su(img: Image, su: bytes, skip: int) -> RockRidge:
    rr = RockRidge()
    # Parts are joined as bytes, then decoded: writers split long names and link components
    # at any byte, even inside a UTF-8 sequence.
    name_parts: list[bytes] = []
    link_parts: list[str] = []
    link_pending = b""
    areas = [su[skip:] if skip else su]
    seen: set[tuple[int, int, int]] = set()
    unpack = struct.unpack_from
    while areas:
        area = areas.pop()
        pos, n = 0, len(area)
        while pos + 4 <= n:
            ln = area[pos + 2]
            if ln < 4 or pos + ln > n:
                break
            sig = area[pos : pos + 2]
            if sig == b"NM":
                if ln >= 5 and not area[pos + 4] & 0x06:
                    name_parts.append(area[pos + 5 : pos + ln])
            elif sig == b"PX":
                if ln >= 12:
                    rr.mode = unpack("<I", area, pos + 4)[0]
            elif sig == b"TF":
                flags = area[pos + 4] if ln >= 5 else 0
                if flags & 0x02:
                    size = 17 if flags & 0x80 else 7
                    p = pos + 5 + (size if flags & 0x01 else 0)
                    rr.mtime = tf_time(bytes(area[p : p + size]), bool(flags & 0x80))
            elif sig == b"SL" and ln >= 5:
                e = area[pos : pos + ln]
                p = 5
                while p + 2 <= len(e):
                    cf, cl = e[p], e[p + 1]
                    comp = {0x02: b".", 0x04: b"..", 0x08: b""}.get(
                        cf & 0x0E, e[p + 2 : p + 2 + cl]
                    )
                    link_pending += comp
                    if not cf & 0x01:
                        link_parts.append(link_pending.decode("utf-8", "replace"))
                        link_pending = b""
                    p += 2 + cl
            elif sig == b"CE" and ln >= 28:
                ce = (
                    unpack("<I", area, pos + 4)[0],
                    unpack("<I", area, pos + 12)[0],
                    unpack("<I", area, pos + 20)[0],
                )
                if ce in seen or len(seen) >= CE_MAX:
                    rr.broken = (
                        "Rock Ridge continuation areas loop"
                        if ce in seen
                        else f"more than {CE_MAX} Rock Ridge continuation areas"
                    )
                    return rr
                seen.add(ce)
                if ce[2] <= SECTOR * 4:
                    areas.append(img.read(ce[0] * SECTOR + ce[1], ce[2]))
            elif sig == b"RE":
                rr.relocated = True
            elif sig == b"CL" and ln >= 12:
                rr.child_link = unpack("<I", area, pos + 4)[0]
            elif sig == b"ZF" and ln >= 16 and area[pos + 4 : pos + 6] == b"pz":
                rr.zisofs = (area[pos + 6] * 4, area[pos + 7], unpack("<I", area, pos + 8)[0])
            elif sig == b"ST":
                break
            pos += ln
    if name_parts:
        raw = b"".join(name_parts)
        if len(raw) > NAME_MAX:
            rr.broken = f"a Rock Ridge name of {len(raw)} bytes"
            return rr
        rr.name = raw.decode("utf-8", "replace")
    if link_parts:
        rr.target = "/".join(link_parts)
    return rr


class Layout(NamedTuple):
    unpack: Callable[[bytes, int], tuple[Any, ...]]
    skeleton_of: Callable[[tuple[Any, ...]], Any]
    skeleton: Any
    nm: int  # index of the NM name bytes, 0 when the record has none
    px: int  # index of the PX mode
    tf: int  # index of the TF modification time
    tf_long: bool
    raw: int  # index of the record's own name bytes, 0 when NM names it


def learn_layout(img: Image, data: bytes, rec: int, rock: bool, skip: int) -> Layout | None:
    """Compile the layout of the record at ``rec`` (None: this record is not one to compile).

    The layout's key (record length, name length, flags) is the caller's: only the extended
    attribute length and the system use entries' fixed bytes are checked here. Fixed bytes
    next to each other are read as one item, and nothing unused becomes an object (this runs
    on every record)."""
    ln, nl = data[rec], data[rec + 32]
    if data[rec + 1] or nl < 2:  # an extended attribute record; "." and ".." (or "a")
        return None
    parts: list[tuple[str, int]] = []  # (what, bytes): fixed, skip, raw, nm, px, tf
    tf_long = False
    su = 33 + nl + (1 - nl % 2)
    if rock:
        p = su + skip
        parts.append(("skip", p - 33 - nl))
        while p + 4 <= ln:
            sl = data[rec + p + 2]
            if sl < 4 or p + sl > ln:  # where the parser stops: these bytes must match too
                parts.append(("fixed", 3))
                break
            sig = data[rec + p : rec + p + 2]
            flag = data[rec + p + 4] if sl >= 5 else 0
            if sig in _SPECIAL or (
                sig == b"NM" and (sl < 5 or flag or any(w == "nm" for w, _ in parts))
            ):
                return None
            if sig == b"NM":
                parts += [("fixed", 5), ("nm", sl - 5)]
            elif sig == b"PX" and sl >= 12:
                parts += [("fixed", 4), ("px", 4), ("skip", sl - 8)]
            elif sig == b"TF" and flag & 0x02:
                size = 17 if flag & 0x80 else 7
                t = 5 + (size if flag & 0x01 else 0)
                if t + size > sl or any(w == "tf" for w, _ in parts):
                    return None
                parts += [("fixed", 5), ("skip", t - 5), ("tf", size), ("skip", sl - t - size)]
                tf_long = bool(flag & 0x80)
            else:  # RR, SP, ER, PN, a TF without a modification time...: read nothing
                parts += [("fixed", 5), ("skip", sl - 5)] if sl >= 5 else [("fixed", 4)]
            p += sl
            if sig == b"ST":
                break
    named = any(w == "nm" for w, _ in parts)
    parts.insert(0, ("skip" if named else "raw", nl))
    fmt, skel, at = [_HEADER], [EAR], {"nm": 0, "px": 0, "tf": 0, "raw": 0}
    items = 3  # EAR, LBA, SIZE
    last = ""
    for what, size in parts:
        if what == "skip":
            if size:
                fmt.append(f"{size}x")
                last = what
            continue
        if what == "fixed" and last == "fixed":  # one item with the fixed bytes before it
            fmt[-1] = f"{int(fmt[-1][:-1]) + size}s"
            continue
        fmt.append("I" if what == "px" else f"{size}s")
        if what == "fixed":
            skel.append(items)
        else:
            at[what] = items
        items += 1
        last = what
    packed = struct.Struct("".join(fmt))
    skeleton_of = operator.itemgetter(*skel)
    v = packed.unpack_from(data, rec)
    layout = Layout(
        packed.unpack_from,
        skeleton_of,
        skeleton_of(v),
        at["nm"],
        at["px"],
        at["tf"],
        tf_long,
        at["raw"],
    )
    if rock:  # kept only if it reads its own record exactly as the full parser does
        rr = parse_su(img, data[rec + su : rec + ln], skip)
        if (rr.name, rr.mode, rr.mtime) != fields(layout, v) or rr.target or rr.zisofs:
            return None
    return layout


def fields(layout: Layout, v: tuple[Any, ...]) -> tuple[str | None, int | None, float | None]:
    """(Rock Ridge name, mode, modification time) of a record read through its layout."""
    _, _, _, nm, px, tf, tf_long, _ = layout
    return (
        v[nm].decode("utf-8", "replace") if nm else None,
        v[px] if px else None,
        tf_time(v[tf], tf_long) if tf else None,
    )
