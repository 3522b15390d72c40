"""Backing units, recall and replacement, assessment and briefs, end to end through the
offline server: a unit contact invited and reading only its members; a recall ordered,
flagged past its deadline and closed by a replacement; a made-up quarter assessed with its
figures and ceilings worked out by hand; briefs in the digest and the compliance report."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import Settings
from bot.i18n import t
from storage.base import Tx
from storage.models import Checkin
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
    in_store,
    invite_code,
    press,
    press_start,
    run_cli,
)

LIAISON = 1040  # the county agriculture bureau's liaison (县农业局)
NEWCOMER = 1041  # the replacement it sends


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, sweep_seconds=0.2)  # the recall sweep, often


async def _units(county: BotHarness, server: BotApiServer) -> None:
    """The agriculture bureau's liaison (invited), Wang sent by it, Zhao by the water bureau."""
    server.add_user(LIAISON, "Liu")
    code = await invite_code(county, "--role", "unit", "--county", "Huize", "--unit", "县农业局")
    server.start_private(LIAISON)
    assert (
        "unit contact of 县农业局" in (await county.say(LIAISON, LIAISON, f"/start {code}")).content
    )
    added = await ask(server, ADMIN, ADMIN, "/unit add 县水利局")
    assert "县农业局, 县水利局" in added.content
    assert "sent by 县农业局" in (await ask(server, GROUP, MEMBER, "/unit 县农业局")).content
    assert "sent by 县水利局" in (await ask(server, GROUP, MEMBER2, "/unit 县水利局")).content
    unknown = await ask(server, GROUP, MEMBER2, "/unit 县卫生局")
    assert "No unit" in unknown.content and "县农业局" in unknown.content


