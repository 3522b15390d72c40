"""A city's Monday: figures, charts and files, ``/me``, ``/today`` and ``/export``, by hand:

    python -m bench.digest [--days 90] [--teams 2290]

On the city of ``bench/city.py`` (90 days of history by default), at Monday 08:05:

1. **Figures**: the weekly digest's figures of every team, township and county (what the
   Monday fan-out reads), and the monthly compliance figures of every township; against one
   bare SQL query reading the week's counted check-ins of the whole city.
2. **Charts and files**: every weekly digest's PNG and XLSX (team, township, county), as CPU
   seconds of the process (drawing runs in threads; ``process_time`` counts them all).
3. ``/me`` and ``/today`` for a sample of members and groups, and a township's 90-day
   ``/export`` (figures, the XLSX and the CSV).

Targets (issue 16): all of a Monday's figures under 10 s; all its charts and files under 60 s
of CPU; ``/me`` under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from PIL import Image

from bench import city as cities
from bench.city import City
from reports.chart import fit
from reports.parts import digest_parts, export_parts
from rules.digest import Digest, Period
from rules.problems import Problem
from services import checkins
from services.digest import build_digest, export_records
from services.org import TgUser, team_label
from storage.models import Team
from storage.sqlite import SqliteStore

SAMPLE = 200  # /me and /today calls timed


async def _areas(store: SqliteStore) -> dict[str, dict[int, list[Team]]]:
    async with store.transaction() as tx:
        teams = await tx.all_teams()
    areas: dict[str, dict[int, list[Team]]] = {
        "team": {},
        "township": defaultdict(list),
        "county": defaultdict(list),
    }
    for team in teams:
        areas["team"][team.id] = [team]
        if team.township_id is not None:
            areas["township"][team.township_id].append(team)
        if team.county_id is not None:
            areas["county"][team.county_id].append(team)
    return areas


async def figures(
    store: SqliteStore, city: City, areas: dict[str, dict[int, list[Team]]]
) -> dict[str, list[Digest]]:
    now = city.moment(city.today, 8, 5)
    week = Period("weekly", city.today - timedelta(days=7), city.today - timedelta(days=1))
    month_last = city.today.replace(day=1) - timedelta(days=1)
    month = Period("monthly", month_last.replace(day=1), month_last)
    built: dict[str, list[Digest]] = {}
    for scope, period in (
        ("team", week),
        ("township", week),
        ("county", week),
        ("township", month),
    ):
        started = time.perf_counter()
        digests = []
        for teams in areas[scope].values():
            name = team_label(teams[0]) if scope == "team" else teams[0].township_name or ""
            async with store.transaction() as tx:
                digests.append(await build_digest(tx, scope, name, teams, period, now))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        built[f"{scope} {period.kind}"] = digests
        plural = {"team": "teams", "township": "townships", "county": "counties"}[scope]
        print(f"  {period.kind} figures of {len(digests):>5} {plural:<10} {elapsed:6.2f} s "
              f"({elapsed / len(digests) * 1000:.1f} ms each)")  # fmt: skip
    return built


def bare_week(path: Path, city: City) -> float:
    """The floor: one query reading every counted check-in of the city's week."""
    conn = sqlite3.connect(path)
    first = (city.today - timedelta(days=7)).isoformat()
    last = (city.today - timedelta(days=1)).isoformat()
    started = time.perf_counter()
    rows = conn.execute(
        "SELECT team_id, person_id, local_date, window_name FROM checkins"
        " WHERE outcome = 'checkin' AND local_date BETWEEN ? AND ?",
        (first, last),
    ).fetchall()
    elapsed = time.perf_counter() - started
    conn.close()
    print(f"  bare SQL: the week's {len(rows):,} check-ins of the city in {elapsed:.2f} s")
    return elapsed


