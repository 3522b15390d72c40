"""A synthetic city for the benchmarks, built through the project's own code paths.

The default is the city of issue 16: 10 counties, 130 townships, 2,290 teams (one group and
one 300 m site each), 4,460 members (each team's first member leads it), 260 township
coordinators, 30 county admins, and ``days`` of history before the benchmark's day: a
morning and an evening check-in from most members, a log from two in three with a household
visited in every other one. Organisation rows go through ``import_org``, people and history
through the store's own methods, so what the benchmarks read is shaped as the bot writes it.

Building 90 days takes a few minutes, so a built city is kept under ``bench/.cache`` (named
by its size, history and schema version) and copied for each run.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.app import serve
from bot.config import load_settings
from services.admin import import_org
from services.digest import SCHEDULE_SINCE
from storage.migrate import available_migrations
from storage.models import Checkin, Role
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer

CACHE = Path(__file__).parent / ".cache"
TZ = "Asia/Shanghai"
HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"
HOUSEHOLDS = 30  # a team's register
BUILD = 2  # the builder's version


@dataclass(frozen=True)
class Size:
    teams: int = 2290
    members: int = 4460
    townships: int = 130
    counties: int = 10
    coordinators_per_township: int = 2
    admins_per_county: int = 3


@dataclass(frozen=True)
class City:
    """Where a built city is and who is in it: Telegram ids, chats and sites by team index."""

    path: Path
    size: Size
    days: int
    today: date  # the benchmark's day: history covers the ``days`` before it

    def chat(self, team: int) -> int:
        return -1_000_000_000 - team

    def site(self, team: int) -> tuple[float, float]:
        # Sites 1.1 km apart on a grid: a member's point is near their own site only.
        return 25.0 + (team % 100) * 0.01, 103.0 + (team // 100) * 0.01

    def member(self, index: int) -> int:
        return 10_000_000 + index

    def team_of(self, index: int) -> int:
        return index % self.size.teams

    def members_of(self, team: int) -> list[int]:
        return list(range(team, self.size.members, self.size.teams))

    def leader(self, team: int) -> int:
        return self.member(team)  # the team's first member

    def township_of(self, team: int) -> int:
        return team * self.size.townships // self.size.teams

    def county_of(self, township: int) -> int:
        return township * self.size.counties // self.size.townships

    @property
    def coordinators(self) -> list[int]:
        n = self.size.townships * self.size.coordinators_per_township
        return [20_000_000 + k for k in range(n)]

    @property
    def admins(self) -> list[int]:
        return [30_000_000 + k for k in range(self.size.counties * self.size.admins_per_county)]

    def moment(self, day: date, hour: int, minute: int = 0) -> datetime:
        """A local time of day in the city's zone (UTC+8, no DST) as UTC."""
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)

    def register(self, server: BotApiServer) -> None:
        """Make the city's people and groups known to the offline server."""
        for team in range(self.size.teams):
            server.add_group(self.chat(team), f"Team {team}")
        for index in range(self.size.members):
            tg = self.member(index)
            server.add_user(tg, f"M{index}")
            server.set_status(self.chat(self.team_of(index)), tg, "member")
        for tg in self.coordinators + self.admins:
            server.add_user(tg, f"O{tg}")
        for tg in (
            self.coordinators + self.admins + [self.leader(t) for t in range(self.size.teams)]
        ):
            server.start_private(tg)


def _code(team: int) -> str:
    return f"T-{team:04d}"


