from __future__ import annotations

from pathlib import Path

import pytest

from app.core.verify import dat

DAT = """<?xml version="1.0"?>
<!DOCTYPE datafile PUBLIC "-//Logiqx//DTD ROM Management Datafile//EN" "">
<datafile>
  <header><name>Sony - PlayStation</name></header>
  <game name="Disc A (Europe)"><description>Disc A</description>
    <rom name="Disc A (Europe).iso" size="2048" crc="ABCDEF01" md5="aa" sha1="bb"/></game>
  <machine name="Disc B"><rom name="b.iso" size="4096" crc="12345678"/></machine>
</datafile>
"""


def test_matches_by_size_and_all_given_hashes(tmp_path: Path) -> None:
    p = tmp_path / "x.dat"
    p.write_text(DAT)
    d = dat.load(str(p))
    hit = d.match(2048, {"crc32": "abcdef01", "md5": "aa", "sha1": "bb"}, "whatever.iso")
    assert hit.verdict == "match" and hit.entry and hit.entry.game == "Disc A (Europe)"
    # crc-only entries (<machine>) match on size + crc alone
    assert d.match(4096, {"crc32": "12345678", "md5": "x", "sha1": "y"}, "q").verdict == "match"
    wrong_md5 = d.match(
        2048, {"crc32": "abcdef01", "md5": "zz", "sha1": "bb"}, "Disc A (Europe).iso"
    )
    assert wrong_md5.verdict == "same_name_different_hashes"
    assert d.match(1, {"crc32": "0"}, "n.iso").verdict == "not_in_dat"


@pytest.mark.parametrize("text", ["<datafile><game>", "<datafile></datafile>", "not xml at all"])
def test_bad_dats_raise_a_clear_error(tmp_path: Path, text: str) -> None:
    p = tmp_path / "bad.dat"
    p.write_text(text)
    with pytest.raises(dat.DatError, match=r"bad\.dat"):
        dat.load(str(p))


def _write(tmp_path: Path, body: str, encoding: str = "utf-8", decl: str = "") -> str:
    p = tmp_path / "t.dat"
    head = f'<?xml version="1.0"{decl}?>\n<datafile><header><name>Test DAT</name></header>\n'
    p.write_bytes((head + body + "</datafile>\n").encode(encoding))
    return str(p)


def _rom(name: str, size: int, crc: str, md5: str = "", sha1: str = "") -> str:
    extra = (f' md5="{md5}"' if md5 else "") + (f' sha1="{sha1}"' if sha1 else "")
    return f'<rom name="{name}" size="{size}" crc="{crc}"{extra}/>'


def test_counts_header_and_first_entry_wins(tmp_path: Path) -> None:
    body = (
        f'<game name="First">{_rom("a.iso", 10, "0000000A", md5="11")}</game>'
        f'<game name="Second">{_rom("a.iso", 10, "0000000a", md5="22")}</game>'
    )
    d = dat.load(_write(tmp_path, body))
    assert (d.rom_count, d.game_count, d.name) == (2, 2, "Test DAT")
    # size+crc alike: the md5 decides which entry it is
    m = d.match(10, {"crc32": "0000000a", "md5": "22"}, "x.iso")
    assert m.verdict == "match" and m.entry and m.entry.game == "Second"
    # a digest the DAT has but the caller did not give is not a match
    assert d.match(10, {"crc32": "0000000a"}, "x.iso").verdict == "not_in_dat"
    # by name alone, the first entry of that name is named
    same = d.match(10, {"crc32": "ffffffff"}, "A.ISO")
    assert same.verdict == "same_name_different_hashes" and same.entry
    assert same.entry.game == "First"


def test_names_in_a_latin1_dat_and_escaped_names(tmp_path: Path) -> None:
    cafe = "Caf\u00e9"
    body = (
        f'<game name="{cafe} &amp; Co">{_rom(cafe + ".iso", 5, "00000005")}</game>'
        f'<game name="Other">{_rom("o.iso", 6, "00000006")}</game>'
    )
    d = dat.load(_write(tmp_path, body, "latin-1", ' encoding="ISO-8859-1"'))
    m = d.match(5, {"crc32": "00000005"}, "whatever")
    assert m.verdict == "match" and m.entry and m.entry.game == "Caf\u00e9 & Co"
    assert d.match(1, {}, "caf\u00e9.iso").verdict == "same_name_different_hashes"


