"""Spot checks at a county's scale, run by hand: python -m bench.bench_spotchecks

A county of 355 teams (three members each, 1,065 in all) in 18 townships, with a site each and
a county admin. Measures, on the store alone (no Telegram): an admin's ``/spotcheck`` of 5 from
the whole county (eligibility with leave and the year's rotation, the draw, the picks and the
planned questions), a week's scheduled checks planned for every township (spot_week=3), and a
digest's spot-check findings read for the county after 100 checks.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rules import policy as policies
from rules.digest import week_of
from rules.problems import Problem
from services.admin import import_org
from services.org import TgUser
from services.spotchecks import close_due_checks, order_spot_check, plan_weeks, spot_records
from storage.models import Role
from storage.sqlite import SqliteStore

HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"
TEAMS = 355
PER_TOWNSHIP = 20
MEMBERS = 3
ADMIN = 900_000
MONDAY = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


async def seed(path: Path) -> SqliteStore:
    store = await SqliteStore.open(path, MONDAY)
    rows = "".join(
        f"Big,T{n // PER_TOWNSHIP},B-{n:04d},Village {n},,Office,25.5,103.2,\n"
        for n in range(TEAMS)
    )
    await import_org(store, MONDAY, HEADER + rows, "Asia/Shanghai")
    async with store.transaction() as tx:
        for team in await tx.all_teams():
            for k in range(MEMBERS):
                tg = 100_000 + MEMBERS * team.id + k
                person = await tx.upsert_person(tg, f"M{tg}", None, None, "en", MONDAY)
                await tx.grant_role(person.id, Role("member", team_id=team.id), MONDAY, None)
                await tx.note_private(tg, MONDAY)
        county = await tx.get_county("Big")
        assert county is not None
        admin = await tx.upsert_person(ADMIN, "Admin", None, None, "en", MONDAY)
        await tx.grant_role(admin.id, Role("admin", county_id=county.id), MONDAY, None)
        rules = policies.apply_changes(policies.DEFAULT_POLICY, ["spot_week=3"])
        assert not isinstance(rules, Problem)
        await tx.set_policy(county.id, policies.to_json(rules), MONDAY, None)
    return store


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        store = await seed(Path(folder) / "bench.db")
        print(
            f"seeded {TEAMS} teams, {TEAMS * MEMBERS} members"
            f" in {time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(1)
        admin = TgUser(ADMIN, "Admin")
        timings = []
        now = MONDAY
        for _ in range(100):
            began = time.perf_counter()
            ordered = await order_spot_check(store, now, admin, ADMIN, True, ["5"], rng=rng)
            timings.append(time.perf_counter() - began)
            assert not isinstance(ordered, Problem) and len(ordered.picks) == 5
            async with store.transaction() as tx:  # as if every question went to the outbox
                for d in await tx.due_deliveries(now, 100):
                    await tx.queue_delivery(d.id, now)
            now += timedelta(minutes=31)
            await close_due_checks(store, now)
        timings.sort()
        print(
            f"/spotcheck 5 of {TEAMS * MEMBERS}: median {timings[50] * 1000:.0f} ms,"
            f" slowest {timings[-1] * 1000:.0f} ms (100 checks, 500 picks, rotation honoured)"
        )
        began = time.perf_counter()
        async with store.transaction() as tx:
            people = [
                p.person.id for p in await tx.area_members([t.id for t in await tx.all_teams()])
            ]
            counts = await tx.spot_pick_counts(people, date(2026, 1, 1))
        assert sum(counts.values()) == 500 and max(counts.values()) == 1  # nobody twice
        planned = await plan_weeks(store, MONDAY, rng)
        print(
            f"a week planned for every township: {planned} checks"
            f" in {time.perf_counter() - began:.2f} s"
        )
        async with store.transaction() as tx:
            ids = [t.id for t in await tx.all_teams()]
            began = time.perf_counter()
            found = await spot_records(tx, ids, date(2026, 1, 1), week_of(now.date()).last)
            took = time.perf_counter() - began
        findings = sum(len(r.findings) for r in found.values())
        print(
            f"the county's findings for a digest (none answered): {findings}"
            f" in {took * 1000:.0f} ms"
        )
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
