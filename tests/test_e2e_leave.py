"""Leave end to end: asking in one line or step by step, routing by length, Approve / Reject
buttons pressed by the right and the wrong people, races, cancel, /back, reminders and
escalation, and a restart between request and decision.

The team Shangba (HZ-001) sits in Dahai township of Huize county. Dahai has two coordinators;
Huize has one admin. It is Monday 2026-11-23, 09:30 in Shanghai. Huize has turned the leader
step off (``leave_leader=off``), so these requests go straight to the township or county; the
default route, leader first, is in ``test_e2e_leave_leader.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.i18n import t
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    COORD2,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    OUTSIDER,
    BotHarness,
    FakeClock,
    ask,
    events_of,
    press,
    run_cli,
)


@pytest.fixture
async def county(county: BotHarness) -> BotHarness:
    code, _, err = await run_cli(county.settings, "rules", "--county", "Huize", "leave_leader=off")
    assert code == 0, err
    return county


def _to(server: BotApiServer, chat_id: int, request_id: int) -> Callable[[SentMessage], bool]:
    return lambda m: m.chat_id == chat_id and f"Leave #{request_id} " in m.content


async def _copy(server: BotApiServer, chat_id: int, request_id: int) -> SentMessage:
    """The approval message for a request in one approver's chat."""
    return await server.wait_for(
        lambda m: _to(server, chat_id, request_id)(m) and bool(m.reply_markup)
    )


NOT_APPROVER = (
    "Leave is decided by the team's leader, the township's coordinators or the county's admins."
)


def _buttons(message: SentMessage) -> list[str]:
    return [b["callback_data"] for b in message.buttons]


# ---------------------------------------------------------------------- asking and routing
async def test_a_three_day_request_goes_to_the_townships_coordinators(
    county: BotHarness, server: BotApiServer
) -> None:
    answer = await county.say(GROUP, MEMBER, "/leave 2026-11-25 2026-11-27 sick fever and cough")
    assert answer.content.splitlines()[:2] == [
        "📝 Leave #1 asked: Sick leave, 2026-11-25 → 2026-11-27 (3 days).",
        "Sent to the township: Zhang, Zhou. You will hear when it is decided.",
    ]
    assert _buttons(answer) == ["v1:lv:1:c"]
    for coordinator in (COORD, COORD2):
        copy = await _copy(server, coordinator, 1)
        assert copy.content.splitlines() == [
            "Leave #1 · Wang · Shangba",
            "Sick leave: 2026-11-25 → 2026-11-27 (3 days)",
            "Reason: fever and cough",
            # Wang joined today: the quota is prorated to the 8 days left (ceil(20 * 8 / 30)).
            "This month so far: 0 days present, 0 on leave, 0 absent (quota 6)",
            "⏳ Waiting for the township (step 1 of 1)",
        ]
        assert _buttons(copy) == ["v1:lv:1:a", "v1:lv:1:r"]
    assert server.messages_to(ADMIN) == []
    assert await events_of(county.settings, county.clock) == ["leave.requested", "leave.routed"]


async def test_a_long_request_goes_to_the_county_and_a_private_one_is_noticed_in_the_group(
    county: BotHarness, server: BotApiServer
) -> None:
    answer = await county.say(MEMBER, MEMBER, "/leave 11-25 11-30 personal family wedding")
    assert "Sent to the county: Chen." in answer.content
    copy = await _copy(server, ADMIN, 1)
    assert "Personal leave: 2026-11-25 → 2026-11-30 (6 days)" in copy.content
    notice = await server.wait_for(lambda m: m.chat_id == GROUP and "asked for leave" in m.content)
    assert notice.content == (
        "📝 Wang asked for leave, 2026-11-25 → 2026-11-30 (6 days); waiting for the county."
    )
    assert "wedding" not in notice.content  # the reason stays with the approvers
    assert server.messages_to(COORD) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/leave 2026-11-27 2026-11-25 sick flu", "The last day (2026-11-25) is before the first"),
        ("/leave 2026-11-20 personal errand", "2026-11-20 has passed"),
        ("/leave 2026-11-20 sick flu", "Sick leave can start at most 2 days back"),
        ("/leave 2026-11-25 2027-01-05 personal trip", "42 days is longer than the county"),
        ("/leave 2028-01-05 personal trip", "more than a year ahead"),
        ("/leave 2026-11-25 holiday trip", "“holiday” is not a kind of leave"),
        ("/leave 2026-11-25 sick", "Please give a reason"),
        ("/leave 2026-11-25 事假", "Please give a reason"),
        ("/leave 2026-11-25 2026-11-27", "Usage: /leave"),
        ("/leave 2026-11-25 2026-11-26 sick", "Please give a reason"),
        ("/leave soon sick flu", "“soon” is not a date"),
    ],
)
async def test_requests_are_refused_with_the_reason(
    county: BotHarness, server: BotApiServer, line: str, expected: str
) -> None:
    answer = await county.say(GROUP, MEMBER, line)
    assert expected in answer.content
    assert server.messages_to(COORD) == []


