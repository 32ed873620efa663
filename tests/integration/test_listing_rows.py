"""`inspect --files` reads an ISO 9660 tree's plain files as Row tuples, not Nodes (the listing
was a fifth faster for it). The text must be what the Node path gives, line for line, on every
kind of image: links, multi-extent and zisofs files, files past the end of a cut image, the
entry limit, Joliet-only and plain ISO 9660 trees, made by genisoimage and xorriso."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli_listing import _file_lines, _Tally, _text_lines, batches, row_batches
from app.core.fs import inspection
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.iso9660 import IsoFilesystem
from app.core.fs.node import InspectError, Node
from tests.integration import isofixtures as fx


def by_nodes(i: Inspection) -> tuple[str, _Tally]:
    tally, stamps = _Tally(), {}  # type: ignore[var-annotated]
    return "".join(_file_lines(b, stamps, tally, True) for b in batches(i)), tally


def by_rows(i: Inspection) -> tuple[str, _Tally, int]:
    tally, stamps, rows = _Tally(), {}, 0  # type: ignore[var-annotated]
    out = []
    for items, at in row_batches(i):
        rows += len(items) - len(at)
        assert all(isinstance(items[k], Node) for k in at)
        assert sum(isinstance(x, Node) for x in items) == len(at)
        out.append(_text_lines(items, at, stamps, tally, True))
    return "".join(out), tally, rows


def same_listing(image: Path, want_rows: bool = True) -> str:
    text, tally = by_nodes(open_image(str(image)))
    got, got_tally, rows = by_rows(open_image(str(image)))
    assert got == text
    assert got_tally == tally
    assert (rows > 0) == want_rows  # the Row path was taken (or, where it must not be, not)
    return text


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.make_tree(tmp_path_factory.mktemp("rows") / "tree")


KINDS = ["geniso_rr_joliet", "geniso_joliet", "geniso_plain", "xorriso_eltorito", "xorriso_zisofs"]


@pytest.mark.parametrize("kind", KINDS)
def test_rows_list_what_nodes_list(kind: str, tree: Path, tmp_path: Path) -> None:
    same_listing(fx.build(kind, tree, tmp_path / f"{kind}.iso"))


def test_links_and_long_names(tmp_path: Path) -> None:
    rr = fx.make_rr_tree(tmp_path / "rr")
    text = same_listing(fx.build_xorriso(rr, tmp_path / "rr.iso"))
    assert " -> " in text  # a symlink went the Node way, in its place


def test_a_multi_extent_file(tree: Path, tmp_path: Path) -> None:
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "m.iso")
    fx.split_into_two_extents(iso, b"DATA.BIN;1")
    same_listing(iso)


def test_files_past_the_end_of_a_cut_image(tmp_path: Path) -> None:
    # 40 small files read as Rows, then a big one of the same record layout whose data the cut
    # leaves out, in one folder
    tree = tmp_path / "tree"
    (tree / "d").mkdir(parents=True)
    for k in range(40):
        (tree / "d" / f"a_{k:02d}.txt").write_text("x" * k)
    (tree / "d" / "a_99.txt").write_bytes(bytes(range(256)) * 400)
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "full.iso")
    big = open_image(str(iso)).find("/d/a_99.txt")
    assert big is not None
    cut = tmp_path / "cut.iso"
    cut.write_bytes(iso.read_bytes()[: (big.extents[0][0] + 10) * 2048])
    text = same_listing(cut)
    assert "/d/a_99.txt  [PAST THE END" in text  # read by the fast loop (its layout), marked


def test_the_entry_limit(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    iso = fx.build("geniso_rr_joliet", tree, tmp_path / "limit.iso")
    monkeypatch.setattr(inspection, "MAX_ENTRIES", 5)

    def first_error(listing: Callable[[Inspection], object]) -> str:
        with pytest.raises(InspectError) as e:
            listing(open_image(str(iso)))
        return str(e.value)

    assert first_error(by_rows) == first_error(by_nodes)
    seen: list[int] = []
    with pytest.raises(InspectError):
        for items, _ in open_image(str(iso)).walk_rows():
            seen.append(len(items))
    assert sum(seen) == 5  # one past the limit is read, none of it listed


def test_an_earlier_session_is_listed_as_nodes(tmp_path: Path) -> None:
    # entries an earlier session shows get marks from the last one: the Node path, always
    a = tmp_path / "a"
    a.mkdir()
    (a / "one.txt").write_text("1")
    iso = fx.build("geniso_rr_joliet", a, tmp_path / "s.iso")
    i = open_image(str(iso))
    i.later = {"/one.txt": "deleted"}
    text, _, rows = by_rows(i)
    assert rows == 0 and "[deleted in a later session]" in text


def test_a_walk_looks_only_at_what_can_need_it(tmp_path: Path) -> None:
    # the fast loop's plain files (within the image) have no problem, no subfolder and no data
    # past the end: a walk's checks skip them, in the Node walk (GUI, extract) as in the listing
    tree = tmp_path / "tree"
    (tree / "d" / "sub").mkdir(parents=True)
    for k in range(40):
        (tree / "d" / f"a_{k:02d}.txt").write_text("x" * k)
    i = open_image(str(fx.build("geniso_rr_joliet", tree, tmp_path / "w.iso")))
    d = i.find("/d")
    assert d is not None and isinstance(i.fs, IsoFilesystem)
    for rows in (False, True):
        checked = [items[k] for items, at in i.fs.iterrows(d, rows) for k in at]
        listed = [x for items, _ in i.fs.iterrows(d, rows) for x in items]
        assert len(listed) == 41 and len(checked) < 5  # a few learned the layouts
        assert "/d/sub" in [n.path for n in checked if isinstance(n, Node)]