def test_a_rom_outside_any_game_and_unknown_entities_under_a_logiqx_doctype(
    tmp_path: Path,
) -> None:
    p = tmp_path / "l.dat"
    p.write_text(
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE datafile PUBLIC "-//Logiqx//DTD ROM Management Datafile//EN" '
        '"http://www.logiqx.com/Dats/datafile.dtd">\n'
        '<datafile><game name="G &eacute;">'
        f"{_rom('g.iso', 7, '00000007')}</game>{_rom('lone.iso', 8, '00000008')}</datafile>"
    )
    d = dat.load(str(p))
    lone = d.match(8, {"crc32": "00000008"}, "q")
    assert lone.verdict == "match" and lone.entry and lone.entry.name == "lone.iso"
    assert lone.entry.game == ""
    g = d.match(7, {"crc32": "00000007"}, "q")
    assert g.verdict == "match" and g.entry and g.entry.game.startswith("G")


def test_a_dat_changed_after_loading_is_said_so(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<game name="G">{_rom("g.iso", 7, "00000007")}</game>')
    d = dat.load(path)
    Path(path).write_text("<datafile/>   ")
    with pytest.raises(dat.DatError, match="changed since it was read"):
        d.match(7, {"crc32": "00000007"}, "g.iso")


# ---- several files against one game (BIN/CUE tracks) ------------------------------------------
def _f(name: str, size: int, crc: str) -> dat.DatFile:
    return dat.DatFile(name, size, {"crc32": crc, "md5": "m" + crc, "sha1": "s" + crc})


CD = (
    '<game name="Disc (Europe)">'
    + _rom("Disc (Track 1).bin", 100, "00000001", "m00000001", "s00000001")
    + _rom("Disc (Track 2).bin", 200, "00000002", "m00000002", "s00000002")
    + _rom("Disc (Track 3).bin", 200, "00000002", "m00000002", "s00000002")  # same as track 2
    + _rom("Disc.cue", 50, "0000000c", "m0000000c", "s0000000c")
    + "</game>"
    + f'<game name="Single">{_rom("Disc (Track 1).bin", 9, "00000009")}</game>'
)


def test_a_set_that_matches_every_rom_of_a_game(tmp_path: Path) -> None:
    d = dat.load(_write(tmp_path, CD))
    files = [
        _f("t01.bin", 100, "00000001"),
        _f("t02.bin", 200, "00000002"),
        _f("t03.bin", 200, "00000002"),
        _f("disc.cue", 50, "0000000c"),
    ]
    m = d.match_set(files)
    assert (m.verdict, m.game, len(m.matched), m.missing, m.extra) == (
        "match",
        "Disc (Europe)",
        4,
        (),
        (),
    )
    assert {f.name for _, f in m.matched} == {f.name for f in files}
    assert "all 4 files match" in m.describe()


def test_a_set_missing_a_track_or_with_an_extra_file_is_partial(tmp_path: Path) -> None:
    d = dat.load(_write(tmp_path, CD))
    # one file for two identical tracks: it counts once, track 3 (or 2) stays missing
    m = d.match_set([_f("a", 100, "00000001"), _f("b", 200, "00000002"), _f("c", 50, "0000000c")])
    assert m.verdict == "partial" and m.game == "Disc (Europe)"
    assert len(m.matched) == 3 and len(m.missing) == 1 and m.missing[0].size == 200
    extra = _f("z", 1, "deadbeef")
    files = [
        _f("a", 100, "00000001"),
        _f("b", 200, "00000002"),
        _f("b2", 200, "00000002"),
        _f("c", 50, "0000000c"),
        extra,
    ]
    m2 = d.match_set(files)
    assert m2.verdict == "partial" and m2.extra == (extra,) and not m2.missing
    assert "not in that game: z" in m2.describe()


def test_a_set_with_known_names_but_other_checksums(tmp_path: Path) -> None:
    d = dat.load(_write(tmp_path, CD))
    m = d.match_set([_f("Disc (Track 1).bin", 100, "99999999")])
    assert m.verdict == "same_name_different_hashes" and m.game == "Disc (Europe)"
    assert d.match_set([_f("nothing.bin", 1, "12345678")]).verdict == "not_in_dat"


def test_many_entries_are_found_through_the_index(tmp_path: Path) -> None:
    games = "".join(
        f'<game name="G{i}">{_rom(f"g{i}.bin", i, f"{i * 7919:08x}")}</game>\n'
        for i in range(20_000)
    )
    d = dat.load(_write(tmp_path, games))
    assert d.rom_count == 20_000
    for i in (0, 1, 9_999, 19_999):
        m = d.match(i, {"crc32": f"{i * 7919:08x}"}, "x")
        assert m.verdict == "match" and m.entry and m.entry.game == f"G{i}"
    assert d.match(5, {"crc32": f"{6 * 7919:08x}"}, "x").verdict == "not_in_dat"
