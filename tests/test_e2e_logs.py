"""Work logs and the household ledger end to end: writing logs (command, tags, photos,
albums), naming households with @@ and with buttons, edits kept as revisions, reading a day's
logs by role, reverse checks, and monthly summaries.

Shangba (HZ-001) is in Dahai township of Huize county, with coordinators Zhang and Zhou;
Xiaba (HZ-002) is in Leju township of the same county, whose admin is Chen. It is Monday
2026-11-23, 09:30 in Shanghai."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from storage.models import Visit
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer, Json, SentMessage
from tests.conftest import (
    ADMIN,
    COORD,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    OUTSIDER,
    BotHarness,
    FakeClock,
    ask,
    events_of,
    press,
    run_cli,
)


def _buttons(message: SentMessage) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for b in message.buttons]


async def _press_edit(server: BotApiServer, user_id: int, message: SentMessage, data: str) -> Json:
    """Press a button whose answer edits the message; returns once the edit is made."""
    edits = len(message.history)
    answer = await press(server, user_id, message, data)
    await server.wait_until(lambda: len(message.history) > edits)
    return answer


async def _visits(settings: Settings, clock: FakeClock, log_id: int) -> list[tuple[str, bool]]:
    """Every visit row of a log, removed ones included: (household, still current)."""
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            log = await tx.get_log(log_id)
            assert log is not None
            ledger: list[Visit] = []
            for household in await tx.list_households(log.team_id):
                ledger += [
                    e.visit for e in await tx.household_ledger([household.id]) if e.log.id == log_id
                ]
    finally:
        await store.close()
    return sorted((v.household, v.removed_at is None) for v in ledger)


# ---------------------------------------------------------------------- writing
async def test_a_log_names_known_households_and_offers_unknown_ones(
    county: BotHarness, server: BotApiServer
) -> None:
    added = await ask(server, GROUP, MEMBER, "/household add 张三 3组 低保户\n李四")
    assert added.content == "🏠 Added to Shangba's register: 张三, 李四"
    again = await ask(server, GROUP, MEMBER2, "/household add 张三")
    assert again.content == "Already in the register: 张三"

    saved = await ask(server, GROUP, MEMBER, "/log 走访@@张三家，了解医保缴纳；又去了@@王五。")
    assert saved.content.splitlines() == [
        "📝 Log #1 saved for 2026-11-23 (Wang).",
        "🏠 Households: 张三",
        "❓ Not in the register: 王五. Tap ➕ to add them as new households.",
    ]
    assert _buttons(saved) == [
        ("✅ 张三", "v1:lg:1:t:1:0"),
        ("李四", "v1:lg:1:t:2:0"),
        ("➕ 王五", "v1:lg:1:n:0"),
        ("Done", "v1:lg:1:d"),
    ]
    # Only the writer picks the households of a log.
    refused = await press(server, MEMBER2, saved, "v1:lg:1:n:0")
    assert refused["text"] == "Only the log's writer can change its households."
    assert refused["show_alert"] is True

    created = await _press_edit(server, MEMBER, saved, "v1:lg:1:n:0")
    assert created["text"] == "Added to the register and to this log"
    assert saved.content.splitlines() == [
        "📝 Log #1 saved for 2026-11-23 (Wang).",
        "🏠 Households: 张三, 王五",
    ]
    assert [text for text, _ in _buttons(saved)] == ["✅ 张三", "李四", "✅ 王五", "Done"]
    assert (await _press_edit(server, MEMBER, saved, "v1:lg:1:t:2:0"))["text"] == "Added"
    assert (await _press_edit(server, MEMBER, saved, "v1:lg:1:t:2:0"))["text"] == "Removed"
    await _press_edit(server, MEMBER, saved, "v1:lg:1:d")
    assert saved.buttons == []
    # An unlinked household keeps its row, stamped as removed.
    assert await _visits(county.settings, county.clock, 1) == [
        ("张三", True),
        ("李四", False),
        ("王五", True),
    ]

    register = await ask(server, GROUP, LEADER, "/household list")
    assert register.content.splitlines() == [
        "🏠 Household register of Shangba: 3",
        "张三 — 3组 低保户 · 1 visit in 30 days",
        "李四 · 0 visits in 30 days",
        "王五 · 1 visit in 30 days",
    ]
    outsider = await ask(server, GROUP, OUTSIDER, "/household add 赵六")
    assert outsider.content == "Only the team's members and leaders keep its household register."
    assert await events_of(county.settings, county.clock, "visit.") == [
        "visit.added",
        "visit.added",
        "visit.added",
        "visit.removed",
    ]


async def test_tags_photos_albums_and_what_is_not_a_log(
    county: BotHarness, server: BotApiServer
) -> None:
    await ask(server, GROUP, LEADER, "/household add 张三")
    tagged = await ask(server, GROUP, MEMBER, "#日志 整理贫困户档案")
    assert tagged.content.splitlines()[0] == "📝 Log #1 saved for 2026-11-23 (Wang)."

    mark = len(server.sent)
    photo = await server.send_photo(
        GROUP, MEMBER2, caption="#log 入户核实 @@张三", media_group_id="a1"
    )
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == photo["message_id"], after=mark
    )
    assert answer.content.splitlines()[:3] == [
        "📝 Log #2 saved for 2026-11-23 (Zhao).",
        "📷 1 photo",
        "🏠 Households: 张三",
    ]
    # The album's other photos join the log without an answer each.
    await server.send_photo(GROUP, MEMBER2, media_group_id="a1")
    await server.send_photo(GROUP, MEMBER2, media_group_id="a1")
    # A photo answering one's own log joins it too; one answering someone else's does not.
    mark = len(server.sent)
    reply = await server.send_photo(GROUP, MEMBER, reply_to=tagged_message(server, tagged))
    joined = await server.wait_for(
        lambda m: m.reply_to_message_id == reply["message_id"], after=mark
    )
    assert joined.content == "📷 Added to log #1 (1 photo)."
    await server.send_photo(GROUP, MEMBER2, reply_to=tagged_message(server, tagged))
    await server.send_photo(GROUP, MEMBER, caption="the view from the office")
    await server.send_text(GROUP, MEMBER, "good morning everyone")
    await county.barrier(GROUP, LEADER)
    answers = [m for m in server.sent[mark:] if m.chat_id == GROUP and m is not joined]
    assert len(answers) == 1, "only the barrier's /help is answered"

    day = await ask(server, GROUP, LEADER, "/logs")
    assert day.content.splitlines() == [
        "📒 Work logs of Shangba, 2026-11-23",
        "❌ Li: no log",
        "✅ Wang · #1 09:30: 整理贫困户档案",
        "📷 1 photo",
        "✅ Zhao · #2 09:30: 入户核实 张三",
        "   🏠 张三",
        "📷 3 photos",
        "Logs from 2 of 3 members.",
    ]
    outsider = await ask(server, GROUP, OUTSIDER, "#log I was here too")
    assert outsider.content == "Only the team's members write work logs here. /join first."
    empty = await ask(server, GROUP, MEMBER, "/log")
    assert empty.content.startswith("Write what you did after the command")
    # Privately, a log goes to the member's team; a photo log too.
    private = await county.say(MEMBER, MEMBER, "#日志 晚上整理走访记录")
    assert private.content.splitlines()[0] == "📝 Log #3 saved for 2026-11-23 (Wang)."
    mark = len(server.sent)
    await server.send_photo(MEMBER, MEMBER, caption="/log 入户照片")
    photo_log = await server.wait_for(lambda m: m.chat_id == MEMBER, after=mark)
    assert photo_log.content.splitlines()[:2] == [
        "📝 Log #4 saved for 2026-11-23 (Wang).",
        "📷 1 photo",
    ]
    stranger = await county.say(OUTSIDER, OUTSIDER, "/log hello")
    assert stranger.content == "Only the team's members write work logs here. /join first."


def tagged_message(server: BotApiServer, answer: SentMessage) -> dict[str, object]:
    """The user's message a bot answer quotes, as Telegram would embed it in a reply."""
    chat = server.chats[answer.chat_id]
    return {"message_id": answer.reply_to_message_id, "chat": chat, "date": 0}


