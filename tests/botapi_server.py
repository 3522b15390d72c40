"""An offline Telegram Bot API server for end-to-end tests.

It is a real HTTP server on 127.0.0.1 that speaks the Bot API the way python-telegram-bot
uses it: form-encoded, multipart and JSON POSTs to ``/bot<token>/<method>``, answers shaped
``{"ok": true, "result": ...}``, long-poll ``getUpdates`` with offset confirmation and timeout.
The test side injects what users do (messages, commands, locations, edits of live locations,
button presses, group migrations) and reads what the bot sent.

It is strict on purpose: an unknown method, an unknown chat, a message that Telegram would
refuse (empty or too long text, callback data over 64 bytes, broken HTML) answers an error
and is recorded in ``problems``, so the harness fails the test loudly.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

Json = dict[str, Any]

# How Bot API parameters are typed on the wire. PTB json-dumps every non-string value, so a
# field is decoded by its declared type, never guessed (a text "123" must stay a string).
_INT_FIELDS = {
    "offset",
    "limit",
    "timeout",
    "message_id",
    "user_id",
    "from_chat_id",
    "cache_time",
    "reply_to_message_id",
    "message_thread_id",
    "live_period",
    "heading",
    "proximity_alert_radius",
}
_FLOAT_FIELDS = {"latitude", "longitude", "horizontal_accuracy"}
_BOOL_FIELDS = {
    "drop_pending_updates",
    "disable_notification",
    "show_alert",
    "protect_content",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "has_spoiler",
    "disable_content_type_detection",
    "allow_paid_broadcast",
}
_JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "allowed_updates",
    "commands",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "media",
}
_FILE_FIELDS = {"document", "photo", "thumbnail"}

# Tags Telegram accepts with parse_mode=HTML.
_HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}

ANONYMOUS_ADMIN: Json = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


class ApiError(Exception):
    """An error answer, as Telegram gives it."""

    def __init__(self, code: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class ApiCall:
    """One request the bot made, decoded."""

    method: str
    params: Json
    at: float


@dataclass
class SentMessage:
    """A message the bot sent, with every later edit kept in ``history``."""

    chat_id: int
    message_id: int
    text: str | None
    reply_markup: Json | None = None
    parse_mode: str | None = None
    reply_to_message_id: int | None = None
    document: Json | None = None
    photo: Json | None = None
    file_bytes: bytes | None = None
    caption: str | None = None
    history: list[tuple[str | None, Json | None]] = field(default_factory=list)

    @property
    def content(self) -> str:
        """What a person reads: the text, or a file's caption."""
        return self.text or self.caption or ""

    @property
    def buttons(self) -> list[Json]:
        """Every inline button, row by row."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [b for row in self.reply_markup["inline_keyboard"] for b in row]


class _HtmlChecker(HTMLParser):
    """Telegram refuses HTML with unsupported or unbalanced tags; so do we."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self.error = f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"'


def _check_html(text: str) -> None:
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.error is None and checker.stack:
        checker.error = "Bad Request: can't parse entities: unclosed tag"
    if checker.error:
        raise ApiError(400, checker.error)


