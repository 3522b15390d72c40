"""Spot checks: the checks, the members picked and their answers, and the county's planned
checks. A result is written once; a late answer goes beside it, never over it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from storage.models import SpotCheck, SpotPick, SpotPlan
from storage.sqlite_base import (
    PERSON_COLUMNS,
    SqliteQueries,
    chunks,
    from_db,
    marks,
    person_from_row,
    to_db,
)

_CHECK_SELECT = """
    SELECT id, area, area_name, ordered_by, plan_id, asked_at, deadline, state, closed_at
    FROM spot_checks
"""
_PICK_SELECT = f"""
    SELECT s.id, s.check_id, s.team_id, s.local_date, s.named, s.chat_id, s.result, s.answer,
           s.answered_at, s.late, s.site_name, s.distance_m, s.refused, {PERSON_COLUMNS}
    FROM spot_picks s JOIN people p ON p.id = s.person_id
"""


def _check(row: Sequence[Any]) -> SpotCheck:
    return SpotCheck(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        from_db(row[5]),
        from_db(row[6]),
        row[7],
        from_db(row[8]) if row[8] else None,
    )


def _pick(row: Sequence[Any]) -> SpotPick:
    return SpotPick(
        id=row[0],
        check_id=row[1],
        person=person_from_row(row[13:]),
        team_id=row[2],
        local_date=date.fromisoformat(row[3]),
        named=bool(row[4]),
        chat_id=row[5],
        result=row[6],
        answer=row[7],
        answered_at=from_db(row[8]) if row[8] else None,
        late=bool(row[9]),
        site_name=row[10],
        distance_m=row[11],
        refused=tuple(json.loads(row[12])),
    )


class SpotQueries(SqliteQueries):
    async def create_spot_check(
        self,
        area: str,
        area_name: str,
        ordered_by: int | None,
        plan_id: int | None,
        deadline: datetime,
        now: datetime,
    ) -> SpotCheck:
        cur = await self._run(
            """INSERT INTO spot_checks (area, area_name, ordered_by, plan_id, asked_at, deadline)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (area, area_name, ordered_by, plan_id, to_db(now), to_db(deadline)),
        )
        check_id = cur.lastrowid
        assert check_id is not None
        await self._event(
            "spot.ordered",
            now,
            ordered_by,
            check_id=check_id,
            area=area,
            deadline=to_db(deadline),
            plan_id=plan_id,
        )
        found = await self.get_spot_check(check_id)
        assert found is not None
        return found

    async def add_spot_pick(
        self,
        check_id: int,
        person_id: int,
        team_id: int,
        local_date: date,
        named: bool,
        chat_id: int,
        now: datetime,
        actor_id: int | None,
    ) -> None:
        await self._run(
            """INSERT INTO spot_picks (check_id, person_id, team_id, local_date, named, chat_id)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (check_id, person_id, team_id, local_date.isoformat(), int(named), chat_id),
        )
        await self._event(
            "spot.picked",
            now,
            actor_id,
            team_id,
            check_id=check_id,
            person_id=person_id,
            named=named,
            chat_id=chat_id,
        )

    async def get_spot_check(self, check_id: int) -> SpotCheck | None:
        row = await self._one(_CHECK_SELECT + " WHERE id = ?", (check_id,))
        return _check(row) if row else None

    async def spot_picks(self, check_id: int) -> list[SpotPick]:
        rows = await self._all(_PICK_SELECT + " WHERE s.check_id = ? ORDER BY s.id", (check_id,))
        return [_pick(r) for r in rows]

    async def open_spot_pick(self, person_id: int) -> tuple[SpotPick, SpotCheck] | None:
        """The member's newest pick without an answer: pending, or closed as no answer (the
        service decides whether a late answer is still taken)."""
        row = await self._one(
            _PICK_SELECT
            + """ JOIN spot_checks c ON c.id = s.check_id
               WHERE s.person_id = ? AND s.answer IS NULL
                 AND s.result IN ('pending', 'no_answer')
               ORDER BY c.asked_at DESC, s.id DESC LIMIT 1""",
            (person_id,),
        )
        if row is None:
            return None
        pick = _pick(row)
        check = await self.get_spot_check(pick.check_id)
        assert check is not None
        return pick, check

    async def answer_spot_pick(
        self,
        pick: SpotPick,
        answer: str,
        result: str,
        sent_at: datetime,
        late: bool,
        checkin_id: int | None,
        site_name: str | None,
        distance_m: float | None,
        now: datetime,
    ) -> bool:
        """The first answer that could be judged; False if one was taken meanwhile."""
        cur = await self._run(
            """UPDATE spot_picks SET answer = ?, result = ?, answered_at = ?, late = ?,
                   checkin_id = ?, site_name = ?, distance_m = ?
               WHERE id = ? AND answer IS NULL""",
            (
                answer,
                result,
                to_db(sent_at),
                int(late),
                checkin_id,
                site_name,
                distance_m,
                pick.id,
            ),
        )
        if cur.rowcount != 1:
            return False
        await self._pick_event(
            "spot.answered",
            pick,
            now,
            answer=answer,
            result=result,
            was=pick.result,
            late=late,
            distance_m=distance_m,
            sent_at=to_db(sent_at),
        )
        return True

    async def refuse_spot_answer(
        self, pick: SpotPick, reason: str, checkin_id: int | None, now: datetime
    ) -> None:
        await self._run(
            "UPDATE spot_picks SET refused = ? WHERE id = ?",
            (json.dumps([*pick.refused, reason]), pick.id),
        )
        await self._pick_event("spot.refused", pick, now, reason=reason, checkin_id=checkin_id)

    async def _pick_event(self, kind: str, pick: SpotPick, now: datetime, **data: Any) -> None:
        """Something the member did to their pick: they are the actor."""
        await self._event(
            kind, now, pick.person.id, pick.team_id, check_id=pick.check_id, pick_id=pick.id, **data
        )

    async def close_spot_check(
        self, check_id: int, unreached: Sequence[int], now: datetime
    ) -> bool:
        """Close once: the picks still pending become no answer (or unreached, for those the
        question never reached). False if it was closed already."""
        cur = await self._run(
            "UPDATE spot_checks SET state = 'closed', closed_at = ?"
            " WHERE id = ? AND state = 'open'",
            (to_db(now), check_id),
        )
        if cur.rowcount != 1:
            return False
        for pick in await self.spot_picks(check_id):
            if pick.result != "pending":
                continue
            result = "unreached" if pick.id in unreached else "no_answer"
            await self._run("UPDATE spot_picks SET result = ? WHERE id = ?", (result, pick.id))
            await self._event(
                f"spot.{result}",
                now,
                None,
                pick.team_id,
                check_id=check_id,
                pick_id=pick.id,
                person_id=pick.person.id,
            )
        await self._event("spot.closed", now, None, check_id=check_id)
        return True

    async def due_spot_checks(self, now: datetime) -> list[SpotCheck]:
        rows = await self._all(
            _CHECK_SELECT + " WHERE state = 'open' AND deadline <= ? ORDER BY deadline, id",
            (to_db(now),),
        )
        return [_check(r) for r in rows]

    async def spot_pick_counts(self, person_ids: Sequence[int], since: date) -> dict[int, int]:
        """How often each was picked from ``since`` on: the rotation."""
        found: dict[int, int] = {}
        for chunk in chunks(list(person_ids)):
            rows = await self._all(
                f"""SELECT person_id, COUNT(*) FROM spot_picks
                    WHERE local_date >= ? AND person_id IN ({marks(len(chunk))})
                    GROUP BY person_id""",
                (since.isoformat(), *chunk),
            )
            found.update({r[0]: r[1] for r in rows})
        return found

    async def area_spot_picks(
        self, team_ids: Sequence[int], first: date, last: date, person_id: int | None = None
    ) -> list[SpotPick]:
        found = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                _PICK_SELECT
                + f""" WHERE s.local_date BETWEEN ? AND ? AND s.team_id IN ({marks(len(chunk))})
                       AND (? IS NULL OR s.person_id = ?) ORDER BY s.local_date, s.id""",
                (first.isoformat(), last.isoformat(), *chunk, person_id, person_id),
            )
            found += [_pick(r) for r in rows]
        return found

    async def teams_with_sites(self, team_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"SELECT DISTINCT team_id FROM sites WHERE team_id IN ({marks(len(chunk))})",
                chunk,
            )
            found.update(r[0] for r in rows)
        return found

    # ------------------------------------------------------------------ the county's schedule
    async def add_spot_plans(
        self, township_id: int, week: str, moments: Sequence[datetime], minutes: int, now: datetime
    ) -> None:
        for moment in moments:
            await self._run(
                """INSERT INTO spot_plans (township_id, week, due_at, minutes, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (township_id, week, to_db(moment), minutes, to_db(now)),
            )
        await self._event(
            "spot.scheduled",
            now,
            None,
            township_id=township_id,
            week=week,
            count=len(moments),
        )

    async def due_spot_plans(self, now: datetime) -> list[SpotPlan]:
        rows = await self._all(
            """SELECT id, township_id, week, due_at, count, minutes FROM spot_plans
               WHERE state = 'planned' AND due_at <= ? ORDER BY due_at, id""",
            (to_db(now),),
        )
        return [SpotPlan(r[0], r[1], r[2], from_db(r[3]), r[4], r[5]) for r in rows]

    async def spot_plans(self, township_id: int | None = None) -> list[SpotPlan]:
        rows = await self._all(
            """SELECT id, township_id, week, due_at, count, minutes FROM spot_plans
               WHERE ? IS NULL OR township_id = ? ORDER BY due_at, id""",
            (township_id, township_id),
        )
        return [SpotPlan(r[0], r[1], r[2], from_db(r[3]), r[4], r[5]) for r in rows]

    async def settle_spot_plan(self, plan: SpotPlan, state: str, now: datetime) -> bool:
        """Claim a due plan once: 'done' when its check is made, 'skipped' when too late."""
        cur = await self._run(
            "UPDATE spot_plans SET state = ? WHERE id = ? AND state = 'planned'",
            (state, plan.id),
        )
        if cur.rowcount == 1 and state == "skipped":
            await self._event("spot.skipped", now, None, plan_id=plan.id, due_at=to_db(plan.due_at))
        return cur.rowcount == 1
