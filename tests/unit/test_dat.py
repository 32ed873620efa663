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