class BotApiServer:
    """The server, its state, and the test-side API to drive it."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "cunbot_test_bot",
        can_read_all_group_messages: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: Json = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Cunbot",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages,
            "supports_inline_queries": False,
        }
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.users: dict[int, Json] = {}
        self.chats: dict[int, Json] = {}
        self.statuses: dict[tuple[int, int], str] = {}
        self.migrated: dict[int, int] = {}
        # (scope type, language code or "") -> the menu
        self.commands: dict[tuple[str, str], list[Json]] = {}
        self.calls: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.callback_answers: dict[str, Json] = {}
        self.problems: list[str] = []
        self.rate_limited: list[tuple[str, int]] = []
        # Telegram lets a bot write to a person only after they wrote to it first (or pressed
        # Start), and never once they block it: anything else is a 403 the bot must handle.
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.forbidden: list[tuple[str, int]] = []
        # Telegram's pace, enforced only when a test asks for it.
        self.group_limit_per_minute: int | None = None
        self.global_limit_per_second: int | None = None
        # Sends to these chats wait until the test sets the event: a message on the wire.
        self.held: dict[int, asyncio.Event] = {}
        self.holding: set[int] = set()
        # Methods failing as the network does, until the test clears them: "5xx" answers a
        # 502, "drop" closes the connection without an answer, "hang" never answers.
        self.failing: dict[str, str] = {}
        # Called as requests arrive and as batches of updates leave: a test kills the bot there.
        self.on_call: Callable[[str, Json], None] | None = None
        self.on_serve: Callable[[list[Json]], None] | None = None
        self.failed_calls: list[tuple[str, str]] = []
        self._sends_by_chat: dict[int, deque[float]] = defaultdict(deque)
        self._sends_all: deque[float] = deque()
        self._updates: list[Json] = []
        self._next_update_id = 1
        self._confirmed = 0  # every update_id below this was confirmed and is gone
        self._new_update = asyncio.Condition()
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.files: dict[str, bytes] = {}  # what users sent, by file_id, for getFile
        # What the bot uploaded, by the file_id it was given: a re-send by id is resolved.
        self.bot_files: dict[str, tuple[str | None, bytes]] = {}
        self._all_updates: dict[int, Json] = {}
        self.served: Counter[int] = Counter()  # how often each update_id was handed out
        self._sent_changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0

    # ------------------------------------------------------------------ life cycle
    @property
    def url(self) -> str:
        """Base URL to give the bot as ``CUNBOT_API_URL``."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._closing.set()
        async with self._new_update:
            self._new_update.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ValueError as exc:
            self.problems.append(f"{method}: undecodable request: {exc}")
            return web.json_response(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"},
                status=400,
            )
        self.calls.append(ApiCall(method, params, time.monotonic()))
        await self._touch()  # a test may wait for a call, not only for a message
        if self.on_call is not None:
            self.on_call(method, params)
        failure = self.failing.get(method)
        if failure is not None:
            return await self._fail(request, method, failure)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            self.problems.append(f"unknown method {method}")
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 404,
                    "description": f"Not Found: method {method} is not in the offline server",
                },
                status=404,
            )
        try:
            result = await handler(params)
        except ApiError as exc:
            if exc.code == 403:
                self.forbidden.append((method, int(params.get("chat_id", 0))))
            elif exc.code != 429:
                self.problems.append(f"{method}: {exc.description}")
            body: Json = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
            return web.json_response(body, status=exc.code)
        return web.json_response({"ok": True, "result": result})

    async def _fail(self, request: web.Request, method: str, how: str) -> web.Response:
        self.failed_calls.append((method, how))
        if how == "hang":
            await self._closing.wait()
        elif how == "drop":
            assert request.transport is not None
            request.transport.abort()
        body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return web.json_response(body, status=502)

    async def _download(self, request: web.Request) -> web.Response:
        """A file's bytes at the path getFile gave, as Telegram serves them."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        content = self.files.get(request.match_info["path"].removeprefix("documents/"))
        if content is None:
            self.problems.append(f"download of an unknown file {request.match_info['path']}")
            return web.Response(status=404)
        return web.Response(body=content)

    async def _api_getfile(self, params: Json) -> Json:
        file_id = params.get("file_id")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    async def _read_params(self, request: web.Request) -> Json:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            return {**raw, **body}
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = {"filename": value.filename, "content": value.file.read()}
                else:
                    raw[key] = value
        return {key: self._decode(key, value) for key, value in raw.items()}

    @staticmethod
    def _decode(key: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if key in _INT_FIELDS:
            return int(value)
        if key in _FLOAT_FIELDS:
            return float(value)
        if key in _BOOL_FIELDS:
            return json.loads(value)
        if key in _JSON_FIELDS:
            return json.loads(value)
        if key in {"chat_id"}:
            return int(value) if value.lstrip("-").isdigit() else value
        return value

    # ------------------------------------------------------------------ pace
    def _check_pace(self, chat_id: int) -> None:
        now = time.monotonic()
        if self.global_limit_per_second is not None:
            while self._sends_all and now - self._sends_all[0] >= 1.0:
                self._sends_all.popleft()
            if len(self._sends_all) >= self.global_limit_per_second:
                self.rate_limited.append(("global", chat_id))
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if self.group_limit_per_minute is not None and chat_id < 0:
            sends = self._sends_by_chat[chat_id]
            while sends and now - sends[0] >= 60.0:
                sends.popleft()
            if len(sends) >= self.group_limit_per_minute:
                wait = int(60.0 - (now - sends[0])) + 1
                self.rate_limited.append(("group", chat_id))
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
            sends.append(now)
        self._sends_all.append(now)

    # ------------------------------------------------------------------ Bot API methods
    async def _api_getme(self, params: Json) -> Json:
        return self.bot_user

    async def _api_deletewebhook(self, params: Json) -> bool:
        if params.get("drop_pending_updates"):
            self._confirmed = self._next_update_id
            self._updates.clear()
        return True

    async def _api_getwebhookinfo(self, params: Json) -> Json:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_getupdates(self, params: Json) -> list[Json]:
        offset = params.get("offset")
        if offset:
            self._confirm(offset)
        limit = params.get("limit") or 100
        timeout = params.get("timeout") or 0
        deadline = time.monotonic() + timeout
        async with self._new_update:
            while True:
                pending = [u for u in self._updates if u["update_id"] >= self._confirmed]
                if pending or self._closing.is_set():
                    self.served.update(u["update_id"] for u in pending[:limit])
                    if pending and self.on_serve is not None:
                        self.on_serve(pending[:limit])
                    return pending[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._new_update.wait(), remaining)
                except TimeoutError:
                    return []

    def _confirm(self, offset: int) -> None:
        if offset > self._confirmed:
            self._confirmed = offset
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    async def _api_setmycommands(self, params: Json) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise ApiError(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            name = command.get("command", "")
            if not (1 <= len(name) <= 32) or not name.replace("_", "").isalnum():
                raise ApiError(400, f"Bad Request: invalid command name {name!r}")
            if not (1 <= len(command.get("description", "")) <= 256):
                raise ApiError(400, f"Bad Request: bad description for {name!r}")
        scope = params.get("scope") or {"type": "default"}
        self.commands[(scope["type"], params.get("language_code", ""))] = commands
        return True

    async def _api_getchatmember(self, params: Json) -> Json:
        chat = self._chat(params["chat_id"])
        user_id = int(params["user_id"])
        user = self.bot_user if user_id == self.bot_id else self.users.get(user_id)
        if user is None:
            raise ApiError(400, "Bad Request: user not found")
        status = self.statuses.get((chat["id"], user_id), "left")
        member: Json = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    ),
                    False,
                )
            )
            member["can_manage_chat"] = True
        return member

    async def _api_getchat(self, params: Json) -> Json:
        chat = self._chat(params["chat_id"])
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }

    async def _api_sendchataction(self, params: Json) -> bool:
        self._chat(params["chat_id"])
        return True

    def _check_may_write(self, chat: Json) -> None:
        if chat["type"] != "private":
            if self.statuses.get((chat["id"], self.bot_id)) in ("left", "kicked"):
                raise ApiError(403, "Forbidden: bot was kicked from the group chat")
            return
        if chat["id"] in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat["id"] not in self.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    async def _hold(self, chat_id: int) -> None:
        gate = self.held.get(chat_id)
        if gate is not None:
            self.holding.add(chat_id)
            await gate.wait()
            self.holding.discard(chat_id)

    async def _api_sendmessage(self, params: Json) -> Json:
        chat = self._chat(params["chat_id"])
        self._check_may_write(chat)
        await self._hold(chat["id"])
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        self._check_markup(params.get("reply_markup"))
        self._check_private_buttons(params.get("reply_markup"), chat)
        if params.get("parse_mode") == "HTML":
            _check_html(text)
        self._check_pace(chat["id"])
        reply_to = params.get("reply_to_message_id")
        if reply_to is None and isinstance(params.get("reply_parameters"), dict):
            reply_to = params["reply_parameters"].get("message_id")
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=self._next_message_id(chat["id"]),
            text=text,
            reply_markup=params.get("reply_markup"),
            parse_mode=params.get("parse_mode"),
            reply_to_message_id=reply_to,
        )
        await self._record(sent)
        return self._message_json(sent, chat)

    async def _api_editmessagetext(self, params: Json) -> Json:
        sent = self._find_sent(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        self._check_markup(params.get("reply_markup"))
        if params.get("parse_mode") == "HTML":
            _check_html(text)
        if text == sent.text and params.get("reply_markup") == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        sent.history.append((sent.text, sent.reply_markup))
        sent.text = text
        sent.reply_markup = params.get("reply_markup")
        await self._touch()
        return self._message_json(sent, self.chats[sent.chat_id])

    async def _api_editmessagereplymarkup(self, params: Json) -> Json:
        sent = self._find_sent(params)
        self._check_markup(params.get("reply_markup"))
        if params.get("reply_markup") == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        sent.history.append((sent.text, sent.reply_markup))
        sent.reply_markup = params.get("reply_markup")
        await self._touch()
        return self._message_json(sent, self.chats[sent.chat_id])

    async def _api_answercallbackquery(self, params: Json) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self.callback_answers:
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        if self.callback_answers[query_id]:
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        self.callback_answers[query_id] = {
            "text": params.get("text"),
            "show_alert": bool(params.get("show_alert")),
        }
        await self._touch()
        return True

    async def _api_senddocument(self, params: Json) -> Json:
        return await self._send_file(params, "document")

    async def _api_sendphoto(self, params: Json) -> Json:
        return await self._send_file(params, "photo")

    async def _send_file(self, params: Json, kind: str) -> Json:
        chat = self._chat(params["chat_id"])
        self._check_may_write(chat)
        await self._hold(chat["id"])
        upload = params.get(kind)
        if upload is None:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = params.get("caption")
        if caption is not None and len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        self._check_pace(chat["id"])
        number = next(self._file_ids)
        if isinstance(upload, dict):
            content, filename = upload["content"], upload["filename"]
        elif upload in self.bot_files:
            filename, content = self.bot_files[upload]
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if kind == "document":
            meta: Json = {
                "file_id": f"doc{number}",
                "file_unique_id": f"udoc{number}",
                "file_name": filename,
                "file_size": len(content or b""),
            }
        else:
            meta = {
                "file_id": f"photo{number}",
                "file_unique_id": f"uphoto{number}",
                "width": 800,
                "height": 600,
            }
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=self._next_message_id(chat["id"]),
            text=None,
            caption=caption,
            reply_markup=params.get("reply_markup"),
            file_bytes=content,
            document=meta if kind == "document" else None,
            photo=meta if kind == "photo" else None,
        )
        self.bot_files[meta["file_id"]] = (filename, content)
        await self._record(sent)
        body = self._message_json(sent, chat)
        body[kind] = meta if kind == "document" else [meta]
        if caption:
            body["caption"] = caption
        return body

    # ------------------------------------------------------------------ helpers
    def _chat(self, chat_id: Any) -> Json:
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _find_sent(self, params: Json) -> SentMessage:
        chat = self._chat(params.get("chat_id"))
        for sent in self.sent:
            if sent.chat_id == chat["id"] and sent.message_id == params.get("message_id"):
                return sent
        raise ApiError(400, "Bad Request: message to edit not found")

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not (1 <= len(data.encode()) <= MAX_CALLBACK_DATA):
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")

    @staticmethod
    def _check_private_buttons(markup: Any, chat: Json) -> None:
        """A "share my location" keyboard button works only in private chats."""
        if not isinstance(markup, dict) or chat["type"] == "private":
            return
        for row in markup.get("keyboard", []):
            for button in row:
                if isinstance(button, dict) and button.get("request_location"):
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _message_json(self, sent: SentMessage, chat: Json) -> Json:
        body: Json = {
            "message_id": sent.message_id,
            "from": self.bot_user,
            "chat": chat,
            "date": int(self.clock().timestamp()),
        }
        if sent.text is not None:
            body["text"] = sent.text
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            body["reply_markup"] = sent.reply_markup
        return body

    async def _record(self, sent: SentMessage) -> None:
        self.sent.append(sent)
        await self._touch()

    async def _touch(self) -> None:
        async with self._sent_changed:
            self._sent_changed.notify_all()

    # ================================================================== test-side API
    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> Json:
        """A person who uses Telegram; a private chat with the bot comes with them."""
        user: Json = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if last_name:
            user["last_name"] = last_name
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        private: Json = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            private["username"] = username
        self.chats[user_id] = private
        return user

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        members: dict[int, str] | None = None,
        supergroup: bool = False,
    ) -> Json:
        """A group with the bot in it; ``members`` maps user id to Telegram status."""
        chat: Json = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        self.chats[chat_id] = chat
        self.statuses[(chat_id, self.bot_id)] = "member"
        for user_id, status in (members or {}).items():
            self.statuses[(chat_id, user_id)] = status
        return chat

    def start_private(self, user_id: int) -> None:
        """The user opened a private chat with the bot and pressed Start."""
        self.started.add(user_id)

    def set_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Telegram status of a user in a chat: creator, administrator, member, left."""
        self.statuses[(chat_id, user_id)] = status

    async def push_update(self, kind: str, payload: Json) -> int:
        """Queue an update; returns its update_id."""
        async with self._new_update:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, kind: payload})
            self._all_updates[update_id] = self._updates[-1]
            self._new_update.notify_all()
        return update_id

    async def push_raw(self, body: Json) -> int:
        """Queue an update exactly as given (it may be one the bot cannot parse)."""
        async with self._new_update:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({**body, "update_id": update_id})
            self._all_updates[update_id] = self._updates[-1]
            self._new_update.notify_all()
        return update_id

    async def redeliver(self, update_id: int) -> None:
        """Serve an update again although it was confirmed, as Telegram does when the
        confirmation never reached it."""
        async with self._new_update:
            if all(u["update_id"] != update_id for u in self._updates):
                self._updates.append(self._all_updates[update_id])
                self._updates.sort(key=lambda u: u["update_id"])
            self._confirmed = min(self._confirmed, update_id)
            self._new_update.notify_all()

    def _new_message(self, chat_id: int, user_id: int, date: datetime | None) -> Json:
        if chat_id not in self.chats:
            raise KeyError(f"unknown chat {chat_id}; add it first")
        if chat_id == user_id:
            self.started.add(user_id)  # writing to the bot opens the private chat
        return {
            "message_id": self._next_message_id(chat_id),
            "from": self.users[user_id],
            "chat": self.chats[chat_id],
            "date": int((date or self.clock()).timestamp()),
        }

    async def send_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        date: datetime | None = None,
        reply_to: Json | None = None,
        as_group: bool = False,
    ) -> Json:
        """A user writes ``text`` in a chat; a leading /command gets its entity. With
        ``as_group`` an anonymous admin posts it, as Telegram shows that: from
        GroupAnonymousBot with the group as ``sender_chat``."""
        message = self._new_message(chat_id, user_id, date)
        message["text"] = text
        if as_group:
            message["from"] = ANONYMOUS_ADMIN
            message["sender_chat"] = self.chats[chat_id]
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        await self.push_update("message", message)
        return message

    async def send_location(
        self,
        chat_id: int,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        live_period: int | None = None,
        horizontal_accuracy: float | None = None,
        forward_from: int | None = None,
        date: datetime | None = None,
    ) -> Json:
        """A user shares a location: static, live (``live_period``) or forwarded."""
        message = self._new_message(chat_id, user_id, date)
        location: Json = {"latitude": latitude, "longitude": longitude}
        if live_period is not None:
            location["live_period"] = live_period
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        message["location"] = location
        if forward_from is not None:
            message["forward_origin"] = {
                "type": "user",
                "sender_user": self.users[forward_from],
                "date": message["date"] - 3600,
            }
        await self.push_update("message", message)
        return message

    async def send_venue(
        self, chat_id: int, user_id: int, latitude: float, longitude: float, title: str
    ) -> Json:
        """A user shares a venue (a place picked on a map)."""
        message = self._new_message(chat_id, user_id, None)
        location = {"latitude": latitude, "longitude": longitude}
        message["location"] = location
        message["venue"] = {"location": location, "title": title, "address": title}
        await self.push_update("message", message)
        return message

    async def edit_live_location(
        self,
        message: Json,
        latitude: float,
        longitude: float,
        *,
        horizontal_accuracy: float | None = None,
        edit_date: datetime | None = None,
    ) -> Json:
        """A live location moves: Telegram sends the same message as ``edited_message``."""
        edited = dict(message)
        location: Json = {**message["location"], "latitude": latitude, "longitude": longitude}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = horizontal_accuracy
        edited["location"] = location
        edited["edit_date"] = int((edit_date or self.clock()).timestamp())
        await self.push_update("edited_message", edited)
        return edited

    def _user_file(self, prefix: str) -> tuple[str, str]:
        number = next(self._file_ids)
        return f"user{prefix}{number}", f"uuser{prefix}{number}"

    @staticmethod
    def _caption(message: Json, caption: str | None) -> None:
        if caption is None:
            return
        message["caption"] = caption
        if caption.startswith("/"):
            length = len(caption.split()[0])
            message["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": length}]

    async def send_photo(
        self,
        chat_id: int,
        user_id: int,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        reply_to: Json | None = None,
    ) -> Json:
        """A user sends a photo: Telegram gives it in several sizes, the largest last. An album
        is several such messages sharing ``media_group_id``, the caption on the first."""
        message = self._new_message(chat_id, user_id, None)
        file_id, unique_id = self._user_file("photo")
        # Telegram lets a bot send on a photo a user sent it, by the photo's file id.
        self.bot_files[file_id] = ("photo.jpg", b"\xff\xd8" + file_id.encode())
        message["photo"] = [
            {
                "file_id": f"{file_id}s",
                "file_unique_id": f"{unique_id}s",
                "width": 90,
                "height": 67,
            },
            {"file_id": file_id, "file_unique_id": unique_id, "width": 1280, "height": 960},
        ]
        self._caption(message, caption)
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        await self.push_update("message", message)
        return message

    async def send_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> Json:
        """A user sends a file; the bot can fetch it back with getFile."""
        message = self._new_message(chat_id, user_id, None)
        file_id, unique_id = self._user_file("doc")
        self.files[file_id] = content
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        self._caption(message, caption)
        await self.push_update("message", message)
        return message

    async def edit_caption(self, message: Json, caption: str) -> Json:
        """A user edits the caption of a photo or file they sent."""
        edited = {**message, "edit_date": int(self.clock().timestamp())}
        self._caption(edited, caption)
        await self.push_update("edited_message", edited)
        return edited

    async def edit_text(self, message: Json, text: str) -> Json:
        """A user edits a text message they sent."""
        edited = {**message, "text": text, "edit_date": int(self.clock().timestamp())}
        await self.push_update("edited_message", edited)
        return edited

    async def press_button(self, user_id: int, sent: SentMessage, data: str) -> str:
        """A user presses an inline button of a message the bot sent; returns the query id."""
        query_id = str(next(self._callback_ids))
        self.callback_answers[query_id] = {}
        message = self._message_json(sent, self.chats[sent.chat_id])
        await self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": self.users[user_id],
                "message": message,
                "chat_instance": str(sent.chat_id),
                "data": data,
            },
        )
        return query_id

    async def migrate_group(self, chat_id: int, new_chat_id: int, user_id: int) -> None:
        """The group becomes a supergroup with a new id, as Telegram announces it."""
        old = self.chats[chat_id]
        new: Json = {"id": new_chat_id, "type": "supergroup", "title": old["title"]}
        self.chats[new_chat_id] = new
        for (chat, user), status in list(self.statuses.items()):
            if chat == chat_id:
                self.statuses[(new_chat_id, user)] = status
        old_message = self._new_message(chat_id, user_id, None)
        old_message["migrate_to_chat_id"] = new_chat_id
        self.migrated[chat_id] = new_chat_id
        new_message = self._new_message(new_chat_id, user_id, None)
        new_message["migrate_from_chat_id"] = chat_id
        await self.push_update("message", old_message)
        await self.push_update("message", new_message)

    # ------------------------------------------------------------------ reading
    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    async def wait_for(
        self,
        predicate: Callable[[SentMessage], bool],
        *,
        after: int = 0,
        timeout: float = 10.0,
    ) -> SentMessage:
        """The first message the bot sent (from index ``after`` on) that matches."""

        def find() -> SentMessage | None:
            return next((m for m in self.sent[after:] if predicate(m)), None)

        async with self._sent_changed:
            try:
                await asyncio.wait_for(
                    self._sent_changed.wait_for(lambda: find() is not None), timeout
                )
            except TimeoutError:
                seen = [(m.chat_id, m.text) for m in self.sent[after:]]
                raise AssertionError(f"no matching message from the bot; it sent {seen}") from None
        found = find()
        assert found is not None
        return found

    async def wait_until(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        """Until ``check()`` holds over what the bot has sent (re-checked on every call)."""
        async with self._sent_changed:
            try:
                await asyncio.wait_for(self._sent_changed.wait_for(check), timeout)
            except TimeoutError:
                seen = [(m.chat_id, m.text) for m in self.sent[-5:]]
                raise AssertionError(f"condition never held; last sent {seen}") from None

    async def wait_answer(self, query_id: str, timeout: float = 10.0) -> Json:
        """How the bot answered a button press."""
        async with self._sent_changed:
            try:
                await asyncio.wait_for(
                    self._sent_changed.wait_for(lambda: bool(self.callback_answers[query_id])),
                    timeout,
                )
            except TimeoutError:
                raise AssertionError(f"callback query {query_id} was never answered") from None
        return self.callback_answers[query_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def last_update_id(self) -> int:
        """The id of the update queued last."""
        return self._next_update_id - 1

    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len([u for u in self._updates if u["update_id"] >= self._confirmed])
