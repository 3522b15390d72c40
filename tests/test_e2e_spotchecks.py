"""Spot checks end to end: a coordinator orders one privately, members are asked (privately
with the location button, or in the group by mention), their answers are judged with the
check-in rules, the summary comes once, and findings show in /me and the digest."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from storage.base import Tx
from storage.models import SpotCheck, SpotPick
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    COORD,
    COORD2,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    FakeClock,
    events_of,
    in_store,
    run_cli,
    township_id,
)

INSIDE = (25.5005, 103.2005)  # about 75 m from the village office
FAR = (25.48, 103.2)  # about 2.2 km south of the village office


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, tick_seconds=0.2)


async def _private(server: BotApiServer, chat_id: int, mark: int, text: str = "") -> SentMessage:
    return await server.wait_for(lambda m: m.chat_id == chat_id and text in m.content, after=mark)


async def _order(server: BotApiServer, text: str, user: int = COORD) -> SentMessage:
    mark = len(server.sent)
    await server.send_text(user, user, text)
    return await _private(server, user, mark, "🔎")


async def _picks(settings: Settings, clock: FakeClock) -> list[SpotPick]:
    async def work(tx: Tx) -> list[SpotPick]:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        return await tx.area_spot_picks([team.id], date(2026, 1, 1), date(2026, 12, 31))

    return await in_store(settings, clock, work)


async def _checks(settings: Settings, clock: FakeClock) -> list[SpotCheck]:
    async def work(tx: Tx) -> list[SpotCheck]:
        found = []
        for pick in await _all_picks(tx):
            check = await tx.get_spot_check(pick.check_id)
            assert check is not None
            if check not in found:
                found.append(check)
        return found

    async def _all_picks(tx: Tx) -> list[SpotPick]:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        return await tx.area_spot_picks([team.id], date(2026, 1, 1), date(2026, 12, 31))

    return await in_store(settings, clock, work)


async def _wang_writes_privately(county: BotHarness, server: BotApiServer) -> None:
    server.start_private(MEMBER)
    await county.say(MEMBER, MEMBER, "/remind")


async def _zhao_on_leave_today(settings: Settings, clock: FakeClock) -> None:
    async def work(tx: Tx) -> None:
        team = await tx.get_team_by_chat(GROUP)
        zhao = await tx.get_person_by_tg(MEMBER2)
        li = await tx.get_person_by_tg(LEADER)
        assert team is not None and zhao is not None and li is not None
        day = date(2026, 11, 23)
        leave = await tx.create_leave(
            zhao.id, team.id, "sick", day, day, "fever", ("township",), GROUP, clock()
        )
        await tx.decide_leave(leave, "approved", li.id, clock())

    await in_store(settings, clock, work)


async def test_a_spot_check_from_order_to_findings(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _wang_writes_privately(county, server)
    await _zhao_on_leave_today(county.settings, clock)
    # 09:30 in Huize. Ordered in the group it would be announced: refused.
    refused = await county.say(GROUP, COORD, "/spotcheck")
    assert refused.content.startswith("Order spot checks in a private chat with me")
    mark = len(server.sent)
    ordered = await _order(server, "/spotcheck 3 20")
    lines = ordered.content.splitlines()
    assert lines[0].startswith("🔎 Spot check #1 in Dahai: asked ")
    assert "Li (HZ-001 Shangba)" in lines[0] and "Wang (HZ-001 Shangba)" in lines[0]
    assert "Zhao" not in ordered.content  # on approved leave today
    assert lines[0].endswith("Answers by 09:50 (20 min).")
    assert lines[1] == (
        "1 of them never wrote to me privately, so they were asked in their team's group."
    )
    assert lines[2] == (
        "Only 2 could be asked (of 3): 1 on approved leave today, 0 in teams without a site."
    )
    # Wang is asked privately with the one-tap button; Li in the group, by mention, alone.
    ask = await _private(server, MEMBER, mark, "Spot check")
    assert ask.content.startswith("🔎 Spot check: where are you right now?")
    assert ask.reply_markup is not None
    assert ask.reply_markup["keyboard"][0][0]["request_location"] is True
    in_group = await server.wait_for(
        lambda m: m.chat_id == GROUP and "Spot check" in m.content, after=mark
    )
    assert in_group.content.startswith(f'<a href="tg://user?id={LEADER}">Li</a>: 🔎 Spot check')
    assert "Wang" not in in_group.content  # nobody is told who else was asked
    assert in_group.reply_markup is None  # the location button works only in private chats
    # A forwarded location cannot answer; Wang hears why and may try again.
    forwarded = await county.expect(
        lambda: server.send_location(MEMBER, MEMBER, *INSIDE, forward_from=LEADER), MEMBER
    )
    assert forwarded.content.startswith(
        "🔎 Wang: this location cannot answer the spot check (a forwarded location)."
    )
    assert forwarded.reply_markup is None  # the 📍 button stays up, to try again
    # A point picked on a map (a static location without accuracy) cannot answer either.
    picked = await county.expect(lambda: server.send_location(MEMBER, MEMBER, *INSIDE), MEMBER)
    assert picked.content.startswith(
        "🔎 Wang: this location cannot answer the spot check (a point picked on a map,"
    ), picked.content
    clock.advance(minutes=5)  # 09:35: Wang is 2.2 km away
    away = await county.expect(
        lambda: server.send_location(MEMBER, MEMBER, *FAR, horizontal_accuracy=15), MEMBER
    )
    assert away.content.startswith(
        "🔎 Wang: spot check answered at 09:35: 2.2 km from Village office, outside the site."
    )
    assert away.reply_markup == {"remove_keyboard": True}  # answered: the 📍 button goes
    # Li does not answer. Nothing is summed up before the deadline…
    await asyncio.sleep(0.6)
    assert not [m for m in server.sent[mark:] if m.chat_id == COORD and "#1 ·" in m.content]
    # …and one summary after it.
    clock.current = datetime(2026, 11, 23, 1, 51, tzinfo=UTC)
    summary = await _private(server, COORD, mark, "Spot check #1 ·")
    assert summary.content.splitlines() == [
        "🔎 Spot check #1 · Dahai · 2026-11-23 · asked 09:30, deadline 09:50",
        "⏰ Li (HZ-001 Shangba): no answer by 09:50",
        "❌ Wang (HZ-001 Shangba): away, 2.2 km from Village office, answered 09:35"
        " · answers refused: a forwarded location, a point picked on a map, not where your"
        " phone is",
        "Absence findings: 2",
        "• Li: 1 this year — no consequence yet",
        "• Wang: 1 this year — no consequence yet",
        "County rule: 2 findings in a year → flagged (no assessment grade that year),"
        " more than 3 → cannot be rated competent.",
    ]
    # Li answers late, from the village: recorded as late, still judged, the coordinator told.
    clock.current = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)
    late = await county.expect(
        lambda: server.send_location(GROUP, LEADER, *INSIDE, horizontal_accuracy=10), GROUP
    )
    assert late.content.splitlines() == [
        "🔎 Li: spot check answered at 10:10: present at Village office (75 m). Thank you.",
        "The deadline was 09:50: this answer is recorded as late.",
    ]
    note = await _private(server, COORD, mark, "an answer came after the summary")
    assert note.content.splitlines()[1] == (
        "⏰ Li (HZ-001 Shangba): no answer by 09:50; late answer: present at Village office"
        " (75 m), answered 10:10"
    )
    picks = {p.person.first_name: p for p in await _picks(county.settings, clock)}
    assert (picks["Li"].result, picks["Li"].answer, picks["Li"].late) == (
        "no_answer",
        "present",
        True,
    )
    assert (picks["Wang"].result, picks["Wang"].refused) == ("away", ("forwarded", "map_pin"))
    assert "Zhao" not in picks
    # Wang sees it in /me; the coordinator sees it in the week's digest.
    me = await county.say(MEMBER, MEMBER, "/me")
    assert (
        "🔎 Spot checks this year: 1 asked, 0 present, 1 absence finding — no consequence yet"
        in me.content
    )
    assert "County rule: 2 findings in a year → flagged" in me.content
    mark = len(server.sent)
    await server.send_text(COORD, COORD, "/digest this")
    digest = await _private(server, COORD, mark, "Weekly digest")
    assert "Spot checks — County rule: 2 findings in a year → flagged" in digest.content
    wang = next(line for line in digest.content.splitlines() if line.startswith("• Wang"))
    assert wang.endswith(" · spot checks: 1 finding, 1 this year")
    # Every change is on the record.
    kinds = await events_of(county.settings, clock, "spot.")
    assert kinds.count("spot.closed") == 1
    assert kinds.count("spot.refused") == 2 and kinds.count("spot.answered") == 2


async def test_a_named_member_answering_inside_closes_the_check_at_once(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _wang_writes_privately(county, server)
    mark = len(server.sent)
    ordered = await _order(server, "/spotcheck @wang 10m")
    assert ordered.content.splitlines()[0] == (
        "🔎 Spot check #1 in Dahai: asked Wang (HZ-001 Shangba). Answers by 09:40 (10 min)."
    )
    await _private(server, MEMBER, mark, "Spot check")
    present = await county.expect(
        lambda: server.send_location(MEMBER, MEMBER, *INSIDE, horizontal_accuracy=10), MEMBER
    )
    assert present.content.startswith("🔎 Wang: spot check answered at 09:30: present at")
    summary = await _private(server, COORD, mark, "Spot check #1 ·")  # before the deadline
    assert summary.content.splitlines()[1:3] == [
        "✅ Wang (HZ-001 Shangba): present at Village office (75 m), answered 09:30 · named",
        "Absence findings: 0",
    ]
    # Named members must be eligible; a word naming nobody is refused with the usage.
    await _zhao_on_leave_today(county.settings, clock)
    mark = len(server.sent)
    await server.send_text(COORD, COORD, "/spotcheck Zhao")
    on_leave = await _private(server, COORD, mark)
    assert on_leave.content == "Zhao is on approved leave today and is not asked."
    mark = len(server.sent)
    await server.send_text(COORD, COORD, "/spotcheck Nobody")
    unknown = await _private(server, COORD, mark)
    assert unknown.content.startswith('"Nobody" is not a team code, township or member')
    # The first word that is wrong is the one told, however many are.
    mark = len(server.sent)
    await server.send_text(COORD, COORD, "/spotcheck HZ-001 abc 9999")
    first = await _private(server, COORD, mark)
    assert first.content.startswith('"abc" is not a team code, township or member')


async def test_the_deadline_fires_once_across_a_restart(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    mark = len(server.sent)
    await _order(server, "/spotcheck 2 15")
    # Both asked members have the question (in the group: they never wrote privately) before
    # the bot goes down; a question still queued at the stop would expire with the deadline.
    await server.wait_for(
        lambda _: (
            sum(m.chat_id == GROUP and "Spot check" in m.content for m in server.sent[mark:]) == 2
        )
    )
    await county.stop()
    clock.current = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # past 09:45 while down
    await county.start()
    summary = await _private(server, COORD, mark, "Spot check #1 ·")
    assert summary.content.splitlines()[1].startswith("⏰ ")
    await county.restart()
    await asyncio.sleep(0.8)  # more rounds of the job, after another restart
    summaries = [m for m in server.sent[mark:] if m.chat_id == COORD and "#1 ·" in m.content]
    assert len(summaries) == 1
    assert (await events_of(county.settings, clock, "spot.")).count("spot.closed") == 1
    assert [c.state for c in await _checks(county.settings, clock)] == ["closed"]


async def test_a_county_schedules_spot_checks_at_random_working_moments(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    code, out, err = await run_cli(
        county.settings, "rules", "--county", "Huize", "spot_week=2", "spot_hours=09:00-12:00"
    )
    assert code == 0, err
    assert "Spot checks: 2 a week per township at random between 09:00–12:00" in out

    dahai = await township_id(county.settings, clock, "Dahai", "Huize")

    async def plans(tx: Tx) -> list[datetime]:
        return [p.due_at for p in await tx.spot_plans(dahai)]

    await asyncio.sleep(0.6)
    due = await in_store(county.settings, clock, plans)
    assert len(due) == 2
    for moment in due:  # Monday 23 to Friday 27 November, 09:00–12:00 in Huize, from now on
        local = moment.astimezone(ZoneInfo("Asia/Shanghai"))
        assert date(2026, 11, 23) <= local.date() <= date(2026, 11, 27)
        assert time(9) <= local.time() < time(12)
        assert moment >= clock()
    mark = len(server.sent)
    clock.current = due[0]
    asked = await server.wait_for(
        lambda m: m.chat_id == GROUP and "Spot check" in m.content, after=mark
    )
    assert "where are you right now?" in asked.content
    [check] = await _checks(county.settings, clock)
    assert check.ordered_by is None and check.plan_id is not None
    assert check.deadline - check.asked_at == timedelta(minutes=30)
    clock.current = check.deadline + timedelta(minutes=1)
    for coordinator in (COORD, COORD2):  # the township's coordinators get the summary
        summary = await _private(server, coordinator, mark, f"Spot check #{check.id} ·")
        assert summary.content.splitlines()[1] == "(scheduled by the county's rules)"
    await asyncio.sleep(0.6)
    # The week is planned once, for each township (Leju has its own two).
    assert len(await in_store(county.settings, clock, plans)) == 2
