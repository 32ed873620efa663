"""Logiqx XML DAT files (as Redump and No-Intro publish them) and matching images to them.

A DAT can hold a million entries, but matching an image needs only the entries with its size and
CRC or its name. So ``load`` reads the file once, in bounded chunks, with expat (the parser behind
ElementTree, without building elements) and keeps no entry: per ``<rom>`` it keeps two 8-byte
fingerprints (of size+CRC and of the name), each carrying the number of its game, plus the byte
offset where each game starts. A match finds its candidates among the fingerprints (a
``bytes.find`` scan, no sorting) and re-reads just those games from their offsets. Memory is
about 24 bytes per entry (57 MiB peak for a 205 MB, 977 000-entry DAT; the ElementTree loader
before took 906 MiB).

Hostile files get one clear error and bounded time: a tag, attribute or comment longer than
``MAX_TOKEN`` is refused as soon as it is seen (expat 2.5 re-scans an unfinished token on every
chunk, so an unbounded one costs quadratic time), entity declarations are refused (no expansion,
no billion laughs; external entities are never fetched), nesting is limited, and the cancel token
is checked between chunks so Ctrl-C stops a load within a fraction of a second.
"""

from __future__ import annotations

import os
import stat
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import BinaryIO
from xml.parsers import expat

from app.core.base.events import CancelToken

CHUNK = 1 << 20  # bytes fed to expat at a time: the cancel check and token-length check interval
MAX_TOKEN = 1 << 20  # the longest tag/attribute/comment accepted; real ones are < 1 KiB
MAX_DEPTH = 32  # Logiqx nests 3 deep; expat keeps every open element in memory
MAX_GAME_ROMS = 10_000  # a disc has at most ~100 tracks; more is not a game we can judge
MAX_CANDIDATES = 1_000  # games re-read for one lookup (a DAT of identical entries is absurd)

_GAME_TAGS = frozenset(("game", "machine"))
_PROLOGUE = b'<!DOCTYPE x SYSTEM "x">'
_LOW = 24  # fingerprint = 40 bits of hash << 24 | game number mod 2**24
_LOW_MASK = (1 << _LOW) - 1
_HIGH_MASK = (1 << 40) - 1


class DatError(Exception):
    """The DAT file cannot be read or is not Logiqx XML."""


class _Stop(Exception):
    """Raised inside an expat handler to stop parsing a single game early."""


@dataclass(frozen=True)
class DatRom:
    game: str
    name: str
    size: int
    crc32: str
    md5: str
    sha1: str

    def fits(self, f: DatFile) -> bool:
        """Same size and CRC, and every digest the DAT gives is given for the file and equal
        (a DAT entry with MD5 and SHA-1 is not matched on its CRC alone)."""
        if self.size != f.size or self.crc32 != f.hashes.get("crc32", "").lower():
            return False
        return (not self.md5 or self.md5 == f.hashes.get("md5", "").lower()) and (
            not self.sha1 or self.sha1 == f.hashes.get("sha1", "").lower()
        )


@dataclass(frozen=True)
class DatFile:
    """A file to look up: an image, or one track of a BIN/CUE set (hashes: lowercase hex)."""

    name: str
    size: int
    hashes: dict[str, str]


@dataclass(frozen=True)
class DatMatch:
    verdict: str  # "match", "same_name_different_hashes", "not_in_dat"
    entry: DatRom | None
    dat: str

    def describe(self) -> str:
        if self.verdict == "match" and self.entry:
            return f"matches '{self.entry.game}' ({self.entry.name}) in {self.dat}"
        if self.verdict == "same_name_different_hashes" and self.entry:
            return (
                f"'{self.entry.name}' is in {self.dat} ('{self.entry.game}') but with "
                "different checksums: this is not that disc's verified dump"
            )
        return f"not in {self.dat}"


@dataclass(frozen=True)
class SetMatch:
    """How a set of files (the tracks and cue of a BIN/CUE, say) fits one game's roms."""

    verdict: str  # "match", "partial", "same_name_different_hashes", "not_in_dat"
    game: str
    dat: str
    matched: tuple[tuple[DatRom, DatFile], ...] = ()
    missing: tuple[DatRom, ...] = ()  # the game's roms no file matched
    extra: tuple[DatFile, ...] = ()  # files that matched none of the game's roms

    def describe(self) -> str:
        if self.verdict == "match":
            return f"all {len(self.matched)} files match '{self.game}' in {self.dat}"
        if self.verdict == "partial":
            parts = [f"{len(self.matched)} of {len(self.matched) + len(self.missing)} roms match"]
            if self.missing:
                parts.append("no file matches " + ", ".join(r.name for r in self.missing[:5]))
            if self.extra:
                parts.append("not in that game: " + ", ".join(f.name for f in self.extra[:5]))
            return f"'{self.game}' in {self.dat}: " + "; ".join(parts)
        if self.verdict == "same_name_different_hashes":
            return (
                f"'{self.game}' in {self.dat} has files of these names but other checksums: "
                "this is not that disc's verified dump"
            )
        return f"not in {self.dat}"


