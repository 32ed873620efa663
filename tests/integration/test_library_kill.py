"""``kill -9`` while the catalogue is being written: on reopen it is whole, and holds every
write that was reported done (plus at most the one in flight), never half of one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from tests.integration.isofixtures import need
from tests.integration.test_library import cli, dump

WRITER = r"""
import sys
from app.core.library.catalogue import Catalogue
from app.core.library.folder import Library
from app.core.library.records import DiscRecord, Event, FileRow

class Scan:
    def __init__(self, gen: int) -> None:
        self.gen = gen
        self.record = DiscRecord(
            folder=f"D{gen % 7}", image="d.iso", label=f"gen{gen}", identity=None,
            identity_doc=None, identity_from="none", backed_up="2026-01-01T00:00:00+0000",
            created="", sectors=1000, image_bytes=2048000, outcome="complete",
            unreadable_sectors=0, crc32=None, md5=None, sha1=None, sha256=None,
            hashes_from="none", dat=None, formats="", volume_id="", report_stamp="",
            image_stamp="",
        )
        self.events = [Event("verify", "2026-01-02T00:00:00+0000", "good", f"gen{gen}", {}, "")]
        self.problem = ""

    def files(self):
        for i in range(4000):
            yield FileRow(f"/dir{i // 100}", f"gen{self.gen}_file{i}.jpg", "file", i, 0.0, 0)

cat = Catalogue(Library(sys.argv[1]), create=True, what="kill test")
print("ready", flush=True)
gen = int(sys.argv[2])
while True:
    gen += 1
    cat.put_disc(Scan(gen))
    cat.add_event(f"D{gen % 7}", Event("health", "2026-01-03T00:00:00+0000", "good", "", {}, ""))
    print(gen, flush=True)
"""


def test_kill_9_during_catalogue_writes_leaves_it_whole(tmp_path: Path) -> None:
    lib = Library(str(tmp_path / "lib"))
    start = 0
    for instant in (0.15, 0.4, 0.75, 1.2, 1.9):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, lib.root, str(start)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        time.sleep(instant)
        child.send_signal(signal.SIGKILL)
        child.wait()
        done = [int(line) for line in child.stdout.read().split()]
        child.stdout.close()
        assert done, "the writer committed nothing before the kill: give it longer"
        last = done[-1]
        with Catalogue(lib, timeout=0) as cat:  # the dead writer's lock is gone at once
            assert cat.check() == []
            gens = sorted(int(d.label[3:]) for d in cat.discs())
            assert max(gens) in (last, last + 1)  # every reported write, at most one more
            for d in cat.discs():
                names = {f.name for f in cat.files(d.id)}
                assert d.file_count == len(names) == 4000
                assert all(n.startswith(f"{d.label}_") for n in names)  # no mix of two writes
                hits, _ = cat.search(f"{d.label}_file3999.jpg")
                assert [h.folder for h in hits] == [d.folder]
            with cat.writing():  # and it takes new writes
                pass
        start = max(gens) + 1  # the next writer goes on on top of what survived


def test_kill_9_during_a_rebuild_keeps_the_old_catalogue(tmp_path: Path) -> None:
    need("genisoimage")
    tree = tmp_path / "tree"
    for d in range(60):
        sub = tree / f"folder_{d:02d}"
        sub.mkdir(parents=True)
        for f in range(500):
            (sub / f"photo_{d:02d}_{f:03d}.jpg").touch()
    iso = tmp_path / "many.iso"
    subprocess.run(
        ["genisoimage", "-quiet", "-R", "-J", "-V", "MANY", "-o", str(iso), str(tree)], check=True
    )
    root = tmp_path / "lib"
    for n in range(4):
        (root / f"DISC_{n}").mkdir(parents=True)
        os.link(iso, root / f"DISC_{n}" / "many.iso")
        if n == 1:
            r = cli("library", "rebuild", "--library", str(root))
            assert r.returncode == 0, r.stderr
    before = dump(root)
    assert len(before["discs"]) == 2
    child = subprocess.Popen(
        [sys.executable, "-m", "app", "library", "rebuild", "--library", str(root)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stderr is not None
    while "[3/4]" not in child.stderr.readline():  # two discs written into the transaction
        assert child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()
    assert dump(root) == before
    r = cli("library", "rebuild", "--library", str(root))
    assert r.returncode == 0, r.stderr
    after = dump(root)
    assert len(after["discs"]) == 4 and len(after["files"]) == 4 * len(before["files"]) // 2
    shutil.rmtree(tree)
