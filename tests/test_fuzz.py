"""Thousands of generated updates, well-formed and malformed, thrown at the running bot.

No handler may raise (a dead letter is a failure here), every answer is a clear message that
Telegram would take (the offline server refuses text over 4,096 characters, bad markup, bad
buttons), and afterwards the database passes SQLite's own checks and the project's
invariants. ``CUNBOT_FUZZ_UPDATES`` sets how many updates to try (CI runs the default);
the test prints how many it tried."""

from __future__ import annotations

import asyncio
import math
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.i18n import t
from rules.permissions import TABLE
from storage.base import Tx
from storage.models import OutboxRow, WireView
from tests.botapi_server import BotApiServer, Json
from tests.conftest import (
    ADMIN,
    COORD,
    FUZZ_TRIED,
    GROUP,
    LEADER,
    MEMBER,
    MEMBER2,
    OUTSIDER,
    BotHarness,
    in_store,
)

APOLOGIES = {t(lang, "err.internal") for lang in ("en", "zh")}
UPDATES = int(os.environ.get("CUNBOT_FUZZ_UPDATES", "1500"))
BATCH = 30
STRANGER = 4242  # never seen before: no person, no role
USERS = (LEADER, MEMBER, MEMBER2, OUTSIDER, COORD, ADMIN, STRANGER)
NEAR = (25.5009, 103.2)  # about 100 m from Shangba's village office

# Every command the permission table knows, and one it does not.
COMMANDS = [*sorted({key.split()[0] for key in TABLE}), "nosuch"]
WORDS = [
    "history",
    "sample",
    "mark",
    "add",
    "list",
    "import",
    "remove",
    "set",
    "on",
    "off",
    "yesterday",
    "昨天",
    "today",
    "week",
    "day",
    "month",
    "2026-11",
    "2026-11-23",
    "11-23",
    "2026-13-45",
    "2026-11-30",
    "HZ-001",
    "HZ-002",
    "XW-001",
    "Dahai",
    "事假",
    "病假",
    "公务",
    "ok",
    "false",
    "属实",
    "不实",
    "1",
    "0",
    "-1",
    "7",
    "99999999999999999999999",
    "²",
    "١",
    "#1",
    "@wang",
    "@nobody",
    "en",
    "zh",
    "07:30",
    "25:99",
    "Village",
    "25.5",
    "103.2",
    "300",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "abc",
]
LONG = "长" * 3000 + "x" * 2000  # a refusal that repeats it must still fit one message


def _word() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.text(max_size=12),
        st.sampled_from([LONG, "a\ud800b", "\udfff", "\x00", "\u202e", "<b>", "&amp;"]),
    )


def _text() -> st.SearchStrategy[str]:
    command = st.builds(
        lambda name, bot, args: "/" + name + bot + "".join(" " + a for a in args),
        st.sampled_from(COMMANDS),
        st.sampled_from(["", "", "@cunbot_test_bot", "@other_bot"]),
        st.lists(_word(), max_size=4),
    )
    tagged = st.builds(lambda tag, w: tag + " " + w, st.sampled_from(["#log", "#日志"]), _word())
    return st.one_of(command, tagged, _word())


def _number() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(min_value=-0.01, max_value=0.01).map(lambda d: NEAR[0] + d),
        st.sampled_from([90.0, -90.0, 180.0, -180.0, 91.0, 1e9]),
    )


def _location() -> st.SearchStrategy[Json]:
    return st.fixed_dictionaries(
        {"latitude": _number(), "longitude": _number()},
        optional={
            "horizontal_accuracy": st.one_of(st.floats(0, 3000), st.just(math.nan)),
            "live_period": st.sampled_from([60, 28800, 0x7FFFFFFF]),
        },
    )


def _callback_data() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "v1:lv:1:a",
                "v1:lv:1:r",
                "v1:lv:99999999999999999999:r",
                "v1:lg:1:t:1:0",
                "v1:lg:1:p:99999999999999999999",
                "v1:lg:²:d",
                "v0:lv:1:a",
                "v1:ld:m:2026-13",
                "v1:ld:m:99999-12",
                "v1:ld:d:2026-02-30",
                "v1:ld:k:nosuch",
                "v1:ld:x",
                "",
            ]
        ),
        st.text(max_size=64),
    )


