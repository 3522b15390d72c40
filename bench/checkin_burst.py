"""Location updates through the bot against a city's history, run by hand:

    python -m bench.checkin_burst [--days 0 90 180] [--updates 10000] [--rounds 3] [--teams 2290]

For each history length, the same 10,000 location updates — members sharing a live location
in their group in the morning window (new check-ins), those shares moving (``edited_message``;
one move in four leaves the site, which is kept), and static pins from members already checked
in (repeats) — go through the offline Bot API server to three subjects, in the same run:

- **bot**: ``serve()``, the real application with its inbox, store and outbox;
- **bare**: python-telegram-bot's own ``Updater`` and a handler that does nothing;
- **bare+insert**: the same with one committed aiosqlite INSERT per update, the floor for an
  update kept durably (WAL, synchronous=NORMAL, as the store).

The three take turns, three rounds by default (``--rounds``), and the medians are printed:
updates a second for each and the ratios; then, one update at a time (so nothing
queues), the bot's time per update by kind, from its inbox (received → handled), p50 and p99.
Targets (issue 16): the bot at 50 % or more of bare+insert, a move within 2× of a new check-in,
the same figures (±20 %) whatever the history.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bench import city as cities
from bench.city import City, Size
from bot.config import load_settings
from tests.botapi_server import BotApiServer, Json

SHARES, MOVES = 0.3, 0.6  # of the updates; the rest are repeat pins
PER_KIND = 150  # updates of each kind timed one at a time


@dataclass(frozen=True)
class Step:
    kind: str  # 'share', 'move', 'repeat'
    member: int
    away: bool = False  # a move that leaves the site


def workload(city: City, updates: int) -> list[Step]:
    """Shares first (a member shares once), then moves and repeats interleaved."""
    # The last PER_KIND members are kept for the timed pass.
    shares = min(int(updates * SHARES), city.size.members - PER_KIND)
    steps = [Step("share", m) for m in range(shares)]
    moves = int(updates * MOVES)
    rest = updates - shares - moves
    for k in range(moves + rest):
        member = k % shares
        # Spread the moves evenly among the repeats.
        if (k + 1) * moves // (moves + rest) != k * moves // (moves + rest):
            steps.append(Step("move", member, away=k % 4 == 0))
        else:
            steps.append(Step("repeat", member))
    return steps


class Driver:
    """Sends a workload's steps as a city's members would, through the offline server."""

    def __init__(self, city: City, server: BotApiServer) -> None:
        self.city = city
        self.server = server
        self.shared: dict[int, Json] = {}

    async def send(self, step: Step) -> None:
        city, server = self.city, self.server
        team = city.team_of(step.member)
        lat, lon = city.site(team)
        tg, chat = city.member(step.member), city.chat(team)
        if step.kind == "share":
            self.shared[step.member] = await server.send_location(
                chat, tg, lat + 0.0004, lon, live_period=28800, horizontal_accuracy=10
            )
        elif step.kind == "move":
            north = 0.006 if step.away else 0.0004 + (step.member % 7) * 0.00001
            await server.edit_live_location(
                self.shared[step.member], lat + north, lon, horizontal_accuracy=10
            )
        else:
            await server.send_location(chat, tg, lat + 0.0003, lon, horizontal_accuracy=10)


def shifted_clock(start: datetime) -> Callable[[], datetime]:
    """Real time moved to the city's morning, so the bot's and the server's times flow."""
    offset = start - datetime.now(start.tzinfo)
    return lambda: datetime.now(start.tzinfo) + offset


# ---------------------------------------------------------------------- subjects
async def run_bot(
    city: City, steps: list[Step], folder: Path
) -> tuple[float, dict[str, list[float]]]:
    start = city.moment(city.today, 7, 5)
    # The morning's reminders went out at 06:00: only location updates are measured.
    work = cities.copy(city, folder, scheduled_since=start, reminded=["open:morning"])
    clock = shifted_clock(start)
    server = BotApiServer(clock=clock)
    work.register(server)
    await server.start()
    stop, task = await cities.start_bot(work, server, clock, CUNBOT_LANG="en")
    reader = sqlite3.connect(work.path, timeout=30)
    try:
        driver = Driver(work, server)
        base = _handled(reader)
        started = time.perf_counter()
        for step in steps:
            await driver.send(step)
        while _handled(reader) < base + len(steps):
            await asyncio.sleep(0.05)
        rate = len(steps) / (time.perf_counter() - started)
        # One at a time: new shares (members who have not shared yet), their moves, repeats.
        timed: dict[str, list[float]] = {}
        fresh = list(range(len(driver.shared), work.size.members))[:PER_KIND]
        for kind, members in (("share", fresh), ("move", fresh), ("repeat", fresh)):
            for member in members:
                before = _handled(reader)
                await driver.send(Step(kind, member, away=kind == "move" and member % 4 == 0))
                while _handled(reader) == before:
                    await asyncio.sleep(0.002)
            timed[kind] = _spans(reader, len(members))
        return rate, timed
    finally:
        reader.close()
        stop.set()
        await task
        await server.stop()


