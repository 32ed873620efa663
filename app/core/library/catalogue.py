"""The catalogue: SQLite (WAL) with an FTS5 trigram index over every file name on the shelf.

It is a cache of the disc folders, never the only copy of anything: ``rebuild`` makes it again
from them. Writes are whole transactions under the library's writer lock, so a crash or a
``kill -9`` at any instant leaves the catalogue as it was before or after a write (WAL with
``synchronous=FULL``), and a second writer gets a clear "in use by …" message instead of a
half-written disc. Readers never wait: WAL lets them read while someone writes.

Files of one disc get consecutive ids (assigned here, in one transaction), so a disc's files
are a rowid range: deleting or listing them needs no extra index over a million rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from app.core.base.events import CancelToken
from app.core.library import search as _search
from app.core.library.folder import Library
from app.core.library.lock import LibraryBusy, ProcessLock
from app.core.library.records import DISC_COLUMNS, DiscRecord, DiscScan, Event, FileRow, Hit
from app.core.library.schema import DUMP_QUERIES, SCHEMA, SCHEMA_VERSION, TABLES

BATCH = 5000


def wait_seconds() -> float:
    """How long a write waits for another process's (``DISCVAULT_LIBRARY_WAIT``, default 10 s)."""
    try:
        return max(float(os.environ.get("DISCVAULT_LIBRARY_WAIT", "10")), 0.0)
    except ValueError:
        return 10.0


class CatalogueError(Exception):
    """One line: what is wrong with the catalogue and what to do."""


class CatalogueBusy(CatalogueError):
    """Another DiscVault process is writing."""


class CatalogueDamaged(CatalogueError):
    """The file is not a readable catalogue: rebuild it."""


def _is_damage(e: sqlite3.DatabaseError) -> bool:
    text = str(e).lower()
    return any(w in text for w in ("malformed", "not a database", "corrupt", "encrypted"))


