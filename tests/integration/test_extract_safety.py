"""Extraction never leaves anything that resolves outside DIR, judged when each entry is made
(also against earlier runs into the same DIR), refuses an over-long name or path alone, and
never prints a control character raw."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.core.fs.extract import extract
from app.core.fs.inspection import open_image
from tests.integration import isofixtures as fx
from tests.integration.test_rip_faults import run_cli

LINK = 0o120777


def escapes(out: Path) -> list[str]:
    """Everything under ``out`` that resolves outside it, as the kernel resolves it (a link
    that leads nowhere does not resolve at all)."""
    root = os.path.realpath(out)
    bad = []
    for where, dirs, files in os.walk(out):
        for name in dirs + files:
            p = os.path.join(where, name)
            try:
                real = os.path.realpath(p, strict=True)
            except OSError:
                continue
            if os.path.commonpath([root, real]) != root:
                bad.append(os.path.relpath(p, out))
    return bad


def test_a_link_chain_is_refused_even_when_a_later_entry_fails(tmp_path: Path) -> None:
    """``a -> b/b/.../../etc/passwd`` with ``b -> c``, ``c -> .`` is lexically inside, and the
    old final cleanup never ran when a later link failed (a NUL or a 5,000-byte target): the
    extraction stopped with ``DIR/a -> /etc/passwd`` in place."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "f.txt").write_text("f")
    (tree / "p1.txt").write_text("1")
    (tree / "p2.txt").write_text("2")
    os.symlink(".", tree / "c")
    os.symlink("c", tree / "b")
    os.symlink("b/" * 16 + "../" * 16 + "etc/passwd", tree / "a")
    data = fx.build_xorriso(tree, tmp_path / "base.iso").read_bytes()
    data = fx.rr_payload(data, b"P1.TXT;1", fx.su_px(LINK) + fx.su_nm(b"p1") + fx.su_sl(b"x\0y"))
    long_target = b"/".join([b"t" * 99] * 50)  # 4,999 bytes
    data = fx.rr_payload(
        data, b"P2.TXT;1", fx.su_px(LINK) + fx.su_nm(b"p2") + fx.su_sl(long_target)
    )
    iso = tmp_path / "chain.iso"
    iso.write_bytes(data)
    out = tmp_path / "out"
    r = run_cli("extract", str(iso), "-o", str(out))
    assert escapes(out) == []
    assert not os.path.lexists(out / "a")
    assert (out / "f.txt").read_text() == "f"
    assert os.readlink(out / "b") == "c" and os.readlink(out / "c") == "."
    assert r.returncode == 4
    lines = r.stderr.splitlines()
    assert any(ln.startswith("discvault: /a: refused: ") and "climbs" in ln for ln in lines)
    assert any(ln.startswith("discvault: /p1: refused: ") and "NUL" in ln for ln in lines)
    assert any(ln.startswith("discvault: /p2: refused: ") and "4999 bytes" in ln for ln in lines)
    assert "extracted" in r.stdout


