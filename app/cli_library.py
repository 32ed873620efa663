"""`discvault library …`: the shelf from a terminal (no Qt).

Every subcommand takes ``--library DIR`` (default ``$DISCVAULT_LIBRARY`` or
Documents/DiscVault). Errors are one line and an exit code from the contract: 2 for words
that cannot be searched, 3 when a re-verify finds an image changed on storage, 4 when the
library or a source cannot be used, 130 when stopped (a verify run resumes where it stopped).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from app.cli_common import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
)

# Only what the parser needs is imported up front: `discvault inspect` must not pay for
# sqlite3 and the library's modules. The commands import them when they run.
if TYPE_CHECKING:
    from app.core.base.events import CancelToken, Progress
    from app.core.library.catalogue import Catalogue
    from app.core.library.folder import Library

DEFAULT_TEMPLATE = "{label}_{date}"  # app.core.library.folder.DEFAULT_TEMPLATE (checked by a test)


def _lib(args: argparse.Namespace) -> Library:
    from app.core.library.folder import Library, default_library

    return Library(args.library or getattr(args, "library_top", None) or default_library())


@contextmanager
def _catalogue(lib: Library, what: str, create: bool = False) -> Iterator[Catalogue]:
    from app.core.library.catalogue import Catalogue
    from app.core.library.folder import LibraryError

    if not lib.exists() and not create:
        raise LibraryError(f"no library folder at {lib.root} — check --library")
    with Catalogue(lib, create=create, what=what) as cat:
        yield cat


def _signals(token: CancelToken) -> None:
    """Ctrl-C / SIGTERM stop cleanly: the run's state is saved and the next run resumes."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        token.cancel(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class _Lines:
    """Progress for library jobs on stderr: a line per disc (the message), then one line
    redrawn in place on a terminal (every 10 s on a pipe). Storage has no x-factor."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = ""
        self.width = 0
        self.shown = 0.0

    def __call__(self, p: Progress) -> None:
        import time

        from app.core.base.units import duration, human_bytes

        if p.message and p.message != self.last:
            self.last = p.message
            self.close()
            self.stream.write(f"{p.message}\n")
        line = f"{p.phase:6s} {100.0 * p.fraction:5.1f}%  {human_bytes(p.rate)}/s"
        if p.eta_seconds is not None:
            line += f"  {duration(p.eta_seconds)} left"
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + line + " " * max(self.width - len(line), 0))
            self.stream.flush()
            self.width = len(line)
        elif now - self.shown >= 10 or p.done >= p.total:
            self.stream.write(line + "\n")
            self.shown = now

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


# ---- list / show / search / export ------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    from app.core.base.units import human_bytes
    from app.core.library import text
    from app.core.library.records import day_of
    from app.core.library.state import disc_state

    with _catalogue(_lib(args), "library list") as cat:
        discs = cat.discs()
        events = cat.all_events()
        states = {d.id: disc_state(d, events.get(d.id, [])) for d in discs}
        if args.json:
            out = [
                {
                    "folder": d.folder,
                    "label": d.label,
                    "image": os.path.join(cat.library.root, d.folder, d.image),
                    "bytes": d.image_bytes,
                    "backed_up": d.backed_up,
                    "state": states[d.id].key,
                    "badge": states[d.id].badge,
                    "verified": states[d.id].verified or None,
                    "health": states[d.id].health or None,
                    "files": d.file_count,
                    "damaged_files": d.damaged_files,
                    "unreadable_bytes": d.unreadable_bytes,
                }
                for d in discs
            ]
            print(json.dumps({"schema": "discvault.library-list/1", "discs": out}, indent=2))
            return EXIT_OK
    if not discs:
        print(f"The library {cat.library.root} has no discs yet.")
        return EXIT_OK
    rows = [["FOLDER", "LABEL", "SIZE", "BACKED UP", "FILES", "STATE"]]
    for d in discs:
        st = states[d.id]
        rows.append(
            [
                d.folder,
                d.label,
                human_bytes(d.image_bytes),
                day_of(d.backed_up),
                str(d.file_count),
                st.badge + (f" · health {st.health}" if st.health else ""),
            ]
        )
    print(text.table(rows))
    total = sum(d.image_bytes for d in discs)
    print(f"{len(discs)} disc(s), {human_bytes(total)}, {sum(d.file_count for d in discs)} files")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from app.core.base.units import human_bytes
    from app.core.library.search import QueryError

    query = " ".join(args.query)
    with _catalogue(_lib(args), "library search") as cat:
        try:
            hits, more = cat.search(query, args.limit)
        except QueryError as e:
            return fail(str(e), EXIT_USAGE)
    if args.json:
        doc = {
            "schema": "discvault.library-search/1",
            "query": query,
            "more": more,
            "hits": [vars(h) for h in hits],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    # Tab-separated: image, path inside it (what `discvault extract IMAGE PATH -o DIR` takes),
    # then size and disc, so `cut -f1,2` or `IFS=$'\t' read` take it apart safely.
    for h in hits:
        size = "<dir>" if h.kind == "dir" else human_bytes(h.size)
        note = f"\t{human_bytes(h.unreadable)} unreadable" if h.unreadable else ""
        print(f"{h.image}\t{h.path}\t{size}\t{h.label}{note}")
    if more:
        print(
            f"discvault: more than {args.limit} matches — narrow the search or raise --limit",
            file=sys.stderr,
        )
    elif not hits:
        print(f"no file on the shelf matches {query!r}", file=sys.stderr)
    if hits and sys.stdout.isatty():
        print("extract one with: discvault extract IMAGE PATH -o DIR", file=sys.stderr)
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from app.core.library import text
    from app.core.library.shelf import resolve
    from app.core.library.state import disc_state

    lib = _lib(args)
    with _catalogue(lib, "library show") as cat:
        rec = resolve(cat, args.disc)
        events = cat.events(rec.id)
        damaged = list(cat.files(rec.id, damaged_only=True))
    st = disc_state(rec, events)
    image = os.path.join(lib.path(rec.folder), rec.image)
    if args.json:
        doc = {
            "schema": "discvault.library-disc/1",
            **{k: v for k, v in vars(rec).items() if k != "id"},
            "image_path": image,
            "state": st.key,
            "badge": st.badge,
            "identity_doc": json.loads(rec.identity_doc) if rec.identity_doc else None,
            "dat": json.loads(rec.dat) if rec.dat else None,
            "damaged": [
                {"path": f.path, "kind": f.kind, "unreadable_bytes": f.unreadable} for f in damaged
            ],
            "history": [vars(e) for e in events],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(text.disc_text(rec, st.badge, image, events, damaged))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from app.core.library.export import export_csv, export_json

    with _catalogue(_lib(args), "library export") as cat:
        try:
            out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
        except OSError as e:
            return fail(f"{args.out}: {e.strerror} — choose another file with -o")
        try:
            write = export_csv if args.format == "csv" else export_json
            n = write(cat, out, files=args.files)
        finally:
            if out is not sys.stdout:
                out.close()
    if args.out:
        print(f"exported {n} {'file' if args.files else 'disc'} row(s) to {args.out}")
    return EXIT_OK


# ---- rebuild / add / verify / health ----------------------------------------------------------
def _step(done: int, total: int, folder: str) -> None:
    if folder:
        print(f"[{done + 1}/{total}] {folder}", file=sys.stderr)


def cmd_rebuild(args: argparse.Namespace) -> int:
    from app.core.base.events import Cancelled, CancelToken
    from app.core.library.shelf import rebuild

    token = CancelToken()
    _signals(token)
    try:
        res = rebuild(_lib(args), _step, token)
    except Cancelled:
        return fail("stopped: the catalogue is as it was before the rebuild", EXIT_CANCELLED)
    if res.moved_aside:
        print(f"the damaged catalogue was kept as {res.moved_aside}", file=sys.stderr)
    for folder, problem in res.problems:
        print(f"discvault: {folder}: {problem}", file=sys.stderr)
    print(f"rebuilt: {res.discs} disc(s), {res.files} files in {res.seconds:.1f} s")
    return EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    import time

    from app.core.base.events import Cancelled, CancelToken, Progress
    from app.core.library import importer
    from app.core.library.catalogue import CatalogueError
    from app.core.library.folder import LibraryError, check_template
    from app.core.library.shelf import ingest
    from app.core.library.state import disc_state

    lib = _lib(args)
    try:
        check_template(args.template)
    except LibraryError as e:
        return fail(str(e), EXIT_USAGE)
    token = CancelToken()
    _signals(token)
    try:
        plan = importer.plan(lib, args.image)
        lib.ensure()
        # Hold the writer lock over the copy: a second `add` waits here, before copying.
        with _catalogue(lib, "library add", create=True) as cat, cat.hold():
            twin = importer.duplicate_of(cat, plan)
            if twin is not None:
                return fail(
                    f"{args.image} is already in the library as {twin.folder} (same checksums) "
                    "— nothing added"
                )
            bar = _Lines()
            t0 = time.monotonic()

            def on_bytes(done: int, total: int) -> None:
                rate = done / max(time.monotonic() - t0, 1e-6)
                bar(Progress("copy", 1, 1, done, total, done, 0, 0, rate, (total - done) / rate))

            try:
                folder = importer.add(
                    lib,
                    plan,
                    move=args.move,
                    template=args.template,
                    on_bytes=on_bytes,
                    cancel=token,
                )
            finally:
                bar.close()
            try:
                rec = ingest(cat, lib, folder)
            except CatalogueError as e:
                return fail(
                    f"the backup is in the library as {lib.path(folder)}, but not yet in the "
                    f"catalogue ({e}) — run `discvault library add {lib.path(folder)}` again later"
                )
    except Cancelled:
        return fail("stopped: nothing was added", EXIT_CANCELLED)
    except OSError as e:
        return fail(importer.explain(e, args.image))
    st = disc_state(rec, [])
    print(f"added {rec.label} as {lib.path(folder)}: {rec.file_count} files, {st.badge}")
    if rec.problem:
        fail(f"{folder}: {rec.problem}")
    return EXIT_OK


def _count(text: str) -> int:
    """1 to 100 000: a negative LIMIT would mean "everything" to SQLite."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100000")
    return value