async def test_sick_leave_may_start_two_days_back_and_overlaps_are_refused(
    county: BotHarness, server: BotApiServer
) -> None:
    first = await county.say(GROUP, MEMBER, "/leave 2026-11-21 2026-11-23 sick flu")
    assert "Leave #1 asked" in first.content
    overlap = await county.say(GROUP, MEMBER, "/leave 11-23 11-24 personal errand")
    assert overlap.content == (
        "It overlaps your leave #1 (2026-11-21 → 2026-11-23). "
        "Cancel that one first, or pick other days."
    )


async def test_outsiders_and_teams_without_approvers_are_refused(
    team: BotHarness, server: BotApiServer
) -> None:
    outsider = await team.say(GROUP, OUTSIDER, "/leave 2026-11-25 sick flu")
    assert outsider.content.startswith("Only members of a team ask for leave.")
    # A team in no township: its leader decides. A leader asking has nobody to ask.
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 sick flu")
    assert "Sent to the team leader: Li." in asked.content
    alone = await team.say(GROUP, LEADER, "/leave 2026-11-26 personal errand")
    assert alone.content.startswith("Nobody can approve leave for this team yet")


# ---------------------------------------------------------------------- deciding
async def test_approve_edits_every_copy_and_tells_the_member_and_the_group(
    county: BotHarness, server: BotApiServer
) -> None:
    server.start_private(MEMBER)
    await county.say(MEMBER, MEMBER, "/leave 2026-11-25 2026-11-27 personal family matters")
    copy = await _copy(server, COORD, 1)
    other = await _copy(server, COORD2, 1)
    answer = await press(server, COORD, copy, "v1:lv:1:a")
    assert answer["text"] == "Leave #1 approved."
    await server.wait_until(lambda: other.reply_markup is None and copy.reply_markup is None)
    assert other.content.splitlines()[-2:] == [
        "✅ Approved by Zhang (township), 11-23 09:30",
        "Leave approved.",
    ]
    told = await server.wait_for(lambda m: m.chat_id == MEMBER and "approved by" in m.content)
    assert (
        told.content == "✅ Wang's leave #1, 2026-11-25 → 2026-11-27 (3 days), approved by Zhang."
    )
    await server.wait_for(lambda m: m.chat_id == GROUP and "approved by Zhang" in m.content)
    # The member's own copy keeps a Cancel button: leave that has not begun can be called off.
    member_copy = next(m for m in server.messages_to(MEMBER) if m.history)
    assert member_copy.history[0][0].startswith("📝 Leave #1 asked")  # type: ignore[union-attr]
    assert "Leave approved." in member_copy.content and _buttons(member_copy) == ["v1:lv:1:c"]
    events = await events_of(county.settings, county.clock)
    assert events == ["leave.requested", "leave.routed", "leave.approved"]


async def test_reject_asks_for_a_reason_and_records_it(
    county: BotHarness, server: BotApiServer
) -> None:
    server.start_private(MEMBER)
    await county.say(MEMBER, MEMBER, "/leave 2026-11-25 personal errand")
    copy = await _copy(server, COORD2, 1)
    other = await _copy(server, COORD, 1)
    answer = await press(server, COORD2, copy, "v1:lv:1:r")
    assert answer["text"] == "Write the reason for rejecting, in one message."
    prompt = await server.wait_for(lambda m: m.chat_id == COORD2 and "Why is leave #1" in m.content)
    assert prompt.reply_markup == {"force_reply": True, "selective": True}
    done = await county.say(COORD2, COORD2, "The inspection team visits on the 25th")
    assert done.content == "Rejection of leave #1 recorded."
    await server.wait_until(lambda: copy.reply_markup is None)
    assert (
        "❌ Rejected by Zhou (township), 11-23 09:30: The inspection team visits on the 25th"
        in (copy.content)
    )
    told = await server.wait_for(lambda m: m.chat_id == MEMBER and "rejected by" in m.content)
    assert told.content.splitlines() == [
        "❌ Wang's leave #1, 2026-11-25 (1 day), rejected by Zhou.",
        "Reason: The inspection team visits on the 25th",
    ]
    # The other coordinator's copy is closed too, and a late press changes nothing.
    await server.wait_until(lambda: other.reply_markup is None)
    late = await press(server, COORD, other, "v1:lv:1:a")
    assert late == {"text": "This leave was already rejected.", "show_alert": True}


