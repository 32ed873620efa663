"""The catalogue's tables (SQLite, an FTS5 trigram index over file names), and what a catalogue
says without its internal ids: one place to read or change the schema (bump SCHEMA_VERSION)."""

from __future__ import annotations

from app.core.library.records import DISC_COLUMNS

SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE discs (
  id INTEGER PRIMARY KEY,
  {", ".join(c + (" TEXT NOT NULL UNIQUE" if c == "folder" else "") for c in DISC_COLUMNS)},
  files_from INTEGER NOT NULL DEFAULT 1, files_to INTEGER NOT NULL DEFAULT 0,
  dirs_from INTEGER NOT NULL DEFAULT 1, dirs_to INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE dirs (id INTEGER PRIMARY KEY, disc_id INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TABLE files (
  id INTEGER PRIMARY KEY, disc_id INTEGER NOT NULL, dir_id INTEGER NOT NULL,
  name TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL,
  unreadable INTEGER NOT NULL
);
CREATE VIRTUAL TABLE names USING fts5(
  name, content='files', content_rowid='id', tokenize='trigram'
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY, disc_id INTEGER NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
  outcome TEXT NOT NULL, summary TEXT NOT NULL, doc TEXT NOT NULL, file TEXT NOT NULL
);
CREATE INDEX events_by_disc ON events(disc_id, kind, at);
PRAGMA user_version = {SCHEMA_VERSION};
"""
TABLES = ("events", "names", "files", "dirs", "discs")

# What a catalogue says, without its internal ids, in a stable order (``dump``/``digest``).
DUMP_QUERIES = {
    "discs": f"SELECT {', '.join(DISC_COLUMNS)} FROM discs ORDER BY folder",
    "files": "SELECT d.folder, r.path, f.name, f.kind, f.size, f.mtime, f.unreadable "
    "FROM files f JOIN dirs r ON r.id = f.dir_id JOIN discs d ON d.id = f.disc_id "
    "ORDER BY d.folder, f.id - d.files_from",
    "events": "SELECT d.folder, e.kind, e.at, e.outcome, e.summary, e.doc, e.file "
    "FROM events e JOIN discs d ON d.id = e.disc_id "
    "ORDER BY d.folder, e.kind, e.at, e.file, e.doc",
}
