"""County attendance rules: shown to everyone, changed only by the county's admins (in the
team's group or with ``cunbot rules --county``), and applied to the next check-in."""

from __future__ import annotations

from pathlib import Path

from tests.botapi_server import BotApiServer
from tests.conftest import ADMIN, GOOD, GROUP, LEADER, MEMBER, BotHarness, ask, run_cli
from tests.test_e2e_invites import invite


async def test_a_county_admin_sets_the_rules_for_the_county(
    bot: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    csv = tmp_path / "org.csv"
    csv.write_text(GOOD)
    assert (await run_cli(bot.settings, "import", str(csv)))[0] == 0
    await bot.say(GROUP, LEADER, "/setup HZ-001")
    await bot.say(GROUP, MEMBER, "/join")
    code = await invite(bot, "--role", "admin", "--county", "Huize")
    await bot.say(ADMIN, ADMIN, f"/start {code}")
    server.set_status(GROUP, ADMIN, "member")

    refused = await bot.say(GROUP, LEADER, "/rules set days=22")
    assert refused.text == "Only an admin of this team's county changes the attendance rules."
    bad = await bot.say(GROUP, ADMIN, "/rules set night=22:00-02:00")
    assert "cannot cross midnight" in bad.content
    usage = await bot.say(GROUP, ADMIN, "/rules set")
    assert usage.content.startswith("Usage: /rules set")

    done = await bot.say(GROUP, ADMIN, "/rules set morning=07:30-09:00 days=22 nights=15")
    assert done.content.splitlines()[:4] == [
        "Rules updated.",
        "Attendance rules · Huize",
        "Check-in windows: morning 07:30–09:00, evening 17:00–20:00, night 20:00–24:00",
        "Monthly quota: 22 days, of which 15 nights",
    ]
    # ask, not say: the group may get a scheduled reminder meanwhile; only the quoted reply counts.
    assert "Monthly quota: 22 days" in (await ask(server, GROUP, MEMBER, "/rules")).content
    assert "Monthly quota: 22 days" in (await bot.say(MEMBER, MEMBER, "/rules")).content

    code_, out, err = await run_cli(bot.settings, "rules", "--county", "Huize", "accuracy=100")
    assert code_ == 0, err
    assert "Location accuracy: 100 m or better" in out and "22 days" in out
    assert "accuracy: 200 m" in (await run_cli(bot.settings, "rules"))[1]