async def _build(city: City, target: Path) -> None:
    size = city.size
    first_day = city.today - timedelta(days=city.days)
    setup = city.moment(first_day, 0) - timedelta(days=30)
    store = await SqliteStore.open(target, setup)
    try:
        rows = "".join(
            f"County {city.county_of(city.township_of(n))},"
            f"Township {city.township_of(n)},{_code(n)},Village {n},{TZ},Office,"
            f"{city.site(n)[0]},{city.site(n)[1]},300\n"
            for n in range(size.teams)
        )
        report = await import_org(store, setup, HEADER + rows, TZ)
        assert not report.problems, report.problems
        teams = []
        async with store.transaction() as tx:
            # Scheduled work begins on the benchmark's day: no digests of past weeks to catch up.
            await tx.set_meta(SCHEDULE_SINCE, city.moment(city.today, 0).isoformat())
            # Groups are bound by whoever set the city up: its first county admin.
            operator = await tx.upsert_person(city.admins[0], "O", None, None, None, setup)
            for n in range(size.teams):
                team = await tx.get_team_by_code(_code(n))
                assert team is not None and team.township_id is not None
                await tx.bind_team_chat(team.id, city.chat(n), setup, operator.id)
                teams.append(team)
            people = []
            for index in range(size.members):
                tg = city.member(index)
                person = await tx.upsert_person(tg, f"M{index}", None, None, None, setup)
                team = teams[city.team_of(index)]
                await tx.grant_role(person.id, Role("member", team_id=team.id), setup, None)
                if city.leader(city.team_of(index)) == tg:
                    await tx.grant_role(person.id, Role("leader", team_id=team.id), setup, None)
                    await tx.note_private(tg, setup)
                people.append(person)
            townships = {city.township_of(n): t.township_id for n, t in enumerate(teams)}
            for k, tg in enumerate(city.coordinators):
                person = await tx.upsert_person(tg, f"O{tg}", None, None, None, setup)
                township = townships[k // size.coordinators_per_township]
                await tx.grant_role(
                    person.id, Role("coordinator", township_id=township), setup, None
                )
                await tx.note_private(tg, setup)
            counties = sorted({t.county_id for t in teams if t.county_id is not None})
            for k, tg in enumerate(city.admins):
                person = await tx.upsert_person(tg, f"O{tg}", None, None, None, setup)
                county = counties[k // size.admins_per_county]
                await tx.grant_role(person.id, Role("admin", county_id=county), setup, None)
                await tx.note_private(tg, setup)
            households = {}
            for n, team in enumerate(teams):
                for h in range(HOUSEHOLDS):
                    found = await tx.add_household(
                        team.id, f"H{n}-{h}", None, "import", setup, None
                    )
                    assert found is not None
                    households[(n, h)] = found.id
        message = 1
        for d in range(min(city.days, WEEK)):
            day = first_day + timedelta(days=d)
            async with store.transaction() as tx:
                for index, person in enumerate(people):
                    n = city.team_of(index)
                    team = teams[n]
                    lat, lon = city.site(n)
                    for window, hour, present in (
                        ("morning", 7, (index + d) % 9 != 0),
                        ("evening", 18, (index + 2 * d) % 8 != 0),
                    ):
                        if not present:
                            continue
                        at = city.moment(day, hour, 30)
                        message += 1
                        await tx.record_checkin(
                            Checkin(
                                person_id=person.id,
                                team_id=team.id,
                                chat_id=city.chat(n),
                                message_id=message,
                                update_id=0,
                                source="message",
                                outcome="checkin",
                                reason=None,
                                flags=(),
                                window=window,
                                local_date=day,
                                latitude=lat + 0.0005,
                                longitude=lon,
                                accuracy_m=12.0,
                                live=True,
                                forwarded=False,
                                venue=False,
                                site_id=None,
                                distance_m=55.0,
                                sent_at=at,
                                received_at=at,
                            )
                        )
                    if (index + d) % 3 == 0:
                        continue
                    at = city.moment(day, 20)
                    message += 1
                    log = await tx.create_log(
                        person.id, team.id, day, city.chat(n), message, None,
                        f"Visited H{n}-{d % HOUSEHOLDS}; talked about the road.", at, at,
                    )  # fmt: skip
                    if log is not None and (index + d) % 2 == 0:
                        household = households[(n, (index + d) % HOUSEHOLDS)]
                        await tx.add_visit(log, household, "mention", at, person.id)
    finally:
        await store.close()
    _repeat_weeks(target, first_day, city.days)


# History is written through the store for its first week; later weeks copy that week's rows
# with their days, times and message ids shifted (by SQL: writing 90 days a statement at a
# time would take most of an hour).
WEEK = 7
_SHIFTED = {
    "checkins": (("local_date",), ("sent_at", "received_at"), ("message_id",)),
    "work_logs": (("local_date",), ("written_at", "received_at"), ("id", "message_id")),
    "log_revisions": ((), ("edited_at", "received_at"), ("log_id",)),
    "visits": ((), ("added_at",), ("log_id",)),
    "events": ((), ("at",), ()),
}
# A stored moment (``to_db``: microseconds and offset) some days later, in the same form.
_LATER = "strftime('%Y-%m-%dT%H:%M:%S', {column}, '+{days} days') || substr({column}, 20)"


def _repeat_weeks(path: Path, first_day: date, days: int) -> None:
    conn = sqlite3.connect(path)
    try:
        span = {t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]
                for t in ("checkins", "work_logs")}  # fmt: skip
        step = max(span.values()) + 1
        # Events of the template week only: later weeks' copies are not copied again.
        template_end = (first_day + timedelta(days=WEEK)).isoformat()
        for week in range(1, (days + WEEK - 1) // WEEK):
            shift = week * WEEK
            last = (first_day + timedelta(days=days - 1 - shift)).isoformat()
            for table, (dates, moments, offsets) in _SHIFTED.items():
                columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
                if "id" in columns and "id" not in offsets:
                    columns.remove("id")
                values = []
                for c in columns:
                    if c in dates:
                        values.append(f"date({c}, '+{shift} days')")
                    elif c in moments:
                        values.append(_LATER.format(column=c, days=shift))
                    elif c in offsets:
                        values.append(f"{c} + {week * step}")
                    else:
                        values.append(c)
                where = _where(table, last, template_end, step)
                conn.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(values)} FROM {table} WHERE {where}"
                )
        conn.commit()
        conn.execute("VACUUM")
    finally:
        conn.close()


