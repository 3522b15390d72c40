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


async def test_start_up_publishes_the_menu_in_both_languages(
    bot: BotHarness, server: BotApiServer
) -> None:
    assert set(server.commands) == {"", "zh"}
    english = {c["command"]: c["description"] for c in server.commands[""]}
    chinese = {c["command"]: c["description"] for c in server.commands["zh"]}
    assert english.keys() == chinese.keys() >= {"setup", "join", "team", "site", "help"}
    assert chinese["join"] == "加入本群工作队"


async def test_privacy_mode_is_logged_at_start(
    bot: BotHarness, server: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.bot_user["can_read_all_group_messages"] = False
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await bot.restart()
    assert any("privacy mode is on" in r.getMessage() for r in caplog.records)
