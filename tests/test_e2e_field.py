"""Field check-ins (外勤), end to end: a point outside every site, inside a window, offers
"check in as field work"; the member gives the reason (households named with @@, a photo may
come with it) and, by the county's rule, the team leader decides, or it counts at once; far
from the village the township decides; every other refusal stands.

Shangba (HZ-001) is in Dahai township of Huize county; its sites are the Village office
(25.5, 103.2) and the School (25.51, 103.21). It is Monday 2026-11-23, 17:30 in Shanghai: the
evening window (17:00–20:00) is open."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    ask,
    events_of,
    press,
    run_cli,
)

TWO_KM = (25.518, 103.2)  # the hillside households, 1.3 km from the School, the nearest site
FAR = (25.77, 103.2)  # the county town, over 20 km from any site
BUTTON = "🧭 Check in as field work"


async def _refused(server: BotApiServer, point: tuple[float, float], **fix: float) -> SentMessage:
    """The member shares a point; the bot's answer to it."""
    mark = len(server.sent)
    sent = await server.send_location(GROUP, MEMBER, *point, **fix)  # type: ignore[arg-type]
    return await server.wait_for(
        lambda m: m.chat_id == GROUP and m.reply_to_message_id == sent["message_id"], after=mark
    )


async def _give_reason(server: BotApiServer, refusal: SentMessage, reason: str) -> SentMessage:
    [button] = refusal.buttons
    assert button["text"] == BUTTON
    answer = await press(server, MEMBER, refusal, button["callback_data"])
    assert answer["text"] == "Say what the field work is."
    await server.wait_for(lambda m: m.chat_id == GROUP and "What field work took you" in m.content)
    return await ask(server, GROUP, MEMBER, reason)


async def _evening(county: BotHarness) -> None:
    county.clock.advance(hours=8)


async def test_a_field_check_in_is_offered_explained_and_approved_by_the_leader(
    county: BotHarness, server: BotApiServer
) -> None:
    await _evening(county)
    refusal = await _refused(server, TWO_KM, horizontal_accuracy=15)
    assert refusal.content.endswith(
        "Working away from the village office? Make it a field check-in, with a reason."
    )
    # Only its sender may make it field work.
    other = await press(server, MEMBER2, refusal, refusal.buttons[0]["callback_data"])
    assert other == {
        "text": "Only the member who sent this location can make it a field check-in.",
        "show_alert": True,
    }
    asked = await _give_reason(server, refusal, "走访@@张三家 了解医保报销")
    assert asked.content == (
        "Field check-in #1 for the evening of Mon, Nov 23 sent to the team leader (Li)."
    )
    copy = await server.wait_for(
        lambda m: m.chat_id == GROUP and any(b["callback_data"] == "v1:mk:1:a" for b in m.buttons)
    )
    assert copy.content.splitlines()[2:] == [
        "Field check-in #1: Wang (Shangba), evening of Mon, Nov 23",
        "At 17:30, 1.3 km from School",
        "Reason: 走访张三家 了解医保报销",
        "Waiting for the team leader.",
    ]
    assert (await press(server, LEADER, copy, "v1:mk:1:a"))["text"] == (
        "Field check-in #1 approved."
    )
    me = await ask(server, GROUP, MEMBER, "/me")
    lines = me.content.splitlines()
    assert lines[1].startswith("Days present: 1 of ")
    assert "Today: evening 17:30 (field)" in lines
    assert "This month: 1 field" in lines
    # The day grid marks the day apart: present, by field work.
    mark = len(server.sent)
    await server.send_text(GROUP, LEADER, "/digest this")
    sheet = await server.wait_for(
        lambda m: m.file_bytes is not None and m.photo is None, after=mark
    )
    assert sheet.file_bytes is not None
    days = list(load_workbook(io.BytesIO(sheet.file_bytes))["Days"].iter_rows(values_only=True))
    wang = next(row for row in days if row[1] == "Wang")
    assert wang[2] == "field"
    assert await events_of(county.settings, county.clock, "field.") == [
        "field.requested",
        "field.approved",
    ]
    # Done: the same refusal's button now says the window counts.
    again = await press(server, MEMBER, refusal, refusal.buttons[0]["callback_data"])
    assert again == {
        "text": "That day's evening check-in already counts: nothing to make up.",
        "show_alert": True,
    }


async def test_a_rejected_field_check_in_does_not_count(
    county: BotHarness, server: BotApiServer
) -> None:
    await _evening(county)
    refusal = await _refused(server, TWO_KM, horizontal_accuracy=15)
    await _give_reason(server, refusal, "went to the market")
    copy = await server.wait_for(
        lambda m: any(b["callback_data"] == "v1:mk:1:r" for b in m.buttons)
    )
    answer = await press(server, LEADER, copy, "v1:mk:1:r")
    assert answer["text"] == "Write the reason for rejecting, in one message."
    await server.wait_for(lambda m: m.chat_id == GROUP and "Why is field check-in #1" in m.content)
    done = await ask(server, GROUP, LEADER, "the market is not field work")
    assert done.content == "Rejected, and the reason sent: #1."
    notice = await server.wait_for(lambda m: m.chat_id == GROUP and "rejected by Li" in m.content)
    assert "market" not in notice.content  # the reason goes to the member, not the group
    me = await ask(server, GROUP, MEMBER, "/me")
    assert me.content.splitlines()[1].startswith("Days present: 0 of ")


async def test_the_countys_rule_counts_it_at_once_but_far_away_the_township_decides(
    county: BotHarness, server: BotApiServer
) -> None:
    assert (await run_cli(county.settings, "rules", "--county", "Huize", "field=count"))[0] == 0
    await _evening(county)
    far = await _refused(server, FAR, live_period=3600)
    asked = await _give_reason(server, far, "county training")
    assert asked.content == (
        "Field check-in #1 for the evening of Mon, Nov 23 sent to the township coordinator"
        " (Zhang, Zhou)."
    )
    copy = await server.wait_for(lambda m: m.chat_id == COORD and "Field check-in #1" in m.content)
    assert "km from School" in copy.content
    # A nearer point the next evening counts at once.
    county.clock.advance(days=1)
    near = await _refused(server, TWO_KM, horizontal_accuracy=15)
    counted = await _give_reason(server, near, "visited @@李四")
    assert counted.content == "✅ Counted as a field check-in: the evening of Tue, Nov 24 (#2)."
    me = await ask(server, GROUP, MEMBER, "/me")
    assert "Today: evening 17:30 (field)" in me.content.splitlines()


async def test_other_refusals_and_a_county_without_field_work_offer_nothing(
    county: BotHarness, server: BotApiServer
) -> None:
    await _evening(county)
    picked = await _refused(server, TWO_KM)  # a pin picked on a map carries no accuracy
    assert picked.buttons == [] and "field check-in" not in picked.content
    forwarded_like = await _refused(server, TWO_KM, horizontal_accuracy=5000)  # inaccurate
    assert forwarded_like.buttons == []
    assert (await run_cli(county.settings, "rules", "--county", "Huize", "field=off"))[0] == 0
    off = await _refused(server, TWO_KM, horizontal_accuracy=15)
    assert off.buttons == []
    rules = await ask(server, GROUP, MEMBER, "/rules")
    assert "Field check-ins: not taken" in rules.content.splitlines()
