"""A numbered-migration runner: ``migrations/NNNN_name.sql`` files applied in order, each in
its own transaction together with its row in ``schema_migrations``, so a file is upgraded in
place and a failed migration leaves the database at the version before it.

A migration that rebuilds a table (SQLite widens a CHECK no other way) starts with the line
``-- foreign_keys: off``: it runs with foreign keys off, as SQLite's own procedure for such
changes requires (with them on, dropping the old table rewrites or breaks the references to
it), and every reference is checked before its COMMIT; one dangling reference rolls it back."""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_REBUILD = "-- foreign_keys: off"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Every migration shipped with the package, by version."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def upgrade(conn: sqlite3.Connection, now: datetime, target: int | None = None) -> list[int]:
    """Apply the migrations above the file's version (up to ``target``); returns those applied."""
    version = current_version(conn)
    applied = []
    for migration in available_migrations():
        if migration.version <= version or (target is not None and migration.version > target):
            continue
        log.info("applying migration %04d_%s", migration.version, migration.name)
        rebuild = migration.sql.startswith(_REBUILD)
        keys_on = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        # executescript commits whatever is open first, so the BEGIN is ours to write.
        script = (
            "BEGIN;\n"
            f"{migration.sql}\n"
            "INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({migration.version}, '{migration.name}', '{now.isoformat()}');\n"
        )
        try:
            if rebuild:
                conn.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction
            conn.executescript(script)
            dangling = conn.execute("PRAGMA foreign_key_check").fetchall() if rebuild else []
            if dangling:
                raise RuntimeError(f"migration {migration.version} leaves {dangling[:5]}")
            conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            if rebuild and keys_on:
                conn.execute("PRAGMA foreign_keys = ON")
        applied.append(migration.version)
    return applied
