"""`discvault inspect` and `discvault extract` (no Qt)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator

from app.cli_common import EXIT_IO, EXIT_OK
from app.cli_common import fail as _fail
from app.core.base import mapfile
from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection, open_image
from app.core.fs.node import InspectError, Node


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
    if n.inline is not None:
        d["embedded"] = True  # UDF: the bytes live inside the file entry at the extent's LBA
    if damage is not None:
        d["unreadable_bytes"] = damage.get(n.path, 0)
    return d


def inspection_json(i: Inspection, files: bool, damage: dict[str, int] | None) -> dict[str, object]:
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
    }
    if files:
        doc["files"] = [node_json(n, damage) for n in i.walk()]
    if damage is not None:
        dirs = {n.path for n in i.walk() if n.kind == "dir"} | {"/"}
        doc["damaged"] = [
            {"path": p, "kind": "dir" if p in dirs else "file", "unreadable_bytes": b}
            for p, b in sorted(damage.items())
        ]
    doc["problems"] = list(i.problems)
    return doc


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


def inspection_text(i: Inspection, files: bool, damage: dict[str, int] | None) -> str:
    state = "complete" if i.whole else f"TRUNCATED: {i.missing_sectors} sector(s) missing"
    lines = [
        f"{os.path.basename(i.path)}  {human_bytes(i.size)}  {' + '.join(i.formats)}  ·  {state}"
    ]
    for v in i.volumes:
        if v["kind"] in ("primary", "joliet", "udf"):
            extra = f", created {v['created']}" if v.get("created") else ""
            lines.append(f"  {v['kind']:8s} volume {v.get('volume_id', '')!r}{extra}")
    for b in i.boot:
        lines.append(
            f"  boot     {b.platform}, {b.emulation}, {b.sectors} sector(s) at LBA {b.lba}"
        )
    for h in i.hybrid:
        lines.append(f"  hybrid   {h}")
    nodes = list(i.walk())
    nfiles = [n for n in nodes if n.kind != "dir"]
    lines.append(
        f"  {len(nfiles)} file(s), {len(nodes) - len(nfiles)} folder(s), "
        f"{human_bytes(sum(n.size for n in nfiles))}"
    )
    if files:
        lines += _file_lines(nodes)
    if damage is not None:
        if damage:
            dirs = {n.path for n in nodes if n.kind == "dir"} | {"/"}
            n = len(damage)
            lines.append(f"  {n} item{' sits' if n == 1 else 's sit'} on unreadable sectors:")
            lines += [
                f"    {p}  ({human_bytes(b)} of its listing unreadable: entries may be missing)"
                if p in dirs
                else f"    {p}  ({human_bytes(b)} unreadable)"
                for p, b in sorted(damage.items())
            ]
        else:
            lines.append("  nothing sits on an unreadable sector")
    return "\n".join(lines)


def _file_lines(nodes: list[Node]) -> Iterator[str]:
    # A disc's files share a handful of timestamps: format each one once (100 000 lines).
    stamps: dict[float | None, str] = {None: " " * 16, 0.0: " " * 16}
    for n in nodes:
        when = stamps.get(n.mtime)
        if when is None:
            when = stamps[n.mtime] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(n.mtime))
        size = "<dir>" if n.kind == "dir" else n.size
        lba = n.extents[0][0] if n.extents else ""
        tail = "" if n.target is None else f" -> {n.target}"
        yield f"  {size:>12}  {when}  {lba:>9}  {n.path}{tail}"


def cmd_inspect(args: argparse.Namespace) -> int:
    # Nodes hold no reference cycles, and a 100 000-file listing is a short-lived burst of
    # allocations: the cyclic collector would only re-scan them over and over.
    gc.disable()
    try:
        i = open_image(args.image)
    except InspectError as e:
        return _fail(str(e))
    try:
        damage = i.damage(args.map) if args.map else None
        if args.json:
            print(dump_json(inspection_json(i, args.files, damage)))
        else:
            print(inspection_text(i, args.files, damage))
    except (InspectError, mapfile.MapfileError) as e:
        return _fail(str(e))
    finally:
        i.close()
    for p in i.problems:
        print(f"discvault: {p}", file=sys.stderr)
    return EXIT_IO if i.problems else EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    from app.core.fs.extract import extract

    try:
        i = open_image(args.image)
    except InspectError as e:
        return _fail(str(e))
    try:
        res = extract(i, args.paths or None, args.out)
    except OSError as e:
        return _fail(f"{args.out}: {e.strerror}")
    finally:
        i.close()
    for path, why in res.refused:
        print(f"discvault: {path}: {why}", file=sys.stderr)
    print(
        f"extracted {len(res.written)} item(s), {human_bytes(res.bytes)} into {args.out}"
        + (f"; {len(res.refused)} refused" if res.refused else "")
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
    ins.set_defaults(func=cmd_inspect)
    ext = sub.add_parser(
        "extract",
        help="copy files out of an image, safely",
        description="Extract PATHs (default: everything) from IMAGE into DIR. "
        "Nothing is ever written outside DIR or over an existing file.",
    )
    ext.add_argument("image", metavar="IMAGE")
    ext.add_argument("paths", metavar="PATH", nargs="*")
    ext.add_argument("-o", "--out", metavar="DIR", required=True)
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
