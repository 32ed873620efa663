"""`discvault auto`: unattended backup into the library, headless (a home server, a changer).

One line per event on stdout (``--json``: one JSON object per line), the same events in the
library's journal (``.discvault/auto.jsonl``). It runs until SIGINT/SIGTERM (exit 130, every
running backup saved and resumable), or with ``--max-discs N`` until N discs had their turn
(exit 0 all complete or known, 1 some incomplete, 3 an image did not match its disc, 4 some
failed; each disc's last turn counts).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from app.cli_common import (
    EXIT_CANCELLED,
    EXIT_INCOMPLETE,
    EXIT_IO,
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_USAGE,
    fail,
)

if TYPE_CHECKING:
    from app.core.library.autolog import AutoEvent

OUTCOME_EXIT = {
    "complete": EXIT_OK,
    "known": EXIT_OK,
    "incomplete": EXIT_INCOMPLETE,
    "mismatch": EXIT_MISMATCH,
    "cancelled": EXIT_CANCELLED,
}


def _printer(as_json: bool) -> Callable[[AutoEvent], None]:
    import threading

    lock = threading.Lock()  # drives report from their own threads: whole lines, never mixed

    def show(ev: AutoEvent) -> None:
        line = json.dumps(ev.to_json(), ensure_ascii=False) if as_json else ev.text()
        with lock:
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # the reader went away: the run itself goes on
                from app.cli_common import silence_stdout

                silence_stdout()

    return show


def cmd_auto(args: argparse.Namespace) -> int:
    from app.cli_library import _lib
    from app.core.library.auto import AutoError, AutoOptions, AutoRunner, Platform
    from app.core.library.folder import LibraryError, check_template
    from app.core.rescue.types import RescueSettings
    from app.platform import drive_state, eject, list_drives, open_source

    try:
        check_template(args.template)
    except LibraryError as e:
        return fail(str(e), EXIT_USAGE)
    drives = args.drives or [d.path for d in list_drives() if not d.simulated]
    if not drives:
        return fail("no optical drive found — plug one in, or name it with --drives")
    for d in drives:
        if not os.path.exists(d):
            return fail(f"{d}: no such drive — `discvault drives` lists the drives")
    settings = RescueSettings(
        retries=args.retries,
        max_time=args.max_time,
        max_failed_reads=args.max_failed_reads,
    )
    opts = AutoOptions(
        verify=args.verify,
        eject=args.eject,
        settings=settings,
        template=args.template,
        poll=args.poll,
        progress_every=args.progress_every,
        max_discs=args.max_discs,
        command_line=shlex.join(["discvault", *sys.argv[1:]]),
    )
    platform = Platform(open_source, drive_state, eject)
    runner = AutoRunner(_lib(args), opts, platform, _printer(args.json))
    stopped: list[str] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        stopped.append(name)
        runner.stop(f"stopped by {name}")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    try:
        runner.start(drives)
    except AutoError as e:
        runner.close()
        return fail(str(e))
    while not runner.finished:
        time.sleep(0.2)  # short sleeps: the signal handler runs between them
    runner.close()
    if stopped:
        return EXIT_CANCELLED
    # Each disc's last turn counts: a disc pulled out and then finished in another drive is done.
    last = {r.identity or f"#{i}": r.outcome for i, r in enumerate(runner.results)}
    return max((OUTCOME_EXIT.get(o, EXIT_IO) for o in last.values()), default=EXIT_OK)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.05 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0.05 and 3600")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _duration(text: str) -> float:
    from app.cli import _duration as parse

    return parse(text)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from app.cli_library import DEFAULT_TEMPLATE

    p = sub.add_parser(
        "auto",
        help="unattended backup: every disc put in a drive goes into the library",
        description="Watch drives; back up each new disc into the library (one folder per "
        "disc), fill the gaps of a known incomplete one, skip a known complete one. Runs until "
        "stopped (SIGINT/SIGTERM: exit 130, every backup resumable). Disc changers: use "
        "--eject; the loader puts the next disc in when the tray opens.",
    )
    p.add_argument(
        "--library",
        metavar="DIR",
        default=None,
        help="the library folder (default $DISCVAULT_LIBRARY or Documents/DiscVault)",
    )
    p.add_argument(
        "--drives", nargs="+", metavar="DRIVE", help="drives to watch (default: every drive)"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="compare each backup with the disc; re-verify known discs against it",
    )
    p.add_argument(
        "--eject",
        action="store_true",
        help="eject each disc when done (needed for changers); without it, take the disc out",
    )
    p.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help="disc folder name: {label}, {date}, {time}, {year} (default %(default)s)",
    )
    p.add_argument(
        "--retries", type=_count, default=3, metavar="N", help="retry passes per disc (3)"
    )
    p.add_argument(
        "--max-time",
        type=_duration,
        metavar="TIME",
        help="per disc: stop reading after this long (30m, 2h), keep what was read, go on",
    )
    p.add_argument(
        "--max-failed-reads",
        type=_positive,
        metavar="N",
        help="per disc: stop reading after N failed reads, keep what was read, go on",
    )
    p.add_argument(
        "--max-discs",
        type=_positive,
        metavar="N",
        help="stop after N discs (all drives together) instead of running until stopped",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument(
        "--poll",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="how often an idle drive is asked for a disc (default 2)",
    )
    p.add_argument(
        "--progress-every",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how often a running backup reports progress (default 30)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.core.library.catalogue import CatalogueError
    from app.core.library.folder import LibraryError

    try:
        code: int = cmd_auto(args)
    except (CatalogueError, LibraryError) as e:
        return fail(str(e))
    return code
