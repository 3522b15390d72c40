"""What the timed jobs read and write: the ledger of scheduled messages (planned once, sent
once), reminder settings, who may be written to privately, and an area's records for its
digest read in a few grouped queries rather than team by team."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from storage.models import AreaMember, Delivery, Holder, NewDelivery, Team
from storage.sqlite_base import (
    PERSON_COLUMNS,
    TEAM_SELECT,
    SqliteQueries,
    chunks,
    from_db,
    marks,
    person_from_row,
    team_from_row,
    to_db,
)

_DELIVERY_SELECT = """
    SELECT id, kind, period, recipient, chat_id, person_id, team_id, payload, due_at,
           expires_at, state, parts_sent, uncertain, sent_at, error
    FROM deliveries
"""


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=row[0],
        kind=row[1],
        period=row[2],
        recipient=row[3],
        chat_id=row[4],
        person_id=row[5],
        team_id=row[6],
        payload=json.loads(row[7]),
        due_at=from_db(row[8]),
        expires_at=from_db(row[9]) if row[9] else None,
        state=row[10],
        parts_sent=row[11],
        uncertain=row[12],
        sent_at=from_db(row[13]) if row[13] else None,
        error=row[14],
    )


def _private(row_at: str | None, lost_at: str | None) -> bool:
    return row_at is not None and (lost_at is None or lost_at < row_at)


class ScheduleQueries(SqliteQueries):
    # ------------------------------------------------------------------ the ledger
    async def plan_once(self, kind: str, period: str, scope: str, now: datetime) -> bool:
        """True the first time this slot is planned; False ever after."""
        cur = await self._run(
            "INSERT OR IGNORE INTO delivery_plans (kind, period, scope, planned_at)"
            " VALUES (?, ?, ?, ?)",
            (kind, period, scope, to_db(now)),
        )
        return cur.rowcount == 1

    async def add_deliveries(self, planned: Sequence[NewDelivery], now: datetime) -> int:
        """Plan messages; one already planned for its recipient and period is left alone."""
        added = 0
        for d in planned:
            cur = await self._run(
                """INSERT OR IGNORE INTO deliveries (kind, period, recipient, chat_id,
                       person_id, team_id, payload, due_at, expires_at, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    d.kind,
                    d.period,
                    d.recipient,
                    d.chat_id,
                    d.person_id,
                    d.team_id,
                    json.dumps(d.payload, ensure_ascii=False),
                    to_db(d.due_at),
                    to_db(d.expires_at) if d.expires_at else None,
                    to_db(now),
                    to_db(now),
                ),
            )
            added += cur.rowcount
        return added

    async def due_deliveries(self, now: datetime, limit: int) -> list[Delivery]:
        """Messages to send now, oldest first. Reminders past their use are expired first."""
        await self._run(
            "UPDATE deliveries SET state = 'expired', updated_at = ?"
            " WHERE state = 'due' AND expires_at IS NOT NULL AND expires_at <= ?",
            (to_db(now), to_db(now)),
        )
        rows = await self._all(
            _DELIVERY_SELECT + " WHERE state = 'due' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_delivery(r) for r in rows]

    async def delivery_failed(self, delivery_id: int, error: str, now: datetime) -> None:
        await self._run(
            "UPDATE deliveries SET state = 'failed', error = ?, updated_at = ? WHERE id = ?",
            (error[:500], to_db(now), delivery_id),
        )

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = await self._one(_DELIVERY_SELECT + " WHERE id = ?", (delivery_id,))
        return _delivery(row) if row else None

    async def deliveries(
        self, kind: str | None = None, period: str | None = None
    ) -> list[Delivery]:
        rows = await self._all(
            _DELIVERY_SELECT + " WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR period = ?)"
            " ORDER BY id",
            (kind, kind, period, period),
        )
        return [_delivery(r) for r in rows]

    # ------------------------------------------------------------------ reminder settings
    async def reminder_words(self, scope: str, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {}
        for chunk in chunks(list(ids)):
            rows = await self._all(
                "SELECT scope_id, words FROM reminder_settings"
                f" WHERE scope = ? AND scope_id IN ({marks(len(chunk))})",
                (scope, *chunk),
            )
            found.update({r[0]: json.loads(r[1]) for r in rows})
        return found

    async def set_reminder_words(
        self,
        scope: str,
        scope_id: int,
        words: dict[str, str],
        team_id: int | None,
        now: datetime,
        actor_id: int,
    ) -> None:
        text = json.dumps(words, ensure_ascii=False, sort_keys=True)
        await self._run(
            """INSERT INTO reminder_settings (scope, scope_id, words, updated_at, updated_by)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (scope, scope_id) DO UPDATE SET words = excluded.words,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            (scope, scope_id, text, to_db(now), actor_id),
        )
        await self._event("reminders.set", now, actor_id, team_id, scope=scope, words=words)

    # ------------------------------------------------------------------ private chats
    async def note_private(self, tg_user_id: int, now: datetime) -> bool:
        """The person wrote to the bot privately; True if that is news."""
        cur = await self._run(
            """UPDATE people SET private_at = ? WHERE tg_user_id = ?
               AND (private_at IS NULL OR (private_lost_at IS NOT NULL
                                           AND private_lost_at >= private_at))""",
            (to_db(now), tg_user_id),
        )
        return cur.rowcount == 1

    async def privately_reachable(self, person_ids: Sequence[int]) -> set[int]:
        """Of these people, those the bot may write to privately (they wrote to it, and have
        not blocked it since)."""
        found: set[int] = set()
        for chunk in chunks(list(person_ids)):
            rows = await self._all(
                f"SELECT id, private_at, private_lost_at FROM people"
                f" WHERE id IN ({marks(len(chunk))})",
                chunk,
            )
            found |= {r[0] for r in rows if _private(r[1], r[2])}
        return found

    async def lost_private(self, person_id: int, now: datetime) -> None:
        await self._run(
            "UPDATE people SET private_lost_at = ? WHERE id = ?", (to_db(now), person_id)
        )

    # ------------------------------------------------------------------ an area's records
    async def area_members(self, team_ids: Sequence[int]) -> list[AreaMember]:
        found: list[AreaMember] = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT r.team_id, MIN(r.granted_at), p.private_at, p.private_lost_at,
                           {PERSON_COLUMNS}
                    FROM roles r JOIN people p ON p.id = r.person_id
                    WHERE r.role = 'member' AND r.revoked_at IS NULL
                      AND r.team_id IN ({marks(len(chunk))})
                    GROUP BY r.team_id, p.id ORDER BY r.team_id, MIN(r.granted_at), p.id""",
                chunk,
            )
            found += [
                AreaMember(r[0], person_from_row(r[4:]), from_db(r[1]), _private(r[2], r[3]))
                for r in rows
            ]
        return found

    async def area_checkins(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[tuple[int, int, date, str, str]]:
        """Counted check-ins as (team, person, day, window, source)."""
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT team_id, person_id, local_date, window_name, source FROM checkins
                    WHERE outcome = 'checkin' AND annulled_at IS NULL
                      AND local_date BETWEEN ? AND ?
                      AND team_id IN ({marks(len(chunk))})""",
                (first.isoformat(), last.isoformat(), *chunk),
            )
            found += [(r[0], r[1], date.fromisoformat(r[2]), r[3], r[4]) for r in rows]
        return found

    async def area_exceptions(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[tuple[int, int, str, int]]:
        """Per member, the field and made-up check-ins that count and the annulled ones, as
        (team, person, ``field``, ``made_up`` or ``annulled``, how many)."""
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT team_id, person_id,
                           CASE WHEN annulled_at IS NOT NULL THEN 'annulled'
                                WHEN source = 'field' THEN 'field' ELSE 'made_up' END,
                           COUNT(*)
                    FROM checkins
                    WHERE outcome = 'checkin'
                      AND (source IN ('makeup', 'field') OR annulled_at IS NOT NULL)
                      AND local_date BETWEEN ? AND ? AND team_id IN ({marks(len(chunk))})
                    GROUP BY 1, 2, 3""",
                (first.isoformat(), last.isoformat(), *chunk),
            )
            found += [(r[0], r[1], r[2], r[3]) for r in rows]
        return found

    async def area_log_days(
        self, team_ids: Sequence[int], first: date, last: date
    ) -> list[tuple[int, int, date]]:
        """The days each member wrote at least one log, as (team, person, day)."""
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT DISTINCT team_id, person_id, local_date FROM work_logs
                    WHERE local_date BETWEEN ? AND ? AND team_id IN ({marks(len(chunk))})""",
                (first.isoformat(), last.isoformat(), *chunk),
            )
            found += [(r[0], r[1], date.fromisoformat(r[2])) for r in rows]
        return found

    async def area_verdicts(
        self, team_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[tuple[int, int, str, int]]:
        """Visits whose newest verdict was given in [since, until), as (team, person,
        verdict, count)."""
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                # From the verdicts of the period (few), not from every visit ever logged: a
                # verdict counts when it is its visit's newest.
                f"""SELECT l.team_id, l.person_id, m.verdict, COUNT(*) FROM audit_marks m
                    JOIN visits v ON v.id = m.visit_id
                    JOIN work_logs l ON l.id = v.log_id
                    WHERE m.marked_at >= ? AND m.marked_at < ?
                      AND m.id = (SELECT MAX(id) FROM audit_marks WHERE visit_id = m.visit_id)
                      AND l.team_id IN ({marks(len(chunk))})
                    GROUP BY l.team_id, l.person_id, m.verdict""",
                (to_db(since), to_db(until), *chunk),
            )
            found += [(r[0], r[1], r[2], r[3]) for r in rows]
        return found

    async def all_teams(self) -> list[Team]:
        rows = await self._all(f"{TEAM_SELECT} ORDER BY t.id")
        return [team_from_row(r) for r in rows]

    async def holders(self, roles: Sequence[str]) -> list[Holder]:
        """Everyone holding one of these roles now, with its place."""
        rows = await self._all(
            f"""SELECT DISTINCT r.role, r.team_id, r.township_id, r.county_id,
                       p.private_at, p.private_lost_at, r.unit_id, {PERSON_COLUMNS}
                FROM roles r JOIN people p ON p.id = r.person_id
                WHERE r.revoked_at IS NULL AND r.role IN ({marks(len(roles))})
                ORDER BY r.role, p.id""",
            tuple(roles),
        )
        return [
            Holder(r[0], person_from_row(r[7:]), r[1], r[2], r[3], _private(r[4], r[5]), r[6])
            for r in rows
        ]
