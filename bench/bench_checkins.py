"""Check-in figures, run by hand: python -m bench.bench_checkins

1. Judging a location (geofence on the WGS-84 ellipsoid against 3 sites, window, rules).
2. A morning rush end to end: 100 teams of 4 share their locations at once through the
   offline Bot API server; how long until every check-in is stored, and until every member
   has an answer (answers are bound by Telegram's ~30 messages a second overall).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.app import serve
from bot.config import load_settings
from rules.checkin import Fix, judge
from rules.policy import DEFAULT_POLICY
from storage.models import Role, Site
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer

TEAMS = 100
MEMBERS = 4
JUDGED = 20_000
# 07:10 in Asia/Shanghai.
MORNING = datetime(2026, 11, 23, 23, 10, tzinfo=UTC) - timedelta(days=1)


def bench_judge() -> None:
    sites = [Site(i, 1, f"S{i}", 25.5 + i / 100, 103.2, 300) for i in range(3)]
    fix = Fix(25.5009, 103.2, 12.0, True, MORNING)
    started = time.perf_counter()
    for _ in range(JUDGED):
        judge(fix, sites, DEFAULT_POLICY, "Asia/Shanghai", MORNING, False)
    elapsed = time.perf_counter() - started
    print(f"judge: {JUDGED} locations in {elapsed:.2f} s ({JUDGED / elapsed:,.0f}/s)")


async def _seed(path: Path, server: BotApiServer) -> None:
    store = await SqliteStore.open(path, MORNING)
    async with store.transaction() as tx:
        for n in range(TEAMS):
            group = -1000 - n
            server.add_group(group, f"Team {n}")
            team = await tx.create_team(
                f"Village {n}", "Asia/Shanghai", MORNING, None, chat_id=group
            )
            await tx.add_site(team.id, "Office", 25.5 + n / 1000, 103.2, 300, MORNING, None)
            for m in range(MEMBERS):
                user = 10_000 + n * MEMBERS + m
                server.add_user(user, f"M{user}")
                server.set_status(group, user, "member")
                person = await tx.upsert_person(user, f"M{user}", None, None, None, MORNING)
                await tx.grant_role(person.id, Role("member", team_id=team.id), MORNING, None)
    await store.close()


async def _stored(path: Path) -> int:
    store = await SqliteStore.open(path, MORNING)
    try:
        async with store.transaction() as tx:
            return len(await tx.export_checkins(date(2026, 11, 23), date(2026, 11, 23)))
    finally:
        await store.close()


async def bench_rush(folder: Path) -> None:
    clock_now = [MORNING]
    server = BotApiServer(clock=lambda: clock_now[0])
    await server.start()
    server.group_limit_per_minute = 20  # as Telegram: a refusal would show in the figures
    path = folder / "rush.db"
    await _seed(path, server)
    settings = load_settings(
        {
            "CUNBOT_TOKEN": server.token,
            "CUNBOT_API_URL": server.url,
            "CUNBOT_DATABASE": str(path),
            "CUNBOT_LANG": "en",
        }
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, lambda: clock_now[0]))
    while not any(c.method == "getUpdates" for c in server.calls):
        await asyncio.sleep(0.01)
    total = TEAMS * MEMBERS
    started = time.perf_counter()
    for n in range(TEAMS):
        for m in range(MEMBERS):
            user = 10_000 + n * MEMBERS + m
            await server.send_location(-1000 - n, user, 25.5009 + n / 1000, 103.2, live_period=3600)
    while await _stored(path) < total:
        await asyncio.sleep(0.05)
    recorded = time.perf_counter() - started

    def answered_lines() -> int:
        return sum(m.content.count("✅ M") for m in server.sent)

    await server.wait_until(lambda: answered_lines() >= total, timeout=300)
    answered = time.perf_counter() - started
    print(
        f"morning rush: {total} check-ins in {TEAMS} groups stored in {recorded:.2f} s "
        f"({total / recorded:.0f}/s); all answered in {answered:.2f} s "
        f"({len(server.sent)} messages, {len(server.rate_limited)} refused with 429)"
    )
    stop.set()
    await task
    await server.stop()


async def main() -> None:
    bench_judge()
    with tempfile.TemporaryDirectory() as folder:
        await bench_rush(Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
