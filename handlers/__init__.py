"""Telegram updates in, replies out. Each capability has one module with ``register(app)``;
this is the order they see an update in."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    checkins,
    digest,
    leave,
    logs,
    membership,
    problem_list,
    requests,
    sites,
    spotchecks,
    system,
    team,
    units,
)


def register_all(app: Application) -> None:
    system.register_first(app)
    team.register(app)
    membership.register(app)
    sites.register(app)
    checkins.register(app)
    digest.register(app)
    spotchecks.register(app)
    problem_list.register(app)  # before logs: a #问题 line is a problem, never a log
    units.register(app)  # likewise a #简报 line is a brief
    logs.register(app)  # before leave: its dialogue reads any typed text
    leave.register(app)
    requests.register(app)
    system.register_last(app)
