"""Timed jobs on python-telegram-bot's JobQueue (APScheduler 3). Each job is named, runs for
every team at once, and derives what is due from the database, so a restart loses nothing:

- ``remind:plan`` plans the reminders whose time has come in each team's time zone;
- ``digest:plan`` plans the weekly digests and monthly compliance reports that fell due
  (including ones missed while the bot was down, which then say they are late);
- both hand the planned messages to the deliverer (:mod:`bot.deliverer`), which sends
  each once;
- ``spot:tick`` plans each week's scheduled spot checks, starts those whose moment has
  come, and closes every check whose deadline has passed (once, whatever restarts between);
- ``leave:sweep`` reminds approvers of waiting leave and flags missing returns;
- ``problems:sweep`` moves a problem past its colour's deadline up one level (at the county,
  flags it), telling both levels;
- ``recalls:sweep`` tells the county (and the unit) once a day of a recall whose replacement
  is overdue;
- ``wire:prune`` forgets handled updates after two days and sent messages after a month.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.config import Settings
from bot.context import CunbotContext
from handlers import problem_list as problem_handlers
from handlers import units as unit_handlers
from scheduler import leave
from services import problem_list, units
from services.delivery import prune_wire
from services.digest import plan_digests
from services.reminders import plan_reminders
from services.spotchecks import spot_tick

log = logging.getLogger(__name__)


async def plan_reminders_job(context: CunbotContext) -> None:
    planned = await plan_reminders(context.store, context.now())
    if planned:
        log.info("planned %d reminders", planned)
    context.deliverer.kick()


async def plan_digests_job(context: CunbotContext) -> None:
    planned = await plan_digests(context.store, context.now())
    if planned:
        log.info("planned %d digests", planned)
    context.deliverer.kick()


async def spot_tick_job(context: CunbotContext) -> None:
    if await spot_tick(context.store, context.now(), context.rng):
        context.deliverer.kick()


async def problems_sweep_job(context: CunbotContext) -> None:
    async with context.store.unit():
        moved = await problem_list.sweep(context.store, context.now(), context.settings.lang)
        for step in moved:
            await problem_handlers.tell(context, step)
    if moved:
        log.info("%d problems moved up or flagged by their deadlines", len(moved))


async def recalls_sweep_job(context: CunbotContext) -> None:
    async with context.store.unit():
        flagged = await units.recall_sweep(context.store, context.now(), context.settings.lang)
        for step in flagged:
            await unit_handlers.tell(context, step)
    if flagged:
        log.info("%d recalls past their deadline flagged to their counties", len(flagged))


async def prune_wire_job(context: CunbotContext) -> None:
    inbox, sent = await prune_wire(context.store, context.now())
    if inbox or sent:
        log.info("forgot %d handled updates and %d sent messages", inbox, sent)


def schedule_all(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    # The first round soon after start: what fell due while the bot was down goes out then.
    every = timedelta(seconds=settings.sweep_seconds)
    queue.run_repeating(
        leave.sweep_leave,
        interval=every,
        first=min(every, timedelta(seconds=2)),
        name="leave:sweep",
    )
    queue.run_repeating(
        problems_sweep_job,
        interval=every,
        first=min(every, timedelta(seconds=2)),
        name="problems:sweep",
    )
    queue.run_repeating(
        recalls_sweep_job,
        interval=every,
        first=min(every, timedelta(seconds=2)),
        name="recalls:sweep",
    )
    tick = timedelta(seconds=settings.tick_seconds)
    first = min(tick, timedelta(seconds=1))
    queue.run_repeating(plan_reminders_job, interval=tick, first=first, name="remind:plan")
    queue.run_repeating(plan_digests_job, interval=tick, first=first, name="digest:plan")
    queue.run_repeating(spot_tick_job, interval=tick, first=first, name="spot:tick")
    queue.run_repeating(prune_wire_job, interval=timedelta(hours=1), first=60, name="wire:prune")
