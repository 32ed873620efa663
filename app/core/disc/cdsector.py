"""Raw 2352-byte CD sectors (ECMA-130): structure, EDC and ECC, encode and check.

A data sector carries its own proof: a 12-byte sync pattern, a header with its address (MSF, in
BCD, of LBA + 150) and mode, then per mode:

- Mode 1: user data 16-2063, EDC 2064-2067 (CRC-32 over bytes 0-2063), 8 zero bytes, ECC P
  2076-2247 and Q 2248-2351 (Reed-Solomon product code over bytes 12-2247, Annex A);
- Mode 2 Form 1 (CD-ROM XA): subheader 16-23, user data 24-2071, EDC over 16-2071, P and Q
  computed with the four header bytes taken as zero;
- Mode 2 Form 2: subheader, user data 24-2347, EDC over 16-2347 (zero: no EDC was recorded);
- Mode 2 formless: 2336 bytes of user data, nothing to check; Mode 0: 2336 zero bytes.

Speed without a compiler: a batch of N sectors is transposed once (one strided slice per byte
position, so position q of every sector becomes N consecutive bytes), and every step of the
codes then works on N sectors at once: GF(2^8) multiplication by a constant is ``bytes.translate``
with a 256-byte table, addition is XOR of Python integers made from those bytes. The EDC runs its
byte-wise CRC table over four N-byte state planes; P and Q are Horner schemes over rows of the
transposed batch. A clean raw rip is checked at about four times a 52x drive's rate on one core
(batches of 256+ sectors; ``benchmarks/bench_cdsector.py``), so a rip should check what it
reads in batches, not sector by sector.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

RAW = 2352
USER = 2048
FORM2_USER = 2324
PREGAP = 150  # LBA 0 is at MSF 00:02:00
SYNC = b"\x00" + b"\xff" * 10 + b"\x00"
DATA_SUBHEADER = b"\x00\x00\x08\x00"  # file 0, channel 0, submode "data", coding 0
FORM2_BIT = 0x20  # submode bit 5: Form 2

_OFF_P, _OFF_Q = 2076, 2248  # parity positions (both modes)
_NONZERO = re.compile(rb"[^\x00]")
_BCD = bytes((n // 10) << 4 | n % 10 for n in range(100))


class SectorMode(StrEnum):
    MODE0 = "mode0"
    MODE1 = "mode1"
    MODE2_FORM1 = "mode2-form1"
    MODE2_FORM2 = "mode2-form2"
    MODE2 = "mode2"  # formless: 2336 bytes of user data, no EDC/ECC


class Verdict(StrEnum):
    OK = "ok"
    UNCHECKED = "unchecked"  # valid structure but nothing to check (Form 2 without EDC, formless)
    BAD_SYNC = "bad sync"
    BAD_ADDRESS = "header MSF differs from LBA"
    BAD_MODE = "wrong mode"
    BAD_EDC = "EDC mismatch"
    BAD_ECC = "ECC mismatch"

    @property
    def good(self) -> bool:
        return self in (Verdict.OK, Verdict.UNCHECKED)


# ---- addresses ------------------------------------------------------------------------------
def _bcd(n: int) -> int:
    return (n // 10) << 4 | n % 10


def msf(lba: int) -> tuple[int, int, int]:
    """Minute, second, frame of an LBA (LBA 0 = 00:02:00); addresses wrap at 100 minutes, so
    the lead-in's negative LBAs count down from 99:59:74 as drives report them."""
    a = (lba + PREGAP) % (100 * 60 * 75)
    return a // 4500, a // 75 % 60, a % 75


def header(lba: int, mode: int) -> bytes:
    m, s, f = msf(lba)
    return bytes((_bcd(m), _bcd(s), _bcd(f), mode))


# ---- tables: CRC-32 of ECMA-130 (x^32+x^31+x^16+x^15+x^4+x^3+x+1, LSB first) and GF(2^8) ------
def _edc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0xD8018001 if c & 1 else 0)
        table.append(c)
    return table


_EDC = _edc_table()
_EDC_T = [bytes((t >> (8 * k)) & 0xFF for t in _EDC) for k in range(4)]  # byte k of each entry


