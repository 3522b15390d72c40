"""Digest figures, run by hand: python -m bench.bench_digest

A city of 2,290 teams (two members each, a week of morning check-ins) in 115 townships, and
2,290 township coordinators (20 a township). At Monday 08:05 the weekly digest falls due: how
long planning takes, how long the fan-out of 2,290 × 3 messages (text, PNG, XLSX) takes through
the offline Bot API server enforcing Telegram's limits, and how many 429 answers it drew.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.app import serve
from bot.config import load_settings
from services.admin import import_org
from services.digest import SCHEDULE_SINCE
from storage.models import Checkin, Role
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer

HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"
TEAMS = 2290
PER_TOWNSHIP = 20
MONDAY_0805 = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)


async def seed(path: Path) -> list[int]:
    """The city, its members' week, and the coordinators' Telegram ids."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    store = await SqliteStore.open(path, now)
    rows = "".join(
        f"City,T{n // PER_TOWNSHIP},C-{n:04d},Village {n},,Office,25.5,103.2,\n"
        for n in range(TEAMS)
    )
    await import_org(store, now, HEADER + rows, "Asia/Shanghai")
    coordinators = []
    async with store.transaction() as tx:
        await tx.set_meta(SCHEDULE_SINCE, now.isoformat())
        for n in range(TEAMS):
            team = await tx.get_team_by_code(f"C-{n:04d}")
            assert team is not None and team.township_id is not None
            for k in range(2):
                tg = 100_000 + 2 * n + k
                person = await tx.upsert_person(tg, f"M{tg}", None, None, "en", now)
                await tx.grant_role(person.id, Role("member", team_id=team.id), now, None)
                for d in range(16, 21 + k):
                    day = date(2026, 11, d)
                    at = datetime(2026, 11, d, tzinfo=UTC) - timedelta(hours=1)
                    await tx.record_checkin(
                        Checkin(
                            person.id,
                            team.id,
                            -1,
                            tg * 100 + d,
                            0,
                            "message",
                            "checkin",
                            None,
                            (),
                            "morning",
                            day,
                            25.5,
                            103.2,
                            10.0,
                            True,
                            False,
                            False,
                            None,
                            10.0,
                            at,
                            at,
                        )
                    )
            tg = 500_000 + n
            coordinator = await tx.upsert_person(tg, f"C{tg}", None, None, "en", now)
            role = Role("coordinator", township_id=team.township_id)
            await tx.grant_role(coordinator.id, role, now, None)
            coordinators.append(tg)
    await store.close()
    return coordinators


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "city.db"
        started = time.perf_counter()
        coordinators = await seed(database)
        print(f"seeded {TEAMS} teams, {2 * TEAMS} members, {len(coordinators)} coordinators "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        server = BotApiServer(clock=lambda: MONDAY_0805)
        server.global_limit_per_second = 30
        server.group_limit_per_minute = 20
        await server.start()
        for tg in coordinators:
            server.add_user(tg, f"C{tg}")
            server.start_private(tg)
        settings = load_settings(
            {
                "CUNBOT_TOKEN": server.token,
                "CUNBOT_API_URL": server.url,
                "CUNBOT_DATABASE": str(database),
                "CUNBOT_LANG": "en",
                "CUNBOT_TICK_SECONDS": "5",
            }
        )
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(serve(settings, stop, lambda: MONDAY_0805))
        want = 3 * len(coordinators)
        first = None
        while True:
            got = sum(1 for m in server.sent if m.chat_id >= 500_000)
            if got and first is None:
                first = time.perf_counter() - started
            if got >= want:
                break
            await asyncio.sleep(1)
        elapsed = time.perf_counter() - started
        per_chat = Counter(m.chat_id for m in server.sent if m.chat_id >= 500_000)
        print(f"first digest message after {first:.1f} s; all {want} messages to "
              f"{len(per_chat)} coordinators in {elapsed:.0f} s ({want / elapsed:.1f} a second); "
              f"each got {set(per_chat.values())}; 429 answers: {len(server.rate_limited)}; "
              f"other refusals: {len(server.problems)}")  # fmt: skip
        stop.set()
        await task
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
