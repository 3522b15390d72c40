"""Start-up, restart and chat migration, end to end."""

from __future__ import annotations

import logging

import pytest

from tests.botapi_server import BotApiServer
from tests.conftest import GROUP, LEADER, MEMBER, OUTSIDER, BotHarness

SUPERGROUP = -1001234567890


async def test_updates_sent_while_down_are_handled_on_start(
    team: BotHarness, server: BotApiServer
) -> None:
    await team.stop()
    joined = await server.send_text(GROUP, OUTSIDER, "/join")
    asked = await server.send_text(GROUP, MEMBER, "/team")
    assert server.pending_updates() == 2
    await team.start()
    welcome = await server.wait_for(lambda m: m.reply_to_message_id == joined["message_id"])
    assert welcome.text == "Welcome, Sun: you are now a member of the team of Shangba."
    view = await server.wait_for(lambda m: m.reply_to_message_id == asked["message_id"])
    assert "People (4)" in (view.text or "")
    webhook_calls = [c for c in server.calls if c.method == "deleteWebhook"]
    assert webhook_calls and all(not c.params.get("drop_pending_updates") for c in webhook_calls)


async def test_group_upgraded_to_supergroup_keeps_its_team(
    team: BotHarness, server: BotApiServer
) -> None:
    mark = len(server.sent)
    await server.migrate_group(GROUP, SUPERGROUP, LEADER)
    notice = await server.wait_for(lambda m: m.chat_id == SUPERGROUP, after=mark)
    assert "became a supergroup" in (notice.text or "")
    view = await team.say(SUPERGROUP, MEMBER, "/team")
    assert "Team of Shangba" in (view.text or "") and "People (3)" in (view.text or "")
    assert "Village office" in (view.text or "")
    assert "already a member" in (await team.say(SUPERGROUP, MEMBER, "/join")).content
    assert not any(m.chat_id == GROUP for m in server.sent[mark:])


async def test_start_up_publishes_a_menu_for_groups_and_one_for_private_chats(
    bot: BotHarness, server: BotApiServer
) -> None:
    """Each in both languages, and by default in the bot's default language (English in these
    tests); each offers what the permission table lets someone use in that kind of chat."""
    scopes = {"all_group_chats", "all_private_chats"}
    assert set(server.commands) == {(s, c) for s in scopes for c in ("", "en", "zh")} | {
        ("default", "")
    }

    def menu(scope: str, code: str) -> dict[str, str]:
        return {c["command"]: c["description"] for c in server.commands[(scope, code)]}

    group, private = menu("all_group_chats", "zh"), menu("all_private_chats", "zh")
    assert {"setup", "join", "team", "site"} <= group.keys()
    assert not {"setup", "join", "team", "site"} & private.keys()
    assert {"audit", "spotcheck", "me", "today"} <= private.keys()
    assert not {"audit", "spotcheck"} & group.keys()  # done privately only
    assert group["join"] == "加入本群工作队"
    assert menu("all_group_chats", "") == menu("all_group_chats", "en")  # the default: English
    assert menu("default", "") == menu("all_private_chats", "en")


async def test_privacy_mode_is_logged_at_start(
    bot: BotHarness, server: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.bot_user["can_read_all_group_messages"] = False
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await bot.restart()
    assert any("privacy mode is on" in r.getMessage() for r in caplog.records)