async def test_a_rejection_reason_never_reaches_the_group(
    county: BotHarness, server: BotApiServer
) -> None:
    """Asked in the group, rejected for a health reason: the group's copy says who decided and
    when, the member hears why, privately; the group never does."""
    server.start_private(MEMBER)
    await county.say(MEMBER, MEMBER, "/help")  # the member has written to the bot privately
    asked = await server.send_text(GROUP, MEMBER, "/leave 2026-11-25 sick hospital check")
    group_copy = await server.wait_for(
        lambda m: m.chat_id == GROUP and m.reply_to_message_id == asked["message_id"]
    )
    copy = await _copy(server, COORD2, 1)
    await press(server, COORD2, copy, "v1:lv:1:r")
    await server.wait_for(lambda m: m.chat_id == COORD2 and "Why is leave #1" in m.content)
    reason = "Hepatitis test results pending"
    await county.say(COORD2, COORD2, reason)
    await server.wait_until(
        lambda: any("Rejected by" in line for line in group_copy.content.splitlines())
    )
    assert "❌ Rejected by Zhou (township), 11-23 09:30" in group_copy.content.splitlines()
    told = await server.wait_for(lambda m: m.chat_id == MEMBER and reason in m.content)
    assert told.content.endswith(f"Reason: {reason}")
    await county.barrier(GROUP, MEMBER)
    seen = [m.content for m in server.messages_to(GROUP)] + [
        str(text) for m in server.messages_to(GROUP) for text, *_ in (m.history or [])
    ]
    assert not [text for text in seen if "Hepatitis" in text or "hospital" in text]


async def test_the_wrong_person_pressing_changes_nothing(
    county: BotHarness, server: BotApiServer
) -> None:
    await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    copy = await _copy(server, COORD, 1)
    # A member decides no leave at all (the permission table); a leader or an admin decides
    # none waiting at the township (the request's own level).
    for user_id in (MEMBER2, MEMBER):
        answer = await press(server, user_id, copy, "v1:lv:1:a")
        assert answer["text"] == NOT_APPROVER
    for user_id in (LEADER, ADMIN):
        answer = await press(server, user_id, copy, "v1:lv:1:a")
        assert answer == {
            "text": "Only the township's coordinators decide this request now: Zhang, Zhou.",
            "show_alert": True,
        }
    cancel = await press(server, COORD, copy, "v1:lv:1:c")
    assert cancel["text"] == "Only the member who asked can cancel this leave."
    # An old version's button, and one of a kind no handler knows, answered by the last one.
    for data in ("v0:leave:1", "v1:zz:1", "x"):
        stale = await press(server, COORD, copy, data)
        assert stale == {
            "text": "This button no longer works. Please start again.",
            "show_alert": True,
        }
    assert copy.reply_markup is not None and copy.history == []
    assert await events_of(county.settings, county.clock) == ["leave.requested", "leave.routed"]


async def test_a_double_press_and_two_approvers_racing_make_one_decision(
    county: BotHarness, server: BotApiServer
) -> None:
    await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    mine, theirs = await _copy(server, COORD, 1), await _copy(server, COORD2, 1)
    # All three presses are queued before the bot handles the first.
    ids = [
        await server.press_button(COORD, mine, "v1:lv:1:a"),
        await server.press_button(COORD, mine, "v1:lv:1:a"),
        await server.press_button(COORD2, theirs, "v1:lv:1:a"),
    ]
    answers = [await server.wait_answer(i) for i in ids]
    assert answers[0]["text"] == "Leave #1 approved."
    assert [a["text"] for a in answers[1:]] == ["This leave was already approved."] * 2
    events = await events_of(county.settings, county.clock)
    assert events.count("leave.approved") == 1


async def test_buttons_still_work_after_a_restart(county: BotHarness, server: BotApiServer) -> None:
    await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    copy = await _copy(server, COORD, 1)
    await county.restart()
    answer = await press(server, COORD, copy, "v1:lv:1:a")
    assert answer["text"] == "Leave #1 approved."
    await server.wait_until(lambda: copy.reply_markup is None)


