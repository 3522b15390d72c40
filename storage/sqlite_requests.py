"""Make-up requests and field check-ins: asked, decided once, and the check-in each became."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from storage.models import Checkin, CheckinRequest
from storage.sqlite_base import SqliteQueries, from_db, to_db

_COLUMNS = (
    "id, kind, person_id, team_id, local_date, window_name, reason, attempt_id, level, state,"
    " chat_id, requested_at, decided_at, decided_by, note, checkin_id, photo_file_id,"
    " reminded_at, escalated_at"
)


def _request(row: Iterable[Any]) -> CheckinRequest:
    r = list(row)
    return CheckinRequest(
        id=r[0],
        kind=r[1],
        person_id=r[2],
        team_id=r[3],
        day=date.fromisoformat(r[4]),
        window=r[5],
        reason=r[6],
        attempt_id=r[7],
        level=r[8],
        state=r[9],
        chat_id=r[10],
        requested_at=from_db(r[11]),
        decided_at=from_db(r[12]) if r[12] else None,
        decided_by=r[13],
        note=r[14],
        checkin_id=r[15],
        photo_file_id=r[16],
        reminded_at=from_db(r[17]) if r[17] else None,
        escalated_at=from_db(r[18]) if r[18] else None,
    )


class RequestQueries(SqliteQueries):
    async def create_checkin_request(
        self,
        kind: str,
        person_id: int,
        team_id: int,
        day: date,
        window: str,
        reason: str,
        level: str,
        chat_id: int,
        now: datetime,
        attempt_id: int | None = None,
        photo_file_id: str | None = None,
    ) -> CheckinRequest | None:
        """A new pending request; None when one for that window is already waiting."""
        cur = await self._run(
            """INSERT INTO checkin_requests (kind, person_id, team_id, local_date, window_name,
                   reason, attempt_id, photo_file_id, level, chat_id, requested_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (kind, person_id, team_id, day.isoformat(), window, reason, attempt_id,
             photo_file_id, level, chat_id, to_db(now)),
        )  # fmt: skip
        if cur.rowcount == 0:
            return None
        assert cur.lastrowid is not None
        await self._event(
            f"{kind}.requested", now, person_id, team_id, request_id=cur.lastrowid,
            day=day.isoformat(), window=window, reason=reason, level=level,
        )  # fmt: skip
        return await self.get_checkin_request(cur.lastrowid)

    async def get_checkin_request(self, request_id: int) -> CheckinRequest | None:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM checkin_requests WHERE id = ?", (request_id,)
        )
        return _request(row) if row else None

    async def pending_checkin_request(
        self, person_id: int, team_id: int, day: date, window: str
    ) -> CheckinRequest | None:
        row = await self._one(
            f"""SELECT {_COLUMNS} FROM checkin_requests
                WHERE person_id = ? AND team_id = ? AND local_date = ? AND window_name = ?
                  AND state = 'pending'""",
            (person_id, team_id, day.isoformat(), window),
        )
        return _request(row) if row else None

    async def waiting_checkin_requests(self) -> list[CheckinRequest]:
        """Every request still waiting, the longest waiting first."""
        rows = await self._all(
            f"""SELECT {_COLUMNS} FROM checkin_requests WHERE state = 'pending'
                ORDER BY requested_at, id"""
        )
        return [_request(r) for r in rows]

    async def mark_checkin_request(self, request: CheckinRequest, what: str, now: datetime) -> bool:
        """Claim a reminder or an escalation once, while the request still waits."""
        column = {"reminded": "reminded_at", "escalated": "escalated_at"}[what]
        cur = await self._run(
            f"UPDATE checkin_requests SET {column} = ? WHERE id = ? AND {column} IS NULL"
            " AND state = 'pending'",
            (to_db(now), request.id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            f"{request.kind}.{what}", now, None, request.team_id, request_id=request.id,
            level=request.level,
        )  # fmt: skip
        return True

    async def person_checkin_requests(
        self, person_id: int, first: date, last: date
    ) -> list[CheckinRequest]:
        """A member's requests for days ``first``..``last``, in the order asked."""
        rows = await self._all(
            f"""SELECT {_COLUMNS} FROM checkin_requests
                WHERE person_id = ? AND local_date BETWEEN ? AND ? ORDER BY id""",
            (person_id, first.isoformat(), last.isoformat()),
        )
        return [_request(r) for r in rows]

    async def decide_checkin_request(
        self,
        request: CheckinRequest,
        state: str,
        actor_id: int | None,
        now: datetime,
        note: str | None = None,
        checkin: Checkin | None = None,
    ) -> bool:
        """Decide a pending request once: a second press finds it decided and changes nothing."""
        cur = await self._run(
            """UPDATE checkin_requests SET state = ?, decided_at = ?, decided_by = ?, note = ?,
                   checkin_id = ?
               WHERE id = ? AND state = 'pending'""",
            (state, to_db(now), actor_id, note, checkin.id if checkin else None, request.id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            f"{request.kind}.{state}", now, actor_id, request.team_id, request_id=request.id,
            checkin_id=checkin.id if checkin else None, note=note,
        )  # fmt: skip
        return True

    async def add_request_message(
        self, request_id: int, person_id: int | None, chat_id: int, outbox_id: int
    ) -> None:
        await self._run(
            """INSERT OR IGNORE INTO checkin_request_messages
                   (request_id, person_id, chat_id, outbox_id) VALUES (?, ?, ?, ?)""",
            (request_id, person_id, chat_id, outbox_id),
        )

    async def request_messages(
        self, request_id: int
    ) -> list[tuple[int | None, int, int | None, int]]:
        """Every copy that arrived or may still: (person or None for a group, chat,
        Telegram's message id if known yet, outbox row)."""
        rows = await self._all(
            """SELECT m.person_id, m.chat_id, o.message_id, m.outbox_id, o.state
               FROM checkin_request_messages m JOIN outbox o ON o.id = m.outbox_id
               WHERE m.request_id = ? ORDER BY m.id""",
            (request_id,),
        )
        return [
            (r[0], r[1], r[2], r[3]) for r in rows if r[2] is not None or r[4] in ("due", "sending")
        ]