@st.composite
def _update(draw: st.DrawFn, now: int) -> Json:
    user = draw(st.sampled_from(USERS))
    private = draw(st.booleans())
    chat = (
        {"id": user, "type": "private", "first_name": "X"}
        if private
        else {
            "id": GROUP,
            "type": "group",
            "title": "Shangba village team",
        }
    )
    sender = {"id": user, "is_bot": False, "first_name": draw(_word()) or "X"}
    message: Json = {
        "message_id": draw(st.integers(1, 10**6)),
        "from": sender,
        "chat": chat,
        "date": now - draw(st.sampled_from([0, 0, 60, 86400 * 3])),
    }
    kind = draw(st.sampled_from(["text", "text", "location", "edit", "button", "member"]))
    if kind in ("text", "edit"):
        text = draw(_text())
        message["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if kind == "edit":
            message["edit_date"] = now
            return {"edited_message": message}
        return {"message": message}
    if kind == "location":
        message["location"] = draw(_location())
        if draw(st.booleans()):
            message["forward_origin"] = {"type": "hidden_user", "sender_user_name": "A", "date": 1}
        return {"message": message}
    if kind == "button":
        query: Json = {
            "id": "",  # made unique when pushed
            "from": sender,
            "chat_instance": "1",
            "data": draw(_callback_data()),
        }
        if draw(st.booleans()):
            message["from"] = {"id": 1, "is_bot": True, "first_name": "Cunbot"}
            message["text"] = "x"
            query["message"] = message
        elif draw(st.booleans()):
            query["inline_message_id"] = "abc"
        return {"callback_query": query}
    status = draw(st.sampled_from(["left", "kicked", "member", "administrator"]))
    who = draw(st.sampled_from([sender, {"id": 1, "is_bot": True, "first_name": "Cunbot"}]))
    field = "my_chat_member" if who["is_bot"] else "chat_member"
    return {
        field: {
            "chat": chat,
            "from": sender,
            "date": now,
            "old_chat_member": {"user": who, "status": "member"},
            "new_chat_member": {"user": who, "status": status, "until_date": 0}
            if status == "kicked"
            else {"user": who, "status": status},
        }
    }


async def _handled(harness: BotHarness) -> WireView:
    """Once every update is handled (answers may still wait for their turn: a group's pace
    is Telegram's 20 a minute)."""

    async def view(tx: Tx) -> WireView:
        return await tx.wire_view(harness.clock())

    for _ in range(600):
        seen = await in_store(harness.settings, harness.clock, view)
        if seen.waiting == 0:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"updates still waiting after 30 s: {seen.waiting}")


async def _outbox(tx: Tx) -> list[OutboxRow]:
    return await tx.outbox_rows()


def _unfit(row: OutboxRow) -> str | None:
    """Why Telegram would refuse this answer, or why it is no answer at all."""
    text = str(row.params.get("text") or row.params.get("caption") or "")
    if text in APOLOGIES:
        return "apology"
    limit = {"answerCallbackQuery": 200, "sendPhoto": 1024, "sendDocument": 1024}
    if len(text) > limit.get(row.method, 4096):
        return f"{row.method} of {len(text)} characters"
    return None


@pytest.fixture
def tried(request: pytest.FixtureRequest) -> list[int]:
    """How many updates the examples pushed, told at the end of the run (conftest)."""
    counted: list[int] = []
    request.config.stash.setdefault(FUZZ_TRIED, []).append(counted)
    return counted


@settings(
    max_examples=max(1, UPDATES // BATCH),
    deadline=None,
    database=None,
    # The bot keeps what every example did: a smaller example would not fail the same way.
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_updates_break_nothing(
    county: BotHarness, server: BotApiServer, tried: list[int], data: st.DataObject
) -> None:
    # One bot for every example: state (teams, leave, logs) piles up as it would in a month.
    server.add_user(STRANGER, "Stranger")
    now = int(county.clock().timestamp())
    batch = data.draw(st.lists(_update(now), min_size=BATCH, max_size=BATCH))
    before = {r.id for r in await in_store(county.settings, county.clock, _outbox)}
    for body in batch:
        if "callback_query" in body:  # a query Telegram knows (once), so its answer is taken
            query_id = f"fuzz{len(server.callback_answers)}"
            body["callback_query"]["id"] = query_id
            server.callback_answers[query_id] = {}
        await server.push_raw(body)
    tried.append(len(batch))
    view = await _handled(county)
    # An update Telegram's own library cannot read is kept as a dead letter, told to nobody
    # (there is nobody to tell); one that makes a handler raise is a defect.
    errors = [d.error or "" for d in view.dead]
    raised = [e.splitlines()[0] for e in errors if not e.startswith("unparseable")]
    assert raised == []
    answers = [
        r for r in await in_store(county.settings, county.clock, _outbox) if r.id not in before
    ]
    unfit = [(r.method, _unfit(r), r.params) for r in answers if _unfit(r)]
    assert unfit == []
    assert server.problems == [], server.problems

    async def checks(tx: Tx) -> list[str]:
        return await tx.integrity_breaches()

    assert await in_store(county.settings, county.clock, checks) == []