# ---------------------------------------------------------------------- history
async def test_an_edit_is_a_new_revision_and_the_first_text_stays(
    county: BotHarness, server: BotApiServer, clock: FakeClock
) -> None:
    await ask(server, GROUP, LEADER, "/household add 张三\n李四")
    mark = len(server.sent)
    original = await server.send_text(GROUP, MEMBER, "/log visited @@张三 about the pension")
    await server.wait_for(lambda m: m.reply_to_message_id == original["message_id"], after=mark)
    clock.advance(minutes=20)
    mark = len(server.sent)
    await server.edit_text(original, "/log visited @@李四 about the pension")
    edit = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert edit.content.splitlines() == [
        "✏️ Log #1: revision 2 saved; the earlier text is kept (/log history 1).",
        "🏠 Now also names: 李四",
        "🏠 No longer names: 张三",
    ]
    # The same edit delivered again changes nothing and is not answered.
    await server.edit_text(original, "/log visited @@李四 about the pension")
    await county.barrier(GROUP, LEADER)
    assert await events_of(county.settings, county.clock, "log.") == ["log.written", "log.edited"]
    assert await _visits(county.settings, county.clock, 1) == [("张三", False), ("李四", True)]

    history = await ask(server, GROUP, MEMBER, "/log history 1")
    assert history.content.splitlines() == [
        "📜 Log #1 by Wang, for 2026-11-23 (Shangba)",
        "v1 · 2026-11-23 09:30 (written): visited @@张三 about the pension",
        "v2 · 2026-11-23 09:50 (edited): visited @@李四 about the pension",
    ]
    assert (await ask(server, GROUP, LEADER, "/log history 1")).content == history.content
    other = await ask(server, GROUP, MEMBER2, "/log history 1")
    assert other.content == "There is no log #1 that you can read."
    # A mistyped question is answered, and never kept as a day's work.
    for wrong in ("/log history abc", "/log history", "/log 历史 1 2"):
        answer = await ask(server, GROUP, MEMBER, wrong)
        assert answer.content.startswith("Which log? Write its number"), answer.content
    assert await events_of(county.settings, county.clock, "log.") == ["log.written", "log.edited"]
    day = await ask(server, GROUP, LEADER, "/logs")
    assert "   ✏️ edited, revision 2 (/log history 1)" in day.content.splitlines()

    # A photo's caption edited is a revision too.
    mark = len(server.sent)
    photo = await server.send_photo(GROUP, MEMBER2, caption="#log 村委会议")
    await server.wait_for(lambda m: m.reply_to_message_id == photo["message_id"], after=mark)
    mark = len(server.sent)
    await server.edit_caption(photo, "#log 村委会议，讨论道路硬化")
    edit = await server.wait_for(lambda m: m.chat_id == GROUP, after=mark)
    assert edit.content == "✏️ Log #2: revision 2 saved; the earlier text is kept (/log history 2)."


