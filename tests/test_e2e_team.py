"""Teams and people, end to end: the real bot over HTTP, on a real SQLite file."""

from __future__ import annotations

from tests.botapi_server import BotApiServer
from tests.conftest import ADMIN, GROUP, LEADER, MEMBER, MEMBER2, OUTSIDER, BotHarness

OTHER_GROUP = -100777


def text(message: object) -> str:
    return getattr(message, "text", None) or ""


# ---------------------------------------------------------------------- /setup


async def test_group_admin_sets_up_a_team_and_leads_it(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, LEADER, "/setup Shangba")
    assert "Team of Shangba is set up (time zone Asia/Shanghai). You are its leader." in text(reply)
    assert "cannot read ordinary messages" not in text(reply)  # privacy mode is off here
    view = await bot.say(GROUP, MEMBER, "/team")
    assert "• Li @li_leader: team leader, member" in text(view)


async def test_a_member_who_is_not_group_admin_cannot_set_up(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, MEMBER, "/setup Shangba")
    assert "Only a group admin or a county admin" in text(reply)
    assert "not a team yet" in text(await bot.say(GROUP, MEMBER, "/team"))


async def test_setup_needs_a_group_and_a_name(bot: BotHarness) -> None:
    assert "in your team's group chat" in text(await bot.say(LEADER, LEADER, "/setup Shangba"))
    assert text(await bot.say(GROUP, LEADER, "/setup")).startswith("Usage: /setup")
    long_name = "x" * 65
    assert "too long" in text(await bot.say(GROUP, LEADER, f"/setup {long_name}"))


async def test_setup_again_renames_for_the_leader_and_refuses_others(
    team: BotHarness, server: BotApiServer
) -> None:
    assert "already the team of Shangba" in text(await team.say(GROUP, LEADER, "/setup Shangba"))
    reply = await team.say(GROUP, LEADER, "/setup Shangba Upper")
    assert "now Shangba Upper (was Shangba)" in text(reply)
    # Another group admin cannot take a team that has a leader.
    server.set_status(GROUP, OUTSIDER, "administrator")
    reply = await team.say(GROUP, OUTSIDER, "/setup Elsewhere")
    assert "already the team of Shangba Upper. Only its leader" in text(reply)


async def test_a_team_that_lost_its_leader_can_be_taken_by_a_group_admin(
    team: BotHarness, server: BotApiServer
) -> None:
    reply = await team.say(GROUP, LEADER, "/leave_team")
    assert "now has no leader" in text(reply)
    assert "Only its leader" in text(await team.say(GROUP, MEMBER, "/setup"))
    server.set_status(GROUP, MEMBER, "administrator")
    assert "already the team of Shangba" in text(await team.say(GROUP, MEMBER, "/setup"))
    view = text(await team.say(GROUP, MEMBER, "/team"))
    assert "• Wang @wang: team leader, member" in view
    assert "Li @li_leader" not in view


async def test_privacy_mode_is_explained_to_the_leader(
    bot: BotHarness, server: BotApiServer
) -> None:
    server.bot_user["can_read_all_group_messages"] = False
    await bot.restart()  # getMe is read at start
    reply = await bot.say(GROUP, LEADER, "/setup Shangba")
    assert "@cunbot_test_bot an admin of this group" in text(reply)
    assert "/setprivacy" in text(reply)
    # An admin bot reads everything: no warning for a group where it is one.
    server.add_group(OTHER_GROUP, "Xiaba team", members={LEADER: "creator"})
    server.set_status(OTHER_GROUP, server.bot_id, "administrator")
    reply = await bot.say(OTHER_GROUP, LEADER, "/setup Xiaba")
    assert "set up" in text(reply) and "/setprivacy" not in text(reply)


async def test_anonymous_admin_is_asked_to_speak_as_themselves(
    bot: BotHarness, server: BotApiServer
) -> None:
    mark = len(server.sent)
    await server.send_text(GROUP, LEADER, "/setup Shangba", as_group=True)
    reply = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert "posting as the group" in text(reply)
    assert "not a team yet" in text(await bot.say(GROUP, LEADER, "/team"))


async def test_an_edited_command_does_not_run_again(team: BotHarness, server: BotApiServer) -> None:
    message = await server.send_text(GROUP, LEADER, "/setup Shangba")
    await team.barrier(GROUP, LEADER)
    mark = len(server.sent)
    await server.edit_text(message, "/setup Renamed")
    await team.barrier(GROUP, LEADER)
    assert [m.text for m in server.sent[mark:]][:-1] == []  # only the barrier's reply
    assert "Team of Shangba" in text(await team.say(GROUP, LEADER, "/team"))


# ---------------------------------------------------------------------- /join, /leave_team


