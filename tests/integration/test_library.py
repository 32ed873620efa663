"""The library on real backups: disc folders, the catalogue, search, rebuild, re-verify, errors.

Discs are ISO images made by genisoimage and backed up with `discvault rip` (the image file as
the source), so each disc folder holds exactly what a user's backup holds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from app.core.base.events import CancelToken, Progress
from app.core.disc.identity import DiscIdentity
from app.core.disc.sources import ImageSource
from app.core.fs.inspection import open_image
from app.core.library import health
from app.core.library.catalogue import Catalogue
from app.core.library.folder import DEFAULT_TEMPLATE, Library
from app.core.library.records import DISC_COLUMNS
from app.core.library.reverify import verify_library
from tests.conftest import MakeDevice, random_bytes
from tests.integration.isofixtures import map_with_hole, need

TODAY = time.strftime("%Y-%m-%d")
DOC = "/docs/Fotos Über Weihnachten.txt"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`discvault` as a user runs it; a busy library is reported after 1 s, not 10."""
    e = {**os.environ, "DISCVAULT_LIBRARY_WAIT": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=240, env=e
    )


def make_iso(tmp: Path, name: str, label: str, first: int = 1, photos: int = 40) -> Path:
    """A photo CD: DCIM/100CANON/IMG_nnnn.JPG from ``first``, and a document with a non-ASCII
    name (Rock Ridge and Joliet keep it)."""
    need("genisoimage")
    tree = tmp / f"tree_{name}"
    cam = tree / "DCIM" / "100CANON"
    cam.mkdir(parents=True)
    seed = zlib.crc32(name.encode())
    for i in range(first, first + photos):
        (cam / f"IMG_{i:04d}.JPG").write_bytes(random_bytes(3000 + 97 * i, seed=seed + i))
    (tree / "docs").mkdir()
    (tree / "docs" / "Fotos Über Weihnachten.txt").write_text(f"{label}\n")
    iso = tmp / f"{name}.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-input-charset", "utf-8", "-V", label,
         "-o", str(iso), str(tree)],
        check=True,
    )  # fmt: skip
    return iso


def backup(tmp: Path, source: Path | str, name: str) -> Path:
    """`discvault rip SOURCE OUT.iso`: image, mapfile, report and checksum files."""
    out = tmp / "backups" / name / f"{name}.iso"
    out.parent.mkdir(parents=True, exist_ok=True)
    r = cli("rip", str(source), str(out))
    assert r.returncode in (0, 1), r.stderr
    return out


def add(lib: Path, image: Path, *more: str) -> str:
    r = cli("library", "add", str(image), "--library", str(lib), *more)
    assert r.returncode == 0, r.stderr
    return r.stdout


def search(lib: Path, *words: str) -> list[list[str]]:
    r = cli("library", "search", *words, "--library", str(lib))
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


