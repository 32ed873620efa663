"""What `discvault inspect` prints: the text listing and the JSON document, streamed.

Two million entries stream in constant memory: the tree is read as it is listed, ``BATCH`` nodes
at a time, and each batch becomes one string, written at once. A batch is formatted column by
column (a comprehension per field, the lines assembled by one join) instead of line by line:
the same text for a third of the interpreter's work, which is most of the time `inspect --files`
spends outside the directory scan. Whatever is unusual in a batch (links, files past the end,
names with control characters, problems) takes the plain per-line path.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from json.encoder import encode_basestring_ascii  # what JSONEncoder(ensure_ascii=True) uses
from typing import TextIO, cast

from app.cli_tracks import track_lines
from app.core.base.units import human_bytes
from app.core.fs.inspection import Inspection
from app.core.fs.isoscan import Row, Rows
from app.core.fs.node import Node, printable
from app.core.fs.sessions import only_earlier

BATCH = 4096  # nodes formatted and written at a time
STAMPS_MAX = 10_000  # distinct dates kept formatted; a hostile image has one per entry

# A text line: "  " size (right-aligned in 12), "  " date "  " (``_stamp``), LBA (in 9), "  "
# name; a longer size or LBA gets no padding, as f"{x:>12}" gives it.
_TEXT_FORMAT = "  %12s%s%9s  %s\n"
_NO_DATE = "  " + " " * 16 + "  "
# A JSON line of ``files``, as JSONEncoder(ensure_ascii=True).encode(node_json(n, ...)) makes it.
_JSON_LINE: list[str] = [
    ",\n    ",
    '{"path": ',
    "",
    ', "kind": ',
    "",
    ', "size": ',
    "",
    ', "extents": [',
    "",
    '], "mtime": ',
    "",
    ', "mode": ',
    "",
    ', "hidden": ',
    "",
    "}",
]
_EXTENT = '{"lba": %d, "bytes": %d}'


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


def batches(i: Inspection) -> Iterator[list[Node]]:
    """The tree, streamed (``walk_batches``), in lists of at least ``BATCH`` nodes but the
    last: the reader's lists (a window of one directory each) joined."""
    acc: list[Node] = []
    for kids in i.walk_batches():
        acc += kids
        if len(acc) >= BATCH:
            yield acc
            acc = []
    if acc:
        yield acc


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
    out.write(json.dumps(doc, indent=2)[:-2] + ',\n  "files": [')
    sep = "\n    "
    values: _Values = {}
    for batch in batches(i):
        out.write(_json_lines(batch, damage, values, sep))
        sep = ",\n    "
    out.write("\n  ]" if sep != "\n    " else "]")
    out.write(",\n" + json.dumps(_problems_json(i), indent=2)[2:] + "\n")


def _json_lines(batch: list[Node], damage: dict[str, int] | None, values: _Values, sep: str) -> str:
    """The ``files`` lines of a batch, each after its separator (``sep`` for the first).
    ``values`` keeps the JSON of kinds, dates, modes and flags met so far (a handful)."""
    exts = [n.extents for n in batch]
    out = _JSON_LINE * len(batch)
    out[0] = sep
    out[2::16] = map(encode_basestring_ascii, [n.path for n in batch])
    out[4::16] = _json_values([n.kind for n in batch], values)
    out[6::16] = map(str, [n.size for n in batch])
    out[8::16] = [_EXTENT % e[0] if len(e) == 1 else _extents(e) for e in exts]
    out[10::16] = _json_values([n.mtime for n in batch], values)
    out[12::16] = _json_values([n.mode for n in batch], values)
    out[14::16] = _json_values([n.hidden for n in batch], values)
    if damage is not None:
        get = damage.get
        out[15::16] = [f', "unreadable_bytes": {get(n.path, 0)}}}' for n in batch]
    odd = [
        k
        for k, n in enumerate(batch)
        if n.target is not None
        or n.zisofs is not None
        or n.inline is not None
        or n.missing
        or n.problem
        or n.later
    ]
    if odd:  # keys past "hidden": the encoder itself, for these few
        encode = json.JSONEncoder(ensure_ascii=True).encode
        for k in odd:
            out[k * 16 + 1 : k * 16 + 16] = [encode(node_json(batch[k], damage)), *[""] * 14]
    return "".join(out)


# The JSON of values met so far, per type: 1, 1.0 and True are one key to a dict, not to json.
_Values = dict[type, dict[object, str]]


def _json_values(items: list[object], values: _Values) -> list[str]:
    """The JSON of each item, converted once per distinct item of a type (a disc has a
    handful of kinds, dates, modes); items of mixed types one by one."""
    types = set(map(type, items))
    types.discard(type(None))
    if len(types) > 1:  # dates both int (long Rock Ridge form) and float: no cache
        return list(map(json.dumps, items))
    cache = values.setdefault(types.pop() if types else type(None), {})
    if len(cache) > STAMPS_MAX:
        cache.clear()
    got = list(map(cache.get, items))
    if None in got:
        for item in set(items) - cache.keys():
            cache[item] = json.dumps(item)
        got = list(map(cache.__getitem__, items))
    return got  # type: ignore[return-value]  # no None left


def _extents(extents: list[tuple[int, int]]) -> str:
    return ", ".join([_EXTENT % e for e in extents])


