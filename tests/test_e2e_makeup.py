"""Make-up requests (补卡) and corrections, end to end: a member asks for a missed window,
the leader decides with a button in the group, and the made-up check-in counts in /me and the
digest, shown as made up; every limit is refused with its reason; a leader's own request goes
to the township; a county admin annuls a check-in found false and restores it, and the figures
follow.

Shangba (HZ-001) is in Dahai township of Huize county. It is Monday 2026-11-23, 09:30 in
Shanghai: the morning window (06:00–09:00) is over, the evening one (17:00–20:00) to come."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date

import pytest

from bot.config import Settings
from storage.base import Tx
from storage.models import Checkin
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    ask,
    events_of,
    in_store,
    press,
    press_start,
    run_cli,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, sweep_seconds=0.2)  # the sweep that reminds deciders, often


DECIDERS = "Only the team leader, or the township or county above it, decides make-up requests."


async def _copy(server: BotApiServer, chat_id: int, request_id: int) -> SentMessage:
    return await server.wait_for(
        lambda m: (
            m.chat_id == chat_id
            and any(b["callback_data"] == f"v1:mk:{request_id}:a" for b in m.buttons)
        )
    )


async def _checkins(county: BotHarness, person_tg: int) -> list[Checkin]:
    async def read(tx: Tx) -> list[Checkin]:
        team = await tx.get_team_by_chat(GROUP)
        person = await tx.get_person_by_tg(person_tg)
        assert team is not None and person is not None
        return await tx.export_checkins(date(2026, 11, 1), date(2026, 11, 30), team.id)

    return await in_store(county.settings, county.clock, read)


async def test_a_made_up_morning_is_decided_in_the_group_and_counts_as_made_up(
    county: BotHarness, server: BotApiServer
) -> None:
    asked = await ask(server, GROUP, MEMBER, "/makeup today morning phone had no signal")
    assert asked.content == (
        "Make-up request #1 for the morning of Mon, Nov 23 sent to the team leader (Li)."
    )
    copy = await _copy(server, GROUP, 1)
    assert copy.content.splitlines() == [
        "For the team leader to decide: Li",
        "",
        "Make-up #1: Wang (Shangba), morning of Mon, Nov 23",
        "Reason: phone had no signal",
        "Waiting for the team leader.",
    ]
    # Neither another member nor the asker may decide it.
    for who in (MEMBER2, MEMBER):
        answer = await press(server, who, copy, "v1:mk:1:a")
        assert answer == {"text": DECIDERS, "show_alert": True}
    again = await ask(server, GROUP, MEMBER, "/makeup today morning still no signal")
    assert (
        again.content == "Your make-up request #1 for the morning of Mon, Nov 23 is still waiting."
    )
    assert (await press(server, LEADER, copy, "v1:mk:1:a"))["text"] == "Make-up #1 approved."
    notice = await server.wait_for(lambda m: m.chat_id == GROUP and "approved by Li" in m.content)
    assert notice.content == (
        "✅ Wang's make-up #1, morning of Mon, Nov 23, approved by Li: it counts as a made-up"
        " check-in."
    )
    edited = await server.wait_for(
        lambda m: m.message_id == copy.message_id and "✅ Approved by Li" in m.content
    )
    assert edited.buttons == []  # decided: no buttons left to press
    twice = await press(server, LEADER, copy, "v1:mk:1:a")
    assert twice == {"text": "This make-up request was already approved.", "show_alert": True}

    me = await ask(server, GROUP, MEMBER, "/me")
    lines = me.content.splitlines()
    assert "Today: morning (made up)" in lines
    assert "This month: 1 made up" in lines
    assert lines[1].startswith("Days present: 1 of ")
    # One made-up check-in is no pattern; at the county's threshold the member is listed.
    assert (await run_cli(county.settings, "rules", "--county", "Huize", "exceptions=1"))[0] == 0
    digest = await ask(server, GROUP, LEADER, "/digest this")
    wang = next(line for line in digest.content.splitlines() if line.startswith("• Wang"))
    assert "1 days present" in wang or "1 day present" in wang
    assert wang.endswith(" · 1 made up")
    made = [c for c in await _checkins(county, MEMBER) if c.source == "makeup"]
    assert [(c.window, c.flags, c.latitude, c.counts) for c in made] == [
        ("morning", ("made_up",), None, True)
    ]
    assert await events_of(county.settings, county.clock, "makeup.") == [
        "makeup.requested",
        "makeup.approved",
    ]
    counted = await ask(server, GROUP, MEMBER, "/makeup today morning once more")
    assert counted.content == "That day's morning check-in already counts: nothing to make up."


async def test_a_member_withdraws_a_waiting_request(
    county: BotHarness, server: BotApiServer
) -> None:
    nothing = await ask(server, GROUP, MEMBER, "/makeup cancel")
    assert nothing.content == "You have no make-up or field check-in waiting to withdraw."
    await ask(server, GROUP, MEMBER, "/makeup today morning phone died")
    copy = await _copy(server, GROUP, 1)
    other = await ask(server, GROUP, MEMBER2, "/makeup cancel 1")
    assert other.content == "No waiting request #1 of yours to withdraw: /makeup cancel [id]."
    withdrawn = await ask(server, GROUP, MEMBER, "/makeup 撤回")
    assert withdrawn.content == "Request #1 withdrawn."
    edited = await server.wait_for(
        lambda m: m.message_id == copy.message_id and "Withdrawn by Wang." in m.content
    )
    assert edited.buttons == []
    late = await press(server, LEADER, copy, "v1:mk:1:a")
    assert late == {"text": "This make-up request is closed.", "show_alert": True}


async def test_each_limit_is_refused_with_its_reason(
    county: BotHarness, server: BotApiServer
) -> None:
    refusals = {
        "/makeup today evening missed": (
            "The evening window is not over yet: check in by sharing your location instead."
        ),
        "/makeup 2026-11-19 morning missed": "A make-up may be asked up to 3 days back.",
        "/makeup yesterday morning missed": (
            "You were not yet a member of the team on 2026-11-22."
        ),
        "/makeup today noon missed": '"noon" is not a window: write morning, evening or night.',
        "/makeup today morning": (
            "Say why the check-in was missed: /makeup <day> <window> <reason>."
        ),
        "/makeup someday morning x": 'I can\'t read "someday" as a day.',
    }
    for text, said in refusals.items():
        answer = await ask(server, GROUP, MEMBER, text)
        if text.startswith("/makeup someday"):
            assert "someday" in answer.content, answer.content
        else:
            assert answer.content == said, text
    # One a month, and it is used: the next is refused however good its reason.
    assert (await run_cli(county.settings, "rules", "--county", "Huize", "makeup_month=1"))[0] == 0
    first = await ask(server, GROUP, MEMBER, "/makeup today morning phone died")
    assert first.content.startswith("Make-up request #1 ")
    county.clock.advance(days=1)  # Tuesday: Monday evening was missed too
    second = await ask(server, GROUP, MEMBER, "/makeup yesterday evening phone died again")
    assert second.content == ("Your county allows 1 make-up a month, and this month's are used.")
    rules = await ask(server, GROUP, MEMBER, "/rules")
    assert "Make-ups: up to 3 days back, 1 a month, decided by the team leader" in rules.content


async def test_a_leaders_own_make_up_goes_to_the_township(
    county: BotHarness, server: BotApiServer
) -> None:
    asked = await ask(server, GROUP, LEADER, "/makeup today morning at the county meeting")
    assert asked.content == (
        "Make-up request #1 for the morning of Mon, Nov 23 sent to the township coordinator"
        " (Zhang, Zhou)."
    )
    copy = await _copy(server, COORD, 1)
    assert copy.content.splitlines()[-1] == "Waiting for the township coordinator."
    answer = await press(server, COORD, copy, "v1:mk:1:r")
    assert answer["text"] == "Write the reason for rejecting, in one message."
    prompt = await server.wait_for(lambda m: m.chat_id == COORD and "rejected?" in m.content)
    assert prompt.content == (
        "Why is make-up #1 (Li, morning of Mon, Nov 23) rejected? Reply with the reason; the"
        " member will see it."
    )
    done = await ask(server, COORD, COORD, "the county meeting was in the afternoon")
    assert done.content == "Rejected, and the reason sent: #1."
    notice = await server.wait_for(
        lambda m: m.chat_id == GROUP and "rejected by Zhang" in m.content
    )
    # The group hears the decision, not the township's reason.
    assert notice.content == "❌ Li's make-up #1, morning of Mon, Nov 23, rejected by Zhang."
    edited = await server.wait_for(
        lambda m: m.message_id == copy.message_id and m.chat_id == COORD and "❌" in m.content
    )
    assert (
        edited.content.splitlines()[-1] == "Why rejected: the county meeting was in the afternoon"
    )
    me = await ask(server, GROUP, LEADER, "/me")
    assert me.content.splitlines()[1].startswith("Days present: 0 of ")


async def test_a_county_admin_annuls_a_false_check_in_and_restores_it(
    county: BotHarness, server: BotApiServer
) -> None:
    county.clock.advance(hours=8)  # 17:30: the evening window is open
    await server.send_location(GROUP, MEMBER, 25.5, 103.2)
    await server.wait_for(lambda m: m.chat_id == GROUP and "evening" in m.content.lower())
    [checkin] = [c for c in await _checkins(county, MEMBER) if c.counts]
    me = await ask(server, GROUP, MEMBER, "/me")
    assert me.content.splitlines()[1].startswith("Days present: 1 of ")

    refused = {
        (GROUP, ADMIN): "Corrections are made privately: send this to the bot in a private chat.",
        (MEMBER, MEMBER): "Only a county admin corrects check-ins.",
    }
    for (chat, user), said in refused.items():
        answer = await ask(server, chat, user, f"/checkin annul {checkin.id} looks wrong")
        assert answer.content == said
    no_note = await ask(server, ADMIN, ADMIN, f"/checkin annul {checkin.id}")
    assert no_note.content == "Say why: the register keeps it with the correction."
    annulled = await ask(server, ADMIN, ADMIN, f"/checkin annul {checkin.id} phone left at office")
    assert annulled.content == (
        f"Check-in #{checkin.id} of Wang (Shangba), evening of Mon, Nov 23, is annulled: it"
        " stays in the register, marked, and no longer counts."
    )
    me = await ask(server, GROUP, MEMBER, "/me")
    lines = me.content.splitlines()
    assert lines[1].startswith("Days present: 0 of ")
    assert "This month: 1 annulled" in lines
    assert any(line.startswith("Today: evening ") and "(annulled)" in line for line in lines)
    twice = await ask(server, ADMIN, ADMIN, f"/checkin annul {checkin.id} again")
    assert twice.content == f"Check-in #{checkin.id} is annulled already."
    [kept] = [c for c in await _checkins(county, MEMBER) if c.id == checkin.id]
    assert kept.annul_note == "phone left at office" and not kept.counts  # kept, marked

    restored = await ask(server, ADMIN, ADMIN, f"/checkin restore {checkin.id} the photo shows him")
    assert restored.content.endswith("is restored and counts again.")
    me = await ask(server, GROUP, MEMBER, "/me")
    assert me.content.splitlines()[1].startswith("Days present: 1 of ")
    unknown = await ask(server, ADMIN, ADMIN, "/checkin annul 999999 nothing")
    assert unknown.content == "No check-in #999999 in your county."
    assert await events_of(county.settings, county.clock, "checkin.") == [
        "checkin.annulled",
        "checkin.restored",
    ]


async def test_a_request_left_waiting_reminds_its_deciders_then_asks_the_township(
    county: BotHarness, server: BotApiServer
) -> None:
    await ask(server, GROUP, MEMBER, "/makeup today morning phone died")
    await _copy(server, GROUP, 1)
    county.clock.advance(hours=13)  # the county's leave_remind is 12 h
    reminder = await server.wait_for(
        lambda m: m.chat_id == GROUP and m.content.startswith("⏰ Reminder"), timeout=10
    )
    assert reminder.content.splitlines()[0] == (
        "⏰ Reminder: this request has waited 13 h for your decision."
    )
    assert [b["callback_data"] for b in reminder.buttons] == ["v1:mk:1:a", "v1:mk:1:r"]
    assert not any("Make-up #1" in m.content for m in server.messages_to(COORD))
    county.clock.advance(hours=12)
    escalated = await server.wait_for(lambda m: m.chat_id == COORD and "Escalated" in m.content)
    assert escalated.content.startswith("⏫ Escalated to you: this request has waited 25 h")
    assert (await press(server, COORD, escalated, "v1:mk:1:a"))["text"] == "Make-up #1 approved."
    await asyncio.sleep(0.6)  # more sweeps: nothing goes twice
    first_texts = [(m.history[0][0] or "") if m.history else m.content for m in server.sent]
    reminders = [text for text in first_texts if text.startswith("⏰ Reminder")]
    assert len(reminders) == 1
    assert await events_of(county.settings, county.clock, "makeup.") == [
        "makeup.requested",
        "makeup.reminded",
        "makeup.escalated",
        "makeup.approved",
    ]


async def test_a_missed_window_is_said_privately_with_a_button_that_asks_the_make_up(
    county: BotHarness, server: BotApiServer
) -> None:
    """20:30: the evening window (17:00–20:00) was missed by both members; only Wang, who
    wrote to the bot, hears so (privately: the group is not told who missed what). Nobody
    heard of the morning: they joined after it."""
    await press_start(county, server, MEMBER)
    county.clock.advance(hours=11)
    note = await server.wait_for(
        lambda m: m.chat_id == MEMBER and m.content.startswith("You have no evening"), timeout=10
    )
    assert note.content == (
        "You have no evening check-in today (17:00–20:00). If you were in the village, ask for a"
        " make-up with the button below, or /makeup today evening &lt;reason&gt;."
    )  # HTML: Telegram shows <reason>
    [button] = note.buttons
    assert (button["text"], button["callback_data"]) == (
        "📝 Make up the evening",
        "v1:mu:20261123:evening",
    )
    answer = await press(server, MEMBER, note, button["callback_data"])
    assert answer["text"] == "Say why it was missed."
    prompt = await server.wait_for(lambda m: m.chat_id == MEMBER and "missed?" in m.content)
    assert prompt.content.startswith("Why was the evening check-in of Mon, Nov 23 missed?")
    asked = await ask(server, MEMBER, MEMBER, "phone had no signal on the hill")
    assert asked.content == (
        "Make-up request #1 for the evening of Mon, Nov 23 sent to the team leader (Li)."
    )
    copy = await _copy(server, GROUP, 1)
    assert "Reason: phone had no signal on the hill" in copy.content
    again = await press(server, MEMBER, note, button["callback_data"])
    assert again == {"text": "A request for this window is already waiting.", "show_alert": True}
    # Nobody else was told in the group who missed the window.
    assert not any("no evening check-in" in m.content for m in server.sent if m.chat_id == GROUP)
    assert not any("no morning check-in" in m.content for m in server.sent)
    assert not any(m.content.startswith("You have no") for m in server.messages_to(MEMBER2))
