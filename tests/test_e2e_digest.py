"""Digests end to end: a made-up November whose figures are worked out by hand, the weekly
digest to each coordinator, admin and leader (text, PNG, XLSX), a restart in the middle of the
fan-out, a digest missed while the bot was down, ``/digest`` and ``/export``."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.config import Settings
from storage.base import Tx
from storage.models import Checkin, Role
from tests.botapi_server import BotApiServer, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    COORD2,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    OUTSIDER,
    BotHarness,
    FakeClock,
    ask,
    grant,
    in_store,
    township_id,
)

T = TypeVar("T")
_ids = itertools.count(10_000)


@pytest.fixture
def clock() -> FakeClock:
    # Sunday 1 November, 08:30 in Huize: the team is set up on the first of the month.
    return FakeClock(datetime(2026, 11, 1, 0, 30, tzinfo=UTC))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, tick_seconds=0.2)


def _checkin(person_id: int, team_id: int, day: date, window: str) -> Checkin:
    hour = {"morning": 7, "evening": 18, "night": 21}[window]
    at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)
    number = next(_ids)
    return Checkin(
        person_id, team_id, GROUP, number, number, "message", "checkin", None, (), window, day,
        25.5, 103.2, 10.0, True, False, False, None, 50.0, at, at,
    )  # fmt: skip


NOV = [date(2026, 11, d) for d in range(1, 31)]
WEEKDAYS_BEFORE = [d for d in NOV[:15] if d.weekday() < 5]  # 2–6 and 9–13 November


async def made_up_month(settings: Settings, clock: FakeClock) -> dict[str, int]:
    """Wang: mornings on weekdays, two evenings and a night in the week of the 16th, leave on
    the 21st and 22nd, logs on three days. Zhao: two mornings. Li: nothing at all."""

    async def work(tx: Tx) -> dict[str, int]:
        team = await tx.get_team_by_chat(GROUP)
        assert team is not None
        ids = {}
        for user in (LEADER, MEMBER, MEMBER2):
            person = await tx.get_person_by_tg(user)
            assert person is not None
            ids[person.first_name] = person.id
        wang, zhao = ids["Wang"], ids["Zhao"]
        week = [date(2026, 11, d) for d in range(16, 21)]
        for day in [*WEEKDAYS_BEFORE, *week]:
            await tx.record_checkin(_checkin(wang, team.id, day, "morning"))
        for day in week[:2]:
            await tx.record_checkin(_checkin(wang, team.id, day, "evening"))
        await tx.record_checkin(_checkin(wang, team.id, week[0], "night"))
        for day in (date(2026, 11, 16), date(2026, 11, 18)):
            await tx.record_checkin(_checkin(zhao, team.id, day, "morning"))
        for day in week[:3]:
            await tx.create_log(
                wang, team.id, day, GROUP, next(_ids), None, "#log visited", clock(), clock()
            )
        leave = await tx.create_leave(
            wang, team.id, "personal", date(2026, 11, 21), date(2026, 11, 22), "family",
            ("township",), GROUP, clock(),
        )  # fmt: skip
        await tx.decide_leave(leave, "approved", ids["Li"], clock())
        return ids

    return await in_store(settings, clock, work)


def _to(server: BotApiServer, chat_id: int, after: int = 0) -> list[SentMessage]:
    return [m for m in server.sent[after:] if m.chat_id == chat_id]


async def _digest_of(server: BotApiServer, chat_id: int, after: int = 0) -> list[SentMessage]:
    """The three messages of a digest to this chat: the text, the chart, the spreadsheet."""
    await server.wait_until(lambda: any(m.document for m in _to(server, chat_id, after)))
    return [m for m in _to(server, chat_id, after) if m.text is None or "digest" in m.content]


async def private(server: BotApiServer, user: int, text: str, parts: int = 1) -> list[SentMessage]:
    """A private chat's answer, which may come as several messages (text, chart, files)."""
    mark = len(server.sent)
    await server.send_text(user, user, text)
    await server.wait_until(lambda: len(_to(server, user, mark)) >= parts)
    return _to(server, user, mark)


WANG_ROW = ["Dahai", "HZ-001 Shangba", "Wang", 5, 1, 2, 0, 3, 2, 0, 0, 15, 20, 1, 0, 2, 8]


