"""Check-ins end to end: members share locations through the offline Bot API server, the bot
judges, records and answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from storage.models import Checkin, Role
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    OUTSIDER,
    BotHarness,
    FakeClock,
    ask,
    run_cli,
)

# 07:00 on 23 November in Asia/Shanghai, the teams' zone: the morning window is open.
MORNING = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
NEAR = (25.5009, 103.2)  # about 100 m from the village office
FAR = (25.52, 103.2)  # about 2.2 km away


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MORNING)


async def share(
    server: BotApiServer,
    chat_id: int,
    user_id: int,
    point: tuple[float, float] = NEAR,
    **how: Any,
) -> tuple[dict[str, Any], SentMessage]:
    """A user shares a location; returns the message and the bot's answer quoting it."""
    mark = len(server.sent)
    message = await server.send_location(chat_id, user_id, *point, **how)
    answer = await server.wait_for(
        lambda m: m.chat_id == chat_id and m.reply_to_message_id == message["message_id"],
        after=mark,
    )
    return message, answer


async def stored(settings: Settings, clock: FakeClock) -> list[Checkin]:
    """Every check-in attempt in the bot's database, read through the store."""
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            return await tx.export_checkins(date(2026, 1, 1), date(2027, 12, 31))
    finally:
        await store.close()


LIVE: dict[str, Any] = {"live_period": 28800, "horizontal_accuracy": 12.0}


