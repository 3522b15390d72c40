"""``/spotcheck``: a coordinator or admin, privately, has members asked where they are now.
The questions, the summary and late answers' notes go out through the deliverer."""

from __future__ import annotations

from functools import partial

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import NEW_MESSAGES, ask_service
from rules.checkin import local_moment
from services import spotchecks
from services.org import team_label
from services.spotchecks import Ordered


async def spotcheck(update: Update, context: CunbotContext) -> None:
    """``/spotcheck [team code|township] [n] [minutes] [@member …]``."""
    found = await ask_service(
        update, context, partial(spotchecks.order_spot_check, rng=context.rng)
    )
    if found is not None:
        context.deliverer.kick()
        await context.reply(update, ordered_text(await context.lang(update), found))


def ordered_text(lang: str, ordered: Ordered) -> str:
    check = ordered.check
    tz = next(iter(ordered.teams.values())).tz
    names = t(lang, "sep.list").join(
        t(
            lang,
            "spot.ordered.name",
            name=p.person.display_name,
            team=team_label(ordered.teams[p.team_id]),
        )
        for p in ordered.picks
    )
    minutes = round((check.deadline - check.asked_at).total_seconds() / 60)
    lines = [
        t(
            lang,
            "spot.ordered",
            id=check.id,
            area=check.area_name,
            names=names,
            deadline=local_moment(check.deadline, tz).strftime("%H:%M"),
            minutes=minutes,
        )
    ]
    group = sum(1 for p in ordered.picks if p.chat_id < 0)
    if group:
        lines.append(t(lang, "spot.ordered.in_group", n=group))
    if len(ordered.picks) < ordered.wanted:
        lines.append(
            t(
                lang,
                "spot.ordered.fewer",
                n=len(ordered.picks),
                wanted=ordered.wanted,
                on_leave=ordered.on_leave,
                no_site=ordered.no_site,
            )
        )
    lines.append(t(lang, "spot.ordered.then"))
    return "\n".join(lines)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("spotcheck", spotcheck, filters=NEW_MESSAGES))
