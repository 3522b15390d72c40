"""``cunbot run`` as a real process over the offline server, killed at chosen moments: the
scenario behind ``tests/test_crash.py`` and ``bench/crash.py``.

A team of a leader and three members; a burst of work logs in the group, check-ins and work
logs in private chats and leave requests, then presses of the requests' cancel buttons. The
process is killed with SIGKILL when a batch of updates has just left the server, when the bot
confirms one, while an answer is on the wire, or at a random moment; started again; and at the
end every message is looked up in the bot's database and in what the server received.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.models import WireView
from storage.sqlite import SqliteStore
from tests.botapi_server import BotApiServer, Json, SentMessage

GROUP = -100123
LEADER = 1001
MEMBERS = (1002, 1003, 1004)
NEAR = (25.5009, 103.2)
LIVE: Json = {"live_period": 28800, "horizontal_accuracy": 12.0}
MOMENTS = ("served", "confirming", "sending", "random")


@dataclass
class Tally:
    """What became of what the users sent."""

    sent: int = 0  # messages and button presses
    stored_once: int = 0
    lost: int = 0  # never in the database
    duplicated: int = 0  # in the database more than once
    answered: int = 0
    answered_twice: int = 0
    unanswered: int = 0
    uncertain: int = 0  # answers on the wire at a kill: counted, not sent again
    kills: int = 0

    def line(self) -> str:
        return (
            f"sent {self.sent} · stored once {self.stored_once} · lost {self.lost} · "
            f"duplicated {self.duplicated} · answered twice {self.answered_twice} · "
            f"unanswered {self.unanswered} (uncertain {self.uncertain}) · kills {self.kills}"
        )


@dataclass
class _Sent:
    kind: str  # 'log', 'checkin', 'leave', 'press'
    chat_id: int
    message: Json
    query_id: str | None = None
    request: int | None = None


@dataclass
class CrashRun:
    server: BotApiServer
    workdir: Path
    seed: int = 1
    process: asyncio.subprocess.Process | None = None
    sent: list[_Sent] = field(default_factory=list)
    kills: int = 0

    def __post_init__(self) -> None:
        self.database = self.workdir / "cunbot.db"
        self.logfile = self.workdir / "bot.log"
        self.random = random.Random(self.seed)

    # ------------------------------------------------------------------ the process
    async def start(self) -> None:
        polls = len(self.server.calls_to("getUpdates"))
        env = {
            **os.environ,
            "CUNBOT_TOKEN": self.server.token,
            "CUNBOT_API_URL": self.server.url,
            "CUNBOT_DATABASE": str(self.database),
            "CUNBOT_LANG": "en",
            "CUNBOT_POLL_TIMEOUT": "1",
        }
        with self.logfile.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while len(self.server.calls_to("getUpdates")) == polls:
            if self.process.returncode is not None:
                raise AssertionError(f"cunbot run exited: {self.logfile.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("cunbot run never polled")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            self.kills += 1

    async def cli(self, *args: str, lang: str = "en") -> str:
        """``cunbot`` run by an operator on the bot's database; what it printed."""
        env = {**os.environ, "CUNBOT_DATABASE": str(self.database), "CUNBOT_LANG": lang}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        return out.decode()

    async def dead(self, within: float = 30.0) -> None:
        """Until the armed kill has happened (it fails if the moment never came)."""
        if self.process is not None:
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                raise AssertionError("the bot was never killed: the moment never came") from None

    async def terminate(self, within: float) -> int:
        """SIGTERM, as systemd stops it; fails unless the process exits ``within`` seconds.
        Its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), within)

    def arm(self, moment: str, after: int = 1) -> None:
        """Kill the process at the ``after``-th such moment from now."""
        left = [after]

        def due() -> bool:
            left[0] -= 1
            return left[0] == 0

        loop = asyncio.get_running_loop()

        def served(_: list[Json]) -> None:  # on its way to the bot, not yet stored
            if due():
                loop.call_later(0.002, self.kill)

        def called(method: str, params: Json) -> None:
            confirming = method == "getUpdates" and bool(params.get("offset"))
            # An answer that reached Telegram, before the bot hears that it did.
            sending = method in ("sendMessage", "answerCallbackQuery")
            if (confirming if moment == "confirming" else sending) and due():
                self.kill()

        self.disarm()
        if moment == "served":
            self.server.on_serve = served
        elif moment in ("confirming", "sending"):
            self.server.on_call = called
        else:
            loop.call_later(self.random.uniform(0.05, 1.5), self.kill)

    def disarm(self) -> None:
        self.server.on_call = self.server.on_serve = None

    # ------------------------------------------------------------------ the team
    async def set_up(self) -> None:
        server = self.server
        server.add_user(LEADER, "Li", username="li_leader")
        for n, member in enumerate(MEMBERS):
            server.add_user(member, ["Wang", "Zhao", "Sun"][n])
        server.add_group(
            GROUP,
            "Shangba team",
            members={LEADER: "creator", **dict.fromkeys(MEMBERS, "member")},
        )
        server.set_status(GROUP, server.bot_id, "administrator")
        await self.start()
        for chat, user, text in [
            (GROUP, LEADER, "/setup Shangba"),
            (GROUP, LEADER, f"/site add Village office {NEAR[0]} {NEAR[1]} 300"),
            *[(GROUP, m, "/join") for m in MEMBERS],
            *[(m, m, "/start") for m in (LEADER, *MEMBERS)],
        ]:
            await self._answered(chat, await server.send_text(chat, user, text))

    async def _answered(self, chat_id: int, message: Json) -> SentMessage:
        return await self.server.wait_for(
            lambda m: m.chat_id == chat_id and m.reply_to_message_id == message["message_id"],
            timeout=30,
        )

    # ------------------------------------------------------------------ what users do
    async def burst(self, count: int) -> None:
        """Logs in the group, check-ins, logs and leave requests privately, all at once."""
        server = self.server
        today = datetime.now(UTC).date()
        for i in range(count):
            member = MEMBERS[i % len(MEMBERS)]
            kind = ("log", "checkin", "private-log", "leave")[i % 4]
            if kind == "log":
                message = await server.send_text(GROUP, member, f"#log 走访农户 {i}")
                self.sent.append(_Sent("log", GROUP, message))
            elif kind == "checkin":
                message = await server.send_location(member, member, *NEAR, **LIVE)
                self.sent.append(_Sent("checkin", member, message))
            elif kind == "private-log":
                message = await server.send_text(member, member, f"#log 整理台账 {i}")
                self.sent.append(_Sent("log", member, message))
            else:
                first = today + timedelta(days=20 + 2 * i)
                text = f"/leave {first} {first} sick checkup {i}"
                message = await server.send_text(member, member, text)
                self.sent.append(_Sent("leave", member, message))
            await asyncio.sleep(0.005)

    async def group_logs(self, count: int) -> None:
        """The members write ``count`` work logs in the group, one after the other."""
        for i in range(count):
            member = MEMBERS[i % len(MEMBERS)]
            message = await self.server.send_text(GROUP, member, f"#log 入户走访 {i}")
            self.sent.append(_Sent("log", GROUP, message))

    async def press_cancels(self) -> int:
        """Each member presses the cancel button of each leave request they were answered."""
        pressed = 0
        for item in [s for s in self.sent if s.kind == "leave"]:
            replies = [
                m
                for m in self.server.sent
                if m.chat_id == item.chat_id and m.reply_to_message_id == item.message["message_id"]
            ]
            found = re.search(r"Leave #(\d+)", replies[0].content) if replies else None
            if found is None:
                continue
            request = int(found.group(1))
            query = await self.server.press_button(item.chat_id, replies[0], f"v1:lv:{request}:c")
            self.sent.append(_Sent("press", item.chat_id, item.message, query, request))
            pressed += 1
        return pressed

    # ------------------------------------------------------------------ the reckoning
    async def _view(self) -> WireView:
        store = await SqliteStore.open(str(self.database), datetime.now(UTC))
        try:
            async with store.transaction() as tx:
                return await tx.wire_view(datetime.now(UTC))
        finally:
            await store.close()

    async def backlog(self) -> int:
        """Updates and answers the bot has yet to handle or send."""
        view = await self._view()
        return view.waiting + view.outbox.get("due", 0) + view.outbox.get("sending", 0)

    async def settle(self, timeout: float = 60.0) -> None:
        """Until the bot has handled every update and sent everything it will send."""
        deadline = time.monotonic() + timeout
        while True:
            view = await self._view()
            busy = view.outbox.get("due", 0) + view.outbox.get("sending", 0)
            if self.server.pending_updates() == 0 and view.waiting == 0 and busy == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"never settled: {view}")
            await asyncio.sleep(0.1)

    async def tally(self) -> Tally:
        store = await SqliteStore.open(str(self.database), datetime.now(UTC))
        try:
            async with store.transaction() as tx:
                checkins = Counter(
                    (c.chat_id, c.message_id)
                    for c in await tx.export_checkins(date(2020, 1, 1), date(2100, 1, 1))
                )
                uncertain = len(await tx.outbox_rows(state="uncertain"))
                result = Tally(uncertain=uncertain, kills=self.kills)
                for item in self.sent:
                    copies = await self._copies(tx, item, checkins)
                    answers = self._answers(item)
                    result.sent += 1
                    result.stored_once += copies == 1
                    result.lost += copies == 0
                    result.duplicated += copies > 1
                    result.answered += answers >= 1
                    result.answered_twice += answers > 1
                    result.unanswered += answers == 0
        finally:
            await store.close()
        return result

    async def _copies(self, tx: Any, item: _Sent, checkins: Counter[tuple[int, int]]) -> int:
        mid = item.message["message_id"]
        if item.kind == "checkin":
            return checkins[(item.chat_id, mid)]
        if item.kind == "log":
            return int(await tx.log_of_message(item.chat_id, mid) is not None)
        if item.kind == "leave":
            person = await tx.get_person_by_tg(item.chat_id)
            states = ("pending", "approved", "rejected", "cancelled")
            reason = item.message["text"].split("sick ", 1)[1]
            mine = await tx.person_leave(person.id, states, 10_000) if person else []
            return sum(1 for r in mine if r.reason == reason)
        return sum(
            1
            for e in await tx.events(kind="leave.cancelled")
            if e.data.get("request_id") == item.request
        )

    def _answers(self, item: _Sent) -> int:
        if item.kind == "press":
            return sum(
                1
                for c in self.server.calls_to("answerCallbackQuery")
                if c.params.get("callback_query_id") == item.query_id
            )
        return sum(
            1
            for m in self.server.sent
            if m.chat_id == item.chat_id and m.reply_to_message_id == item.message["message_id"]
        )