async def test_join_and_leave(team: BotHarness) -> None:
    reply = await team.say(GROUP, OUTSIDER, "/join")
    assert text(reply) == "Welcome, Sun: you are now a member of the team of Shangba."
    assert "already a member" in text(await team.say(GROUP, OUTSIDER, "/join"))
    assert "People (4)" in text(await team.say(GROUP, OUTSIDER, "/team"))
    reply = await team.say(GROUP, OUTSIDER, "/leave_team")
    assert text(reply) == "Sun has left the team of Shangba. Their past records are kept."
    assert "not a member" in text(await team.say(GROUP, OUTSIDER, "/leave_team"))
    assert "People (3)" in text(await team.say(GROUP, OUTSIDER, "/team"))


async def test_join_needs_a_team_group(bot: BotHarness) -> None:
    assert "not a team yet" in text(await bot.say(GROUP, MEMBER, "/join"))
    assert "not a team yet" in text(await bot.say(GROUP, MEMBER, "/leave_team"))
    assert "in your team's group chat" in text(await bot.say(MEMBER, MEMBER, "/join"))


# ---------------------------------------------------------------------- /help, /lang, others


async def test_help_lists_what_each_person_may_do(team: BotHarness) -> None:
    leader = text(await team.say(GROUP, LEADER, "/help"))
    assert "/site add|list|remove" in leader and "/leave_team" in leader
    outsider = text(await team.say(GROUP, OUTSIDER, "/help"))
    assert "/join" in outsider and "/site" not in outsider and "/leave_team" not in outsider
    private = text(await team.say(LEADER, LEADER, "/help"))
    assert "Your roles:" in private and "• team leader: Shangba" in private


async def test_lang_switches_a_group_for_leaders_only(team: BotHarness) -> None:
    assert "Only the team leader" in text(await team.say(GROUP, MEMBER, "/lang zh"))
    assert text(await team.say(GROUP, LEADER, "/lang zh")) == "本聊天已切换为中文。"
    assert text(await team.say(GROUP, OUTSIDER, "/join")) == "欢迎 Sun：您已加入 Shangba 工作队。"
    assert text(await team.say(GROUP, MEMBER2, "/team")).startswith("Shangba 工作队（编号 -）")
    assert text(await team.say(GROUP, LEADER, "/lang fr")) == "用法：/lang zh 或 /lang en"
    assert text(await team.say(GROUP, LEADER, "/lang")) == "用法：/lang zh 或 /lang en"


async def test_private_chat_follows_telegram_language_until_chosen(
    bot: BotHarness, server: BotApiServer
) -> None:
    server.add_user(2001, "Liu", language_code="zh-hans")
    assert text(await bot.say(2001, 2001, "/start")).startswith("Liu，您好")
    assert text(await bot.say(2001, 2001, "/lang en")) == "This chat now speaks English."
    assert text(await bot.say(2001, 2001, "/start")).startswith("Hello Liu")


async def test_unknown_commands(bot: BotHarness, server: BotApiServer) -> None:
    assert "I don't know /frobnicate" in text(await bot.say(MEMBER, MEMBER, "/frobnicate"))
    addressed = await bot.say(GROUP, MEMBER, "/frobnicate@cunbot_test_bot")
    assert "I don't know /frobnicate" in text(addressed)
    # A bare unknown command in a group may be for another bot: silence.
    mark = len(server.sent)
    await server.send_text(GROUP, MEMBER, "/weather")
    await bot.barrier(GROUP, MEMBER)
    assert len(server.sent) == mark + 1
    # Addressed to another bot (village groups hold several): none of ours, anywhere; ours
    # by name in any case still is.
    mark = len(server.sent)
    for chat in (GROUP, MEMBER):
        await server.send_text(chat, MEMBER, "/team@other_bot")
        await server.send_text(chat, MEMBER, "/frobnicate@Other_Bot")
    await bot.barrier(GROUP, MEMBER)
    await bot.say(MEMBER, MEMBER, "/help")  # after the two above in the private chat
    assert [m.chat_id for m in server.sent[mark:]] == [GROUP, MEMBER]  # the /help answers only
    shouted = await bot.say(GROUP, MEMBER, "/frobnicate@CUNBOT_TEST_BOT")
    assert "I don't know /frobnicate" in text(shouted)


async def test_county_admin_may_set_up_without_being_group_admin(
    bot: BotHarness, server: BotApiServer
) -> None:
    from tests.test_e2e_invites import invite

    link_code = await invite(bot, "--role", "admin", "--county", "Huize")
    assert "county admin of Huize" in text(await bot.say(ADMIN, ADMIN, f"/start {link_code}"))
    server.set_status(GROUP, ADMIN, "member")
    assert "set up" in text(await bot.say(GROUP, ADMIN, "/setup Shangba"))
