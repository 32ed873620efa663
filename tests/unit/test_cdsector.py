"""Raw CD sectors: ECMA-130's definitions, public vectors, and tools we did not write as judges.

The module under test computes EDC with a CRC table and ECC by solving for the parity symbols
over transposed batches. The judges here work differently: the EDC as the remainder of a
polynomial division done bit by bit, the ECC as the syndromes of Annex A's parity-check
matrices (H_P, H_Q), which must all be zero; then vcdimager (Mode 2 Form 1 and Form 2 sectors it
writes itself), MAME's chdman (its own ECC check decides what it can regenerate), bchunk (user
data), and public vectors for an all-zero Mode 1 sector.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from app.core.disc import cdsector as cd
from app.core.disc.cdsector import SectorMode, Verdict

# ---- judges written from the standard's definitions -------------------------------------------
EDC_POLY = sum(1 << k for k in (32, 31, 16, 15, 4, 3, 1, 0))  # (x16+x15+x2+1)(x16+x2+x+1)


def edc_by_division(data: bytes) -> bytes:
    """ECMA-130 14.3: the data bits, least significant bit of each byte first, times x^32 modulo
    P(x); the parity bit of x^31 is recorded first, x^0 last (the MSB of the fourth byte)."""
    m = 0
    for byte in data:
        for k in range(8):
            m = (m << 1) | ((byte >> k) & 1)
    r = m << 32
    while r.bit_length() > 32:
        r ^= EDC_POLY << (r.bit_length() - 33)
    bits = [(r >> (31 - i)) & 1 for i in range(32)]
    return bytes(sum(bits[8 * j + k] << k for k in range(8)) for j in range(4))


EXP = [0] * 255
LOG = [0] * 256
_x = 1
for _i in range(255):
    EXP[_i], LOG[_x] = _x, _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D  # P(x) = x^8 + x^4 + x^3 + x^2 + 1 (Annex A)


def gmul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else EXP[(LOG[a] + LOG[b]) % 255]


def syndromes_zero(sector: bytes, zero_header: bool) -> tuple[bool, bool]:
    """Annex A: bytes 12-2351 as 1170 words S(n) (two bytes each, each byte its own code).
    P: for Np in 0..42 the 26 words S(43*Mp + Np); Q: for Nq in 0..25 the 43 words
    S((44*Mq + 43*Nq) mod 1118) then S(1118 + Nq), S(1144 + Nq). H = [[1 ... 1],
    [a^(L-1) ... a, 1]]: both syndromes of every vector must be zero."""
    s = bytearray(sector)
    if zero_header:
        s[12:16] = bytes(4)

    def ok(v: list[int]) -> bool:
        s0 = s1 = 0
        for i, x in enumerate(v):
            s0 ^= x
            s1 ^= gmul(EXP[(len(v) - 1 - i) % 255], x)
        return s0 == 0 and s1 == 0

    p_ok = q_ok = True
    for b in (0, 1):

        def word(n: int, b: int = b) -> int:
            return s[12 + 2 * n + b]

        for np_ in range(43):
            p_ok &= ok([word(43 * mp + np_) for mp in range(26)])
        for nq in range(26):
            v = [word((44 * mq + 43 * nq) % 1118) for mq in range(43)]
            q_ok &= ok([*v, word(1118 + nq), word(1144 + nq)])
    return p_ok, q_ok


def rand(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


# ---- addresses --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lba", "expected"),
    [
        (0, "00020001"),
        (16, "00021601"),
        (4350, "01000001"),  # 4500 frames after 00:00:00
        (-150, "00000001"),  # the first pregap sector
        (-151, "99597401"),  # lead-in addresses count down from 100 minutes
        (449_849, "99597401"),
    ],
)
def test_header_is_bcd_msf_of_lba_plus_150(lba: int, expected: str) -> None:
    assert cd.header(lba, 1).hex() == expected


# ---- public vectors ---------------------------------------------------------------------------
def test_public_vectors_for_an_all_zero_mode1_sector_at_lba_0() -> None:
    # Pinned by an independent project from ECMA-130 and checked against a real disc's sector
    s = cd.encode(bytes(2048), 0)
    assert s[2064:2068].hex() == "c513682b"
    assert (
        hashlib.sha256(s[2076:]).hexdigest()
        == "619e335e55204ce597079fd54f8df335793665dc098a41cb0c59f36185705394"
    )
    assert (
        hashlib.sha256(s).hexdigest()
        == "b4f18ab66709c9b3fdef2721cc323e031b6728f3ca6c57b7c435c96189222250"
    )
    buf = cd.SYNC + bytes((0x12, 0x34, 0x56, 1)) + bytes(i & 0xFF for i in range(16, 2064))
    assert cd.edc(buf).to_bytes(4, "little").hex() == "ee9c2a0e"


# ---- the standard's definitions ---------------------------------------------------------------
@pytest.mark.parametrize("lba", [0, 1, 74, 75, 4349, 200_000, 449_849])
def test_mode1_sectors_meet_the_definitions(lba: int) -> None:
    user = rand(2048 * 3, lba)
    raw = cd.encode(user, lba)
    for i in range(3):
        s = raw[i * cd.RAW : (i + 1) * cd.RAW]
        assert s[:12] == cd.SYNC and s[12:16] == cd.header(lba + i, 1)
        assert s[16:2064] == user[i * 2048 : (i + 1) * 2048] and s[2068:2076] == bytes(8)
        assert s[2064:2068] == edc_by_division(s[:2064])
        assert syndromes_zero(s, zero_header=False) == (True, True)
    assert cd.check(raw, lba) == [Verdict.OK] * 3


def test_mode2_form1_ecc_leaves_the_header_out_and_edc_covers_16_to_2071() -> None:
    raw = cd.encode(rand(2048 * 2, 7), 5000, SectorMode.MODE2_FORM1)
    for i in range(2):
        s = raw[i * cd.RAW : (i + 1) * cd.RAW]
        assert s[15] == 2 and s[16:20] == s[20:24] and not s[18] & cd.FORM2_BIT
        assert s[2072:2076] == edc_by_division(s[16:2072])
        assert syndromes_zero(s, zero_header=True) == (True, True)
        assert syndromes_zero(s, zero_header=False) != (True, True)  # the header is not coded
    assert cd.check(raw, 5000) == [Verdict.OK] * 2


def test_mode2_form2_edc_is_optional() -> None:
    with_edc = cd.encode(rand(2324, 8), 9, SectorMode.MODE2_FORM2)
    assert with_edc[18] & cd.FORM2_BIT
    assert with_edc[2348:] == edc_by_division(with_edc[16:2348])
    without = cd.encode(rand(2324, 8), 10, SectorMode.MODE2_FORM2, edc_form2=False)
    assert without[2348:] == bytes(4)
    assert cd.check(with_edc + without, 9) == [Verdict.OK, Verdict.UNCHECKED]


def test_a_mixed_batch_gets_each_sector_its_own_verdict() -> None:
    m1 = cd.encode(rand(2048, 1), 100)
    f1 = cd.encode(rand(2048, 2), 101, SectorMode.MODE2_FORM1)
    f2 = cd.encode(rand(2324, 3), 102, SectorMode.MODE2_FORM2)
    f2_bad = bytearray(cd.encode(rand(2324, 4), 103, SectorMode.MODE2_FORM2))
    f2_bad[500] ^= 0x40
    mode0 = cd.SYNC + cd.header(104, 0) + bytes(2336)
    mode0_bad = cd.SYNC + cd.header(105, 0) + b"x" + bytes(2335)
    bad_mode = cd.SYNC + cd.header(106, 7) + bytes(2336)
    batch = m1 + f1 + f2 + bytes(f2_bad) + mode0 + mode0_bad + bad_mode
    assert cd.check(batch, 100) == [
        Verdict.OK,
        Verdict.OK,
        Verdict.OK,
        Verdict.BAD_EDC,
        Verdict.OK,
        Verdict.BAD_MODE,
        Verdict.BAD_MODE,
    ]
    # a Mode 1 track: a Mode 2 sector in it is the wrong mode
    as_mode2 = cd.encode(rand(2048, 5), 101, SectorMode.MODE2_FORM1)
    assert cd.check(m1 + as_mode2, 100, SectorMode.MODE1) == [Verdict.OK, Verdict.BAD_MODE]
    # formless Mode 2: nothing to check beyond sync, address and mode
    formless = cd.encode(rand(2336, 6), 7, SectorMode.MODE2)
    assert cd.check(formless, 7, SectorMode.MODE2) == [Verdict.UNCHECKED]
    assert cd.user_data(formless, SectorMode.MODE2) == rand(2336, 6)


# ---- every byte position, corrupted -----------------------------------------------------------
def position_class(mode: SectorMode, q: int) -> Verdict:
    """The verdict a one-byte corruption at ``q`` must give (the first failing check wins)."""
    if q < 12:
        return Verdict.BAD_SYNC
    if q < 15:
        return Verdict.BAD_ADDRESS
    if q == 15:
        return Verdict.BAD_MODE
    if mode is SectorMode.MODE1:
        return Verdict.BAD_EDC if q < 2068 else Verdict.BAD_ECC  # zero field, P, Q: ECC
    if mode is SectorMode.MODE2_FORM1:
        return Verdict.BAD_EDC if q < 2076 else Verdict.BAD_ECC
    return Verdict.BAD_EDC  # Form 2: EDC covers 16-2347 and is itself at 2348-2351


@pytest.mark.parametrize(
    "mode", [SectorMode.MODE1, SectorMode.MODE2_FORM1, SectorMode.MODE2_FORM2], ids=str
)
def test_every_corrupted_byte_is_caught_with_the_right_verdict(mode: SectorMode) -> None:
    size = cd.FORM2_USER if mode is SectorMode.MODE2_FORM2 else cd.USER
    lba = 3000
    # 2352 sectors at LBAs 3000.., the same user data in each; sector q gets byte q flipped
    batch = bytearray(cd.encode(rand(size, 11) * cd.RAW, lba, mode))
    for q in range(cd.RAW):
        batch[q * cd.RAW + q] ^= 0x01
    verdicts = cd.check(batch, lba)
    expected = [position_class(mode, q) for q in range(cd.RAW)]
    wrong = [(q, v, e) for q, (v, e) in enumerate(zip(verdicts, expected, strict=True)) if v != e]
    assert not wrong, wrong[:10]


def test_the_batch_checker_finds_scattered_bad_sectors_among_good_ones() -> None:
    n = 300
    raw = bytearray(cd.encode(rand(2048 * n, 21), 1000))
    rng = random.Random(22)
    bad = sorted(rng.sample(range(n), 12))
    for i in bad:  # a burst of 1-40 wrong bytes somewhere in the sector
        at = rng.randrange(16, cd.RAW - 40)
        for k in range(rng.randrange(1, 41)):
            raw[i * cd.RAW + at + k] ^= rng.randrange(1, 256)
    verdicts = cd.check(raw, 1000)
    assert [i for i, v in enumerate(verdicts) if not v.good] == bad
    assert all(verdicts[i] in (Verdict.BAD_EDC, Verdict.BAD_ECC) for i in bad)
    assert cd.check(raw, 1001)[0] is Verdict.BAD_ADDRESS  # the same data one LBA off


def test_user_data_and_bad_input() -> None:
    raw = cd.encode(b"A" * 2048, 0) + cd.encode(b"B" * 2048, 1, SectorMode.MODE2_FORM1)
    assert cd.user_data(raw[: cd.RAW]) == b"A" * 2048
    assert cd.user_data(raw[cd.RAW :]) == b"B" * 2048
    f2 = cd.encode(b"C" * 2324, 2, SectorMode.MODE2_FORM2)
    assert cd.user_data(f2) == b"C" * 2324
    with pytest.raises(ValueError):
        cd.user_data(cd.SYNC + cd.header(0, 9) + bytes(2336))
    with pytest.raises(ValueError):
        cd.check(raw[:-1], 0)
    with pytest.raises(ValueError):
        cd.encode(b"x" * 100, 0)
    assert cd.check_sector(raw[: cd.RAW], 0) is Verdict.OK


# ---- judges we did not write ------------------------------------------------------------------
def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        msg = f"{tool} is required (apt install {package})"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


MPEG_PACK = 2324


def _bits(fields: list[tuple[int, int]]) -> bytes:
    v = n = 0
    for width, val in fields:
        v, n = (v << width) | (val & ((1 << width) - 1)), n + width
    return v.to_bytes(n // 8, "big")


def tiny_mpeg(packs: int) -> bytes:
    """An MPEG-1 system stream vcdimager accepts as a VCD sequence: 2324-byte packs (one per
    Form 2 sector), a system header, a video packet with sequence/GOP/picture headers, and
    padding packets. It plays nothing; it only has to be muxed."""
    mux = 3528  # 75 sectors/s * 2352 / 50

    def pack_header(scr: int) -> bytes:
        scr_bits = [(4, 2), (3, scr >> 30), (1, 1), (15, scr >> 15), (1, 1), (15, scr), (1, 1)]
        return b"\x00\x00\x01\xba" + _bits([*scr_bits, (1, 1), (22, mux), (1, 1)])

    rates = [(1, 1), (22, mux), (1, 1), (6, 1), (1, 0), (1, 1), (1, 1), (1, 1), (1, 1), (5, 1)]
    streams = [(8, 0xE0), (2, 3), (1, 1), (13, 46), (8, 0xC0), (2, 3), (1, 0), (13, 32)]
    sysh = _bits([*rates, (8, 0xFF), *streams])
    system = b"\x00\x00\x01\xbb" + len(sysh).to_bytes(2, "big") + sysh
    seq = b"\x00\x00\x01\xb3" + _bits(
        [(12, 352), (12, 240), (4, 12), (4, 4), (18, 2875), (1, 1), (10, 20), (3, 0)]
    )
    gop = b"\x00\x00\x01\xb8" + _bits([(1, 0), (5, 0), (6, 0), (1, 1), (12, 0), (1, 1), (6, 0)])
    pic = b"\x00\x00\x01\x00" + _bits([(10, 0), (3, 1), (16, 0xFFFF), (3, 0)])
    out = bytearray()
    for i in range(packs):
        p = pack_header(i * 1200) + (system if i == 0 else b"")
        if i % 15 == 0:
            pts = i * 3003 + 9000
            body = _bits(
                [(4, 2), (3, pts >> 30), (1, 1), (15, pts >> 15), (1, 1), (15, pts), (1, 1)]
            )
            body += seq + gop + pic + b"\x00\x00\x01\x01" + b"\x55" * 32
            p += b"\x00\x00\x01\xe0" + len(body).to_bytes(2, "big") + body
        pad = MPEG_PACK - len(p)
        p += b"\x00\x00\x01\xbe" + (pad - 6).to_bytes(2, "big") + b"\xff" * (pad - 6)
        out += p
    return bytes(out)


VCD_XML = """<?xml version="1.0"?>
<!DOCTYPE videocd PUBLIC "-//GNU//DTD VideoCD//EN" "http://www.gnu.org/software/vcdimager/videocd.dtd">
<videocd xmlns="http://www.gnu.org/software/vcdimager/1.0/" class="vcd" version="2.0">
  <info><album-id>JUDGE</album-id><volume-count>1</volume-count><volume-number>1</volume-number>
    <restriction>0</restriction></info>
  <pvd><volume-id>JUDGE</volume-id><system-id>CD-RTOS CD-BRIDGE</system-id></pvd>
  <filesystem><folder><name>DATA</name>
    <file src="data.bin"><name>DATA.BIN</name></file></folder></filesystem>
  <sequence-items><sequence-item src="m.mpg" id="seq-00"/></sequence-items>
