"""The SQLite store on a real temporary file: schema, upgrades, transactions, audit trail."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from rules import policy as policies
from rules.policy import DEFAULT_POLICY
from storage import open_store, sqlite_path
from storage import sqlite as sqlite_store
from storage.migrate import available_migrations, upgrade
from storage.models import Checkin, NewDelivery, NewUpdate, Outgoing, Role
from storage.sqlite import SqliteStore

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "cunbot.db", NOW)
    yield opened
    await opened.close()


async def test_new_file_is_at_latest_version_with_wal_and_foreign_keys(store: SqliteStore) -> None:
    assert await store.schema_version() == len(available_migrations())
    assert await store.pragma("journal_mode") == "wal"
    assert await store.pragma("foreign_keys") == 1


async def test_upgrade_from_first_version_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert upgrade(conn, NOW, target=1) == [1]
        conn.execute(
            "INSERT INTO teams (village, tz, chat_id, created_at) VALUES (?, ?, ?, ?)",
            ("Shangba", "Asia/Shanghai", -100, NOW.isoformat()),
        )
    store = await SqliteStore.open(path, NOW + timedelta(days=30))
    try:
        assert await store.schema_version() == len(available_migrations())
        async with store.transaction() as tx:
            team = await tx.get_team_by_chat(-100)
            assert team is not None and team.village == "Shangba"
            # Tables from versions 2 and 3 work on the upgraded file.
            await tx.set_chat_lang(-100, "en", NOW, None)
            assert await tx.get_chat_lang(-100) == "en"
            assert await tx.export_checkins(NOW.date(), NOW.date()) == []
            assert await tx.get_policy(None) is None
    finally:
        await store.close()
    # Opening again applies nothing more.
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert upgrade(conn, NOW) == []


async def test_the_upgrade_makes_the_leader_step_the_default_unless_a_county_chose(
    tmp_path: Path,
) -> None:
    """Policies are stored whole, so a county that never chose ``leave_leader`` holds the old
    default; the upgrade to version 9 turns it on there, and nowhere it was turned off."""
    path = tmp_path / "v8.db"
    old = policies.to_json(replace(DEFAULT_POLICY, leave_leader_step=False))
    chose_on = policies.to_json(replace(DEFAULT_POLICY, leave_leader_step=True))
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        assert upgrade(conn, NOW, target=8) == list(range(1, 9))
        for county_id, name in ((1, "Huize"), (2, "Xuanwei"), (3, "Luliang")):
            conn.execute(
                "INSERT INTO counties (id, name, created_at, policy) VALUES (?, ?, ?, ?)",
                (county_id, name, NOW.isoformat(), old if county_id < 3 else None),
            )
        conn.execute("INSERT INTO meta (key, value) VALUES ('policy.default', ?)", (old,))
        # Xuanwei's admin turned the leader step on, then off again: an explicit choice.
        for before, after in ((old, chose_on), (chose_on, old)):
            conn.execute(
                "INSERT INTO events (at, kind, data) VALUES (?, 'policy.set', ?)",
                (NOW.isoformat(), json.dumps({"county_id": 2, "old": before, "new": after})),
            )
    store = await SqliteStore.open(path, NOW)
    try:
        async with store.transaction() as tx:
            leader_first = {
                county: policies.from_json(await tx.get_policy(county)).leave_leader_step
                for county in (None, 1, 2, 3)
            }
            switched = await tx.events(kind="policy.leader_default")
    finally:
        await store.close()
    assert leader_first == {None: True, 1: True, 2: False, 3: True}
    assert sorted((e.data["county_id"] or 0) for e in switched) == [0, 1]


async def test_the_checkins_rebuild_keeps_rows_ids_and_what_points_at_them(
    tmp_path: Path,
) -> None:
    """Version 14 rebuilds ``checkins`` with foreign keys off (SQLite widens a CHECK no other
    way): rows keep their ids, the tables that point at check-ins (spot picks) still name
    ``checkins``, and foreign keys are on again afterwards."""
    path = tmp_path / "v13.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        assert upgrade(conn, NOW, target=13) == list(range(1, 14))
        conn.executescript(
            f"""INSERT INTO teams (id, village, tz, chat_id, created_at)
                  VALUES (1, 'Shangba', 'Asia/Shanghai', -100, '{NOW.isoformat()}');
                INSERT INTO people (id, tg_user_id, first_name, created_at, updated_at)
                  VALUES (1, 1002, 'Wang', '{NOW.isoformat()}', '{NOW.isoformat()}');
                INSERT INTO checkins (id, person_id, team_id, chat_id, message_id, update_id,
                  source, outcome, local_date, latitude, longitude, live, sent_at, received_at)
                  VALUES (41, 1, 1, -100, 7, 9, 'message', 'refused', '2026-11-23', 25.5,
                  103.2, 0, '{NOW.isoformat()}', '{NOW.isoformat()}');
                INSERT INTO spot_checks (id, area, area_name, asked_at, deadline)
                  VALUES (1, 'team:1', 'Shangba', '{NOW.isoformat()}', '{NOW.isoformat()}');
                INSERT INTO spot_picks (check_id, person_id, team_id, local_date, chat_id,
                  checkin_id) VALUES (1, 1, 1, '2026-11-23', 1002, 41);"""
        )
        assert upgrade(conn, NOW, target=14) == [14]
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("SELECT id, latitude FROM checkins").fetchall() == [(41, 25.5)]
        schema = " ".join(r[0] for r in conn.execute("SELECT sql FROM sqlite_master") if r[0])
        assert "checkins_new" not in schema and "REFERENCES checkins(id)" in schema
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT checkin_id FROM spot_picks").fetchall() == [(41,)]
        with pytest.raises(sqlite3.IntegrityError):  # still enforced on the new table
            conn.execute(
                "INSERT INTO checkin_requests (kind, person_id, team_id, local_date,"
                " window_name, reason, level, chat_id, requested_at, checkin_id)"
                " VALUES ('makeup', 1, 1, '2026-11-23', 'morning', 'x', 'leader', -100, ?, 999)",
                (NOW.isoformat(),),
            )


async def test_transaction_rolls_back_on_error(store: SqliteStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.create_team("Shangba", "Asia/Shanghai", NOW, None, chat_id=-1)
            raise RuntimeError("the service failed half-way")
    async with store.transaction() as tx:
        assert await tx.get_team_by_chat(-1) is None
        assert await tx.events() == []


async def test_foreign_keys_are_enforced(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction() as tx:
            await tx.add_site(999, "Office", 25.0, 103.0, 300, NOW, None)


async def test_changes_are_audited_and_roles_are_revoked_not_deleted(
    store: SqliteStore, tmp_path: Path
) -> None:
    async with store.transaction() as tx:
        person = await tx.upsert_person(7, "Li", None, None, "zh", NOW)
        team = await tx.create_team("Shangba", "Asia/Shanghai", NOW, person.id, chat_id=-5)
        role = Role("member", team_id=team.id)
        assert await tx.grant_role(person.id, role, NOW, person.id)
        assert not await tx.grant_role(person.id, role, NOW, person.id)  # no duplicate
        assert await tx.revoke_role(person.id, role, NOW, person.id)
        assert not await tx.revoke_role(person.id, role, NOW, person.id)
        assert await tx.grant_role(person.id, role, NOW, person.id)  # may come back
        events = await tx.events(team_id=team.id)
    assert [e.kind for e in events] == [
        "team.created",
        "role.granted",
        "role.revoked",
        "role.granted",
    ]
    assert all(e.actor_id == person.id for e in events)
    with closing(sqlite3.connect(tmp_path / "cunbot.db")) as conn:
        row = conn.execute("SELECT COUNT(*) FROM roles").fetchone()
    assert row is not None and row[0] == 2  # the revoked row is still there


async def test_naive_datetimes_are_refused(store: SqliteStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        async with store.transaction() as tx:
            await tx.upsert_person(7, "Li", None, None, None, datetime(2026, 1, 1))


async def test_pending_input_expires_and_is_taken_once(store: SqliteStore) -> None:
    async with store.transaction() as tx:
        person = await tx.upsert_person(7, "Li", None, None, None, NOW)
        await tx.set_pending(
            -5, person.id, "site.add", {"name": "A"}, NOW, NOW + timedelta(minutes=15)
        )
        assert await tx.take_pending(-5, person.id, "other", NOW) is None
        taken = await tx.take_pending(-5, person.id, "site.add", NOW)
        assert taken is not None and taken.payload == {"name": "A"}
        assert await tx.take_pending(-5, person.id, "site.add", NOW) is None
        await tx.set_pending(
            -5, person.id, "site.add", {"name": "B"}, NOW, NOW + timedelta(minutes=15)
        )
        late = NOW + timedelta(minutes=16)
        assert await tx.take_pending(-5, person.id, "site.add", late) is None


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("cunbot.db", "cunbot.db"),
        ("/var/lib/cunbot/cunbot.db", "/var/lib/cunbot/cunbot.db"),
        ("sqlite:///cunbot.db", "cunbot.db"),
        ("sqlite:////var/lib/cunbot.db", "/var/lib/cunbot.db"),
    ],
)
def test_database_setting(value: str, path: str) -> None:
    assert sqlite_path(value) == path


async def test_postgres_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not supported yet"):
        await open_store("postgresql://localhost/cunbot", NOW)


def _attempt(person_id: int, team_id: int, message_id: int, **changes: object) -> Checkin:
    values: dict[str, object] = {
        "person_id": person_id,
        "team_id": team_id,
        "chat_id": -100,
        "message_id": message_id,
        "update_id": message_id,
        "source": "message",
        "outcome": "checkin",
        "reason": None,
        "flags": ("static",),
        "window": "morning",
        "local_date": date(2026, 11, 23),
        "latitude": 25.5,
        "longitude": 103.2,
        "accuracy_m": None,
        "live": False,
        "forwarded": False,
        "venue": False,
        "site_id": None,
        "distance_m": None,
        "sent_at": NOW,
        "received_at": NOW,
    }
    values.update(changes)
    return Checkin(**values)  # type: ignore[arg-type]


async def test_checkins_are_stored_once_and_counted_once_per_window(store: SqliteStore) -> None:
    async with store.transaction() as tx:
        person = await tx.upsert_person(1, "Wang", None, None, None, NOW)
        team = await tx.create_team("Shangba", "Asia/Shanghai", NOW, person.id, chat_id=-100)
        first = await tx.record_checkin(_attempt(person.id, team.id, 1))
        assert first is not None and first.id > 0 and first.flags == ("static",)
        # The same message again (a redelivered update) is not a second attempt.
        assert await tx.record_checkin(_attempt(person.id, team.id, 1)) is None
        # A second counted check-in in the same window cannot exist; a repeat can.
        assert await tx.record_checkin(_attempt(person.id, team.id, 2)) is None
        repeat = await tx.record_checkin(_attempt(person.id, team.id, 3, outcome="repeat"))
        assert repeat is not None
        edit = _attempt(person.id, team.id, 3, source="live_edit", outcome="presence")
        assert await tx.record_checkin(edit) is not None
        assert await tx.record_checkin(edit) is None  # the same live update twice
        stored = await tx.export_checkins(date(2026, 11, 23), date(2026, 11, 23), team.id)
        assert [(c.message_id, c.source, c.outcome) for c in stored] == [
            (1, "message", "checkin"),
            (3, "message", "repeat"),
            (3, "live_edit", "presence"),
        ]


async def test_a_leave_step_is_decided_once_and_marks_are_claimed_once(
    store: SqliteStore,
) -> None:
    async with store.transaction() as tx:
        wang = await tx.upsert_person(1, "Wang", None, None, None, NOW)
        li = await tx.upsert_person(2, "Li", None, None, None, NOW)
        team = await tx.create_team("Shangba", "Asia/Shanghai", NOW, None, chat_id=-1)
        leave = await tx.create_leave(
            wang.id, team.id, "sick", date(2026, 11, 25), date(2026, 11, 27), "flu",
            ("leader", "township"), -1, NOW,
        )  # fmt: skip
        assert await tx.mark_leave(leave, "reminded", NOW)
        assert not await tx.mark_leave(leave, "reminded", NOW)
        # Two approvers deciding the same step: the second matches nothing.
        assert await tx.decide_leave(leave, "approved", li.id, NOW)
        assert not await tx.decide_leave(leave, "approved", li.id, NOW)
        moved = await tx.get_leave(leave.id)
        assert moved is not None
        assert (moved.state, moved.step, moved.level, moved.reminded_at) == (
            "pending",
            1,
            "township",
            None,  # a new step is reminded afresh
        )
        assert await tx.decide_leave(moved, "rejected", li.id, NOW, "inspection")
        assert not await tx.cancel_leave(moved, wang.id, NOW)  # no longer pending
        done = await tx.get_leave(leave.id)
        assert done is not None and (done.state, done.note) == ("rejected", "inspection")
        assert [d.decision for d in await tx.leave_decisions(leave.id)] == ["approved", "rejected"]
        kinds = [e.kind for e in await tx.events(team.id) if e.kind.startswith("leave.")]
        assert kinds == [
            "leave.requested",
            "leave.routed",
            "leave.reminded",
            "leave.approved",
            "leave.routed",
            "leave.rejected",
        ]
        with pytest.raises(sqlite3.IntegrityError):
            await tx.create_leave(
                wang.id, team.id, "sick", date(2026, 11, 27), date(2026, 11, 25), "x",
                ("township",), -1, NOW,
            )  # fmt: skip


async def test_a_part_left_on_the_wire_by_a_crash_is_skipped_not_resent(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "ledger.db"), NOW)
    try:
        async with store.transaction() as tx:
            planned = NewDelivery("digest.weekly", "2026-W47", "person:1", 1001, NOW)
            assert await tx.add_deliveries([planned, planned], NOW) == 1
            [d] = await tx.due_deliveries(NOW, 10)
            parts = [
                Outgoing(1001, "sendMessage", {"text": f"part {i}"}, delivery_id=d.id,
                         last_part=i == 3)
                for i in (1, 2, 3)
            ]  # fmt: skip
            ids = [await tx.add_outgoing(p, NOW) for p in parts]
            await tx.queue_delivery(d.id, NOW)
            assert await tx.due_deliveries(NOW, 10) == []  # rendered: its parts are sent now
            await tx.outbox_sending([ids[0]], NOW)
            await tx.outbox_sent([ids[0]], 77, NOW)
            await tx.outbox_sending([ids[1]], NOW)  # part 2 on the wire… and the process dies
        async with store.transaction() as tx:
            [settled] = await tx.outbox_settle_interrupted(NOW)
            assert settled.id == ids[1]
            assert [r.id for r in await tx.chat_due(1001, 10)] == [ids[2]]  # part 3 goes next
            [d] = await tx.deliveries("digest.weekly")
            assert (d.parts_sent, d.uncertain, d.state) == (2, 1, "sending")
            await tx.outbox_sending([ids[2]], NOW)
            await tx.outbox_sent([ids[2]], 78, NOW)
            [done] = await tx.deliveries("digest.weekly")
            assert (done.state, done.parts_sent, done.uncertain) == ("sent", 3, 1)
            assert [r.state for r in await tx.outbox_rows(1001)] == ["sent", "uncertain", "sent"]
            assert await tx.plan_once("digest.weekly", "2026-W47", "county:1", NOW)
            assert not await tx.plan_once("digest.weekly", "2026-W47", "county:1", NOW)
            # A reminder whose window closed while the bot was down is not sent late.
            stale = NewDelivery("remind.open", "2026-11-23:morning", "person:1", 1001, NOW,
                                expires_at=NOW + timedelta(hours=1))  # fmt: skip
            await tx.add_deliveries([stale], NOW)
            assert await tx.due_deliveries(NOW + timedelta(hours=2), 10) == []
            [expired] = await tx.deliveries("remind.open")
            assert expired.state == "expired"
    finally:
        await store.close()


async def test_a_failed_part_fails_its_message_and_the_rest_is_not_sent(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "ledger.db"), NOW)
    try:
        async with store.transaction() as tx:
            await tx.add_deliveries([NewDelivery("digest.weekly", "W", "person:1", 5, NOW)], NOW)
            [d] = await tx.due_deliveries(NOW, 10)
            first = await tx.add_outgoing(
                Outgoing(5, "sendMessage", {"text": "a"}, delivery_id=d.id, last_part=False), NOW
            )
            await tx.add_outgoing(
                Outgoing(5, "sendPhoto", {}, file=b"png", filename="c.png", delivery_id=d.id), NOW
            )
            await tx.queue_delivery(d.id, NOW)
            await tx.outbox_failed([first], "Forbidden: bot was blocked by the user", NOW)
            [d] = await tx.deliveries("digest.weekly")
            assert (d.state, d.error) == ("failed", "Forbidden: bot was blocked by the user")
            assert [r.state for r in await tx.outbox_rows(5)] == ["failed", "expired"]
    finally:
        await store.close()


async def test_the_same_file_is_stored_once_and_sent_by_its_telegram_id(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "files.db"), NOW)
    try:
        async with store.transaction() as tx:
            chart = Outgoing(1, "sendPhoto", {}, file=b"\x89PNG" * 100, filename="w.png")
            a = await tx.add_outgoing(chart, NOW)
            b = await tx.add_outgoing(replace(chart, chat_id=2), NOW)
            [ra, rb] = [r for r in await tx.outbox_rows() if r.id in (a, b)]
            file_id = ra.file_id
            assert file_id is not None and rb.file_id == file_id
            await tx.outbox_sending([a], NOW)
            await tx.outbox_sent([a], 9, NOW, (file_id, "AgAD-telegram"))
            kept = await tx.outbox_file(file_id)
            assert (kept.tg_file_id, kept.content) == ("AgAD-telegram", b"\x89PNG" * 100)
            await tx.outbox_sending([b], NOW)
            await tx.outbox_sent([b], 10, NOW)
            await tx.prune_outbox(NOW - timedelta(days=1))  # nothing old enough to forget…
            assert len(await tx.outbox_rows()) == 2
            assert (await tx.outbox_file(file_id)).content is None  # …but the bytes go
    finally:
        await store.close()


async def test_a_unit_commits_together_or_not_at_all(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "unit.db"), NOW)
    try:
        async with store.unit():
            async with store.transaction() as tx:
                await tx.upsert_person(1, "Wang", None, None, None, NOW)
            async with store.transaction() as tx:
                await tx.add_outgoing(Outgoing(1, "sendMessage", {"text": "hi"}), NOW)
        async with store.unit() as unit:
            async with store.transaction() as tx:
                await tx.upsert_person(2, "Zhao", None, None, None, NOW)
            with pytest.raises(ZeroDivisionError):
                async with store.transaction() as tx:  # a savepoint: only it is undone
                    await tx.upsert_person(3, "Sun", None, None, None, NOW)
                    raise ZeroDivisionError
            async with store.transaction() as tx:
                assert await tx.get_person_by_tg(2) is not None
                assert await tx.get_person_by_tg(3) is None
            unit.abandon()  # the handler failed: nothing of it is kept
        with pytest.raises(RuntimeError):
            async with store.unit():
                async with store.transaction() as tx:
                    await tx.upsert_person(4, "Li", None, None, None, NOW)
                raise RuntimeError
        async with store.transaction() as tx:
            assert await tx.get_person_by_tg(1) is not None
            assert [await tx.get_person_by_tg(n) for n in (2, 3, 4)] == [None, None, None]
            assert [r.params["text"] for r in await tx.outbox_rows()] == ["hi"]
        # A unit that only read holds nothing: another task writes while it renders.
        async with store.unit():
            async with store.transaction() as tx:
                await tx.get_person_by_tg(1)
            other = asyncio.create_task(_write(store, 5))
            await asyncio.wait_for(other, 2)
    finally:
        await store.close()


async def _write(store: SqliteStore, tg_user_id: int) -> None:
    async with store.transaction() as tx:
        await tx.upsert_person(tg_user_id, "X", None, None, None, NOW)


async def test_the_inbox_keeps_each_update_once(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "inbox.db"), NOW)
    try:
        update = NewUpdate(41, -100, "message", '{"update_id": 41}', NOW, NOW)
        async with store.transaction() as tx:
            row, _ = await tx.add_updates([update, replace(update, update_id=42)])
            assert await tx.add_updates([update]) == []  # redelivered: recognised at the door
            assert [r.update_id for r in await tx.waiting_updates(0, 10)] == [41, 42]
            assert await tx.update_handled(row.id, NOW)
            assert not await tx.update_handled(row.id, NOW)
            [second] = await tx.waiting_updates(0, 10)
            await tx.update_dead(second.id, "KeyError at handlers/x.py:1", NOW)
            view = await tx.wire_view(NOW)
            assert (view.waiting, [d.update_id for d in view.dead]) == (0, [42])
            assert await tx.retry_update(second.id, NOW) is not None
            assert await tx.retry_update(second.id, NOW) is None  # no longer a dead letter
            assert await tx.prune_inbox(NOW + timedelta(days=3)) == 1
            assert [r.update_id for r in await tx.waiting_updates(0, 10)] == [42]
    finally:
        await store.close()


async def test_a_write_lock_held_elsewhere_is_awaited_without_holding_up_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements run on the loop's thread; only taking the write lock can wait (a ``cunbot``
    command writing meanwhile), and that wait lets everything else run."""
    path = tmp_path / "busy.db"
    store = await SqliteStore.open(path, NOW)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO meta (key, value) VALUES ('other', 'first')")

        async def write() -> str | None:
            async with store.transaction() as tx:
                await tx.set_meta("store", "second")
                return await tx.get_meta("other")

        waiting = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not waiting.done() and ticks == 20  # the loop ran while the store waited
        other.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 5) == "first"  # it saw the other's write

        # A lock never released: the store gives up after BUSY_SECONDS, holding nothing.
        monkeypatch.setattr(sqlite_store, "BUSY_SECONDS", 0.2)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await write()
        other.execute("ROLLBACK")
        assert await write() == "first"
    finally:
        other.close()
        await store.close()


