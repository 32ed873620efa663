"""READ CD and its companions as bytes on the wire, CD-Text packs, the offset table, the
BIN/CUE sheet, and the per-file hashing of an output — the pure parts of issue 16."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

from app.core.base.companions import Companions
from app.core.disc import cdtext, cue, offsets
from app.core.disc.cdtext import DiscInfo
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.sources import ReadError, SourceGone
from app.core.rescue.output import Part, PartHasher
from app.platform import readcd
from tests.vm.usbdrive.disc import Sense


def test_read_cd_cdb_asks_for_the_track_type_and_the_fields() -> None:
    # Mode 1, LBA 0x12345, 27 sectors, sync + headers + user data + EDC/ECC, C2 + block error
    cdb = readcd.read_cd_cdb(0x12345, 27, 2, 0xF8 | 0x04)
    assert cdb == bytes([0xBE, 0x08, 0, 1, 0x23, 0x45, 0, 0, 27, 0xFC, 0, 0])
    assert readcd.read_cd_cdb(0, 1, 1, 0x10)[1] == 0x04 and len(cdb) == 12


def test_capabilities_from_feature_001e_and_page_2a() -> None:
    feature = bytes(8) + bytes([0x00, 0x1E, 0x09, 0x04, 0x03, 0, 0, 0])
    assert readcd.parse_cd_read_feature(feature) == (True, True, True)
    assert readcd.parse_cd_read_feature(bytes(8) + bytes([0, 0x1F, 1, 4, 0, 0, 0, 0])) is None
    page = bytes(8) + bytes([0x2A, 28, 0, 0, 0, 0x13]) + bytes(24)
    assert readcd.parse_page_2a(page) == {
        "cdda": True, "accurate": True, "c2": True, "isrc": False, "upc": False
    }  # fmt: skip


class FakeError(OSError):
    def __init__(self, sense: str) -> None:
        super().__init__(5, f"sense {sense}")
        self.sense = Sense.parse(sense)


def transport(answer: object) -> readcd.MmcTransport:
    def send(cdb: bytes, length: int) -> bytes:
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, bytes)
        return answer[:length]

    return readcd.MmcTransport(send, 120 * 1024, c2=True)


def test_c2_pointers_are_split_from_each_sector() -> None:
    s1, s2 = bytes([1]) * 2352, bytes([2]) * 2352
    p1, p2 = bytes(294), bytes([0x80]) + bytes(293)
    wire = s1 + p1 + b"\0\0" + s2 + p2 + b"\x01\0"
    raw, flags = transport(wire).read_cd(10, 2, 1, True)
    assert raw == s1 + s2 and flags == p1 + p2


@pytest.mark.parametrize(
    ("sense", "error"),
    [("03/11/00", ReadError), ("02/3A/00", SourceGone), ("05/20/00", readcd.RawUnsupported)],
)
def test_sense_sorts_a_failed_read_cd(sense: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        transport(FakeError(sense)).read_cd(0, 1, 2, False)


def test_usb_sized_commands_fit_120_kib_with_c2() -> None:
    t = transport(b"")
    assert t.max_sectors * (2352 + 296) <= 120 * 1024 < (t.max_sectors + 1) * (2352 + 296)


def test_mcn_and_isrc_replies() -> None:
    mcn = bytes([0, 0, 0, 20, 2, 0, 0, 0, 0x80]) + b"4006381333931" + bytes(2)
    assert cdtext.parse_mcn(mcn) == "4006381333931"
    assert cdtext.parse_mcn(mcn[:8] + b"\0" + mcn[9:]) == ""  # MCVal clear
    isrc = bytes([0, 0, 0, 20, 3, 0x10, 2, 0, 0x80]) + b"DEDV10000002" + bytes(3)
    assert cdtext.parse_isrc(isrc) == "DEDV10000002"


def test_cd_text_packs_round_trip_and_a_bad_crc_is_skipped() -> None:
    texts = {
        cdtext.TITLE: {0: "Album of a rather long name", 1: "One", 2: "Two"},
        cdtext.PERFORMER: {0: "Band", 1: "", 2: "Guest"},
    }
    reply = cdtext.build_packs(texts)
    info = cdtext.parse_cdtext(reply)
    assert (info.title, info.performer) == ("Album of a rather long name", "Band")
    assert info.tracks == {1: {"title": "One"}, 2: {"title": "Two", "performer": "Guest"}}
    broken = bytearray(reply)
    broken[4 + 18 * 0 + 17] ^= 0xFF  # first pack's CRC
    assert cdtext.parse_cdtext(bytes(broken)).title != "Album of a rather long name"


def test_cd_text_crc_is_crc16_ccitt_xmodem() -> None:
    assert cdtext.crc16(b"123456789") == 0x31C3  # the catalogue's check value


def test_offset_table_by_inquiry_strings() -> None:
    assert offsets.lookup("PLEXTOR ", "DVDR   PX-716A  ") == 30
    assert offsets.lookup("HL-DT-ST", "no such drive") is None
    assert offsets.lookup("MATSHITA", "DVD-RAM UJ8E2") == 103  # AccurateRip says Panasonic
    assert offsets.resolve(None, "ASUS", "DRW-24B1ST") == offsets.ReadOffset(6, "table")
    assert offsets.resolve(-12, "ASUS", "DRW-24B1ST") == offsets.ReadOffset(-12, "user")
    unknown = offsets.resolve(None, "DISCVLT", "MMC MODEL USB")
    assert not unknown.known and "--read-offset" in unknown.describe("DISCVLT MMC MODEL USB")


def mixed_layout() -> DiscLayout:
    t1 = Track(1, 1, 0, 1000, TrackKind.MODE1)
    t2 = Track(2, 1, 1000, 500, TrackKind.AUDIO, pregap=150)
    t3 = Track(3, 1, 1500, 300, TrackKind.AUDIO)
    s1 = Session(1, (t1, t2, t3), 1800)
    t4 = Track(4, 2, 1800 + 11400, 200, TrackKind.MODE2)
    return DiscLayout((s1, Session(2, (t4,), 13400)), "toc", "CD")


def test_bin_cue_sheet_round_trips_and_reads_without_our_layout_line() -> None:
    layout = mixed_layout()
    names = {n: f"G (Track {n}).bin" for n in (1, 2, 3, 4)}
    info = DiscInfo(mcn="4006381333931", title="G")
    info.track(2)["isrc"] = "DEDV10000002"
    text = cue.bincue_text(layout, names, info)
    assert "REM SESSION 02" in text and "REM LEAD-IN" in text and "CATALOG 4006381333931" in text
    sheet = cue.parse(text)
    assert sheet.layout == layout and sheet.exact and len(sheet.files) == 4
    plain = "\n".join(ln for ln in text.splitlines() if "DISCVAULT" not in ln)
    other = cue.parse(plain)
    assert not other.exact
    # from the files' lengths alone (Redump's sheets carry no layout line)
    got = cue.with_sizes(other, [850, 650, 300, 200])
    assert [(t.number, t.start, t.length, t.pregap) for t in got.tracks] == [
        (t.number, t.start, t.length, t.pregap) for t in layout.tracks
    ]


def test_part_hasher_hashes_each_file_in_order_and_steps_over_gaps() -> None:
    parts = [Part("a", 0, 3), Part("b", 5, 7)]
    h = PartHasher(parts, 4)
    h.feed(0, b"AAAABBBB")
    h.feed(2, b"CCCCxxxxyyyyDDDD")  # 3, 4 lie between the files
    h.feed(6, b"EEEE")
    got = h.finish(parts)
    assert got[0]["sha1"] == hashlib.sha1(b"AAAABBBBCCCC").hexdigest()
    assert got[1]["crc32"] == f"{zlib.crc32(b'DDDDEEEE'):08x}"
    late = PartHasher(parts, 4)
    late.feed(1, b"BBBB")  # out of order: hashes come from the files instead
    assert late.finish(parts) == {}


def test_checksum_files_list_every_track(tmp_path: Path) -> None:
    from app.core.rescue.output import FileResult
    from app.core.rescue.report import write_file_sidecars

    comp = Companions.of(str(tmp_path / "G.cue"))
    files = [
        FileResult(Part(str(tmp_path / f"G (Track {n}).bin"), 0, 1), 2352, {"md5": f"{n:032x}"})
        for n in (1, 2)
    ]
    write_file_sidecars(comp, files)
    assert (tmp_path / "G.cue.md5").read_text() == (
        f"{1:032x}  G (Track 1).bin\n{2:032x}  G (Track 2).bin\n"
    )


def test_raw_plan_keeps_audio_as_data_past_the_filesystems_end() -> None:
    from app.core.disc import plan as planmod
    from app.core.disc.claims import Claim, Claims

    layout = mixed_layout()
    claims = Claims()
    claims.add(Claim("iso9660", 0, 700))
    raw = planmod.make(layout, claims, 13400, raw=True)
    assert raw.sectors == 13400  # to the end of the last track, audio and all
    assert raw.kind_at(800).value == "run-out"  # track 1 past its filesystem: holds nothing
    assert raw.kind_at(1200).value == "data" and raw.kind_at(1700).value == "data"  # audio
    assert raw.kind_at(5000).value == "session gap"
    iso = planmod.make(layout, claims, 13400)
    assert iso.kind_at(1200).value in ("audio", "run-out")  # an .iso never reads audio