async def test_the_weekly_digest_figures_are_right_and_go_to_everyone_once(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await made_up_month(county.settings, clock)
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)  # Monday 08:05 in Huize
    text, photo, sheet = await _digest_of(server, COORD, mark)
    assert text.content.splitlines() == [
        "📊 Weekly digest 2026-11-16 – 2026-11-22 (2026-W47) · Dahai",
        "1 team, 3 members; 1 team needs attention.",
        "🔴 HZ-001 Shangba",
        "• Li: 0 days present, 0 nights, 0 leave, 7 absent, 14 check-ins missed, 7 days without"
        " a log · month 0/20 🔴 behind",
        "• Zhao: 2 days present, 0 nights, 0 leave, 5 absent, 12 check-ins missed, 7 days"
        " without a log · month 2/20 🔴 behind",
    ]
    assert photo.photo is not None and photo.file_bytes is not None
    assert photo.caption == "Weekly attendance · Dahai, Mon, Nov 16 – Sun, Nov 22, 2026."
    image = Image.open(io.BytesIO(photo.file_bytes))
    assert image.format == "PNG" and image.width >= 600
    assert sheet.document is not None and sheet.document["file_name"].endswith("2026-W47.xlsx")
    assert sheet.file_bytes is not None
    book = load_workbook(io.BytesIO(sheet.file_bytes))
    members = list(book["Members"].iter_rows(values_only=True))
    assert members[0][:4] == ("Township", "Team", "Member", "Days present")
    rows = {r[2]: list(r) for r in members[1:]}
    assert rows["Wang"][:17] == WANG_ROW
    assert rows["Wang"][17] == "🟢 on track"
    assert rows["Zhao"][3:9] == [2, 0, 0, 5, 12, 7]
    assert rows["Li"][3:9] == [0, 0, 0, 7, 14, 7]
    days = list(book["Days"].iter_rows(values_only=True))
    assert days[0][2:] == ("Mon, 11/16", "Tue, 11/17", "Wed, 11/18", "Thu, 11/19", "Fri, 11/20",
                           "Sat, 11/21", "Sun, 11/22")  # fmt: skip
    wang_days = next(r for r in days if r[1] == "Wang")
    assert wang_days[2:] == ("night", "present", "present", "present", "present", "leave", "leave")
    # The second coordinator, the county's admin (by township) and the leader (in the group,
    # never having written to the bot privately) each get theirs, once.
    await _digest_of(server, COORD2, mark)
    admin_text, *_ = await _digest_of(server, ADMIN, mark)
    assert admin_text.content.splitlines()[:3] == [
        "📊 Weekly digest 2026-11-16 – 2026-11-22 (2026-W47) · Huize",
        "2 teams, 3 members; 1 team needs attention.",
        "• Dahai: 1 team (1 needs attention), 3 members, 2 behind, 0 at risk, 12 days absent,"
        " 16 days without a log",
    ]
    group = await _digest_of(server, GROUP, mark)
    assert group[0].content.startswith("📊 Weekly digest 2026-11-16 – 2026-11-22 (2026-W47) ·")
    await asyncio.sleep(1.0)  # several more rounds of the jobs: nothing goes twice
    for chat in (COORD, COORD2, ADMIN):
        sent = _to(server, chat, mark)
        assert len(sent) == 3, [m.content for m in sent]
    assert sum(1 for m in _to(server, GROUP, mark) if m.document) == 1


async def test_a_restart_in_the_middle_of_the_fan_out_sends_nobody_anything_twice(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await made_up_month(county.settings, clock)
    mark = len(server.sent)
    server.held[COORD2] = asyncio.Event()  # the text to the second coordinator is on the wire…
    clock.current = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)
    await server.wait_until(lambda: COORD2 in server.holding)
    stopping = asyncio.create_task(county.stop())  # …when the bot is told to stop
    await asyncio.sleep(0.3)
    server.held[COORD2].set()  # the part on the wire arrives; no new part starts
    await stopping
    before = len(_to(server, COORD2, mark))
    assert before == 1
    await county.start()
    await _digest_of(server, COORD2, mark)
    await asyncio.sleep(1.0)
    for chat in (COORD, COORD2, ADMIN):
        sent = _to(server, chat, mark)
        kinds = sorted("document" if m.document else "photo" if m.photo else "text" for m in sent)
        assert kinds == ["document", "photo", "text"], (chat, [m.content for m in sent])


