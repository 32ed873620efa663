"""The disc layout: TOC bytes as drives send them, cue sheets, the imaging plan, identities."""

from __future__ import annotations

import pytest

from app.core.base.rangemap import BAD, FINISHED, RangeMap
from app.core.disc import cue, toc
from app.core.disc import plan as planmod
from app.core.disc.claims import Claim, Claims
from app.core.disc.identity import DiscIdentity, identify
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind
from app.core.disc.sources import ReadError


def full_toc(*descs: tuple[int, int, int, tuple[int, int, int]]) -> bytes:
    """(session, control, point, pmsf) descriptors -> READ TOC format 2 reply."""
    body = b"".join(
        bytes([s, 0x10 | ctl, 0, point, 0, 0, 0, 0, *pmsf]) for s, ctl, point, pmsf in descs
    )
    return (len(body) + 2).to_bytes(2, "big") + bytes([1, max(d[0] for d in descs)]) + body


def msf(lba: int) -> tuple[int, int, int]:
    return toc.lba_to_msf(lba)


TWO_SESSIONS = full_toc(
    (1, 4, 0xA0, (1, 0x20, 0)),  # first track 1, CD-ROM XA
    (1, 4, 0xA1, (1, 0, 0)),
    (1, 4, 0xA2, msf(20_000)),
    (1, 4, 1, msf(0)),
    (2, 4, 0xA0, (2, 0x20, 0)),
    (2, 4, 0xA1, (2, 0, 0)),
    (2, 4, 0xA2, msf(40_000)),
    (2, 4, 2, msf(31_400)),
)


def test_full_toc_gives_every_session_with_its_lead_out() -> None:
    layout = toc.parse_full_toc(TWO_SESSIONS)
    assert [(s.number, s.start, s.leadout) for s in layout.sessions] == [
        (1, 0, 20_000),
        (2, 31_400, 40_000),
    ]
    t1, t2 = layout.tracks
    assert (t1.number, t1.length, t1.kind, t1.runout) == (1, 20_000, TrackKind.MODE2, 2)
    assert (t2.number, t2.start, t2.length) == (2, 31_400, 8_600)
    assert layout.gaps() == [(20_000, 31_400)]
    assert layout.end == 40_000 and layout.summary() == "2 sessions, 2 tracks"


def test_cd_extra_audio_session_then_data_session() -> None:
    reply = full_toc(
        (1, 0, 0xA0, (1, 0, 0)),
        (1, 0, 0xA2, msf(30_000)),
        (1, 0, 1, msf(0)),
        (1, 0, 2, msf(15_000)),
        (2, 4, 0xA0, (3, 0x20, 0)),
        (2, 4, 0xA2, msf(50_000)),
        (2, 4, 3, msf(41_400)),
    )
    layout = toc.parse_full_toc(reply)
    assert [t.kind for t in layout.tracks] == [TrackKind.AUDIO, TrackKind.AUDIO, TrackKind.MODE2]
    assert layout.summary() == "2 sessions, 3 tracks (2 audio)"
    assert layout.end == 50_000
    plan = planmod.make(layout, Claims([Claim("iso9660", 41_400, 49_998, 2)]))
    kinds = [(r.start, r.end, str(r.kind)) for r in plan.regions]
    assert kinds == [
        (0, 30_000, "audio"),
        (30_000, 41_400, "session gap"),
        (41_400, 49_998, "data"),
        (49_998, 50_000, "run-out"),
    ]


def test_tracks_and_session_info_infer_the_first_lead_out_and_say_so() -> None:
    entries = [toc.TocEntry(1, 4, 0), toc.TocEntry(2, 4, 31_400)]
    layout = toc.from_entries(entries, 40_000, last_session_track=2)
    assert [(s.start, s.leadout) for s in layout.sessions] == [(0, 20_000), (31_400, 40_000)]
    assert layout.notes and "inferred" in layout.notes[0]


def test_format_0_reply_in_lba_and_msf() -> None:
    def reply(addr: list[bytes]) -> bytes:
        body = b"".join(bytes([0, 0x14, n, 0]) + a for n, a in zip([1, 0xAA], addr, strict=True))
        return (len(body) + 2).to_bytes(2, "big") + b"\x01\x01" + body

    lba = reply([(0).to_bytes(4, "big"), (1234).to_bytes(4, "big")])
    assert toc.parse_tracks(lba) == ([toc.TocEntry(1, 4, 0)], 1234)
    m = reply([bytes([0, 0, 2, 0]), bytes([0, *msf(1234)])])
    assert toc.parse_tracks(m, msf=True) == ([toc.TocEntry(1, 4, 0)], 1234)


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x00\x01",
        full_toc((1, 4, 1, msf(0))),
        TWO_SESSIONS[:-3],
        b"\x00\x0d\x01\x01" + bytes(11),
    ],
)
def test_malformed_tocs_are_refused_with_toc_error(bad: bytes) -> None:
    with pytest.raises(toc.TocError):
        toc.parse_full_toc(bad)


