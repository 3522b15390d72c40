"""The offline Bot API server itself: it must refuse what Telegram refuses, or tests lie."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from tests.botapi_server import BotApiServer

GROUP = -100500


@pytest.fixture
async def api(server: BotApiServer) -> Bot:
    server.add_user(7, "Li")
    server.add_group(GROUP, "Team", members={7: "creator"})
    return Bot(server.token, base_url=f"{server.url}/bot")


async def test_unknown_methods_fail_loudly(server: BotApiServer, api: Bot) -> None:
    async with api:
        with pytest.raises(TelegramError, match="sendDice is not in the offline server"):
            await api.send_dice(GROUP)
    assert server.problems == ["unknown method sendDice"]
    server.problems.clear()


async def test_a_wrong_token_is_unauthorized(server: BotApiServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{server.url}/bot"):
            pass


async def test_refuses_what_telegram_refuses(server: BotApiServer, api: Bot) -> None:
    async with api:
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await api.send_message(-1, "hello")
        with pytest.raises(BadRequest, match=r"(?i)text is empty"):
            await api.send_message(GROUP, " ")
        with pytest.raises(BadRequest, match=r"(?i)too long"):
            await api.send_message(GROUP, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await api.send_message(
                GROUP,
                "pick",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("a", callback_data="x" * 65)]]
                ),
            )
        with pytest.raises(BadRequest, match=r"(?i)unsupported start tag"):
            await api.send_message(GROUP, "<div>hi</div>", parse_mode="HTML")
        sent = await api.send_message(GROUP, "<b>hi</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await api.edit_message_text("<b>hi</b>", GROUP, sent.message_id, parse_mode="HTML")
    assert len(server.problems) == 6
    server.problems.clear()


async def test_updates_wait_for_confirmation_by_offset(server: BotApiServer, api: Bot) -> None:
    async with api:
        await server.send_text(GROUP, 7, "one")
        first = await api.get_updates(timeout=0)
        again = await api.get_updates(timeout=0)
        assert [u.update_id for u in first] == [u.update_id for u in again] == [1]
        assert again[0].message is not None and again[0].message.text == "one"
        # A long poll returns as soon as something arrives.
        poll = asyncio.create_task(api.get_updates(offset=2, timeout=5))
        await asyncio.sleep(0.05)
        assert not poll.done()
        await server.send_location(GROUP, 7, 25.5, 103.2, live_period=900)
        updates = await asyncio.wait_for(poll, 2)
        assert [u.update_id for u in updates] == [2]
        assert updates[0].message is not None and updates[0].message.location is not None
        assert updates[0].message.location.live_period == timedelta(seconds=900)
        assert await api.get_updates(offset=3, timeout=0) == ()
        assert server.pending_updates() == 0


async def test_files_json_and_edits_are_recorded(server: BotApiServer, api: Bot) -> None:
    async with api:
        message = await api.send_document(
            GROUP, b"a,b\n1,2\n", filename="week.csv", caption="Week 47"
        )
        assert message.document is not None and message.document.file_name == "week.csv"
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="v1:x:1")]])
        text = await api.send_message(GROUP, "Approve?", reply_markup=buttons)
        await api.edit_message_text("Approved", GROUP, text.message_id)
    sent = server.messages_to(GROUP)
    assert sent[0].file_bytes == b"a,b\n1,2\n" and sent[0].caption == "Week 47"
    assert sent[1].text == "Approved" and sent[1].history == [
        ("Approve?", {"inline_keyboard": [[{"text": "OK", "callback_data": "v1:x:1"}]]})
    ]
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server.url}/bot{server.token}/getMe", json={})
    assert answer.json()["result"]["is_bot"] is True


async def test_button_presses_are_answered_once(server: BotApiServer, api: Bot) -> None:
    async with api:
        buttons = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="v1:x:1")]])
        await api.send_message(GROUP, "Approve?", reply_markup=buttons)
        query_id = await server.press_button(7, server.messages_to(GROUP)[0], "v1:x:1")
        update = (await api.get_updates(timeout=0))[0]
        assert update.callback_query is not None and update.callback_query.data == "v1:x:1"
        await api.answer_callback_query(query_id, "Done")
        assert await server.wait_answer(query_id) == {"text": "Done", "show_alert": False}
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await api.answer_callback_query(query_id, "Again")
    server.problems.clear()


async def test_group_pace_is_enforced_when_asked(server: BotApiServer, api: Bot) -> None:
    server.group_limit_per_minute = 2
    async with api:
        await api.send_message(GROUP, "1")
        await api.send_message(GROUP, "2")
        with pytest.raises(RetryAfter) as refused:
            await api.send_message(GROUP, "3")
        server.start_private(7)
        await api.send_message(7, "private chats have no group pace")
    assert refused.value.retry_after == timedelta(seconds=60)
    assert server.rate_limited == [("group", GROUP)]


async def test_migrated_group_answers_with_the_new_id(server: BotApiServer, api: Bot) -> None:
    await server.migrate_group(GROUP, -100999, 7)
    async with api:
        with pytest.raises(TelegramError) as refused:
            await api.send_message(GROUP, "hello")
        assert "-100999" in str(refused.value)
        await api.send_message(-100999, "hello")
    server.problems.clear()


async def test_a_bot_writes_privately_only_to_who_started_it(
    server: BotApiServer, api: Bot
) -> None:
    async with api:
        with pytest.raises(Forbidden, match="initiate conversation"):
            await api.send_message(7, "hello")
        await server.send_text(7, 7, "/start")
        await api.send_message(7, "hello")
        server.blocked.add(7)
        with pytest.raises(Forbidden, match="blocked"):
            await api.send_message(7, "again")
    assert server.forbidden == [("sendMessage", 7), ("sendMessage", 7)]
    assert server.problems == []
