"""How far each filesystem on a disc reaches: the sectors an image must never be cut before.

Read from the disc's own structures, through any ``read(lba, count)``: a drive during a backup,
or an image file when verifying or inspecting (one function for both, so ``verify`` and
``inspect`` cannot disagree about whether an image is whole).

- ISO 9660: the volume space size of every session's primary volume descriptor (absolute LBAs:
  a later session's volume counts from LBA 0);
- UDF: every partition's extent, from the anchor at 256 (per session);
- Apple partition map, HFS master directory block, HFS+ volume header (Mac hybrids);
- MBR and GPT partitions (isohybrid discs, appended EFI partitions).

A claim that is absurd (past any disc's size) is dropped and noted: a fuzzed or corrupt
descriptor must not make a backup read forever.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.base.sector import SECTOR
from app.core.disc.layout import DiscLayout
from app.core.disc.sources import ReadError

ReadFn = Callable[[int, int], bytes]
MAX_DISC = 64 * 1024 * 1024  # sectors (128 GiB): past a 4-layer BD-XL, so absurd beyond
UDF_ANCHOR = 256


@dataclass(frozen=True)
class Claim:
    kind: str  # "iso9660", "udf", "hfs", "hfs+", "apm", "mbr", "gpt"
    start: int  # first sector the filesystem or partition uses
    end: int  # one past its last sector
    session: int = 1

    def describe(self) -> str:
        return f"{self.kind} (session {self.session}) to sector {self.end}"


@dataclass
class Claims:
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # absurd or contradictory values
    unreadable: list[int] = field(default_factory=list)  # descriptor sectors that did not read

    @property
    def end(self) -> int:
        """Where the last filesystem ends (0 when none was found)."""
        return max((c.end for c in self.claims), default=0)

    @property
    def found(self) -> bool:
        return bool(self.claims)

    def kinds(self) -> list[str]:
        out: list[str] = []
        for c in self.claims:
            if c.kind not in out:
                out.append(c.kind)
        return out

    def add(self, claim: Claim) -> None:
        if claim.end > MAX_DISC or claim.end <= claim.start:
            self.notes.append(
                f"{claim.kind} (session {claim.session}) claims {claim.end} sectors: ignored as "
                "impossible"
            )
            return
        self.claims.append(claim)


def iso9660_volume_space(pvd: bytes) -> int | None:
    """Volume space size from a primary volume descriptor sector, or None if it is not one
    (or its both-endian field disagrees with itself: a corrupt descriptor)."""
    if len(pvd) < SECTOR or pvd[0] != 1 or pvd[1:6] != b"CD001":
        return None
    le, be = struct.unpack_from("<I", pvd, 80)[0], struct.unpack_from(">I", pvd, 84)[0]
    return int(le) if le == be or be == 0 else None


def _sectors(nbytes: int) -> int:
    return -(-nbytes // SECTOR)


class _Reader:
    """Reads with a per-sector cache; unreadable sectors are remembered, never fatal."""

    def __init__(self, read: ReadFn, limit: int, out: Claims) -> None:
        self._read = read
        self.limit = limit
        self.out = out
        self._cache: dict[int, bytes] = {}

    def sector(self, lba: int) -> bytes:
        if lba in self._cache:
            return self._cache[lba]
        data = b""
        if 0 <= lba < self.limit:
            try:
                data = self._read(lba, 1)
            except ReadError:
                self.out.unreadable.append(lba)
        self._cache[lba] = data
        return data

    def bytes_at(self, offset: int, length: int) -> bytes:
        first, last = offset // SECTOR, (offset + length - 1) // SECTOR
        buf = b"".join(self.sector(lba).ljust(SECTOR, b"\0") for lba in range(first, last + 1))
        start = offset - first * SECTOR
        return buf[start : start + length]


def find(layout: DiscLayout, read: ReadFn, limit: int | None = None) -> Claims:
    """Every filesystem's reach on a disc of this layout. ``limit``: sectors that may be read
    (the device's capacity or the image's size); claims themselves are not bounded by it."""
    out = Claims()
    r = _Reader(read, layout.end if limit is None else limit, out)
    for s in layout.data_sessions:
        _iso9660(r, s.start, s.number, out)
        _udf(r, s.start, s.number, out)
    first = layout.data_sessions[0].start if layout.data_sessions else 0
    _partitions(r, first, out)
    return out


def _iso9660(r: _Reader, start: int, session: int, out: Claims) -> None:
    for lba in range(start + 16, start + 16 + 64):
        d = r.sector(lba)
        if len(d) < SECTOR or d[1:6] != b"CD001" or d[0] == 255:
            return
        if d[0] == 1:
            vss = iso9660_volume_space(d)
            if vss is None:
                out.notes.append(f"session {session}: the ISO 9660 volume size is corrupt")
            else:
                out.add(Claim("iso9660", start, _session_end(start, vss, r.limit), session))
            return


def _session_end(start: int, vss: int, limit: int) -> int:
    """Where a session's ISO 9660 volume ends. genisoimage and xorriso write a later session's
    volume space size as that session's own size (measured here); a size that cannot be an
    absolute end (not past the session's start) surely is one. Either reading may be meant
    when both fit: the session's own size wins when it fits the disc."""
    if start == 0:
        return vss
    if vss <= start or start + vss <= limit:
        return start + vss
    return vss


def _udf(r: _Reader, start: int, session: int, out: Claims) -> None:
    anchor = r.sector(start + UDF_ANCHOR)
    if len(anchor) < 32 or struct.unpack_from("<H", anchor, 0)[0] != 2:
        return
    reach = start + UDF_ANCHOR + 1
    for off in (16, 24):  # main and reserve volume descriptor sequences
        ln, loc = struct.unpack_from("<II", anchor, off)
        if not ln:
            continue
        reach = max(reach, loc + _sectors(ln))
        for i in range(min(ln // SECTOR, 64)):
            d = r.sector(loc + i)
            if len(d) < 16:
                break
            tag = struct.unpack_from("<H", d, 0)[0]
            if tag == 5:  # partition descriptor: start and length in sectors
                pstart, plen = struct.unpack_from("<II", d, 188)
                reach = max(reach, pstart + plen)
            elif tag == 8:  # terminating descriptor
                break
    out.add(Claim("udf", start, reach, session))


def _partitions(r: _Reader, start: int, out: Claims) -> None:
    head = r.bytes_at(start * SECTOR, 1024)
    if len(head) < 1024:
        return
    base = start * SECTOR
    if head[0:2] == b"ER":
        _apm(r, base, struct.unpack_from(">H", head, 2)[0] or 512, out)
    if head[510:512] == b"\x55\xaa":
        _mbr(head, start, out)
    if head[512:520] == b"EFI PART":
        _gpt(r, base, head, out)
    _hfs_volume(r, base, start, out)


def _apm(r: _Reader, base: int, block: int, out: Claims) -> None:
    if block not in (512, 1024, 2048, 4096):
        out.notes.append(f"Apple partition map with block size {block}: ignored")
        return
    count = 1
    i = 1
    while i <= count and i < 64:
        e = r.bytes_at(base + i * block, 512)
        if e[0:2] != b"PM":
            break
        count = struct.unpack_from(">I", e, 4)[0]
        pstart, plen = struct.unpack_from(">II", e, 8)
        ptype = e[48:80].split(b"\0", 1)[0]
        end = _sectors((pstart + plen) * block)
        if plen:
            out.add(Claim("apm", base // SECTOR + pstart * block // SECTOR, base // SECTOR + end))
        if ptype == b"Apple_HFS":
            _hfs_volume(r, base + pstart * block, base // SECTOR, out)
        i += 1


def _hfs_volume(r: _Reader, vol: int, session_start: int, out: Claims) -> None:
    """An HFS master directory block or HFS+ volume header 1024 bytes into the volume."""
    mdb = r.bytes_at(vol + 1024, 512)
    first = vol // SECTOR
    if mdb[0:2] == b"BD":
        nblocks, blksize = struct.unpack_from(">HI", mdb, 18)
        albl_st = struct.unpack_from(">H", mdb, 28)[0]
        size = albl_st * 512 + nblocks * blksize + 1024  # alternate MDB + last block
        out.add(Claim("hfs", first, first + _sectors(size)))
    elif mdb[0:2] in (b"H+", b"HX"):
        blksize, total = struct.unpack_from(">II", mdb, 40)
        out.add(Claim("hfs+", first, first + _sectors(blksize * total)))


def _mbr(head: bytes, start: int, out: Claims) -> None:
    for i in range(4):
        e = head[446 + 16 * i : 462 + 16 * i]
        ptype = e[4]
        first, count = struct.unpack_from("<II", e, 8)
        if ptype in (0, 0xEE) or not count:
            continue  # empty, or the protective entry of a GPT (the GPT says more)
        out.add(Claim("mbr", start + first // 4, start + _sectors((first + count) * 512)))


def _gpt(r: _Reader, base: int, head: bytes, out: Claims) -> None:
    hdr = head[512:1024]
    (alternate,) = struct.unpack_from("<Q", hdr, 32)
    (entries_lba,) = struct.unpack_from("<Q", hdr, 72)
    count, size = struct.unpack_from("<II", hdr, 80)
    first = base // SECTOR
    if alternate:
        out.add(Claim("gpt", first, first + _sectors((alternate + 1) * 512)))
    if size < 128 or size > 1024 or count > 1024:
        return
    table = r.bytes_at(base + entries_lba * 512, min(count, 256) * size)
    for k in range(len(table) // size):
        e = table[k * size : (k + 1) * size]
        if not any(e[0:16]):
            continue
        lo, hi = struct.unpack_from("<QQ", e, 32)
        if hi >= lo:
            out.add(Claim("gpt", first + lo // 4, first + _sectors((hi + 1) * 512)))
