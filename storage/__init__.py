"""All SQL lives here. Open a store with :func:`open_store`; speak to it through
:class:`storage.base.Store` and :class:`storage.base.Tx`."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlparse

from storage.base import Store, Tx

__all__ = ["Store", "Tx", "copy_database", "open_store", "sqlite_path"]


def sqlite_path(database: str) -> str:
    """The file behind a ``CUNBOT_DATABASE`` value: a plain path or a ``sqlite:///`` URL."""
    if "://" not in database:
        return database
    url = urlparse(database)
    if url.scheme != "sqlite":
        raise ValueError(
            f"database scheme {url.scheme!r} is not supported yet; use a SQLite path "
            "or a sqlite:///path URL"
        )
    # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy spells them.
    path = url.path[1:] if url.path.startswith("/") else url.path
    return path or ":memory:"


async def open_store(database: str, now: datetime) -> Store:
    """Open the store named by ``database`` and bring its schema up to date."""
    from storage.sqlite import SqliteStore

    return await SqliteStore.open(sqlite_path(database), now)


def copy_database(database: str, to: str) -> bool:
    """A consistent copy of the database file at ``to`` (SQLite's backup), for a dry run to
    work on; False (and nothing written anywhere) when there is no database yet."""
    import sqlite3
    from pathlib import Path

    path = sqlite_path(database)
    if path == ":memory:" or not Path(path).exists():
        return False
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(to)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    return True
