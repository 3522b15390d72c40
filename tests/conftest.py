"""Fixtures: the offline Bot API server, a controllable clock, and the real bot started through
the same ``serve()`` as ``cunbot run``, on a real SQLite file, talking only over HTTP."""

from __future__ import annotations

import os

# Opt in to what PTB 23 will do (timedelta durations), so nothing breaks on the upgrade.
os.environ.setdefault("PTB_TIMEDELTA", "1")

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.app import serve
from bot.config import Settings, load_settings
from storage.base import Tx
from storage.models import Role, WireView
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer, Json, SentMessage

T = TypeVar("T")

# What tests/test_fuzz.py tried, summed into the run's last lines.
FUZZ_TRIED = pytest.StashKey[list[list[int]]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    runs = config.stash.get(FUZZ_TRIED, [])
    if runs:
        tried = sum(sum(run) for run in runs)
        terminalreporter.write_line(f"fuzz: {tried} generated updates thrown at the bot")


GROUP = -100123
LEADER = 1001  # created the group: a Telegram group admin
MEMBER = 1002
MEMBER2 = 1003
OUTSIDER = 1004  # in the group, holds no role
ADMIN = 1005  # a county admin, not in the group

# An organisation import: Huize county, Shangba (HZ-001) in Dahai township, Xiaba (HZ-002) in Leju.
HEADER = "county,township,team_code,village,tz,site_name,latitude,longitude,radius_m\n"
GOOD = HEADER + (
    "Huize,Dahai,HZ-001,Shangba,,Village office,25.5,103.2,\n"
    "Huize,Dahai,HZ-001,Shangba,,School,25.51,103.21,150\n"
    "Huize,Leju,HZ-002,Xiaba,Asia/Shanghai,Office,25.6,103.3,200\n"
)


class FakeClock:
    """A clock the test moves by hand; the bot and the server read the same one."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[BotApiServer]:
    api = BotApiServer(clock=clock)
    await api.start()
    yield api
    await api.stop()


class BotHarness:
    """Starts, stops and restarts the bot; sends what users do and waits for the answers."""

    def __init__(self, server: BotApiServer, settings: Settings, clock: FakeClock) -> None:
        self.server = server
        self.settings = settings
        self.clock = clock
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        polls_before = self._polls()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(self.settings, self._stop, self.clock))
        deadline = time.monotonic() + 10
        # Ready when it polls: the store is open and every handler is registered by then.
        while self._polls() == polls_before:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise AssertionError("the bot never polled for updates")
            await asyncio.sleep(0.01)

    def _polls(self) -> int:
        return sum(1 for call in self.server.calls if call.method == "getUpdates")

    async def stop(self) -> None:
        if self._stop is not None and self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, 15)
            self._stop = self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def say(self, chat_id: int, user_id: int, text: str) -> SentMessage:
        """A user writes in a chat; the bot's answer to it (in groups the bot quotes the
        message it answers, so an earlier update's late reply is never mistaken for it)."""
        mark = len(self.server.sent)
        sent = await self.server.send_text(chat_id, user_id, text)
        message_id = sent["message_id"]
        # In a group a reminder posted meanwhile (quoting nothing) is not the answer.
        quoting = (message_id,) if chat_id < 0 else (None, message_id)
        return await self.server.wait_for(
            lambda m: m.chat_id == chat_id and m.reply_to_message_id in quoting,
            after=mark,
        )

    async def expect(self, action: Callable[[], Any], chat_id: int, about: str = "") -> SentMessage:
        """Run a server-side action (a location, an edit…) and wait for the bot's reply (its
        first message there that holds ``about``: a scheduled note may come first)."""
        mark = len(self.server.sent)
        sent = await action()
        # A message the action sent is answered by a reply to it; anything else is not it.
        quoted = sent.get("message_id") if isinstance(sent, dict) else None
        return await self.server.wait_for(
            lambda m: m.chat_id == chat_id and (quoted is None or m.reply_to_message_id == quoted),
            after=mark,
        )

    async def settled(self, timeout: float = 75.0) -> None:
        """Every update received is handled and the outbox is empty (nothing due, nothing on
        the wire): what the server recorded is what the bot's ledger says it sent. The wait
        outlasts a group's pace (a 21st answer in a minute waits the minute out): a settled
        bot returns at once, so only a test that would otherwise fail waits longer."""

        async def view(tx: Tx) -> WireView:
            return await tx.wire_view(self.clock())

        deadline = time.monotonic() + timeout
        while True:
            seen = await in_store(self.settings, self.clock, view)
            if seen.waiting == 0 and not seen.outbox.get("sending") and not seen.outbox.get("due"):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot never settled: {seen}")
            await asyncio.sleep(0.02)

    async def barrier(self, chat_id: int, user_id: int) -> None:
        """Every update sent before this one has been handled (updates run in order)."""
        assert chat_id < 0, "a barrier needs a group, where answers quote their message"
        mark = len(self.server.sent)
        sent = await self.server.send_text(chat_id, user_id, "/help")
        await self.server.wait_for(
            lambda m: m.chat_id == chat_id and m.reply_to_message_id == sent["message_id"],
            after=mark,
        )


async def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    """Run ``cunbot`` in its own process as an operator would, on the test's database."""
    env = {
        **os.environ,
        "CUNBOT_DATABASE": settings.database,
        "CUNBOT_LANG": settings.lang,
        "CUNBOT_API_URL": settings.api_url,
    }
    env.pop("CUNBOT_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def invite_code(bot: BotHarness, *args: str) -> str:
    """The /start payload of a fresh invite that ``cunbot invite`` printed."""
    saved = bot.clock.current
    bot.clock.current = datetime.now(UTC)  # the CLI stamps invites with the wall clock
    code, out, err = await run_cli(bot.settings, "invite", *args, "--bot-username", "cunbot_bot")
    bot.clock.current = saved
    assert code == 0, err
    return out.strip().splitlines()[-1].split("start=", 1)[1]


@pytest.fixture
def settings(server: BotApiServer, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "CUNBOT_TOKEN": server.token,
            "CUNBOT_API_URL": server.url,
            "CUNBOT_DATABASE": str(tmp_path / "cunbot.db"),
            "CUNBOT_LANG": "en",
            "CUNBOT_POLL_TIMEOUT": "2",
        }
    )


@dataclass
class World:
    server: BotApiServer
    bot: BotHarness


@pytest.fixture
async def bot(
    server: BotApiServer, settings: Settings, clock: FakeClock
) -> AsyncIterator[BotHarness]:
    server.add_user(LEADER, "Li", username="li_leader")
    server.add_user(MEMBER, "Wang", username="wang")
    server.add_user(MEMBER2, "Zhao")
    server.add_user(OUTSIDER, "Sun")
    server.add_user(ADMIN, "Chen", username="chen_admin")
    server.add_group(
        GROUP,
        "Shangba village team",
        members={LEADER: "creator", MEMBER: "member", MEMBER2: "member", OUTSIDER: "member"},
    )
    harness = BotHarness(server, settings, clock)
    await harness.start()
    yield harness
    await harness.stop()
    # Anything the real Telegram would have refused fails the test that caused it.
    assert server.problems == [], server.problems
    assert server.rate_limited == [], server.rate_limited


@pytest.fixture
async def team(bot: BotHarness) -> BotHarness:
    """A group set up as the team of Shangba, with one site and two members."""
    reply = await bot.say(GROUP, LEADER, "/setup Shangba")
    assert "set up" in (reply.text or "")
    await bot.say(GROUP, LEADER, "/site add Village office 25.5 103.2 300")
    await bot.say(GROUP, MEMBER, "/join")
    await bot.say(GROUP, MEMBER2, "/join")
    return bot


# ---------------------------------------------------------------------- a county
COORD = 1006
COORD2 = 1007


async def grant(settings: Settings, clock: FakeClock, user_id: int, name: str, role: Role) -> None:
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            person = await tx.upsert_person(user_id, name, None, None, None, clock())
            await tx.grant_role(person.id, role, clock(), None)
    finally:
        await store.close()


async def township_id(settings: Settings, clock: FakeClock, township: str, county: str) -> int:
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            [found] = await tx.find_townships(township, county)
            return found.id
    finally:
        await store.close()


async def press_start(bot: BotHarness, server: BotApiServer, user_id: int) -> None:
    """The user opens a private chat with the bot and presses Start: from then on the bot
    knows it may write to them there."""
    server.start_private(user_id)
    # Seeded, as the roles are: the reply to a real Start would sit in every test's transcript.
    await in_store(bot.settings, bot.clock, lambda tx: tx.note_private(user_id, bot.clock()))


@pytest.fixture
async def county(bot: BotHarness, server: BotApiServer, tmp_path: Path) -> BotHarness:
    """Shangba in Dahai township, Huize county, with its approvers, who started the bot."""
    csv = tmp_path / "org.csv"
    csv.write_text(GOOD)
    assert (await run_cli(bot.settings, "import", str(csv)))[0] == 0
    assert "team of Shangba" in (await bot.say(GROUP, LEADER, "/setup HZ-001")).content
    await bot.say(GROUP, MEMBER, "/join")
    await bot.say(GROUP, MEMBER2, "/join")
    dahai = await township_id(bot.settings, bot.clock, "Dahai", "Huize")
    server.add_user(COORD, "Zhang")
    server.add_user(COORD2, "Zhou")
    for user_id, name in ((COORD, "Zhang"), (COORD2, "Zhou")):
        await grant(bot.settings, bot.clock, user_id, name, Role("coordinator", township_id=dahai))
        await press_start(bot, server, user_id)
    store = await SqliteStore.open(bot.settings.database, bot.clock())
    try:
        async with store.transaction() as tx:
            huize = await tx.get_county("Huize")
            assert huize is not None
    finally:
        await store.close()
    await grant(bot.settings, bot.clock, ADMIN, "Chen", Role("admin", county_id=huize.id))
    await press_start(bot, server, ADMIN)
    return bot


async def ask(server: BotApiServer, chat_id: int, user_id: int, text: str) -> SentMessage:
    """The bot's reply to this very message (not a notice posted meanwhile)."""
    mark = len(server.sent)
    sent = await server.send_text(chat_id, user_id, text)
    return await server.wait_for(
        lambda m: m.chat_id == chat_id and m.reply_to_message_id == sent["message_id"], after=mark
    )


async def in_store(settings: Settings, clock: FakeClock, work: Callable[[Tx], Awaitable[T]]) -> T:
    """Read or seed the bot's database directly, through the store, as an operator would."""
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            return await work(tx)
    finally:
        await store.close()


async def events_of(settings: Settings, clock: FakeClock, prefix: str = "leave.") -> list[str]:
    store = await SqliteStore.open(settings.database, clock())
    try:
        async with store.transaction() as tx:
            return [e.kind for e in await tx.events() if e.kind.startswith(prefix)]
    finally:
        await store.close()


async def press(server: BotApiServer, user_id: int, message: SentMessage, data: str) -> Json:
    return await server.wait_answer(await server.press_button(user_id, message, data))
