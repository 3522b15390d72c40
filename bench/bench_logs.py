"""Work-log figures, run by hand: python -m bench.bench_logs

1. Finding the households a log names against a village's register of 500 households.
2. A team's month in the store: 5 members writing 3 logs a day for 30 days, each naming two
   households; then reading a day's logs, the whole month's, a household's ledger, and
   drawing a sample of the month's visits.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rules.logs import draw_sample, find_mentions
from storage.models import Role
from storage.sqlite import SqliteStore

HOUSEHOLDS = 500
MEMBERS = 5
DAYS = 30
PER_DAY = 3
SEARCHES = 5_000
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _names() -> list[str]:
    surnames = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
    names = {random.choice(surnames) + "".join(random.sample(given, 2)) for _ in range(2000)}
    return sorted(names)[:HOUSEHOLDS]


def bench_mentions(names: list[str]) -> None:
    text = f"上午走访@@{names[10]}家，了解医保缴纳；下午到@@{names[400]}、@@王某某，核实低保。"
    started = time.perf_counter()
    for _ in range(SEARCHES):
        found = find_mentions(text, names)
    elapsed = time.perf_counter() - started
    assert found.known == (names[10], names[400]) and found.unknown == ("王某某",)
    per = elapsed / SEARCHES * 1000
    print(f"find_mentions: {SEARCHES} logs against {HOUSEHOLDS} households, {per:.2f} ms each")


async def bench_store(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await SqliteStore.open(Path(folder) / "bench.db", NOW)
        async with store.transaction() as tx:
            team = await tx.create_team("Shangba", "Asia/Shanghai", NOW, None, chat_id=-1)
            people = []
            for n in range(MEMBERS):
                person = await tx.upsert_person(100 + n, f"M{n}", None, None, None, NOW)
                await tx.grant_role(person.id, Role("member", team_id=team.id), NOW, None)
                people.append(person)
            households = [
                await tx.add_household(team.id, name, None, "import", NOW, None) for name in names
            ]
        started = time.perf_counter()
        message = 0
        for day in range(DAYS):
            local = date(2026, 11, 1) + timedelta(days=day)
            async with store.transaction() as tx:
                for person in people:
                    for _ in range(PER_DAY):
                        message += 1
                        log = await tx.create_log(
                            person.id, team.id, local, -1, message, None, "走访", NOW, NOW
                        )
                        assert log is not None
                        for household in random.sample(households, 2):
                            assert household is not None
                            await tx.add_visit(log, household.id, "mention", NOW, person.id)
        written = time.perf_counter() - started
        print(f"store: {message} logs with {message * 2} visits written in {written:.2f} s")

        async def timed(label: str, work: object) -> None:
            began = time.perf_counter()
            await work  # type: ignore[misc]
            print(f"  {label}: {(time.perf_counter() - began) * 1000:.1f} ms")

        async with store.transaction() as tx:
            one_day = date(2026, 11, 15)
            await timed("one day's logs of the team", tx.team_logs(team.id, one_day, one_day))
            await timed(
                "the month's logs of the team",
                tx.team_logs(team.id, date(2026, 11, 1), date(2026, 11, 30)),
            )
            first = households[0]
            assert first is not None
            await timed("one household's ledger", tx.household_ledger([first.id]))
            candidates, drawn = await tx.sample_candidates(team.id, date(2026, 11, 1))
            began = time.perf_counter()
            picked = draw_sample(candidates, drawn, 20, random.Random(1))
            await tx.visit_entries(picked)
            print(
                f"  a sample of 20 from {len(candidates)} visits: "
                f"{(time.perf_counter() - began) * 1000:.1f} ms"
            )
        await store.close()


def main() -> None:
    random.seed(4)
    names = _names()
    bench_mentions(names)
    asyncio.run(bench_store(names))


if __name__ == "__main__":
    main()
