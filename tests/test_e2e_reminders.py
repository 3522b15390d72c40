"""Reminders at the right local time, to the members who still need them: privately to those
who wrote to the bot, with a mention in the group for the others, never to a member on leave,
already checked in, or who switched them off."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bot.config import Settings
from storage.base import Tx
from tests.botapi_server import BotApiServer
from tests.conftest import GROUP, LEADER, MEMBER, MEMBER2, BotHarness, FakeClock, ask, in_store


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, tick_seconds=0.2)


async def planned(settings: Settings, clock: FakeClock, kind: str, period: str) -> list[str]:
    async def work(tx: Tx) -> list[str]:
        return [f"{d.recipient}:{d.state}" for d in await tx.deliveries(kind, period)]

    return await in_store(settings, clock, work)


async def ids(settings: Settings, clock: FakeClock) -> dict[int, int]:
    async def work(tx: Tx) -> dict[int, int]:
        found = {}
        for user in (LEADER, MEMBER, MEMBER2):
            person = await tx.get_person_by_tg(user)
            assert person is not None
            found[user] = person.id
        return found

    return await in_store(settings, clock, work)


async def test_reminders_fire_at_the_teams_local_time_for_those_who_need_them(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    people = await ids(county.settings, clock)
    server.start_private(MEMBER)
    await county.say(MEMBER, MEMBER, "/remind")  # Wang has written to the bot privately

    async def zhao_on_leave(tx: Tx) -> None:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        day = date(2026, 11, 24)
        leave = await tx.create_leave(
            people[MEMBER2], team.id, "sick", day, day, "fever", ("township",), GROUP, clock()
        )
        await tx.decide_leave(leave, "approved", people[LEADER], clock())

    await in_store(county.settings, clock, zhao_on_leave)
    period = "2026-11-24:morning"
    clock.current = datetime(2026, 11, 23, 21, 59, tzinfo=UTC)  # 05:59 in Huize
    await asyncio.sleep(0.6)
    assert await planned(county.settings, clock, "remind.open", period) == []
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00: the window opens
    private = await server.wait_for(lambda m: m.chat_id == MEMBER, after=mark)
    assert private.content == (
        "⏰ The morning check-in window is open (06:00–09:00): share your location to check in."
    )
    group = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert group.parse_mode == "HTML"
    assert group.content.splitlines()[0] == f'<a href="tg://user?id={LEADER}">Li</a>'
    await county.settled()
    assert sorted(await planned(county.settings, clock, "remind.open", period)) == [
        f"chat:{GROUP}:sent",
        f"person:{people[MEMBER]}:sent",
    ]  # Zhao is on leave
    # Wang checks in at 06:10; at 08:30 only Li is reminded that the window closes.
    clock.current = datetime(2026, 11, 23, 22, 10, tzinfo=UTC)
    await server.send_location(GROUP, MEMBER, 25.5005, 103.2005, horizontal_accuracy=10)
    await county.barrier(GROUP, LEADER)
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    closing = await server.wait_for(
        lambda m: m.chat_id == GROUP and "closes at 09:00" in m.content, after=mark
    )
    assert f"tg://user?id={LEADER}" in closing.content
    assert f"tg://user?id={MEMBER}" not in closing.content
    await county.settled()
    assert await planned(county.settings, clock, "remind.close", period) == [f"chat:{GROUP}:sent"]
    # Li switches his reminders off; in the evening only Wang is reminded, privately.
    off = await ask(server, GROUP, LEADER, "/remind off")
    assert off.content.startswith("✅ Your reminders are changed.")
    assert (
        "You switched off: window opens, window closes, window missed, work log, month end."
        in off.content
    )
    clock.current = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 17:00
    await server.wait_for(lambda m: m.chat_id == MEMBER and "evening" in m.content, after=mark)
    await county.settled()
    assert await planned(county.settings, clock, "remind.open", "2026-11-24:evening") == [
        f"person:{people[MEMBER]}:sent"
    ]
    # 20:30: Wang has written no log today.
    clock.current = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    log = await server.wait_for(lambda m: m.chat_id == MEMBER and "#log" in m.content, after=mark)
    assert log.content.startswith("📝 No work log from you today yet")
    await asyncio.sleep(0.6)
    assert sum(1 for m in server.sent[mark:] if m.chat_id == MEMBER and "#log" in m.content) == 1


async def test_the_month_end_reminds_members_behind_and_leaders_without_a_summary(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 26th, 09:00: 5 days left
    behind = await server.wait_for(
        lambda m: m.chat_id == GROUP and "you need" in m.content, after=mark
    )
    # Joined on the 23rd: 8 days in the month, quota 20 × 8/30 → 6; none present yet; the
    # 23rd to the 25th are gone, so 5 remain.
    assert f'<a href="tg://user?id={MEMBER}">Wang</a>: 📅 This month you have 0 of 6 days' in (
        behind.content
    )
    assert "you need 6 more days in 5 remaining." in behind.content
    summary = await server.wait_for(
        lambda m: m.chat_id == GROUP and "monthly summary" in m.content, after=mark
    )
    assert summary.content.startswith(f'<a href="tg://user?id={LEADER}">Li</a>')


async def test_team_reminder_settings_are_the_leaders(
    county: BotHarness, server: BotApiServer
) -> None:
    shown = await ask(server, GROUP, MEMBER, "/remind")
    assert shown.content.splitlines()[:6] == [
        "⏰ Reminders in Shangba",
        "• when a check-in window opens: on",
        "• before a window closes: 30 min",
        "• after a window is missed (privately, with a make-up button): on",
        "• work log reminder: 20:30",
        "• before the month ends: 5 days",
    ]
    refused = await ask(server, GROUP, MEMBER, "/remind team close=10")
    assert refused.content == (
        "Only the team's leader can change the team's reminders, in the team's group."
    )
    changed = await ask(
        server, GROUP, LEADER, "/remind team close=10 log=21:15 open=off missed=off"
    )
    assert changed.content.splitlines()[:6] == [
        "✅ The team's reminders are changed.",
        "⏰ Reminders in Shangba",
        "• when a check-in window opens: off",
        "• before a window closes: 10 min",
        "• after a window is missed (privately, with a make-up button): off",
        "• work log reminder: 21:15",
    ]
    bad = await ask(server, GROUP, LEADER, "/remind team log=25:00")
    assert "25:00" in bad.content
    member_time = await ask(server, GROUP, MEMBER, "/remind log=21:00")
    assert member_time.content.startswith('"log=21:00": members can switch a reminder on or off')


async def test_a_live_location_running_when_a_window_opens_is_its_check_in(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """Shared at 16:50 from the office and left running: at 17:00 it is the evening's
    check-in (one answer, quoting the share), and Wang is not reminded; Zhao is."""
    for user in (MEMBER, MEMBER2):
        server.start_private(user)
        await county.say(user, user, "/remind")  # both may get reminders privately
    clock.current = datetime(2026, 11, 23, 8, 50, tzinfo=UTC)  # 16:50 in Huize
    mark = len(server.sent)
    message = await server.send_location(
        GROUP, MEMBER, 25.5009, 103.2, live_period=28800, horizontal_accuracy=12.0
    )
    before = await server.wait_for(lambda m: m.reply_to_message_id == message["message_id"])
    assert "noted as presence. Next window: evening 17:00–20:00" in before.content
    await county.settled()
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC)  # 17:00:05
    opened = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert (
        opened.text == "✅ Wang · evening check-in 17:00 (live location) · Village office · 100 m"
    )
    assert opened.reply_to_message_id == message["message_id"]
    await server.wait_for(lambda m: m.chat_id == MEMBER2 and "window is open" in m.content)
    await county.settled()
    assert [m.text for m in server.sent[mark:] if m.chat_id == MEMBER] == []
    # It moves at 17:15: a presence point, not a second check-in, and no second answer.
    clock.current = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    await server.edit_live_location(message, 25.5003, 103.2)
    await county.settled()
    in_group = [m.text or "" for m in server.sent[mark:] if m.chat_id == GROUP]
    assert in_group[0] == opened.text and len(in_group) == 2
    assert "window is open" in in_group[1] and f"id={MEMBER}" not in in_group[1]  # Li only

    async def rows(tx: Tx) -> list[tuple[str, str | None, str]]:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        found = await tx.team_checkins(
            team.id, date(2026, 11, 23), date(2026, 11, 23), outcomes=("checkin", "presence")
        )
        return [(c.outcome, c.window, c.source) for c in found]

    assert await in_store(county.settings, clock, rows) == [
        ("presence", None, "message"),
        ("checkin", "evening", "live_edit"),  # the 17:15 move, inside, is thinned away
    ]
