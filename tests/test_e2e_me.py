"""/me on a made-up month: the figures a member sees, worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage.base import Tx
from storage.models import Checkin
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer
from tests.conftest import (
    GROUP,
    LEADER,
    MEMBER,
    OUTSIDER,
    BotHarness,
    FakeClock,
    in_store,
    run_cli,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHORT = "at your pace so far you will fall short."


@pytest.fixture
def clock() -> FakeClock:
    # The team is set up and joined in October, so November's quota is owed in full.
    return FakeClock(datetime(2026, 10, 25, 2, 0, tzinfo=UTC))


def _day(day: int) -> date:
    return date(2026, 11, day)


def _at(day: int, hour: int) -> datetime:
    return datetime.combine(date(2026, 11, day), time(hour), SHANGHAI).astimezone(UTC)


async def _seed(bot: BotHarness, user_id: int, marks: dict[int, list[str]]) -> None:
    """Check-ins as the bot records them: day of November -> windows checked in."""
    hours = {"morning": 7, "evening": 18, "night": 21}
    store = await SqliteStore.open(bot.settings.database, bot.clock())
    try:
        async with store.transaction() as tx:
            person = await tx.get_person_by_tg(user_id)
            team = await tx.get_team_by_chat(GROUP)
            assert person is not None and team is not None
            [site] = await tx.list_sites(team.id)
            for day, windows in marks.items():
                for window in windows:
                    sent = _at(day, hours[window])
                    await tx.record_checkin(
                        Checkin(
                            person.id, team.id, GROUP, day * 10 + hours[window], 0, "message",
                            "checkin", None, (), window, date(2026, 11, day), 25.5009, 103.2,
                            10.0, True, False, False, site.id, 100.0, sent, sent,
                        )
                    )  # fmt: skip
    finally:
        await store.close()


async def test_me_shows_days_nights_and_pace_on_a_made_up_month(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    code, _, err = await run_cli(team.settings, "rules", "days=22", "nights=15")
    assert code == 0, err
    # Present on 14 days (both day windows), 9 of them with a night; away the 10th, 11th
    # and 17th-19th. It is now 10:00 on the 20th and Wang has not checked in yet today.
    marks = {d: ["morning", "evening"] for d in [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16]}
    for d in range(1, 10):
        marks[d].append("night")
    await _seed(team, MEMBER, marks)
    clock.current = _at(20, 10)
    me = await team.say(GROUP, MEMBER, "/me")
    # 19 days decided, 14 present: 14 + 14/19 x 11 = 22.1 days is enough, but
    # 9 + 9/19 x 11 = 14.2 nights is not: at risk.
    assert me.content.splitlines() == [
        "Wang · Shangba · 2026-11",
        "Days present: 14 of 22 · absent 5 · on leave 0",
        "Nights: 9 of 15",
        "🟡 At risk: you need 8 more days in the 11 left; " + SHORT,
        "Nights still needed: 6.",
        "Today: no check-in yet.",
        "📝 Work logs: 0 of 20 days this month",
    ]
    # The same figures privately; today's check-in shows once it is made.
    clock.current = _at(20, 18)
    await server.send_location(GROUP, MEMBER, 25.5009, 103.2, live_period=3600)
    await team.barrier(GROUP, LEADER)
    private = await team.say(MEMBER, MEMBER, "/me")
    assert "Days present: 15 of 22 · absent 5" in private.content
    assert private.content.splitlines()[-2] == "Today: evening 18:00"


async def test_me_prorates_the_quota_for_a_member_who_joined_mid_month(
    team: BotHarness, clock: FakeClock
) -> None:
    clock.current = _at(16, 9)
    await team.say(GROUP, OUTSIDER, "/join")
    clock.current = _at(20, 10)
    me = await team.say(GROUP, OUTSIDER, "/me")
    # 15 of November's 30 days are left to Sun: 20 x 15/30 = 10 days; the 16th-19th missed.
    assert me.content.splitlines()[1:4] == [
        "Days present: 0 of 10 · absent 4 · on leave 0",
        "(quota for the days since you joined on 2026-11-16)",
        "🟡 At risk: you need 10 more days in the 11 left; " + SHORT,
    ]
    clock.current += timedelta(days=2)
    later = await team.say(GROUP, OUTSIDER, "/me")
    assert "🔴 Behind: 10 more days needed but only 9 left." in later.content


async def test_me_on_a_leave_day_and_with_leave_from_before_joining(
    team: BotHarness, clock: FakeClock
) -> None:
    clock.current = _at(16, 9)
    await team.say(GROUP, OUTSIDER, "/join")

    async def leave(tx: Tx) -> None:
        person = await tx.get_person_by_tg(OUTSIDER)
        leader = await tx.get_person_by_tg(LEADER)
        group = await tx.get_team_by_chat(GROUP)
        assert person is not None and leader is not None and group is not None
        for first, last in ((date(2026, 11, 10), date(2026, 11, 12)), (_day(20), _day(21))):
            asked = await tx.create_leave(
                person.id, group.id, "personal", first, last, "家中有事", ("leader",), GROUP,
                clock(),
            )  # fmt: skip
            await tx.decide_leave(asked, "approved", leader.id, clock())

    await in_store(team.settings, clock, leave)
    clock.current = _at(20, 10)
    me = await team.say(GROUP, OUTSIDER, "/me")
    lines = me.content.splitlines()
    # Leave from before Sun joined counts for nothing; the 20th is leave, not "not yet".
    assert lines[1] == "Days present: 0 of 10 · absent 4 · on leave 1"
    assert "Today: on leave (#2, Personal leave, until 2026-11-21); no check-in needed." in lines


async def test_me_needs_membership(team: BotHarness) -> None:
    assert "not a member of a team here" in (await team.say(GROUP, OUTSIDER, "/me")).content