def _where(table: str, last: str, template_end: str, step: int) -> str:
    """The template week's rows whose copy still falls before the benchmark's day."""
    if table == "checkins":
        return f"message_id < {step} AND local_date <= '{last}'"
    if table == "work_logs":
        return f"id < {step} AND local_date <= '{last}'"
    if table in ("log_revisions", "visits"):
        return f"log_id IN (SELECT id FROM work_logs WHERE id < {step} AND local_date <= '{last}')"
    return (
        f"kind IN ('log.written', 'visit.added') AND at < '{template_end}'"
        f" AND at <= '{last}T23:59:59'"
    )


async def build(days: int = 90, size: Size = Size(), today: date = date(2026, 11, 23)) -> City:
    """The city with ``days`` of history, from the cache when it was built before."""
    # Named by what it holds: a changed builder (BUILD) or schema builds a new one.
    name = (
        f"city-{size.teams}t-{size.members}m-{days}d-{today}"
        f"-v{len(available_migrations())}-b{BUILD}.db"
    )
    cached = CACHE / name
    city = City(cached, size, days, today)
    if not cached.exists():
        CACHE.mkdir(exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        print(f"building the city ({size.teams} teams, {days} days of history) …", flush=True)
        await _build(City(partial, size, days, today), partial)
        _settle(partial, cached)
        print(f"built in {time.perf_counter() - started:.0f} s: {cached}", flush=True)
    return city


def _settle(partial: Path, cached: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(cached)


def copy(
    city: City,
    folder: Path,
    scheduled_since: datetime | None = None,
    reminded: Sequence[str] = (),
) -> City:
    """A working copy the benchmark may change. With ``scheduled_since`` digests count as
    planned before that moment; ``reminded`` names today's team reminders already sent
    (``"open:morning"``), so only the work a benchmark measures falls due."""
    target = folder / city.path.name
    shutil.copyfile(city.path, target)
    if scheduled_since is not None:
        conn = sqlite3.connect(target)
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = ?", (scheduled_since.isoformat(), SCHEDULE_SINCE)
        )
        for slot in reminded:
            kind, window = slot.split(":")
            conn.execute(
                "INSERT OR IGNORE INTO delivery_plans (kind, period, scope, planned_at)"
                " SELECT ?, ?, 'team:' || id, ? FROM teams",
                (f"remind.{kind}", f"{city.today}:{window}", scheduled_since.isoformat()),
            )
        conn.commit()
        conn.close()
    return City(target, city.size, city.days, city.today)


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teams", type=int, default=Size.teams)
    parser.add_argument("--members", type=int, default=Size.members)


def size_of(args: argparse.Namespace) -> Size:
    """A city of the asked size, with townships and counties in the default's proportions."""
    return Size(
        teams=args.teams,
        members=args.members,
        townships=max(1, args.teams * Size.townships // Size.teams),
        counties=max(1, args.teams * Size.counties // Size.teams),
    )


async def start_bot(
    city: City, server: BotApiServer, clock: Callable[[], datetime], **env: str
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """The real bot (``serve``) on the city's file, polling the offline server; set the
    event to stop it, then await the task."""
    settings = load_settings(
        {
            "CUNBOT_TOKEN": server.token,
            "CUNBOT_API_URL": server.url,
            "CUNBOT_DATABASE": str(city.path),
            **env,
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, clock))
    while not any(c.method == "getUpdates" for c in server.calls):
        await asyncio.sleep(0.01)
    return stop, task