async def test_a_log_delivered_twice_is_one_log_and_buttons_survive_a_restart(
    county: BotHarness, server: BotApiServer
) -> None:
    await ask(server, GROUP, LEADER, "/household add 张三")
    mark = len(server.sent)
    message = await server.send_text(GROUP, MEMBER, "#log 走访 @@张三")
    first = await server.wait_for(
        lambda m: m.reply_to_message_id == message["message_id"], after=mark
    )
    mark = len(server.sent)
    await server.push_update("message", message)  # Telegram retries after a lost confirmation
    again = await server.wait_for(
        lambda m: m.reply_to_message_id == message["message_id"], after=mark
    )
    assert again.content == first.content
    assert await events_of(county.settings, county.clock, "log.") == ["log.written"]

    await county.restart()
    assert (await _press_edit(server, MEMBER, first, "v1:lg:1:t:1:0"))["text"] == "Removed"
    old = await press(server, MEMBER, first, "v0:lg:1:t:1:0")
    assert old["text"] == "This button no longer works. Please start again."


# ---------------------------------------------------------------------- reading
async def test_who_reads_which_logs(county: BotHarness, server: BotApiServer) -> None:
    await ask(server, GROUP, MEMBER, "/log 召开党员大会")
    own = await ask(server, GROUP, MEMBER, "/logs")
    assert own.content.splitlines() == [
        "📒 Your work logs in Shangba, 2026-11-23",
        "✅ Wang · #1 09:30: 召开党员大会",
    ]
    none = await ask(server, GROUP, MEMBER2, "/logs")
    assert none.content.splitlines() == [
        "📒 Your work logs in Shangba, 2026-11-23",
        "❌ Zhao: no log",
    ]
    team = await ask(server, GROUP, LEADER, "/logs yesterday")
    assert team.content.splitlines() == [
        "📒 Work logs of Shangba, 2026-11-22",
        "❌ Li: no log",
        "❌ Wang: no log",
        "❌ Zhao: no log",
        "Logs from 0 of 3 members.",
    ]
    coordinator = await county.say(COORD, COORD, "/logs HZ-001")
    assert coordinator.content.splitlines()[0] == "📒 Work logs of Shangba, 2026-11-23"
    assert coordinator.content.splitlines()[-1] == "Logs from 1 of 3 members."
    area = await county.say(COORD, COORD, "/logs")
    assert area.content.splitlines() == [
        "📒 Work logs on 2026-11-23 in your area",
        "HZ-001 Shangba: 1 of 3 members wrote a log",
    ]
    admin = await county.say(ADMIN, ADMIN, "/logs")
    assert admin.content.splitlines()[1:] == [
        "HZ-001 Shangba: 1 of 3 members wrote a log",
        "HZ-002 Xiaba: 0 of 0 members wrote a log",
    ]
    # Another team's logs: refused to a member, and to a coordinator of another township.
    mine = await county.say(MEMBER, MEMBER, "/logs")
    assert mine.content.splitlines()[0] == "📒 Your work logs in Shangba, 2026-11-23"
    for user in (MEMBER, COORD):  # the code typed is named back, never the village
        refused = await county.say(user, user, "/logs HZ-002")
        assert refused.content == "Team HZ-002 is not in your area."
    outsider = await ask(server, GROUP, OUTSIDER, "/logs")
    assert outsider.content == "You cannot read these logs."
    future = await ask(server, GROUP, LEADER, "/logs 2026-11-30")
    assert future.content == "That day has not come yet."
    nonsense = await ask(server, GROUP, LEADER, "/logs someday")
    assert nonsense.content.startswith("Not a day: someday.")


