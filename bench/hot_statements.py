"""Hot statements against a grown history, run by hand: python -m bench.hot_statements [ROWS]

Seeds ROWS check-ins (default 400,000, about a city's two months) and as many logs, visits and
verdicts as a team writes, then times the store's own queries — a live location's last point,
a member's audit verdicts (for ``/me``), an area's verdicts of a week (for digests) — with the
indexes of migration 10 and, in the same run, without them (dropped), and prints the ratios.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

from storage.sqlite import SqliteStore

NOW = datetime(2026, 11, 23, tzinfo=UTC)
TEAMS = 2290
INDEXES = {
    "checkins_point": "CREATE INDEX checkins_point ON checkins (chat_id, message_id, sent_at)",
    "visits_log": "CREATE INDEX visits_log ON visits (log_id)",
    "audit_marks_marked": "CREATE INDEX audit_marks_marked ON audit_marks (marked_at)",
}


def seed(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO teams (id, village, tz, chat_id, created_at) VALUES (?, ?, 'UTC', ?, ?)",
        [(t, f"V{t}", -1000 - t, NOW.isoformat()) for t in range(1, TEAMS + 1)],
    )
    conn.executemany(
        "INSERT INTO people (id, tg_user_id, first_name, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(p, p, f"P{p}", NOW.isoformat(), NOW.isoformat()) for p in range(1, 2 * TEAMS + 1)],
    )
    conn.executemany(
        """INSERT INTO checkins (person_id, team_id, chat_id, message_id, update_id, source,
               outcome, local_date, latitude, longitude, live, forwarded, venue, sent_at,
               received_at) VALUES (?, ?, ?, ?, 0, 'message', 'presence', ?, 25.5, 103.2, 1,
               0, 0, ?, ?)""",
        [
            (1 + i % (2 * TEAMS), 1 + i % TEAMS, -1000 - 1 - i % TEAMS, i, "2026-11-01",
             f"2026-11-01T00:{i % 60:02d}:00+00:00", "2026-11-01T00:00:00+00:00")
            for i in range(rows)
        ],
    )  # fmt: skip
    logs = rows // 3
    conn.executemany(
        """INSERT INTO work_logs (id, person_id, team_id, local_date, chat_id, message_id,
               written_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (i, 1 + i % (2 * TEAMS), 1 + i % TEAMS, f"2026-{9 + i % 3:02d}-{1 + i % 28:02d}",
             -1000 - 1 - i % TEAMS, -i, NOW.isoformat(), NOW.isoformat())
            for i in range(1, logs + 1)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO households (id, team_id, name, source, created_at) VALUES (?, ?, ?, ?, ?)",
        [(t, t, f"H{t}", "command", NOW.isoformat()) for t in range(1, TEAMS + 1)],
    )
    conn.executemany(
        """INSERT INTO visits (id, log_id, household_id, how, added_at, added_by)
           VALUES (?, ?, ?, 'mention', ?, ?)""",
        [(i, i, 1 + i % TEAMS, NOW.isoformat(), 1 + i % (2 * TEAMS)) for i in range(1, logs + 1)],
    )
    conn.executemany(
        """INSERT INTO audit_marks (visit_id, verdict, note, marked_by, marked_at)
           VALUES (?, 'ok', '', 1, ?)""",
        [(i, f"2026-{9 + i % 3:02d}-{1 + i % 28:02d}T01:00:00+00:00") for i in range(1, logs, 4)],
    )
    conn.commit()
    conn.close()


async def timed(work: Callable[[], Awaitable[object]], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        await work()
    return (time.perf_counter() - started) / times * 1000


async def figures(path: Path) -> dict[str, float]:
    store = await SqliteStore.open(path, NOW)
    found: dict[str, float] = {}
    try:
        async with store.transaction() as tx:
            found["last point of a live location"] = await timed(
                lambda: tx.last_point(-1001, 2290), 50
            )
            found["a member's verdicts (/me)"] = await timed(
                lambda: tx.verdict_counts(7, 7, date(2026, 11, 1)), 50
            )
            teams = list(range(1, 21))  # a township
            found["a township's verdicts of a week"] = await timed(
                lambda: tx.area_verdicts(
                    teams, datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)
                ),
                20,
            )
    finally:
        await store.close()
    return found


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.db"
        await (await SqliteStore.open(path, NOW)).close()
        started = time.perf_counter()
        seed(path, rows)
        print(f"seeded {rows:,} check-ins, {rows // 3:,} logs and visits in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        indexed = await figures(path)
        conn = sqlite3.connect(path)
        for name in INDEXES:
            conn.execute(f"DROP INDEX {name}")
        conn.commit()
        conn.close()
        bare = await figures(path)
        # Put them back, so that reopening (which would not re-run migration 10) stays honest.
        conn = sqlite3.connect(path)
        for sql in INDEXES.values():
            conn.execute(sql)
        conn.commit()
        conn.close()
    for name, ms in indexed.items():
        print(f"{name}: {ms:.3f} ms; without migration 10's indexes {bare[name]:.2f} ms "
              f"({bare[name] / ms:,.0f}x)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 400_000))
