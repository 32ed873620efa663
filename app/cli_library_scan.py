"""`discvault library verify` and `library health`: the shelf's long re-reads (every stored
image against the catalogue; a disc's surface), with progress, Ctrl-C and the exit-code
contract of `app.cli_library`."""

from __future__ import annotations

import argparse
import sys

from app.cli_common import EXIT_CANCELLED, EXIT_INCOMPLETE, EXIT_IO, EXIT_MISMATCH, EXIT_OK, fail
from app.cli_library import _catalogue, _lib, _Lines, _signals


def cmd_verify(args: argparse.Namespace) -> int:
    from app.core.base.events import CancelToken
    from app.core.library import reverify
    from app.core.library.shelf import resolve

    lib = _lib(args)
    folders = None
    if args.discs:
        with _catalogue(lib, "library verify") as cat:
            folders = [resolve(cat, d).folder for d in args.discs]
    token = CancelToken()
    _signals(token)
    bar = _Lines()
    try:
        res = reverify.verify_library(
            lib, folders, restart=args.restart, progress=bar, cancel=token
        )
    finally:
        bar.close()
    if res.resumed:
        print(
            f"resumed the run started {res.started}: {res.resumed} disc(s) were already done",
            file=sys.stderr,
        )
    for d in res.discs:
        if d.outcome != "good":
            print(f"discvault: {d.folder}: {d.summary}", file=sys.stderr)
    if res.cancelled:
        done = len(res.discs)
        return fail(
            f"stopped after {done} disc(s) — run the same command again to resume", EXIT_CANCELLED
        )
    if args.json and res.report_path:
        with open(res.report_path, encoding="utf-8") as f:
            print(f.read(), end="")
    else:
        print(reverify.summary(res))
        if res.report_path:
            print(f"report: {res.report_path}")
    for p in res.problems:
        fail(p)
    worst = res.worst
    if worst == "changed":
        return EXIT_MISMATCH
    return EXIT_IO if worst in ("missing", "unreadable") or res.problems else EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    from app.core.base.events import CancelToken
    from app.core.disc.sources import SourceError
    from app.core.library import health
    from app.core.library.shelf import find_by_identity, identify_source, resolve
    from app.platform import open_source

    lib = _lib(args)
    token = CancelToken()
    _signals(token)
    try:
        source = open_source(args.source)
    except SourceError as e:
        return fail(str(e))
    bar = _Lines()
    try:
        with _catalogue(lib, "library health") as cat:
            rec = resolve(cat, args.disc) if args.disc else None
            if rec is None:
                ident = identify_source(source)
                rec = find_by_identity(cat, ident) if ident else None
            if rec is not None:
                print(f"scanning {rec.label} ({rec.folder})", file=sys.stderr)
            res = health.scan(source, progress=bar, cancel=token)
            bar.close()
            if res.outcome == "done" and rec is not None:
                health.record(lib, cat, rec.folder, res)
    finally:
        bar.close()
        source.close()
    print(health.text(res))
    if res.outcome == "cancelled":
        return fail("stopped: a partial scan is not stored", EXIT_CANCELLED)
    if res.outcome == "source_gone":
        return fail(f"{res.message} — put the disc back and scan again")
    if rec is None:
        print(
            "discvault: this disc is not in the library — the scan was not stored "
            "(add its backup, or name it with --disc)",
            file=sys.stderr,
        )
    elif res.message:
        fail(res.message)
    return EXIT_INCOMPLETE if res.unreadable else EXIT_OK
