"""Screenshots for the README, from the real app on an X server, in both themes and two sizes.

    xvfb-run -s '-screen 0 1700x1100x24' .venv/bin/python docs/make_screenshots.py

Each theme and size runs in a fresh app process (a theme is chosen before any widget exists):
the demo drive is backed up and verified, and the window is captured at five moments — ready,
rescuing, verifying, finished, inspecting the damaged image. Then a two-session CD-R (made
once with xorriso, read through a drive with a TOC whose session gap does not read) is backed
up — "layout": the end card with the disc's layout — and opened — "sessions": the inspector
at its last session. All as docs/NAME-THEME-WxH.png.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THEMES = ("light", "dark")
SIZES = ((1600, 1000), (1024, 700))
GAP = 6750 + 4500 + 150  # lead-out, lead-in and pregap between two CD sessions


def make_multisession(work: Path) -> tuple[Path, str]:
    """A two-session photo CD-R, TAO (xorriso -C/-M): the disc's sectors at their LBAs and
    its layout as JSON. Session 2 replaces a file and adds a folder."""
    import random

    from app.core.disc.layout import TAO_RUNOUT, DiscLayout, Session, Track, TrackKind

    rng = random.Random(2009)

    def tree(root: Path, files: dict[str, int]) -> Path:
        for name, size in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(rng.randbytes(size))
        return root

    photos = {f"Photos/IMG_{i:04d}.JPG": 2_400_000 + 1000 * i for i in range(1, 13)}
    t1 = tree(work / "s1", {**photos, "notes.txt": 3000})
    more = {f"Photos 2/IMG_{i:04d}.JPG": 2_600_000 + 1000 * i for i in range(13, 21)}
    t2 = tree(work / "s2", {**more, "notes.txt": 4000})
    s1, s2 = work / "s1.iso", work / "s2.iso"
    mk = ["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J"]
    subprocess.run([*mk, "-V", "PHOTOS", "-o", str(s1), str(t1)], check=True)
    n1 = s1.stat().st_size // 2048
    start2 = n1 + TAO_RUNOUT + GAP
    cmd = [*mk, "-V", "PHOTOS", "-C", f"0,{start2}", "-M", str(s1), "-o", str(s2), str(t2)]
    subprocess.run(cmd, check=True)
    n2 = s2.stat().st_size // 2048
    disc = work / "disc.img"
    with open(disc, "wb") as f:
        f.write(s1.read_bytes())
        f.seek(start2 * 2048)
        f.write(s2.read_bytes())
        f.truncate((start2 + n2 + TAO_RUNOUT) * 2048)
    t_1 = Track(1, 1, 0, n1 + TAO_RUNOUT, TrackKind.MODE1, TAO_RUNOUT)
    t_2 = Track(2, 2, start2, n2 + TAO_RUNOUT, TrackKind.MODE1, TAO_RUNOUT)
    layout = DiscLayout((Session(1, (t_1,), t_1.end), Session(2, (t_2,), t_2.end)), "toc", "CD")
    return disc, json.dumps(layout.to_json())


def shoot(theme_name: str, width: int, height: int, out: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.base.events import Progress
    from app.core.disc.demo import DemoSource
    from app.core.disc.layout import DiscLayout
    from app.core.disc.sources import ImageSource, ReadError
    from app.gui import theme
    from app.gui.main_window import MainWindow, app_icon
    from app.gui.settings import Settings
    from app.gui.sources import SourceEntry

    class TocDrive(ImageSource):
        """The two-session disc in a drive: its TOC, and the session gap that never reads."""

        def __init__(self, path: str, layout: DiscLayout) -> None:
            super().__init__(path)
            self.layout = layout
            self.gaps = [(t.end - t.runout, t.end) for t in layout.tracks] + layout.gaps()

        def read_layout(self) -> DiscLayout:
            return self.layout

        def read(self, lba: int, count: int) -> bytes:
            time.sleep(count * 2048 / 40e6)
            for a, b in self.gaps:
                if a < lba + count and lba < b:
                    good = max(a - lba, 0)
                    data = super().read(lba, good) if good else b""
                    raise ReadError(lba, count, errno.EIO, data)
            return super().read(lba, count)

    app = QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    theme.apply(app, theme_name)
    tmp = tempfile.mkdtemp()
    settings = Settings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
    settings.folder = os.path.join(tmp, "Discs")
    settings.verify_after = True
    win = MainWindow(settings, poll_ms=0)
    win.setGeometry(0, 0, width, height)
    win.show()
    demo = win.panel.entries[-1]
    demo.opener = lambda: DemoSource(rate=30e6, error_delay=0.03)
    win.panel.setCurrentRow(len(win.panel.entries) - 1)

    def shot(name: str) -> None:
        path = out / f"{name}-{theme_name}-{width}x{height}.png"
        win.grab().save(str(path))
        print("saved", path.name, flush=True)

    taken: set[str] = set()

    def on_progress(p: object) -> None:
        assert isinstance(p, Progress)
        if p.phase in ("scrape", "retry") and "rescue" not in taken:
            taken.add("rescue")
            QTimer.singleShot(150, lambda: shot("rescue"))
        if p.phase == "verify" and p.fraction > 0.5 and "verify" not in taken:
            taken.add("verify")
            QTimer.singleShot(50, lambda: shot("verify"))

    def inspect() -> None:
        win.open_image(win.backup.card.image)
        QTimer.singleShot(2500, select_damaged)

    def select_damaged() -> None:
        page = win.inspect
        page.tree.expandAll()
        model = page.model
        if model is not None and page.damage:
            idx = model.index_of(next(iter(page.damage)))
            page.tree.setCurrentIndex(idx)
        QTimer.singleShot(400, lambda: (shot("inspector"), multisession()))

    def multisession() -> None:
        disc = os.environ["DISCVAULT_SHOTS_DISC"]
        layout = DiscLayout.from_json(json.loads(os.environ["DISCVAULT_SHOTS_LAYOUT"]))
        entry = SourceEntry(
            key="cdr",
            title="USB CD-RW drive",
            detail=layout.summary(),
            label="PHOTOS",
            opener=lambda: TocDrive(disc, layout),
            icon="drive",
            layout=layout,
        )
        win.extra_sources.append(entry)
        win.refresh_entries()
        win.panel.setCurrentRow(win.panel.entries.index(entry))
        win.show_page(0)
        win.backup.verify_box.setChecked(False)
        win.backup.dest.setText(os.path.join(tmp, "PHOTOS.iso"))
        win.backup.start_backup()
        assert win.backup.job is not None
        win.backup.job.finished.connect(
            lambda _: QTimer.singleShot(500, lambda: (shot("layout"), sessions()))
        )

    def sessions() -> None:
        win.open_image(os.path.join(tmp, "PHOTOS.iso"))
        QTimer.singleShot(3000, lambda: (shot("sessions"), app.quit()))

    def start() -> None:
        shot("main")
        win.backup.start_backup()
        assert win.backup.job is not None
        win.backup.job.progress.connect(on_progress)
        win.backup.job.finished.connect(
            lambda _: QTimer.singleShot(500, lambda: (shot("finished"), inspect()))
        )

    QTimer.singleShot(800, start)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 4:  # one theme and size, in this process
        return shoot(argv[1], int(argv[2]), int(argv[3]), HERE)
    env = {**os.environ, "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", tempfile.mkdtemp())}
    sys.path.insert(0, str(ROOT))
    disc, layout_json = make_multisession(Path(tempfile.mkdtemp()))
    env["DISCVAULT_SHOTS_DISC"], env["DISCVAULT_SHOTS_LAYOUT"] = str(disc), layout_json
    for theme_name in THEMES:
        for w, h in SIZES:
            subprocess.run(
                [sys.executable, __file__, theme_name, str(w), str(h)], check=True, env=env
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