async def test_a_leader_step_comes_first_when_the_county_says_so(
    county: BotHarness, server: BotApiServer
) -> None:
    code, _, err = await run_cli(county.settings, "rules", "--county", "Huize", "leave_leader=on")
    assert code == 0, err
    # The leader never wrote to the bot privately: the buttons come to the group instead.
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    assert "Sent to the team leader: Li." in asked.content
    in_group = await server.wait_for(
        lambda m: m.chat_id == GROUP and "please decide here" in m.content
    )
    assert "Reason:" not in in_group.content  # a group sees no reason
    refused = await press(server, MEMBER2, in_group, "v1:lv:1:a")
    assert refused["text"] == NOT_APPROVER
    assert (await press(server, LEADER, in_group, "v1:lv:1:a"))["text"] == "Leave #1 approved."
    copy = await _copy(server, COORD, 1)
    assert "✅ Approved by Li (team leader)" in copy.content
    assert "⏳ Waiting for the township (step 2 of 2)" in copy.content
    await server.wait_until(lambda: in_group.reply_markup is None)
    # The leader asking for their own leave skips their own step.
    own = await county.say(GROUP, LEADER, "/leave 2026-11-28 personal errand")
    assert "Sent to the township: Zhang, Zhou." in own.content


# ---------------------------------------------------------------------- the dialogue
async def test_a_step_by_step_request_with_the_calendar(
    county: BotHarness, server: BotApiServer
) -> None:
    kinds = await county.say(GROUP, MEMBER, "/leave")
    assert kinds.content == "Which kind of leave?"
    intruder = await press(server, MEMBER2, kinds, "v1:ld:k:sick")
    assert intruder["show_alert"] is True and "not for you" in intruder["text"]
    await press(server, MEMBER, kinds, "v1:ld:k:sick")
    await server.wait_until(lambda: kinds.content.startswith("Sick leave. First day away?"))
    days = _buttons(kinds)
    # Sick leave may start two days back: the 21st is offered, the 20th is not.
    assert "v1:ld:d:2026-11-21" in days and "v1:ld:d:2026-11-20" not in days
    # A made-up page (month 13) shows the dialogue's own page rather than failing.
    made_up = await press(server, MEMBER, kinds, "v1:ld:m:2026-13")
    assert made_up.get("text") != t("en", "err.internal")
    await press(server, MEMBER, kinds, "v1:ld:m:2026-12")
    await server.wait_until(lambda: "v1:ld:d:2026-12-01" in _buttons(kinds))
    await press(server, MEMBER, kinds, "v1:ld:d:2026-12-02")
    await server.wait_until(lambda: kinds.content.startswith("Sick leave from 2026-12-02."))
    typed = await county.say(GROUP, MEMBER, "12-04")  # a typed date works as well
    assert typed.content.startswith("Sick leave, 2026-12-02 → 2026-12-04 (3 days).")
    done = await county.say(GROUP, MEMBER, "Surgery at the county hospital")
    assert done.content.startswith("📝 Leave #1 asked: Sick leave, 2026-12-02 → 2026-12-04")
    copy = await _copy(server, COORD, 1)
    assert "Reason: Surgery at the county hospital" in copy.content


async def test_the_dialogue_can_be_stopped_and_other_texts_are_left_alone(
    county: BotHarness, server: BotApiServer
) -> None:
    kinds = await county.say(GROUP, MEMBER, "/leave")
    await press(server, MEMBER, kinds, "v1:ld:x")
    await server.wait_until(lambda: kinds.content == "Leave request stopped; nothing was sent.")
    mark = len(server.sent)
    await server.send_text(GROUP, MEMBER, "good morning everyone")
    await county.barrier(GROUP, MEMBER)
    assert [m for m in server.sent[mark:] if "good morning" in m.content] == []
    assert [m.content for m in server.sent[mark:] if m.chat_id == GROUP][:-1] == []


# ---------------------------------------------------------------------- cancel, back, attendance
async def test_cancel_a_pending_request(county: BotHarness, server: BotApiServer) -> None:
    asked = await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    copy = await _copy(server, COORD, 1)
    other = await press(server, MEMBER2, asked, "v1:lv:1:c")
    assert other["text"] == "Only the member who asked can cancel this leave."
    assert (await press(server, MEMBER, asked, "v1:lv:1:c"))["text"] == "Leave #1 cancelled."
    await server.wait_until(lambda: copy.reply_markup is None and asked.reply_markup is None)
    assert "🚫 Cancelled by Wang, 11-23 09:30" in copy.content
    again = await ask(server, GROUP, MEMBER, "/leave cancel 1")
    assert again.content == "This leave was cancelled."
    late = await press(server, COORD, copy, "v1:lv:1:a")
    assert late["text"] == "This leave was cancelled."