@dataclass(slots=True)
class _Tally:
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    past: int = 0  # files that lie past the end of the image
    example: str = ""


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
    tally = _Tally()
    stamps: dict[float | None, str] = {}
    for items, at in row_batches(i):
        text = _text_lines(items, at, stamps, tally, files)
        if text:
            out.write(text)
    summary = [f"  {tally.files} file(s), {tally.dirs} folder(s), {human_bytes(tally.bytes)}"]
    if tally.past:
        summary.append(
            f"  {tally.past} file(s) lie past the end of the image, e.g. {printable(tally.example)}"
        )
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


def row_batches(i: Inspection) -> Iterator[Rows]:
    """``batches`` for the text listing: ``walk_rows`` (plain files as Row tuples), in lists
    of at least ``BATCH`` entries, each with where its Nodes are."""
    acc: list[Node | Row] = []
    at: list[int] = []
    for items, where in i.walk_rows():
        if where:
            off = len(acc)
            at += [k + off for k in where]
        acc += items
        if len(acc) >= BATCH:
            yield acc, at
            acc, at = [], []
    if acc:
        yield acc, at


_BLANK: Row = ("", "", 0, "", None, None, False)  # a Node's place while the Rows are summed


def _text_lines(
    items: list[Node | Row],
    at: list[int],
    stamps: dict[float | None, str],
    tally: _Tally,
    lines: bool,
) -> str:
    """A list of Rows and Nodes (at ``at``) counted into ``tally``, and (``lines``) its lines of
    `inspect --files`, column by column: a column of the Rows is one C call (zip), the few
    Nodes are put in their places."""
    if len(at) == len(items):
        return _file_lines(cast(list[Node], items), stamps, tally, lines)
    nodes = [cast(Node, items[k]) for k in at]
    for k in at:
        items[k] = _BLANK
    _, paths, sizes, lbas, mtimes, _, _ = zip(*cast(list[Row], items), strict=True)
    tally.files += len(items) - len(at)
    tally.bytes += sum(sizes)
    got = _node_columns(nodes, tally, lines)
    if got is None:
        return ""
    column: list[object] = list(sizes)
    first: list[object] = list(lbas)
    when: list[float | None] = list(mtimes)
    names = list(paths)
    for k, s, m, lba, name in zip(at, *got, strict=True):
        column[k], when[k], first[k], names[k] = s, m, lba, name
    return _assemble(column, when, first, names, stamps)


def _file_lines(
    batch: list[Node], stamps: dict[float | None, str], tally: _Tally, lines: bool
) -> str:
    """A batch counted into ``tally``, and (``lines``) its lines of `inspect --files`:
    ``  SIZE  YYYY-MM-DD HH:MM  LBA  PATH``, a folder's size ``<dir>``, a link's ``PATH ->
    TARGET``. ``stamps`` keeps the dates met so far, formatted (a disc has a handful)."""
    got = _node_columns(batch, tally, lines)
    return "" if got is None else _assemble(*got, stamps)


_Columns = tuple[list[object], list[float | None], list[object], list[str]]


def _node_columns(batch: list[Node], tally: _Tally, lines: bool) -> _Columns | None:
    """Nodes counted into ``tally``; with ``lines``, their size, date, LBA and name columns."""
    kinds = [n.kind for n in batch]
    sizes = [n.size for n in batch]
    missing = [n.missing for n in batch]
    dirs = kinds.count("dir")
    tally.dirs += dirs
    tally.files += len(batch) - dirs
    tally.bytes += sum(
        [s for k, s in zip(kinds, sizes, strict=True) if k != "dir"] if dirs else sizes
    )
    past = [k for k, n in enumerate(batch) if n.missing and n.kind != "dir"] if any(missing) else []
    if past:
        tally.past += len(past)
        tally.example = tally.example or batch[past[0]].path
    if not lines:
        return None
    column: list[object] = list(sizes)
    if dirs:
        column = ["<dir>" if k == "dir" else s for k, s in zip(kinds, sizes, strict=True)]
    ls: list[object] = [n.extents[0][0] if n.extents else "" for n in batch]
    names = [n.path if n.target is None else f"{n.path} -> {n.target}" for n in batch]
    for k in past:
        names[k] += f"  [PAST THE END: {human_bytes(batch[k].missing)} missing]"
    if any([n.later for n in batch]):  # multi-session: only an earlier session has these
        for k, n in enumerate(batch):
            if n.later:
                names[k] += f"  [{n.later} in a later session]"
    return column, [n.mtime for n in batch], ls, names


def _assemble(
    sizes: list[object],
    mtimes: list[float | None],
    lbas: list[object],
    names: list[str],
    stamps: dict[float | None, str],
) -> str:
    """The lines of these columns; ``stamps`` keeps the dates met so far, formatted (a disc
    has a handful)."""
    if len(stamps) > STAMPS_MAX:
        stamps.clear()
    whens: list[str] = list(map(stamps.get, mtimes))  # type: ignore[arg-type]  # None: a miss
    if None in whens:
        for m in set(mtimes) - stamps.keys():
            stamps[m] = f"  {_stamp(m)}  " if m else _NO_DATE  # None and 0: no date
        whens = list(map(stamps.__getitem__, mtimes))
    if not "".join(names).isprintable():
        names = list(map(printable, names))
    # One %-format for the whole list: the padding and the numbers' text are made in C
    return (_TEXT_FORMAT * len(names)) % tuple(
        chain.from_iterable(zip(sizes, whens, lbas, names, strict=True))
    )
