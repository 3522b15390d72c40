"""Attendance sites: /site add|list|remove, and a shared location completing /site add <name>."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import CunbotContext
from bot.i18n import t
from handlers.common import (
    NEW_MESSAGES,
    in_group,
    message_of,
    reply,
    reply_problem,
    site_text,
    tg_user,
)
from rules.geo import parse_site_add
from rules.problems import Problem
from services import org
from services.org import SiteResult


async def site(update: Update, context: CunbotContext) -> None:
    """Manage the team's attendance sites (leaders and admins)."""
    if not in_group(update):
        await reply(update, context, "site.err.private")
        return
    args = context.args or []
    action, rest = (args[0].lower(), args[1:]) if args else ("", [])
    user, chat_id, now = tg_user(update), message_of(update).chat_id, context.now()
    if action == "add":
        spec = parse_site_add(rest)
        if isinstance(spec, Problem):
            await reply_problem(update, context, spec)
            return
        result = await org.add_site(context.store, now, user, chat_id, spec)
    elif action in ("list", ""):
        result = await org.list_sites(context.store, user, chat_id)
    elif action == "remove" and rest:
        result = await org.remove_site(context.store, now, user, chat_id, " ".join(rest))
    else:
        await reply(update, context, "site.err.usage")
        return
    await _render(update, context, result)


async def location(update: Update, context: CunbotContext) -> None:
    """A location shared after ``/site add <name>`` becomes that site's centre."""
    message = message_of(update)
    if message.location is None or update.effective_user is None:
        return
    result = await org.site_from_location(
        context.store,
        context.now(),
        tg_user(update),
        message.chat_id,
        message.location.latitude,
        message.location.longitude,
    )
    if result is None:
        return  # not for us: check-ins and other location uses come after
    await _render(update, context, result)
    raise ApplicationHandlerStop


async def _render(update: Update, context: CunbotContext, result: SiteResult) -> None:
    if result.problem:
        await reply_problem(update, context, result.problem)
        return
    lang = await context.lang(update)
    if result.outcome == "listed":
        lines = [site_text(lang, s) for s in result.sites]
        text = "\n".join([t(lang, "site.list_title"), *lines]) if lines else t(lang, "site.none")
    elif result.outcome == "added":
        assert result.site is not None
        text = site_text(lang, result.site, "site.added")
        if result.converted_from:
            text += "\n" + t(lang, f"site.converted.{result.converted_from}")
    else:
        text = t(lang, f"site.{result.outcome}", name=result.name)
    await context.reply(update, text)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("site", site, filters=NEW_MESSAGES))
    # Group -1: a pending /site add sees the location before check-ins do.
    app.add_handler(
        MessageHandler(filters.LOCATION & filters.UpdateType.MESSAGE, location), group=-1
    )