async def test_a_live_location_in_the_morning_is_a_check_in(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    message, answer = await share(server, GROUP, MEMBER, **LIVE)
    assert answer.text == "✅ Wang · morning check-in 07:00 · Village office · 100 m"
    [row] = await stored(team.settings, clock)
    assert (row.outcome, row.window, row.reason, row.flags) == ("checkin", "morning", None, ())
    assert (row.latitude, row.longitude, row.accuracy_m, row.live) == (*NEAR, 12.0, True)
    assert row.site_name == "Village office"
    assert row.distance_m == pytest.approx(99.7, abs=0.5)
    assert (row.chat_id, row.message_id, row.local_date) == (
        GROUP,
        message["message_id"],
        date(2026, 11, 23),
    )
    assert row.update_id > 0
    assert row.sent_at == MORNING and row.received_at == MORNING


async def test_a_static_pin_counts_but_is_flagged(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    _, answer = await share(server, GROUP, MEMBER)
    assert answer.content.startswith("✅ Wang · morning check-in 07:00")
    assert "⚠️ a static pin; live location is preferred" in answer.content
    assert "picked on a map" in answer.content
    [row] = await stored(team.settings, clock)
    assert (row.outcome, row.flags, row.live) == ("checkin", ("static", "no_accuracy"), False)


@pytest.mark.parametrize(
    ("how", "point", "reason", "expected"),
    [
        ({"forward_from": MEMBER2, **LIVE}, NEAR, "forwarded", "a forwarded location is not"),
        (
            {"horizontal_accuracy": 450.0},
            NEAR,
            "accuracy",
            "accurate to 450 m only; the limit is 200 m",
        ),
        (LIVE, FAR, "outside", "you are 2.2 km from Village office (allowed: 300 m)"),
        ({"date": MORNING + timedelta(minutes=5), **LIVE}, NEAR, "stale", "sent at 07:05, 5 min"),
    ],
)
async def test_refusals_say_how_to_fix_them(
    team: BotHarness,
    server: BotApiServer,
    clock: FakeClock,
    how: dict[str, Any],
    point: tuple[float, float],
    reason: str,
    expected: str,
) -> None:
    clock.advance(minutes=10)  # the bot was up all along: a late message is stale
    _, answer = await share(server, GROUP, MEMBER, point, **how)
    assert answer.content.startswith("❌ Wang: "), answer.content
    assert expected in answer.content
    [row] = await stored(team.settings, clock)
    assert (row.outcome, row.reason) == ("refused", reason)
    assert "/me" not in answer.content


async def test_a_venue_is_not_a_check_in(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    mark = len(server.sent)
    message = await server.send_venue(GROUP, MEMBER, *NEAR, "Village office")
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == message["message_id"], after=mark
    )
    assert "a place picked from a list is not a check-in" in answer.content
    [row] = await stored(team.settings, clock)
    assert (row.outcome, row.reason, row.venue) == ("refused", "venue", True)


async def test_someone_outside_the_team_is_told_to_join(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    _, in_group = await share(server, GROUP, OUTSIDER, **LIVE)
    assert "not a member of a team here. Send /join" in in_group.content
    _, in_private = await share(server, OUTSIDER, OUTSIDER, **LIVE)
    assert "Send /join in your team's group first" in in_private.content
    rows = await stored(team.settings, clock)
    assert [(r.reason, r.team_id is None) for r in rows] == [
        ("not_member", False),
        ("not_member", True),
    ]


async def test_a_county_that_requires_live_location_refuses_a_static_pin(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    code, out, err = await run_cli(team.settings, "rules", "live=required")
    assert code == 0, err
    assert "Live location required" in out
    _, answer = await share(server, GROUP, MEMBER, horizontal_accuracy=10.0)
    assert "requires a live location" in answer.content
    _, live = await share(server, GROUP, MEMBER2, **LIVE)
    assert live.content.startswith("✅ Zhao · morning check-in")


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        ({"hours": 10, "minutes": 5}, "✅ Wang · evening check-in 17:05"),
        ({"hours": 14}, "✅ Wang · night check-in 21:00"),
        ({"hours": 3}, "noted as presence. Next window: evening 17:00–20:00"),
    ],
)
async def test_each_window(
    team: BotHarness, server: BotApiServer, clock: FakeClock, later: dict[str, float], expected: str
) -> None:
    clock.advance(**later)
    _, answer = await share(server, GROUP, MEMBER, **LIVE)
    assert expected in answer.content


async def test_a_check_in_at_23_59_and_00_01_local(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    clock.advance(hours=16, minutes=59)  # 23:59 on the 23rd
    _, night = await share(server, GROUP, MEMBER, **LIVE)
    assert "night check-in 23:59" in night.content
    clock.advance(minutes=2)  # 00:01 on the 24th
    _, after = await share(server, GROUP, MEMBER, **LIVE)
    assert "00:01" in after.content and "No more windows today" not in after.content
    assert "Next window: morning 06:00–09:00" in after.content
    rows = await stored(team.settings, clock)
    assert [(r.local_date, r.outcome, r.window) for r in rows] == [
        (date(2026, 11, 23), "checkin", "night"),
        (date(2026, 11, 24), "presence", None),
    ]


async def test_a_second_check_in_in_the_window_is_acknowledged_not_counted(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await share(server, GROUP, MEMBER, **LIVE)
    clock.advance(minutes=20)
    _, again = await share(server, GROUP, MEMBER, **LIVE)
    assert again.text == "☑️ Wang · already checked in for the morning at 07:00; counted once"
    rows = await stored(team.settings, clock)
    assert [r.outcome for r in rows] == ["checkin", "repeat"]


async def test_the_same_update_delivered_twice_is_one_record(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    message, _ = await share(server, GROUP, MEMBER, **LIVE)
    mark = len(server.sent)
    await server.push_update("message", message)  # Telegram resends what was not confirmed
    again = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert again.text == "☑️ Wang · this location was already received"
    assert len(await stored(team.settings, clock)) == 1


async def test_live_updates_are_presence_points_without_replies(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    message, _ = await share(server, GROUP, MEMBER, **LIVE)
    moves = [
        (1, (25.5005, 103.2)),  # moved a little a minute later: thinned out
        (11, (25.5004, 103.2001)),  # ten minutes after the last kept point: kept
        (5, FAR),  # left the site: kept
    ]
    for minutes, point in moves:
        clock.advance(minutes=minutes)
        await server.edit_live_location(message, *point)
        await team.barrier(GROUP, LEADER)  # handled before the clock moves on
    mark = len(server.sent)
    today = await team.say(GROUP, LEADER, "/today")
    assert (
        len([m for m in server.sent[: mark - 1] if m.chat_id == GROUP and "✅" in m.content]) == 1
    )
    rows = await stored(team.settings, clock)
    assert [(r.source, r.outcome, r.reason) for r in rows] == [
        ("message", "checkin", None),
        ("live_edit", "presence", None),
        ("live_edit", "refused", "outside"),
    ]
    assert "✅ Wang: morning 07:00 · ⚠️ left the site at 07:17" in today.content
    assert "⬜ Zhao: no check-in yet" in today.content
    assert "1 of 3 checked in." in today.content


async def test_late_or_not_is_decided_by_whether_the_bot_was_fetching_when_it_was_sent(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """A restart must not turn an old pin into a check-in: what counts is whether a run of
    the bot was fetching at the message's time, not when this process started."""
    clock.advance(minutes=9)
    await team.barrier(GROUP, LEADER)  # a poll came back at 07:09: the run was listening
    clock.advance(minutes=1)
    await team.restart()  # 07:10
    _, answer = await share(server, GROUP, MEMBER, date=MORNING + timedelta(minutes=5), **LIVE)
    assert "sent at 07:05, 5 min" in answer.content  # stale: the bot was up at 07:05
    # Sent while the bot is down: judged by its own time when it is back.
    await team.stop()
    clock.advance(minutes=20)  # 07:30
    await server.send_location(GROUP, MEMBER, *NEAR, date=MORNING + timedelta(minutes=20), **LIVE)
    clock.advance(minutes=5)
    mark = len(server.sent)
    await team.start()
    counted = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert counted.content.startswith("✅ Wang · morning check-in 07:20")
    # A backlog older than the county's bound (12 h) counts for nothing however it waited.
    await team.stop()
    await server.send_location(GROUP, MEMBER2, *NEAR, date=MORNING + timedelta(minutes=40), **LIVE)
    clock.advance(hours=13)
    mark = len(server.sent)
    await team.start()
    old = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert old.content.startswith("❌ Zhao: "), old.content
    rows = await stored(team.settings, clock)
    assert [(r.outcome, r.reason) for r in rows] == [
        ("refused", "stale"),
        ("checkin", None),
        ("refused", "stale"),
    ]


async def test_check_in_privately_with_the_bot(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    howto = await team.say(MEMBER, MEMBER, "/checkin")
    assert howto.reply_markup is not None
    [[button]] = howto.reply_markup["keyboard"]
    assert button["request_location"] is True
    _, answer = await share(server, MEMBER, MEMBER, **LIVE)
    assert answer.text == "✅ Wang · morning check-in 07:00 · Village office · 100 m"
    assert answer.reply_markup == {"remove_keyboard": True}  # done: the 📍 button goes
    in_group = await team.say(GROUP, MEMBER, "/checkin")
    assert "📎 → Location" in in_group.content and in_group.reply_markup is None
    [row] = await stored(team.settings, clock)
    assert (row.chat_id, row.team_id is not None) == (MEMBER, True)


async def test_a_location_in_a_group_without_a_team_is_ignored(
    bot: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await server.send_location(GROUP, MEMBER, *NEAR)
    await bot.barrier(GROUP, LEADER)
    assert [m.text for m in server.messages_to(GROUP) if "Wang" in m.content] == []
    assert await stored(bot.settings, clock) == []


async def test_a_site_typed_from_amap_is_converted(team: BotHarness, server: BotApiServer) -> None:
    reply = await team.say(
        GROUP, LEADER, "/site add School 39.91334545536069,116.38404722455657 150 gcj02"
    )
    assert reply.content.startswith("Site School added: 39.911954, 116.377817, radius 150 m.")
    assert "typed in GCJ-02" in reply.content


async def test_today_is_for_leaders(team: BotHarness, server: BotApiServer) -> None:
    await share(server, GROUP, MEMBER2, **LIVE)
    refused = await team.say(GROUP, MEMBER, "/today")
    assert "Only the team's leaders" in refused.content
    day = await team.say(GROUP, LEADER, "/today")
    assert day.content.splitlines()[0] == "Shangba · 2026-11-23"
    assert "✅ Zhao: morning 07:00" in day.content
    assert "⬜ Li: no check-in yet" in day.content


async def test_today_for_a_past_day_and_privately_for_those_above_the_team(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await share(server, GROUP, MEMBER, **LIVE)
    clock.advance(days=1, hours=2, minutes=30)  # Tuesday 09:30: Monday is over
    day = await county.say(GROUP, LEADER, "/today yesterday")
    lines = day.content.splitlines()
    assert lines[0] == "Shangba · 2026-11-23"
    assert "✅ Wang: morning 07:00" in lines
    assert "❌ Zhao: no check-in" in lines  # the day is over: missed, not "not yet"
    other = await county.say(GROUP, LEADER, "/today HZ-002")
    assert other.content.startswith("Here I answer only about this group's team.")
    # Privately: a coordinator gets the one team of the township, an admin the county.
    coordinator = await ask(server, COORD, COORD, "/today 2026-11-23")
    assert coordinator.content.splitlines()[0] == "Shangba · 2026-11-23"
    area = await ask(server, ADMIN, ADMIN, "/today 11-23")
    assert area.content.splitlines() == [
        "📋 Check-ins on 2026-11-23 in your area",
        "HZ-001 Shangba: 1 of 3 members checked in",
        "HZ-002 Xiaba: 0 of 0 members checked in",
    ]
    named = await ask(server, ADMIN, ADMIN, "/today HZ-001 昨天")
    assert named.content.splitlines()[0] == "Shangba · 2026-11-23"
    for user, text, answer in (
        (MEMBER, "/today", "Only the team's leaders"),
        (COORD, "/today HZ-002", "Team HZ-002 is not in your area."),
        (COORD, "/today someday", "Not a day: someday."),
        (COORD, "/today 2026-12-25", "That day has not come yet."),
        (COORD, "/today HZ-001 yesterday more", "Ask like this: /today"),
    ):
        refused = await ask(server, user, user, text)  # not the digest due meanwhile
        assert refused.content.startswith(answer), text


async def test_rules_show_the_teams_attendance_rules(team: BotHarness) -> None:
    shown = await team.say(GROUP, MEMBER, "/rules")
    assert shown.content.splitlines() == [
        "Attendance rules · default",
        "Check-in windows: morning 06:00–09:00, evening 17:00–20:00, night 20:00–24:00",
        "Monthly quota: 20 days",
        "A day counts with a check-in in any day window",
        "Location accuracy: 200 m or better",
        "Static location accepted but flagged; live location preferred",
        "A location sent while the bot was down counts by its own time if it arrives within 12 h",
        "Leave: first the team leader; then up to 3 days the township, longer the county",
        "At most 30 days per request; sick leave up to 2 days back; approvers reminded after 12 h",
        "Official business is excused leave",
        "Make-ups: up to 3 days back, 3 a month, decided by the team leader",
        "Field check-ins (outside every site, with a reason): decided by the team leader; further"
        " than 20 km, by the township",
        "A member with 3 field, made-up or annulled check-ins in a digest's period needs"
        " attention there",
        "Problem list: red 3 days, yellow 15, green 30 at each level, then it goes up by"
        " itself; common to 3 villages goes to the headquarters; categories: roads, water,"
        " power, phone signal, housing, health, schooling, income, disputes, other",
        "Recall: the unit sends a replacement within 7 days; briefs expected a month: 0",
        "Reminders — a window opens: on; before it closes: 30 min; after one is missed: on;"
        " work log: 20:30;"
        " before the month ends: 5 days.",
        "Digests: weekly on Monday at 08:00; the monthly report on the 1st at the same time.",
        "Spot checks: none scheduled (coordinators order them with /spotcheck); 30 min to answer.",
        "County rule: 2 findings in a year → flagged (no assessment grade that year),"
        " more than 3 → cannot be rated competent.",
    ]
    refused = await team.say(GROUP, LEADER, "/rules set days=22")
    assert refused.text == "Only an admin of this team's county changes the attendance rules."


async def test_a_burst_of_50_check_ins_is_all_recorded_and_answered_within_telegrams_pace(
    bot: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await bot.say(GROUP, LEADER, "/setup Shangba")
    await bot.say(GROUP, LEADER, "/site add Village office 25.5 103.2 300")
    await bot.stop()
    people = list(range(2001, 2051))
    store = await SqliteStore.open(bot.settings.database, clock())
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        for user_id in people:
            server.add_user(user_id, f"M{user_id}")
            server.set_status(GROUP, user_id, "member")
            person = await tx.upsert_person(user_id, f"M{user_id}", None, None, None, clock())
            await tx.grant_role(person.id, Role("member", team_id=team.id), clock(), person.id)
    await store.close()
    await bot.start()
    server.group_limit_per_minute = 20
    mark = len(server.sent)
    for user_id in people:
        await server.send_location(GROUP, user_id, *NEAR, **LIVE)

    def everyone_answered() -> bool:
        text = "\n".join(m.content for m in server.sent[mark:] if m.chat_id == GROUP)
        return all(f"✅ M{user_id} · morning check-in" in text for user_id in people)

    await server.wait_until(everyone_answered)
    answers = [m for m in server.sent[mark:] if m.chat_id == GROUP]
    assert len(answers) < 20  # gathered, so the group's budget is not spent on one burst
    rows = await stored(bot.settings, clock)
    assert len(rows) == 50 and {r.outcome for r in rows} == {"checkin"}
    assert server.rate_limited == []


async def test_a_team_without_a_site_is_told_to_add_one(
    bot: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await bot.say(GROUP, LEADER, "/setup Shangba")
    _, answer = await share(server, GROUP, LEADER, **LIVE)
    assert (
        answer.text
        == "❌ Li: this team has no attendance site yet. A leader adds one with /site add."
    )
    [row] = await stored(bot.settings, clock)
    assert (row.outcome, row.reason, row.site_id) == ("refused", "no_site", None)