def dump(lib: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Catalogue(Library(str(lib))) as cat:
        assert cat.check() == []
        return cat.dump()


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """A library with two backed-up photo CDs: IMG_0001–0040 and IMG_0100–0129."""
    lib = tmp_path / "lib"
    add(lib, backup(tmp_path, make_iso(tmp_path, "photos", "PHOTOS_2009"), "photos"))
    add(lib, backup(tmp_path, make_iso(tmp_path, "trip", "TRIP", first=100, photos=30), "trip"))
    return lib


def test_search_names_the_disc_and_extract_takes_the_hit(shelf: Path, tmp_path: Path) -> None:
    hits = search(shelf, "IMG_0042.JPG")
    assert hits == []  # the photo CD stops at IMG_0040
    hits = search(shelf, "IMG_0037.JPG")
    assert len(hits) == 1
    image, path, _size, label = hits[0]
    assert label == "PHOTOS_2009"
    assert image == str(shelf / f"PHOTOS_2009_{TODAY}" / "photos.iso")
    assert path == "/DCIM/100CANON/IMG_0037.JPG"
    out = tmp_path / "out"
    r = cli("extract", image, path, "-o", str(out))
    assert r.returncode == 0, r.stderr
    original = tmp_path / "tree_photos" / "DCIM" / "100CANON" / "IMG_0037.JPG"
    assert (out / "IMG_0037.JPG").read_bytes() == original.read_bytes()


@pytest.mark.parametrize(
    ("words", "want"),
    [
        (["0037"], {("PHOTOS_2009", "/DCIM/100CANON/IMG_0037.JPG")}),
        (["img_012"], {("TRIP", f"/DCIM/100CANON/IMG_{i:04d}.JPG") for i in range(120, 130)}),
        (["IMG_00?2.*"], {("PHOTOS_2009", f"/DCIM/100CANON/IMG_00{d}2.JPG") for d in range(4)}),
        (["*.txt"], {(d, DOC) for d in ("PHOTOS_2009", "TRIP")}),
        (["über"], {(d, DOC) for d in ("PHOTOS_2009", "TRIP")}),
        (["ÜBER", "fotos"], {(d, DOC) for d in ("PHOTOS_2009", "TRIP")}),
        (["docs/fotos"], {(d, DOC) for d in ("PHOTOS_2009", "TRIP")}),
        (["DCIM/100CANON/IMG_0101"], {("TRIP", "/DCIM/100CANON/IMG_0101.JPG")}),
        (["IMG", "07"], {("PHOTOS_2009", "/DCIM/100CANON/IMG_0007.JPG"),
                         ("TRIP", "/DCIM/100CANON/IMG_0107.JPG")}),
        (["canon"], {(d, "/DCIM/100CANON") for d in ("PHOTOS_2009", "TRIP")}),
    ],
)  # fmt: skip
def test_search_words(shelf: Path, words: list[str], want: set[tuple[str, str]]) -> None:
    assert {(label, path) for _img, path, _size, label, *_ in search(shelf, *words)} == want


def test_search_refuses_what_it_cannot_look_up_and_speaks_json(shelf: Path) -> None:
    r = cli("library", "search", "ab", "--library", str(shelf))
    assert r.returncode == 2
    assert r.stderr.startswith("discvault: 'ab' is too short") and "3 characters" in r.stderr
    r = cli("library", "search", "IMG", "--limit", "-1", "--library", str(shelf))
    assert r.returncode == 2 and "between 1 and 100000" in r.stderr  # not "no limit" to SQLite
    r = cli("library", "search", "IMG_01", "--limit", "5", "--json", "--library", str(shelf))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "discvault.library-search/1"
    assert len(doc["hits"]) == 5 and doc["more"] is True
    assert all(h["label"] == "TRIP" and h["kind"] == "file" for h in doc["hits"])


def test_list_show_and_export(shelf: Path, tmp_path: Path) -> None:
    r = cli("library", "list", "--json", "--library", str(shelf))
    assert r.returncode == 0, r.stderr
    discs = {d["label"]: d for d in json.loads(r.stdout)["discs"]}
    assert set(discs) == {"PHOTOS_2009", "TRIP"}
    photos = discs["PHOTOS_2009"]
    insp = open_image(photos["image"])
    assert photos["files"] == sum(1 for _ in insp.walk())  # every entry indexed
    insp.close()
    assert photos["state"] == "complete" and photos["badge"] == "complete"
    r = cli("library", "show", "PHOTOS", "--json", "--library", str(shelf))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    md5 = Path(photos["image"] + ".md5").read_text().split()[0]
    assert doc["md5"] == md5 and doc["hashes_from"] == "report"
    assert doc["identity"] and doc["identity_doc"]["label"] == "PHOTOS_2009"
    assert [e["kind"] for e in doc["history"]] == ["read"]  # who read it: the backup's source
    assert doc["history"][0]["doc"]["ranges"] == [[0, doc["sectors"]]]
    r = cli("library", "show", "PHOTOS", "--library", str(shelf))
    assert "PHOTOS_2009  ·  complete" in r.stdout and md5 in r.stdout
    r = cli("library", "export", "--library", str(shelf))
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["label"] for row in rows] == ["PHOTOS_2009", "TRIP"]
    assert rows[0]["md5"] == md5 and rows[0]["state"] == "complete"
    out = tmp_path / "files.json"
    r = cli("library", "export", "--format", "json", "--files", "-o", str(out), "--library",
            str(shelf))  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["schema"] == "discvault.library/1"
    files = {(d["label"], f["path"]) for d in doc["discs"] for f in d["files"]}
    assert ("TRIP", "/DCIM/100CANON/IMG_0129.JPG") in files
    assert len(files) == sum(d["file_count"] for d in doc["discs"])


