"""Run the real CLI and send this process a real signal at an exact moment of a backup.

    python tests/sigat.py WHEN ACTION -- rip SOURCE OUT.iso [...]

WHEN is a phase the progress display announces (``copy``, ``once``, ``trim``, ``scrape``,
``retry``: the signal comes with the phase's first progress line), ``hash`` (just before the
finished image is hashed), a step after the rescue (``cue``, ``report``, ``sidecars``: just
before that file is written), or ``size`` (just before the image is grown to its full size,
after the first mapfile save), or ``end`` (after the last pass, before the final mapfile save
and the cut of trailing run-out). ACTION is a signal's name (``SIGTERM``, ``SIGINT``,
``SIGKILL``), delivered by the kernel to the process running ``app.cli.main``; ``FILL``: a
file ``OUT.iso.filler`` fills the disk holding the image; or ``PAUSE``: the backup stops there,
creates ``OUT.iso.paused`` and goes on when a test removes it. Nothing of DiscVault is mocked:
the program does whatever it does with the signal, the full disk or the pause.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import cli_progress
from app.core.base.events import Progress
from app.core.disc import cue
from app.core.rescue import engine, report


def fill(path: str) -> None:
    """Write ``path`` until the disk is full."""
    with open(path, "wb", buffering=0) as f:
        block = b"\xff" * 65536
        try:
            while True:
                f.write(block)
        except OSError:
            pass
        small = b"\xff" * 512  # the last blocks, so not even a mapfile fits
        try:
            while True:
                f.write(small)
        except OSError:
            pass


def pause(flag: str) -> None:
    """Wait here until the test removes ``flag``."""
    Path(flag).touch()
    while os.path.exists(flag):
        time.sleep(0.01)


def main() -> int:
    when, action = sys.argv[1], sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1 :]
    fired = False

    def fire() -> None:
        nonlocal fired
        if fired:
            return
        fired = True
        if action == "FILL":
            fill(argv[2] + ".filler")
        elif action == "PAUSE":
            pause(argv[2] + ".paused")
        else:
            os.kill(os.getpid(), signal.Signals[action])

    if when in ("copy", "once", "trim", "scrape", "retry"):
        shown = cli_progress.TerminalProgress.__call__

        def progress(self: cli_progress.TerminalProgress, p: Progress) -> None:
            if p.phase == when:
                fire()
            shown(self, p)

        cli_progress.TerminalProgress.__call__ = progress  # type: ignore[method-assign]
    else:
        module, name = {
            "cue": (cue, "write"),
            "report": (report, "write"),
            "sidecars": (report, "write_sidecars"),
            "size": (engine, "size_image"),
            "hash": (engine, "hash_file"),
            "end": (engine.Engine, "retry_passes"),
        }[when]
        original: Callable[..., Any] = getattr(module, name)

        def before(*args: Any, **kwargs: Any) -> Any:
            if when == "end":
                got = original(*args, **kwargs)
                fire()
                return got
            fire()
            return original(*args, **kwargs)

        setattr(module, name, before)
    from app.cli import main as cli_main

    code = cli_main(argv)
    print(f"sigat: {'fired' if fired else 'never reached'} {when}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
