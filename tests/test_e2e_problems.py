"""The problem list end to end through the offline server: a red problem raised with a
photo, moved up by its deadline to the township and to the county, assigned to a
department whose contact accepts and resolves it, confirmed by the team; a problem reopened;
edits kept as revisions; the chief commander; and the digest's section."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import Settings
from bot.i18n import t
from storage.base import Tx
from storage.models import Role
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    COORD2,
    GROUP,
    HEADER,
    LEADER,
    MEMBER,
    MEMBER2,
    BotHarness,
    FakeClock,
    ask,
    events_of,
    in_store,
    invite_code,
    press,
    press_start,
    run_cli,
)

COMMANDER = 1020
CONTACT = 1021
STRANGER_CONTACT = 1022
QIAN = 1023  # Xiaba's leader
XIABA = -100777


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, sweep_seconds=0.2)  # the deadline sweep, often


async def _team_id(bot: BotHarness) -> int:
    async def find(tx: Tx) -> int:
        team = await tx.get_team_by_code("HZ-001")
        assert team is not None
        return team.id

    return await in_store(bot.settings, bot.clock, find)


async def _people(county: BotHarness, server: BotApiServer) -> None:
    """Shangba's chief commander (invited by the CLI) and a contact of Huize's transport
    bureau who opened a private chat; the mobile operator's contact never did."""
    server.add_user(COMMANDER, "Zheng")
    server.add_user(CONTACT, "Yuan")
    server.add_user(STRANGER_CONTACT, "He")
    for user, args in (
        (COMMANDER, ("--role", "commander", "--team", "HZ-001")),
        (CONTACT, ("--role", "contact", "--county", "Huize", "--department", "交通局")),
    ):
        code = await invite_code(county, *args)
        server.start_private(user)
        done = await county.say(user, user, f"/start {code}")
        assert "Done" in done.content, done.content
    operator = ("--role", "contact", "--county", "Huize", "--department", "移动公司")
    code = await invite_code(county, *operator)
    county.clock.current = datetime.now(UTC)
    await in_store(county.settings, county.clock, lambda tx: _redeem(tx, code))
    county.clock.current = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


async def _redeem(tx: Tx, code: str) -> None:
    """He of the mobile operator holds the role but never opened a private chat."""
    invite = await tx.get_invite(code)
    assert invite is not None and invite.department_id is not None
    person = await tx.upsert_person(STRANGER_CONTACT, "He", None, None, None, invite.expires_at)
    role = Role("contact", county_id=invite.county_id, department_id=invite.department_id)
    await tx.grant_role(person.id, role, invite.expires_at, None)


def _problem_id(reply: SentMessage) -> int:
    return int(reply.content.split("#", 1)[1].split()[0].rstrip("."))


