"""The emulated drive's firmware (tests/vm/usbdrive), on the host: its MMC answers byte by byte.

The VM tests trust this model to be a drive; these tests pin what it says, so that a TOC the
kernel reads in the guest is the TOC the description asked for.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path

import pytest

from app.core.disc import cdsector
from tests.vm.usbdrive import control
from tests.vm.usbdrive.disc import Disc, Sense
from tests.vm.usbdrive.mmc import Drive, LogEntry
from tests.vm.usbdrive.scsi import Reply, msf
from tests.vm.usbdrive.sgprobe import Probe, model_run

GAP = 6750 + 4500 + 150
S1_LEN = 22  # 20 sectors of data + 2 run-out
S2 = S1_LEN + GAP


def sector(lba: int, size: int = 2048) -> bytes:
    return (f"<LBA {lba:08d}>".encode() * (size // 14 + 1))[:size]


def backing(path: Path, first_lba: int, count: int, size: int = 2048) -> Path:
    path.write_bytes(b"".join(sector(first_lba + i, size) for i in range(count)))
    return path


def two_sessions(tmp_path: Path, **extra: object) -> dict[str, object]:
    backing(tmp_path / "s1.iso", 0, 20)
    backing(tmp_path / "s2.iso", S2, 30)
    doc: dict[str, object] = {
        "profile": "CD-R",
        "sessions": [
            {
                "tracks": [
                    {"kind": "mode1", "start": 0, "length": S1_LEN, "file": "s1.iso", "runout": 2}
                ]
            },
            {
                "tracks": [
                    {"kind": "mode1", "start": S2, "length": 32, "file": "s2.iso", "runout": 2}
                ]
            },
        ],
        "defects": [{"lba": 5, "sense": "03/11/00"}, {"lba": 7, "count": 2, "fails": 2}],
    }
    doc.update(extra)
    return doc


def make_drive(tmp_path: Path, doc: Mapping[str, object]) -> Drive:
    (tmp_path / "disc.json").write_text(json.dumps(doc))
    return Drive(Disc.load(tmp_path / "disc.json"))


@pytest.fixture
def drive(tmp_path: Path) -> Drive:
    return make_drive(tmp_path, two_sessions(tmp_path))


def run(d: Drive, *cdb: int, out: bytes = b"") -> Reply:
    return d.execute(bytes(cdb), out)


def sense_of(r: Reply) -> str:
    assert not r.good, r
    return str(r.sense)


def read10(d: Drive, lba: int, count: int) -> Reply:
    return d.execute(
        bytes([0x28, 0]) + lba.to_bytes(4, "big") + bytes([0]) + count.to_bytes(2, "big") + b"\0"
    )


def toc(
    d: Drive, fmt: int, msf_bit: bool = False, start: int = 0, alloc: int = 1024, byte9: int = 0
) -> Reply:
    return run(d, 0x43, 2 if msf_bit else 0, fmt, 0, 0, 0, start, alloc >> 8, alloc & 0xFF, byte9)


# ---- the description ------------------------------------------------------------------------
def test_description_defaults_and_relative_files(tmp_path: Path, drive: Drive) -> None:
    disc = drive.disc
    assert disc is not None
    assert (disc.profile, disc.medium, disc.capacity) == (0x09, "CD", S2 + 32)
    t1, t2 = disc.tracks
    assert (t1.number, t1.session, t1.file, t1.control) == (1, 1, tmp_path / "s1.iso", 4)
    assert (t2.number, t2.session, t2.start, t2.runout) == (2, 2, S2, 2)
    assert disc.sessions[0].leadout == S1_LEN


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"profile": "LaserDisc"}, "unknown profile"),
        ({"sessions": []}, "at least one session"),
        (
            {"sessions": [{"tracks": [{"start": 0, "length": 10}, {"start": 5, "length": 10}]}]},
            "overlaps",
        ),
        ({"sessions": [{"leadout": 5, "tracks": [{"start": 0, "length": 10}]}]}, "lead-out"),
        ({"sessions": [{"tracks": [{"start": 0, "length": 4, "runout": 5}]}]}, "run-out"),
        (
            {
                "sessions": [
                    {"tracks": [{"start": 0, "length": 4}, {"number": 1, "start": 4, "length": 4}]}
                ]
            },
            "rise",
        ),
        (
            {
                "profile": "DVD-ROM",
                "sessions": [{"tracks": [{"kind": "audio", "start": 0, "length": 4}]}],
            },
            "audio",
        ),
        ({"css": {"scrambled": [[0, 1]]}}, "DVD"),
        ({"defects": [{"lba": 1, "sense": "3/11"}]}, "KEY/ASC/ASCQ"),
        ({"sessions": [{"tracks": [{"kind": "vinyl", "start": 0, "length": 4}]}]}, "malformed"),
        ({"sessions": [{"tracks": [{"length": 4}]}]}, "malformed"),
    ],
)
def test_bad_descriptions_say_what_is_wrong(
    tmp_path: Path, change: dict[str, object], words: str
) -> None:
    doc = {"profile": "CD-ROM", "sessions": [{"tracks": [{"start": 0, "length": 4}]}], **change}
    with pytest.raises(ValueError, match=words):
        Disc.from_dict(doc, tmp_path)


def test_unreadable_description_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"x\.json: cannot read"):
        Disc.load(tmp_path / "x.json")


# ---- identity and readiness -----------------------------------------------------------------
def test_inquiry_is_a_removable_mmc_device_with_a_serial(drive: Drive) -> None:
    r = run(drive, 0x12, 0, 0, 0, 36, 0)
    assert r.good and len(r.data) == 36
    assert (r.data[0], r.data[1], r.data[4]) == (0x05, 0x80, 31)
    assert r.data[8:16] == b"DISCVLT "
    serial = run(drive, 0x12, 1, 0x80, 0, 64, 0)
    assert serial.data[1] == 0x80 and serial.data[4:] == b"DV0001"
    assert sense_of(run(drive, 0x12, 1, 0x83, 0, 64, 0)) == "05/24/00"
    assert sense_of(run(drive, 0x12, 0, 0x80, 0, 64, 0)) == "05/24/00"  # page without EVPD


def test_tray_states_reach_test_unit_ready_and_a_new_disc_is_a_unit_attention(
    tmp_path: Path, drive: Drive
) -> None:
    assert run(drive, 0, 0, 0, 0, 0, 0).good
    assert drive.press_eject()
    assert sense_of(run(drive, 0, 0, 0, 0, 0, 0)) == "02/3A/02"  # tray open
    drive.remove()
    drive.close_tray()
    assert sense_of(run(drive, 0, 0, 0, 0, 0, 0)) == "02/3A/01"  # closed, empty
    assert sense_of(read10(drive, 0, 1)) == "02/3A/01"
    drive.load(Disc.load(tmp_path / "disc.json"))
    assert sense_of(run(drive, 0x25, *bytes(9))) == "06/28/00"  # once...
    assert run(drive, 0x25, *bytes(9)).good  # ...then the disc is there
    # INQUIRY and GET CONFIGURATION never report the attention
    drive.load(Disc.load(tmp_path / "disc.json"))
    assert run(drive, 0x12, 0, 0, 0, 36, 0).good
    assert run(drive, 0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0).good
    assert sense_of(run(drive, 0, 0, 0, 0, 0, 0)) == "06/28/00"


def test_read_capacity_is_the_last_lba_before_the_last_lead_out(drive: Drive) -> None:
    r = run(drive, 0x25, *bytes(9))
    assert struct.unpack(">II", r.data) == (S2 + 32 - 1, 2048)
    assert sense_of(run(drive, 0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0)) == "05/24/00"  # LBA w/o PMI


# ---- reads ----------------------------------------------------------------------------------
def test_reads_return_the_backing_bytes_at_absolute_lbas(drive: Drive) -> None:
    assert read10(drive, 0, 5).data == b"".join(sector(i) for i in range(5))
    assert read10(drive, S2, 3).data == b"".join(sector(S2 + i) for i in range(3))
    r12 = drive.execute(
        bytes([0xA8, 0]) + (S2 + 10).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"\0\0"
    )
    assert r12.data == sector(S2 + 10) + sector(S2 + 11)
    # past the backing file but inside the track: zeros (a real track's padding)
    assert read10(drive, S2 + 30, 0).good
    assert read10(drive, 0, 0).data == b""


def test_a_medium_error_keeps_the_good_sectors_and_names_the_bad_lba(drive: Drive) -> None:
    r = read10(drive, 2, 6)
    assert sense_of(r) == "03/11/00" and r.info == 5
    assert r.data == sector(2) + sector(3) + sector(4)
    # usb-storage asks at once: the same sense, VALID with the LBA in INFORMATION
    s = run(drive, 0x03, 0, 0, 0, 18, 0).data
    assert (s[0], s[2], s[12], s[13]) == (0xF0, 0x03, 0x11, 0x00)
    assert int.from_bytes(s[3:7], "big") == 5
    assert run(drive, 0x03, 0, 0, 0, 18, 0).data[2] == 0  # read once, then no sense
    assert sense_of(read10(drive, 5, 1)) == "03/11/00"  # "always" stays bad


def test_a_flaky_sector_fails_its_count_then_reads(drive: Drive) -> None:
    for _ in range(2):
        assert sense_of(read10(drive, 8, 1)) == "03/11/00"
    assert read10(drive, 8, 1).data == sector(8)
    assert drive.failures[8] == 2 and drive.failures[7] == 0
    r = read10(drive, 6, 3)  # LBA 7 still has its two failures to give
    assert r.info == 7 and r.data == sector(6)


def test_runout_gap_and_end_of_disc_answer_their_senses(tmp_path: Path) -> None:
    d = make_drive(tmp_path, two_sessions(tmp_path, gap_sense="03/02/00", defects=[]))
    r = read10(d, 18, 3)  # 18, 19 data; 20, 21 run-out
    assert sense_of(r) == "05/64/00" and r.info == 20 and len(r.data) == 2 * 2048
    assert sense_of(read10(d, S1_LEN, 1)) == "03/02/00"  # first lead-out sector
    assert sense_of(read10(d, S2 - 1, 1)) == "03/02/00"  # last pregap sector
    assert sense_of(read10(d, S2 + 31, 1)) == "05/64/00"  # session 2 run-out
    r = read10(d, S2 + 31, 2)  # one past the end: refused before any transfer
    assert sense_of(r) == "05/21/00" and r.data == b"" and r.info is None


def test_audio_is_illegal_for_read10_and_whole_for_read_cd(tmp_path: Path) -> None:
    backing(tmp_path / "a.raw", 0, 40, 2352)
    backing(tmp_path / "d.iso", 40 + GAP, 10)
    doc = {
        "sessions": [
            {"tracks": [{"kind": "audio", "start": 0, "length": 40, "file": "a.raw"}]},
            {"tracks": [{"kind": "mode2", "start": 40 + GAP, "length": 10, "file": "d.iso"}]},
        ]
    }
    d = make_drive(tmp_path, doc)
    assert sense_of(read10(d, 3, 1)) == "05/64/00"
    read_cd = bytes([0xBE, 0x04, 0, 0, 0, 3, 0, 0, 2, 0xF8, 0, 0])  # CD-DA, 2 sectors
    assert d.execute(read_cd).data == sector(3, 2352) + sector(4, 2352)
    user = bytes([0xBE, 0]) + (40 + GAP).to_bytes(4, "big") + bytes([0, 0, 1, 0x10, 0, 0])
    assert d.execute(user).data == sector(40 + GAP)
    raw_data = user[:9] + b"\xf8\0\0"  # sync, headers, EDC/ECC: a whole Form 1 sector
    raw = d.execute(raw_data).data
    assert cdsector.check(raw, 40 + GAP) == [cdsector.Verdict.OK]
    assert cdsector.user_data(raw) == sector(40 + GAP)
    assert read10(d, 40 + GAP, 1).data == sector(40 + GAP)  # Mode 2 Form 1 user data


# ---- the TOC --------------------------------------------------------------------------------
def test_toc_format_0_lists_tracks_and_the_last_lead_out(drive: Drive) -> None:
    r = toc(drive, 0)
    assert r.data == bytes.fromhex(
        "001a0102001401000000000000140200" + f"{S2:08x}" + "0014aa00" + f"{S2 + 32:08x}"
    )
    m = toc(drive, 0, msf_bit=True)
    assert m.data[8:12] == bytes([0, *msf(0)]) == b"\0\0\x02\0"
    assert m.data[16:20] == bytes([0, *msf(S2)])
    assert toc(drive, 0, start=2).data[:12] == bytes.fromhex("0012010200140200") + S2.to_bytes(
        4, "big"
    )
    assert toc(drive, 0, start=0xAA).data == bytes.fromhex("000a01020014aa00") + (S2 + 32).to_bytes(
        4, "big"
    )
    assert sense_of(toc(drive, 0, start=3)) == "05/24/00"
    short = toc(drive, 0, alloc=4)
    assert short.data == bytes.fromhex("001a0102")  # cut to the allocation; length says all


def test_session_info_answers_both_the_mmc_and_the_old_kernel_way(drive: Drive) -> None:
    want = bytes.fromhex("000a010200140200") + S2.to_bytes(4, "big")
    assert toc(drive, 1, alloc=12).data == want
    assert toc(drive, 0, alloc=12, byte9=0x40).data == want  # Linux sr_cd_check's CDB
    m = toc(drive, 1, msf_bit=True, alloc=12).data
    assert m[8:12] == bytes([0, *msf(S2)])


def test_full_toc_has_a0_a1_a2_points_and_b0_per_session(drive: Drive) -> None:
    data = toc(drive, 2).data
    assert int.from_bytes(data[:2], "big") == len(data) - 2 and data[2:4] == b"\x01\x02"
    entries = [data[i : i + 11] for i in range(4, len(data), 11)]
    by = {(e[0], e[3]): e for e in entries}
    assert [(e[0], e[3]) for e in entries] == [
        (1, 0xA0), (1, 0xA1), (1, 0xA2), (1, 1), (1, 0xB0),
        (2, 0xA0), (2, 0xA1), (2, 0xA2), (2, 2),
    ]  # fmt: skip
    assert by[1, 0xA0][8:10] == b"\x01\x00"  # first track 1, disc type CD-ROM
    assert by[2, 0xA1][8] == 2
    assert tuple(by[1, 0xA2][8:11]) == msf(S1_LEN)
    assert tuple(by[2, 0xA2][8:11]) == msf(S2 + 32)
    assert tuple(by[2, 2][8:11]) == msf(S2)
    b0 = by[1, 0xB0]
    assert b0[1] >> 4 == 5 and tuple(b0[4:7]) == msf(S2 - 150) and tuple(b0[8:11]) == (79, 59, 74)
    assert all(e[1] == 0x14 for e in entries if e[3] != 0xB0)
    assert toc(drive, 2, start=2).data[4] == 2  # from session 2 on
    assert toc(drive, 0, byte9=0x80).data == data  # old-style full TOC


def test_an_appendable_disc_has_b0_in_its_last_session_too(tmp_path: Path) -> None:
    d = make_drive(tmp_path, two_sessions(tmp_path, appendable=True))
    data = toc(d, 2).data
    points = [(data[i], data[i + 3]) for i in range(4, len(data), 11)]
    assert (2, 0xB0) in points
    info = run(d, 0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0).data
    assert info[2] & 0x03 == 0b01  # incomplete (appendable)


def test_disc_and_track_information(drive: Drive) -> None:
    info = run(drive, 0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0).data
    assert len(info) == 34 and info[0:2] == b"\x00\x20"
    assert (info[2], info[3], info[4], info[5], info[6]) == (0x0E, 1, 2, 2, 2)
    assert info[16:24] == b"\xff" * 8
    by_track = run(drive, 0x52, 1, 0, 0, 0, 2, 0, 0, 48, 0).data
    assert (by_track[2], by_track[3], by_track[5], by_track[6] & 0x0F) == (2, 2, 4, 1)
    assert struct.unpack(">I", by_track[8:12])[0] == S2
    assert struct.unpack(">I", by_track[24:28])[0] == 32
    by_lba = run(drive, 0x52, 0, 0, 0, 0, 3, 0, 0, 48, 0).data
    assert by_lba[2] == 1
    by_session = run(drive, 0x52, 2, 0, 0, 0, 2, 0, 0, 48, 0).data
    assert by_session == by_track
    assert sense_of(run(drive, 0x52, 1, 0, 0, 0, 3, 0, 0, 48, 0)) == "05/24/00"
    assert sense_of(run(drive, 0x52, 0, 0, 0, 0x10, 0, 0, 0, 48, 0)) == "05/24/00"  # in a gap


# ---- configuration, events, settings --------------------------------------------------------
def features_of(data: bytes) -> dict[int, bytes]:
    out, p = {}, 8
    while p + 4 <= len(data):
        code, n = int.from_bytes(data[p : p + 2], "big"), data[p + 3]
        out[code] = data[p : p + 4 + n]
        p += 4 + n
    return out


def test_get_configuration_reports_the_profile_and_current_features(drive: Drive) -> None:
    everything = run(drive, 0x46, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0).data
    assert int.from_bytes(everything[:4], "big") == len(everything) - 4
    assert everything[6:8] == b"\x00\x09"
    feats = features_of(everything)
    assert feats[0x001E][2] & 1 and not feats[0x001F][2] & 1  # CD read current, DVD not
    profiles = feats[0x0000][4:]
    current = [
        int.from_bytes(profiles[i : i + 2], "big")
        for i in range(0, len(profiles), 4)
        if profiles[i + 2] & 1
    ]
    assert current == [0x09]
    only_current = features_of(run(drive, 0x46, 1, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0).data)
    assert 0x001F not in only_current and 0x001E in only_current
    one = features_of(run(drive, 0x46, 2, 0x00, 0x1E, 0, 0, 0, 0xFF, 0xFF, 0).data)
    assert list(one) == [0x001E]
    drive.press_eject()
    empty = run(drive, 0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0).data
    assert empty[6:8] == b"\x00\x00"


def test_event_status_reports_a_new_disc_once(tmp_path: Path, drive: Drive) -> None:
    gesn = bytes([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0])
    assert drive.execute(gesn).data == bytes([0, 4, 4, 0x10, 0, 2, 0, 0])
    drive.load(Disc.load(tmp_path / "disc.json"))
    assert drive.execute(gesn).data[4:6] == bytes([2, 2])  # new media, present
    assert drive.execute(gesn).data[4:6] == bytes([0, 2])
    drive.press_eject()
    assert drive.execute(gesn).data[4:6] == bytes([3, 1])  # removal, tray open
    assert drive.execute(bytes([0x4A, 1, 0, 0, 0x02, 0, 0, 0, 8, 0])).data == bytes(
        [0, 0, 0x80, 0x10]
    )
    assert sense_of(drive.execute(bytes([0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8, 0]))) == "05/24/00"


def mode_sense(d: Drive, page: int, pc: int = 0) -> Reply:
    return run(d, 0x5A, 0x08, (pc << 6) | page, 0, 0, 0, 0, 0, 255, 0)


def test_mode_select_sets_the_read_retry_count_and_mode_sense_remembers_it(drive: Drive) -> None:
    cur = mode_sense(drive, 0x01).data
    assert (
        cur[:8] == bytes([0, 18, 0, 0, 0, 0, 0, 0]) and cur[8:10] == b"\x01\x0a" and cur[11] == 32
    )
    params = bytearray(cur)
    params[0:2] = b"\0\0"
    params[11] = 3
    r = run(drive, 0x55, 0x10, 0, 0, 0, 0, 0, 0, len(params), 0, out=bytes(params))
    assert r.good
    assert mode_sense(drive, 0x01).data[11] == 3 == drive.mode.read_retry_count
    assert mode_sense(drive, 0x01, pc=2).data[11] == 32  # defaults stay
    assert mode_sense(drive, 0x01, pc=1).data[11] == 0xFF  # changeable
    assert sense_of(mode_sense(drive, 0x01, pc=3)) == "05/39/00"
    assert sense_of(mode_sense(drive, 0x05)) == "05/24/00"
    cap = mode_sense(drive, 0x2A).data
    changed = bytearray(cap)
    changed[0:2] = b"\0\0"
    changed[8 + 14] ^= 0xFF  # current read speed is not changeable
    assert (
        sense_of(run(drive, 0x55, 0x10, 0, 0, 0, 0, 0, 0, len(changed), 0, out=bytes(changed)))
        == "05/26/00"
    )
    assert (
        sense_of(run(drive, 0x55, 0x11, 0, 0, 0, 0, 0, 0, len(params), 0, out=bytes(params)))
        == "05/24/00"
    )
    assert (
        sense_of(run(drive, 0x55, 0x10, 0, 0, 0, 0, 0, 0, 11, 0, out=bytes(params[:11])))
        == "05/1A/00"
    )
    assert drive.mode.read_retry_count == 3  # a refused list changes nothing
    everything = mode_sense(drive, 0x3F).data
    assert everything[8] == 0x01 and everything[20] == 0x2A


def test_set_cd_speed_is_remembered_and_shown_in_page_2a(drive: Drive) -> None:
    assert drive.read_speed == 48 * 176
    assert run(drive, 0xBB, 0, 0x03, 0xE8, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0).good  # 1000 kB/s
    assert (drive.requested_speed, drive.read_speed) == (1000, 4 * 176)
    cap = mode_sense(drive, 0x2A).data
    assert int.from_bytes(cap[8 + 14 : 8 + 16], "big") == 704
    assert int.from_bytes(cap[8 + 8 : 8 + 10], "big") == 48 * 176
    run(drive, 0xBB, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0)
    assert drive.read_speed == 48 * 176


def test_a_locked_tray_refuses_eject_until_allowed(tmp_path: Path, drive: Drive) -> None:
    assert run(drive, 0x1E, 0, 0, 0, 1, 0).good
    assert drive.prevent
    assert mode_sense(drive, 0x2A).data[8 + 6] & 0x02  # lock state shown
    assert sense_of(run(drive, 0x1B, 0, 0, 0, 0x02, 0)) == "05/53/02"
    assert not drive.press_eject()  # the button only asks
    gesn = drive.execute(bytes([0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0])).data
    assert gesn[4] == 1  # eject request
    run(drive, 0x1E, 0, 0, 0, 0, 0)
    assert run(drive, 0x1B, 0, 0, 0, 0x02, 0).good and drive.tray_open
    assert run(drive, 0x1B, 0, 0, 0, 0x03, 0).good and not drive.tray_open
    assert sense_of(run(drive, 0, 0, 0, 0, 0, 0)) == "06/28/00"  # closed with the disc


# ---- DVD and CSS ----------------------------------------------------------------------------
def test_css_dvd_reports_copyright_and_refuses_scrambled_sectors(tmp_path: Path) -> None:
    backing(tmp_path / "dvd.iso", 0, 64)
    doc = {
        "profile": "DVD-ROM",
        "sessions": [{"tracks": [{"start": 0, "length": 64, "file": "dvd.iso"}]}],
        "css": {"region_mask": 0xFE, "scrambled": [[40, 8]]},
    }
    d = make_drive(tmp_path, doc)
    r = run(d, 0xAD, 0, 0, 0, 0, 0, 0, 0x01, 0, 8, 0, 0)
    assert r.data == bytes([0, 6, 0, 0, 0x01, 0xFE, 0, 0])
    r = read10(d, 38, 4)
    assert sense_of(r) == "05/6F/03" and r.info == 40 and r.data == sector(38) + sector(39)
    assert read10(d, 48, 1).data == sector(48)
    phys = run(d, 0xAD, 0, 0, 0, 0, 0, 0, 0x00, 0x08, 0x04, 0, 0).data
    assert len(phys) == 2052 and phys[4] & 0x0F == 1
    assert features_of(run(d, 0x46, 2, 0x01, 0x06, 0, 0, 0, 0, 64, 0).data)[0x0106][2] & 1
    assert toc(d, 0).data == bytes.fromhex("0012010100140100000000000014aa0000000040")
    assert sense_of(toc(d, 2)) == "05/24/00"  # the full TOC is a CD thing
    assert (
        features_of(run(d, 0x46, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0).data)[0x0010][8:10] == b"\x00\x10"
    )


def test_dvd_structures_on_a_cd_are_an_incompatible_format(drive: Drive) -> None:
    assert sense_of(run(drive, 0xAD, 0, 0, 0, 0, 0, 0, 0x01, 0, 8, 0, 0)) == "05/30/02"


# ---- the log and odd commands ---------------------------------------------------------------
def test_every_command_is_logged_with_its_outcome(drive: Drive) -> None:
    seen: list[LogEntry] = []
    drive.on_command = seen.append
    assert sense_of(run(drive, 0xD8, *bytes(11))) == "05/20/00"
    read10(drive, 5, 1)
    run(drive, 0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0)
    names = [e.name for e in drive.commands()]
    assert names == ["opcode 0xD8", "READ(10)", "MODE SELECT(10)"] == [e.name for e in seen]
    bad = drive.commands("READ(10)")[0].to_json()
    assert (bad["sense"], bad["info"], bad["cdb"][:4]) == ("03/11/00", 5, "2800")


def test_the_probe_runner_fetches_sense_like_an_hba(drive: Drive) -> None:
    a = model_run(drive, Probe("bad", bytes([0x28, 0, 0, 0, 0, 5, 0, 0, 1, 0]), 2048))
    assert (a.status, a.sense, a.info) == (2, "03/11/00", 5)
    b = model_run(drive, Probe("sense", bytes([0x03, 0, 0, 0, 18, 0]), 18))
    assert b.raw[2] == 0  # the autosense already consumed it


def test_sense_parsing_round_trips() -> None:
    assert str(Sense.parse("3/11/5")) == "03/11/05"


def test_an_explicit_lead_out_leaves_a_gap_after_the_last_track(tmp_path: Path) -> None:
    doc = {"sessions": [{"leadout": 30, "tracks": [{"start": 0, "length": 20}]}]}
    d = make_drive(tmp_path, doc)
    assert struct.unpack(">I", run(d, 0x25, *bytes(9)).data[:4])[0] == 29
    assert toc(d, 0).data[-4:] == (30).to_bytes(4, "big")
    assert sense_of(read10(d, 25, 1)) == "05/21/00"  # the default gap sense
    assert read10(d, 19, 1).data == bytes(2048)  # no backing file: zeros


def test_the_front_panel_swaps_ejects_and_reports(tmp_path: Path, drive: Drive) -> None:
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps({"profile": "DVD-ROM", "sessions": [{"tracks": [{"start": 0, "length": 8}]}]})
    )
    assert control.handle(drive, {"cmd": "load", "path": str(other)}) == {"ok": True}
    assert sense_of(run(drive, 0, 0, 0, 0, 0, 0)) == "06/28/00"
    assert run(drive, 0x46, 1, 0, 0, 0, 0, 0, 0, 8, 0).data[6:8] == b"\x00\x10"
    run(drive, 0x1E, 0, 0, 0, 1, 0)
    assert control.handle(drive, {"cmd": "eject"}) == {"ok": False}  # locked
    assert control.handle(drive, {"cmd": "eject", "force": True}) == {"ok": True}
    status = control.handle(drive, {"cmd": "status"})
    assert (status["tray_open"], status["disc"], status["commands"]) == (True, str(other), 3)
    assert control.handle(drive, {"cmd": "remove"}) == {"ok": True} and drive.disc is None
    assert control.handle(drive, {"cmd": "jump"})["ok"] is False
