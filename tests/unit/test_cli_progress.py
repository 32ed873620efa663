"""The terminal's progress: a rich bar on a terminal, plain lines on a pipe; both honest."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from app.cli_progress import TerminalProgress
from app.core.base import mapfile
from app.core.base.events import Progress

TOTAL = 100_734_976


def snap(**kw: object) -> Progress:
    base: dict[str, object] = {
        "phase": "copy",
        "pass_no": 1,
        "pass_count": 8,
        "position": 0,
        "total": TOTAL,
        "done": TOTAL // 2,
        "bad": 0,
        "bad_areas": 0,
        "rate": 20e6,
        "eta_seconds": 63.0,
    }
    base.update(kw)
    return Progress(**base)  # type: ignore[arg-type]


def test_a_pipe_gets_one_plain_line_per_pass() -> None:
    out = io.StringIO()
    bar = TerminalProgress(out)
    assert not bar.tty
    for k in range(50):
        bar(snap(done=k * TOTAL // 100))
    bar(snap(phase="trim", pass_no=3, bad=4096, bad_areas=1, rate=0.0))
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Pass 1 · copying  0.0 %  20.0 MB/s")
    assert "1:03 left" in lines[0] and "x)" not in lines[0]  # no x-factor for a file
    assert "\x1b[" not in out.getvalue()  # no terminal codes in a log file
    assert "unreadable 4.1 KB in 1 area" in lines[1]


def test_a_terminal_gets_a_live_bar_with_phase_percent_speed_errors_and_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    bar = TerminalProgress(out, console=console)
    assert bar.tty
    bar(snap(done=TOTAL // 4, rate=16 * 1_385_000, medium="DVD", pending=65_536))
    bar.close()
    text = out.getvalue()
    assert "Pass 1 · copying" in text and "25.0 %" in text
    assert "22.2 MB/s (16.0x)" in text and "65.5 KB skipped" in text and "1:03 left" in text
    assert "━" in text  # the bar itself


def test_describe_never_rounds_up_to_done() -> None:
    from app.core.base.units import describe, speed

    d = describe(snap(done=TOTAL - 40_960, bad=40_960, bad_areas=2, phase="retry", pass_no=5))
    assert d.percent == "99.9 %" and d.numbers[0] == "rescued all but 41.0 KB of 100.7 MB"
    assert speed(150 * 1024, "CD") == "0.2 MB/s (1.0x)" and speed(150 * 1024) == "0.2 MB/s"


def test_rip_demo_reads_the_demo_disc(tmp_path: Path) -> None:
    out = tmp_path / "demo.iso"
    env_cache = tmp_path / "cache"
    r = subprocess.run(
        [sys.executable, "-m", "app", "rip", "demo", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"XDG_CACHE_HOME": str(env_cache), "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 1, r.stderr  # finished, with the demo's scratch unreadable
    rmap = mapfile.load(str(out) + ".map", 2048).map
    assert rmap.size - rmap.count("+")[0] == 44
    assert "Pass 1 · copying" in r.stderr  # plain progress lines on a pipe
