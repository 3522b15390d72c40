"""Timed jobs on python-telegram-bot's JobQueue (APScheduler 3). Each job is named, runs for
every team at once, and derives what is due from the database, so a restart loses nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.config import Settings
from scheduler import leave


def schedule_all(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    queue = app.job_queue
    if queue is None:
        raise RuntimeError("the job queue is missing: install python-telegram-bot[job-queue]")
    every = timedelta(seconds=settings.sweep_seconds)
    # The first sweep soon after start: what fell due while the bot was down goes out then.
    queue.run_repeating(
        leave.sweep_leave,
        interval=every,
        first=min(every, timedelta(seconds=2)),
        name="leave:sweep",
    )
