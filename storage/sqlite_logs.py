"""Work logs with their revisions and photos, the household register, the ledger of visits,
reverse-check samples and verdicts, and monthly summaries.

Rows are only added: an edit is a new revision, an unlinked household stamps its visit as
removed, a verdict is a new mark. Each change writes its event in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from storage.models import (
    AuditMark,
    Household,
    LedgerEntry,
    LogPhoto,
    LogRevision,
    MonthlySummary,
    Team,
    Visit,
    WorkLog,
)
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

_LOG_SELECT = """
    SELECT l.id, l.person_id, l.team_id, l.local_date, l.chat_id, l.message_id,
           l.media_group_id, l.written_at, r.text, r.revision
    FROM work_logs l
    JOIN log_revisions r ON r.log_id = l.id
     AND r.revision = (SELECT MAX(revision) FROM log_revisions WHERE log_id = l.id)
"""
_VISIT_SELECT = """
    SELECT v.id, v.log_id, v.household_id, h.name, v.how, v.added_at, v.removed_at,
           m.verdict, m.note
    FROM visits v
    JOIN households h ON h.id = v.household_id
    LEFT JOIN audit_marks m ON m.id = (
        SELECT MAX(id) FROM audit_marks WHERE visit_id = v.id)
"""
_HOUSEHOLD_SELECT = "SELECT id, team_id, name, note, source, created_at FROM households"
_SUMMARY_SELECT = """
    SELECT id, team_id, month, person_id, text, file_id, file_name, sent_at
    FROM monthly_summaries s