async def test_a_unit_reads_only_the_members_it_sent(
    county: BotHarness, server: BotApiServer
) -> None:
    await _units(county, server)
    team = await ask(server, GROUP, LEADER, "/team")
    assert "Wang" in team.content and "— 县农业局" in team.content and "— 县水利局" in team.content
    # The unit's digest holds one member of Shangba's three: Wang, whom it sent.
    mark = len(server.sent)
    digest = await ask(server, LIAISON, LIAISON, "/digest this")
    assert "· 县农业局\n1 team, 1 member;" in digest.content
    sheet = await server.wait_for(
        lambda m: m.chat_id == LIAISON and m.document is not None, after=mark
    )
    book = load_workbook(io.BytesIO(sheet.file_bytes or b""))
    names = [r[2] for r in book["Members"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Wang"]
    # Its members' logs, and not the others': Zhao was sent by the water bureau.
    wang = await ask(server, GROUP, MEMBER, "#log 走访 五保户 修水管")
    zhao = await ask(server, GROUP, MEMBER2, "#log 开会 部署防汛")
    [wang_log, zhao_log] = [re.findall(r"Log #(\d+)", m.content)[0] for m in (wang, zhao)]
    for command in ("/logs", "/logs HZ-001"):
        logs = (await ask(server, LIAISON, LIAISON, command)).content
        assert "the members 县农业局 sent" in logs and "修水管" in logs, command
        assert "Zhao" not in logs and "防汛" not in logs and "Li" not in logs, command
        assert "Logs from 1 of 1 member." in logs
    history = await ask(server, LIAISON, LIAISON, f"/log history {wang_log}")
    assert "修水管" in history.content
    hidden = await ask(server, LIAISON, LIAISON, f"/log history {zhao_log}")
    assert "防汛" not in hidden.content and f"#{zhao_log}" in hidden.content
    elsewhere = await ask(server, LIAISON, LIAISON, "/logs HZ-002")
    assert "None of the members 县农业局 sent is in this team." in elsewhere.content
    # Nothing else: the team's day and its problems are not the unit's.
    for command in ("/today HZ-001", "/problems", "/assessment"):
        refused = await ask(server, LIAISON, LIAISON, command)
        assert "Wang" not in refused.content and "Shangba" not in refused.content, command


async def test_a_recall_is_flagged_past_its_deadline_and_closed_by_a_replacement(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await _units(county, server)
    await press_start(county, server, MEMBER)
    asked = await ask(server, ADMIN, ADMIN, "/recall @wang 抽查两次不在岗，工作不实")
    assert "Recall this member?" in asked.content and "县农业局" in asked.content
    # Only a county admin confirms; then Wang's roles end and everyone concerned hears.
    assert (await press(server, LEADER, asked, "v1:rc:1:y"))["show_alert"]
    mark = len(server.sent)
    assert "confirmed" in (await press(server, ADMIN, asked, "v1:rc:1:y"))["text"]
    again = await press(server, ADMIN, asked, "v1:rc:1:y")
    assert again["show_alert"] and "confirmed already" in again["text"]
    for chat in (GROUP, MEMBER, LIAISON):

        def told_in(m: SentMessage, chat: int = chat) -> bool:
            return m.chat_id == chat and "is recalled" in m.content

        told = await server.wait_for(told_in, after=mark)
        assert "Replacement due by 2026-11-30" in told.content
        # Why is for those who act on it; the team's group hears that, not why.
        assert ("抽查两次不在岗" in told.content) == (chat != GROUP)
    refused = await ask(server, GROUP, MEMBER, "/me")
    assert refused.content == t("en", "me.err.not_member")  # a member no more
    # Seven days pass with no replacement: the county is told, once that day.
    mark = len(server.sent)
    clock.advance(days=7, minutes=1)
    flag = await server.wait_for(lambda m: m.chat_id == ADMIN and "no replacement" in m.content)
    assert "7 days since Wang was recalled" in flag.content
    await county.settled()
    clock.advance(minutes=30)
    await county.settled()
    flags = [m for m in server.sent[mark:] if m.chat_id == ADMIN and "no replacement" in m.content]
    assert len(flags) == 1
    # The interview of the unit's heads is recorded; the unit asks for the replacement's link.
    noted = await ask(server, ADMIN, ADMIN, "/recall note 1 约谈县农业局主要负责人")
    assert "Noted on recall #1" in noted.content
    invite = await ask(server, LIAISON, LIAISON, "/recall replace 1")
    code = invite.content.split("start=", 1)[1].split()[0]
    server.add_user(NEWCOMER, "Xu")
    server.start_private(NEWCOMER)
    mark = len(server.sent)
    joined = await county.say(NEWCOMER, NEWCOMER, f"/start {code}")
    assert "member of the team of Shangba, replacing Wang" in joined.content
    await server.wait_for(
        lambda m: m.chat_id == GROUP and "replacement for Wang joined" in m.content, after=mark
    )
    listed = await ask(server, COORD, COORD, "/recalls")
    assert "Replaced by Xu" in listed.content and "7 days after the recall" in listed.content
    assert "约谈县农业局主要负责人" in listed.content
    # The unit sees its closed recall too (the members it sent, not the team's others).
    unit_view = await ask(server, LIAISON, LIAISON, "/recalls")
    assert "Recall #1: Wang" in unit_view.content and "Replaced by Xu" in unit_view.content
    team = await ask(server, GROUP, LEADER, "/team")
    assert "Xu" in team.content and "Xu: member — 县农业局" in team.content
    kinds = await events_of(county.settings, county.clock, "recall.")
    assert kinds == ["recall.asked", "recall.ordered", "recall.overdue", "recall.note",
                     "recall.closed"]  # fmt: skip


async def _quarter(tx: Tx) -> None:
    """Since 1 October: Wang in the village on every day of October but the weekends (22
    days) and on 20 of November's first 22 days; Zhao on 10 October days only. Zhao was found
    absent in two spot checks this year, Wang in four."""
    team = await tx.get_team_by_code("HZ-001")
    assert team is not None
    wang, zhao = await tx.get_person_by_tg(MEMBER), await tx.get_person_by_tg(MEMBER2)
    assert wang is not None and zhao is not None
    start = date(2026, 10, 1)
    days = [start + timedelta(days=i) for i in range(53)]  # to 22 November
    wang_days = [d for d in days if (d.month == 10 and d.weekday() < 5)]
    wang_days += [d for d in days if d.month == 11][:20]
    zhao_days = [d for d in days if d.month == 10][:10]
    n = 50_000
    for person, chosen in ((wang, wang_days), (zhao, zhao_days)):
        for day in chosen:
            n += 1
            at = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)  # 08:30 local
            await tx.record_checkin(
                Checkin(
                    person_id=person.id,
                    team_id=team.id,
                    chat_id=GROUP,
                    message_id=n,
                    update_id=0,
                    source="message",
                    outcome="checkin",
                    reason=None,
                    flags=(),
                    window="morning",
                    local_date=day,
                    latitude=25.5,
                    longitude=103.2,
                    accuracy_m=10.0,
                    live=True,
                    forwarded=False,
                    venue=False,
                    site_id=None,
                    distance_m=50.0,
                    sent_at=at,
                    received_at=at,
                )
            )


def _seed_roles_and_findings(path: str) -> None:
    """Both joined on 1 October; the spot checks' findings, as the checks left them."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "UPDATE roles SET granted_at = '2026-09-30T16:00:00.000000+00:00'"
            " WHERE role IN ('member', 'leader') AND revoked_at IS NULL"
        )
        ids = dict(conn.execute("SELECT tg_user_id, id FROM people").fetchall())
        team = conn.execute("SELECT id FROM teams WHERE code = 'HZ-001'").fetchone()[0]
        for n, (user, day) in enumerate(
            [(MEMBER2, "2026-10-13"), (MEMBER2, "2026-11-03")]
            + [(MEMBER, f"2026-{d}") for d in ("03-10", "06-11", "09-15", "10-20")]
        ):
            conn.execute(
                "INSERT INTO spot_checks (id, area, area_name, asked_at, deadline, state)"
                " VALUES (?, 'team:1', 'Shangba', ?, ?, 'closed')",
                (100 + n, f"{day}T02:00:00+00:00", f"{day}T02:30:00+00:00"),
            )
            conn.execute(
                "INSERT INTO spot_picks (check_id, person_id, team_id, local_date, chat_id,"
                " result) VALUES (?, ?, ?, ?, ?, 'away')",
                (100 + n, ids[user], team, day, ids[user]),
            )
        conn.commit()


async def test_a_quarter_assessed_with_its_ceilings_worked_out_by_hand(
    county: BotHarness, server: BotApiServer
) -> None:
    """2026-Q4 to 23 November. The quota, 20 days a month, owed from 1 October: 20 for
    October and 20 × 23/30 = 15.3 for November: 35. Wang: 22 + 20 = 42 days, four absences
    this year (more than three: not competent), and recalled (not above basic). Zhao: 10
    days, short of 35 (not above basic), two absences (no grade)."""
    await _units(county, server)
    await in_store(county.settings, county.clock, _quarter)
    _seed_roles_and_findings(county.settings.database)
    asked = await ask(server, ADMIN, ADMIN, "/recall @wang 抽查多次不在岗")
    await press(server, ADMIN, asked, "v1:rc:1:y")
    mark = len(server.sent)
    view = await ask(server, ADMIN, ADMIN, "/assessment 2026-Q4")
    lines = view.content.splitlines()
    assert lines[0] == "Assessment 2026-Q4 · Huize: 3 members"
    wang = lines.index(next(x for x in lines if x.startswith("• Wang")))
    assert lines[wang].startswith("• Wang (HZ-001 Shangba): 42/35 days")
    assert "4 spot-check findings this year" in lines[wang]
    assert lines[wang + 1] == (
        "  Proposed: at most not competent — absent in 4 spot checks this year (more than 3):"
        " not competent, recalled: not above basic"
    )
    zhao = lines.index(next(x for x in lines if x.startswith("• Zhao")))
    assert lines[zhao].startswith("• Zhao (HZ-001 Shangba): 10/35 days")
    assert lines[zhao + 1] == (
        "  Proposed: at most no grade — absent in 2 spot checks this year: no grade,"
        " 10 of 35 days in the village: not above basic"
    )
    sheet = await server.wait_for(
        lambda m: m.chat_id == ADMIN and m.document is not None, after=mark
    )
    book = load_workbook(io.BytesIO(sheet.file_bytes or b""))
    rows = {r[1]: r for r in book["Assessment"].iter_rows(min_row=2, values_only=True)}
    assert rows["Wang"][2:5] == ("县农业局", 42, 35) and rows["Wang"][14] == "yes"
    assert rows["Zhao"][15] == "no grade"
    # The grade is the county's, entered with a note; above the ceiling it says so.
    graded = await ask(server, ADMIN, ADMIN, "/assess @wang 2026-Q4 称职 本人申辩")
    assert "Recorded: Wang, 2026-Q4: competent." in graded.content
    assert "Above the proposed ceiling" in graded.content
    again = await ask(server, ADMIN, ADMIN, "/assessment 2026-Q4")
    assert "Entered: competent — 本人申辩" in again.content
    refused = await ask(server, COORD, COORD, "/assess @wang competent fine")
    assert "Only a county admin" in refused.content


async def test_briefs_in_the_digest_and_the_monthly_report(
    county: BotHarness, server: BotApiServer
) -> None:
    await ask(server, GROUP, ADMIN, "/rules set briefs_month=2")
    saved = await ask(server, GROUP, MEMBER, "#简报 本周完成三组产业路勘测，走访农户12户")
    assert "1 of 2 expected this month" in saved.content
    await server.send_photo(GROUP, MEMBER2, caption="#brief Village meeting on the water pipe")
    await county.barrier(GROUP, LEADER)
    listed = await ask(server, COORD, COORD, "/briefs")
    assert "产业路勘测" in listed.content and "📷 Village meeting" in listed.content
    weekly = await ask(server, COORD, COORD, "/digest this")
    assert "📰 Briefs: 2 (HZ-001 Shangba 2)" in weekly.content
    monthly = await ask(server, COORD, COORD, "/digest month 2026-11")
    assert "📰 Briefs: 2 (HZ-001 Shangba 2)" in monthly.content
    assert "Short of 2 a month" not in monthly.content
    lonely = await ask(server, ADMIN, ADMIN, "/digest month 2026-11")
    assert "📰 Briefs: 2" in lonely.content


# ---------------------------------------------------------------------- a roster
SUN = 1042  # on the roster, sent by the agriculture bureau
ZHOU_Q = 1043  # the roster's first secretary (leader), sent by the transport bureau
WU = 1044  # the roster's chief commander of Xiaba
ROSTER = (
    "队编码,姓名,派出单位,角色\n"
    "HZ-001,孙丽,县农业局,队员\n"
    "HZ-001,周强,县交通局,第一书记\n"
    "HZ-002,吴刚,,总队长\n"
    "HZ-001,Wang,县农业局,\n"
)


async def _roster_cli(county: BotHarness, *args: str) -> tuple[int, str, str]:
    saved = county.clock.current
    county.clock.current = datetime.now(UTC)  # the CLI stamps invites with the wall clock
    try:
        return await run_cli(county.settings, "import", *args, "--bot-username", "cunbot_bot")
    finally:
        county.clock.current = saved


def _invites(database: str) -> int:
    with closing(sqlite3.connect(database)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM invites").fetchone()[0])


async def test_a_roster_becomes_personal_invites_naming_role_and_unit(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    roster = tmp_path / "名册.csv"
    # A county's spreadsheet, saved by Excel on Chinese Windows.
    roster.write_bytes(ROSTER.encode("gb18030"))
    before = _invites(county.settings.database)
    code, out, err = await _roster_cli(county, str(roster), "--dry-run")
    assert code == 0, err
    assert "Roster checked: 4 people, nothing written." in out
    assert "A new backing unit would be created: 县交通局" in out
    assert _invites(county.settings.database) == before
    assert not (tmp_path / "名册-invites.csv").exists()

    # A bad roster names every bad line and writes nothing.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "team_code,name,unit,role\n"
        "HZ-009,Ma,,member\n"
        "HZ-002,吴刚,县农业局,commander\n"
        "HZ-001,Ma,,driver\n"
        "HZ-001,孙丽,,\n"
        "HZ-001,孙丽,,leader\n",
        encoding="utf-8",
    )
    code, _, err = await _roster_cli(county, str(bad))
    assert code == 1
    assert "line 2: No team HZ-009" in err
    assert "line 3: A chief commander is not sent by a backing unit" in err
    assert "line 4: Unknown role driver" in err
    assert "line 6: 孙丽 is on team HZ-001 already (line 5)" in err
    assert _invites(county.settings.database) == before

    code, out, err = await _roster_cli(county, str(roster))
    assert code == 0, err
    links_file = tmp_path / "名册-invites.csv"
    assert f"4 personal invite links written to {links_file}" in out
    assert links_file.stat().st_mode & 0o077 == 0  # the links are credentials: the operator's
    rows = list(csv.reader(io.StringIO(links_file.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["name", "team code", "village", "role", "backing unit", "invite link"]
    assert [r[:5] for r in rows[1:]] == [
        ["孙丽", "HZ-001", "Shangba", "member", "县农业局"],
        ["周强", "HZ-001", "Shangba", "team leader", "县交通局"],
        ["吴刚", "HZ-002", "Xiaba", "chief commander", ""],
        ["Wang", "HZ-001", "Shangba", "member", "县农业局"],
    ]
    codes = [r[5].split("start=", 1)[1] for r in rows[1:]]
    assert all(r[5].startswith("https://t.me/cunbot_bot?start=") for r in rows[1:])

    for user_id, name in ((SUN, "Sun"), (ZHOU_Q, "Zhou Qiang"), (WU, "Wu")):
        server.add_user(user_id, name)
        server.start_private(user_id)
    joined = await county.say(SUN, SUN, f"/start {codes[0]}")
    assert "you are now member of Shangba, sent by 县农业局" in joined.content
    again = await county.say(ZHOU_Q, ZHOU_Q, f"/start {codes[0]}")
    assert "already been used" in again.content
    led = await county.say(ZHOU_Q, ZHOU_Q, f"/start {codes[1]}")
    assert "you are now team leader of Shangba, sent by 县交通局" in led.content
    commands = await county.say(WU, WU, f"/start {codes[2]}")
    assert "you are now chief commander of Xiaba." in commands.content
    server.start_private(MEMBER)
    wang = await county.say(MEMBER, MEMBER, f"/start {codes[3]}")
    assert "sent by 县农业局" in wang.content

    team = (await ask(server, GROUP, LEADER, "/team")).content
    for line in ("Sun", "Zhou Qiang", "Wang"):
        found = next(x for x in team.splitlines() if x.startswith(f"• {line}"))
        unit = "县交通局" if line == "Zhou Qiang" else "县农业局"
        assert f"— {unit}" in found, found
    assert "team leader" in next(x for x in team.splitlines() if x.startswith("• Zhou Qiang"))
    # The new leader leads: the team's day is theirs to read.
    day = await ask(server, GROUP, ZHOU_Q, "/today")
    assert "Shangba" in day.content and "Sun" in day.content
    made = await in_store(
        county.settings, county.clock, lambda tx: tx.events(kind="invite.created")
    )
    assert sorted(e.data["made_for"] for e in made if e.data.get("made_for")) == sorted(
        ["孙丽", "周强", "吴刚", "Wang"]
    )
