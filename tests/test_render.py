"""The drawing process: it draws what the bot would, and it does not outlive a killed bot."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import date, timedelta
from datetime import time as local_time

from bot import render
from reports import parts
from rules.digest import MemberRecord, Period
from rules.policy import DEFAULT_POLICY
from services.digest import DigestRecords, compute_digest
from storage.models import Team

FIRST = date(2026, 11, 16)

_CHILD = """
import asyncio, time
from bot import render
from tests.test_render import records
parts = asyncio.run(render.digest_parts("zh", records()))
assert parts[1].photo
print(" ".join(str(pid) for pid in render._pool._processes), flush=True)
time.sleep(60)
"""


def records() -> DigestRecords:
    """A team's week as a digest reads it from the store."""
    last = FIRST + timedelta(days=6)
    team = Team(1, "上坝", "Asia/Shanghai", "HZ-001", -100, 1, "大海", 1, "会泽")
    member = MemberRecord(1, "王伟", None, {FIRST: ("morning", "evening")})
    period = Period("weekly", FIRST, last)
    return DigestRecords(
        "team", "HZ-001 上坝", period, last, local_time(20), (team,), {1: [member]},
        {1: DEFAULT_POLICY}, frozenset(),
    )  # fmt: skip


async def test_the_drawing_process_makes_the_parts_the_bot_would() -> None:
    drawn = await render.digest_parts("zh", records())
    here = parts.digest_parts("zh", compute_digest(records()))
    assert [p.text for p in drawn] == [p.text for p in here]
    assert [p.filename for p in drawn] == [p.filename for p in here]
    assert drawn[1].photo == here[1].photo  # the same picture, pixel for pixel
    render.shutdown()


async def test_a_killed_bot_leaves_no_drawing_process_behind() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, stdout=asyncio.subprocess.PIPE, cwd=os.getcwd()
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    workers = [int(pid) for pid in line.split()]
    assert workers and all(_alive(pid) for pid in workers)
    child.send_signal(signal.SIGKILL)  # no chance to stop its pool
    await child.wait()
    assert await asyncio.to_thread(_gone, workers, 10.0)


def _gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: only its parent (dead here) would reap it.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
