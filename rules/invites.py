"""Role invites: single-use codes that expire."""

from __future__ import annotations

import re
from datetime import datetime

from rules.problems import Problem
from storage.models import Invite

# Telegram's /start payload: up to 64 of A-Z a-z 0-9 _ -
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PREFIX = "inv_"


def invite_problem(invite: Invite | None, now: datetime) -> Problem | None:
    if invite is None:
        return Problem("invite.err.unknown")
    if invite.used_at is not None:
        return Problem("invite.err.used")
    if invite.expires_at <= now:
        return Problem("invite.err.expired")
    return None


def start_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"