@dataclass
class _Index:
    """What one pass over the DAT keeps: fingerprints and game offsets, never the entries."""

    offsets: array[int] = field(default_factory=lambda: array("Q"))
    by_hash: array[int] = field(default_factory=lambda: array("Q"))
    by_name: array[int] = field(default_factory=lambda: array("Q"))
    roms: int = 0
    encoding: str | None = None
    header_name: str = ""


def _fp_hash(size: int, crc: str) -> int:
    """40 bits of hash of (size, crc); ``_index`` computes the same thing inline, for speed."""
    return hash((size, crc)) & _HIGH_MASK


def _fp_name(name: str) -> int:
    return hash(name.lower()) & _HIGH_MASK


def _size(attrs: dict[str, str]) -> int:
    try:
        return int(attrs.get("size", "-1"))
    except ValueError:
        return -1


def _rom(game: str, attrs: dict[str, str]) -> DatRom:
    return DatRom(
        game,
        attrs.get("name", ""),
        _size(attrs),
        attrs.get("crc", "").lower(),
        attrs.get("md5", "").lower(),
        attrs.get("sha1", "").lower(),
    )


def _refuse_entities(*_args: object) -> None:
    raise DatError("declares XML entities — a DAT needs none, and expanding them is unsafe")


def _open_regular(path: str) -> BinaryIO:
    """Open for reading, refusing FIFOs and devices up front: a FIFO is opened without waiting
    for a writer (O_NONBLOCK), seen for what it is, and closed."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DatError(f"{path}: not a regular file — give the path of a .dat/.xml file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb")
    except OSError as e:
        raise DatError(f"{path}: {e.strerror} — check the DAT's path") from e


def _feed(
    path: str,
    f: BinaryIO,
    p: expat.XMLParserType,
    cancel: CancelToken | None,
    base: int = 0,
    after: Callable[[], None] | None = None,
) -> None:
    """Feed ``f`` to ``p`` in chunks; check the token and the unfinished token's length.
    ``base``: bytes fed to ``p`` before; ``after``: called after every chunk."""
    fed = 0
    while True:
        if cancel is not None:
            cancel.raise_if_cancelled()
        data = f.read(CHUNK)
        fed += len(data)
        p.Parse(data, not data)
        if after is not None:
            after()
        if not data:
            return
        # After Parse, CurrentByteIndex is where expat's unfinished token starts (character
        # data is consumed as it comes); what lies beyond it is re-scanned on every chunk.
        pending = base + fed - p.CurrentByteIndex
        if pending > MAX_TOKEN:
            raise DatError(
                f"{path}: an XML tag, attribute or comment at byte {p.CurrentByteIndex} runs "
                f"past {MAX_TOKEN >> 20} MiB — this is not a usable DAT (real entries are a "
                "few hundred bytes)"
            )


def _index(path: str, cancel: CancelToken | None) -> tuple[_Index, os.stat_result]:
    ix = _Index()
    by_hash, by_name, offsets = ix.by_hash.append, ix.by_name.append, ix.offsets.append
    p = expat.ParserCreate()
    # Speed: a Python call per element is most of the cost, so end tags get a C callable
    # (list.append, the list emptied after every chunk) and depth = starts - ends.
    ends: list[str] = []
    ended = 0  # ends counted before ``ends`` was last emptied
    starts = 0
    game = -1  # number of the enclosing game (or of a lone <rom>'s own record)
    game_depth = 0  # depth of that game's element: a <rom> deeper than it is inside it
    header_depth = 0
    naming = False

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal game, game_depth, header_depth, starts, naming
        starts += 1
        depth = starts - ended - len(ends)
        if depth > MAX_DEPTH:
            raise DatError(f"{path}: elements nested more than {MAX_DEPTH} deep — not a DAT")
        if naming:  # the header's <name> text ends before the next element
            p.CharacterDataHandler = None
            naming = False
        if tag == "rom":
            low = game
            if low < 0 or depth <= game_depth:  # outside any game: the rom is its own record
                low = len(ix.offsets)
                offsets(p.CurrentByteIndex)
            try:
                size = int(attrs.get("size", "-1"))
            except ValueError:
                size = -1
            low &= _LOW_MASK
            by_hash(((hash((size, attrs.get("crc", "").lower())) & _HIGH_MASK) << _LOW) | low)
            by_name(((hash(attrs.get("name", "").lower()) & _HIGH_MASK) << _LOW) | low)
        elif tag in _GAME_TAGS:
            game = len(ix.offsets)
            game_depth = depth
            offsets(p.CurrentByteIndex)
        elif tag == "header":
            header_depth = depth
        elif tag == "name" and depth == header_depth + 1 and not ix.header_name:
            p.CharacterDataHandler = header_text
            naming = True

    def header_text(text: str) -> None:
        ix.header_name += text

    def flush() -> None:
        nonlocal ended
        ended += len(ends)
        ends.clear()

    def decl(_version: str, encoding: str | None, _standalone: int) -> None:
        ix.encoding = encoding

    p.StartElementHandler = start
    p.EndElementHandler = ends.append
    p.XmlDeclHandler = decl
    p.EntityDeclHandler = _refuse_entities
    with _open_regular(path) as f:
        st = os.fstat(f.fileno())
        try:
            _feed(path, f, p, cancel, after=flush)
        except expat.ExpatError as e:
            raise DatError(
                f"{path}: not a valid XML DAT ({expat.ErrorString(e.code)} at line {e.lineno}) "
                "— is this a Logiqx XML DAT?"
            ) from e
        except DatError as e:
            msg = str(e)
            raise DatError(msg if msg.startswith(path) else f"{path}: {msg}") from e
        except OSError as e:
            raise DatError(f"{path}: {e.strerror} — check the DAT's path") from e
    ix.roms = len(ix.by_hash)
    if not ix.roms:
        raise DatError(f"{path}: no <rom> entries — is this a Logiqx XML DAT?")
    ix.header_name = ix.header_name.strip()
    return ix, st


def _lookup(table: bytes, high: int, games: int) -> list[int]:
    """Game numbers whose fingerprint has these 40 high bits (false positives possible).

    The fingerprints stay unsorted (sorting a million Python ints costs a second): ``table``
    holds them as little-endian 8-byte words, and ``bytes.find`` scans for the five high bytes
    at memory speed, keeping hits that sit at the right place within a word."""
    needle = high.to_bytes(5, "little")
    out: list[int] = []
    pos = table.find(needle, 3)
    while pos >= 0:
        if pos % 8 == 3:
            low = int.from_bytes(table[pos - 3 : pos], "little")
            # game numbers were stored mod 2**24: every game with those low bits is a candidate
            out.extend(range(low, games, 1 << _LOW))
            pos = table.find(needle, pos + 8)
        else:
            pos = table.find(needle, pos + 1)
    return out


class Dat:
    """A DAT that was read once and checked; entries are re-read only for candidate games."""

    def __init__(self, path: str, index: _Index, st: os.stat_result) -> None:
        self.path = path
        self.name = index.header_name  # the <header><name>, e.g. "Sony - PlayStation"
        self.rom_count = index.roms
        self.game_count = len(index.offsets)
        self._ix = index
        if sys.byteorder != "little":  # ``_lookup`` reads the words as little-endian
            index.by_hash.byteswap()
            index.by_name.byteswap()
        self._by_hash = index.by_hash.tobytes()
        self._by_name = index.by_name.tobytes()
        index.by_hash = index.by_name = array("Q")  # keep one copy
        self._identity = (st.st_size, st.st_mtime_ns, st.st_ino)

    @property
    def label(self) -> str:
        return os.path.basename(self.path)

    # ---- lookups ----------------------------------------------------------------------------
    def _candidates(self, files: Sequence[DatFile]) -> list[int]:
        games = self.game_count
        found: set[int] = set()
        for f in files:
            crc = f.hashes.get("crc32", "").lower()
            found.update(_lookup(self._by_hash, _fp_hash(f.size, crc), games))
            found.update(_lookup(self._by_name, _fp_name(f.name), games))
        return sorted(found)[:MAX_CANDIDATES]  # in DAT order, so the first entry wins

    def _read_games(self, numbers: list[int]) -> list[tuple[str, list[DatRom]]]:
        if not numbers:
            return []
        out = []
        with _open_regular(self.path) as f:
            st = os.fstat(f.fileno())
            if (st.st_size, st.st_mtime_ns, st.st_ino) != self._identity:
                raise DatError(f"{self.path}: changed since it was read — run again")
            for n in numbers:
                out.append(self._read_game(f, self._ix.offsets[n]))
        return out

    def _read_game(self, f: BinaryIO, offset: int) -> tuple[str, list[DatRom]]:
        """Parse the one game (or lone rom) that starts at ``offset``."""
        p = expat.ParserCreate(self._ix.encoding)
        p.EntityDeclHandler = _refuse_entities
        game = ""
        roms: list[DatRom] = []
        depth = 0

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal game, depth
            depth += 1
            if depth == 1 and tag in _GAME_TAGS:
                game = attrs.get("name", "")
            if tag == "rom":
                roms.append(_rom(game, attrs))
                if depth == 1 or len(roms) >= MAX_GAME_ROMS:
                    raise _Stop
            if depth > MAX_DEPTH:
                raise _Stop

        def end(_tag: str) -> None:
            nonlocal depth
            depth -= 1
            if depth == 0:
                raise _Stop

        p.StartElementHandler = start
        p.EndElementHandler = end
        # A DOCTYPE with an external subset makes expat skip entities it does not know, as it
        # did in the whole-file pass under the DAT's own DOCTYPE, instead of failing.
        p.Parse(_PROLOGUE, False)
        f.seek(offset)
        try:
            # no cancel token: a match runs after the long read, where a Cancelled would escape
            # the caller's handling, and re-reading a few games takes milliseconds
            _feed(self.path, f, p, None, base=len(_PROLOGUE))
        except _Stop:
            pass
        except expat.ExpatError as e:
            raise DatError(f"{self.path}: changed since it was read ({e}) — run again") from e
        return game, roms

    # ---- public -----------------------------------------------------------------------------
    def match(self, size: int, hashes: dict[str, str], name: str) -> DatMatch:
        """One image: the first entry with its size and checksums, else one with its name."""
        probe = DatFile(name, size, hashes)
        roms = [r for _, rs in self._read_games(self._candidates([probe])) for r in rs]
        for rom in roms:
            if rom.fits(probe):
                return DatMatch("match", rom, self.label)
        for rom in roms:
            if rom.name.lower() == name.lower():
                return DatMatch("same_name_different_hashes", rom, self.label)
        return DatMatch("not_in_dat", None, self.label)

    def match_set(self, files: Sequence[DatFile]) -> SetMatch:
        """Several files (e.g. the per-track .bin files and the .cue of a CD) against each
        game's roms: "match" when one game's every rom is matched by a distinct file and no
        file is left over; otherwise the game that came closest ("partial")."""
        best: SetMatch | None = None
        named: str | None = None
        names = {f.name.lower() for f in files}
        for game, roms in self._read_games(self._candidates(files)):
            pairs = _assign(roms, list(files), DatRom.fits)
            if not pairs:
                if named is None and any(r.name.lower() in names for r in roms):
                    named = game
                continue
            used_r = {id(r) for r, _ in pairs}
            used_f = {id(f) for _, f in pairs}
            m = SetMatch(
                "partial",
                game,
                self.label,
                tuple(pairs),
                tuple(r for r in roms if id(r) not in used_r),
                tuple(f for f in files if id(f) not in used_f),
            )
            if not m.missing and not m.extra:
                return replace(m, verdict="match")
            if best is None or _closeness(m) > _closeness(best):
                best = m
        if best is not None:
            return best
        if named is not None:
            return SetMatch("same_name_different_hashes", named, self.label)
        return SetMatch("not_in_dat", "", self.label)


def _closeness(m: SetMatch) -> tuple[int, int]:
    return len(m.matched), -(len(m.missing) + len(m.extra))


def _assign(
    roms: list[DatRom], files: list[DatFile], fits: Callable[[DatRom, DatFile], bool]
) -> list[tuple[DatRom, DatFile]]:
    """Largest pairing of roms with distinct files (Kuhn's augmenting paths): two identical
    tracks (two silent audio tracks, say) need two files, not one file counted twice."""
    owner: dict[int, int] = {}  # file index -> rom index
    edges = [[j for j, f in enumerate(files) if fits(r, f)] for r in roms]

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(roms)):
        if edges[i]:
            augment(i, set())
    return [(roms[i], files[j]) for i, j in sorted((i, j) for j, i in owner.items())]


def load(path: str, cancel: CancelToken | None = None) -> Dat:
    """Read and check a whole DAT once (``DatError`` on anything wrong, ``Cancelled`` when the
    token is cancelled); a 200 MB DAT takes a few seconds and keeps ~24 bytes per entry."""
    index, st = _index(path, cancel)
    return Dat(path, index, st)