def test_the_roles_rebuild_keeps_every_role_and_invite(tmp_path: Path) -> None:
    """Version 15 rebuilds ``roles`` and ``invites`` to admit the chief commander, the
    department contact and the unit contact: every row keeps its id and place, revoked
    ones stay revoked, and the new roles need their place."""
    path = tmp_path / "v14.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        assert upgrade(conn, NOW, target=14) == list(range(1, 15))
        at = NOW.isoformat()
        conn.executescript(
            f"""INSERT INTO counties (id, name, created_at) VALUES (1, 'Huize', '{at}');
                INSERT INTO teams (id, village, tz, created_at)
                  VALUES (1, 'Shangba', 'Asia/Shanghai', '{at}');
                INSERT INTO people (id, tg_user_id, first_name, created_at, updated_at)
                  VALUES (1, 1002, 'Wang', '{at}', '{at}');
                INSERT INTO roles (id, person_id, role, team_id, granted_at)
                  VALUES (7, 1, 'member', 1, '{at}');
                INSERT INTO roles (id, person_id, role, county_id, granted_at, revoked_at)
                  VALUES (8, 1, 'admin', 1, '{at}', '{at}');
                INSERT INTO invites (code, role, county_id, created_at, expires_at)
                  VALUES ('inv_x', 'admin', 1, '{at}', '{at}');"""
        )
        assert upgrade(conn, NOW) == [15]
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute(
            "SELECT id, role, team_id, county_id, revoked_at IS NOT NULL FROM roles ORDER BY id"
        ).fetchall() == [(7, "member", 1, None, 0), (8, "admin", None, 1, 1)]
        assert conn.execute("SELECT code, role FROM invites").fetchall() == [("inv_x", "admin")]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute(
            "INSERT INTO roles (person_id, role, team_id, granted_at)"
            " VALUES (1, 'commander', 1, ?)",
            (at,),
        )
        with pytest.raises(sqlite3.IntegrityError):  # a contact needs its department
            conn.execute(
                "INSERT INTO roles (person_id, role, county_id, granted_at)"
                " VALUES (1, 'contact', 1, ?)",
                (at,),
            )
        with pytest.raises(sqlite3.IntegrityError):  # and a unit's contact its unit
            conn.execute(
                "INSERT INTO roles (person_id, role, county_id, granted_at)"
                " VALUES (1, 'unit', 1, ?)",
                (at,),
            )
