"""Attendance sites end to end: typed coordinates, a shared pin, refusals."""

from __future__ import annotations

from tests.botapi_server import BotApiServer
from tests.conftest import GROUP, LEADER, MEMBER, BotHarness


async def test_leader_adds_lists_and_removes_sites(team: BotHarness) -> None:
    reply = await team.say(GROUP, LEADER, "/site add School 25.51 103.21 150")
    assert reply.text == "Site School added: 25.510000, 103.210000, radius 150 m."
    listing = (await team.say(GROUP, MEMBER, "/site list")).content or ""
    assert "• Village office: 25.500000, 103.200000 (radius 300 m)" in listing
    assert "• School: 25.510000, 103.210000 (radius 150 m)" in listing
    assert (
        "already a site called School"
        in (await team.say(GROUP, LEADER, "/site add School 25.6 103.3")).content
    )
    assert "Site School removed" in (await team.say(GROUP, LEADER, "/site remove School")).content
    assert "no site called School" in (await team.say(GROUP, LEADER, "/site remove School")).content
    assert "School" not in (await team.say(GROUP, MEMBER, "/site")).content


async def test_members_cannot_change_sites(team: BotHarness) -> None:
    for command in ("/site add Shop 25.5 103.2", "/site remove Village office"):
        reply = await team.say(GROUP, MEMBER, command)
        assert reply.text == "Only the team leader or a county admin can do that."
    assert "Village office" in (await team.say(GROUP, MEMBER, "/site list")).content


async def test_bad_site_input_is_explained(team: BotHarness) -> None:
    cases = {
        "/site add Office 103.2 25.5": "Did you swap them?",
        "/site add Office 95 200": "is not a place on Earth",
        "/site add Office 25.5 103.2 20": "too small",
        "/site add Office 25.5": "Usage:",
        "/site move Office": "Usage:",
        "/site remove": "Usage:",
    }
    for command, expected in cases.items():
        assert expected in (await team.say(GROUP, LEADER, command)).content, command
    assert (
        "Manage sites in your team's group chat"
        in (await team.say(LEADER, LEADER, "/site list")).content
    )


async def test_sites_need_a_team(bot: BotHarness) -> None:
    assert "not a team yet" in (await bot.say(GROUP, LEADER, "/site list")).content


async def test_site_from_a_shared_location_survives_a_restart(
    team: BotHarness, server: BotApiServer
) -> None:
    reply = await team.say(GROUP, LEADER, "/site add Clinic")
    assert "Now share the location of Clinic" in (reply.text or "")
    await team.restart()
    # Another member's location does not complete the leader's site.
    mark = len(server.sent)
    await server.send_location(GROUP, MEMBER, 25.52, 103.22)
    await team.barrier(GROUP, MEMBER)
    assert all("Clinic" not in (m.text or "") for m in server.sent[mark:])
    added = await team.expect(lambda: server.send_location(GROUP, LEADER, 25.52, 103.22), GROUP)
    assert added.text == "Site Clinic added: 25.520000, 103.220000, radius 300 m."
    # The wait is used up: a second location adds nothing.
    mark = len(server.sent)
    await server.send_location(GROUP, LEADER, 25.53, 103.23)
    await team.barrier(GROUP, LEADER)
    assert all("added" not in (m.text or "") for m in server.sent[mark:])


async def test_a_pending_site_expires(team: BotHarness, server: BotApiServer) -> None:
    await team.say(GROUP, LEADER, "/site add Clinic")
    team.clock.advance(minutes=16)
    mark = len(server.sent)
    await server.send_location(GROUP, LEADER, 25.52, 103.22)
    await team.barrier(GROUP, LEADER)
    assert all("Clinic" not in (m.text or "") for m in server.sent[mark:])
