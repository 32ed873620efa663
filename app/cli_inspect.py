"""`discvault inspect` and `discvault extract` (no Qt)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from typing import TYPE_CHECKING

from app.cli_common import EXIT_CANCELLED, EXIT_IO, EXIT_OK
from app.cli_common import fail as _fail
from app.cli_listing import dump_json, write_json, write_text
from app.cli_tracks import check_tracks
from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import PROBLEM_KINDS, InspectError, printable
from app.core.fs.sessions import mark_earlier

if TYPE_CHECKING:
    from app.core.disc.layout import DiscLayout

__all__ = ["add_parsers", "dump_json", "problem_lines"]

# What to do about each kind of problem (node.PROBLEM_KINDS says what it is).
_ADVICE = {
    "truncated": "the image is incomplete: resume or redo the backup; the rest is listed",
    "rock_ridge": "nothing lost: the entry is listed as 7-Zip lists it",
    "zisofs": "its own zisofs header is trusted where sound; otherwise it comes out as stored",
}
_NOTES = {"rock_ridge", "zisofs"}  # metadata ignored, everything still listed: not a failure


def problem_lines(i: Inspection) -> list[str]:
    """One line per kind of problem, with its count and an example (not one per entry)."""
    out = []
    for kind, count, example in i.problem_summary():
        advice = _ADVICE.get(kind, "the image is damaged there; the rest is listed")
        if count == 1:
            out.append(f"{printable(example)} — {advice}")
        else:
            what = PROBLEM_KINDS.get(kind, PROBLEM_KINDS["other"])
            out.append(f"{count} {what}; e.g. {printable(example)} — {advice}")
    return out


def _quiet_broken_pipe() -> None:
    # The reader went away (`inspect ... | head`): nothing more to say, and nowhere to say it.
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def cmd_inspect(args: argparse.Namespace) -> int:
    # Nodes hold no reference cycles, and a 100 000-file listing is a short-lived burst of
    # allocations: the cyclic collector would only re-scan them over and over.
    gc.disable()
    if args.map and os.path.exists(args.map) and not os.path.isfile(args.map):
        return _fail(printable(f"{args.map}: is not a file — give the image's ddrescue mapfile"))
    try:
        i = open_image(args.image, args.session, args.filesystem, drive_layout(args.image))
        mark_earlier(i)
    except InspectError as e:
        return _fail(printable(str(e)))
    try:
        check_tracks(i)
        damaged = _damaged(i, args.map) if args.map else None
        if args.json:
            write_json(i, args.files, damaged, sys.stdout)
        else:
            write_text(i, args.files, damaged, sys.stdout)
        sys.stdout.flush()
    except InspectError as e:
        return _fail(printable(str(e)))
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK
    except KeyboardInterrupt:
        return _fail("stopped", EXIT_CANCELLED)
    finally:
        i.close()
    for line in problem_lines(i):
        print(f"discvault: {line}", file=sys.stderr)
    return EXIT_IO if set(i.problem_counts) - _NOTES else EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    from app.core.base.events import Cancelled
    from app.core.fs.extract import extract
    from app.core.fs.links import FolderTooBig

    try:
        i = open_image(args.image, args.session, args.filesystem)
    except InspectError as e:
        return _fail(printable(str(e)))
    # No PATH: everything, unless only the boot images were asked for.
    paths = args.paths or (None if not args.boot_images else [])
    try:
        res = extract(i, paths, args.out, conflict=args.conflict, boot=args.boot_images)
    except OSError as e:
        where = e.filename if isinstance(e.filename, str) else args.out
        return _fail(
            printable(f"{where}: {e.strerror or e}")
            + " — free some space or choose another folder, then run again"
        )
    except FolderTooBig as e:
        return _fail(printable(str(e)))
    except (Cancelled, KeyboardInterrupt):
        return _fail("stopped: what was extracted stays, no partial file was left", EXIT_CANCELLED)
    finally:
        i.close()
    for path, why in res.refused:
        print(f"discvault: {printable(path)}: {printable(why)}", file=sys.stderr)
    for _path, why in res.notes:
        print(f"discvault: note: {printable(why)} — extracted all the same", file=sys.stderr)
    extra = "".join(
        f"; {len(lst)} {word}"
        for lst, word in (
            (res.refused, "refused"),
            (res.skipped, "skipped (already there)"),
            (res.renamed, "renamed"),
            (res.replaced, "replaced"),
        )
        if lst
    )
    print(
        f"extracted {len(res.written)} item(s), {human_bytes(res.bytes)} into "
        f"{printable(args.out)}{extra}"
    )
    return EXIT_IO if res.refused else EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from app.cli_progress import TerminalProgress
    from app.core.base.events import Cancelled, CancelToken
    from app.core.create.builder import BuildError, BuildOptions, build_iso

    opts = BuildOptions(
        label=args.label or "",
        udf=args.udf,
        boot=args.boot,
        include_hidden=not args.no_hidden,
        media=args.media,
        force=args.force,
    )
    bar = TerminalProgress()
    token = CancelToken()
    try:
        r = build_iso(args.folder, args.out, opts, bar, token)
    except BuildError as e:  # every build problem, named: source file, output, label, size
        return _fail(str(e))
    except Cancelled:
        return _fail("stopped: nothing was written — run the same command again", 130)
    finally:
        bar.close()
    print(
        f"built {args.out} ({r.label}): {r.files} file(s), {r.dirs} folder(s), {r.links} "
        f"link(s), {human_bytes(r.image_bytes)}"
    )
    if r.undecodable:
        print(
            f"{len(r.undecodable)} name(s) are not UTF-8: Rock Ridge keeps their bytes, Joliet "
            f"and UDF show _ for each bad byte: {', '.join(r.undecodable[:5])}"
            + (" …" if len(r.undecodable) > 5 else "")
        )
    return EXIT_OK


def _damaged(i: Inspection, map_path: str) -> list[tuple[str, str, int]]:
    """``i.damaged``, a bad mapfile said as an InspectError (the mapfile code loads here:
    a listing without --map never needs it)."""
    from app.core.base import mapfile

    try:
        return i.damaged(map_path)
    except mapfile.MapfileError as e:
        raise InspectError(f"{e} — give this image's ddrescue mapfile, or leave out --map") from e


def drive_layout(path: str) -> DiscLayout | None:
    """A disc in a drive says what it is through its TOC: a multi-session disc then opens at
    its last session, as the OS mounts it. None for image files and other devices."""
    import stat

    try:
        if not stat.S_ISBLK(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    # Only for a block device: an image file's listing need not load the drive layer.
    from app.core.disc.sources import SourceError
    from app.platform import open_source

    try:
        src = open_source(path)
    except (OSError, SourceError):
        return None
    try:
        return src.read_layout() if src.is_drive else None
    except OSError:
        return None
    finally:
        src.close()


def _session_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a session number (1, 2, …)")
    return int(text)


def add_view_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--session",
        type=_session_number,
        metavar="N",
        help="a multi-session disc's session N (default: the last, as an OS shows it)",
    )
    p.add_argument(
        "--filesystem",
        choices=("iso9660", "udf", "hfs"),
        help="which tree of a hybrid disc (default: Rock Ridge/Joliet, else UDF, else HFS)",
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ins = sub.add_parser(
        "inspect",
        help="show an image's volumes, boot entries and files",
        description="Describe IMAGE: volumes, El Torito boot entries, "
        "wholeness; with --files every file and its sectors; with --map the "
        "files and folders that sit on unreadable sectors.",
    )
    ins.add_argument("image", metavar="IMAGE")
    ins.add_argument("--json", action="store_true", help="machine-readable output")
    ins.add_argument("--files", action="store_true", help="list every file with its extents")
    ins.add_argument("--map", metavar="MAP", help="ddrescue mapfile of the image")
    add_view_args(ins)
    ins.set_defaults(func=cmd_inspect)
    ext = sub.add_parser(
        "extract",
        help="copy files out of an image, safely",
        description="Extract PATHs (default: everything) from IMAGE into DIR. "
        "Nothing is ever written outside DIR, no link that could lead outside it is made, "
        "no partial file is left, and nothing existing is overwritten unless --conflict "
        "replace is given.",
    )
    ext.add_argument("image", metavar="IMAGE")
    ext.add_argument("paths", metavar="PATH", nargs="*")
    ext.add_argument("-o", "--out", metavar="DIR", required=True)
    add_view_args(ext)
    ext.add_argument(
        "--boot-images",
        action="store_true",
        help="extract the El Torito boot images into DIR/[BOOT]/ as 7-Zip names them "
        "(only those, unless PATHs are given too)",
    )
    ext.add_argument(
        "--conflict",
        choices=("refuse", "skip", "replace", "rename"),
        default="refuse",
        help="what to do with an entry that already exists in DIR: refuse it (default, exit "
        "4), skip it, replace it (files and links only), or write it as 'name (1).ext'",
    )
    ext.set_defaults(func=cmd_extract)
    bld = sub.add_parser(
        "build",
        help="make an .iso from a folder",
        description="Build OUT.iso from FOLDER: ISO 9660 level 3 + Joliet + "
        "Rock Ridge (symlinks kept), optionally UDF and an El Torito boot image. "
        "OUT.iso appears only when complete.",
    )
    bld.add_argument("folder", metavar="FOLDER")
    bld.add_argument("out", metavar="OUT.iso")
    bld.add_argument(
        "--label", help="volume label (letters, digits, _; at most 32; default: from FOLDER)"
    )
    bld.add_argument("--udf", action="store_true", help="add a UDF bridge (pycdlib's UDF)")
    bld.add_argument(
        "--boot", metavar="PATH", help="no-emulation El Torito boot image (a path inside FOLDER)"
    )
    bld.add_argument(
        "--media",
        choices=("cd", "dvd", "dvd-dl", "bd", "bd-dl"),
        help="refuse if the folder does not fit this medium",
    )
    bld.add_argument("--no-hidden", action="store_true", help="leave out names starting with .")
    bld.add_argument("--force", action="store_true", help="replace an existing OUT.iso")
    bld.set_defaults(func=cmd_build)
