"""Check-in attempts and attendance policy. Attempts are appended, never updated or deleted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from storage.models import Checkin, Team
from storage.sqlite_base import TEAM_SELECT, SqliteQueries, from_db, team_from_row, to_db

_COLUMNS = (
    "person_id, team_id, chat_id, message_id, update_id, source, outcome, reason, flags,"
    " window_name, local_date, latitude, longitude, accuracy_m, live, forwarded, venue,"
    " site_id, distance_m, sent_at, received_at"
)
_SELECT = f"""
    SELECT {", ".join("c." + c.strip() for c in _COLUMNS.split(","))}, c.id, s.name, s.radius_m,
           c.annulled_at, c.annulled_by, c.annul_note
    FROM checkins c LEFT JOIN sites s ON s.id = c.site_id
"""


def _checkin(row: Iterable[Any]) -> Checkin:
    r = list(row)
    return Checkin(
        person_id=r[0],
        team_id=r[1],
        chat_id=r[2],
        message_id=r[3],
        update_id=r[4],
        source=r[5],
        outcome=r[6],
        reason=r[7],
        flags=tuple(f for f in r[8].split(",") if f),
        window=r[9],
        local_date=date.fromisoformat(r[10]),
        latitude=r[11],
        longitude=r[12],
        accuracy_m=r[13],
        live=bool(r[14]),
        forwarded=bool(r[15]),
        venue=bool(r[16]),
        site_id=r[17],
        distance_m=r[18],
        sent_at=from_db(r[19]),
        received_at=from_db(r[20]),
        id=r[21],
        site_name=r[22],
        site_radius_m=r[23],
        annulled_at=from_db(r[24]) if r[24] else None,
        annulled_by=r[25],
        annul_note=r[26],
    )


class CheckinQueries(SqliteQueries):
    async def record_checkin(self, c: Checkin) -> Checkin | None:
        """Store an attempt; None when this message (or this live update) is already stored."""
        placeholders = ", ".join("?" * len(_COLUMNS.split(",")))
        try:
            cur = await self._run(
                f"INSERT INTO checkins ({_COLUMNS}) VALUES ({placeholders})",
                (
                    c.person_id,
                    c.team_id,
                    c.chat_id,
                    c.message_id,
                    c.update_id,
                    c.source,
                    c.outcome,
                    c.reason,
                    ",".join(c.flags),
                    c.window,
                    c.local_date.isoformat(),
                    c.latitude,
                    c.longitude,
                    c.accuracy_m,
                    int(c.live),
                    int(c.forwarded),
                    int(c.venue),
                    c.site_id,
                    c.distance_m,
                    to_db(c.sent_at),
                    to_db(c.received_at),
                ),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            return None
        assert cur.lastrowid is not None
        row = await self._one(_SELECT + " WHERE c.id = ?", (cur.lastrowid,))
        assert row is not None
        return _checkin(row)

    async def checkin_of_message(self, chat_id: int, message_id: int) -> Checkin | None:
        row = await self._one(
            _SELECT + " WHERE c.chat_id = ? AND c.message_id = ? AND c.source = 'message'",
            (chat_id, message_id),
        )
        return _checkin(row) if row else None

    async def set_live_until(self, checkin_id: int, until: datetime) -> None:
        await self._run(
            "UPDATE checkins SET live_until = ? WHERE id = ?", (to_db(until), checkin_id)
        )

    async def live_shares(self, team_id: int, now: datetime) -> list[Checkin]:
        """The first message of each live location of the team still being shared."""
        rows = await self._all(
            _SELECT + " WHERE c.team_id = ? AND c.source = 'message'"
            " AND c.live_until IS NOT NULL AND c.live_until > ? ORDER BY c.id",
            (team_id, to_db(now)),
        )
        return [_checkin(r) for r in rows]

    async def last_point(self, chat_id: int, message_id: int) -> Checkin | None:
        """The latest stored point of a live location (its first message or an update)."""
        row = await self._one(
            _SELECT + " WHERE c.chat_id = ? AND c.message_id = ? ORDER BY c.sent_at DESC, c.id"
            " DESC LIMIT 1",
            (chat_id, message_id),
        )
        return _checkin(row) if row else None

    async def window_checkin(
        self, person_id: int, team_id: int, day: date, window: str
    ) -> Checkin | None:
        row = await self._one(
            _SELECT
            + """ WHERE c.person_id = ? AND c.team_id = ? AND c.local_date = ?
                          AND c.window_name = ? AND c.outcome = 'checkin'
                          AND c.annulled_at IS NULL""",
            (person_id, team_id, day.isoformat(), window),
        )
        return _checkin(row) if row else None

    async def team_checkins(
        self,
        team_id: int,
        first: date,
        last: date,
        *,
        person_id: int | None = None,
        outcomes: tuple[str, ...] = ("checkin",),
    ) -> list[Checkin]:
        """Attempts of a team (or one of its members) on local days ``first``..``last``."""
        sql = _SELECT + " WHERE c.team_id = ? AND c.local_date BETWEEN ? AND ?"
        params: list[Any] = [team_id, first.isoformat(), last.isoformat()]
        if person_id is not None:
            sql += " AND c.person_id = ?"
            params.append(person_id)
        sql += f" AND c.outcome IN ({', '.join('?' * len(outcomes))})"
        params.extend(outcomes)
        rows = await self._all(sql + " ORDER BY c.sent_at, c.id", params)
        return [_checkin(row) for row in rows]

    async def export_checkins(
        self, first: date, last: date, team_id: int | None = None
    ) -> list[Checkin]:
        """Every attempt on local days ``first``..``last`` (of one team, or all), in order."""
        sql = _SELECT + " WHERE c.local_date BETWEEN ? AND ?"
        params: list[Any] = [first.isoformat(), last.isoformat()]
        if team_id is not None:
            sql += " AND c.team_id = ?"
            params.append(team_id)
        rows = await self._all(sql + " ORDER BY c.received_at, c.id", params)
        return [_checkin(row) for row in rows]

    async def member_teams(self, person_id: int) -> list[Team]:
        rows = await self._all(
            TEAM_SELECT
            + """ JOIN roles r ON r.team_id = t.id
               WHERE r.person_id = ? AND r.role = 'member' AND r.revoked_at IS NULL
               ORDER BY r.id""",
            (person_id,),
        )
        return [team_from_row(row) for row in rows]

    async def member_since(self, person_id: int, team_id: int) -> datetime | None:
        """When the current membership began (an earlier one that ended does not count)."""
        row = await self._one(
            "SELECT granted_at FROM roles WHERE person_id = ? AND team_id = ? AND role = 'member'"
            " AND revoked_at IS NULL",
            (person_id, team_id),
        )
        return from_db(row[0]) if row else None

    # ------------------------------------------------------------------ policy
    async def get_policy(self, county_id: int | None) -> str | None:
        """The county's policy as stored, or the deployment default for ``None``."""
        if county_id is None:
            row = await self._one("SELECT value FROM meta WHERE key = 'policy.default'")
        else:
            row = await self._one("SELECT policy FROM counties WHERE id = ?", (county_id,))
        return row[0] if row else None

    async def set_policy(
        self, county_id: int | None, policy: str, now: datetime, actor_id: int | None
    ) -> None:
        old = await self.get_policy(county_id)
        if county_id is None:
            await self._run(
                "INSERT INTO meta (key, value) VALUES ('policy.default', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (policy,),
            )
        else:
            await self._run("UPDATE counties SET policy = ? WHERE id = ?", (policy, county_id))
        await self._event("policy.set", now, actor_id, county_id=county_id, old=old, new=policy)

    # ------------------------------------------------------------------ corrections
    async def get_checkin(self, checkin_id: int) -> Checkin | None:
        row = await self._one(_SELECT + " WHERE c.id = ?", (checkin_id,))
        return _checkin(row) if row else None

    async def annul_checkin(
        self, checkin: Checkin, actor_id: int, note: str, now: datetime
    ) -> bool:
        """Mark a counted check-in found false; it stays, and no longer counts."""
        cur = await self._run(
            """UPDATE checkins SET annulled_at = ?, annulled_by = ?, annul_note = ?
               WHERE id = ? AND outcome = 'checkin' AND annulled_at IS NULL""",
            (to_db(now), actor_id, note, checkin.id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "checkin.annulled", now, actor_id, checkin.team_id, checkin_id=checkin.id,
            person_id=checkin.person_id, day=checkin.local_date.isoformat(),
            window=checkin.window, note=note,
        )  # fmt: skip
        return True

    async def restore_checkin(
        self, checkin: Checkin, actor_id: int, note: str, now: datetime
    ) -> bool:
        """Undo an annulment; the event keeps who annulled it, when and why."""
        try:
            cur = await self._run(
                """UPDATE checkins SET annulled_at = NULL, annulled_by = NULL, annul_note = NULL
                   WHERE id = ? AND annulled_at IS NOT NULL""",
                (checkin.id,),
            )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            return False  # the window was counted again meanwhile (a make-up, say)
        if cur.rowcount == 0:
            return False
        await self._event(
            "checkin.restored", now, actor_id, checkin.team_id, checkin_id=checkin.id,
            person_id=checkin.person_id,
            annulled_at=to_db(checkin.annulled_at) if checkin.annulled_at else None,
            annulled_by=checkin.annulled_by, annul_note=checkin.annul_note, note=note,
        )  # fmt: skip
        return True
