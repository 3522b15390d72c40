"""``cunbot run`` killed with SIGKILL in the middle of a burst, and stopped with SIGTERM: every
update is handled once, every answer is sent once (or, on the wire at the kill, counted as
uncertain), nothing is lost. The scenario is in :mod:`tests.crashrun`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botapi_server import BotApiServer
from tests.crashrun import GROUP, CrashRun


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[CrashRun]:
    server = BotApiServer()  # the real clock: the bot runs in its own process
    await server.start()
    crash = CrashRun(server, tmp_path)
    try:
        await crash.set_up()
        yield crash
    finally:
        crash.disarm()
        crash.kill()
        if crash.process is not None:
            await crash.process.wait()
        await server.stop()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("moment", ["served", "confirming", "sending"])
async def test_a_kill_at_any_moment_loses_nothing_and_says_nothing_twice(
    run: CrashRun, moment: str
) -> None:
    run.arm(moment, after=2)
    await run.burst(32)
    await run.dead()  # killed at the second such moment
    run.disarm()
    await run.start()
    await run.settle()
    # Now the buttons: killed again at the same kind of moment while the presses come in.
    run.arm(moment, after=1)
    assert await run.press_cancels() > 0
    await run.dead()
    run.disarm()
    await run.start()
    await run.settle()
    tally = await run.tally()
    assert tally.kills == 2
    assert (tally.lost, tally.duplicated, tally.answered_twice) == (0, 0, 0), tally.line()
    assert tally.stored_once == tally.sent
    # An answer that was on the wire at a kill (whatever the moment aimed at, one may be) is
    # never sent again: it may be missing, and then it is counted as uncertain. Every other
    # answer arrived.
    assert tally.unanswered <= tally.uncertain, tally.line()
    if moment == "sending":
        assert tally.uncertain >= 1, tally.line()  # the kill did catch answers on the wire
    if moment == "served":  # the batch never stored was sent again by Telegram, and kept once
        assert max(run.server.served.values()) >= 2


@pytest.mark.timeout(180)
async def test_sigterm_in_a_paced_burst_exits_in_time_and_loses_nothing(run: CrashRun) -> None:
    """Two dozen logs in one group: Telegram's pace (20 a minute) holds most answers back, and
    systemd's stop must not have to kill the bot for it."""
    run.server.group_limit_per_minute = 20
    await run.group_logs(24)
    await run.server.wait_until(lambda: len(run.server.messages_to(GROUP)) >= 12)
    assert await run.backlog() > 0  # the pace is holding answers back
    # Within the README's stop time, next to its systemd unit (TimeoutStopSec).
    assert await run.terminate(within=10) == 0
    run.server.group_limit_per_minute = None
    await run.start()
    await run.settle(timeout=120)
    tally = await run.tally()
    assert (tally.lost, tally.answered_twice, tally.unanswered) == (0, 0, 0), tally.line()
    # The operator's view of it, in Chinese: every answer of the last day sent.
    view = await run.cli("inbox", lang="zh")
    assert view.splitlines()[0] == "待处理的更新：0 条（最早收到于 -）"
    assert view.splitlines()[2].startswith("发件箱（待发，及最近一天）：已发 ")