# ---------------------------------------------------------------------- reverse checks
async def test_inspectors_list_sample_and_mark_visits(
    county: BotHarness, server: BotApiServer
) -> None:
    await ask(server, GROUP, LEADER, "/household add 张三\n李四\n王五")
    await ask(server, GROUP, MEMBER, "/log 走访 @@张三 @@李四")
    await ask(server, GROUP, MEMBER2, "/log 走访 @@张三 @@王五")
    await ask(server, GROUP, LEADER, "/log 走访 @@李四")

    for user_id, text in ((LEADER, "/audit 张三"), (MEMBER, "/audit sample HZ-001")):
        refused = await county.say(user_id, user_id, text)
        assert refused.content == (
            "Reverse checks are for the township's coordinators and the county's admins."
        )
    visits = await county.say(COORD, COORD, "/audit 张三")
    assert visits.content.splitlines() == [
        "🔍 Visits to 张三: 2",
        "🏠 张三 (Shangba)",
        "#1 · 2026-11-23 09:30 · Wang (Shangba) · log #1: 走访 张三 李四 · not checked",
        "#3 · 2026-11-23 09:30 · Zhao (Shangba) · log #2: 走访 张三 王五 · not checked",
    ]
    unknown = await county.say(COORD, COORD, "/audit 赵六")
    assert unknown.content == "No household named 赵六 in the registers you oversee."

    first = await county.say(COORD, COORD, "/audit sample HZ-001 3")
    drawn = [line.split(" · ")[0] for line in first.content.splitlines()[1:4]]
    assert first.content.splitlines()[0] == "🎲 3 visits of Shangba to verify:"
    assert first.content.splitlines()[-1].endswith("2 visits of the last 30 days not drawn yet.")
    second = await county.say(COORD, COORD, "/audit sample HZ-001 3")
    lines = second.content.splitlines()
    assert lines[0] == "🎲 2 visits of Shangba to verify:"
    assert lines[3] == "Only 2 of the 3 asked were left undrawn."
    again = [line.split(" · ")[0] for line in lines[1:3]]
    assert sorted(drawn + again) == ["#1", "#2", "#3", "#4", "#5"]  # no visit drawn twice
    empty = await county.say(COORD, COORD, "/audit sample HZ-001")
    assert empty.content == "No visit of Shangba in the last 30 days is left to draw."
    assert await events_of(county.settings, county.clock, "audit.") == [
        "audit.sampled",
        "audit.sampled",
    ]
    other = await county.say(COORD, COORD, "/audit sample HZ-002")
    assert other.content == "Team HZ-002 is not in your area."
    private = await county.say(COORD, COORD, "/audit sample 3")
    assert private.content == "Name the team: /audit sample <team code> [n]."

    no_note = await county.say(COORD, COORD, "/audit mark 1 false")
    assert no_note.content == "Say what was found: /audit mark <id> false <note>."
    maybe = await county.say(COORD, COORD, "/audit mark 1 maybe")
    assert maybe.content == "Not a verdict: maybe. Use ok or false."
    false = await county.say(COORD, COORD, "/audit mark 1 false 户主说当天没人来过")
    assert false.content == "❌ Visit #1 (张三, Wang, 2026-11-23) found false: 户主说当天没人来过"
    ok = await county.say(ADMIN, ADMIN, "/audit mark 1 ok 电话回访确认来过")
    assert ok.content.splitlines() == [
        "✅ Visit #1 (张三, Wang, 2026-11-23) verified. 电话回访确认来过",
        "It was marked false before; both verdicts are kept.",
    ]
    await county.say(ADMIN, ADMIN, "/audit mark 2 false 李四不在家，邻居说没人来过")
    # The verdicts are part of the member's record.
    me = await county.say(MEMBER, MEMBER, "/me")
    assert "🔍 Reverse checks of your visits: 1 verified, 1 found false" in me.content.splitlines()
    assert "📝 Work logs: 1 of 1 day this month" in me.content.splitlines()
    day = await ask(server, GROUP, LEADER, "/logs")
    assert "   🏠 张三 ✅, 李四 ❌" in day.content.splitlines()
    history = await county.say(COORD, COORD, "/audit 张三")
    assert history.content.splitlines()[2].endswith("· ✅ verified 电话回访确认来过")
    marked_by_member = await county.say(MEMBER, MEMBER, "/audit mark 3 ok")
    assert marked_by_member.content == (
        "Reverse checks are for the township's coordinators and the county's admins."
    )


