"""The link rule (app.core.fs.links) on a real filesystem: random folders and links, judged as
extraction judges them, over several runs into one folder (some of it left by another tool,
unjudged): after every step, nothing in the folder resolves outside it."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from app.core.fs.links import LinkJudge
from app.core.fs.outdir import OutDir

NAMES = ["a", "b", "c", "d"]


def target(rng: random.Random) -> str:
    parts = [*NAMES, "..", ".", "..", ""]
    return "/".join(rng.choice(parts) for _ in range(rng.randrange(1, 6))) or "."


def escapes(out: Path) -> list[str]:
    root = os.path.realpath(out)
    bad = []
    for where, dirs, files in os.walk(out):
        for name in dirs + files:
            try:
                real = os.path.realpath(os.path.join(where, name), strict=True)
            except OSError:
                continue  # leads nowhere (yet): the rule is about what it can ever become
            if os.path.commonpath([root, real]) != root:
                bad.append(os.path.relpath(os.path.join(where, name), out))
    return bad


@pytest.mark.parametrize("seeds", [range(0, 100), range(100, 200)], ids=["0-99", "100-199"])
def test_random_links_and_folders_never_resolve_outside(seeds: range, tmp_path: Path) -> None:
    made = refused = 0
    for seed in seeds:
        rng = random.Random(seed)
        out = tmp_path / str(seed) / "p" / "q" / "DIR"
        out.mkdir(parents=True)
        for _ in range(rng.randrange(0, 4)):  # left by another tool: not judged
            p = out / rng.choice(NAMES)
            if not os.path.lexists(p):
                os.symlink(target(rng), p)
                if escapes(out):
                    os.unlink(p)  # only what does not escape yet
        for _ in range(3):  # three runs into the same folder
            od = OutDir(str(out))
            judge = LinkJudge(od)
            for _ in range(25):
                parts = tuple(rng.choice(NAMES) for _ in range(rng.randrange(1, 4)))
                try:
                    d = od.open(parts[:-1])
                except OSError:
                    continue  # behind a link or a file: extraction never goes there
                try:
                    if d.lstat(parts[-1]) is not None:
                        continue
                    if rng.random() < 0.4:
                        why = judge.folder_refusal(parts)
                        if not why:
                            d.mkdir(parts[-1])
                    else:
                        t = target(rng)
                        why = judge.refusal(parts[:-1], t)
                        if not why:
                            d.symlink(t, parts[-1])
                            judge.made(parts)
                            made += 1
                    refused += bool(why)
                finally:
                    d.close()
                assert escapes(out) == [], seed
            od.close()
    assert made > 100 and refused > 100  # both sides of the rule ran
