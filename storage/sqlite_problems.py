"""The problem list: departments, problems with their photos and households, and every step
of their lives (each also an audit event)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from storage.models import Department, Person, ProblemPhoto, ProblemStep, VillageProblem
from storage.sqlite_base import PERSON_COLUMNS, SqliteQueries, chunks, from_db, marks, to_db

_COLUMNS = (
    "id, team_id, person_id, chat_id, message_id, text, villager, category, colour, colour_by,"
    " level, department_id, accepted_at, state, raised_at, level_since, due_at, overdue_at,"
    " resolved_at, resolved_by, resolution, resolution_photo, closed_at, closed_by, revisions"
)
_TIMES = (
    "accepted_at",
    "raised_at",
    "level_since",
    "due_at",
    "overdue_at",
    "resolved_at",
    "closed_at",
)
# What a step may change on the problem itself; anything else is a programming error.
_CHANGEABLE = {
    "text",
    "villager",
    "category",
    "colour",
    "colour_by",
    "level",
    "department_id",
    "accepted_at",
    "state",
    "level_since",
    "due_at",
    "overdue_at",
    "resolved_at",
    "resolved_by",
    "resolution",
    "resolution_photo",
    "closed_at",
    "closed_by",
    "revisions",
}


def _problem(row: dict[str, Any]) -> VillageProblem:
    values: dict[str, Any] = {k: (from_db(v) if k in _TIMES and v else v) for k, v in row.items()}
    return VillageProblem(**values)


class ProblemQueries(SqliteQueries):
    # ------------------------------------------------------------------ departments
    async def department(self, county_id: int, name: str) -> Department | None:
        row = await self._one(
            "SELECT id, county_id, name FROM departments WHERE county_id = ? AND name = ?",
            (county_id, name),
        )
        return Department(*row) if row else None

    async def get_department(self, department_id: int) -> Department | None:
        row = await self._one(
            "SELECT id, county_id, name FROM departments WHERE id = ?", (department_id,)
        )
        return Department(*row) if row else None

    async def create_department(self, county_id: int, name: str, now: datetime) -> Department:
        await self._run(
            "INSERT OR IGNORE INTO departments (county_id, name, created_at) VALUES (?, ?, ?)",
            (county_id, name, to_db(now)),
        )
        found = await self.department(county_id, name)
        assert found is not None
        await self._event("department.created", now, None, county_id=county_id, name=name)
        return found

    async def county_departments(self, county_id: int) -> list[Department]:
        rows = await self._all(
            "SELECT id, county_id, name FROM departments WHERE county_id = ? ORDER BY name",
            (county_id,),
        )
        return [Department(*r) for r in rows]

    async def department_contacts(self, department_id: int) -> list[Person]:
        rows = await self._all(
            f"""SELECT DISTINCT {PERSON_COLUMNS} FROM roles r JOIN people p ON p.id = r.person_id
                WHERE r.department_id = ? AND r.role = 'contact' AND r.revoked_at IS NULL
                ORDER BY p.id""",
            (department_id,),
        )
        return [Person(*r) for r in rows]

    # ------------------------------------------------------------------ problems
    async def create_problem(
        self,
        team_id: int,
        person_id: int,
        chat_id: int,
        message_id: int,
        media_group_id: str | None,
        text: str,
        villager: str | None,
        category: str,
        colour: str,
        raised_at: datetime,
        due: datetime,
        now: datetime,
    ) -> VillageProblem | None:
        """A new problem at the team's level; None when this message is one already."""
        cur = await self._run(
            """INSERT INTO problems (team_id, person_id, chat_id, message_id, media_group_id,
                   text, villager, category, colour, level, raised_at, level_since, due_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'team', ?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (team_id, person_id, chat_id, message_id, media_group_id, text, villager, category,
             colour, to_db(raised_at), to_db(raised_at), to_db(due)),
        )  # fmt: skip
        if cur.rowcount == 0:
            return None
        assert cur.lastrowid is not None
        await self.add_problem_step(
            cur.lastrowid, team_id, "raised", person_id, now, after=text, note=villager
        )
        return await self.get_problem(cur.lastrowid)

    async def _problems(self, where: str, params: Sequence[Any]) -> list[VillageProblem]:
        rows = await self._named(f"SELECT {_COLUMNS} FROM problems WHERE {where}", params)
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        photos: dict[int, list[ProblemPhoto]] = {i: [] for i in ids}
        households: dict[int, list[str]] = {i: [] for i in ids}
        for chunk in chunks(ids):
            for problem_id, file_id, unique, message_id in await self._all(
                f"""SELECT problem_id, file_id, file_unique_id, message_id FROM problem_photos
                    WHERE problem_id IN ({marks(len(chunk))}) ORDER BY id""",
                chunk,
            ):
                photos[problem_id].append(ProblemPhoto(file_id, unique, message_id))
            for problem_id, name in await self._all(
                f"""SELECT ph.problem_id, h.name FROM problem_households ph
                    JOIN households h ON h.id = ph.household_id
                    WHERE ph.problem_id IN ({marks(len(chunk))}) ORDER BY h.name""",
                chunk,
            ):
                households[problem_id].append(name)
        return [
            replace(p, photos=tuple(photos[p.id]), households=tuple(households[p.id]))
            for p in map(_problem, rows)
        ]

    async def get_problem(self, problem_id: int) -> VillageProblem | None:
        found = await self._problems("id = ?", (problem_id,))
        return found[0] if found else None

    async def problem_of_message(self, chat_id: int, message_id: int) -> VillageProblem | None:
        found = await self._problems("chat_id = ? AND message_id = ?", (chat_id, message_id))
        return found[0] if found else None

    async def problem_of_album(self, chat_id: int, media_group_id: str) -> VillageProblem | None:
        found = await self._problems(
            "chat_id = ? AND media_group_id = ? ORDER BY id LIMIT 1", (chat_id, media_group_id)
        )
        return found[0] if found else None

    async def team_problems(
        self, team_ids: Sequence[int], since: datetime | None = None
    ) -> list[VillageProblem]:
        """The teams' problems not yet closed, and (``since``) those raised or closed since."""
        found: list[VillageProblem] = []
        for chunk in chunks(list(team_ids)):
            where = f"team_id IN ({marks(len(chunk))}) AND (state IN ('open', 'resolved')"
            params: list[Any] = list(chunk)
            if since is not None:
                where += " OR closed_at >= ? OR raised_at >= ?"
                params += [to_db(since), to_db(since)]
            found += await self._problems(where + ") ORDER BY id", params)
        return found

    async def department_problems(self, department_id: int) -> list[VillageProblem]:
        return await self._problems(
            "department_id = ? AND state <> 'closed' ORDER BY id", (department_id,)
        )

    async def due_problems(self, now: datetime) -> list[VillageProblem]:
        """Open problems past their deadline whose passing is not yet acted on."""
        return await self._problems(
            "state = 'open' AND overdue_at IS NULL AND due_at <= ? ORDER BY due_at",
            (to_db(now),),
        )

    async def change_problem(
        self, problem: VillageProblem, changes: dict[str, Any], *, expect_state: str | None = None
    ) -> bool:
        """Change a problem as it was read: False when another change came first (a double
        tap, two deciders at once), so a step is never taken twice."""
        unknown = set(changes) - _CHANGEABLE
        assert not unknown, unknown
        values = [to_db(v) if isinstance(v, datetime) else v for v in changes.values()]
        sets = ", ".join(f"{k} = ?" for k in changes)
        cur = await self._run(
            f"UPDATE problems SET {sets} WHERE id = ? AND state = ? AND level = ?"
            " AND revisions = ? AND colour = ?",
            (*values, problem.id, expect_state or problem.state, problem.level,
             problem.revisions, problem.colour),
        )  # fmt: skip
        return cur.rowcount == 1

    async def add_problem_photo(
        self, problem: VillageProblem, file_id: str, unique_id: str, message_id: int, now: datetime
    ) -> bool:
        cur = await self._run(
            """INSERT OR IGNORE INTO problem_photos
                   (problem_id, file_id, file_unique_id, message_id, added_at)
               VALUES (?, ?, ?, ?, ?)""",
            (problem.id, file_id, unique_id, message_id, to_db(now)),
        )
        if cur.rowcount:
            await self._event(
                "problem.photo", now, problem.person_id, problem.team_id, problem_id=problem.id
            )
        return cur.rowcount == 1

    async def set_problem_households(self, problem_id: int, household_ids: Sequence[int]) -> None:
        await self._run("DELETE FROM problem_households WHERE problem_id = ?", (problem_id,))
        for household_id in household_ids:
            await self._run(
                "INSERT OR IGNORE INTO problem_households (problem_id, household_id) VALUES (?, ?)",
                (problem_id, household_id),
            )

    # ------------------------------------------------------------------ its history
    async def add_problem_step(
        self,
        problem_id: int,
        team_id: int,
        kind: str,
        actor_id: int | None,
        now: datetime,
        *,
        before: str | None = None,
        after: str | None = None,
        note: str | None = None,
        photo: str | None = None,
    ) -> None:
        await self._run(
            """INSERT INTO problem_steps (problem_id, at, actor_id, kind, before, after, note,
                   photo) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (problem_id, to_db(now), actor_id, kind, before, after, note, photo),
        )
        await self._event(
            f"problem.{kind}", now, actor_id, team_id, problem_id=problem_id, before=before,
            after=after, note=note,
        )  # fmt: skip

    async def problem_steps(self, problem_id: int) -> list[ProblemStep]:
        rows = await self._all(
            """SELECT id, problem_id, at, actor_id, kind, before, after, note, photo
               FROM problem_steps WHERE problem_id = ? ORDER BY id""",
            (problem_id,),
        )
        return [ProblemStep(r[0], r[1], from_db(r[2]), *r[3:]) for r in rows]