# ---------------------------------------------------------------------- summaries
async def test_the_monthly_summary_and_who_has_not_sent_one(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    member = await ask(server, GROUP, MEMBER, "/summary 本月完成入户走访")
    assert member.content == "Only the team's leader sends the monthly summary."
    status = await ask(server, GROUP, LEADER, "/summary")
    assert status.content.splitlines() == [
        "📄 Summaries of Shangba: none yet",
        "2026-11 is not sent yet: /summary <text>, or send the document with the caption #summary.",
    ]
    sent = await ask(server, GROUP, LEADER, "/summary 本月完成入户走访42户，召开院坝会2次")
    assert sent.content == "📄 Summary for 2026-11 recorded for Shangba."
    future = await ask(server, GROUP, LEADER, "/summary 2026-12 还没到")
    assert future.content == "2026-12 has not begun yet."

    admin = await county.say(ADMIN, ADMIN, "/summaries 2026-11")
    assert admin.content.splitlines() == [
        "📄 Monthly summaries for 2026-11: 1 of 2 teams sent",
        "❌ HZ-002 Xiaba: not sent",
        "✅ HZ-001 Shangba: 2026-11-23 09:30 · 本月完成入户走访42户，召开院坝会2次",
    ]
    coordinator = await county.say(COORD, COORD, "/summaries 2026-11")
    assert coordinator.content.splitlines()[0] == (
        "📄 Monthly summaries for 2026-11: 1 of 1 team sent"
    )
    last_month = await county.say(ADMIN, ADMIN, "/summaries")
    assert last_month.content.splitlines()[0] == (
        "📄 Monthly summaries for 2026-10: 0 of 2 teams sent"
    )
    refused = await county.say(MEMBER, MEMBER, "/summaries")
    assert refused.content == "This is for the coordinators and admins of the teams."

    mark = len(server.sent)
    document = await server.send_document(
        GROUP, LEADER, "11月工作小结.docx", b"PK...", caption="#小结 2026-11"
    )
    replaced = await server.wait_for(
        lambda m: m.reply_to_message_id == document["message_id"], after=mark
    )
    assert replaced.content == (
        "📄 Summary for 2026-11 recorded for Shangba; it replaces the one sent before, "
        "which is kept."
    )
    admin = await county.say(ADMIN, ADMIN, "/summaries 2026-11")
    assert admin.content.splitlines()[2].endswith("· 11月工作小结.docx")
    assert await events_of(county.settings, county.clock, "summary.") == [
        "summary.sent",
        "summary.sent",
    ]


# ---------------------------------------------------------------------- importing registers
async def test_a_register_imported_from_the_command_line_and_in_the_group(
    county: BotHarness, server: BotApiServer, tmp_path: Path
) -> None:
    csv = tmp_path / "households.csv"
    csv.write_text("队编码,户名,备注\nHZ-001,张三,3组\nHZ-001,李四,\nHZ-002,王五,低保户\n")
    code, out, err = await run_cli(county.settings, "import", str(csv), "--dry-run")
    assert code == 0, err
    assert "would add 3 households (0 already in the register) to 2 teams" in out
    code, out, err = await run_cli(county.settings, "import", str(csv))
    assert out.strip() == "Imported households: 3 added, 0 already in the register, 2 teams."
    bad = tmp_path / "bad.csv"
    bad.write_text("team_code,household\nHZ-001,赵六\nHZ-001,\n")
    code, _, err = await run_cli(county.settings, "import", str(bad))
    assert (code, err.splitlines()[1]) == (1, "line 3: A household needs a name.")
    bad.write_text("team_code,household\nHZ-001,赵六\nHZ-404,钱七\n")
    code, _, err = await run_cli(county.settings, "import", str(bad))
    assert (code, err.splitlines()[1]) == (
        1,
        "line 3: No team HZ-404 here (households go to a "
        "team that exists; in a group, only to its own team)",
    )
    register = await ask(server, GROUP, MEMBER, "/household list")
    assert register.content.splitlines()[1:] == [
        "张三 — 3组 · 0 visits in 30 days",
        "李四 · 0 visits in 30 days",
    ]

    mark = len(server.sent)
    sent = await server.send_document(
        GROUP,
        LEADER,
        "register.csv",
        "户名,备注\n李四,\n孙八,5组\n".encode("gb18030"),
        caption="/household import",
    )
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == sent["message_id"], after=mark
    )
    assert answer.content == "🏠 Register of Shangba: 1 household added, 1 already there."
    mark = len(server.sent)
    sent = await server.send_document(
        GROUP, MEMBER, "more.csv", b"household\nZhou Jiu\n", caption="/household import"
    )
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == sent["message_id"], after=mark
    )
    assert answer.content == "Only the team's leaders import a household register."
    # Neither a stranger's file nor one over the limit is fetched: the refusal comes first.
    fetched = len(server.calls_to("getFile"))
    mark = len(server.sent)
    sent = await server.send_document(
        GROUP, LEADER, "big.csv", b"household\n" + b"x" * 2_000_000, caption="/household import"
    )
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == sent["message_id"], after=mark
    )
    assert answer.content == "The file is over 1000 KB; a register fits in far less."
    assert len(server.calls_to("getFile")) == fetched == 1  # the leader's first file only
    mark = len(server.sent)
    sent = await server.send_document(
        GROUP,
        LEADER,
        "other.csv",
        b"team_code,household\nHZ-002,Zhou Jiu\n",
        caption="/household import",
    )
    answer = await server.wait_for(
        lambda m: m.reply_to_message_id == sent["message_id"], after=mark
    )
    assert answer.content.splitlines()[0] == (
        "The file was not imported (1 problem); nothing was added:"
    )
