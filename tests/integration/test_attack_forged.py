"""Forged and damaged JSON where DiscVault keeps its own words: the mapfile's ``# discvault:``
line, the cue sheet's ``REM DISCVAULT LAYOUT`` line, the report beside an image.

Seen before these tests: JSON nested 100 000 deep gave a RecursionError traceback in rip,
verify and inspect; a number like 1e400 (JSON's infinity) gave an OverflowError traceback; a
cue sheet of 25 000 tracks took a minute to read. Each now gives one line naming the file (or,
for a cue sheet, the image shown as one session with a note), and a bounded amount of work.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import random_bytes
from tests.integration.isofixtures import need
from tests.integration.test_attack_companions import cli, one_line

SECTOR = 2048
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def src(tmp_path: Path) -> Path:
    need("genisoimage")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "photo.jpg").write_bytes(random_bytes(300_000, seed=51))
    out = tmp_path / "src.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-V", "SRC", "-o", str(out), str(tree)], check=True
    )
    return out


def rewrite_meta(map_path: Path, change: Callable[[str], str]) -> None:
    lines = map_path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# discvault: "):
            lines[i] = "# discvault: " + change(line[len("# discvault: ") :])
            break
    else:
        raise AssertionError("no # discvault: line")
    map_path.write_text("\n".join(lines) + "\n")


def infinite(field: str) -> Callable[[str], str]:
    """The meta with one number replaced by 1e400 (Python's json reads it as infinity)."""

    def change(text: str) -> str:
        doc = json.loads(text)
        if field == "identity":
            doc["identity"]["sectors"] = "@"
        elif field == "layout":
            doc["layout"]["sessions"][0]["leadout"] = "@"
        else:
            doc["not_data"] = [[0, "@", "run-out"]]
        return json.dumps(doc).replace('"@"', "1e400")

    return change


@pytest.fixture
def backup(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    return out


@pytest.mark.parametrize("command", ["rip", "verify", "inspect"])
def test_a_deeply_nested_mapfile_comment_is_one_line(src: Path, backup: Path, command: str) -> None:
    m = Path(f"{backup}.map")
    rewrite_meta(m, lambda _: DEEP)
    args = {
        "rip": ["rip", str(src), str(backup)],
        "verify": ["verify", str(backup)],
        "inspect": ["inspect", str(backup), "--map", str(m)],
    }[command]
    r = cli(*args)
    assert r.returncode == 4, r.stdout
    assert str(m) in one_line(r)


def test_an_infinite_identity_in_the_mapfile_is_one_line(src: Path, backup: Path) -> None:
    m = Path(f"{backup}.map")
    rewrite_meta(m, infinite("identity"))
    r = cli("rip", str(src), str(backup))
    assert r.returncode == 4, r.stdout
    assert str(m) in one_line(r)


@pytest.mark.parametrize("field", ["layout", "not_data"])
def test_verify_reads_past_an_infinite_layout_in_the_mapfile(backup: Path, field: str) -> None:
    rewrite_meta(Path(f"{backup}.map"), infinite(field))
    r = cli("verify", str(backup))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout  # the image is good: the damaged comment adds nothing


def test_a_huge_mapfile_comment_is_refused_without_reading_it_whole(
    src: Path, backup: Path
) -> None:
    m = Path(f"{backup}.map")
    rewrite_meta(m, lambda text: text[:-1] + ',"pad":"' + "x" * (8 << 20) + '"}')
    r = cli("rip", str(src), str(backup))
    assert r.returncode == 4
    assert str(m) in one_line(r)


def test_another_images_bytes_under_this_discs_mapfile_are_refused(
    src: Path, tmp_path: Path
) -> None:
    """The mapfile's identity is this disc's (it was written by a rip of it), the image is
    another disc's of the same size: a forged pair."""
    out = tmp_path / "out.iso"
    assert cli("rip", str(src), str(out)).returncode == 0
    other = bytearray(src.read_bytes())
    other[40 * SECTOR :] = random_bytes(len(other) - 40 * SECTOR, seed=52)  # same descriptors
    out.write_bytes(bytes(other))
    r = cli("rip", str(src), str(out))
    assert r.returncode == 4
    assert "does not hold this disc's data" in one_line(r)
    assert out.read_bytes() == bytes(other)  # nothing was written


def cue_beside(image: Path, text: str) -> Path:
    cue = image.with_suffix(".cue")
    cue.write_text(text)
    return cue


@pytest.mark.parametrize(
    "layout",
    [
        DEEP,
        '{"sessions":[{"number":1,"leadout":1e400,"tracks":[]}]}',
        '{"sessions":[{"number":1e400,"leadout":1,"tracks":[]}]}',
    ],
)
def test_a_hostile_cue_layout_line_shows_session_one_with_a_note(
    src: Path, tmp_path: Path, layout: str
) -> None:
    image = tmp_path / "disc.iso"
    image.write_bytes(src.read_bytes())
    cue = cue_beside(image, f'FILE "disc.iso" BINARY\nREM DISCVAULT LAYOUT {layout}\n')
    r = cli("inspect", str(image))
    assert "Traceback" not in r.stderr, r.stderr
    assert "'SRC'" in r.stdout  # the image is shown, as one session
    assert cue.name in r.stderr
    r = cli("verify", str(image))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout
    assert cue.name in r.stdout


def test_a_cue_sheet_of_25000_tracks_is_refused_as_no_discs(src: Path, tmp_path: Path) -> None:
    """A CD has at most 99 tracks. Read as written, this one took a minute (twice)."""
    image = tmp_path / "disc.iso"
    image.write_bytes(src.read_bytes())
    lines = ['FILE "disc.iso" BINARY']
    for f in range(25_000):
        lines += [
            "TRACK 01 MODE1/2048",
            f"INDEX 01 {f // 4500:02d}:{f // 75 % 60:02d}:{f % 75:02d}",
        ]
    cue = cue_beside(image, "\n".join(lines) + "\n")
    r = cli("inspect", str(image))
    assert "Traceback" not in r.stderr, r.stderr
    assert "'SRC'" in r.stdout
    assert cue.name in r.stderr and "99" in r.stderr


def test_a_deeply_nested_report_is_not_ours_and_stays(src: Path, backup: Path) -> None:
    rep = Path(f"{backup}.report.json")
    rep.write_text(DEEP)
    r = cli("rip", str(src), str(backup))
    assert r.returncode == 4
    assert str(rep) in one_line(r)
    assert rep.read_text() == DEEP
    r = cli("verify", str(backup))
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout
    r = cli("inspect", str(backup))
    assert r.returncode == 0, r.stderr


def test_a_cue_sheet_whose_last_session_lies_past_the_image_says_so(
    src: Path, tmp_path: Path
) -> None:
    image = tmp_path / "disc.iso"
    image.write_bytes(src.read_bytes())
    cue_beside(
        image,
        'FILE "disc.iso" BINARY\nREM SESSION 01\nTRACK 01 MODE1/2048\nINDEX 01 00:00:00\n'
        "REM SESSION 02\nTRACK 02 MODE1/2048\nINDEX 01 10:00:00\n",
    )
    r = cli("inspect", str(image))
    assert r.returncode == 4
    line = one_line(r)
    assert "session 2" in line and "--session 1" in line
    r = cli("inspect", str(image), "--session", "1")  # shown, and called truncated
    assert "Traceback" not in r.stderr, r.stderr
    assert "'SRC'" in r.stdout and "TRUNCATED" in r.stdout


@pytest.mark.parametrize("case", ["no hfs", "not an image"])
def test_inspect_refusals_say_what_to_do(src: Path, tmp_path: Path, case: str) -> None:
    if case == "no hfs":
        r = cli("inspect", str(src), "--filesystem", "hfs")
    else:
        junk = tmp_path / "junk.iso"
        junk.write_bytes(random_bytes(100 * SECTOR, seed=53))
        r = cli("inspect", str(junk))
    assert r.returncode == 4
    one_line(r)
