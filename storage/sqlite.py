"""The embedded SQLite store: one shared connection in WAL mode with foreign keys on.

Writes are serialised by one lock around each transaction. The bot's volume (a few thousand
check-ins an hour at the scale of a city) is far below what one SQLite writer sustains, and
one connection means no "database is locked" surprises between concurrent updates.

A *unit* (:meth:`SqliteStore.unit`) makes everything one task does through ``transaction()``
commit together: the handling of one update, its answers in the outbox and the mark that it
was handled. Its first block that changes something begins the transaction and holds it (and
the lock) until the unit ends; later blocks are savepoints, so an exception in one undoes only
that block, as before. A block that only read commits at once and lets the lock go, so a unit
that renders a chart after reading its figures holds nothing while it draws.

Statements run on the event loop's thread, not through aiosqlite's worker thread. Every
statement of the bot's paths is an index lookup of a few microseconds; handing each to a thread
and waking the loop for its result cost 470–700 µs a statement on a shared 2-core machine
(``bench/checkin_burst.py``), a hundred times the statement, and capped the bot at ~80 updates
a second. The one place a statement could wait long is taking the write lock while another
process (a ``cunbot`` command) writes: that wait is an ``await``, never a blocked loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from storage import migrate
from storage.models import (
    County,
    Event,
    Invite,
    PendingInput,
    Person,
    Role,
    RoleName,
    Site,
    Team,
    TeamPerson,
    Township,
)
from storage.sqlite_base import (
    PERSON_COLUMNS,
    TEAM_SELECT,
    from_db,
    person_from_row,
    team_from_row,
    to_db,
)
from storage.sqlite_checkins import CheckinQueries
from storage.sqlite_leave import LeaveQueries
from storage.sqlite_logs import LogQueries
from storage.sqlite_problems import ProblemQueries
from storage.sqlite_requests import RequestQueries
from storage.sqlite_schedule import ScheduleQueries
from storage.sqlite_spot import SpotQueries
from storage.sqlite_units import UnitQueries
from storage.sqlite_wire import WireQueries

# Called with every statement a store opened from now on runs (SQLite's trace callback): how
# tests/test_plans.py checks the plan of each statement on a hot path. Empty in production.
STATEMENT_OBSERVERS: list[Callable[[str], None]] = []


class SqliteTx(
    CheckinQueries,
    LeaveQueries,
    LogQueries,
    ProblemQueries,
    RequestQueries,
    ScheduleQueries,
    SpotQueries,
    UnitQueries,
    WireQueries,
):
    """One transaction on the shared connection."""

    # ------------------------------------------------------------------ people
    async def upsert_person(
        self,
        tg_user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        now: datetime,
    ) -> Person:
        # Names change on Telegram; keeping the latest is a refresh, not a state change.
        await self._run(
            """INSERT INTO people (tg_user_id, first_name, last_name, username, language_code,
                                   created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (tg_user_id) DO UPDATE SET
                   first_name = excluded.first_name, last_name = excluded.last_name,
                   username = excluded.username, language_code = excluded.language_code,
                   updated_at = excluded.updated_at
               WHERE people.first_name IS NOT excluded.first_name
                  OR people.last_name IS NOT excluded.last_name
                  OR people.username IS NOT excluded.username
                  OR people.language_code IS NOT excluded.language_code""",
            (tg_user_id, first_name, last_name, username, language_code, to_db(now), to_db(now)),
        )
        person = await self.get_person_by_tg(tg_user_id)
        assert person is not None
        return person

    async def get_person_by_tg(self, tg_user_id: int) -> Person | None:
        row = await self._one(
            f"SELECT {PERSON_COLUMNS} FROM people p WHERE p.tg_user_id = ?", (tg_user_id,)
        )
        return person_from_row(row) if row else None

    # ------------------------------------------------------------------ organisation
    async def get_county(self, name: str) -> County | None:
        row = await self._one("SELECT id, name, tz FROM counties WHERE name = ?", (name,))
        return County(*row) if row else None

    async def create_county(
        self, name: str, tz: str | None, now: datetime, actor_id: int | None
    ) -> County:
        cur = await self._run(
            "INSERT INTO counties (name, tz, created_at) VALUES (?, ?, ?)",
            (name, tz, to_db(now)),
        )
        assert cur.lastrowid is not None
        await self._event("county.created", now, actor_id, county_id=cur.lastrowid, name=name)
        return County(cur.lastrowid, name, tz)

    async def find_townships(self, name: str, county_name: str | None = None) -> list[Township]:
        sql = (
            "SELECT w.id, w.county_id, w.name, c.name FROM townships w"
            " JOIN counties c ON c.id = w.county_id WHERE w.name = ?"
        )
        params: list[Any] = [name]
        if county_name is not None:
            sql += " AND c.name = ?"
            params.append(county_name)
        return [Township(*row) for row in await self._all(sql + " ORDER BY w.id", params)]

    async def create_township(
        self, county_id: int, name: str, now: datetime, actor_id: int | None
    ) -> Township:
        cur = await self._run(
            "INSERT INTO townships (county_id, name, created_at) VALUES (?, ?, ?)",
            (county_id, name, to_db(now)),
        )
        assert cur.lastrowid is not None
        await self._event("township.created", now, actor_id, township_id=cur.lastrowid, name=name)
        row = await self._one("SELECT name FROM counties WHERE id = ?", (county_id,))
        assert row is not None
        return Township(cur.lastrowid, county_id, name, row[0])

    async def get_team(self, team_id: int) -> Team:
        row = await self._one(TEAM_SELECT + " WHERE t.id = ?", (team_id,))
        if row is None:
            raise LookupError(f"no team {team_id}")
        return team_from_row(row)

    async def get_team_by_chat(self, chat_id: int) -> Team | None:
        row = await self._one(TEAM_SELECT + " WHERE t.chat_id = ?", (chat_id,))
        return team_from_row(row) if row else None

    async def get_team_by_code(self, code: str) -> Team | None:
        row = await self._one(TEAM_SELECT + " WHERE t.code = ?", (code,))
        return team_from_row(row) if row else None

    async def create_team(
        self,
        village: str,
        tz: str,
        now: datetime,
        actor_id: int | None,
        *,
        chat_id: int | None = None,
        code: str | None = None,
        township_id: int | None = None,
    ) -> Team:
        cur = await self._run(
            """INSERT INTO teams (township_id, code, village, tz, chat_id, created_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (township_id, code, village, tz, chat_id, to_db(now)),
        )
        assert cur.lastrowid is not None
        await self._event(
            "team.created",
            now,
            actor_id,
            cur.lastrowid,
            village=village,
            code=code,
            chat_id=chat_id,
            tz=tz,
        )
        return await self.get_team(cur.lastrowid)

    async def bind_team_chat(
        self, team_id: int, chat_id: int, now: datetime, actor_id: int
    ) -> None:
        await self._run("UPDATE teams SET chat_id = ? WHERE id = ?", (chat_id, team_id))
        await self._event("team.bound", now, actor_id, team_id, chat_id=chat_id)

    async def rename_team(self, team_id: int, village: str, now: datetime, actor_id: int) -> None:
        team = await self.get_team(team_id)
        await self._run("UPDATE teams SET village = ? WHERE id = ?", (village, team_id))
        await self._event("team.renamed", now, actor_id, team_id, old=team.village, new=village)

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int, now: datetime) -> bool:
        team = await self.get_team_by_chat(old_chat_id)
        if team is None:
            return False
        await self._run("UPDATE teams SET chat_id = ? WHERE id = ?", (new_chat_id, team.id))
        await self._run(
            "UPDATE OR REPLACE chats SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
        )
        await self._run(
            "UPDATE OR REPLACE pending_inputs SET chat_id = ? WHERE chat_id = ?",
            (new_chat_id, old_chat_id),
        )
        # Leave asked in the group, and its copies there, follow it: a decision edits them.
        await self._run(
            "UPDATE leave_requests SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
        )
        await self._run(
            "UPDATE leave_messages SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
        )
        await self._event(
            "team.chat_migrated", now, None, team.id, old=old_chat_id, new=new_chat_id
        )
        return True

    # ------------------------------------------------------------------ roles
    async def active_roles(self, person_id: int) -> list[Role]:
        rows = await self._all(
            """SELECT role, team_id, township_id, county_id, department_id, unit_id FROM roles
               WHERE person_id = ? AND revoked_at IS NULL ORDER BY id""",
            (person_id,),
        )
        return [Role(*row) for row in rows]

    async def grant_role(
        self, person_id: int, role: Role, now: datetime, actor_id: int | None
    ) -> bool:
        cur = await self._run(
            """INSERT OR IGNORE INTO roles (person_id, role, team_id, township_id, county_id,
                   department_id, unit_id, granted_at, granted_by)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                person_id,
                role.role,
                role.team_id,
                role.township_id,
                role.county_id,
                role.department_id,
                role.unit_id,
                to_db(now),
                actor_id,
            ),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "role.granted",
            now,
            actor_id,
            role.team_id,
            person_id=person_id,
            role=role.role,
            township_id=role.township_id,
            county_id=role.county_id,
            department_id=role.department_id,
            unit_id=role.unit_id,
        )
        return True

    async def revoke_role(
        self, person_id: int, role: Role, now: datetime, actor_id: int | None
    ) -> bool:
        cur = await self._run(
            """UPDATE roles SET revoked_at = ?, revoked_by = ?
               WHERE person_id = ? AND role = ? AND revoked_at IS NULL
                 AND team_id IS ? AND township_id IS ? AND county_id IS ?
                 AND department_id IS ? AND unit_id IS ?""",
            (
                to_db(now),
                actor_id,
                person_id,
                role.role,
                role.team_id,
                role.township_id,
                role.county_id,
                role.department_id,
                role.unit_id,
            ),
        )
        if cur.rowcount == 0:
            return False
        await self._event(
            "role.revoked",
            now,
            actor_id,
            role.team_id,
            person_id=person_id,
            role=role.role,
            township_id=role.township_id,
            county_id=role.county_id,
            department_id=role.department_id,
            unit_id=role.unit_id,
        )
        return True

    async def team_people(self, team_id: int) -> list[TeamPerson]:
        rows = await self._all(
            f"""SELECT {PERSON_COLUMNS}, group_concat(r.role) FROM roles r
                JOIN people p ON p.id = r.person_id
                WHERE r.team_id = ? AND r.revoked_at IS NULL AND r.role IN ('member', 'leader')
                GROUP BY p.id ORDER BY MIN(r.granted_at), p.id""",
            (team_id,),
        )
        people = []
        for row in rows:
            held = set(row[6].split(","))
            order: tuple[RoleName, ...] = ("leader", "member")
            people.append(
                TeamPerson(person_from_row(row[:6]), tuple(r for r in order if r in held))
            )
        return people

    async def role_places(self, person_id: int) -> list[tuple[str, str]]:
        rows = await self._all(
            """SELECT r.role, COALESCE(t.village, w.name, d.name, u.name, c.name) FROM roles r
               LEFT JOIN teams t ON t.id = r.team_id
               LEFT JOIN townships w ON w.id = r.township_id
               LEFT JOIN counties c ON c.id = r.county_id
               LEFT JOIN departments d ON d.id = r.department_id
               LEFT JOIN units u ON u.id = r.unit_id
               WHERE r.person_id = ? AND r.revoked_at IS NULL ORDER BY r.id""",
            (person_id,),
        )
        return [(row[0], row[1]) for row in rows]

    async def count_role_holders(self, role: RoleName, team_id: int) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM roles WHERE role = ? AND team_id = ? AND revoked_at IS NULL",
            (role, team_id),
        )
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ sites
    async def list_sites(self, team_id: int) -> list[Site]:
        rows = await self._all(
            """SELECT id, team_id, name, latitude, longitude, radius_m FROM sites
               WHERE team_id = ? AND removed_at IS NULL ORDER BY id""",
            (team_id,),
        )
        return [Site(*row) for row in rows]

    async def add_site(
        self,
        team_id: int,
        name: str,
        latitude: float,
        longitude: float,
        radius_m: int,
        now: datetime,
        actor_id: int | None,
    ) -> Site:
        cur = await self._run(
            """INSERT INTO sites (team_id, name, latitude, longitude, radius_m, created_at,
                                  created_by) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (team_id, name, latitude, longitude, radius_m, to_db(now), actor_id),
        )
        assert cur.lastrowid is not None
        await self._event(
            "site.added",
            now,
            actor_id,
            team_id,
            site_id=cur.lastrowid,
            name=name,
            latitude=latitude,
            longitude=longitude,
            radius_m=radius_m,
        )
        return Site(cur.lastrowid, team_id, name, latitude, longitude, radius_m)

    async def remove_site(self, team_id: int, name: str, now: datetime, actor_id: int) -> bool:
        cur = await self._run(
            """UPDATE sites SET removed_at = ?, removed_by = ?
               WHERE team_id = ? AND name = ? AND removed_at IS NULL""",
            (to_db(now), actor_id, team_id, name),
        )
        if cur.rowcount == 0:
            return False
        await self._event("site.removed", now, actor_id, team_id, name=name)
        return True

    # ------------------------------------------------------------------ invites
    async def create_invite(
        self,
        code: str,
        role: RoleName,
        township_id: int | None,
        county_id: int | None,
        now: datetime,
        expires_at: datetime,
        team_id: int | None = None,
        department_id: int | None = None,
        unit_id: int | None = None,
        recall_id: int | None = None,
        made_for: str | None = None,
    ) -> Invite:
        await self._run(
            """INSERT INTO invites (code, role, township_id, county_id, team_id, department_id,
                   unit_id, recall_id, made_for, created_at, expires_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (code, role, township_id, county_id, team_id, department_id, unit_id, recall_id,
             made_for, to_db(now), to_db(expires_at)),
        )  # fmt: skip
        # The code is a credential until used: the event names the invite, not the code.
        await self._event(
            "invite.created",
            now,
            None,
            role=role,
            township_id=township_id,
            county_id=county_id,
            team_id=team_id,
            department_id=department_id,
            unit_id=unit_id,
            recall_id=recall_id,
            made_for=made_for,
            expires_at=to_db(expires_at),
        )
        return Invite(
            code, role, township_id, county_id, expires_at, None, None, team_id, department_id,
            unit_id, recall_id, made_for,
        )  # fmt: skip

    async def get_invite(self, code: str) -> Invite | None:
        row = await self._one(
            """SELECT code, role, township_id, county_id, expires_at, used_at, used_by,
                      team_id, department_id, unit_id, recall_id, made_for
               FROM invites WHERE code = ?""",
            (code,),
        )
        if row is None:
            return None
        return Invite(
            row[0],
            row[1],
            row[2],
            row[3],
            from_db(row[4]),
            from_db(row[5]) if row[5] else None,
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
        )

    async def use_invite(self, code: str, person_id: int, now: datetime) -> bool:
        cur = await self._run(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL",
            (to_db(now), person_id, code),
        )
        if cur.rowcount == 0:
            return False
        await self._event("invite.used", now, person_id)
        return True

    # ------------------------------------------------------------------ chats, pending, meta
    async def get_chat_lang(self, chat_id: int) -> str | None:
        row = await self._one("SELECT lang FROM chats WHERE chat_id = ?", (chat_id,))
        return row[0] if row else None

    async def set_chat_lang(
        self, chat_id: int, lang: str, now: datetime, actor_id: int | None
    ) -> None:
        await self._run(
            """INSERT INTO chats (chat_id, lang, private, updated_at) VALUES (?, ?, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET lang = excluded.lang,
                                                   updated_at = excluded.updated_at""",
            (chat_id, lang, int(chat_id > 0), to_db(now)),
        )
        await self._event("chat.lang", now, actor_id, chat_id=chat_id, lang=lang)

    async def set_bot_removed(
        self, chat_id: int, removed: bool, now: datetime, actor_id: int | None
    ) -> bool:
        """Mark (or clear) a group the bot is no longer in; True if that changed anything."""
        at = to_db(now) if removed else None
        cur = await self._run(
            """INSERT INTO chats (chat_id, private, updated_at, bot_removed_at)
               VALUES (?, 0, ?, ?)
               ON CONFLICT (chat_id) DO UPDATE SET bot_removed_at = excluded.bot_removed_at,
                                                   updated_at = excluded.updated_at
               WHERE (chats.bot_removed_at IS NULL) <> (excluded.bot_removed_at IS NULL)""",
            (chat_id, to_db(now), at),
        )
        if cur.rowcount == 0:
            return False
        kind = "chat.bot_removed" if removed else "chat.bot_added"
        await self._event(kind, now, actor_id, chat_id=chat_id)
        return True

    async def start_run(self, now: datetime, listening_until: datetime) -> int:
        cur = await self._run(
            "INSERT INTO runs (started_at, listening_until) VALUES (?, ?)",
            (to_db(now), to_db(listening_until)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def note_listening(self, run_id: int, until: datetime) -> None:
        await self._run(
            "UPDATE runs SET listening_until = ? WHERE id = ? AND listening_until < ?",
            (to_db(until), run_id, to_db(until)),
        )

    async def was_fetching(self, at: datetime) -> bool:
        """Whether a run of the bot was fetching updates at this moment."""
        row = await self._one(
            "SELECT 1 FROM runs WHERE listening_until >= ? AND started_at <= ? LIMIT 1",
            (to_db(at), to_db(at)),
        )
        return row is not None

    async def note_event(
        self, kind: str, now: datetime, actor_id: int | None, team_id: int | None, **data: Any
    ) -> None:
        """A change that no row of its own records (why a role ended, say)."""
        await self._event(kind, now, actor_id, team_id, **data)

    async def removed_chats(self) -> set[int]:
        rows = await self._all("SELECT chat_id FROM chats WHERE bot_removed_at IS NOT NULL")
        return {r[0] for r in rows}

    async def set_pending(
        self,
        chat_id: int,
        person_id: int,
        kind: str,
        payload: dict[str, Any],
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self._run(
            """INSERT OR REPLACE INTO pending_inputs
               (chat_id, person_id, kind, payload, created_at, expires_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (
                chat_id,
                person_id,
                kind,
                json.dumps(payload, ensure_ascii=False),
                to_db(now),
                to_db(expires_at),
            ),
        )

    async def take_pending(
        self, chat_id: int, person_id: int, kind: str, now: datetime
    ) -> PendingInput | None:
        row = await self._one(
            """SELECT chat_id, person_id, kind, payload, expires_at FROM pending_inputs
               WHERE chat_id = ? AND person_id = ? AND kind = ?""",
            (chat_id, person_id, kind),
        )
        if row is None:
            return None
        await self._run(
            "DELETE FROM pending_inputs WHERE chat_id = ? AND person_id = ? AND kind = ?",
            (chat_id, person_id, kind),
        )
        expires_at = from_db(row[4])
        if expires_at <= now:
            return None
        return PendingInput(row[0], row[1], row[2], json.loads(row[3]), expires_at)

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._run(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ------------------------------------------------------------------ audit
    async def events(self, team_id: int | None = None, kind: str | None = None) -> list[Event]:
        sql = "SELECT id, at, actor_id, kind, team_id, data FROM events WHERE 1 = 1"
        params: list[Any] = []
        if team_id is not None:
            sql += " AND team_id = ?"
            params.append(team_id)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        rows = await self._all(sql + " ORDER BY id", params)
        return [
            Event(row[0], from_db(row[1]), row[2], row[3], row[4], json.loads(row[5]))
            for row in rows
        ]

    async def integrity_breaches(self) -> list[str]:
        """What is wrong with the file, or with what the bot promises about its records;
        empty when all is well. Slow on a big file: for tests and an operator's check."""
        found = [f"integrity: {r[0]}" for r in await self._all("PRAGMA integrity_check")]
        found = [f for f in found if f != "integrity: ok"]
        found += [f"foreign key: {tuple(r)}" for r in await self._all("PRAGMA foreign_key_check")]
        for problem, sql in _INVARIANTS:
            found += [f"{problem}: {tuple(r)}" for r in await self._all(sql)]
        return found


# Each finds the rows that break one promise. No second active role of a kind per place;
# a counted check-in has its team, window, site and a real point; a log keeps its first
# text; a decided leave request says who decided and sits at a level of its route.
_INVARIANTS = (
    (
        "role held twice",
        "SELECT person_id, role, team_id, township_id, county_id, department_id, unit_id"
        " FROM roles WHERE revoked_at IS NULL"
        " GROUP BY person_id, role, team_id, township_id, county_id, department_id, unit_id"
        " HAVING COUNT(*) > 1",
    ),
    (
        "check-in counted without its place",
        "SELECT id FROM checkins WHERE outcome = 'checkin' AND (team_id IS NULL"
        " OR window_name IS NULL OR (site_id IS NULL AND source IN ('message', 'live_edit')))",
    ),
    (
        "check-in at no real point",
        "SELECT id, latitude, longitude FROM checkins WHERE NOT (latitude BETWEEN -90 AND 90"
        " AND longitude BETWEEN -180 AND 180)",
    ),
    (
        "log without its first text",
        "SELECT id FROM work_logs l WHERE NOT EXISTS (SELECT 1 FROM log_revisions r"
        " WHERE r.log_id = l.id AND r.revision = 1)",
    ),
    (
        "leave decided by nobody",
        "SELECT id FROM leave_requests WHERE state IN ('approved', 'rejected')"
        " AND decided_by IS NULL",
    ),
    (
        "leave request past the end of its route",
        "SELECT id, route, step FROM leave_requests"
        " WHERE step >= LENGTH(route) - LENGTH(REPLACE(route, ',', '')) + 1",
    ),
)


class Unit:
    """What one task has open in the store while its unit runs."""

    def __init__(self) -> None:
        self.holding = False  # a transaction with changes is open, and the lock is held
        self.savepoints = 0
        self.abandoned = False

    def abandon(self) -> None:
        """Roll back everything the unit wrote when it ends (its handler failed)."""
        self.abandoned = True


# How long taking the write lock may wait for another process that holds it.
BUSY_SECONDS = 5.0


class SqliteStore:
    """The store on one SQLite file."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        # Keyed by task, not a context variable: a task started inside a unit (the deliverer,
        # say) must not find itself inside it.
        self._units: dict[asyncio.Task[Any], Unit] = {}

    @classmethod
    async def open(cls, path: str | Path, now: datetime) -> SqliteStore:
        """Open (or create) the file and bring its schema up to date."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours to begin and end, never implicit.
        conn = sqlite3.connect(str(path), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL loses nothing when the process dies (SIGKILL, a crash); only
            # a power cut may undo the last transactions, which FULL would cost a sync each.
            conn.execute("PRAGMA synchronous = NORMAL")
            # Opening may wait for another process's write; it happens before anything else.
            conn.execute("PRAGMA busy_timeout = 5000")
            migrate.upgrade(conn, now)
            # From here on no statement waits (that would hold up the event loop): a busy
            # write lock is waited for, awaiting, by ``_begin``.
            conn.execute("PRAGMA busy_timeout = 0")
            for observer in STATEMENT_OBSERVERS:
                conn.set_trace_callback(observer)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    async def _begin(self) -> None:
        """Take the write lock, waiting (without blocking the loop) while another process
        holds it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUSY_SECONDS
        pause = 0.002
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() >= deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    def _current(self) -> Unit | None:
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return None
        return self._units.get(task) if task is not None else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        unit = self._current()
        if unit is None:
            async with self._lock:
                await self._begin()
                try:
                    yield SqliteTx(self._conn)
                except BaseException:
                    self._rollback()
                    raise
                self._conn.execute("COMMIT")
            return
        if unit.holding:
            unit.savepoints += 1
            name = f"unit_{unit.savepoints}"
            self._conn.execute(f"SAVEPOINT {name}")
            try:
                yield SqliteTx(self._conn)
            except BaseException:
                self._rollback(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            self._conn.execute(f"RELEASE {name}")
            return
        await self._lock.acquire()
        try:
            await self._begin()
            before = self._conn.total_changes
            try:
                yield SqliteTx(self._conn)
            except BaseException:
                self._rollback()
                raise
            if self._conn.total_changes == before:
                self._conn.execute("COMMIT")  # it only read: nothing to hold the lock for
            else:
                unit.holding = True
        finally:
            if not unit.holding:
                self._lock.release()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """Everything this task writes until the block ends commits together, or not at all
        (an exception, or :meth:`Unit.abandon`)."""
        task = asyncio.current_task()
        assert task is not None and task not in self._units, "units do not nest"
        unit = Unit()
        self._units[task] = unit
        try:
            yield unit
        except BaseException:
            unit.abandoned = True
            raise
        finally:
            del self._units[task]
            if unit.holding:
                unit.holding = False
                try:
                    if unit.abandoned:
                        self._rollback()
                    else:
                        self._conn.execute("COMMIT")
                finally:
                    self._lock.release()

    def _rollback(self, sql: str = "ROLLBACK") -> None:
        # Not awaited, so no cancellation can leave the connection inside a transaction.
        self._conn.execute(sql)

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        unit = self._current()
        if unit is not None and unit.holding:
            yield
            return
        async with self._lock:
            yield

    async def schema_version(self) -> int:
        async with self._exclusive():
            row = self._conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            return int(row.fetchone()[0])

    async def pragma(self, name: str) -> Any:
        """A PRAGMA's value, for checks and diagnostics."""
        async with self._exclusive():
            row = self._conn.execute(f"PRAGMA {name}").fetchone()
        return row[0] if row else None

    async def close(self) -> None:
        self._conn.close()
