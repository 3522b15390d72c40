"""Who is in the group, end to end: a member who leaves or is removed stops being in the team
(recorded, the group told once however Telegram reports it), and a group that removes the bot
is flagged to its county, planned for no more, and bound again when the bot is added back.

Shangba (HZ-001) in Huize county, admin Chen; it is Monday 2026-11-23, 09:30 in Huize."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from storage.base import Tx
from storage.models import Event
from tests.botapi_server import BotApiServer, Json
from tests.conftest import (
    ADMIN,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    FakeClock,
    events_of,
    in_store,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, tick_seconds=0.2)


def _member_update(server: BotApiServer, user: int, by: int, status: str) -> Json:
    person = server.users[user]
    return {
        "chat": server.chats[GROUP],
        "from": server.users[by] if by != server.bot_id else server.bot_user,
        "date": int(server.clock().timestamp()),
        "old_chat_member": {"user": person, "status": "member"},
        "new_chat_member": {"user": person, "status": status}
        | ({"until_date": 0} if status == "kicked" else {}),
    }


async def _service(server: BotApiServer, by: int, field: str, value: object) -> None:
    message = server._new_message(GROUP, by, None)
    message[field] = value
    await server.push_update("message", message)


async def _events(county: BotHarness, kind: str) -> list[Event]:
    async def work(tx: Tx) -> list[Event]:
        return await tx.events(kind=kind)

    return await in_store(county.settings, county.clock, work)


async def test_a_member_who_leaves_or_is_removed_is_no_longer_in_the_team(
    county: BotHarness, server: BotApiServer
) -> None:
    mark = len(server.sent)
    server.set_status(GROUP, MEMBER2, "left")
    await server.push_update("chat_member", _member_update(server, MEMBER2, MEMBER2, "left"))
    left = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert left.content == (
        "Zhao left the group, so they are no longer in the team of Shangba. Their records are kept."
    )
    # The same departure as the group's service message changes nothing and says nothing.
    await _service(server, MEMBER2, "left_chat_member", server.users[MEMBER2])
    # Li removes Wang; Telegram reports it only as a service message (the bot is no admin).
    mark = len(server.sent)
    server.set_status(GROUP, MEMBER, "kicked")
    await _service(server, LEADER, "left_chat_member", server.users[MEMBER])
    removed = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert removed.content == (
        "Li removed Wang from the group, so they are no longer in the team of Shangba. "
        "Their records are kept."
    )
    await county.settled()
    assert [m.content for m in server.sent[mark:] if m.chat_id == GROUP] == [removed.content]
    view = await county.say(GROUP, LEADER, "/team")
    assert "People (1)" in view.content
    recorded = await _events(county, "team.left_group")
    assert [(e.actor_id, e.data["roles"]) for e in recorded] == [(3, ["member"]), (1, ["member"])]

    # A leader who leaves leaves the team without one, and the group is told how to fix it.
    mark = len(server.sent)
    await server.push_update("chat_member", _member_update(server, LEADER, LEADER, "left"))
    gone = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert gone.content.splitlines()[-1] == (
        "The team now has no leader: a group admin can become its leader with /setup."
    )


async def test_a_group_that_removes_the_bot_is_flagged_and_bound_again_when_it_is_back(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    mark = len(server.sent)
    server.set_status(GROUP, server.bot_id, "kicked")
    bot = server.bot_user
    await server.push_update(
        "my_chat_member",
        {
            "chat": server.chats[GROUP],
            "from": server.users[LEADER],
            "date": int(clock().timestamp()),
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        },
    )
    flagged = await server.wait_for(lambda m: m.chat_id == ADMIN, after=mark)
    assert flagged.content.startswith(
        "⚠️ The bot was removed from the group of HZ-001 Shangba by Li."
    )
    # The evening window opens: nothing is planned for the group, so nothing is refused.
    clock.current = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 17:00 in Huize
    await asyncio.sleep(0.8)
    await county.settled()
    assert [m for m in server.sent[mark:] if m.chat_id == GROUP] == []
    assert server.forbidden == []

    mark = len(server.sent)
    server.set_status(GROUP, server.bot_id, "member")
    await _service(server, LEADER, "new_chat_members", [bot])
    back = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert back.content == (
        "I am back in this group: it is again the team of Shangba, and reminders resume."
    )
    told = await server.wait_for(lambda m: m.chat_id == ADMIN, after=mark)
    assert told.content.startswith("✅ The bot is back in the group of HZ-001 Shangba")
    assert await events_of(county.settings, clock, "chat.bot_") == [
        "chat.bot_removed",
        "chat.bot_added",
    ]
    # The next window's reminder reaches the group again.
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00 on the 24th
    reminder = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert "check-in window is open" in reminder.content