def test_a_toc_whose_tracks_are_out_of_order_is_refused() -> None:
    reply = full_toc((1, 4, 0xA2, msf(200)), (1, 4, 1, msf(100)), (1, 4, 2, msf(50)))
    with pytest.raises(toc.TocError, match="order"):
        toc.parse_full_toc(reply)


def test_cue_sheet_round_trip_and_what_other_readers_see() -> None:
    layout = toc.parse_full_toc(TWO_SESSIONS)
    text = cue.text(layout, "disc.iso")
    assert 'FILE "disc.iso" BINARY' in text and "REM SESSION 02" in text
    assert "TRACK 02 MODE2/2048" in text and "INDEX 01 06:58:50" in text  # 31 400 frames
    assert cue.parse(text).layout == layout
    # Without DiscVault's own line, a reader still finds both sessions and their starts.
    plain = "\n".join(ln for ln in text.splitlines() if "DISCVAULT LAYOUT" not in ln)
    got = cue.bounded(cue.parse(plain).layout, 40_000)
    assert [(s.number, s.start) for s in got.sessions] == [(1, 0), (2, 31_400)]


@pytest.mark.parametrize(
    ("sheet", "line"),
    [
        ('FILE "a.iso" BINARY\n  TRACK 01 MODE9/2048\n', 2),
        ("  TRACK 01 MODE1/2048\n", 1),
        ('FILE "a.iso" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:61:00\n', 3),
        ('FILE "a.iso" BINARY\nhello\n', 2),
        ("REM DISCVAULT LAYOUT {not json\n", 1),
    ],
)
def test_malformed_cue_names_the_line(sheet: str, line: int) -> None:
    with pytest.raises(cue.CueError, match=f"line {line}:"):
        cue.parse(sheet)


def test_plan_flat_disc_tail_past_the_filesystem_is_run_out() -> None:
    plan = planmod.make(DiscLayout.flat(1000), Claims([Claim("iso9660", 0, 990)]), 1000)
    assert plan.runs(planmod.Kind.RUNOUT) == [(990, 1000)]
    rmap = RangeMap(1000, FINISHED)
    rmap.set(998, 1000, BAD)
    assert plan.describe(rmap) == "1 session, 1 track, 2 run-out sectors (not data), 0 damaged"
    assert plan.image_end(rmap, 990) == 998  # trailing unreadable run-out holds nothing
    rmap.set(500, 501, BAD)
    assert plan.damaged(rmap) == 1


def test_plan_without_any_filesystem_keeps_everything_data() -> None:
    plan = planmod.make(DiscLayout.flat(1000), Claims(), 1000)
    assert plan.runs(planmod.Kind.DATA) == [(0, 1000)]


def test_plan_filesystem_past_the_toc_is_imaged_and_the_disagreement_noted() -> None:
    plan = planmod.make(DiscLayout.flat(1000), Claims([Claim("udf", 0, 1200)]), 1300)
    assert plan.sectors == 1200 and "past the last track" in plan.notes[0]
    plan = planmod.make(DiscLayout.flat(1000), Claims([Claim("udf", 0, 5000)]), 1000)
    assert plan.sectors == 1000 and "truncated source" in plan.notes[0]


def test_plan_json_round_trip() -> None:
    layout = toc.parse_full_toc(TWO_SESSIONS)
    plan = planmod.make(layout, Claims([Claim("iso9660", 0, 39_000, 2)]))
    again = planmod.from_json(layout, plan.sectors, plan.to_json())
    assert again.regions == plan.regions
    with pytest.raises(ValueError):
        planmod.from_json(layout, 10, [[0, 99, "run-out"]])


def test_identity_tells_discs_apart_but_not_a_disc_from_itself() -> None:
    layout = DiscLayout.flat(100)
    pvd = bytes([1]) + b"CD001" + bytes(34) + b"HOLIDAY".ljust(32) + bytes(2048 - 72)
    disc = {16: pvd, 17: bytes([255]) + b"CD001" + bytes(2042)}

    def read(lba: int, n: int) -> bytes:
        return disc.get(lba, bytes(2048))

    a = identify(layout, read)
    assert a.label == "HOLIDAY" and a.descriptors
    disc[16] = pvd[:100] + b"X" + pvd[101:]
    b = identify(layout, read)
    assert a.conflicts(b) == "different volume descriptors"

    def damaged(lba: int, n: int) -> bytes:
        raise ReadError(lba, n, 5)

    c = identify(layout, damaged)
    assert c.descriptors is None and a.conflicts(c) is None
    assert a.conflicts(identify(DiscLayout.flat(101), read)) is not None
    assert DiscIdentity.from_json(a.to_json()) == a


def test_layout_json_round_trip_and_validation() -> None:
    layout = toc.parse_full_toc(TWO_SESSIONS)
    assert DiscLayout.from_json(layout.to_json()) == layout
    bad = DiscLayout((Session(1, (Track(1, 1, 0, 10), Track(2, 1, 5, 10)), 15),))
    with pytest.raises(ValueError):
        DiscLayout.from_json(bad.to_json())