def test_two_runs_into_one_folder_cannot_combine_into_an_escape(tmp_path: Path) -> None:
    """Run 1 brings ``x -> d/..`` (d missing: harmless alone), run 2 brings ``d -> .``:
    together, ``x`` would be the parent of DIR."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    os.symlink("d/..", one / "x")
    (one / "keep.txt").write_text("k")
    os.symlink(".", two / "d")
    out = tmp_path / "out"
    for src in (one, two):
        extract(
            open_image(str(fx.build_xorriso(src, tmp_path / f"{src.name}.iso"))), None, str(out)
        )
    assert escapes(out) == []
    assert not os.path.lexists(out / "x")
    assert os.readlink(out / "d") == "."


def test_links_another_tool_left_are_judged_too(tmp_path: Path) -> None:
    """A link already in DIR that does not keep the rule (from another tool or an older
    version): no new link is made next to it, and no folder that would complete it."""
    src = tmp_path / "src"
    (src / "m").mkdir(parents=True)
    (src / "m" / "in.txt").write_text("i")
    os.symlink(".", src / "d")
    iso = fx.build_xorriso(src, tmp_path / "src.iso")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink("d/..", out / "x")  # escapes as soon as d -> . exists
    os.symlink("m/../..", out / "y")  # escapes as soon as a folder m exists
    res = extract(open_image(str(iso)), None, str(out))
    refused = dict(res.refused)
    assert "already holds a link that could point outside it" in refused["/d"]
    assert "would let the existing link 'y' point outside" in refused["/m"]
    assert not os.path.lexists(out / "d") and not os.path.lexists(out / "m")
    assert escapes(out) == []


def test_nothing_is_written_through_a_link_already_in_the_folder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "docs" / "sub").mkdir(parents=True)
    (src / "docs" / "sub" / "a.txt").write_text("a")
    (src / "top.txt").write_text("t")
    iso = fx.build_xorriso(src, tmp_path / "src.iso")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "top.txt").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(str(victim), out / "docs")  # left by an earlier run of something
    os.symlink(str(victim / "top.txt"), out / "top.txt")
    i = open_image(str(iso))
    res = extract(i, None, str(out))
    assert sorted(p for p, _ in res.refused) == ["/docs", "/top.txt"]
    assert os.listdir(victim) == ["top.txt"] and (victim / "top.txt").read_text() == "precious"
    # Replacing replaces the link itself, never what it points at.
    res = extract(i, ["/top.txt"], str(out), conflict="replace")
    assert res.refused == [] and not (out / "top.txt").is_symlink()
    assert (out / "top.txt").read_text() == "t" and (victim / "top.txt").read_text() == "precious"


def test_an_over_long_name_is_refused_alone(tmp_path: Path) -> None:
    """A 300-byte folder name stopped the whole extraction with ``DIR: File name too long``."""
    src = tmp_path / "src"
    (src / "dlong").mkdir(parents=True)
    (src / "dlong" / "in.txt").write_text("i")
    (src / "ok.txt").write_text("o")
    data = fx.build_xorriso(src, tmp_path / "src.iso").read_bytes()
    iso = tmp_path / "long.iso"
    iso.write_bytes(fx.rr_payload(data, b"DLONG", fx.su_px(0o40755) + fx.su_nm(b"n" * 300)))
    out = tmp_path / "out"
    r = run_cli("extract", str(iso), "-o", str(out))
    assert r.returncode == 4
    assert (out / "ok.txt").read_text() == "o"
    (line,) = r.stderr.splitlines()
    assert (
        line
        == f"discvault: /{'n' * 300}: refused: name too long (300 bytes; the limit here is 255)"
    )


def test_an_over_long_path_is_refused_where_it_gets_too_long(tmp_path: Path) -> None:
    src = tmp_path / "src"
    deep = src
    for k in range(20):
        deep = deep / f"n{k}"
    deep.mkdir(parents=True)
    (deep / "leaf.txt").write_text("l")
    (src / "ok.txt").write_text("o")
    data = fx.build_xorriso(src, tmp_path / "src.iso").read_bytes()
    for k in range(20):  # 20 folders of 240-byte names: a path of about 4,800 bytes
        name = f"{k:02d}".encode() + b"d" * 238
        data = fx.rr_payload(data, f"N{k}".encode(), fx.su_px(0o40755) + fx.su_nm(name))
    iso = tmp_path / "deep.iso"
    iso.write_bytes(data)
    out = tmp_path / "out"
    res = extract(open_image(str(iso)), None, str(out))
    assert (out / "ok.txt").read_text() == "o"
    ((path, why),) = res.refused
    assert why.startswith("refused: path too long (")
    base = len(os.fsencode(os.path.realpath(out)))
    assert base + len(os.fsencode(path)) >= 4096 > base + len(os.fsencode(path.rsplit("/", 1)[0]))
    assert (out / path.rsplit("/", 1)[0].lstrip("/")).is_dir()  # everything above it is there


def test_control_characters_are_escaped_in_every_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    evil = "\x1b[2J\x1b]0;owned\x07red\rline\nbreak"
    (src / evil).write_text("e")
    (src / "ok.txt").write_text("o")
    iso = fx.build_xorriso(src, tmp_path / "src.iso")
    r = run_cli("inspect", str(iso), "--files")
    assert r.returncode == 0
    assert "\x1b" not in r.stdout and "\r" not in r.stdout and "\x07" not in r.stdout
    assert "/\\x1b[2J\\x1b]0;owned\\x07red\\x0dline\\x0abreak" in r.stdout
    assert sum(1 for ln in r.stdout.splitlines() if "  /" in ln) == 2  # one line each
    out = tmp_path / "out"
    out.mkdir()
    (out / evil).write_text("already here")  # a refusal that names it
    r = run_cli("extract", str(iso), "-o", str(out))
    assert r.returncode == 4
    (line,) = r.stderr.splitlines()
    assert line.startswith("discvault: /\\x1b[2J") and "not overwritten" in line
    assert "\x1b" not in r.stderr and "\n" not in line


@pytest.mark.parametrize("policy", ["skip", "rename"])
def test_conflict_policies_never_follow_or_leave_partial_files(policy: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("new")
    iso = fx.build_xorriso(src, tmp_path / "src.iso")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    res = extract(open_image(str(iso)), None, str(out), conflict=policy)
    assert res.refused == []
    assert (out / "a.txt").read_text() == "old"
    names = sorted(os.listdir(out))
    assert names == (["a.txt"] if policy == "skip" else ["a (1).txt", "a.txt"])
    if policy == "rename":
        assert (out / "a (1).txt").read_text() == "new"


def test_a_folder_and_a_folder_inside_it_both_asked_for(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "docs" / "sub").mkdir(parents=True)
    (src / "docs" / "sub" / "a.txt").write_text("a")
    i = open_image(str(fx.build_xorriso(src, tmp_path / "src.iso")))
    res = extract(i, ["/docs", "/docs/sub"], str(tmp_path / "out"))
    assert res.refused == []
    assert (tmp_path / "out" / "docs" / "sub" / "a.txt").read_text() == "a"
    assert (tmp_path / "out" / "sub" / "a.txt").read_text() == "a"
