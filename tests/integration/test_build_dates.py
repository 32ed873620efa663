"""`discvault build` keeps every file's and folder's date, in every view a reader may use.

Readers we did not write look at different records: xorriso's extraction at Rock Ridge TF (and
the root's "." record), 7-Zip at Joliet (or UDF when the image has it), isoinfo without -R/-J at
the plain ISO 9660 directory records.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli

# Distinct days, months and years, so that even isoinfo's date-only listing tells them apart.
DATES = {
    "": "1999-12-31 23:59:58",
    "old.txt": "2001-02-03 04:05:06",
    "Photos": "2005-06-07 08:09:10",
    "Photos/summer.jpg": "2010-11-12 13:14:15",
    "Photos/deep": "2012-01-13 05:06:07",
    "Photos/deep/note with a long name, more than Joliet's 32 units.txt": "2019-08-09 10:11:12",
}


def stamp(path: Path, when: str) -> None:
    t = time.mktime(time.strptime(when, "%Y-%m-%d %H:%M:%S"))
    os.utime(path, (t, t), follow_symlinks=False)


def dated_tree(root: Path) -> Path:
    (root / "Photos" / "deep").mkdir(parents=True)
    for rel in DATES:
        p = root / rel
        if rel and not p.exists():
            p.write_bytes(rel.encode() * 100)
    for rel in sorted(DATES, key=lambda r: -r.count("/")):  # children first: dirs last
        stamp(root / rel if rel else root, DATES[rel])
    return root


def mtimes(root: Path) -> dict[str, float]:
    out = {"": root.stat().st_mtime}
    for p in root.rglob("*"):
        out[p.relative_to(root).as_posix()] = p.lstat().st_mtime
    return out


@pytest.fixture(scope="module", params=[False, True], ids=["joliet", "udf"])
def image(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("dates")
    tree = dated_tree(d / "src")
    out = d / "out.iso"
    r = run_cli("build", str(tree), str(out), *(["--udf"] if request.param else []))
    assert r.returncode == 0, r.stderr
    return tree, out


def test_xorriso_extracts_the_source_dates(image: tuple[Path, Path], tmp_path: Path) -> None:
    tree, iso = image
    fx.need("xorriso")
    dest = tmp_path / "x"
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract", "/", str(dest)],
        capture_output=True,
        check=True,
    )
    assert mtimes(dest) == mtimes(tree)


def test_seven_zip_shows_the_source_dates(image: tuple[Path, Path]) -> None:
    tree, iso = image
    fx.need("7z")
    env = {**os.environ, "TZ": "UTC"}
    out = subprocess.run(
        ["7z", "l", "-slt", str(iso)], capture_output=True, text=True, check=True, env=env
    ).stdout
    seen = {}
    for block in out.split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w ]*?) = (.*)$", block, re.M))
        if "Folder" in fields and not fields["Path"].startswith("["):
            seen[fields["Path"]] = fields["Modified"][:19]
    want = mtimes(tree)
    utc = {rel: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) for rel, t in want.items()}
    long_name = next(r for r in DATES if "long name" in r)
    joliet_cut = next(p for p in seen if p.startswith("Photos/deep/note"))  # Joliet: 32 units
    seen[long_name] = seen.pop(joliet_cut)
    assert seen == {rel: utc[rel] for rel in DATES if rel}


def test_plain_iso9660_records_carry_the_source_dates(image: tuple[Path, Path]) -> None:
    tree, iso = image
    fx.need("isoinfo")
    out = subprocess.run(
        ["isoinfo", "-l", "-i", str(iso)], capture_output=True, text=True, check=True
    ).stdout
    # "Directory listing of /PHOTOS/" then lines like
    # "----------   0    0    0      2000 Feb  3 2001 [     33 00]  OLD.TXT;1"
    listing: dict[str, dict[str, str]] = {}
    for block in out.split("Directory listing of ")[1:]:
        folder, _, body = block.partition("\n")
        listing[folder.strip()] = {
            m.group(2): m.group(1)
            for m in re.finditer(r" (\w{3} [ \d]\d \d{4}) \[[ \d]+ \d\d\]  (\S+)", body)
        }
    want = {rel: time.strftime("%b %e %Y", time.localtime(t)) for rel, t in mtimes(tree).items()}
    assert listing["/"]["."] == listing["/"][".."] == want[""]
    assert listing["/"]["OLD.TXT;1"] == want["old.txt"]
    assert listing["/"]["PHOTOS"] == listing["/PHOTOS/"]["."] == want["Photos"]
    assert listing["/PHOTOS/"][".."] == want[""]
    assert listing["/PHOTOS/"]["SUMMER.JPG;1"] == want["Photos/summer.jpg"]
    assert listing["/PHOTOS/"]["DEEP"] == listing["/PHOTOS/DEEP/"]["."] == want["Photos/deep"]
    assert listing["/PHOTOS/DEEP/"][".."] == want["Photos"]


def test_dates_outside_what_iso9660_can_hold_are_clamped(tmp_path: Path) -> None:
    """A directory record's year is 1900..2155: a file from 1850 or 2200 must not abort."""
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "ancient.txt").write_text("a")
    (tree / "future.txt").write_text("f")
    os.utime(tree / "ancient.txt", (-3_786_825_600, -3_786_825_600))  # 1850
    os.utime(tree / "future.txt", (7_258_118_400, 7_258_118_400))  # 2200
    ancient = time.gmtime((tree / "ancient.txt").stat().st_mtime).tm_year  # ext4 stops at 1901
    out = tmp_path / "o.iso"
    r = run_cli("build", str(tree), str(out), "--udf")
    assert r.returncode == 0, r.stderr
    fx.need("isoinfo")
    for view in ([], ["-R"], ["-J"]):  # ISO 9660 records, Rock Ridge TF, Joliet records
        listing = subprocess.run(
            ["isoinfo", "-l", *view, "-i", str(out)], capture_output=True, text=True, check=True
        ).stdout
        years = dict(
            (m.group(2).split(";")[0].lower(), int(m.group(1)))
            for m in re.finditer(r" (\d{4}) \[[ \d]+ \d\d\]  (\S+)", listing)
        )
        assert years["future.txt"] == 2155, view
        assert years["ancient.txt"] == max(1900, ancient), view
