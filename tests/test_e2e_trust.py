"""What must not leak, end to end: another team's records asked for in a team's group, reverse
checks outside a private chat, refusals that would name a village to a stranger.

Shangba (HZ-001, Dahai township) and Xiaba (HZ-002, Leju township) are both in Huize county,
whose admin is Chen; Zhang coordinates Dahai. Xiaba's group is set up by its leader Qian."""

from __future__ import annotations

from tests.botapi_server import BotApiServer
from tests.conftest import ADMIN, COORD, GROUP, OUTSIDER, BotHarness, events_of

XIABA_GROUP = -100777
QIAN = 1010


async def _xiaba_with_a_log(county: BotHarness, server: BotApiServer) -> None:
    server.add_user(QIAN, "Qian")
    server.add_group(XIABA_GROUP, "Xiaba team", members={QIAN: "creator"})
    assert "Xiaba" in (await county.say(XIABA_GROUP, QIAN, "/setup HZ-002")).content
    await county.say(XIABA_GROUP, QIAN, "/join")
    await county.say(XIABA_GROUP, QIAN, "/household add 刘大爷")
    saved = await county.say(XIABA_GROUP, QIAN, "/log 走访@@刘大爷，了解低保复核")
    assert saved.content.startswith("📝 Log #1 saved")


async def test_a_team_group_hears_only_about_its_own_team(
    county: BotHarness, server: BotApiServer
) -> None:
    await _xiaba_with_a_log(county, server)
    for text in ("/logs HZ-002", "/log history 1"):
        refused = await county.say(GROUP, ADMIN, text)
        assert refused.content == (
            "Here I answer only about this group's team. "
            "Ask me about another team in a private chat."
        ), text
        assert "刘大爷" not in refused.content
    # The same questions, privately, are answered.
    logs = await county.say(ADMIN, ADMIN, "/logs HZ-002")
    assert logs.content.splitlines()[0] == "📒 Work logs of Xiaba, 2026-11-23"
    history = await county.say(ADMIN, ADMIN, "/log history 1")
    assert "走访@@刘大爷" in history.content
    # A log of Shangba, asked in Shangba's group, is still answered there.
    await county.say(GROUP, OUTSIDER, "/join")
    await county.say(GROUP, OUTSIDER, "/log 入户走访")
    own = await county.say(GROUP, OUTSIDER, "/log history 2")
    assert "入户走访" in own.content


async def test_a_reverse_check_is_never_done_in_a_group(
    county: BotHarness, server: BotApiServer
) -> None:
    await _xiaba_with_a_log(county, server)
    for chat, user, text in (
        (GROUP, ADMIN, "/audit sample HZ-002 1"),
        (XIABA_GROUP, ADMIN, "/audit sample HZ-002 1"),
        (GROUP, COORD, "/audit sample HZ-001 1"),
        (GROUP, COORD, "/audit 刘大爷"),
        (XIABA_GROUP, ADMIN, "/audit mark 1 ok"),
    ):
        refused = await county.say(chat, user, text)
        assert refused.content == (
            "Reverse checks are done in a private chat with me, never in a team's group."
        ), text
    assert await events_of(county.settings, county.clock, "audit.") == []  # no sample spent
    sample = await county.say(ADMIN, ADMIN, "/audit sample HZ-002 1")
    assert sample.content.splitlines()[0] == "🎲 1 visit(s) of Xiaba to verify:"


async def test_a_refusal_names_no_village_to_a_stranger(
    county: BotHarness, server: BotApiServer
) -> None:
    await _xiaba_with_a_log(county, server)
    server.add_user(OUTSIDER + 100, "Stranger")
    for user in (OUTSIDER + 100, COORD):  # nobody, and a coordinator of another township
        refused = await county.say(user, user, "/logs HZ-002")
        assert refused.content == "You cannot read these logs."