# ---- the parser -------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Every library command: the library's own errors become the one-line contract."""
    from app.core.library.catalogue import CatalogueError
    from app.core.library.folder import LibraryError

    try:
        code: int = args.library_func(args)
    except BrokenPipeError:
        # `library search … | head`: the reader has what it wanted; stop quietly, with the
        # status a shell gives a process ended by SIGPIPE (as `discvault` does elsewhere).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CatalogueError, LibraryError) as e:
        return fail(str(e))
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from app.cli_auto import add_parser as add_auto_parser
    from app.cli_library_scan import cmd_health, cmd_verify

    add_auto_parser(sub)  # `discvault auto`: unattended backup into the library
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--library",
        metavar="DIR",
        default=None,
        help="the library folder (default $DISCVAULT_LIBRARY or Documents/DiscVault)",
    )
    lib = sub.add_parser(
        "library",
        help="the shelf: every backed-up disc, searchable, re-verifiable",
        description="A folder per disc and a catalogue of every file on every disc.",
    )
    lib.add_argument(
        "--library", metavar="DIR", dest="library_top", default=None, help=argparse.SUPPRESS
    )
    cmds = lib.add_subparsers(dest="library_command", metavar="COMMAND", required=True)

    def cmd(name: str, func: object, help: str) -> argparse.ArgumentParser:
        p = cmds.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=run, library_func=func)
        return p

    p = cmd("list", cmd_list, "every disc with its state")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = cmd("search", cmd_search, "which disc has a file: parts of names, or *.jpg patterns")
    p.add_argument("query", nargs="+", metavar="WORD")
    p.add_argument("--limit", type=_count, default=200, metavar="N", help="at most N hits (200)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = cmd("show", cmd_show, "one disc: state, checksums, damaged files, history")
    p.add_argument("disc", metavar="DISC", help="its folder name (or its start), or its label")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = cmd(
        "verify",
        cmd_verify,
        "re-hash every stored image against the catalogue (resumes an interrupted run)",
    )
    p.add_argument("discs", nargs="*", metavar="DISC", help="only these discs")
    p.add_argument("--restart", action="store_true", help="start over instead of resuming")
    p.add_argument("--json", action="store_true", help="print the run's report")
    cmd("rebuild", cmd_rebuild, "make the catalogue again from the disc folders")
    p = cmd("export", cmd_export, "the catalogue as CSV or JSON")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--files", action="store_true", help="every file, not every disc")
    p.add_argument("-o", "--out", metavar="FILE", help="write here instead of to stdout")
    p = cmd("add", cmd_add, "put a backup (image + mapfile, report, checksums) into the library")
    p.add_argument("image", metavar="IMAGE", help="the image, or its folder")
    p.add_argument("--move", action="store_true", help="move instead of copy")
    p.add_argument(
        "--template",
        default=DEFAULT_TEMPLATE,
        help="disc folder name: {label}, {date}, {time}, {year} (default %(default)s)",
    )
    p = cmd("health", cmd_health, "read-only surface scan of a disc, stored with its backup")
    p.add_argument("source", metavar="SOURCE", help="the drive (or device) holding the disc")
    p.add_argument("--disc", metavar="DISC", help="store it with this disc (default: recognise it)")
