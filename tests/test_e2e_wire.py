"""How updates and answers travel, end to end: redelivered updates, a Telegram that fails for
a while, poison updates, a flood in one group, a stop in the middle, and a restart that
finds updates in the inbox. The bot runs for real (``serve``) over the offline server."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, timedelta
from functools import partial
from operator import contains
from typing import Any

import pytest

from storage.base import Tx
from storage.models import Checkin, InboxRow, NewUpdate, OutboxRow, WireView
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    FakeClock,
    events_of,
    in_store,
    run_cli,
)

# 07:00 on 23 November in Asia/Shanghai: the morning check-in window is open.
MORNING = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
NEAR = (25.5009, 103.2)  # about 100 m from the village office
LIVE: dict[str, Any] = {"live_period": 28800, "horizontal_accuracy": 12.0}
OTHER = -100777  # a second team's group


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MORNING)


def _replies(server: BotApiServer, chat_id: int, message: dict[str, object]) -> list[SentMessage]:
    return [
        m
        for m in server.sent
        if m.chat_id == chat_id and m.reply_to_message_id == message["message_id"]
    ]


async def _quoted(server: BotApiServer, chat_id: int, message: dict[str, object]) -> SentMessage:
    return await server.wait_for(
        lambda m: m.chat_id == chat_id and m.reply_to_message_id == message["message_id"],
        timeout=60,
    )


async def _checkins(bot: BotHarness) -> list[Checkin]:
    async def work(tx: Tx) -> list[Checkin]:
        return await tx.export_checkins(date(2026, 1, 1), date(2027, 12, 31))

    return await in_store(bot.settings, bot.clock, work)


async def _outbox(bot: BotHarness, chat_id: int | None = None) -> list[OutboxRow]:
    async def work(tx: Tx) -> list[OutboxRow]:
        return await tx.outbox_rows(chat_id)

    return await in_store(bot.settings, bot.clock, work)


# ---------------------------------------------------------------------- redelivery
async def test_an_update_redelivered_is_recognised_at_the_door_and_answered_once(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """Telegram sends an update again when the bot's confirmation never reached it: the same
    update_id, for every kind. Each is one record and one answer."""
    server.start_private(MEMBER)
    location = await server.send_location(GROUP, MEMBER, *NEAR, **LIVE)
    checked_in = await _quoted(server, GROUP, location)
    ids = [server.last_update_id]
    log = await server.send_text(GROUP, MEMBER2, "#log 走访五保户两户")
    logged = await _quoted(server, GROUP, log)
    ids.append(server.last_update_id)
    leave = await server.send_text(GROUP, MEMBER, "/leave 2026-11-25 2026-11-27 sick fever")
    asked = await _quoted(server, GROUP, leave)
    ids.append(server.last_update_id)
    me = await server.send_text(MEMBER, MEMBER, "/me")
    mine = await server.wait_for(lambda m: m.chat_id == MEMBER and "Wang" in m.content)
    ids.append(server.last_update_id)
    # The leader decides first; he never wrote to the bot privately, so the buttons are here.
    copy = await server.wait_for(lambda m: m.chat_id == GROUP and "please decide here" in m.content)
    query = await server.press_button(LEADER, copy, "v1:lv:1:a")
    assert (await server.wait_answer(query))["text"]
    ids.append(server.last_update_id)
    await county.settled()
    assert "✅" in checked_in.content and "📝" in logged.content and "Leave #1" in asked.content
    assert me["message_id"] and mine.content
    before = len(server.sent)
    answers_before = len(server.calls_to("answerCallbackQuery"))

    for update_id in ids:
        await server.redeliver(update_id)
    await county.barrier(GROUP, LEADER)
    await county.settled()

    assert all(server.served[u] == 2 for u in ids)  # the bot was handed each one twice
    # Nothing answers them again (a scheduled reminder may be posted meanwhile: it quotes
    # nothing and names no request).
    originals = {(GROUP, location["message_id"]), (GROUP, log["message_id"])}
    originals |= {(GROUP, leave["message_id"]), (MEMBER, me["message_id"])}
    extra = server.sent[before:]
    assert [m for m in extra if (m.chat_id, m.reply_to_message_id) in originals] == []
    assert [m for m in extra if "Leave #1" in m.content or "Wang ·" in m.content] == []
    assert [m for m in extra if m.reply_to_message_id is not None and m.chat_id != GROUP] == []
    assert len(server.calls_to("answerCallbackQuery")) == answers_before
    assert len(await _checkins(county)) == 1
    assert await events_of(county.settings, clock, "log.") == ["log.written"]
    leave_events = await events_of(county.settings, clock, "leave.")
    # Asked, routed to the leader, approved by him, routed on to the township: each once.
    assert leave_events == ["leave.requested", "leave.routed", "leave.approved", "leave.routed"]

    async def inbox(tx: Tx) -> list[int]:
        return [r.update_id for r in await tx.waiting_updates(0, 100)]

    assert await in_store(county.settings, clock, inbox) == []


# ---------------------------------------------------------------------- Telegram failing
async def test_answers_wait_out_a_failing_telegram_and_arrive_once(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """sendMessage answers 502, then drops the connection, then never answers: what members
    sent is saved at once, and every answer arrives once when Telegram recovers."""
    logs, todays = [], []
    for how in ("5xx", "drop", "hang"):
        server.failing["sendMessage"] = how
        logs.append(await server.send_text(GROUP, MEMBER, f"#log 走访 {how}"))
        await server.send_location(GROUP, MEMBER2, *NEAR, **LIVE)
        todays.append(await server.send_text(GROUP, LEADER, "/today"))
        await server.wait_until(partial(contains, server.failed_calls, ("sendMessage", how)))
    del server.failing["sendMessage"]
    # The records were made while Telegram could not be told.
    assert len(await events_of(team.settings, clock, "log.")) == 3
    assert [c.outcome for c in await _checkins(team)] == ["checkin", "repeat", "repeat"]
    await team.barrier(GROUP, LEADER)
    await team.settled()
    for message in logs + todays:
        [answer] = _replies(server, GROUP, message)
        assert "nothing was changed" not in answer.content
    assert [a.content.splitlines()[0] for a in (_replies(server, GROUP, m)[0] for m in logs)] == [
        f"📝 Log #{n} saved for 2026-11-23 (Wang)." for n in (1, 2, 3)
    ]
    # Check-in answers that were held up together arrive together, each member named.
    said = [line for m in server.sent if m.chat_id == GROUP for line in m.content.splitlines()]
    assert [line for line in said if line.startswith(("✅ Zhao ·", "☑️ Zhao ·"))] == [
        "✅ Zhao · morning check-in 07:00 · Village office · 100 m",
        *["☑️ Zhao · already checked in for the morning at 07:00; counted once"] * 2,
    ]
    by_update = [r.update_id for r in await _outbox(team, GROUP) if r.state == "sent"]
    assert len(by_update) == len(set(by_update))  # no answer sent twice
    assert not any(r.state in ("failed", "uncertain") for r in await _outbox(team, GROUP))


# ---------------------------------------------------------------------- poison
async def test_a_poison_update_is_a_dead_letter_and_the_chat_goes_on(
    team: BotHarness, server: BotApiServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    secret = "#log 机密的走访内容"
    bad = await server.push_raw(
        {
            "message": {
                "message_id": 9999,
                "chat": {"id": GROUP, "type": "group", "title": "Shangba"},
                "from": "not a user",
                "date": int(clock().timestamp()),
                "text": secret,
            }
        }
    )
    answer = await team.say(GROUP, LEADER, "/today")  # the chat goes on with its next update
    assert "Shangba" in answer.content or "check" in answer.content.lower()
    await team.settled()
    assert server.pending_updates() == 0  # polling is not wedged on it

    lines = [r.getMessage() for r in caplog.records if f"update {bad} " in r.getMessage()]
    assert len(lines) == 1 and "dead letter" in lines[0]
    assert all("机密" not in r.getMessage() for r in caplog.records)

    code, out, _ = await run_cli(team.settings, "inbox")
    assert code == 0
    assert "Dead letters: 1" in out
    assert f"update {bad} · message · chat {GROUP}" in out and "TypeError" in out
    assert "机密" not in out

    async def dead(tx: Tx) -> InboxRow | None:
        view = await tx.wire_view(clock())
        return view.dead[0] if view.dead else None

    row = await in_store(team.settings, clock, dead)
    assert row is not None and row.attempts == 1
    code, out, err = await run_cli(team.settings, "inbox", "retry", str(row.id))
    assert code == 0 and f"#{row.id}" in out
    await team.restart()  # the next start runs it again: still poison, still one dead letter
    await team.settled()
    again = await in_store(team.settings, clock, dead)
    assert again is not None and (again.id, again.attempts) == (row.id, 2)
    code, _, err = await run_cli(team.settings, "inbox", "retry", "424242")
    assert code == 1 and "424242" in err


async def test_the_inbox_command_speaks_chinese(team: BotHarness) -> None:
    from dataclasses import replace

    code, out, _ = await run_cli(replace(team.settings, lang="zh"), "inbox")
    assert code == 0
    assert out.splitlines()[0].startswith("待处理的更新：0 条")
    assert out.splitlines()[2].startswith("发件箱（待发，及最近一天）：")


# ---------------------------------------------------------------------- a flood in one group
async def test_a_flood_in_one_group_holds_up_no_other_team(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """100 commands in one group under Telegram's pace of 20 messages a minute a group: the
    other team's check-in is answered meanwhile, the flooded group sees the bot typing, a
    stop in the middle keeps its time and loses nothing, and the next start goes on, in order,
    each command answered once."""
    server.add_group(OTHER, "Xiaba team", members={LEADER: "creator", MEMBER: "member"})
    server.set_status(OTHER, server.bot_id, "administrator")
    assert "set up" in (await team.say(OTHER, LEADER, "/setup Xiaba")).content
    await team.say(OTHER, LEADER, "/site add Office 25.5 103.2 300")
    await team.say(OTHER, MEMBER, "/join")
    await team.settled()
    server.group_limit_per_minute = 20
    flood = [await server.send_text(GROUP, MEMBER2, "/help") for _ in range(100)]
    await server.wait_until(lambda: len([m for m in flood if _replies(server, GROUP, m)]) >= 5)
    other = await server.send_location(OTHER, MEMBER, *NEAR, **LIVE)
    answer = await _quoted(server, OTHER, other)
    assert answer.content.startswith("✅ Wang · morning check-in")
    answered = len([m for m in flood if _replies(server, GROUP, m)])
    assert answered < 40  # the flood was still being paced out when the other team was answered
    await server.wait_until(
        lambda: any(
            c.method == "sendChatAction" and c.params["chat_id"] == GROUP for c in server.calls
        )
    )
    assert server.rate_limited == []

    await asyncio.wait_for(team.stop(), 10)  # the pace holds most of the flood back
    assert server.pending_updates() == 0

    async def view(tx: Tx) -> WireView:
        return await tx.wire_view(clock())

    # Nothing lost: what was not answered is waiting in the inbox or in the outbox.
    seen = await in_store(team.settings, clock, view)
    answered = len([m for m in flood if _replies(server, GROUP, m)])
    assert seen.waiting + seen.outbox.get("due", 0) + answered >= 100
    # The bot's pace starts afresh with the process; Telegram's window is left to pass (a 429
    # on the first sends after a quick restart would be waited out, not lost).
    server.group_limit_per_minute = None
    await team.start()
    await server.wait_until(
        lambda: len([m for m in flood if _replies(server, GROUP, m)]) >= answered + 20
    )
    replied = [bool(_replies(server, GROUP, m)) for m in flood]
    assert replied == sorted(replied, reverse=True)  # in the order they were sent
    assert all(len(_replies(server, GROUP, m)) <= 1 for m in flood)
    assert server.rate_limited == []


# ---------------------------------------------------------------------- receipt time
async def test_an_update_left_in_the_inbox_is_judged_by_when_it_arrived(
    team: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """The bot stored a check-in and went down before handling it; it starts again twenty
    minutes later. The check-in was on time when it arrived, so it is still on time."""
    await team.stop()
    arrived = clock()
    message = {
        "message_id": 500,
        "from": server.users[MEMBER],
        "chat": server.chats[GROUP],
        "date": int(arrived.timestamp()),
        "location": {"latitude": NEAR[0], "longitude": NEAR[1], **LIVE},
    }
    raw = {"update_id": 777, "message": message}

    async def seed(tx: Tx) -> None:
        kept = NewUpdate(777, GROUP, "message", json.dumps(raw), arrived, arrived)
        assert await tx.add_updates([kept])

    await in_store(team.settings, clock, seed)
    clock.advance(minutes=20)
    await team.start()
    answer = await _quoted(server, GROUP, message)
    assert answer.content.startswith("✅ Wang · morning check-in 07:00")
    [row] = await _checkins(team)
    assert (row.outcome, row.received_at) == ("checkin", arrived)
    assert clock() - arrived == timedelta(minutes=20)


async def test_a_stop_while_the_overall_pace_holds_answers_back_loses_none(
    bot: BotHarness, server: BotApiServer
) -> None:
    """Ninety people write privately at once; the bot's overall pace (30 a second) holds most
    answers back when it is stopped. Those waiting for their turn were never on the wire: they
    stay in the outbox, unmarked, and go out once after the start; nothing is uncertain."""
    people = range(5000, 5090)
    for user in people:
        server.add_user(user, f"P{user}")
    for user in people:
        await server.send_text(user, user, "/help")
    await server.wait_until(lambda: len(server.sent) >= 10)
    await bot.stop()

    async def states(tx: Tx) -> dict[str, int]:
        counted: dict[str, int] = {}
        for row in await tx.outbox_rows():
            if row.chat_id in people:
                counted[row.state] = counted.get(row.state, 0) + 1
        return counted

    stopped = await in_store(bot.settings, bot.clock, states)
    assert stopped.get("due", 0) > 0, stopped  # the pace was holding answers back
    assert set(stopped) <= {"due", "sent"}, stopped  # nothing marked and left on the wire
    await bot.start()
    await bot.settled(timeout=30)
    answered = [m.chat_id for m in server.sent if m.chat_id in people]
    assert sorted(answered) == list(people)  # each answered once
    assert server.rate_limited == []
