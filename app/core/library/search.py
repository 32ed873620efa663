"""A search box's words to an FTS5 query over every file name on the shelf.

Names are indexed with SQLite's trigram tokenizer, so any piece of a name of three characters
or more is found through the index ("0042" finds IMG_0042.JPG and DSC0042.JPG), case-folded
as the tokenizer folds it. Every word must match (AND):

- ``IMG_0042`` — a piece of the name;
- ``*.jpg``, ``IMG_00??.*`` — a wildcard pattern for the whole name;
- a word with ``/`` — a piece of the whole path (``DCIM/100``);
- words shorter than three characters only narrow a search that has a longer word: on their
  own they would have to read every name (a second for a million files), so they are refused.

What the index cannot say exactly (LIKE's ``_`` is a wildcard, trigrams of a path piece) is
checked again on the candidates by two small SQL functions, so results are exact.
"""

from __future__ import annotations

import functools
import re
import shlex
import sqlite3
from dataclasses import dataclass, field

MIN_INDEXED = 3  # a trigram index needs three characters


class QueryError(ValueError):
    """The search words cannot be looked up; the message says what to type instead."""


@dataclass
class Compiled:
    match: str | None = None  # FTS5 MATCH expression (phrases joined with AND)
    likes: list[str] = field(default_factory=list)  # LIKE patterns the index can use
    name_globs: list[str] = field(default_factory=list)  # exact checks (regex source)
    name_has: list[str] = field(default_factory=list)
    path_has: list[str] = field(default_factory=list)

    def where(self) -> tuple[str, list[object]]:
        """SQL conditions over ``names`` (the FTS table), ``f`` (files) and ``r`` (dirs)."""
        sql: list[str] = []
        args: list[object] = []
        if self.match:
            sql.append("names MATCH ?")
            args.append(self.match)
        for pat in self.likes:
            sql.append("names.name LIKE ?")
            args.append(pat)
        for rx in self.name_globs:
            sql.append("dv_glob(f.name, ?)")
            args.append(rx)
        for word in self.name_has:
            sql.append("dv_has(f.name, ?)")
            args.append(word)
        for word in self.path_has:
            sql.append("dv_has(r.path || '/' || f.name, ?)")
            args.append(word)
        return " AND ".join(sql), args


def _words(text: str) -> list[str]:
    try:
        words = shlex.split(text)  # "holiday photos" in quotes is one word with a space
    except ValueError:
        words = text.split()
    return [w for w in words if w]


def _longest_literal(pattern: str) -> int:
    return max((len(p) for p in re.split(r"[*?]", pattern)), default=0)


def _phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def compile_query(text: str) -> Compiled:
    words = _words(text)
    if not words:
        raise QueryError("nothing to search for — type a part of a file name")
    c = Compiled()
    phrases: list[str] = []
    indexed = False
    for word in words:
        if "/" in word:
            c.path_has.append(word)
            last = word.rsplit("/", 1)[1]  # only names are indexed: the name's own piece
            if len(last) >= MIN_INDEXED and not set(last) & set("*?"):
                phrases.append(_phrase(last))
                indexed = True
        elif "*" in word or "?" in word:
            c.name_globs.append(glob_regex(word.casefold()))
            if _longest_literal(word) >= MIN_INDEXED:
                c.likes.append(word.replace("*", "%").replace("?", "_"))
                indexed = True
        elif len(word) >= MIN_INDEXED:
            phrases.append(_phrase(word))
            indexed = True
        else:
            c.name_has.append(word)
    if not indexed:
        raise QueryError(
            f"{text.strip()!r} is too short to search a whole shelf — "
            "type at least 3 characters of a name (or a pattern like *.jpg)"
        )
    c.match = " AND ".join(phrases) or None
    return c


def glob_regex(pattern: str) -> str:
    """``*`` and ``?`` only: file names hold ``[`` and ``]`` far more often than classes."""
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return "".join(out)


@functools.lru_cache(maxsize=64)
def _compiled(rx: str) -> re.Pattern[str]:
    return re.compile(rx, re.IGNORECASE | re.DOTALL)


def _dv_glob(name: str | None, rx: str) -> bool:
    return name is not None and _compiled(rx).fullmatch(name.casefold()) is not None


def _dv_has(text: str | None, word: str) -> bool:
    return text is not None and word.casefold() in text.casefold()


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("dv_glob", 2, _dv_glob, deterministic=True)
    conn.create_function("dv_has", 2, _dv_has, deterministic=True)