async def test_a_digest_missed_while_the_bot_was_down_goes_out_on_start_and_says_so(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await county.stop()
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00: due at 08:00
    await county.start()
    text, _, _ = await _digest_of(server, COORD, mark)
    lines = text.content.splitlines()
    assert lines[0] == "📊 Weekly digest 2026-11-16 – 2026-11-22 (2026-W47) · Dahai"
    assert lines[1] == "⏰ Late: this was due 2026-11-23 08:00, while the bot was not running."


async def test_the_monthly_compliance_report_on_the_first(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await made_up_month(county.settings, clock)
    # Sun joins at 00:30 on the 1st: November is none of his, and he is not in its report.
    clock.current = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    await county.say(GROUP, OUTSIDER, "/join")
    mark = len(server.sent)
    clock.current = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)  # 1 December, 08:05
    await server.wait_until(
        lambda: any("Monthly compliance" in m.content for m in _to(server, COORD, mark))
    )
    report = next(m for m in _to(server, COORD, mark) if "Monthly compliance" in m.content)
    # Wang: 15 mornings, leave on the 21st and 22nd, nothing after: 15 of 20, not met.
    assert report.content.splitlines()[:6] == [
        "📋 Monthly compliance 2026-11 · Dahai",
        "1 team, 3 members; 1 team needs attention.",
        "▪ HZ-001 Shangba (3 members)",
        "• Li: 0/20 days, 0 leave — ❌ not met",
        "• Wang: 15/20 days, 2 leave — ❌ not met",
        "• Zhao: 2/20 days, 0 leave — ❌ not met",
    ]
    assert "📄 monthly summary not sent" in report.content


async def test_digest_and_export_on_demand(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await made_up_month(county.settings, clock)
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # Wednesday
    await _digest_of(server, COORD, mark)  # Monday's, late, goes out first
    await server.wait_until(lambda: len(_to(server, COORD, mark)) == 3)
    mark = len(server.sent)
    # A leader in the group: the team's, for the week asked.
    answer = await ask(server, GROUP, LEADER, "/digest 2026-11-18")
    assert answer.content.startswith("📊 Weekly digest 2026-11-16 – 2026-11-22 (2026-W47) · HZ")
    await server.wait_until(lambda: any(m.document for m in _to(server, GROUP, mark)))
    refused = await ask(server, GROUP, MEMBER, "/digest")
    assert refused.content.startswith("Digests are for team leaders")
    # The coordinator privately: last month's report, by code, and a bad period.
    monthly, _, _ = await private(server, COORD, "/digest month 2026-11 HZ-001", parts=3)
    assert monthly.content.startswith("📋 Monthly compliance 2026-11 · HZ-001 Shangba")
    [bad] = await private(server, COORD, "/digest soon")
    assert bad.content.startswith('I don\'t understand "soon"')
    [other] = await private(server, COORD, "/digest HZ-002")
    assert other.content == "Team HZ-002 is not in your area."
    # The export: every record of the days, as XLSX and CSV.
    done, xlsx, days = await private(server, COORD, "/export 2026-11-16 2026-11-22", parts=3)
    assert done.content.startswith("📦 Dahai, 2026-11-16 – 2026-11-22: 3 members, 10 locations")
    assert xlsx.file_bytes is not None and days.file_bytes is not None
    book = load_workbook(io.BytesIO(xlsx.file_bytes))
    assert book.sheetnames == ["Members", "Days", "Key", "Check-ins", "Logs", "Leave"]
    assert len(list(book["Check-ins"].iter_rows())) == 1 + 10  # Wang 5 + 2 + 1, Zhao 2
    assert len(list(book["Logs"].iter_rows())) == 1 + 3
    leave = list(book["Leave"].iter_rows(min_row=2, values_only=True))
    assert [(r[3], r[4]) for r in leave] == [("Personal leave", datetime(2026, 11, 21))]
    for sheet in book.worksheets:  # an office's sheet: frozen header, a filter on it
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref, sheet.title
    rows = list(csv.reader(io.StringIO(days.file_bytes.decode("utf-8-sig"))))
    assert rows[0] == ["team", "member", "person_id", "day", "status", "status_label"]
    assert len(rows) == 1 + 3 * 7
    wang_leave = ["HZ-001 Shangba", "Wang", rows[8][2], "2026-11-21", "leave"]
    assert [*wang_leave, "on approved leave (or credited official business)"] in rows
    # In Chinese, every word of the file is Chinese: headers, values, the key; codes only in
    # the CSV's code columns.
    await private(server, COORD, "/lang zh")
    _, xlsx_zh, days_zh = await private(server, COORD, "/export 2026-11-16 2026-11-22", parts=3)
    assert xlsx_zh.file_bytes is not None and days_zh.file_bytes is not None
    zh = load_workbook(io.BytesIO(xlsx_zh.file_bytes))
    assert zh.sheetnames == ["队员", "每日", "图例", "打卡", "日志", "请假"]
    words = {
        cell
        for sheet in zh.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    }
    names = {"Wang", "Zhao", "Li", "HZ-001 Shangba", "Dahai", "#log visited", "family"}
    english = {w for w in words - names if re.search(r"[A-Za-z]{3,}", w)}
    assert english == set()
    rows = list(csv.reader(io.StringIO(days_zh.file_bytes.decode("utf-8-sig"))))
    assert rows[0][4:] == ["status", "status_label"] and [
        "leave",
        "请假（已批准，或按规定计入的公务）",
    ] in [r[4:] for r in rows]
    await private(server, COORD, "/lang en")
    [usage] = await private(server, COORD, "/export 2026-11-16")
    assert usage.content.startswith("Usage: /export")
    # Days after today are said to be left out, never silently.
    cut, _, _ = await private(server, COORD, "/export 2026-11-16 2027-12-31", parts=3)
    assert cut.content.splitlines()[-1] == (
        "You asked up to 2027-12-31; it ends today, 2026-11-25: later days have no records yet."
    )


async def test_a_fan_out_keeps_to_telegrams_limits(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    """Forty coordinators of one township, Telegram's limits enforced: every digest arrives
    whole, none twice, and Telegram never has to say "too many requests"."""
    dahai = await township_id(county.settings, clock, "Dahai", "Huize")
    many = list(range(5000, 5040))
    for user_id in many:
        server.add_user(user_id, f"C{user_id}")
        server.start_private(user_id)
        await grant(
            county.settings, clock, user_id, f"C{user_id}", Role("coordinator", township_id=dahai)
        )
    server.global_limit_per_second = 30
    server.group_limit_per_minute = 20
    mark = len(server.sent)
    clock.current = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)
    everyone = [*many, COORD, COORD2, ADMIN]
    await server.wait_until(
        lambda: all(len(_to(server, chat, mark)) >= 3 for chat in everyone), timeout=60
    )
    await asyncio.sleep(0.5)
    assert all(len(_to(server, chat, mark)) == 3 for chat in everyone)
    assert server.rate_limited == []


EVIL_NAME = '=HYPERLINK("http://evil.example/x","open me")'
EVIL_LOG = "=cmd|' /C calc'!A0"


async def test_no_cell_of_an_export_runs_as_a_formula(
    county: BotHarness, server: BotApiServer
) -> None:
    """A member named like a formula and a log written as one: the spreadsheet shows them as
    typed and runs nothing; the CSV marks them as text (OWASP's CSV injection)."""
    server.users[MEMBER2]["first_name"] = EVIL_NAME
    saved = await ask(server, GROUP, MEMBER2, f"/log {EVIL_LOG}")
    assert saved.content.startswith("📝 Log #1 saved"), saved.content
    _, xlsx, days = await private(server, COORD, "/export 2026-10-30 2026-11-01", parts=3)
    assert xlsx.file_bytes is not None and days.file_bytes is not None
    book = load_workbook(io.BytesIO(xlsx.file_bytes))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells}
    assert EVIL_NAME in texts and EVIL_LOG in texts  # shown exactly as typed
    rows = list(csv.reader(io.StringIO(days.file_bytes.decode("utf-8-sig"))))
    members = {row[1] for row in rows[1:]}
    assert "'" + EVIL_NAME in members
    assert not [f for row in rows for f in row if f[:1] in ("=", "+", "-", "@")]