class Catalogue:
    """One connection to a library's catalogue; use from one thread (open one per job)."""

    def __init__(
        self,
        library: Library,
        *,
        create: bool = False,
        what: str = "DiscVault",
        timeout: float | None = None,
        lock: ProcessLock | None = None,
    ) -> None:
        self.library = library
        self.path = library.catalogue_path
        self.timeout = wait_seconds() if timeout is None else timeout
        # One lock object per process job: a second one on the same file would wait on this.
        self.lock = lock or ProcessLock(library.lock_path, what)
        self._own_lock = lock is None
        self._depth = 0
        if not os.path.exists(self.path):
            if not create:
                raise CatalogueError(
                    f"no catalogue in {library.root} — add a disc with `discvault library add`, "
                    "or make it from the disc folders with `discvault library rebuild`"
                )
            library.ensure()
        try:
            self.conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise CatalogueError(f"cannot open the catalogue {self.path}: {e}") from e
        try:
            with self._guard():
                self._setup(create)
        except BaseException:
            self.conn.close()
            raise

    # ---- connection, schema and errors ------------------------------------------------------
    def _setup(self, create: bool) -> None:
        c = self.conn
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogueError(
                f"{self.path} was written by a newer DiscVault — update DiscVault, or rebuild "
                "the catalogue with this one (`discvault library rebuild`)"
            )
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut, not only a crash
        c.execute("PRAGMA journal_size_limit=67108864")
        c.execute("PRAGMA cache_size=-32768")
        _search.register(c)
        if version == 0:
            tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise self._damaged(ValueError("not a DiscVault catalogue"))
            if not create:  # a crash while it was first made: nothing in it to lose
                raise self._damaged(ValueError("empty"))
            self.reset()
        elif version < SCHEMA_VERSION:  # pragma: no cover - no older schema exists yet
            raise CatalogueError(
                f"{self.path} has an older layout — run `discvault library rebuild`"
            )

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """sqlite3's errors become one line that says what to do."""
        try:
            yield
        except LibraryBusy as e:
            raise CatalogueBusy(
                f"the library {self.library.root} is in use by another DiscVault process "
                f"({e}) — wait for it to finish, then try again"
            ) from e
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise CatalogueBusy(
                    f"the catalogue {self.path} is in use by another DiscVault process — "
                    "wait for it to finish, then try again"
                ) from e
            if _is_damage(e):
                raise self._damaged(e) from e
            raise CatalogueError(f"catalogue {self.path}: {e}") from e
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise self._damaged(e) from e
            raise CatalogueError(f"catalogue {self.path}: {e}") from e

    def _damaged(self, e: Exception) -> CatalogueDamaged:
        return CatalogueDamaged(
            f"the catalogue {self.path} is damaged ({e}) — the disc folders are intact: "
            f"run `discvault library rebuild --library {shlex.quote(self.library.root)}`"
        )

    def close(self) -> None:
        if self._own_lock:
            while self.lock.held:
                self.lock.release()
        self.conn.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the library's writer lock (nested calls join it)."""
        with self._guard():
            self.lock.acquire(self.timeout)
            try:
                if self._depth == 0:
                    self.conn.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield self.conn
                except BaseException:
                    self._depth -= 1
                    if self._depth == 0:
                        self.conn.execute("ROLLBACK")
                    raise
                self._depth -= 1
                if self._depth == 0:
                    self.conn.execute("COMMIT")
            finally:
                self.lock.release()

    def hold(self, timeout: float | None = None) -> contextlib.AbstractContextManager[None]:
        """Keep the writer lock over several transactions (a rebuild, a verify run)."""
        lock = self.lock
        guard = self._guard

        @contextlib.contextmanager
        def held() -> Iterator[None]:
            with guard():
                lock.acquire(self.timeout if timeout is None else timeout)
            try:
                yield
            finally:
                lock.release()

        return held()

    # ---- writing ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Drop everything and make the schema again (inside the caller's transaction)."""
        with self.writing() as c:
            for t in TABLES:
                c.execute(f"DROP TABLE IF EXISTS {t}")
            c.execute("DROP INDEX IF EXISTS events_by_disc")
            for stmt in SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)

    def put_disc(self, scan: DiscScan, cancel: CancelToken | None = None) -> int:
        """Store (or replace) one disc with all its files and events; returns its id."""
        rec = scan.record
        with self.writing() as c:
            self._delete(rec.folder)
            cols = ", ".join(DISC_COLUMNS)
            marks = ", ".join("?" * len(DISC_COLUMNS))
            cur = c.execute(
                f"INSERT INTO discs ({cols}) VALUES ({marks})",
                [getattr(rec, k) for k in DISC_COLUMNS],
            )
            disc_id = int(cur.lastrowid or 0)
            files_from = self._next_id("files")
            dirs_from = self._next_id("dirs")
            count, damaged, dirs_to = self._insert_files(
                disc_id, scan.files(), files_from, dirs_from, cancel
            )
            files_to = files_from + count - 1
            c.execute(
                "INSERT INTO names(rowid, name) "
                "SELECT id, name FROM files WHERE id BETWEEN ? AND ?",
                (files_from, files_to),
            )
            rec.problem = scan.problem or rec.problem
            rec.file_count, rec.damaged_files, rec.id = count, damaged, disc_id
            c.execute(
                "UPDATE discs SET file_count=?, damaged_files=?, problem=?, files_from=?, "
                "files_to=?, dirs_from=?, dirs_to=? WHERE id=?",
                (count, damaged, rec.problem, files_from, files_to, dirs_from, dirs_to, disc_id),
            )
            for ev in scan.events:
                self._insert_event(disc_id, ev)
        return disc_id

    def _next_id(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def _insert_files(
        self,
        disc_id: int,
        rows: Iterable[FileRow],
        next_file: int,
        next_dir: int,
        cancel: CancelToken | None,
    ) -> tuple[int, int, int]:
        c = self.conn
        dir_ids: dict[str, int] = {}
        batch: list[tuple[Any, ...]] = []
        count = damaged = 0
        fid = next_file
        for row in rows:
            did = dir_ids.get(row.dir)
            if did is None:
                did = dir_ids[row.dir] = next_dir + len(dir_ids)
                c.execute("INSERT INTO dirs VALUES (?, ?, ?)", (did, disc_id, row.dir))
            batch.append(
                (fid, disc_id, did, row.name, row.kind, row.size, row.mtime, row.unreadable)
            )
            fid += 1
            count += 1
            if row.unreadable and row.kind != "dir":
                damaged += 1
            if len(batch) >= BATCH:
                c.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
                if cancel is not None:
                    cancel.raise_if_cancelled()
        if batch:
            c.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
        return count, damaged, next_dir + len(dir_ids) - 1

    def _insert_event(self, disc_id: int, ev: Event) -> None:
        self.conn.execute(
            "INSERT INTO events (disc_id, kind, at, outcome, summary, doc, file) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (disc_id, ev.kind, ev.at, ev.outcome, ev.summary, _doc_text(ev.doc), ev.file),
        )

    def add_event(self, folder: str, ev: Event) -> None:
        with self.writing() as c:
            row = c.execute("SELECT id FROM discs WHERE folder=?", (folder,)).fetchone()
            if row is None:
                raise CatalogueError(f"{folder} is not in the catalogue")
            self._insert_event(int(row[0]), ev)

    def _delete(self, folder: str) -> bool:
        c = self.conn
        row = c.execute(
            "SELECT id, files_from, files_to, dirs_from, dirs_to FROM discs WHERE folder=?",
            (folder,),
        ).fetchone()
        if row is None:
            return False
        disc_id, ff, ft, df, dt = row
        c.execute(
            "INSERT INTO names(names, rowid, name) "
            "SELECT 'delete', id, name FROM files WHERE id BETWEEN ? AND ?",
            (ff, ft),
        )
        c.execute("DELETE FROM files WHERE id BETWEEN ? AND ?", (ff, ft))
        c.execute("DELETE FROM dirs WHERE id BETWEEN ? AND ?", (df, dt))
        c.execute("DELETE FROM events WHERE disc_id=?", (disc_id,))
        c.execute("DELETE FROM discs WHERE id=?", (disc_id,))
        return True

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (after a rebuild: the WAL is as big as the data)."""
        with self._guard():
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # ---- reading ------------------------------------------------------------------------------
    def _query(self, sql: str, args: Iterable[object] = ()) -> list[Any]:
        with self._guard():
            return self.conn.execute(sql, tuple(args)).fetchall()

    def discs(self) -> list[DiscRecord]:
        cols = ", ".join(("id", *DISC_COLUMNS))
        rows = self._query(f"SELECT {cols} FROM discs ORDER BY label COLLATE NOCASE, folder")
        return [_record(r) for r in rows]

    def disc(self, folder: str) -> DiscRecord | None:
        cols = ", ".join(("id", *DISC_COLUMNS))
        rows = self._query(f"SELECT {cols} FROM discs WHERE folder=?", (folder,))
        return _record(rows[0]) if rows else None

    def events(self, disc_id: int, kind: str | None = None) -> list[Event]:
        sql = "SELECT kind, at, outcome, summary, doc, file FROM events WHERE disc_id=?"
        args: list[object] = [disc_id]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        return [_event(r) for r in self._query(sql + " ORDER BY at, id", args)]

    def all_events(self, kinds: tuple[str, ...] = ("verify", "health")) -> dict[int, list[Event]]:
        """Every disc's events of ``kinds``, oldest first: one query for a whole list view."""
        marks = ", ".join("?" * len(kinds))
        out: dict[int, list[Event]] = {}
        for r in self._query(
            "SELECT disc_id, kind, at, outcome, summary, doc, file FROM events "
            f"WHERE kind IN ({marks}) ORDER BY disc_id, at, id",
            kinds,
        ):
            out.setdefault(int(r[0]), []).append(_event(r[1:]))
        return out

    def files(self, disc_id: int, damaged_only: bool = False) -> Iterator[FileRow]:
        """A disc's files in listing order (streamed: a disc may hold 100 000)."""
        with self._guard():
            row = self.conn.execute(
                "SELECT files_from, files_to FROM discs WHERE id=?", (disc_id,)
            ).fetchone()
        if row is None:
            return
        sql = (
            "SELECT r.path, f.name, f.kind, f.size, f.mtime, f.unreadable FROM files f "
            "JOIN dirs r ON r.id = f.dir_id WHERE f.id BETWEEN ? AND ?"
        )
        if damaged_only:
            sql += " AND f.unreadable > 0"
        with self._guard():
            cur = self.conn.execute(sql + " ORDER BY f.id", row)
            while chunk := cur.fetchmany(BATCH):
                yield from (FileRow(*r) for r in chunk)

    def search(self, query: str, limit: int = 200) -> tuple[list[Hit], bool]:
        """Files whose names match ``query`` (see ``search``); ``(hits, more)``.

        ``QueryError`` for words the index cannot look up."""
        where, args = _search.compile_query(query).where()
        # CROSS JOIN keeps the FTS table outermost: the index picks candidates, the rest are
        # rowid lookups, whatever SQLite's planner would guess for a million rows.
        sql = (
            "SELECT d.folder, d.label, d.image, r.path, f.name, f.kind, f.size, f.mtime, "
            "f.unreadable FROM names CROSS JOIN files f ON f.id = names.rowid "
            "CROSS JOIN dirs r ON r.id = f.dir_id CROSS JOIN discs d ON d.id = f.disc_id "
            f"WHERE {where} LIMIT ?"
        )
        rows = self._query(sql, [*args, limit + 1])
        root = self.library.root
        hits = [
            Hit(
                folder,
                label,
                os.path.join(root, folder, image),
                f"{path}/{name}",
                kind,
                size,
                mtime,
                unreadable,
            )
            for folder, label, image, path, name, kind, size, mtime, unreadable in rows[:limit]
        ]
        return hits, len(rows) > limit

    def totals(self) -> tuple[int, int]:
        """(discs, files)."""
        r = self._query("SELECT count(*), coalesce(sum(file_count), 0) FROM discs")[0]
        return int(r[0]), int(r[1])

    # ---- checking -----------------------------------------------------------------------------
    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything the catalogue says, without its internal ids, in a stable order: two
        catalogues of the same folders compare equal, however they were made."""
        return {name: self._query(sql) for name, sql in DUMP_QUERIES.items()}

    def digest(self) -> str:
        """A hash of ``dump()``, computed as it streams (a million files never sit in memory)."""
        h = hashlib.sha256()
        with self._guard():
            for name, sql in DUMP_QUERIES.items():
                h.update(name.encode())
                cur = self.conn.execute(sql)
                while rows := cur.fetchmany(BATCH):
                    h.update(repr(rows).encode())
        return h.hexdigest()

    def check(self) -> list[str]:
        """What is inconsistent (empty when all is well): SQLite's own check, the name index
        against the files, and every disc's file count against its rows."""
        problems: list[str] = []
        with self._guard():
            res = [r[0] for r in self.conn.execute("PRAGMA integrity_check").fetchall()]
            if res != ["ok"]:
                problems += res
            try:
                with self.writing() as c:  # a command, but SQLite runs it as a write
                    c.execute("INSERT INTO names(names, rank) VALUES ('integrity-check', 1)")
            except CatalogueDamaged as e:
                problems.append(f"name index: {e}")
            for folder, want, got in self.conn.execute(
                "SELECT d.folder, d.file_count, (SELECT count(*) FROM files f "
                "WHERE f.id BETWEEN d.files_from AND d.files_to AND f.disc_id = d.id) FROM discs d"
            ):
                if want != got:
                    problems.append(f"{folder}: {got} file rows for {want} files")
            orphans = self.conn.execute(
                "SELECT count(*) FROM files WHERE disc_id NOT IN (SELECT id FROM discs)"
            ).fetchone()[0]
            if orphans:
                problems.append(f"{orphans} file rows belong to no disc")
            stray = self.conn.execute(
                "SELECT count(*) FROM events WHERE disc_id NOT IN (SELECT id FROM discs)"
            ).fetchone()[0]
            if stray:
                problems.append(f"{stray} events belong to no disc")
        return problems


def _doc_text(doc: dict[str, object]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _record(row: tuple[Any, ...]) -> DiscRecord:
    rec = DiscRecord(**dict(zip(DISC_COLUMNS, row[1:], strict=True)))
    rec.id = int(row[0])
    return rec


def _event(row: tuple[Any, ...]) -> Event:
    kind, at, outcome, summary, doc, file = row
    try:
        parsed = json.loads(doc)
    except ValueError:
        parsed = {}
    return Event(kind, at, outcome, summary, parsed if isinstance(parsed, dict) else {}, file)