</videocd>
"""


def test_vcdimager_writes_the_same_mode2_sectors_we_do(tmp_path: Path) -> None:
    vcdxbuild = need("vcdxbuild", "vcdimager")
    user = rand(2048 * 5 + 700, 31)
    (tmp_path / "data.bin").write_bytes(user)
    (tmp_path / "m.mpg").write_bytes(tiny_mpeg(120))
    (tmp_path / "v.xml").write_text(VCD_XML)
    subprocess.run([vcdxbuild, "-q", "v.xml"], cwd=tmp_path, check=True, capture_output=True)
    raw = (tmp_path / "videocd.bin").read_bytes()
    n = len(raw) // cd.RAW
    verdicts = cd.check(raw, 0)
    kinds = [cd.kind(raw[i * cd.RAW : (i + 1) * cd.RAW]) for i in range(n)]
    assert set(verdicts) == {Verdict.OK}  # every sector vcdimager wrote proves itself
    assert kinds.count(SectorMode.MODE2_FORM1) > 100 and kinds.count(SectorMode.MODE2_FORM2) > 100
    # Our file's sectors (Form 1) and every Form 2 sector, re-encoded by us from their user data
    # and subheader at their LBA, equal vcdimager's byte for byte.
    first = raw.find(user[:2048]) // cd.RAW
    for k in range(6):
        s = raw[(first + k) * cd.RAW : (first + k + 1) * cd.RAW]
        chunk = user[k * 2048 : (k + 1) * 2048].ljust(2048, b"\0")
        assert cd.encode(chunk, first + k, SectorMode.MODE2_FORM1, subheader=s[16:20]) == s
    form2 = [i for i in range(n) if kinds[i] is SectorMode.MODE2_FORM2]
    for i in form2:
        s = raw[i * cd.RAW : (i + 1) * cd.RAW]
        assert cd.encode(s[24:2348], i, SectorMode.MODE2_FORM2, subheader=s[16:20]) == s
    # and a byte changed anywhere in one of them is caught
    hurt = bytearray(raw)
    hurt[form2[3] * cd.RAW + 1000] ^= 0x08
    hurt[(first + 1) * cd.RAW + 2200] ^= 0x08
    bad = [i for i, v in enumerate(cd.check(bytes(hurt), 0)) if not v.good]
    assert bad == sorted([form2[3], first + 1])


def chd_size(tmp_path: Path, name: str, data: bytes, mode: str) -> int:
    (tmp_path / name).write_bytes(data)
    cue = tmp_path / f"{name}.cue"
    cue.write_text(f'FILE "{name}" BINARY\n  TRACK 01 {mode}\n    INDEX 01 00:00:00\n')
    out = tmp_path / f"{name}.chd"
    chdman = need("chdman", "mame-tools")
    subprocess.run(
        [chdman, "createcd", "-i", str(cue), "-o", str(out), "-c", "cdzl", "-f"],
        check=True,
        capture_output=True,
    )
    return out.stat().st_size


@pytest.mark.parametrize("lba", [0, 16, 123_456])
def test_mame_chdman_accepts_our_mode1_ecc(tmp_path: Path, lba: int) -> None:
    """chdman stores a raw sector without its sync and ECC only when MAME's own check says it
    can regenerate them (cdrom_file::ecc_verify). With random user data, each sector it cannot
    regenerate costs ~290 more bytes of CHD. So: our 4 sectors must cost ~290 bytes each *less*
    than the same 4 with one Q byte broken, i.e. MAME accepted every one of ours."""
    need("chdman", "mame-tools")
    n = 4
    ours = cd.encode(rand(2048 * n, lba), lba)
    broken = bytearray(ours)
    for i in range(n):
        broken[i * cd.RAW + 2300] ^= 0x5A
    good = chd_size(tmp_path, "ours.bin", ours, "MODE1/2352")
    bad = chd_size(tmp_path, "broken.bin", bytes(broken), "MODE1/2352")
    assert bad - good > 250 * n, (good, bad)  # were one of ours refused: < 300 * (n - 1)
    # the round trip gives our bytes back (MAME regenerated sync and ECC for every sector)
    chdman = need("chdman", "mame-tools")
    subprocess.run(
        [chdman, "extractcd", "-i", "ours.bin.chd", "-o", "x.cue", "-ob", "x.bin", "-f"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "x.bin").read_bytes() == ours


def test_bchunk_extracts_the_user_data_we_put_in(tmp_path: Path) -> None:
    bchunk = need("bchunk", "bchunk")
    user = rand(2048 * 20, 41)
    (tmp_path / "d.bin").write_bytes(cd.encode(user, 0))
    (tmp_path / "d.cue").write_text(
        'FILE "d.bin" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n'
    )
    subprocess.run([bchunk, "d.bin", "d.cue", "out"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "out01.iso").read_bytes() == user
