"""Foundation figures, run by hand: python -m bench.bench_foundation

1. Importing a city (2,290 teams, one site each) into a fresh SQLite file.
2. Commands handled per second end to end: offline Bot API server -> bot -> SQLite -> reply,
   each in its own private chat, so the bot's pace of about 28 messages a second overall
   (Telegram's limit) is the ceiling.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import serve
from bot.config import load_settings
from services.admin import import_org
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer

HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"
TEAMS = 2290
COMMANDS = 500


async def bench_import(folder: Path) -> None:
    rows = "".join(
        f"City,T{n // 20},C-{n:04d},Village {n},,Office,25.{n:04d},103.2,\n" for n in range(TEAMS)
    )
    now = datetime.now(UTC)
    store = await SqliteStore.open(folder / "import.db", now)
    started = time.perf_counter()
    report = await import_org(store, now, HEADER + rows, "Asia/Shanghai")
    elapsed = time.perf_counter() - started
    await store.close()
    print(
        f"import: {report.teams} teams, {report.sites} sites in {elapsed:.2f} s "
        f"({report.teams / elapsed:.0f} teams/s)"
    )


async def bench_commands(folder: Path) -> None:
    server = BotApiServer()
    await server.start()
    settings = load_settings(
        {
            "CUNBOT_TOKEN": server.token,
            "CUNBOT_API_URL": server.url,
            "CUNBOT_DATABASE": str(folder / "e2e.db"),
            "CUNBOT_LANG": "en",
        }
    )
    for user in range(2, COMMANDS + 2):
        server.add_user(user, f"User{user}")
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    # Sent before start-up ends: the bot handles them once it polls, as after any downtime.
    mark = len(server.sent)
    started = time.perf_counter()
    for user in range(2, COMMANDS + 2):
        await server.send_text(user, user, "/lang en")
    await server.wait_for(lambda m: len(server.sent) - mark >= COMMANDS, timeout=120)
    elapsed = time.perf_counter() - started
    print(
        f"end to end: {COMMANDS} /lang handled in {elapsed:.2f} s "
        f"({COMMANDS / elapsed:.0f} updates/s, each a write and a reply; the overall send pace"
        " is the bound)"
    )
    stop.set()
    await task
    await server.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        await bench_import(Path(folder))
        await bench_commands(Path(folder))


if __name__ == "__main__":
    asyncio.run(main())