def _gf_mul(a: int, b: int) -> int:
    """Multiply in GF(2^8) with the primitive polynomial x^8+x^4+x^3+x^2+1 (ECMA-130 Annex A)."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11D
        b >>= 1
    return r


_INV3 = next(x for x in range(256) if _gf_mul(x, 3) == 1)  # 1 / (alpha + 1), alpha = 2
_MUL2 = bytes(_gf_mul(x, 2) for x in range(256))
_MUL4 = bytes(_gf_mul(x, 4) for x in range(256))
_DIV3 = bytes(_gf_mul(x, _INV3) for x in range(256))


def edc(data: bytes | memoryview) -> int:
    """The EDC of ``data`` (one sector's range), as a plain loop; fine for a few sectors."""
    crc = 0
    for b in bytes(data):
        crc = _EDC[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# ---- the batch engine -----------------------------------------------------------------------
class _Batch:
    """N raw sectors transposed: ``t[q*n:(q+1)*n]`` holds byte ``q`` of every sector."""

    def __init__(self, raw: bytes | bytearray | memoryview, n: int) -> None:
        self.n = n
        raw = bytes(raw)
        self.t = b"".join([raw[q::RAW] for q in range(RAW)])

    def plane(self, q: int) -> bytes:
        return self.t[q * self.n : (q + 1) * self.n]

    def planes(self, start: int, stop: int) -> bytes:
        return self.t[start * self.n : stop * self.n]

    def edc(self, stops: Iterable[int], zero_head: int = 0) -> dict[int, bytes]:
        """Little-endian EDC bytes (4 planes) after positions ``0..stop-1`` for each stop.

        ``zero_head``: an N-byte mask int (0xFF per Mode 2 sector) of sectors whose bytes 0-15
        count as zero: the CRC starts at 0, so leading zeros leave it 0 and the EDC of bytes
        16.. is the EDC of 0.. with 0-15 zeroed."""
        n, t = self.n, self.t
        c0 = c1 = c2 = c3 = 0
        out: dict[int, bytes] = {}
        wanted = set(stops)
        keep = ~zero_head
        tb0, tb1, tb2, tb3 = _EDC_T
        frm = int.from_bytes
        for q in range(max(wanted)):
            x = frm(t[q * n : (q + 1) * n], "little")
            if q < 16 and zero_head:
                x &= keep
            idx = (c0 ^ x).to_bytes(n, "little")
            c0 = frm(idx.translate(tb0), "little") ^ c1
            c1 = frm(idx.translate(tb1), "little") ^ c2
            c2 = frm(idx.translate(tb2), "little") ^ c3
            c3 = frm(idx.translate(tb3), "little")
            if q + 1 in wanted:
                out[q + 1] = b"".join(c.to_bytes(n, "little") for c in (c0, c1, c2, c3))
        return out

    def parity(self, rows: list[bytes]) -> tuple[bytes, bytes]:
        """Both parity symbols of the RS codes whose data symbols are ``rows`` (each row holds
        the same symbol index of every codeword): H = [[1 ... 1], [a^(k+1) ... a, 1]] with k
        data symbols, so p0 = (S0 + S1) / (a + 1) and p1 = S0 + p0 (Annex A)."""
        size = len(rows[0])
        s0 = acc = 0
        for row in rows:
            v = int.from_bytes(row, "little")
            s0 ^= v
            acc = int.from_bytes(acc.to_bytes(size, "little").translate(_MUL2), "little") ^ v
        s1 = int.from_bytes(acc.to_bytes(size, "little").translate(_MUL4), "little")  # * a^2
        p0 = (s0 ^ s1).to_bytes(size, "little").translate(_DIV3)
        p1 = (s0 ^ int.from_bytes(p0, "little")).to_bytes(size, "little")
        return p0, p1

    def ecc(self, zero_header: int = 0) -> tuple[bytes, bytes, bytes, bytes]:
        """P0, P1, Q0, Q1 parity planes computed from bytes 12-2075 (P) and 12-2247 (Q).

        The header (12-15) counts as zero for sectors set in the ``zero_header`` mask (Mode 2
        Form 1). P codeword j (0-85) takes byte 12 + 86*r + j of rows r = 0..23. Q codeword
        (Nq, b) takes word (44*Mq + 43*Nq) mod 1118, byte b, at step Mq = 0..42: that is column
        Mq of the 26 x 43 word grid, rotated up by Mq, so each step is 26 two-byte runs."""
        n = self.n
        head = self.planes(12, 16)
        if zero_header:
            mask = ~zero_header
            head = b"".join(
                (int.from_bytes(head[i * n : (i + 1) * n], "little") & mask).to_bytes(n, "little")
                for i in range(4)
            )
        body = head + self.planes(16, _OFF_Q)  # positions 12..2247
        p_rows = [body[(86 * r) * n : (86 * r + 86) * n] for r in range(24)]
        p0, p1 = self.parity(p_rows)
        q_rows = []
        for mq in range(43):
            runs = [body[(86 * k + 2 * mq) * n : (86 * k + 2 * mq + 2) * n] for k in range(26)]
            q_rows.append(b"".join(runs[mq % 26 :] + runs[: mq % 26]))
        q0, q1 = self.parity(q_rows)
        return p0, p1, q0, q1


def _bad_sectors(diff: int, n: int) -> set[int]:
    """Sectors with a non-zero byte in any of the N-byte planes packed in ``diff``."""
    if not diff:
        return set()
    raw = diff.to_bytes((diff.bit_length() + 7) // 8, "little")
    return {m.start() % n for m in _NONZERO.finditer(raw)}


def _transpose_back(planes: bytes, n: int, width: int) -> list[bytes]:
    """``width`` planes of N bytes -> N sectors' ``width``-byte fields."""
    return [planes[i::n] for i in range(n)] if width else []


# ---- public: encode -------------------------------------------------------------------------
def encode(user: bytes, first_lba: int, mode: SectorMode = SectorMode.MODE1, *,
           subheader: bytes = DATA_SUBHEADER, edc_form2: bool = True) -> bytes:  # fmt: skip
    """Raw sectors from user data (a multiple of 2048 bytes; 2324 for Form 2; 2336 formless),
    the first at ``first_lba``. Mode 2 sectors get ``subheader`` (4 bytes, written twice) with
    the Form 2 bit set or cleared to match ``mode``."""
    size = {
        SectorMode.MODE1: USER,
        SectorMode.MODE2_FORM1: USER,
        SectorMode.MODE2_FORM2: FORM2_USER,
        SectorMode.MODE2: 2336,
    }.get(mode)
    if size is None or not user or len(user) % size or len(subheader) != 4:
        raise ValueError(f"{mode}: user data must be a non-empty multiple of {size} bytes")
    n = len(user) // size
    sub = bytearray(subheader)
    if mode is SectorMode.MODE2_FORM2:
        sub[2] |= FORM2_BIT
    elif mode is SectorMode.MODE2_FORM1:
        sub[2] &= ~FORM2_BIT & 0xFF
    out = bytearray(RAW * n)
    num = 1 if mode is SectorMode.MODE1 else 2
    for i in range(n):
        o = i * RAW
        out[o : o + 12] = SYNC
        out[o + 12 : o + 16] = header(first_lba + i, num)
        chunk = user[i * size : (i + 1) * size]
        if mode is SectorMode.MODE1 or mode is SectorMode.MODE2:
            out[o + 16 : o + 16 + size] = chunk
        else:
            out[o + 16 : o + 24] = bytes(sub) * 2
            out[o + 24 : o + 24 + size] = chunk
    if mode is SectorMode.MODE2 or (mode is SectorMode.MODE2_FORM2 and not edc_form2):
        return bytes(out)
    b = _Batch(out, n)
    head_mask = 0 if mode is SectorMode.MODE1 else (1 << (8 * n)) - 1
    stop = {SectorMode.MODE1: 2064, SectorMode.MODE2_FORM1: 2072}.get(mode, 2348)
    e = b.edc([stop], head_mask)[stop]
    for i, f in enumerate(_transpose_back(e, n, 4)):
        out[i * RAW + stop : i * RAW + stop + 4] = f
    if mode is SectorMode.MODE2_FORM2:
        return bytes(out)
    p0, p1, _, _ = _Batch(out, n).ecc(head_mask)
    for i, f in enumerate(_transpose_back(p0 + p1, n, 172)):
        out[i * RAW + _OFF_P : i * RAW + _OFF_Q] = f
    _, _, q0, q1 = _Batch(out, n).ecc(head_mask)
    for i, f in enumerate(_transpose_back(q0 + q1, n, 104)):
        out[i * RAW + _OFF_Q : i * RAW + RAW] = f
    return bytes(out)


# ---- public: check and extract --------------------------------------------------------------
def _planes_int(b: _Batch, start: int, stop: int) -> int:
    return int.from_bytes(b.planes(start, stop), "little")


def _address_planes(first_lba: int, n: int) -> bytes:
    """The three BCD MSF planes the headers of sectors ``first_lba..+n`` must hold."""
    mm, ss, ff = bytearray(n), bytearray(n), bytearray(n)
    m, s, f = msf(first_lba)
    for i in range(n):
        mm[i], ss[i], ff[i] = _BCD[m], _BCD[s], _BCD[f]
        f += 1
        if f == 75:
            f, s = 0, s + 1
            if s == 60:
                s, m = 0, (m + 1) % 100
    return bytes(mm + ss + ff)


def _kinds(b: _Batch, expect: SectorMode | None) -> list[SectorMode | None]:
    """Each sector's kind from its mode byte (and XA submode), None where it cannot be."""
    n = b.n
    modes, submodes = b.plane(15), b.plane(18)
    if expect is SectorMode.MODE1 or (expect is None and modes == b"\x01" * n):
        return [SectorMode.MODE1 if m == 1 else None for m in modes]
    out: list[SectorMode | None] = []
    for m, sm in zip(modes, submodes, strict=True):
        if m == 1:
            k: SectorMode | None = SectorMode.MODE1
        elif m == 2:
            k = SectorMode.MODE2
            if expect is not SectorMode.MODE2:
                k = SectorMode.MODE2_FORM2 if sm & FORM2_BIT else SectorMode.MODE2_FORM1
        elif m == 0:
            k = SectorMode.MODE0
        else:
            k = None
        if expect is not None:
            xa = (SectorMode.MODE2_FORM1, SectorMode.MODE2_FORM2)
            if k is not expect and not (expect in xa and k in xa):
                k = None
        out.append(k)
    return out


def _mask(kinds: list[SectorMode | None], *wanted: SectorMode) -> int:
    return int.from_bytes(bytes(0xFF if k in wanted else 0 for k in kinds), "little")


def check(
    raw: bytes | bytearray | memoryview, first_lba: int, expect: SectorMode | None = None
) -> list[Verdict]:
    """A verdict for each raw sector in ``raw`` (a multiple of 2352 bytes), the first at
    ``first_lba``; ``expect`` is the track's kind (any Mode 2 XA form for Form 1/Form 2, or
    formless Mode 2), None to go by each sector's mode byte. The first failing check wins:
    sync, address, mode, EDC, ECC."""
    if not raw or len(raw) % RAW:
        raise ValueError("raw sectors must be a non-empty multiple of 2352 bytes")
    n = len(raw) // RAW
    b = _Batch(raw, n)
    kinds = _kinds(b, expect)
    verdicts = [Verdict.OK] * n
    mode1 = _mask(kinds, SectorMode.MODE1)
    form1 = _mask(kinds, SectorMode.MODE2_FORM1)
    form2 = _mask(kinds, SectorMode.MODE2_FORM2)
    xa = form1 | form2
    stops = [s for s, m in ((2064, mode1), (2072, form1), (2348, form2)) if m]
    # later assignments win: checks run from the last in priority to the first
    if mode1 | form1:
        p0, p1, q0, q1 = b.ecc(zero_header=form1)
        both = mode1 | form1
        diff = (int.from_bytes(p0 + p1 + q0 + q1, "little") ^ _planes_int(b, _OFF_P, RAW)) & (
            int.from_bytes(both.to_bytes(n, "little") * (RAW - _OFF_P), "little")
        )
        for i in _bad_sectors(diff, n):
            verdicts[i] = Verdict.BAD_ECC
    if stops:
        got = b.edc(stops, zero_head=xa)
        for stop, m in ((2064, mode1), (2072, form1), (2348, form2)):
            if not m:
                continue
            stored = _planes_int(b, stop, stop + 4)
            rep = int.from_bytes(m.to_bytes(n, "little") * 4, "little")
            if stop == 2348:  # Form 2: an all-zero EDC means none was recorded
                absent = _absent_edc(b.planes(stop, stop + 4), n) & m
                for i in _bad_sectors(absent, n):
                    verdicts[i] = Verdict.UNCHECKED
                rep &= ~int.from_bytes(absent.to_bytes(n, "little") * 4, "little")
            diff = (int.from_bytes(got[stop], "little") ^ stored) & rep
            for i in _bad_sectors(diff, n):
                verdicts[i] = Verdict.BAD_EDC
    if mode1 != (1 << (8 * n)) - 1:  # anything but a clean Mode 1 batch
        zero = bytes(RAW - 16)
        for i, k in enumerate(kinds):
            if k is SectorMode.MODE2:
                verdicts[i] = Verdict.UNCHECKED
            elif k is None or (k is SectorMode.MODE0 and raw[i * RAW + 16 : (i + 1) * RAW] != zero):
                verdicts[i] = Verdict.BAD_MODE
    addr = _planes_int(b, 12, 15) ^ int.from_bytes(_address_planes(first_lba, n), "little")
    for i in _bad_sectors(addr, n):
        verdicts[i] = Verdict.BAD_ADDRESS
    sync = _planes_int(b, 0, 12) ^ int.from_bytes(b"".join(bytes([c]) * n for c in SYNC), "little")
    for i in _bad_sectors(sync, n):
        verdicts[i] = Verdict.BAD_SYNC
    return verdicts


def _absent_edc(planes: bytes, n: int) -> int:
    """Mask (0xFF per sector) of sectors whose four EDC bytes are all zero: none recorded."""
    nz = 0
    for k in range(4):
        nz |= int.from_bytes(planes[k * n : (k + 1) * n], "little")
    present = nz.to_bytes(n, "little").translate(_NONZERO_TO_FF)
    return int.from_bytes(present, "little") ^ ((1 << (8 * n)) - 1)


_NONZERO_TO_FF = bytes([0] + [0xFF] * 255)


def check_sector(raw: bytes, lba: int, expect: SectorMode | None = None) -> Verdict:
    """One raw sector's verdict (see ``check``)."""
    if len(raw) != RAW:
        raise ValueError("a raw sector is 2352 bytes")
    return check(raw, lba, expect)[0]


def kind(raw: bytes, expect: SectorMode | None = None) -> SectorMode | None:
    """What a raw sector holds by its mode byte (and XA submode); None for an invalid mode."""
    mode = raw[15]
    if mode == 1:
        return SectorMode.MODE1
    if mode == 0:
        return SectorMode.MODE0
    if mode != 2:
        return None
    if expect is SectorMode.MODE2:
        return SectorMode.MODE2
    return SectorMode.MODE2_FORM2 if raw[18] & FORM2_BIT else SectorMode.MODE2_FORM1


def user_data(raw: bytes, expect: SectorMode | None = None) -> bytes:
    """The user data of one raw sector: 2048 bytes (Mode 1, Form 1), 2324 (Form 2) or 2336
    (formless Mode 2, Mode 0). ``ValueError`` for a sector with an invalid mode byte."""
    k = kind(raw, expect)
    span = (
        {
            SectorMode.MODE1: (16, 2064),
            SectorMode.MODE2_FORM1: (24, 2072),
            SectorMode.MODE2_FORM2: (24, 2348),
            SectorMode.MODE2: (16, RAW),
            SectorMode.MODE0: (16, RAW),
        }.get(k)
        if k
        else None
    )
    if len(raw) != RAW or span is None:
        raise ValueError("not a raw data sector (2352 bytes with mode 0, 1 or 2)")
    return bytes(raw[span[0] : span[1]])
