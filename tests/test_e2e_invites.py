"""Role invites: the operator's CLI prints a link, a person opens it in a private chat."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import ADMIN, GROUP, LEADER, MEMBER, BotHarness, run_cli


async def cli(bot: BotHarness, *args: str) -> tuple[int, str, str]:
    return await run_cli(bot.settings, *args)


async def invite(bot: BotHarness, *args: str) -> str:
    """The /start payload of a fresh invite link."""
    # The CLI stamps invites with the wall clock; the bot reads the test clock.
    bot.clock.current = datetime.now(UTC)
    code, out, err = await cli(bot, "invite", *args)
    assert code == 0, err
    link = out.strip().splitlines()[-1]
    assert link.startswith("https://t.me/cunbot_test_bot?start=inv_"), out
    return link.split("start=", 1)[1]


async def test_coordinator_invite_is_single_use(bot: BotHarness) -> None:
    code = await invite(bot, "--role", "coordinator", "--township", "Dahai", "--county", "Huize")
    reply = await bot.say(ADMIN, ADMIN, f"/start {code}")
    assert reply.text == "Done: you are now township coordinator of Dahai."
    assert "• township coordinator: Dahai" in (await bot.say(ADMIN, ADMIN, "/help")).content
    again = await bot.say(MEMBER, MEMBER, f"/start {code}")
    assert again.text == "This invite link has already been used. Ask for a new one."
    assert "Your roles" not in (await bot.say(MEMBER, MEMBER, "/help")).content


async def test_expired_and_unknown_invites(bot: BotHarness) -> None:
    code = await invite(bot, "--role", "admin", "--county", "Huize", "--hours", "1")
    bot.clock.advance(hours=1, seconds=1)
    assert "has expired" in (await bot.say(ADMIN, ADMIN, f"/start {code}")).content
    assert "not valid" in (await bot.say(ADMIN, ADMIN, "/start inv_made_up")).content


async def test_invite_needs_a_place(bot: BotHarness) -> None:
    code, _, err = await cli(bot, "invite", "--role", "coordinator", "--township", "Nowhere")
    assert code == 2 and "There is no township Nowhere" in err
    code, _, err = await cli(bot, "invite", "--role", "admin")
    assert code == 2 and "--county" in err
    await invite(bot, "--role", "coordinator", "--township", "Dahai", "--county", "Huize")
    await invite(bot, "--role", "coordinator", "--township", "Dahai", "--county", "Zhaotong")
    code, _, err = await cli(bot, "invite", "--role", "coordinator", "--township", "Dahai")
    assert code == 2 and "several counties (Huize, Zhaotong)" in err


async def test_start_in_a_group_is_not_an_invite(bot: BotHarness) -> None:
    code = await invite(bot, "--role", "admin", "--county", "Huize")
    mark = len(bot.server.sent)
    await bot.server.send_text(GROUP, LEADER, f"/start {code}")
    await bot.barrier(GROUP, LEADER)
    # Invites are taken in private only: the group saw no answer but the barrier's.
    assert [m.text for m in bot.server.sent[mark:]][:-1] == []
    assert "county admin of Huize" in (await bot.say(ADMIN, ADMIN, f"/start {code}")).content