async def test_a_red_problem_climbs_by_its_deadline_and_a_department_solves_it(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _people(county, server)
    await press_start(county, server, MEMBER)
    # Wang raises it in the group with a photo: the bridge is down, a villager said so.
    mark = len(server.sent)
    await server.send_photo(
        GROUP, MEMBER, caption="#问题 三组便桥被冲垮 @@张三 反映人：张大爷 #道路"
    )
    raised = await server.wait_for(lambda m: m.chat_id == GROUP and "#1" in m.content, after=mark)
    assert "Problem #1 is on the list" in raised.content
    assert "roads" in raised.content and "Raised by the villager: 张大爷" in raised.content
    assert "📷 1 photo" in raised.content
    assert "Not in the register: 张三" in raised.content  # households are named, as in logs
    # A member may choose its first colour; after that it is the leader's call.
    answer = await press(server, MEMBER, raised, "v1:pb:1:c:red")
    assert "is now red" in answer["text"]
    refused = await press(server, MEMBER, raised, "v1:pb:1:c:green")
    assert refused["show_alert"] and "team leader" in refused["text"]
    outsider = await press(server, CONTACT, raised, "v1:pb:1:c:green")
    assert outsider["show_alert"]
    # Data our encoder never writes (an action of two letters) is a stale button, not a crash.
    made_up = await press(server, MEMBER, raised, "v1:pb:1:an")
    assert made_up == {"text": t("en", "err.stale_button"), "show_alert": True}

    # Red: three days at each level. Nobody acts; the deadline moves it to the township.
    clock.advance(days=3, minutes=1)
    up = await server.wait_for(lambda m: m.chat_id == COORD and "#1" in m.content, after=mark)
    assert "passed its deadline at the village team and went up to the township" in up.content
    await server.wait_for(lambda m: m.chat_id == COMMANDER and "township" in m.content, after=mark)
    await server.wait_for(lambda m: m.chat_id == GROUP and "went up to the township" in m.content)
    # The photo came along to the township and the commander, by Telegram's own file id.
    await server.wait_for(lambda m: m.chat_id == COORD and m.photo is not None, after=mark)
    # Three more days: the county; the township hears it left.
    mark = len(server.sent)
    clock.advance(days=3, minutes=1)
    await server.wait_for(lambda m: m.chat_id == ADMIN and "went up to the county" in m.content)
    await server.wait_for(lambda m: m.chat_id == COORD and "to the county" in m.content, after=mark)

    # The county assigns it to the transport bureau; the mobile operator's contact never
    # opened a chat, so the admin is told by name when assigning there.
    assigned = await ask(server, ADMIN, ADMIN, "/problem 1 assign 交通局")
    assert "assigned to 交通局" in assigned.content
    copy = await server.wait_for(lambda m: m.chat_id == CONTACT and m.buttons != [])
    assert "三组便桥被冲垮" in copy.content
    await server.wait_for(lambda m: m.chat_id == CONTACT and m.photo is not None)
    wrong = await ask(server, ADMIN, ADMIN, "/problem 1 assign 水利局")
    assert "No department" in wrong.content and "交通局" in wrong.content

    # The contact accepts (a second tap is told so), notes progress, resolves with a note.
    assert "accepted" in (await press(server, CONTACT, copy, "v1:pb:1:a"))["text"]
    again = await press(server, CONTACT, copy, "v1:pb:1:a")
    assert again["show_alert"] and "accepted already" in again["text"]
    not_theirs = await press(server, MEMBER2, copy, "v1:pb:1:a")
    assert not_theirs["show_alert"]
    await press(server, CONTACT, copy, "v1:pb:1:s")
    await server.wait_for(lambda m: m.chat_id == CONTACT and "How was problem #1" in m.content)
    mark = len(server.sent)
    done = await ask(server, CONTACT, CONTACT, "便桥已抢修通行")
    assert "resolved by Yuan" in done.content
    confirm = await server.wait_for(
        lambda m: m.chat_id == GROUP and "Please confirm with the household" in m.content,
        after=mark,
    )
    # The team confirms with the household: closed, and the contact hears it.
    assert "confirmed solved" in (await press(server, LEADER, confirm, "v1:pb:1:y"))["text"]
    await server.wait_for(lambda m: m.chat_id == CONTACT and "confirmed solved" in m.content)
    shown = await ask(server, GROUP, MEMBER, "/problem 1")
    assert "Confirmed solved" in shown.content
    for step in ("raised", "colour", "escalated", "assigned", "accepted", "resolved", "confirmed"):
        assert f"· {step} ·" in shown.content, step
    assert "(deadline)" in shown.content
    kinds = await events_of(county.settings, county.clock, "problem.")
    assert kinds.count("problem.escalated") == 2 and "problem.confirmed" in kinds


async def test_escalated_by_hand_reopened_and_edited(
    county: BotHarness, server: BotApiServer
) -> None:
    await _people(county, server)
    mark = len(server.sent)
    sent = await server.send_text(GROUP, MEMBER, "/problem 村里没有手机信号 #信号")
    raised = await server.wait_for(
        lambda m: m.reply_to_message_id == sent["message_id"], after=mark
    )
    assert "phone signal" in raised.content
    number = _problem_id(raised)
    # An edit is a revision; the first text stays in the history.
    mark = len(server.sent)
    await server.edit_text(sent, "/problem 村里三组、四组没有手机信号 #信号")
    edited = await server.wait_for(lambda m: "edited (revision 1)" in m.content, after=mark)
    assert edited.chat_id == GROUP
    # Escalating needs a reason; the team sends it to the township, which solves it.
    assert "Say why" in (await ask(server, GROUP, LEADER, f"/problem {number} 上报")).content
    up = await ask(server, GROUP, LEADER, f"/problem {number} escalate 需要协调移动公司")
    assert "went up to the township" in up.content
    await server.wait_for(lambda m: m.chat_id == COORD2 and f"#{number}" in m.content)
    # The team may not resolve what now waits at the township, and is told who may.
    refused = await ask(server, GROUP, MEMBER, f"/problem {number} resolve 好了")
    assert "with the township" in refused.content and "Zhang" in refused.content
    solved = await ask(server, COORD, COORD, f"/problem {number} 解决 已协调移动公司建基站")
    assert "resolved by Zhang" in solved.content
    confirm = await server.wait_for(lambda m: m.chat_id == GROUP and m.buttons != [])
    # The household says it is not solved: open again at the township, Zhang is told.
    answer = await press(server, MEMBER2, confirm, f"v1:pb:{number}:x")
    assert "open again" in answer["text"]
    await server.wait_for(lambda m: m.chat_id == COORD and "open again" in m.content)
    listed = await ask(server, COORD, COORD, "/problems")
    assert "Waiting for you: 1" in listed.content and f"#{number}" in listed.content
    history = await ask(server, GROUP, MEMBER, f"/problem {number}")
    for step in ("edited", "escalated", "resolved", "not solved"):
        assert f"· {step} ·" in history.content, step


async def test_the_commander_moves_any_level_and_others_are_kept_out(
    county: BotHarness, server: BotApiServer
) -> None:
    await _people(county, server)
    raised = await ask(server, GROUP, MEMBER, "/problem 饮水管道漏水 #water")
    number = _problem_id(raised)
    # The commander sees the village's day and its problems, and may take it straight to
    # a department from the team's level.
    assert "Shangba" in (await ask(server, COMMANDER, COMMANDER, "/today HZ-001")).content
    listed = await ask(server, COMMANDER, COMMANDER, "/problems")
    assert f"#{number}" in listed.content
    assigned = await ask(server, COMMANDER, COMMANDER, f"/problem {number} assign 移动公司")
    assert "assigned to 移动公司" in assigned.content
    assert "have not opened a private chat" in assigned.content and "He" in assigned.content
    # The commander resolves it himself; the household says it is not: back to the mobile
    # operator, whose contact still cannot be written to, and the team is told so by name.
    mark = len(server.sent)
    solved = await ask(server, COMMANDER, COMMANDER, f"/problem {number} resolve 已换管")
    assert "resolved by Zheng" in solved.content
    confirm = await server.wait_for(lambda m: m.chat_id == GROUP and m.buttons != [], after=mark)
    await press(server, MEMBER2, confirm, f"v1:pb:{number}:x")
    await server.wait_until(lambda: "open again" in confirm.content and confirm.buttons == [])
    assert "have not opened a private chat" in confirm.content and "He" in confirm.content
    # An id that is nobody's reads like one that is not yours.
    stranger = await ask(server, MEMBER2, MEMBER2, "/problem 999")
    assert "no problem 999" in stranger.content


async def test_chinese_and_the_digest_section(county: BotHarness, server: BotApiServer) -> None:
    await ask(server, GROUP, LEADER, "/lang zh")
    raised = await ask(server, GROUP, MEMBER, "#问题 五组道路塌方 反映人：李四 #道路")
    assert "已列入清单" in raised.content and "道路" in raised.content and "李四" in raised.content
    number = _problem_id(raised)
    coloured = await ask(server, GROUP, LEADER, f"/problem {number} 红 汛期影响出行")
    assert "改为红色" in coloured.content
    listed = await ask(server, GROUP, MEMBER, "/problems")
    assert "🔴" in listed.content and f"#{number}" in listed.content
    digest = await ask(server, GROUP, LEADER, "/digest")
    assert "问题清单：未销号 1 个（🔴 1 🟡 0 🟢 0）" in digest.content


async def test_the_county_digest_names_problems_common_to_several_villages(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    """Roads raised in Shangba and Xiaba in the same week: with the county's
    ``problem_common=2`` its admin's digest names them for the headquarters, and the
    spreadsheet lists every problem."""
    csv = tmp_path / "more.csv"
    csv.write_text(HEADER + "Huize,Leju,HZ-003,Zhongcun,Asia/Shanghai,Office,25.7,103.4,\n")
    assert (await run_cli(county.settings, "import", str(csv)))[0] == 0
    server.add_user(QIAN, "Qian")
    server.add_group(XIABA, "Xiaba team", members={QIAN: "creator"})
    assert "Xiaba" in (await county.say(XIABA, QIAN, "/setup HZ-002")).content
    changed = await ask(server, GROUP, ADMIN, "/rules set problem_common=2 problem_red=2")
    assert changed.content.startswith("Rules updated.")
    assert "red 2 days" in changed.content and "common to 2 villages" in changed.content
    first = await ask(server, GROUP, MEMBER, "/problem 二组道路塌方 #道路")
    await ask(server, GROUP, LEADER, f"/problem {_problem_id(first)} red")
    flooded = await ask(server, XIABA, QIAN, "#problem The road to the school is flooded #roads")
    # Leju township has no coordinator: sent up, it goes past the empty level to the county.
    up = await ask(server, XIABA, QIAN, f"/problem {_problem_id(flooded)} escalate bridge needed")
    assert "went up to the county (from the village team)" in up.content
    await ask(server, GROUP, MEMBER2, "/problem 自来水停了三天 #water")
    mark = len(server.sent)
    digest = await ask(server, ADMIN, ADMIN, "/digest this")
    lines = digest.content.splitlines()
    assert (
        "📌 Problems: 3 open (🔴 1 🟡 2 🟢 0), 0 overdue; at the team 2, township 0, county 1."
        " This period: 3 raised, 0 confirmed solved." in lines
    )
    assert (
        "⚠️ Common to 2 villages (for the headquarters): roads — Shangba, Xiaba (2 problems)"
        in lines
    )
    sheet = await server.wait_for(
        lambda m: m.chat_id == ADMIN and m.document is not None, after=mark
    )
    book = load_workbook(io.BytesIO(sheet.file_bytes or b""))
    assert {"Problems", "Common problems"} <= set(book.sheetnames)
    rows = list(book["Problems"].iter_rows(values_only=True))
    assert rows[0][:6] == ("Problem", "Team", "Category", "Colour", "Level", "State")
    assert [(r[2], r[3]) for r in rows[1:]] == [
        ("roads", "red"),
        ("roads", "yellow"),
        ("water", "yellow"),
    ]
    # The team's own digest in its group has the section, never the county's roll-up.
    team_digest = await ask(server, GROUP, LEADER, "/digest this")
    assert "Common to" not in team_digest.content and "📌 Problems: 2 open" in team_digest.content
