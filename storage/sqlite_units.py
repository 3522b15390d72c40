"""Backing units and the members they sent, recalls with their notes, assessment grades,
information briefs, and the members a team had who have since left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from storage.models import (
    Assessment,
    BackingUnit,
    Brief,
    FormerMember,
    Person,
    Recall,
    RecallNote,
)
from storage.sqlite_base import (
    PERSON_COLUMNS,
    SqliteQueries,
    chunks,
    from_db,
    marks,
    person_from_row,
    to_db,
)

_RECALL = (
    "id, person_id, team_id, unit_id, reason, ordered_by, ordered_at, state, effective_day,"
    " due_at, flagged_day, closed_at, replacement_id"
)
_RECALL_CHANGEABLE = {"state", "effective_day", "due_at", "flagged_day", "closed_at",
                      "replacement_id"}  # fmt: skip


def _recall(r: dict[str, Any]) -> Recall:
    return Recall(
        id=r["id"],
        person_id=r["person_id"],
        team_id=r["team_id"],
        unit_id=r["unit_id"],
        reason=r["reason"],
        ordered_by=r["ordered_by"],
        ordered_at=from_db(r["ordered_at"]),
        state=r["state"],
        effective_day=date.fromisoformat(r["effective_day"]) if r["effective_day"] else None,
        due_at=from_db(r["due_at"]) if r["due_at"] else None,
        flagged_day=date.fromisoformat(r["flagged_day"]) if r["flagged_day"] else None,
        closed_at=from_db(r["closed_at"]) if r["closed_at"] else None,
        replacement_id=r["replacement_id"],
    )


def _brief(r: Sequence[Any]) -> Brief:
    return Brief(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], date.fromisoformat(r[8]), from_db(r[9])
    )


_BRIEF = (
    "id, team_id, person_id, chat_id, message_id, text, file_id, file_kind, local_date, sent_at"
)


class UnitQueries(SqliteQueries):
    # ------------------------------------------------------------------ units
    async def unit(self, county_id: int, name: str) -> BackingUnit | None:
        row = await self._one(
            "SELECT id, county_id, name FROM units WHERE county_id = ? AND name = ?",
            (county_id, name),
        )
        return BackingUnit(*row) if row else None

    async def get_unit(self, unit_id: int) -> BackingUnit | None:
        row = await self._one("SELECT id, county_id, name FROM units WHERE id = ?", (unit_id,))
        return BackingUnit(*row) if row else None

    async def create_unit(self, county_id: int, name: str, now: datetime) -> BackingUnit:
        await self._run(
            "INSERT OR IGNORE INTO units (county_id, name, created_at) VALUES (?, ?, ?)",
            (county_id, name, to_db(now)),
        )
        found = await self.unit(county_id, name)
        assert found is not None
        await self._event("unit.created", now, None, county_id=county_id, name=name)
        return found

    async def county_units(self, county_id: int) -> list[BackingUnit]:
        rows = await self._all(
            "SELECT id, county_id, name FROM units WHERE county_id = ? ORDER BY name",
            (county_id,),
        )
        return [BackingUnit(*r) for r in rows]

    async def unit_contacts(self, unit_id: int) -> list[Person]:
        rows = await self._all(
            f"""SELECT DISTINCT {PERSON_COLUMNS} FROM roles r JOIN people p ON p.id = r.person_id
                WHERE r.unit_id = ? AND r.role = 'unit' AND r.revoked_at IS NULL
                ORDER BY p.id""",
            (unit_id,),
        )
        return [person_from_row(r) for r in rows]

    async def member_units(self, person_ids: Sequence[int]) -> dict[int, BackingUnit]:
        """The unit that sent each of these people, now."""
        found: dict[int, BackingUnit] = {}
        for chunk in chunks(list(person_ids)):
            rows = await self._all(
                f"""SELECT m.person_id, u.id, u.county_id, u.name FROM member_units m
                    JOIN units u ON u.id = m.unit_id
                    WHERE m.until IS NULL AND m.person_id IN ({marks(len(chunk))})""",
                chunk,
            )
            found.update({r[0]: BackingUnit(r[1], r[2], r[3]) for r in rows})
        return found

    async def set_member_unit(
        self, person_id: int, unit_id: int, now: datetime, actor_id: int | None
    ) -> bool:
        """The unit that sent this person from now on; False when it already is."""
        current = await self.member_units([person_id])
        if person_id in current and current[person_id].id == unit_id:
            return False
        await self._run(
            "UPDATE member_units SET until = ? WHERE person_id = ? AND until IS NULL",
            (to_db(now), person_id),
        )
        await self._run(
            "INSERT INTO member_units (person_id, unit_id, since, set_by) VALUES (?, ?, ?, ?)",
            (person_id, unit_id, to_db(now), actor_id),
        )
        await self._event("unit.member", now, actor_id, person_id=person_id, unit_id=unit_id)
        return True

    async def unit_people(self, unit_id: int) -> list[int]:
        """Everyone this unit has sent and not moved to another unit, past members too."""
        rows = await self._all(
            "SELECT person_id FROM member_units WHERE unit_id = ? AND until IS NULL",
            (unit_id,),
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ members who left
    async def former_members(self, team_ids: Sequence[int], since: datetime) -> list[FormerMember]:
        """Who was a member of these teams and stopped on or after ``since``."""
        found: list[FormerMember] = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT r.team_id, r.granted_at, r.revoked_at, {PERSON_COLUMNS}
                    FROM roles r JOIN people p ON p.id = r.person_id
                    WHERE r.role = 'member' AND r.team_id IN ({marks(len(chunk))})
                      AND r.revoked_at >= ?
                    ORDER BY r.team_id, r.granted_at""",
                (*chunk, to_db(since)),
            )
            found += [
                FormerMember(r[0], person_from_row(r[3:]), from_db(r[1]), from_db(r[2]))
                for r in rows
            ]
        return found

    # ------------------------------------------------------------------ recalls
    async def create_recall(
        self,
        person_id: int,
        team_id: int,
        unit_id: int | None,
        reason: str,
        actor_id: int,
        now: datetime,
    ) -> Recall:
        cur = await self._run(
            """INSERT INTO recalls (person_id, team_id, unit_id, reason, ordered_by, ordered_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (person_id, team_id, unit_id, reason, actor_id, to_db(now)),
        )
        assert cur.lastrowid is not None
        await self._event(
            "recall.asked", now, actor_id, team_id, recall_id=cur.lastrowid,
            person_id=person_id, reason=reason,
        )  # fmt: skip
        found = await self.get_recall(cur.lastrowid)
        assert found is not None
        return found

    async def get_recall(self, recall_id: int) -> Recall | None:
        rows = await self._named(f"SELECT {_RECALL} FROM recalls WHERE id = ?", (recall_id,))
        return _recall(rows[0]) if rows else None

    async def change_recall(
        self,
        recall: Recall,
        changes: dict[str, Any],
        kind: str,
        actor_id: int | None,
        now: datetime,
    ) -> bool:
        """Change a recall as it was read (False: another change came first), audited."""
        assert not set(changes) - _RECALL_CHANGEABLE
        values = [
            to_db(v) if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
            for v in changes.values()
        ]
        sets = ", ".join(f"{k} = ?" for k in changes)
        cur = await self._run(
            f"UPDATE recalls SET {sets} WHERE id = ? AND state = ?",
            (*values, recall.id, recall.state),
        )
        if cur.rowcount != 1:
            return False
        shown = {k: (str(v) if isinstance(v, date | datetime) else v) for k, v in changes.items()}
        await self._event(kind, now, actor_id, recall.team_id, recall_id=recall.id, **shown)
        return True

    async def open_recalls(self) -> list[Recall]:
        """Recalls still waiting for a replacement, the earliest deadline first."""
        rows = await self._named(
            f"SELECT {_RECALL} FROM recalls WHERE state = 'open' ORDER BY due_at"
        )
        return [_recall(r) for r in rows]

    async def _recalls_by(self, column: str, ids: Sequence[int]) -> list[Recall]:
        found: list[Recall] = []
        for chunk in chunks(list(ids)):
            rows = await self._named(
                f"""SELECT {_RECALL} FROM recalls WHERE {column} IN ({marks(len(chunk))})
                    AND state IN ('open', 'closed') ORDER BY id""",
                chunk,
            )
            found += [_recall(r) for r in rows]
        return found

    async def team_recalls(self, team_ids: Sequence[int]) -> list[Recall]:
        """Recalls confirmed in these teams, open or closed."""
        return await self._recalls_by("team_id", team_ids)

    async def unit_recalls(self, unit_ids: Sequence[int]) -> list[Recall]:
        """Recalls of members these units sent, open or closed."""
        return await self._recalls_by("unit_id", unit_ids)

    async def person_recalls(self, person_ids: Sequence[int]) -> list[Recall]:
        return await self._recalls_by("person_id", person_ids)

    async def add_recall_note(
        self, recall: Recall, note: str, actor_id: int, now: datetime
    ) -> None:
        await self._run(
            "INSERT INTO recall_notes (recall_id, at, by, note) VALUES (?, ?, ?, ?)",
            (recall.id, to_db(now), actor_id, note),
        )
        await self._event("recall.note", now, actor_id, recall.team_id, recall_id=recall.id,
                          note=note)  # fmt: skip

    async def recall_notes(self, recall_id: int) -> list[RecallNote]:
        rows = await self._all(
            "SELECT at, by, note FROM recall_notes WHERE recall_id = ? ORDER BY id", (recall_id,)
        )
        return [RecallNote(from_db(r[0]), r[1], r[2]) for r in rows]

    # ------------------------------------------------------------------ assessment
    async def add_assessment(
        self, person_id: int, period: str, grade: str, note: str, actor_id: int, now: datetime
    ) -> None:
        await self._run(
            """INSERT INTO assessments (person_id, period, grade, note, by, at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (person_id, period, grade, note, actor_id, to_db(now)),
        )
        await self._event(
            "assessment.graded", now, actor_id, person_id=person_id, period=period, grade=grade,
            note=note,
        )  # fmt: skip

    async def assessments(self, person_ids: Sequence[int], period: str) -> dict[int, Assessment]:
        """The grade that counts (the newest) for each person in a period."""
        found: dict[int, Assessment] = {}
        for chunk in chunks(list(person_ids)):
            rows = await self._all(
                f"""SELECT id, person_id, period, grade, note, by, at FROM assessments
                    WHERE person_id IN ({marks(len(chunk))}) AND period = ? ORDER BY id""",
                (*chunk, period),
            )
            for r in rows:
                found[r[1]] = Assessment(r[0], r[1], r[2], r[3], r[4], r[5], from_db(r[6]))
        return found

    # ------------------------------------------------------------------ briefs
    async def create_brief(
        self,
        team_id: int,
        person_id: int,
        chat_id: int,
        message_id: int,
        text: str,
        file_id: str | None,
        file_kind: str | None,
        day: date,
        sent_at: datetime,
        now: datetime,
    ) -> Brief | None:
        cur = await self._run(
            """INSERT INTO briefs (team_id, person_id, chat_id, message_id, text, file_id,
                   file_kind, local_date, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT DO NOTHING""",
            (team_id, person_id, chat_id, message_id, text, file_id, file_kind,
             day.isoformat(), to_db(sent_at)),
        )  # fmt: skip
        if cur.rowcount == 0:
            return None
        await self._event("brief.sent", now, person_id, team_id, brief_id=cur.lastrowid)
        row = await self._one(f"SELECT {_BRIEF} FROM briefs WHERE id = ?", (cur.lastrowid,))
        return _brief(row)

    async def team_briefs(self, team_ids: Sequence[int], first: date, last: date) -> list[Brief]:
        found: list[Brief] = []
        for chunk in chunks(list(team_ids)):
            rows = await self._all(
                f"""SELECT {_BRIEF} FROM briefs WHERE team_id IN ({marks(len(chunk))})
                    AND local_date BETWEEN ? AND ? ORDER BY team_id, sent_at""",
                (*chunk, first.isoformat(), last.isoformat()),
            )
            found += [_brief(r) for r in rows]
        return found

    async def person_facts(self, person_ids: Sequence[int], since: datetime, until: datetime
                           ) -> dict[int, dict[str, int]]:  # fmt: skip
        """Problems each raised and solved (resolved, then confirmed) in ``[since, until)``."""
        facts: dict[int, dict[str, int]] = {p: {"raised": 0, "solved": 0} for p in person_ids}
        for chunk in chunks(list(person_ids)):
            for person_id, count in await self._all(
                f"""SELECT person_id, COUNT(*) FROM problems
                    WHERE person_id IN ({marks(len(chunk))}) AND raised_at >= ? AND raised_at < ?
                    GROUP BY person_id""",
                (*chunk, to_db(since), to_db(until)),
            ):
                facts[person_id]["raised"] = count
            for person_id, count in await self._all(
                f"""SELECT resolved_by, COUNT(*) FROM problems
                    WHERE resolved_by IN ({marks(len(chunk))}) AND state = 'closed'
                      AND closed_at >= ? AND closed_at < ?
                    GROUP BY resolved_by""",
                (*chunk, to_db(since), to_db(until)),
            ):
                facts[person_id]["solved"] = count
        return facts
