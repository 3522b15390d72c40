"""The default leave route in an imported county: the team's leader decides first (Approve /
Reject in the group, where a leader who never wrote to the bot privately gets the buttons),
then the township (up to 3 days) or the county. A leader's own request skips the leader
step; two leaders race and the first decision counts; ``leave_leader=off`` restores the
direct route.

Shangba (HZ-001) is in Dahai township of Huize county; Dahai has two coordinators, Huize one
admin. It is Monday 2026-11-23, 09:30 in Shanghai."""

from __future__ import annotations

from bot.config import Settings
from storage.base import Tx
from storage.models import Role
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    FakeClock,
    ask,
    events_of,
    grant,
    in_store,
    press,
    run_cli,
)


async def _decide_here(server: BotApiServer, request_id: int) -> SentMessage:
    return await server.wait_for(
        lambda m: (
            m.chat_id == GROUP
            and "please decide here" in m.content
            and f"Leave #{request_id} " in m.content
        )
    )


async def _copy(server: BotApiServer, chat_id: int, request_id: int) -> SentMessage:
    return await server.wait_for(
        lambda m: m.chat_id == chat_id and f"Leave #{request_id} " in m.content
    )


async def _second_leader(settings: Settings, clock: FakeClock) -> None:
    """Zhao becomes the team's second leader."""

    async def team_id(tx: Tx) -> int:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        return team.id

    shangba = await in_store(settings, clock, team_id)
    await grant(settings, clock, MEMBER2, "Zhao", Role("leader", team_id=shangba))


async def test_a_two_day_request_goes_to_the_leader_then_the_township(
    county: BotHarness, server: BotApiServer
) -> None:
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 2026-11-26 personal errand")
    assert asked.content.splitlines()[:2] == [
        "📝 Leave #1 asked: Personal leave, 2026-11-25 → 2026-11-26 (2 days).",
        "Sent to the team leader: Li. You will hear when it is decided.",
    ]
    in_group = await _decide_here(server, 1)
    assert "⏳ Waiting for the team leader (step 1 of 2)" in in_group.content
    assert server.messages_to(COORD) == []  # the township hears only after the leader
    assert (await press(server, LEADER, in_group, "v1:lv:1:a"))["text"] == "Leave #1 approved."
    copy = await _copy(server, COORD, 1)
    assert "✅ Approved by Li (team leader)" in copy.content
    assert "⏳ Waiting for the township (step 2 of 2)" in copy.content
    assert [b["callback_data"] for b in copy.buttons] == ["v1:lv:1:a", "v1:lv:1:r"]
    assert (await press(server, COORD, copy, "v1:lv:1:a"))["text"] == "Leave #1 approved."
    kinds = await events_of(county.settings, county.clock)
    assert kinds.count("leave.approved") == 2  # one decision per step, each recorded


async def test_a_five_day_request_goes_to_the_leader_then_the_county(
    county: BotHarness, server: BotApiServer
) -> None:
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 2026-11-29 personal family")
    assert "Sent to the team leader: Li." in asked.content
    in_group = await _decide_here(server, 1)
    assert (await press(server, LEADER, in_group, "v1:lv:1:a"))["text"] == "Leave #1 approved."
    copy = await _copy(server, ADMIN, 1)
    assert "⏳ Waiting for the county (step 2 of 2)" in copy.content
    assert server.messages_to(COORD) == []


async def test_a_leaders_own_request_skips_the_leader_step_even_with_a_second_leader(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _second_leader(county.settings, clock)
    own = await ask(server, GROUP, LEADER, "/leave 2026-11-25 personal errand")
    assert "Sent to the township: Zhang, Zhou." in own.content
    copy = await _copy(server, COORD, 1)
    assert "⏳ Waiting for the township (step 1 of 1)" in copy.content


async def test_two_leaders_race_and_the_first_decision_counts(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _second_leader(county.settings, clock)
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    assert "Sent to the team leaders: Li, Zhao." in asked.content
    in_group = await _decide_here(server, 1)
    # Both press Approve before the bot handles either.
    first = await server.press_button(LEADER, in_group, "v1:lv:1:a")
    second = await server.press_button(MEMBER2, in_group, "v1:lv:1:a")
    answers = [(await server.wait_answer(q))["text"] for q in (first, second)]
    assert answers == [
        "Leave #1 approved.",
        "Only the township's coordinators decide this request now: Zhang, Zhou.",
    ]
    copy = await _copy(server, COORD, 1)
    assert "✅ Approved by Li (team leader)" in copy.content
    decisions = await events_of(county.settings, county.clock)
    assert decisions.count("leave.approved") == 1


async def test_leave_leader_off_restores_the_direct_route(
    county: BotHarness, server: BotApiServer
) -> None:
    code, out, err = await run_cli(
        county.settings, "rules", "--county", "Huize", "leave_leader=off"
    )
    assert code == 0, err
    assert "Leave: up to 3 days approved by the township, longer by the county" in out
    asked = await ask(server, GROUP, MEMBER, "/leave 2026-11-25 2026-11-26 personal errand")
    assert "Sent to the township: Zhang, Zhou." in asked.content
    copy = await _copy(server, COORD, 1)
    assert "⏳ Waiting for the township (step 1 of 1)" in copy.content


async def test_a_team_whose_leader_left_has_its_leader_step_decided_by_the_township(
    county: BotHarness, server: BotApiServer
) -> None:
    """Li leaves the group after Wang asked: nobody holds the leader step any more, so the
    township need not wait for the escalation a day later."""
    await ask(server, GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    in_group = await _decide_here(server, 1)
    message = server._new_message(GROUP, LEADER, None)
    message["left_chat_member"] = server.users[LEADER]
    server.set_status(GROUP, LEADER, "left")
    await server.push_update("message", message)
    await server.wait_for(lambda m: m.chat_id == GROUP and "Li left the group" in m.content)
    # Another member still may not decide it; the township now may.
    zhao = await press(server, MEMBER2, in_group, "v1:lv:1:a")
    assert zhao.get("show_alert") is True and zhao.get("text") != "Leave #1 approved."
    assert (await press(server, COORD, in_group, "v1:lv:1:a"))["text"] == "Leave #1 approved."
