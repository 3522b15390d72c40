"""The permission table (rules.permissions), walked cell by cell through the offline server,
and the README's copy of it checked against the code.

The people stand in every relation to Shangba (HZ-001, Dahai township, Huize county): Wang a
member, Li its leader, Zhang Dahai's coordinator, Wu the coordinator of Leju (another
township), Chen Huize's admin, Ma the admin of Xuanwei (another county), Sun nobody. The chats
are Shangba's group, Xiaba's group (HZ-002, in Leju) and each person's private chat. The
relations each person holds in each chat are written out here by hand, not asked of the bot.

Each command is sent in a form that changes nothing when it is allowed (a missing or wrong
argument): a refused cell must answer with the table's refusal; an allowed one must not."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.i18n import t
from rules import access, permissions
from rules.access import Scope
from rules.permissions import TABLE, Relation
from storage.base import Tx
from storage.models import Role
from tests.botapi_server import BotApiServer
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    HEADER,
    LEADER,
    MEMBER,
    OUTSIDER,
    BotHarness,
    grant,
    in_store,
    press,
    press_start,
    run_cli,
    township_id,
)

XIABA_GROUP = -100777
QIAN, WU, MA = 1010, 1011, 1012
HU, CAO, YUAN = 1013, 1014, 1015  # Shangba's chief commander, Xiaba's, a department contact
LIU = 1016  # a backing unit's contact
HOME = "HZ-001"

# Each person's relations: in Shangba's group, in Xiaba's group, and privately (to HZ-001
# when a command names it, else the kinds of role they hold).
WHO: dict[int, tuple[set[Relation], set[Relation], set[Relation], set[Relation]]] = {
    # person: (Shangba's group, Xiaba's group, private naming HZ-001, private naming none)
    MEMBER: ({"member"}, {"stranger"}, {"member"}, {"member"}),
    LEADER: ({"leader", "member"}, {"stranger"}, {"leader", "member"}, {"leader", "member"}),
    COORD: ({"coordinator"}, {"coordinator_other"}, {"coordinator"}, {"coordinator"}),
    WU: ({"coordinator_other"}, {"coordinator"}, {"coordinator_other"}, {"coordinator"}),
    ADMIN: ({"admin"}, {"admin"}, {"admin"}, {"admin"}),
    MA: ({"admin_other"}, {"admin_other"}, {"admin_other"}, {"admin"}),
    HU: ({"commander"}, {"commander_other"}, {"commander"}, {"commander"}),
    CAO: ({"commander_other"}, {"commander"}, {"commander_other"}, {"commander"}),
    YUAN: ({"contact"}, {"contact"}, {"contact"}, {"contact"}),
    LIU: ({"unit"}, {"unit"}, {"unit"}, {"unit"}),
    OUTSIDER: ({"stranger"}, {"stranger"}, {"stranger"}, {"stranger"}),
}

# What each row sends: as it is when it only reads (so a service that refuses what the table
# allows fails the walk), else in a form that changes nothing. None: only its refused cells
# are walked (allowed, it would change who is in which team for the cells after it).
SENT: dict[str, str | None] = {
    "help": "/help",
    "start": "/start",
    "lang": "/lang",
    "setup": None,
    "join": None,
    "leave_team": None,
    "team": "/team",
    "site": "/site list",
    "site add": "/site add",
    "site remove": "/site remove",
    "checkin": "/checkin",
    "checkin annul": "/checkin annul 999999 looks false",
    "checkin restore": "/checkin restore 999999 it was true",
    "rules": "/rules",
    "rules set": "/rules set",
    "me": "/me",
    "today": "/today",
    "digest": "/digest",
    "export": "/export",
    "remind": "/remind",
    "remind team": "/remind team",
    "leave": "/leave nonsense",
    "back": "/back",
    "makeup": "/makeup nonsense",
    "makeup cancel": "/makeup cancel 999",
    "leaves": "/leaves",
    "log": "/log",
    "log history": "/log history 1",
    "logs": "/logs",
    "household": "/household list",
    "household add": "/household add",
    "audit": "/audit sample 0",
    "summary": "/summary",
    "summaries": "/summaries",
    "spotcheck": "/spotcheck 0",
    "problem": "/problem",
    "problem colour": "/problem 999999 red",
    "problem category": "/problem 999999 category roads",
    "problem escalate": "/problem 999999 escalate why",
    "problem assign": "/problem 999999 assign nobody",
    "problem accept": "/problem 999999 accept",
    "problem note": "/problem 999999 note some progress",
    "problem resolve": "/problem 999999 resolve done",
    "problem confirm": "/problem 999999 confirm",
    "problem reopen": "/problem 999999 reopen",
    "problems": "/problems",
    "unit": "/unit",
    "unit add": "/unit add",
    "recall": "/recall",
    "recall note": "/recall note",
    "recall replace": "/recall replace",
    "recalls": "/recalls",
    "assessment": "/assessment",
    "assess": "/assess",
    "briefs": "/briefs",
}


async def _people(county: BotHarness, server: BotApiServer, tmp_path: Path) -> None:
    """Xiaba's group bound, a coordinator of Leju, and an admin of another county."""
    csv = tmp_path / "xuanwei.csv"
    csv.write_text(HEADER + "Xuanwei,Tangtang,XW-001,Zhongcun,Asia/Shanghai,Office,26.2,104.1,\n")
    assert (await run_cli(county.settings, "import", str(csv)))[0] == 0
    server.add_user(QIAN, "Qian")
    server.add_group(XIABA_GROUP, "Xiaba team", members={QIAN: "creator"})
    assert "Xiaba" in (await county.say(XIABA_GROUP, QIAN, "/setup HZ-002")).content
    leju = await township_id(county.settings, county.clock, "Leju", "Huize")
    server.add_user(WU, "Wu")
    await grant(county.settings, county.clock, WU, "Wu", Role("coordinator", township_id=leju))
    server.add_user(MA, "Ma")

    async def xuanwei(tx: Tx) -> int:
        county_row = await tx.get_county("Xuanwei")
        assert county_row is not None
        return county_row.id

    xuanwei_id = await in_store(county.settings, county.clock, xuanwei)
    await grant(county.settings, county.clock, MA, "Ma", Role("admin", county_id=xuanwei_id))

    async def places(tx: Tx) -> tuple[int, int, int, int, int]:
        shangba, xiaba = await tx.get_team_by_code("HZ-001"), await tx.get_team_by_code("HZ-002")
        huize = await tx.get_county("Huize")
        assert shangba and xiaba and huize
        bureau = await tx.create_department(huize.id, "交通局", county.clock())
        sender = await tx.create_unit(huize.id, "县农业局", county.clock())
        return shangba.id, xiaba.id, huize.id, bureau.id, sender.id

    shangba, xiaba, huize, bureau, sender = await in_store(county.settings, county.clock, places)
    for user, name, role in (
        (HU, "Hu", Role("commander", team_id=shangba)),
        (CAO, "Cao", Role("commander", team_id=xiaba)),
        (YUAN, "Yuan", Role("contact", county_id=huize, department_id=bureau)),
        (LIU, "Liu", Role("unit", county_id=huize, unit_id=sender)),
    ):
        server.add_user(user, name)
        await grant(county.settings, county.clock, user, name, role)
    for user in (WU, MA, MEMBER, LEADER, OUTSIDER, HU, CAO, YUAN, LIU):
        await press_start(county, server, user)