def test_folder_names_collisions_duplicates_and_bare_images(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    a = backup(tmp_path, make_iso(tmp_path, "a", "PHOTOS"), "a")
    b = backup(tmp_path, make_iso(tmp_path, "b", "PHOTOS", first=500), "b")
    a.with_suffix(".cue").write_text('FILE "a.iso" BINARY\n')  # a cue sheet travels along
    add(lib, a)
    add(lib, b)
    assert sorted(os.listdir(lib)) == [".discvault", f"PHOTOS_{TODAY}", f"PHOTOS_{TODAY}_2"]
    assert sorted(os.listdir(lib / f"PHOTOS_{TODAY}")) == sorted(
        ["a.iso", "a.iso.map", "a.iso.report.json", "a.iso.md5", "a.iso.sha1", "a.iso.sha256",
         "a.cue", "history"]
    )  # fmt: skip
    assert (lib / f"PHOTOS_{TODAY}" / "a.iso").read_bytes() == a.read_bytes()
    assert a.exists()  # copied, not moved
    r = cli("library", "add", str(a), "--library", str(lib))
    assert r.returncode == 4 and f"already in the library as PHOTOS_{TODAY}" in r.stderr
    r = cli("library", "add", str(a), "--template", "{label}_{nope}", "--library", str(lib))
    assert r.returncode == 2 and "{nope}" not in os.listdir(lib)
    # An image from elsewhere, with no report and no checksum files: it gets checksum files.
    bare = make_iso(tmp_path, "bare", "SCAN: 1/2")
    add(lib, bare, "--move", "--template", "{year}-{label}")
    folder = lib / f"{TODAY[:4]}-SCAN_ 1_2"
    assert not bare.exists() and (folder / "bare.iso").exists()
    r = subprocess.run(
        ["sha256sum", "-c", "bare.iso.sha256"], cwd=folder, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    r = cli("library", "show", "SCAN: 1/2", "--json", "--library", str(lib))
    doc = json.loads(r.stdout)
    assert doc["hashes_from"] == "sidecars" and doc["identity_from"] == "image"
    assert doc["history"] == []  # no report: nobody knows which drive read it


def test_rebuild_equals_the_original(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    add(lib, backup(tmp_path, make_iso(tmp_path, "a", "ALPHA"), "a"))
    add(lib, backup(tmp_path, make_iso(tmp_path, "b", "BETA", first=300), "b"))
    # A damaged backup from another tool: an image with a ddrescue mapfile, no report.
    c = make_iso(tmp_path, "c", "GAMMA", first=700)
    target = open_image(str(c)).find("/DCIM/100CANON/IMG_0710.JPG")
    assert target is not None
    lba = target.extents[0][0]
    map_with_hole(Path(f"{c}.map"), c.stat().st_size, lba * 2048, 2 * 2048)
    add(lib, c)
    library = Library(str(lib))
    assert verify_library(library).worst == "good"
    with Catalogue(library) as cat:
        alpha = next(d for d in cat.discs() if d.label == "ALPHA")
        with ImageSource(str(lib / alpha.folder / alpha.image)) as src:
            health.record(library, cat, alpha.folder, health.scan(src))
        beta = next(d for d in cat.discs() if d.label == "BETA")
    with open(lib / beta.folder / beta.image, "r+b") as f:  # bit rot
        f.seek(100_000)
        f.write(b"\xff")
    assert verify_library(library, [beta.folder]).worst == "changed"
    original = dump(lib)
    label, outcome = DISC_COLUMNS.index("label"), DISC_COLUMNS.index("outcome")
    assert {d[label] for d in original["discs"]} == {"ALPHA", "BETA", "GAMMA"}
    gamma = next(d for d in original["discs"] if d[label] == "GAMMA")
    assert gamma[outcome] == "incomplete"
    damaged = [f for f in original["files"] if f[0] == gamma[0] and f[6]]
    assert damaged == [(gamma[0], "/DCIM/100CANON", "IMG_0710.JPG", "file", 3000 + 97 * 710,
                        damaged[0][5], 2 * 2048)]  # fmt: skip
    kinds = sorted((e[0][:4], e[1], e[3]) for e in original["events"])
    assert ("ALPH", "health", "good") in kinds and ("BETA", "verify", "changed") in kinds

    # Lost: rebuilt from the folders alone.
    for name in os.listdir(library.state_dir):
        if name.startswith("catalogue"):
            os.unlink(os.path.join(library.state_dir, name))
    r = cli("library", "rebuild", "--library", str(lib))
    assert r.returncode == 0, r.stderr
    assert "rebuilt: 3 disc(s)" in r.stdout
    assert dump(lib) == original

    # Damaged: commands say so in one line; the rebuild keeps the damaged file aside.
    Path(library.catalogue_path).write_bytes(random_bytes(64 * 1024, seed=7))
    r = cli("library", "list", "--library", str(lib))
    assert r.returncode == 4
    assert "is damaged" in r.stderr and "library rebuild" in r.stderr
    assert r.stderr.count("\n") == 1
    r = cli("library", "rebuild", "--library", str(lib))
    assert r.returncode == 0, r.stderr
    assert "damaged catalogue was kept as" in r.stderr
    assert any(".damaged-" in n for n in os.listdir(library.state_dir))
    assert dump(lib) == original


def test_reverify_resumes_where_it_stopped_and_finds_bit_rot(shelf: Path, tmp_path: Path) -> None:
    add(shelf, backup(tmp_path, make_iso(tmp_path, "third", "THIRD", first=900), "third"))
    library = Library(str(shelf))
    token = CancelToken()
    seen: list[str] = []

    def progress(p: Progress) -> None:
        if p.message and p.message not in seen:
            seen.append(p.message)
            if len(seen) == 2:  # the second disc starts: stop, as Ctrl-C would
                token.cancel("test")

    first = verify_library(library, progress=progress, cancel=token)
    assert first.cancelled and len(first.discs) == 1
    assert os.path.exists(os.path.join(library.state_dir, "verify-run.json"))
    r = cli("library", "verify", "--library", str(shelf))
    assert r.returncode == 0, r.stderr
    assert "1 disc(s) were already done" in r.stderr
    assert "Verified 3 discs" in r.stdout and "3 good" in r.stdout
    report = Path(r.stdout.split("report: ")[1].strip())
    doc = json.loads(report.read_text())
    assert doc["schema"] == "discvault.library-verify/1" and doc["counts"]["good"] == 3
    assert doc["run"] == first.run  # one run, resumed
    with Catalogue(library) as cat:
        per_disc = [
            sum(1 for e in cat.events(d.id, "verify") if e.doc.get("run") == first.run)
            for d in cat.discs()
        ]
    assert per_disc == [1, 1, 1]  # the disc done before the stop was not hashed again
    assert not os.path.exists(os.path.join(library.state_dir, "verify-run.json"))

    photos = next(p for p in shelf.iterdir() if p.name.startswith("PHOTOS_2009"))
    with open(photos / "photos.iso", "r+b") as f:
        f.seek(50_000)
        old = f.read(1)
        f.seek(50_000)
        f.write(bytes([old[0] ^ 0x10]))
    r = cli("library", "verify", "--library", str(shelf))
    assert r.returncode == 3
    assert f"discvault: {photos.name}: CHANGED ON STORAGE" in r.stderr
    r = cli("library", "list", "--library", str(shelf))
    assert "changed on storage!" in r.stdout and f"verified {TODAY}" in r.stdout
    (photos / "photos.iso").unlink()
    r = cli("library", "verify", "PHOTOS_2009", "--library", str(shelf))
    assert r.returncode == 4 and "is missing" in r.stderr


def test_a_second_writer_is_told_who_holds_the_library(shelf: Path, tmp_path: Path) -> None:
    extra = backup(tmp_path, make_iso(tmp_path, "extra", "EXTRA", first=800), "extra")
    before = dump(shelf)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from app.core.library.catalogue import Catalogue\n"
         "from app.core.library.folder import Library\n"
         "cat = Catalogue(Library(sys.argv[1]), what='library rebuild')\n"
         "with cat.hold():\n"
         "    print('held', flush=True)\n"
         "    time.sleep(60)\n",
         str(shelf)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        for args in (["add", str(extra)], ["rebuild"]):
            r = cli("library", *args, "--library", str(shelf))
            assert r.returncode == 4, r.stderr
            assert r.stderr.startswith(
                f"discvault: the library {shelf} is in use by another DiscVault process "
                f"(library rebuild, pid {holder.pid}, since "
            )
            assert "— wait for it to finish" in r.stderr and r.stderr.count("\n") == 1
        # Readers do not wait for a writer.
        assert len(search(shelf, "IMG_0101")) == 1
    finally:
        holder.kill()
        holder.wait()
    assert dump(shelf) == before
    assert not any("EXTRA" in n for n in os.listdir(shelf))  # nothing copied while refused
    # A writer that is not DiscVault (sqlite3 holding a write transaction): same message.
    raw = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\n"
         "print('held', flush=True)\n"
         "time.sleep(60)\n",
         Library(str(shelf)).catalogue_path],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert raw.stdout is not None and raw.stdout.readline() == "held\n"
        r = cli("library", "add", str(extra), "--library", str(shelf))
        assert r.returncode == 4
        assert "in use by another DiscVault process" in r.stderr and "Traceback" not in r.stderr
    finally:
        raw.kill()
        raw.wait()
    assert dump(shelf)["discs"] == before["discs"]


def test_errors_are_one_line(tmp_path: Path) -> None:
    cases = [
        (["list", "--library", str(tmp_path / "nowhere")], "no library folder at"),
        (["list", "--library", str(tmp_path)], "no catalogue in"),
        (["add", str(tmp_path / "missing.iso"), "--library", str(tmp_path)], "no such image"),
    ]
    (tmp_path / "junk.iso").write_bytes(b"not an image" * 10_000)
    cases.append((["add", str(tmp_path / "junk.iso"), "--library", str(tmp_path)], "disc images"))
    for args, words in cases:
        r = cli("library", *args)
        assert r.returncode == 4, (args, r.stderr)
        assert r.stderr.startswith("discvault: ") and words in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
    assert os.listdir(tmp_path) == ["junk.iso"]  # nothing made on the way to an error


def test_damaged_backup_names_its_files_and_the_drives_that_read_it(
    make_device: MakeDevice, tmp_path: Path
) -> None:
    iso = make_iso(tmp_path, "scratched", "SCRATCHED")
    node = open_image(str(iso)).find("/DCIM/100CANON/IMG_0020.JPG")
    assert node is not None
    bad = node.extents[0][0] + 1
    data = iso.read_bytes()
    first = make_device(data, [{"lba": bad, "count": 1, "kind": "bad"}])
    image = backup(tmp_path, first.path, "scratched")
    lib = tmp_path / "lib"
    add(lib, image, "--move")
    r = cli("library", "list", "--library", str(lib))
    assert "2.0 KB unreadable (1 file)" in r.stdout
    r = cli("library", "show", "SCRATCHED", "--json", "--library", str(lib))
    doc = json.loads(r.stdout)
    assert doc["damaged"] == [
        {"path": "/DCIM/100CANON/IMG_0020.JPG", "kind": "file", "unreadable_bytes": 2048}
    ]
    sectors = doc["sectors"]
    reads = [e["doc"] for e in doc["history"] if e["kind"] == "read"]
    assert reads == [
        {"drive": first.path, "source": first.path, "ranges": [[0, bad], [bad + 1, sectors]],
         "sectors": sectors - 1}
    ]  # fmt: skip
    hits = search(lib, "IMG_0020")
    assert hits[0][4:] == ["2.0 KB unreadable"]

    # "Try another drive": the same disc in a second drive fills the gap, into the library.
    second = make_device(data, [])
    stored = lib / doc["folder"] / "scratched.iso"
    r = cli("rip", second.path, str(stored))
    assert r.returncode == 0, r.stderr
    assert stored.read_bytes() == data
    r = cli("library", "verify", "--library", str(lib))  # sees the new report, reads it first
    assert r.returncode == 0, r.stderr
    r = cli("library", "show", "SCRATCHED", "--json", "--library", str(lib))
    doc = json.loads(r.stdout)
    assert doc["badge"] == f"verified {TODAY}" and doc["damaged"] == []
    reads = [(e["doc"]["drive"], e["doc"]["ranges"]) for e in doc["history"] if e["kind"] == "read"]
    assert reads == [(first.path, [[0, bad], [bad + 1, sectors]]), (second.path, [[bad, bad + 1]])]


def test_default_template_matches_the_cli() -> None:
    from app import cli_library

    assert cli_library.DEFAULT_TEMPLATE == DEFAULT_TEMPLATE


def test_identity_and_drive_come_from_the_report_when_it_carries_them(tmp_path: Path) -> None:
    # Reports from the layout-aware engine carry the disc's identity (from the drive's TOC)
    # and may name the drive: the library takes both from there instead of guessing.
    image = backup(tmp_path, make_iso(tmp_path, "ident", "IDENT"), "ident")
    report = Path(f"{image}.report.json")
    doc = json.loads(report.read_text())
    ident = DiscIdentity("0123456789abcdef", "ab" * 20, doc["image"]["sectors"], "FROM TOC")
    doc["disc"] = {"identity": ident.to_json()}
    doc["source"]["drive"] = {"vendor": "ASUS", "model": "BW-16D1HT"}
    report.write_text(json.dumps(doc))
    lib = tmp_path / "lib"
    add(lib, image)
    assert (lib / f"FROM TOC_{TODAY}" / "ident.iso").exists()
    r = cli("library", "show", "FROM TOC", "--json", "--library", str(lib))
    shown = json.loads(r.stdout)
    assert shown["identity"] == ident.key and shown["identity_from"] == "report"
    assert [e["doc"]["drive"] for e in shown["history"]] == ["ASUS BW-16D1HT"]
