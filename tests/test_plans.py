"""The plan of every statement the bot runs on its hot paths: a member's check-ins and live
moves, a work log, ``/me``, ``/today``, ``/logs``, a digest, the jobs and the deliverer.

The bot runs for real over the offline server on a file seeded with three months of history;
every statement its store executes is recorded (SQLite's trace callback) and explained with
EXPLAIN QUERY PLAN. A full ``SCAN`` of a table that grows with history fails the test: its
cost would grow with every day the bot runs. New statements are checked as soon as the bot
runs them; nothing needs adding to a list."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from storage import sqlite as sqlite_store
from storage.base import Tx
from storage.models import Checkin
from tests.botapi_server import BotApiServer
from tests.conftest import GROUP, LEADER, MEMBER, MEMBER2, BotHarness, FakeClock, in_store

# 07:00 on 23 November in Asia/Shanghai: the morning window is open.
MORNING = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
NEAR = (25.5009, 103.2)
GROWING = {
    "checkins",
    "visits",
    "work_logs",
    "deliveries",
    "inbox",
    "outbox",
    "events",
    "problems",
    "problem_steps",
    "problem_photos",
}
DAYS = 90


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MORNING)


class Recorder:
    def __init__(self) -> None:
        self.on = False
        self.statements: set[str] = set()

    def __call__(self, statement: str) -> None:
        if self.on:
            self.statements.add(statement)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    sqlite_store.STATEMENT_OBSERVERS.append(found)
    yield found
    sqlite_store.STATEMENT_OBSERVERS.remove(found)


async def _history(tx: Tx) -> None:
    """Three months of check-ins, logs, visits and verdicts for the team."""
    team = await tx.get_team_by_chat(GROUP)
    assert team is not None
    people = [await tx.get_person_by_tg(u) for u in (LEADER, MEMBER, MEMBER2)]
    homes = [
        await tx.add_household(team.id, f"户{i}", None, "command", MORNING, None) for i in range(30)
    ]
    message = 10_000
    for back in range(1, DAYS + 1):
        day = date(2026, 11, 23) - timedelta(days=back)
        at = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=1)
        for n, person in enumerate(people):
            assert person is not None
            message += 1
            point = Checkin(
                person_id=person.id, team_id=team.id, chat_id=GROUP, message_id=message,
                update_id=0, source="message", outcome="checkin", reason=None, flags=(),
                window="morning", local_date=day, latitude=NEAR[0], longitude=NEAR[1],
                accuracy_m=10.0, live=True, forwarded=False, venue=False, site_id=None,
                distance_m=100.0, sent_at=at, received_at=at,
            )  # fmt: skip
            await tx.record_checkin(point)
            log = await tx.create_log(
                person.id, team.id, day, GROUP, -message, None, "走访", at, at
            )
            assert log is not None
            home = homes[(back + n) % len(homes)]
            assert home is not None
            await tx.add_visit(log, home.id, "mention", at, person.id)
    leader = people[0]
    assert leader is not None
    entries = await tx.household_ledger([h.id for h in homes if h is not None])
    for entry in entries[:120]:
        await tx.mark_visit(entry, "ok", "", leader.id, MORNING - timedelta(days=2))


def _tables(statement: str) -> dict[str, str]:
    """Each name a table goes by in the statement (itself and its alias) → the table."""
    names: dict[str, str] = {}
    for table, alias in re.findall(
        r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", statement, re.I
    ):
        names[table] = table
        if alias and alias.upper() not in _KEYWORDS:
            names[alias] = table
    return names


_KEYWORDS = {
    "WHERE", "JOIN", "LEFT", "INNER", "ON", "GROUP", "ORDER", "LIMIT", "USING", "SET",
    "VALUES", "SELECT", "AND", "OR", "AS", "UNION", "CROSS", "NATURAL", "OUTER", "DEFAULT",
    "RETURNING", "HAVING", "WINDOW",
}  # fmt: skip


def _scans(database: str, statements: set[str]) -> list[str]:
    problems = []
    conn = sqlite3.connect(database)
    try:
        for statement in sorted(statements):
            if not re.match(r"\s*(SELECT|UPDATE|DELETE|INSERT|WITH)\b", statement, re.I):
                continue
            try:
                plan = conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
            except sqlite3.Error as exc:  # a statement the bot ran must explain
                problems.append(f"cannot explain ({exc}): {statement}")
                continue
            names = _tables(statement)
            for row in plan:
                detail: str = row[3]
                found = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", detail)
                if found is None or names.get(found[1], found[1]) not in GROWING:
                    continue
                if found[2] and _partial(conn, found[2]):
                    continue  # only the rows in one state (dead letters, due rows): bounded
                problems.append(f"{detail}\n    in: {' '.join(statement.split())}")
    finally:
        conn.close()
    return problems


def _partial(conn: sqlite3.Connection, index: str) -> bool:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()
    return bool(row and row[0] and " WHERE " in row[0].upper())


async def test_no_hot_statement_scans_a_table_that_grows_with_history(
    recorder: Recorder, team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await in_store(team.settings, clock, _history)
    recorder.on = True
    # A member shares a live location (a check-in), moves twice, then pins again (a repeat).
    live = await server.send_location(
        GROUP, MEMBER, *NEAR, live_period=28800, horizontal_accuracy=12.0
    )
    await team.barrier(GROUP, LEADER)
    for minutes, point in ((11, (25.5005, 103.2)), (11, (25.5004, 103.2001))):
        clock.advance(minutes=minutes)
        await server.edit_live_location(live, *point)
        await team.barrier(GROUP, LEADER)
    await server.send_location(GROUP, MEMBER, *NEAR, horizontal_accuracy=10.0)
    await team.say(GROUP, MEMBER2, "#log 走访 @@户1 了解取暖")
    await server.send_photo(GROUP, MEMBER, caption="#问题 便桥断了 @@户1 #道路")
    await team.barrier(GROUP, LEADER)
    # Most reads go privately: the group has had a dozen answers already (and perhaps a
    # reminder, if its hour came while the test ran), and its pace of 20 a minute holds a 21st
    # answer back for up to a minute.
    server.start_private(LEADER)
    for command in ("/problem 1 red 汛期", "/problem 1", "/problems", "/today", "/logs", "/digest"):
        await team.say(LEADER, LEADER, command)
    for user, command in ((MEMBER, "/me"), (LEADER, "/leaves")):
        await team.say(GROUP, user, command)
    await team.settled()
    recorder.on = False
    assert len(recorder.statements) > 50  # the paths above did run through the store
    problems = _scans(team.settings.database, recorder.statements)
    assert problems == [], "\n".join(problems)
