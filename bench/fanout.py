"""The Monday fan-out at Telegram's limit while members check in, run by hand:

    python -m bench.fanout [--days 90] [--teams 2290]

On the city of ``bench/city.py``: the bot runs against the offline Bot API server enforcing
30 messages a second overall and 20 a minute in a group. First, for two minutes before the
digest is due, two members a second share their location (check-in handling time without the
fan-out). Then the clock moves to Monday 08:05: the weekly digest falls due for every
coordinator, county admin and team leader (text, PNG, XLSX each), privately, while two members
a second go on checking in.

It prints how long the fan-out took against the ideal (every message it sent ÷ 30 a second),
the 429 answers, whether every planned message reached its chat exactly once (the server's
count against the outbox's), and check-in handling time (inbox: received → handled) p50 and
p99 with and without the fan-out.

Targets (issue 16): within 10 % of the ideal, zero 429, nothing lost or sent twice, a
check-in's p99 during the fan-out within 3× of its p99 without.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench import city as cities
from bench.city import City, Size
from tests.botapi_server import BotApiServer

RATE = 2.0  # check-ins a second
BASELINE_SECONDS = 120.0


class Clock:
    """Real time moved to the city's morning; ``move_to`` jumps it (time keeps flowing)."""

    def __init__(self, start: datetime) -> None:
        self.move_to(start)

    def move_to(self, moment: datetime) -> None:
        self._offset = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset


async def _check_ins(city: City, server: BotApiServer, first: int, stop: asyncio.Event) -> int:
    """Members share their location in their groups, RATE a second, until ``stop``."""
    member = first
    while not stop.is_set():
        team = city.team_of(member)
        lat, lon = city.site(team)
        await server.send_location(
            city.chat(team), city.member(member), lat + 0.0004, lon, horizontal_accuracy=10
        )
        member += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / RATE)
    return member


def _latencies(path: Path, since: datetime, until: datetime) -> list[float]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT received_at, handled_at FROM inbox WHERE kind = 'message' AND state = 'handled'"
        " AND received_at >= ? AND received_at < ?",
        (since.isoformat(timespec="microseconds"), until.isoformat(timespec="microseconds")),
    ).fetchall()
    conn.close()
    return [
        (datetime.fromisoformat(h) - datetime.fromisoformat(r)).total_seconds() * 1000
        for r, h in rows
    ]


def _outbox_counts(path: Path, chats: set[int]) -> tuple[Counter[int], Counter[str]]:
    conn = sqlite3.connect(path)
    per_chat: Counter[int] = Counter()
    states: Counter[str] = Counter()
    for chat_id, state, method in conn.execute("SELECT chat_id, state, method FROM outbox"):
        if chat_id in chats and method != "sendChatAction":
            states[state] += 1
            if state in ("sent", "uncertain"):
                per_chat[chat_id] += 1
    conn.close()
    return per_chat, states


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(days: int, size: Size) -> None:
    city = await cities.build(days, size)
    with tempfile.TemporaryDirectory() as folder:
        before = city.moment(city.today, 7, 30)
        due = city.moment(city.today, 8, 5)
        work = cities.copy(city, Path(folder), scheduled_since=before, reminded=["open:morning"])
        clock = Clock(before)
        server = BotApiServer(clock=clock)
        server.global_limit_per_second = 30
        server.group_limit_per_minute = 20
        work.register(server)
        await server.start()
        stop, task = await cities.start_bot(
            work, server, clock, CUNBOT_LANG="zh", CUNBOT_TICK_SECONDS="5"
        )
        recipients = set(work.coordinators + work.admins)
        recipients |= {work.leader(t) for t in range(work.size.teams)}

        # Without the fan-out.
        quiet = asyncio.Event()
        baseline = asyncio.create_task(_check_ins(work, server, 0, quiet))
        await asyncio.sleep(BASELINE_SECONDS)
        quiet.set()
        member = await baseline
        without = _latencies(work.path, before, clock())

        # The fan-out, with check-ins going on.
        clock.move_to(due)
        mark = len(server.sent)
        started = time.perf_counter()
        busy = asyncio.Event()
        during_task = asyncio.create_task(_check_ins(work, server, member, busy))
        want = 3 * len(recipients)
        while sum(1 for m in server.sent[mark:] if m.chat_id in recipients) < want:
            await asyncio.sleep(0.5)
            if time.perf_counter() - started > 1800:
                print("gave up after 30 minutes")
                break
        elapsed = time.perf_counter() - started
        busy.set()
        await during_task
        sent_in_fanout = len(server.sent) - mark
        during = _latencies(work.path, due, clock())
        await asyncio.sleep(2)
        stop.set()
        await task
        await server.stop()
        per_chat, states = _outbox_counts(work.path, recipients)
        received = Counter(m.chat_id for m in server.sent if m.chat_id in recipients)
        mismatched = sum(1 for chat in recipients if received[chat] != per_chat[chat])

    ideal = sent_in_fanout / 30
    ratio = elapsed / ideal
    print(f"{size.teams} teams, {days} days of history; {len(recipients)} recipients:")
    print(f"  the fan-out: {sent_in_fanout} messages (digests and check-in answers) in "
          f"{elapsed:.0f} s; ideal at 30 a second {ideal:.0f} s: {ratio:.2f}×")  # fmt: skip
    print(f"  429 answers: {len(server.rate_limited)}; other refusals: {len(server.problems)}")
    print(f"  outbox rows to recipients by state: {dict(states)}; chats where the server's count "
          f"differs from the outbox's: {mismatched}")  # fmt: skip
    p99_without, p99_during = _pct(without, 0.99), _pct(during, 0.99)
    worse = p99_during / p99_without
    print(f"  a check-in without the fan-out: p50 {statistics.median(without):.1f} ms, "
          f"p99 {p99_without:.1f} ms ({len(without)})")  # fmt: skip
    print(f"  a check-in during the fan-out:  p50 {statistics.median(during):.1f} ms, "
          f"p99 {p99_during:.1f} ms ({len(during)}) = {worse:.1f}× the p99")  # fmt: skip


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    cities.add_size_arguments(parser)
    args = parser.parse_args(argv)
    await run(args.days, cities.size_of(args))


if __name__ == "__main__":
    asyncio.run(main())
