"""What must not leak, end to end: another team's records asked for in a team's group, reverse
checks outside a private chat, refusals that would name a village to a stranger; and bad
input (made-up points, overlong and malformed arguments, a button with no message) answered
clearly.

Shangba (HZ-001, Dahai township) and Xiaba (HZ-002, Leju township) are both in Huize county,
whose admin is Chen; Zhang coordinates Dahai. Xiaba's group is set up by its leader Qian."""

from __future__ import annotations

from datetime import date

from storage.base import Tx
from storage.models import Checkin
from tests.botapi_server import BotApiServer
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    OUTSIDER,
    BotHarness,
    events_of,
    in_store,
)

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
    assert sample.content.splitlines()[0] == "🎲 1 visit of Xiaba to verify:"


async def test_a_refusal_names_no_village_to_a_stranger(
    county: BotHarness, server: BotApiServer
) -> None:
    await _xiaba_with_a_log(county, server)
    server.add_user(OUTSIDER + 100, "Stranger")
    for user in (OUTSIDER + 100, COORD):  # nobody, and a coordinator of another township
        refused = await county.say(user, user, "/logs HZ-002")
        assert refused.content == "Team HZ-002 is not in your area."  # the code, not Xiaba


# ---------------------------------------------------------------------- bad input
async def test_a_location_off_the_earth_is_refused_and_not_stored(
    county: BotHarness, server: BotApiServer
) -> None:
    await county.say(GROUP, MEMBER, "/join")
    for latitude, longitude in ((float("nan"), 103.2), (25.5, float("inf")), (95.0, 103.2)):
        mark = len(server.sent)
        await server.send_location(GROUP, MEMBER, latitude, longitude, live_period=28800)
        answer = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
        assert answer.content.startswith("That location is not a real place"), latitude

    async def checkins(tx: Tx) -> list[Checkin]:
        team = await tx.get_team_by_code("HZ-001")
        assert team is not None
        return await tx.team_checkins(team.id, date(2026, 11, 1), date(2026, 11, 30))

    assert await in_store(county.settings, county.clock, checkins) == []


async def test_a_long_or_strange_argument_gets_a_clear_answer(
    county: BotHarness, server: BotApiServer
) -> None:
    long = "长" * 5000
    refused = await county.say(GROUP, MEMBER, f"/logs {long}")
    assert refused.content.startswith("Not a day: 长长长")
    assert len(refused.content) < 300 and "…" in refused.content
    for text in ("/log history 99999999999999999999", "/log history ²"):
        usage = await county.say(GROUP, MEMBER, text)
        assert usage.content.startswith("Which log?"), text
    # Half a surrogate pair cannot be stored as text: it becomes U+FFFD and the log is kept.
    saved = await county.say(GROUP, MEMBER, "/log 走访\ud800农户")
    assert saved.content.startswith("📝 Log #1 saved")
    history = await county.say(GROUP, MEMBER, "/log history 1")
    assert "走访\ufffd农户" in history.content


async def test_a_reject_pressed_where_telegram_gives_no_message_asks_privately(
    county: BotHarness, server: BotApiServer
) -> None:
    server.start_private(LEADER)
    await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    server.callback_answers["lost"] = {}
    await server.push_update(
        "callback_query",
        {
            "id": "lost",
            "from": server.users[LEADER],
            "inline_message_id": "gone",
            "chat_instance": "1",
            "data": "v1:lv:1:r",
        },
    )
    prompt = await server.wait_for(lambda m: m.chat_id == LEADER and "Why is leave #1" in m.content)
    assert prompt.reply_markup == {"force_reply": True, "selective": True}
    done = await county.say(LEADER, LEADER, "Inspection that day")
    assert done.content == "Rejection of leave #1 recorded."


# ---------------------------------------------------------------------- private chats
async def test_pressing_start_or_sharing_a_location_privately_opens_the_private_chat(
    county: BotHarness, server: BotApiServer
) -> None:
    """The bot writes privately to those who wrote to it there: a Start from someone it has
    never seen, and a member's first private location, both count."""
    server.add_user(QIAN, "Qian")
    await county.say(QIAN, QIAN, "/start")
    await county.say(GROUP, MEMBER, "/join")
    mark = len(server.sent)
    await server.send_location(MEMBER, MEMBER, 25.5009, 103.2, live_period=28800)
    await server.wait_for(lambda m: m.chat_id == MEMBER, after=mark)

    async def reachable(tx: Tx) -> set[int]:
        people = [await tx.get_person_by_tg(user) for user in (QIAN, MEMBER)]
        return await tx.privately_reachable([p.id for p in people if p is not None])

    assert len(await in_store(county.settings, county.clock, reachable)) == 2
