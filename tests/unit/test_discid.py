"""MusicBrainz disc IDs: the documentation's vectors, a real Enhanced CD, and libdiscid (loaded
with ctypes: MusicBrainz's own implementation) as the judge of every other TOC."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import random

import pytest

from app.core.disc.discid import XA_INTERVAL, Toc, musicbrainz_id
from app.core.disc.layout import DiscLayout, Session, Track, TrackKind

A, D = TrackKind.AUDIO, TrackKind.MODE1


def layout(sessions: list[tuple[list[tuple[int, TrackKind]], int]]) -> DiscLayout:
    """Sessions as ([(start LBA, kind), ...], lead-out LBA); tracks numbered from 1."""
    out, number = [], 1
    for s, (tracks, leadout) in enumerate(sessions, start=1):
        starts = [t[0] for t in tracks] + [leadout]
        made = []
        for (start, kind), end in zip(tracks, starts[1:], strict=False):
            made.append(Track(number, s, start, end - start, kind))
            number += 1
        out.append(Session(s, tuple(made), leadout))
    return DiscLayout(tuple(out), "toc", "CD")


def test_the_musicbrainz_documentation_example() -> None:
    # musicbrainz.org/doc/Disc_ID_Calculation: 6 tracks, lead-out at LBA 95312
    lbas = [0, 15213, 32164, 46442, 63264, 80339]
    d = layout([([(lba, A) for lba in lbas], 95312)])
    assert musicbrainz_id(d) == "49HHV7Eb8UKF3aQiNmu1GR8vKTY-"


def test_libdiscid_test_vector_with_freedb_id_and_toc_string() -> None:
    # libdiscid's test/test_put.c
    offsets = [150, 9700, 25887, 39297, 53795, 63735, 77517, 94877, 107270, 123552, 135522]
    offsets += [148422, 161197, 174790, 192022, 205545, 218010, 228700, 239590, 255470]
    offsets += [266932, 288750]
    toc = Toc(1, 22, 303602, tuple(offsets))
    assert toc.musicbrainz_id() == "xUp1F2NkfP8s8jaeFn_Av3jNEI4-"
    assert toc.freedb_id() == "370fce16"
    assert toc.toc_string().startswith("1 22 303602 150 9700 ")


def test_a_real_enhanced_cd_uses_the_data_track_start_minus_11400() -> None:
    # Recoil, "Liquid": 10 audio tracks, then a data track in session 2 (MusicBrainz's entry,
    # as quoted in ARver's research notes): MB ID 9AQWqQ0eCCwktwPPrIUIYkUw2Uo-, lead-out 270335
    starts = [150, 12767, 40487, 63225, 93410, 118115, 151865, 184340, 215260, 247455]
    end1 = 270335 - 150  # session 1's lead-out LBA
    data = end1 + XA_INTERVAL  # where a standard second session's data track begins
    d = layout([([(s - 150, A) for s in starts], end1), ([(data, D)], data + 30_000)])
    toc = Toc.from_layout(d)
    assert toc is not None and toc.leadout == 270335 and toc.last == 10
    assert toc.musicbrainz_id() == "9AQWqQ0eCCwktwPPrIUIYkUw2Uo-"
    assert toc.freedb_id() == "890e120a"


def test_no_audio_no_id_and_bad_tocs_are_refused() -> None:
    assert musicbrainz_id(DiscLayout.flat(1000)) is None
    with pytest.raises(ValueError):
        Toc(1, 2, 1000, (150, 100))  # offsets must rise
    with pytest.raises(ValueError):
        Toc(0, 1, 1000, (150,))
    with pytest.raises(ValueError):
        Toc(1, 1, 150, (150,))  # lead-out after the last track


# ---- libdiscid as the judge -------------------------------------------------------------------
def libdiscid() -> ctypes.CDLL:
    name = ctypes.util.find_library("discid")
    if name is None:
        msg = "libdiscid is required (apt install libdiscid0)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    lib = ctypes.CDLL(name)
    lib.discid_new.restype = ctypes.c_void_p
    lib.discid_put.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    for f in ("discid_get_id", "discid_get_freedb_id", "discid_get_toc_string"):
        getattr(lib, f).restype = ctypes.c_char_p
        getattr(lib, f).argtypes = [ctypes.c_void_p]
    lib.discid_free.argtypes = [ctypes.c_void_p]
    return lib


def judged(lib: ctypes.CDLL, toc: Toc) -> tuple[str, str, str]:
    arr = (ctypes.c_int * 100)()
    arr[0] = toc.leadout
    for n, off in zip(range(toc.first, toc.last + 1), toc.offsets, strict=True):
        arr[n] = off
    d = lib.discid_new()
    try:
        assert lib.discid_put(d, toc.first, toc.last, arr) == 1
        return (
            lib.discid_get_id(d).decode(),
            lib.discid_get_freedb_id(d).decode(),
            lib.discid_get_toc_string(d).decode(),
        )
    finally:
        lib.discid_free(d)


def test_libdiscid_agrees_on_200_random_tocs() -> None:
    lib = libdiscid()
    rng = random.Random(16)
    for _ in range(200):
        first = rng.choice([1, 1, 1, 2, 5])
        count = rng.randrange(1, 100 - first + 1)
        # libdiscid takes discs up to 90 minutes (405 000 sectors)
        offsets, at = [], rng.randrange(150, 20_000)
        for _ in range(count):
            offsets.append(at)
            at += rng.randrange(1, 380_000 // count)
        toc = Toc(first, first + count - 1, at, tuple(offsets))
        assert judged(lib, toc) == (toc.musicbrainz_id(), toc.freedb_id(), toc.toc_string())


def test_libdiscid_agrees_on_mixed_mode_and_enhanced_layouts() -> None:
    lib = libdiscid()
    mixed = layout([([(0, D), (20_000, A), (35_000, A)], 60_000)])  # data track 1, then audio
    toc = Toc.from_layout(mixed)
    assert toc is not None and toc.offsets[0] == 150 and toc.leadout == 60_150
    assert judged(lib, toc)[0] == toc.musicbrainz_id()
    extra = layout([([(0, A), (9_000, A)], 40_000), ([(51_400, D)], 70_000)])
    toc = Toc.from_layout(extra)
    assert toc is not None and (toc.last, toc.leadout) == (2, 51_400 - XA_INTERVAL + 150)
    assert judged(lib, toc)[0] == toc.musicbrainz_id()