def _text(key: str, private: bool) -> str | None:
    sent = SENT[key]
    if sent is None or not (private and TABLE[key].takes_team):
        return sent
    command, *rest = sent.split()
    if key == "audit":
        return f"{command} {rest[0]} {HOME} {' '.join(rest[1:])}".strip()
    return " ".join([command, HOME, *rest])


async def test_every_cell_of_the_permission_table(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    await _people(county, server, tmp_path)
    walked = 0
    for key, rule in TABLE.items():
        for user, (home, other, named, own) in WHO.items():
            cells: list[tuple[int, permissions.ChatKind, set[Relation], bool]] = [
                (GROUP, "group", home, False),
                (XIABA_GROUP, "group", other, False),
                (user, "private", named if rule.takes_team else own, True),
            ]
            for chat, kind, held, private in cells:
                text = _text(key, private)
                refused = not permissions.allowed(rule, frozenset(held), kind)
                if text is None and not refused:
                    continue
                text = text or f"/{key}"
                refusal = permissions.refusal(rule, kind)
                answer = await _answer(county, server, chat, user, text)
                cell = (key, user, kind, sorted(held), answer)
                if refused and not refusal:  # a silent cell: nothing answers the command
                    assert answer is None, cell
                elif (
                    refused
                    and private
                    and rule.takes_team
                    and permissions.unrelated(frozenset(held))
                ):
                    assert answer == t("en", "err.not_in_area", code=HOME), cell
                elif refused:
                    assert answer == t("en", refusal), cell
                else:
                    assert answer is not None, cell
                    assert answer not in (
                        t("en", refusal or "err.internal"),
                        t("en", "err.internal"),
                    ), cell
                walked += 1
        # Anonymous admins: refused in the group for every command, whoever they are.
        anon = await _answer(county, server, GROUP, LEADER, _text(key, False) or f"/{key}", True)
        assert anon == t("en", "err.anonymous"), key
        walked += 1
    assert walked > 600  # every row, person and chat: the count says the walk was done


async def test_every_cell_of_the_buttons_rows(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    """A leave request of Wang's waiting for the leader, a make-up request and a log of Wang's:
    everyone presses
    each button (on the leader's copy, and on Wang's messages). A refused cell answers with
    the table's alert; an allowed one reaches the button's own handler (which may still
    refuse on the object's own terms). Presses that would decide or cancel are walked only
    where refused."""
    await _people(county, server, tmp_path)
    asked = await county.say(GROUP, MEMBER, "/leave 2026-11-25 personal errand")
    copy = await server.wait_for(
        lambda m: any(b["callback_data"] == "v1:lv:1:a" for b in m.buttons)
    )
    logged = await county.say(GROUP, MEMBER, "/log 走访")
    await county.say(GROUP, MEMBER, "/makeup today morning phone died")
    made_up = await server.wait_for(
        lambda m: any(b["callback_data"] == "v1:mk:1:a" for b in m.buttons)
    )
    # A point outside every site (refused, check-in #1): its field-work button.
    await server.send_location(GROUP, MEMBER, 25.6, 103.2, horizontal_accuracy=10)
    outside = await server.wait_for(lambda m: m.chat_id == GROUP and "km from" in m.content)
    # A problem of Shangba's, with the transport bureau (whose contact Yuan is).
    problem = await county.say(GROUP, MEMBER, "/problem 便桥断了 #roads")

    async def assign(tx: Tx) -> None:
        found = await tx.get_problem(1)
        assert found is not None
        await tx.change_problem(found, {"department_id": 1})

    await in_store(county.settings, county.clock, assign)
    recall = await county.say(ADMIN, ADMIN, "/recall @wang 不在岗")  # asked, not yet confirmed
    harmless = {
        "lg": f"v1:lg:{_log_id(logged.content)}:p:0",
        "ld": "v1:ld:n",
        "fd": "v1:fd:1",
        "mu": "v1:mu:20261123:evening",  # not over yet: the handler refuses it on its terms
        "pb n": "v1:pb:1:n",  # asks for words next, changes nothing
        "pb s": "v1:pb:1:s",
        "pb y": "v1:pb:1:y",  # not resolved: the handler refuses it on its terms
        "pb x": "v1:pb:1:x",
    }
    deciding = {
        "lv a": "v1:lv:1:a",
        "lv r": "v1:lv:1:r",
        "lv c": "v1:lv:1:c",
        "mk": "v1:mk:1:a",
        "pb c": "v1:pb:1:c:red",
        "pb k": "v1:pb:1:k:0",
        "pb a": "v1:pb:1:a",
        "rc": "v1:rc:1:y",
    }
    walked = 0
    for key, rule in permissions.BUTTONS.items():
        for user, (home, _, _, _) in WHO.items():
            refused = not permissions.allowed(rule, frozenset(home), "group")
            data = harmless.get(key) or deciding[key]
            if key in deciding and not refused:
                continue
            on = {"ld": asked, "lg": logged, "mk": made_up, "fd": outside}.get(key, copy)
            on = problem if key.startswith("pb") else recall if key == "rc" else on
            answer = await press(server, user, on, data)
            alert = t("en", rule.group_refusal)
            if refused:
                assert answer == {"text": alert, "show_alert": True}, (key, user)
            else:
                assert answer.get("text") not in (alert, t("en", "err.internal")), (key, user)
            walked += 1
    assert walked >= 25


def _log_id(content: str) -> int:
    return int(content.split("#", 1)[1].split()[0])


async def _answer(
    county: BotHarness,
    server: BotApiServer,
    chat: int,
    user: int,
    text: str,
    as_group: bool = False,
) -> str | None:
    """The bot's answer to this message as it committed it to the outbox (Telegram's pace
    would hold hundreds of answers in one group for minutes), or None once the update is
    handled with no answer."""
    sent = await server.send_text(chat, user, text, as_group=as_group)

    async def look(tx: Tx) -> tuple[int, str | None]:
        rows = await tx.outbox_rows(chat_id=chat)
        answers = [r for r in rows if r.params.get("reply_to") == sent["message_id"]]
        waiting = (await tx.wire_view(county.clock())).waiting
        return waiting, str(answers[0].params.get("text")) if answers else None

    for _ in range(500):
        waiting, answer = await in_store(county.settings, county.clock, look)
        # Confirmed to Telegram means stored in the inbox; then none waiting means handled.
        if answer is not None or (server.pending_updates() == 0 and waiting == 0):
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError(f"{text!r} from {user} in {chat} was never handled")


def test_the_readme_shows_the_table_the_code_has() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- permissions -->\n", "\n<!-- /permissions -->"
    assert begin in readme and end in readme, "the README lost its permission table markers"
    shown = readme.split(begin, 1)[1].split(end, 1)[0]
    assert shown == permissions.markdown(), "README's table differs: paste permissions.markdown()"


SCOPE = Scope(team_id=1, township_id=10, county_id=100)
ROLES: dict[Relation, list[Role]] = {
    "member": [Role("member", team_id=1)],
    "leader": [Role("leader", team_id=1), Role("member", team_id=1)],
    "coordinator": [Role("coordinator", township_id=10)],
    "coordinator_other": [Role("coordinator", township_id=11)],
    "admin": [Role("admin", county_id=100)],
    "admin_other": [Role("admin", county_id=101)],
    "commander": [Role("commander", team_id=1)],
    "commander_other": [Role("commander", team_id=2)],
    "contact": [Role("contact", county_id=100, department_id=5)],
    "unit": [Role("unit", county_id=100, unit_id=7)],
    "stranger": [],
}


def test_help_suggests_only_what_the_table_allows() -> None:
    """/help picks what to suggest (a member is not offered /join); it must never suggest a
    command the table refuses the person there."""
    for relation, roles in ROLES.items():
        held = frozenset({relation, "member"} if relation == "leader" else {relation})
        private_held = frozenset(
            {"coordinator"}
            if relation == "coordinator_other"
            else {"admin"}
            if relation == "admin_other"
            else {"commander"}
            if relation == "commander_other"
            else held
        )
        for kind, scope, group in (("group", SCOPE, True), ("private", None, False)):
            for command in access.visible_commands(roles, scope, group, False):
                rule = TABLE[command]
                relations = held if kind == "group" else private_held
                assert permissions.allowed(rule, relations, kind), (relation, kind, command)  # type: ignore[arg-type]
