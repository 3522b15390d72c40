"""What every group of SQLite queries shares: the connection of the running transaction,
row helpers, the audit event writer, and UTC text for timestamps."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.models import Person, Team


def to_db(moment: datetime) -> str:
    """UTC text that sorts in time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; pass an aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)


TEAM_SELECT = """
    SELECT t.id, t.village, t.tz, t.code, t.chat_id, t.township_id, w.name, c.id, c.name
    FROM teams t
    LEFT JOIN townships w ON w.id = t.township_id
    LEFT JOIN counties c ON c.id = w.county_id
"""


def team_from_row(row: Iterable[Any]) -> Team:
    return Team(*row)


PERSON_COLUMNS = "p.id, p.tg_user_id, p.first_name, p.last_name, p.username, p.language_code"


def person_from_row(row: Iterable[Any]) -> Person:
    return Person(*row)


_CHUNK = 500  # well under SQLite's limit on bound parameters


def marks(n: int) -> str:
    """``?, ?, ?`` for an ``IN (…)`` of n values."""
    return ", ".join("?" * n)


def chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for at in range(0, len(ids), _CHUNK):
        yield ids[at : at + _CHUNK]


class SqliteQueries:
    """Base of the query classes a transaction is made of.

    Statements run on the caller's thread (see :class:`storage.sqlite.SqliteStore`); the
    methods stay coroutines so a store that does wait for its database fits the same calls.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self._conn.execute(sql, tuple(params)).fetchone()

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    async def _named(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """Rows keyed by column name, so a mapper never depends on column order."""
        cur = self._conn.execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    async def _run(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    async def _event(
        self,
        kind: str,
        now: datetime,
        actor_id: int | None,
        team_id: int | None = None,
        **data: Any,
    ) -> None:
        await self._run(
            "INSERT INTO events (at, actor_id, kind, team_id, data) VALUES (?, ?, ?, ?, ?)",
            (to_db(now), actor_id, kind, team_id, json.dumps(data, ensure_ascii=False)),
        )