async def drawing(built: dict[str, list[Digest]]) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    counts = {}
    sizes: dict[str, tuple[int, int]] = {}
    for label in ("team weekly", "township weekly", "county weekly"):
        started = time.process_time()
        for digest in built[label]:
            parts = digest_parts("zh", digest)
            assert parts[1].photo and parts[2].document
            side = Image.open(io.BytesIO(parts[1].photo)).size
            sizes[label] = max(sizes.get(label, (0, 0)), side, key=lambda s: s[0] * s[1])
        counts[label] = (len(built[label]), time.process_time() - started)
    # Legible: inside the 1,280 pixels Telegram shows, teams left out said on the picture.
    cut = [
        d
        for d in built["township weekly"]
        if len(fit(d.teams)) < sum(1 for t in d.teams if t.members)
    ]
    for label, (w, h) in sizes.items():
        print(f"  largest {label} picture: {w} × {h} px")
    print(f"  township pictures leaving teams out (the picture says how many): {len(cut)}")
    total = time.process_time() - cpu
    for label, (n, seconds) in counts.items():
        print(f"  PNG + XLSX of {n:>5} {label:<16} {seconds:6.1f} s CPU "
              f"({seconds / n * 1000:.0f} ms each)")  # fmt: skip
    print(f"  all charts and files: {total:.1f} s CPU in {time.perf_counter() - wall:.1f} s")
    return total


async def answers(store: SqliteStore, city: City) -> float:
    now = city.moment(city.today, 8, 5)
    step = max(1, city.size.members // SAMPLE)
    me, today = [], []
    for index in range(0, city.size.members, step):
        user = TgUser(city.member(index), f"M{index}")
        started = time.perf_counter()
        views = await checkins.my_month(store, now, user, user.id, True)
        me.append(time.perf_counter() - started)
        assert not isinstance(views, Problem), views
        team = city.team_of(index)
        leader = TgUser(city.leader(team), "L")
        started = time.perf_counter()
        day = await checkins.team_today(store, now, leader, city.chat(team), False, [])
        today.append(time.perf_counter() - started)
        assert not isinstance(day, Problem), day
    p50_me = statistics.median(me) * 1000
    print(f"  /me: p50 {p50_me:.1f} ms, max {max(me) * 1000:.1f} ms ({len(me)} members)")
    print(f"  /today: p50 {statistics.median(today) * 1000:.1f} ms, "
          f"max {max(today) * 1000:.1f} ms ({len(today)} groups)")  # fmt: skip
    coordinator = TgUser(city.coordinators[0], "C")
    first = city.today - timedelta(days=90)
    started, cpu = time.perf_counter(), time.process_time()
    export = await export_records(
        store, now, coordinator, coordinator.id, True, [first.isoformat(), str(city.today)]
    )
    assert not isinstance(export, Problem), export
    read = time.perf_counter() - started
    parts = export_parts("zh", export)
    size = sum(len(p.document or b"") for p in parts)
    print(f"  a township's 90-day /export: {len(export.checkins):,} check-ins, "
          f"{len(export.logs):,} logs read in {read:.2f} s; files ({size / 1e6:.1f} MB) "
          f"{time.perf_counter() - started - read:.2f} s; "
          f"{time.process_time() - cpu:.1f} s CPU")  # fmt: skip
    return p50_me


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    cities.add_size_arguments(parser)
    args = parser.parse_args(argv)
    size = cities.size_of(args)
    city = await cities.build(args.days, size)
    with tempfile.TemporaryDirectory() as folder:
        work = cities.copy(city, Path(folder))
        store = await SqliteStore.open(work.path, work.moment(work.today, 8))
        try:
            print(f"{size.teams} teams, {size.members} members, {args.days} days of history:")
            floor = bare_week(work.path, work)
            started = time.perf_counter()
            built = await figures(store, work, await _areas(store))
            weekly = sum(
                len(v) for k, v in built.items() if k.endswith("weekly")
            )  # the Monday's digests
            elapsed = time.perf_counter() - started
            print(f"  all figures: {elapsed:.1f} s ({weekly} weekly digests and the townships' "
                  f"months) = {elapsed / floor:.0f}× the bare query")  # fmt: skip
            cpu = await drawing(built)
            me = await answers(store, work)
        finally:
            await store.close()
    print(f"targets: figures {elapsed:.1f} s (< 10), charts and files {cpu:.0f} s CPU (< 60), "
          f"/me {me:.1f} ms (< 5)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