async def test_leave_counts_in_me_and_today_and_back_ends_it_early(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await county.say(GROUP, MEMBER, "/leave 2026-11-23 2026-11-25 official county training")
    approved = await press(server, COORD, await _copy(server, COORD, 1), "v1:lv:1:a")
    assert approved["text"] == "Leave #1 approved."
    too_late = await ask(server, GROUP, MEMBER, "/leave cancel")
    assert too_late.content == "You have no leave that can be cancelled."
    day = await county.say(GROUP, LEADER, "/today")
    assert "🏖 Wang: on leave (Official business) until 2026-11-25" in day.content
    assert "1 on leave." in day.content
    me = await county.say(GROUP, MEMBER, "/me")
    assert "Days present: 0 of 6 · absent 0 · on leave 1" in me.content
    assert "Leave #1 (Official business) 2026-11-23 → 2026-11-25: approved" in me.content
    clock.advance(days=1)  # Tuesday the 24th: back a day early
    back = await ask(server, GROUP, MEMBER, "/back")
    assert back.content == (
        "👋 Wang is back from leave #1 (2026-11-23 → 2026-11-25 (3 days)) early: "
        "from 2026-11-24 it is no longer leave."
    )
    me = await county.say(GROUP, MEMBER, "/me")
    assert "absent 0 · on leave 1" in me.content  # the 23rd only; today is an ordinary day
    again = await ask(server, GROUP, MEMBER, "/back")
    assert again.content == "You are not on leave."
    events = await events_of(county.settings, county.clock)
    assert events[-1] == "leave.returned"


# ---------------------------------------------------------------------- the sweep
@pytest.fixture
def settings(settings: Settings) -> Settings:
    from dataclasses import replace

    return replace(settings, sweep_seconds=0.2)


async def test_waiting_requests_remind_then_escalate_and_missing_returns_are_flagged(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    server.start_private(MEMBER)
    await county.say(GROUP, MEMBER, "/leave 2026-11-24 personal errand")
    first = await _copy(server, COORD, 1)
    clock.advance(hours=13)
    reminder = await server.wait_for(
        lambda m: m.chat_id == COORD and m.content.startswith("⏰ Reminder"), timeout=10
    )
    assert reminder.content.splitlines()[0] == (
        "⏰ Reminder: this request has waited 13 h for your decision."
    )
    assert server.messages_to(ADMIN) == []
    clock.advance(hours=12)
    escalated = await server.wait_for(lambda m: m.chat_id == ADMIN and "Escalated" in m.content)
    assert escalated.content.startswith("⏫ Escalated to you: this request has waited 25 h")
    # Escalated, the county admin may decide it; every copy closes.
    assert (await press(server, ADMIN, escalated, "v1:lv:1:a"))["text"] == "Leave #1 approved."
    await server.wait_until(lambda: first.reply_markup is None and reminder.reply_markup is None)
    await asyncio.sleep(0.5)  # more sweeps: nothing is sent twice
    reminders = [
        m
        for m in server.messages_to(COORD)
        if "⏰" in ((m.history[0][0] or "") if m.history else m.content)
    ]
    assert len(reminders) == 1
    # The leave (the 24th) ends; on the 26th nobody has sent /back.
    clock.advance(days=2)
    flagged = await server.wait_for(lambda m: m.chat_id == GROUP and "⚠️" in m.content)
    assert flagged.content == (
        "⚠️ Wang's leave #1 (2026-11-24 (1 day)) ended on 2026-11-24 "
        "and they have not reported back with /back."
    )
    await server.wait_for(lambda m: m.chat_id == MEMBER and "send /back" in m.content)
    day = await county.say(GROUP, LEADER, "/today")
    assert "⚠️ leave #1 ended 2026-11-24, no /back" in day.content
    listed = await ask(server, GROUP, LEADER, "/leaves")
    assert listed.content.splitlines() == [
        "Leave at Shangba: pending, current and coming",
        "#1 Wang: Personal leave, 2026-11-24 (1 day): ⚠️ ended, no /back",
    ]
    own = await county.say(MEMBER, MEMBER, "/leaves")
    assert own.content.splitlines()[1] == (
        "#1 Wang: Personal leave, 2026-11-24 (1 day): ⚠️ ended, no /back"
    )
    # A member in the group sees only their own.
    assert (await ask(server, GROUP, MEMBER2, "/leaves")).content.splitlines() == [
        "Your leave requests",
        "None.",
    ]
    events = await events_of(county.settings, county.clock)
    assert events == [
        "leave.requested",
        "leave.routed",
        "leave.reminded",
        "leave.escalated",
        "leave.approved",
        "leave.overdue",
    ]