async def _polling(server: BotApiServer) -> None:
    while not any(c.method == "getUpdates" for c in server.calls):
        await asyncio.sleep(0.01)


def _handled(reader: sqlite3.Connection) -> int:
    row = reader.execute("SELECT COUNT(*) FROM inbox WHERE state != 'new'").fetchone()
    return int(row[0])


def _spans(reader: sqlite3.Connection, last: int) -> list[float]:
    """Milliseconds from receipt to handled mark of the last ``last`` updates."""
    rows = reader.execute(
        "SELECT received_at, handled_at FROM inbox WHERE state = 'handled'"
        " ORDER BY id DESC LIMIT ?",
        (last,),
    ).fetchall()
    return [
        (datetime.fromisoformat(h) - datetime.fromisoformat(r)).total_seconds() * 1000
        for r, h in rows
    ]


async def run_bare(city: City, steps: list[Step], folder: Path, insert: bool) -> float:
    clock = shifted_clock(city.moment(city.today, 7, 5))
    server = BotApiServer(clock=clock)
    city.register(server)
    await server.start()
    settings = load_settings({"CUNBOT_TOKEN": server.token, "CUNBOT_API_URL": server.url})
    done = asyncio.Event()
    seen = [0]
    db: aiosqlite.Connection | None = None
    if insert:
        db = await aiosqlite.connect(folder / "bare.db")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("CREATE TABLE IF NOT EXISTS updates (update_id INTEGER UNIQUE, body TEXT)")
        await db.commit()

    async def handle(update: Update, context: Any) -> None:
        if db is not None:
            await db.execute(
                "INSERT INTO updates VALUES (?, ?)", (update.update_id, str(update.to_json()))
            )
            await db.commit()
        seen[0] += 1
        if seen[0] >= len(steps):
            done.set()

    app = (
        Application.builder()
        .token(server.token)
        .base_url(settings.bot_api_base)
        .context_types(ContextTypes())
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, handle))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)
    try:
        await _polling(server)
        driver = Driver(city, server)
        started = time.perf_counter()
        for step in steps:
            await driver.send(step)
        await asyncio.wait_for(done.wait(), 600)
        return len(steps) / (time.perf_counter() - started)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if db is not None:
            await db.close()
        await server.stop()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(days: int, updates: int, size: Size, rounds: int) -> dict[str, float]:
    """The three subjects in turn, ``rounds`` times (the machine's noise falls on each alike);
    medians of the rates, and every timed update pooled."""
    city = await cities.build(days, size)
    steps = workload(city, updates)
    bares, floors, rates = [], [], []
    timed: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(rounds):
            bares.append(await run_bare(city, steps, Path(folder), insert=False))
            for suffix in ("", "-wal", "-shm"):
                (Path(folder) / f"bare.db{suffix}").unlink(missing_ok=True)
            floors.append(await run_bare(city, steps, Path(folder), insert=True))
            rate, spans = await run_bot(city, steps, Path(folder))
            rates.append(rate)
            for kind, values in spans.items():
                timed.setdefault(kind, []).extend(values)
    bare, floor, rate = (statistics.median(x) for x in (bares, floors, rates))
    p50 = {k: statistics.median(v) for k, v in timed.items()}
    print(f"\n{days} days of history, {len(steps):,} updates, median of {rounds} rounds "
          f"({sum(s.kind == 'share' for s in steps)} shares, "
          f"{sum(s.kind == 'move' for s in steps)} moves, "
          f"{sum(s.kind == 'repeat' for s in steps)} repeats):")  # fmt: skip
    print(f"  bare python-telegram-bot, no-op handler: {bare:8,.0f} updates a second")
    print(f"  bare + one committed aiosqlite INSERT:   {floor:8,.0f} updates a second")
    print(f"  the bot:                                 {rate:8,.0f} updates a second "
          f"= {rate / floor:.0%} of bare+insert, {rate / bare:.0%} of bare")  # fmt: skip
    for kind, values in timed.items():
        print(f"  one {kind:<6}: p50 {p50[kind]:6.1f} ms, p99 {_pct(values, 0.99):6.1f} ms")
    print(f"  a move costs {p50['move'] / p50['share']:.2f}× a new check-in (p50)")
    return {"rate": rate, "floor": floor, "bare": bare, **{f"p50_{k}": v for k, v in p50.items()}}


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[0, 90, 180])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    cities.add_size_arguments(parser)
    args = parser.parse_args(argv)
    size = cities.size_of(args)
    results = {d: await measure(d, args.updates, size, args.rounds) for d in args.days}
    if len(results) > 1:
        first = results[args.days[0]]
        print("\nagainst the first history (1.00 = the same):")
        for d, r in results.items():
            print(f"  {d:>3} days: bot/bare+insert {r['rate'] / r['floor']:.2f}, "
                  f"share p50 {r['p50_share'] / first['p50_share']:.2f}×, "
                  f"move p50 {r['p50_move'] / first['p50_move']:.2f}×")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