"""


def _household(row: Iterable[Any]) -> Household:
    r = list(row)
    return Household(r[0], r[1], r[2], r[3], r[4], from_db(r[5]))


def _visit(row: Iterable[Any]) -> Visit:
    r = list(row)
    return Visit(
        id=r[0],
        log_id=r[1],
        household_id=r[2],
        household=r[3],
        how=r[4],
        added_at=from_db(r[5]),
        removed_at=from_db(r[6]) if r[6] else None,
        verdict=r[7],
        verdict_note=r[8],
    )


def _summary(row: Iterable[Any]) -> MonthlySummary:
    r = list(row)
    return MonthlySummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], from_db(r[7]))


class LogQueries(SqliteQueries):
    # ------------------------------------------------------------------ households
    async def list_households(self, team_id: int) -> list[Household]:
        rows = await self._all(
            f"{_HOUSEHOLD_SELECT} WHERE team_id = ? ORDER BY name COLLATE NOCASE, id", (team_id,)
        )
        return [_household(r) for r in rows]

    async def find_households(self, team_ids: Sequence[int], name: str) -> list[Household]:
        if not team_ids:
            return []
        rows = await self._all(
            f"{_HOUSEHOLD_SELECT} WHERE name = ? AND team_id IN ({marks(len(team_ids))})"
            " ORDER BY team_id",
            (name, *team_ids),
        )
        return [_household(r) for r in rows]

    async def add_household(
        self,
        team_id: int,
        name: str,
        note: str | None,
        source: str,
        now: datetime,
        actor_id: int | None,
    ) -> Household | None:
        """The new household, or None when the team's register has the name already."""
        cur = await self._run(
            """INSERT OR IGNORE INTO households (team_id, name, note, source, created_at,
                   created_by) VALUES (?, ?, ?, ?, ?, ?)""",
            (team_id, name, note, source, to_db(now), actor_id),
        )
        if cur.rowcount == 0 or cur.lastrowid is None:
            return None
        await self._event(
            "household.added",
            now,
            actor_id,
            team_id,
            household_id=cur.lastrowid,
            name=name,
            note=note,
            source=source,
        )
        return Household(cur.lastrowid, team_id, name, note, source, now)  # type: ignore[arg-type]

    async def recent_households(
        self, person_id: int, team_id: int, since: date, except_log: int
    ) -> list[int]:
        """The households a member named lately in other logs, the most recent first."""
        rows = await self._all(
            """SELECT v.household_id, MAX(v.id) AS latest FROM visits v
               JOIN work_logs l ON l.id = v.log_id
               WHERE l.person_id = ? AND l.team_id = ? AND l.local_date >= ?
                 AND v.removed_at IS NULL AND l.id != ?
               GROUP BY v.household_id ORDER BY latest DESC""",
            (person_id, team_id, since.isoformat(), except_log),
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ logs
    async def create_log(
        self,
        person_id: int,
        team_id: int,
        local_date: date,
        chat_id: int,
        message_id: int,
        media_group_id: str | None,
        text: str,
        written_at: datetime,
        now: datetime,
    ) -> WorkLog | None:
        """The new log, or None when this message is a log already (delivered twice)."""
        cur = await self._run(
            """INSERT OR IGNORE INTO work_logs (person_id, team_id, local_date, chat_id,
                   message_id, media_group_id, written_at, received_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                person_id,
                team_id,
                local_date.isoformat(),
                chat_id,
                message_id,
                media_group_id,
                to_db(written_at),
                to_db(now),
            ),
        )
        if cur.rowcount == 0 or cur.lastrowid is None:
            return None
        log_id = cur.lastrowid
        await self._run(
            """INSERT INTO log_revisions (log_id, revision, text, edited_at, received_at)
               VALUES (?, 1, ?, ?, ?)""",
            (log_id, text, to_db(written_at), to_db(now)),
        )
        await self._event(
            "log.written", now, person_id, team_id, log_id=log_id, day=local_date.isoformat()
        )
        return await self.get_log(log_id)

    async def _logs(self, where: str, params: Iterable[Any]) -> list[WorkLog]:
        rows = await self._all(f"{_LOG_SELECT} WHERE {where} ORDER BY l.written_at, l.id", params)
        if not rows:
            return []
        ids = [r[0] for r in rows]
        photos: dict[int, list[LogPhoto]] = {}
        visits: dict[int, list[Visit]] = {}
        for chunk in chunks(ids):
            for p in await self._all(
                f"""SELECT log_id, file_id, file_unique_id, caption, added_at FROM log_photos
                    WHERE log_id IN ({marks(len(chunk))}) ORDER BY id""",
                chunk,
            ):
                photos.setdefault(p[0], []).append(LogPhoto(p[1], p[2], p[3], from_db(p[4])))
            for v in await self._all(
                f"""{_VISIT_SELECT} WHERE v.log_id IN ({marks(len(chunk))})
                    AND v.removed_at IS NULL ORDER BY v.id""",
                chunk,
            ):
                visits.setdefault(v[1], []).append(_visit(v))
        return [
            WorkLog(
                id=r[0],
                person_id=r[1],
                team_id=r[2],
                local_date=date.fromisoformat(r[3]),
                chat_id=r[4],
                message_id=r[5],
                media_group_id=r[6],
                written_at=from_db(r[7]),
                text=r[8],
                revision=r[9],
                photos=tuple(photos.get(r[0], ())),
                visits=tuple(visits.get(r[0], ())),
            )
            for r in rows
        ]

    async def get_log(self, log_id: int) -> WorkLog | None:
        found = await self._logs("l.id = ?", (log_id,))
        return found[0] if found else None

    async def log_of_message(self, chat_id: int, message_id: int) -> WorkLog | None:
        found = await self._logs("l.chat_id = ? AND l.message_id = ?", (chat_id, message_id))
        return found[0] if found else None

    async def log_of_album(self, chat_id: int, media_group_id: str) -> WorkLog | None:
        found = await self._logs(
            "l.chat_id = ? AND l.media_group_id = ?", (chat_id, media_group_id)
        )
        return found[0] if found else None

    async def team_logs(
        self, team_id: int, first: date, last: date, person_id: int | None = None
    ) -> list[WorkLog]:
        where = "l.team_id = ? AND l.local_date BETWEEN ? AND ?"
        params: list[Any] = [team_id, first.isoformat(), last.isoformat()]
        if person_id is not None:
            where += " AND l.person_id = ?"
            params.append(person_id)
        return await self._logs(where, params)

    async def revise_log(
        self, log: WorkLog, text: str, edited_at: datetime, now: datetime, actor_id: int
    ) -> int | None:
        """Keeps an edit as the next revision; None when the text did not change (an edit
        of something else, or the same edit delivered twice)."""
        if text == log.text:
            return None
        revision = log.revision + 1
        cur = await self._run(
            """INSERT OR IGNORE INTO log_revisions (log_id, revision, text, edited_at,
                   received_at) VALUES (?, ?, ?, ?, ?)""",
            (log.id, revision, text, to_db(edited_at), to_db(now)),
        )
        if cur.rowcount == 0:
            return None
        await self._event(
            "log.edited", now, actor_id, log.team_id, log_id=log.id, revision=revision
        )
        return revision

    async def log_revisions(self, log_id: int) -> list[LogRevision]:
        rows = await self._all(
            """SELECT log_id, revision, text, edited_at FROM log_revisions
               WHERE log_id = ? ORDER BY revision""",
            (log_id,),
        )
        return [LogRevision(r[0], r[1], r[2], from_db(r[3])) for r in rows]

    async def add_photo(
        self,
        log: WorkLog,
        chat_id: int,
        message_id: int,
        file_id: str,
        file_unique_id: str,
        caption: str | None,
        now: datetime,
    ) -> bool:
        cur = await self._run(
            """INSERT OR IGNORE INTO log_photos (log_id, chat_id, message_id, file_id,
                   file_unique_id, caption, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (log.id, chat_id, message_id, file_id, file_unique_id, caption, to_db(now)),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "log.photo", now, log.person_id, log.team_id, log_id=log.id, message_id=message_id
        )
        return True

    # ------------------------------------------------------------------ visits
    async def add_visit(
        self, log: WorkLog, household_id: int, how: str, now: datetime, actor_id: int
    ) -> bool:
        cur = await self._run(
            """INSERT OR IGNORE INTO visits (log_id, household_id, how, added_at, added_by)
               VALUES (?, ?, ?, ?, ?)""",
            (log.id, household_id, how, to_db(now), actor_id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "visit.added",
            now,
            actor_id,
            log.team_id,
            log_id=log.id,
            household_id=household_id,
            how=how,
        )
        return True

    async def remove_visit(
        self, log: WorkLog, household_id: int, now: datetime, actor_id: int
    ) -> bool:
        cur = await self._run(
            """UPDATE visits SET removed_at = ?, removed_by = ?
               WHERE log_id = ? AND household_id = ? AND removed_at IS NULL""",
            (to_db(now), actor_id, log.id, household_id),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "visit.removed", now, actor_id, log.team_id, log_id=log.id, household_id=household_id
        )
        return True

    async def _ledger(self, where: str, params: Sequence[Any]) -> list[LedgerEntry]:
        """Visits (current and removed) with their logs and members, oldest first."""
        rows = await self._all(
            f"""{_VISIT_SELECT}
                JOIN work_logs wl ON wl.id = v.log_id
                WHERE {where} ORDER BY wl.written_at, v.id""",
            params,
        )
        visits = [_visit(r) for r in rows]
        if not visits:
            return []
        logs = {}
        for chunk in chunks(sorted({v.log_id for v in visits})):
            for found in await self._logs(f"l.id IN ({marks(len(chunk))})", chunk):
                logs[found.id] = found
        writers = sorted({log.person_id for log in logs.values()})
        teams = sorted({log.team_id for log in logs.values()})
        people = {
            row[0]: person_from_row(row)
            for row in await self._all(
                f"SELECT {PERSON_COLUMNS} FROM people p WHERE p.id IN ({marks(len(writers))})",
                writers,
            )
        }
        villages = {
            row[0]: row[1]
            for row in await self._all(
                f"SELECT id, village FROM teams WHERE id IN ({marks(len(teams))})", teams
            )
        }
        return [
            LedgerEntry(
                v,
                logs[v.log_id],
                people[logs[v.log_id].person_id],
                villages[logs[v.log_id].team_id],
            )
            for v in visits
        ]

    async def household_ledger(self, household_ids: Sequence[int]) -> list[LedgerEntry]:
        if not household_ids:
            return []
        return await self._ledger(f"v.household_id IN ({marks(len(household_ids))})", household_ids)

    async def visit_entries(self, visit_ids: Sequence[int]) -> list[LedgerEntry]:
        if not visit_ids:
            return []
        return await self._ledger(f"v.id IN ({marks(len(visit_ids))})", visit_ids)

    async def sample_candidates(self, team_id: int, since: date) -> tuple[list[int], list[int]]:
        """The team's current visits logged since ``since``, and those ever drawn before."""
        rows = await self._all(
            """SELECT v.id, EXISTS (SELECT 1 FROM audit_sample_visits s WHERE s.visit_id = v.id)
               FROM visits v JOIN work_logs l ON l.id = v.log_id
               WHERE l.team_id = ? AND l.local_date >= ? AND v.removed_at IS NULL""",
            (team_id, since.isoformat()),
        )
        return [r[0] for r in rows], [r[0] for r in rows if r[1]]

    async def create_sample(
        self, team_id: int, asked: int, visit_ids: Sequence[int], actor_id: int, now: datetime
    ) -> int:
        cur = await self._run(
            "INSERT INTO audit_samples (team_id, asked, drawn_by, drawn_at) VALUES (?, ?, ?, ?)",
            (team_id, asked, actor_id, to_db(now)),
        )
        assert cur.lastrowid is not None
        sample_id = cur.lastrowid
        for visit_id in visit_ids:
            # UNIQUE(visit_id): a visit raced into two samples fails the second one whole.
            await self._run(
                "INSERT INTO audit_sample_visits (sample_id, visit_id) VALUES (?, ?)",
                (sample_id, visit_id),
            )
        await self._event(
            "audit.sampled",
            now,
            actor_id,
            team_id,
            sample_id=sample_id,
            asked=asked,
            visits=list(visit_ids),
        )
        return sample_id

    async def mark_visit(
        self,
        entry: LedgerEntry,
        verdict: str,
        note: str,
        actor_id: int,
        now: datetime,
    ) -> AuditMark:
        cur = await self._run(
            """INSERT INTO audit_marks (visit_id, verdict, note, marked_by, marked_at)
               VALUES (?, ?, ?, ?, ?)""",
            (entry.visit.id, verdict, note, actor_id, to_db(now)),
        )
        assert cur.lastrowid is not None
        await self._event(
            "audit.marked",
            now,
            actor_id,
            entry.log.team_id,
            visit_id=entry.visit.id,
            person_id=entry.person.id,
            verdict=verdict,
            note=note,
        )
        return AuditMark(cur.lastrowid, entry.visit.id, verdict, note, actor_id, now)  # type: ignore[arg-type]

    async def verdict_counts(self, person_id: int, team_id: int, since: date) -> dict[str, int]:
        """A member's visits since ``since`` by their newest verdict (unchecked ones left out)."""
        rows = await self._all(
            # From the member's logs since the day (their index), then each log's visits.
            """SELECT m.verdict, COUNT(*) FROM work_logs l
               JOIN visits v ON v.log_id = l.id
               JOIN audit_marks m ON m.id = (SELECT MAX(id) FROM audit_marks
                                             WHERE visit_id = v.id)
               WHERE l.person_id = ? AND l.team_id = ? AND l.local_date >= ?
               GROUP BY m.verdict""",
            (person_id, team_id, since.isoformat()),
        )
        return {r[0]: r[1] for r in rows}

    # ------------------------------------------------------------------ summaries
    async def add_summary(
        self,
        team_id: int,
        month: str,
        person_id: int,
        text: str,
        file_id: str | None,
        file_name: str | None,
        chat_id: int,
        message_id: int,
        now: datetime,
    ) -> MonthlySummary | None:
        cur = await self._run(
            """INSERT OR IGNORE INTO monthly_summaries (team_id, month, person_id, text,
                   file_id, file_name, chat_id, message_id, sent_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (team_id, month, person_id, text, file_id, file_name, chat_id, message_id, to_db(now)),
        )
        if cur.rowcount == 0 or cur.lastrowid is None:
            return None
        await self._event(
            "summary.sent",
            now,
            person_id,
            team_id,
            summary_id=cur.lastrowid,
            month=month,
            file_name=file_name,
        )
        return MonthlySummary(
            cur.lastrowid, team_id, month, person_id, text, file_id, file_name, now
        )

    async def summary_months(self, team_id: int) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT month FROM monthly_summaries WHERE team_id = ? ORDER BY month",
            (team_id,),
        )
        return [r[0] for r in rows]

    async def month_summaries(self, month: str, team_ids: Sequence[int]) -> list[MonthlySummary]:
        """The newest summary of the month of each of these teams that sent one."""
        if not team_ids:
            return []
        rows = await self._all(
            f"""{_SUMMARY_SELECT}
                WHERE month = ? AND team_id IN ({marks(len(team_ids))})
                  AND id = (SELECT MAX(id) FROM monthly_summaries
                            WHERE team_id = s.team_id AND month = s.month)
                ORDER BY team_id""",
            (month, *team_ids),
        )
        return [_summary(r) for r in rows]

    # ------------------------------------------------------------------ area
    async def area_teams(
        self, township_ids: Sequence[int], county_ids: Sequence[int], unplaced: bool
    ) -> list[Team]:
        """Teams in these townships or counties (and, for an admin, teams in none)."""
        clauses = []
        params: list[Any] = []
        if township_ids:
            clauses.append(f"t.township_id IN ({marks(len(township_ids))})")
            params += township_ids
        if county_ids:
            clauses.append(f"c.id IN ({marks(len(county_ids))})")
            params += county_ids
        if unplaced:
            clauses.append("t.township_id IS NULL")
        if not clauses:
            return []
        rows = await self._all(
            f"{TEAM_SELECT} WHERE {' OR '.join(clauses)} ORDER BY t.code, t.village, t.id",
            params,
        )
        return [team_from_row(r) for r in rows]
