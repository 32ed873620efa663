"""`discvault inspect` and `discvault extract` (no Qt)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from typing import TextIO

from app.cli_common import EXIT_CANCELLED, EXIT_IO, EXIT_OK
from app.cli_common import fail as _fail
from app.cli_tracks import check_tracks, track_lines
from app.core.base import mapfile
from app.core.base.units import human_bytes
from app.core.disc.layout import DiscLayout
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import PROBLEM_KINDS, InspectError, Node, printable
from app.core.fs.sessions import mark_earlier, only_earlier

# What to do about each kind of problem (node.PROBLEM_KINDS says what it is).
_ADVICE = {
    "truncated": "the image is incomplete: resume or redo the backup; the rest is listed",
    "rock_ridge": "nothing lost: the entry is listed as 7-Zip lists it",
    "zisofs": "its own zisofs header is trusted where sound; otherwise it comes out as stored",
}
_NOTES = {"rock_ridge", "zisofs"}  # metadata ignored, everything still listed: not a failure


def node_json(n: Node, damage: dict[str, int] | None) -> dict[str, object]:
    d: dict[str, object] = {
        "path": n.path,
        "kind": n.kind,
        "size": n.size,
        "extents": [{"lba": lba, "bytes": ln} for lba, ln in n.extents],
        "mtime": n.mtime,
        "mode": n.mode,
        "hidden": n.hidden,
    }
    if n.target is not None:
        d["target"] = n.target
    if n.zisofs is not None:
        d["zisofs"] = {"real_size": n.zisofs[2], "block_log2": n.zisofs[1]}
    if n.later:
        d["later"] = n.later  # multi-session: deleted or replaced by a later session
    if n.inline is not None:
        d["embedded"] = True  # UDF: the bytes live inside the file entry at the extent's LBA
    if n.missing:
        d["missing_bytes"] = n.missing  # past the end of a truncated image
    if n.problem:
        d["problem"] = n.problem
    if damage is not None:
        d["unreadable_bytes"] = damage.get(n.path, 0)
    return d


def inspection_json(i: Inspection, damaged: list[tuple[str, str, int]] | None) -> dict[str, object]:
    """The document without ``files``, ``problems`` and ``problem_summary`` (see write_json)."""
    doc: dict[str, object] = {
        "schema": "discvault.inspect/1",
        "image": os.path.abspath(i.path),
        "size": i.size,
        "sectors": i.sectors,
        "formats": i.formats,
        "volume_id": i.volume_id,
        "whole": i.whole,
        "required_sectors": i.required_sectors,
        "missing_sectors": i.missing_sectors,
        "volumes": i.volumes,
        "boot": [vars(b) for b in i.boot],
        "hybrid": i.hybrid,
        "session": i.session,
        "sessions": [{"number": n, "start": s, "end": e} for n, s, e in i.sessions],
        "filesystem": i.view,
        "filesystems": i.views,
        "layout": i.layout.to_json() if i.layout is not None else None,
    }
    earlier = only_earlier(i)
    if earlier:
        doc["earlier_only"] = [
            {"path": path, "session": n, "later": status} for path, n, status in earlier
        ]
    if i.tracks:
        doc["tracks"] = i.tracks
    if damaged is not None:
        doc["damaged"] = [
            {"path": p, "kind": "dir" if k == "dir" else "file", "unreadable_bytes": b}
            for p, k, b in damaged
        ]
    return doc


def session_lines(i: Inspection) -> list[str]:
    """Sessions and trees: which one is shown, and what only an earlier session holds."""
    out = []
    if len(i.views) > 1:
        others = ", ".join(v for v in i.views if v != i.view)
        out.append(f"  showing  the {i.view} tree (also: {others}; --filesystem picks one)")
    if len(i.sessions) > 1:
        last = i.sessions[-1][0]
        spans = ", ".join(f"{n}: LBA {s}–{e - 1}" for n, s, e in i.sessions)
        which = "the last, as an OS shows it" if i.session == last else "an earlier one"
        out.append(f"  sessions {len(i.sessions)} ({spans}); showing session {i.session}, {which}")
        earlier = only_earlier(i)
        if earlier:
            k = len(earlier)
            out.append(
                f"  {k} file{'s' if k != 1 else ''} only in earlier sessions (deleted or replaced "
                f"later), e.g. {printable(earlier[0][0])} — --session {earlier[0][1]} shows them"
            )
    return out


def _problems_json(i: Inspection) -> dict[str, object]:
    return {
        "problems": list(i.problems),
        "problem_summary": [
            {"kind": k, "count": n, "example": ex} for k, n, ex in i.problem_summary()
        ],
    }


def dump_json(doc: dict[str, object]) -> str:
    """Indented, with one line per file: json's indenting encoder is pure Python (1.5 s for
    100 000 files), its compact one is C, and a line per file reads as well."""
    files = doc.pop("files", None)
    text = json.dumps(doc, indent=2)
    if not isinstance(files, list):
        return text
    encode = json.JSONEncoder(ensure_ascii=True).encode
    body = ",\n    ".join(map(encode, files))
    return text[:-2] + ',\n  "files": [' + (f"\n    {body}\n  " if files else "") + "]\n}"


def _stamp(mtime: float | None) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.gmtime(mtime))
    except (OverflowError, OSError, ValueError):
        return "?" * 16


def write_json(
    i: Inspection, files: bool, damaged: list[tuple[str, str, int]] | None, out: TextIO
) -> None:
    """The document as dump_json lays it out, but ``files`` streams as the tree is read (two
    million entries in constant memory); the problems met on the way follow it."""
    doc = inspection_json(i, damaged)
    if not files:
        doc.update(_problems_json(i))
        out.write(dump_json(doc) + "\n")
        return
    damage = {p: b for p, _, b in damaged} if damaged is not None else None
    encode = json.JSONEncoder(ensure_ascii=True).encode
    out.write(json.dumps(doc, indent=2)[:-2] + ',\n  "files": [')
    batch: list[str] = []
    add = batch.append
    sep = "\n    "
    for n in i.walk(keep=False):
        add(sep + encode(node_json(n, damage)))
        sep = ",\n    "
        if len(batch) >= 4096:  # written in batches: one write per line costs more
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    out.write("\n  ]" if sep != "\n    " else "]")
    out.write(",\n" + json.dumps(_problems_json(i), indent=2)[2:] + "\n")


def write_text(
    i: Inspection, files: bool, damaged: list[tuple[str, str, int]] | None, out: TextIO
) -> None:
    state = "complete" if i.whole else f"TRUNCATED: {i.missing_sectors} sector(s) missing"
    head = [
        f"{printable(os.path.basename(i.path))}  {human_bytes(i.size)}  "
        f"{' + '.join(i.formats)}  ·  {state}"
    ]
    for v in i.volumes:
        if v["kind"] in ("primary", "joliet", "udf"):
            extra = f", created {v['created']}" if v.get("created") else ""
            label = printable(repr(v.get("volume_id", "")))
            head.append(f"  {v['kind']:8s} volume {label}{extra}")
    for b in i.boot:
        head.append(f"  boot     {b.platform}, {b.emulation}, {b.sectors} sector(s) at LBA {b.lba}")
    for h in i.hybrid:
        head.append(f"  hybrid   {h}")
    head += session_lines(i)
    head += track_lines(i)
    out.write("\n".join(head) + "\n")
    nfiles = ndirs = total = past = 0
    example = ""
    batch: list[str] = []
    add = batch.append
    # A disc's files share a handful of timestamps: format each one once (100 000 lines).
    stamps: dict[float | None, str] = {None: " " * 16, 0.0: " " * 16}
    for n in i.walk(keep=False):
        if n.kind == "dir":
            ndirs += 1
            size: int | str = "<dir>"
        else:
            nfiles += 1
            size = n.size
            total += size
            if n.missing:
                past += 1
                example = example or n.path
        if not files:
            continue
        when = stamps.get(n.mtime)
        if when is None:
            when = _stamp(n.mtime)
            if len(stamps) > 10_000:  # a hostile image: every entry its own time
                stamps.clear()
            stamps[n.mtime] = when
        lba = n.extents[0][0] if n.extents else ""
        name = n.path if n.target is None else f"{n.path} -> {n.target}"
        if n.missing and n.kind != "dir":
            name += f"  [PAST THE END: {human_bytes(n.missing)} missing]"
        if n.later:
            name += f"  [{n.later} in a later session]"
        add(f"  {size:>12}  {when}  {lba:>9}  {printable(name)}\n")
        if len(batch) >= 4096:  # written in batches: one write per line costs more
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))
    summary = [f"  {nfiles} file(s), {ndirs} folder(s), {human_bytes(total)}"]
    if past:
        summary.append(f"  {past} file(s) lie past the end of the image, e.g. {printable(example)}")
    if damaged is not None:
        if damaged:
            k = len(damaged)
            summary.append(f"  {k} item{' sits' if k == 1 else 's sit'} on unreadable sectors:")
            summary += [
                f"    {printable(p)}  ({human_bytes(b)} of its listing unreadable: "
                "entries may be missing)"
                if kind == "dir"
                else f"    {printable(p)}  ({human_bytes(b)} unreadable)"
                for p, kind, b in damaged
            ]
        else:
            summary.append("  nothing sits on an unreadable sector")
    out.write("\n".join(summary) + "\n")


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
        damaged = i.damaged(args.map) if args.map else None
        if args.json:
            write_json(i, args.files, damaged, sys.stdout)
        else:
            write_text(i, args.files, damaged, sys.stdout)
        sys.stdout.flush()
    except InspectError as e:
        return _fail(printable(str(e)))
    except mapfile.MapfileError as e:
        return _fail(printable(f"{e} — give this image's ddrescue mapfile, or leave out --map"))
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


def drive_layout(path: str) -> DiscLayout | None:
    """A disc in a drive says what it is through its TOC: a multi-session disc then opens at
    its last session, as the OS mounts it. None for image files and other devices."""
    import stat

    from app.core.disc.sources import SourceError
    from app.platform import open_source

    try:
        if not stat.S_ISBLK(os.stat(path).st_mode):
            return None
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
