"""Leave requests, their decisions and the approval messages sent for them.

Every change is guarded in SQL by the state it expects (``WHERE state = 'pending' AND step =
?``), so two approvers pressing at once, or one pressing twice, make one decision: the second
update matches no row and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from storage.models import LeaveDecision, LeaveMessage, LeaveRequest, Person
from storage.sqlite_base import (
    PERSON_COLUMNS,
    SqliteQueries,
    chunks,
    from_db,
    marks,
    person_from_row,
    to_db,
)

_COLUMNS = (
    "id, person_id, team_id, kind, first_day, last_day, reason, route, step, state, chat_id,"
    " requested_at, step_since, reminded_at, escalated_at, decided_at, decided_by, note,"
    " returned_at, returned_day, overdue_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM leave_requests"
_OPEN = ("pending", "approved")


def _moment(text: str | None) -> datetime | None:
    return from_db(text) if text else None


def _leave(row: Iterable[Any]) -> LeaveRequest:
    r = list(row)
    return LeaveRequest(
        id=r[0],
        person_id=r[1],
        team_id=r[2],
        kind=r[3],
        first=date.fromisoformat(r[4]),
        last=date.fromisoformat(r[5]),
        reason=r[6],
        route=tuple(r[7].split(",")),
        step=r[8],
        state=r[9],
        chat_id=r[10],
        requested_at=from_db(r[11]),
        step_since=from_db(r[12]),
        reminded_at=_moment(r[13]),
        escalated_at=_moment(r[14]),
        decided_at=_moment(r[15]),
        decided_by=r[16],
        note=r[17],
        returned_at=_moment(r[18]),
        returned_day=date.fromisoformat(r[19]) if r[19] else None,
        overdue_at=_moment(r[20]),
    )


class LeaveQueries(SqliteQueries):
    async def create_leave(
        self,
        person_id: int,
        team_id: int,
        kind: str,
        first: date,
        last: date,
        reason: str,
        route: tuple[str, ...],
        chat_id: int,
        now: datetime,
    ) -> LeaveRequest:
        cur = await self._run(
            """INSERT INTO leave_requests (person_id, team_id, kind, first_day, last_day, reason,
                   route, chat_id, requested_at, step_since)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                person_id,
                team_id,
                kind,
                first.isoformat(),
                last.isoformat(),
                reason,
                ",".join(route),
                chat_id,
                to_db(now),
                to_db(now),
            ),
        )
        assert cur.lastrowid is not None
        await self._event(
            "leave.requested",
            now,
            person_id,
            team_id,
            request_id=cur.lastrowid,
            leave_kind=kind,
            first=first.isoformat(),
            last=last.isoformat(),
            reason=reason,
        )
        await self._event(
            "leave.routed", now, None, team_id, request_id=cur.lastrowid, level=route[0], step=0
        )
        leave = await self.get_leave(cur.lastrowid)
        assert leave is not None
        return leave

    async def get_leave(self, request_id: int) -> LeaveRequest | None:
        row = await self._one(_SELECT + " WHERE id = ?", (request_id,))
        return _leave(row) if row else None

    async def person_leave(
        self, person_id: int, states: tuple[str, ...] = _OPEN, limit: int = 50
    ) -> list[LeaveRequest]:
        """The person's requests in these states, the latest first."""
        rows = await self._all(
            _SELECT + f" WHERE person_id = ? AND state IN ({marks(len(states))})"
            " ORDER BY first_day DESC, id DESC LIMIT ?",
            (person_id, *states, limit),
        )
        return [_leave(row) for row in rows]

    async def team_leave(
        self, team_id: int, first: date, last: date, states: tuple[str, ...] = ("approved",)
    ) -> list[LeaveRequest]:
        """Requests of the team that touch the days ``first``..``last``."""
        rows = await self._all(
            _SELECT + f" WHERE team_id = ? AND state IN ({marks(len(states))})"
            " AND first_day <= ? AND last_day >= ? ORDER BY first_day, id",
            (team_id, *states, last.isoformat(), first.isoformat()),
        )
        return [_leave(row) for row in rows]

    async def area_leave(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[LeaveRequest]:
        """Approved requests of these teams that touch the days ``first``..``last``."""
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                _SELECT + f" WHERE team_id IN ({marks(len(chunk))}) AND state = 'approved'"
                " AND first_day <= ? AND last_day >= ? ORDER BY first_day, id",
                (*chunk, last.isoformat(), first.isoformat()),
            )
            found += [_leave(row) for row in rows]
        return found

    async def pending_leave(self) -> list[LeaveRequest]:
        rows = await self._all(_SELECT + " WHERE state = 'pending' ORDER BY step_since, id")
        return [_leave(row) for row in rows]

    async def unreturned_leave(self, before: date) -> list[LeaveRequest]:
        """Approved leave that ended before ``before`` with no /back and not yet flagged."""
        rows = await self._all(
            _SELECT + " WHERE state = 'approved' AND returned_at IS NULL AND overdue_at IS NULL"
            " AND last_day < ? ORDER BY last_day, id",
            (before.isoformat(),),
        )
        return [_leave(row) for row in rows]

    async def decide_leave(
        self,
        leave: LeaveRequest,
        decision: str,
        actor_id: int,
        now: datetime,
        note: str | None = None,
    ) -> bool:
        """Decide the request's current step; False when it was already decided or moved."""
        final = decision == "rejected" or leave.step + 1 >= len(leave.route)
        if final:
            cur = await self._run(
                """UPDATE leave_requests SET state = ?, decided_at = ?, decided_by = ?, note = ?
                   WHERE id = ? AND state = 'pending' AND step = ?""",
                (decision, to_db(now), actor_id, note, leave.id, leave.step),
            )
        else:
            cur = await self._run(
                """UPDATE leave_requests SET step = step + 1, step_since = ?,
                       reminded_at = NULL, escalated_at = NULL
                   WHERE id = ? AND state = 'pending' AND step = ?""",
                (to_db(now), leave.id, leave.step),
            )
        if cur.rowcount == 0:
            return False
        await self._run(
            """INSERT INTO leave_decisions (request_id, step, level, decision, decided_by,
                   decided_at, note) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (leave.id, leave.step, leave.level, decision, actor_id, to_db(now), note),
        )
        await self._event(
            f"leave.{decision}",
            now,
            actor_id,
            leave.team_id,
            request_id=leave.id,
            step=leave.step,
            level=leave.level,
            note=note,
        )
        if not final:
            await self._event(
                "leave.routed",
                now,
                None,
                leave.team_id,
                request_id=leave.id,
                level=leave.route[leave.step + 1],
                step=leave.step + 1,
            )
        return True

    async def leave_decisions(self, request_id: int) -> list[LeaveDecision]:
        rows = await self._all(
            """SELECT request_id, step, level, decision, decided_by, decided_at, note
               FROM leave_decisions WHERE request_id = ? ORDER BY step""",
            (request_id,),
        )
        return [LeaveDecision(r[0], r[1], r[2], r[3], r[4], from_db(r[5]), r[6]) for r in rows]

    async def cancel_leave(self, leave: LeaveRequest, actor_id: int, now: datetime) -> bool:
        cur = await self._run(
            """UPDATE leave_requests SET state = 'cancelled', decided_at = ?, decided_by = ?
               WHERE id = ? AND state = ?""",
            (to_db(now), actor_id, leave.id, leave.state),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "leave.cancelled", now, actor_id, leave.team_id, request_id=leave.id, was=leave.state
        )
        return True

    async def return_from_leave(
        self, leave: LeaveRequest, day: date, actor_id: int, now: datetime
    ) -> bool:
        cur = await self._run(
            """UPDATE leave_requests SET returned_at = ?, returned_day = ?
               WHERE id = ? AND state = 'approved' AND returned_at IS NULL""",
            (to_db(now), day.isoformat(), leave.id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "leave.returned",
            now,
            actor_id,
            leave.team_id,
            request_id=leave.id,
            day=day.isoformat(),
            early=day <= leave.last,
        )
        return True

    async def mark_leave(self, leave: LeaveRequest, what: str, now: datetime, **data: Any) -> bool:
        """Claim a reminder, an escalation or an overdue flag once: the column is set only
        while still empty (and, for a step's marks, while the step is the same)."""
        column = {"reminded": "reminded_at", "escalated": "escalated_at", "overdue": "overdue_at"}[
            what
        ]
        cur = await self._run(
            f"UPDATE leave_requests SET {column} = ? WHERE id = ? AND {column} IS NULL"
            " AND step = ? AND state = ?",
            (to_db(now), leave.id, leave.step, leave.state),
        )
        if cur.rowcount == 0:
            return False
        await self._event(f"leave.{what}", now, None, leave.team_id, request_id=leave.id, **data)
        return True

    async def add_leave_message(
        self,
        request_id: int,
        person_id: int | None,
        purpose: str,
        chat_id: int,
        step: int,
        now: datetime,
        *,
        message_id: int | None = None,
        outbox_id: int | None = None,
    ) -> None:
        """A copy of the request: a message Telegram made, or one still in the outbox."""
        await self._run(
            """INSERT OR IGNORE INTO leave_messages
               (request_id, person_id, purpose, chat_id, message_id, outbox_id, step, sent_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (request_id, person_id, purpose, chat_id, message_id, outbox_id, step, to_db(now)),
        )

    async def leave_messages(self, request_id: int) -> list[LeaveMessage]:
        rows = await self._named(
            """SELECT m.request_id, m.person_id, m.purpose, m.chat_id,
                      COALESCE(m.message_id, o.message_id) AS message_id, m.step, m.outbox_id,
                      o.state AS outbox_state
               FROM leave_messages m LEFT JOIN outbox o ON o.id = m.outbox_id
               WHERE m.request_id = ? ORDER BY m.id""",
            (request_id,),
        )
        return [
            LeaveMessage(
                request_id=r["request_id"],
                person_id=r["person_id"],
                purpose=r["purpose"],
                chat_id=r["chat_id"],
                message_id=r["message_id"],
                step=r["step"],
                outbox_id=r["outbox_id"],
            )
            for r in rows
            # A copy that never arrived (refused, or lost in a crash) has nothing to edit.
            if r["message_id"] is not None or r["outbox_state"] in ("due", "sending")
        ]

    async def role_holders(
        self,
        role: str,
        *,
        team_id: int | None = None,
        township_id: int | None = None,
        county_id: int | None = None,
    ) -> list[Person]:
        """Everyone holding ``role`` now at this place."""
        rows = await self._all(
            f"""SELECT DISTINCT {PERSON_COLUMNS}
               FROM roles r JOIN people p ON p.id = r.person_id
               WHERE r.role = ? AND r.revoked_at IS NULL
                 AND r.team_id IS ? AND r.township_id IS ? AND r.county_id IS ?
               ORDER BY p.id""",
            (role, team_id, township_id, county_id),
        )
        return [person_from_row(row) for row in rows]

    async def get_person(self, person_id: int) -> Person:
        row = await self._one(f"SELECT {PERSON_COLUMNS} FROM people p WHERE p.id = ?", (person_id,))
        if row is None:
            raise LookupError(f"no person {person_id}")
        return person_from_row(row)
