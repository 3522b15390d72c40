"""The ``cunbot`` command: run the bot, issue role invites, import the organisation."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot import __version__
from bot.clock import system_clock
from bot.config import ConfigError, Settings, load_settings
from bot.i18n import t
from rules.invites import start_link
from rules.lang import LANGS
from rules.orgcsv import (
    COLUMNS,
    HOUSEHOLD_COLUMNS,
    ROSTER_COLUMNS,
    RowProblem,
    decode,
    is_household_csv,
    is_roster_csv,
)
from rules.problems import Problem
from services import admin
from storage import copy_database, open_store

log = logging.getLogger("cunbot")


def _help_lang(environ: Mapping[str, str]) -> str:
    """``--help`` speaks ``CUNBOT_LANG`` (read before any setting is loaded), else the default."""
    chosen = environ.get("CUNBOT_LANG", "").strip().lower()
    return chosen if chosen in LANGS else Settings.lang


def _parser(lang: str) -> argparse.ArgumentParser:
    def h(key: str, **params: object) -> str:
        # argparse formats help with %: a literal percent sign must be doubled.
        return t(lang, f"cli.help.{key}", **params).replace("%", "%%")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help=h("config"))
    parser = argparse.ArgumentParser(
        prog="cunbot", description=h("description"), epilog=h("epilog"), parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"cunbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[common], help=h("run"))
    invite = sub.add_parser("invite", parents=[common], help=h("invite"))
    invite.add_argument(
        "--role",
        required=True,
        choices=["coordinator", "admin", "commander", "contact", "unit"],
    )
    invite.add_argument("--township", help=h("township"))
    invite.add_argument("--county", help=h("county"))
    invite.add_argument("--team", help=h("team"))
    invite.add_argument("--department", help=h("department"))
    invite.add_argument("--unit", help=h("unit"))
    invite.add_argument(
        "--hours",
        type=int,
        default=admin.DEFAULT_INVITE_HOURS,
        help=h("hours", default=admin.DEFAULT_INVITE_HOURS),
    )
    invite.add_argument("--bot-username", help=h("bot_username"))
    importer = sub.add_parser(
        "import",
        parents=[common],
        help=h(
            "import",
            org=",".join(COLUMNS),
            households=",".join(HOUSEHOLD_COLUMNS),
            roster=",".join(ROSTER_COLUMNS),
        ),
    )
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help=h("dry_run"))
    importer.add_argument(
        "--hours",
        type=int,
        default=admin.ROSTER_INVITE_HOURS,
        help=h("roster_hours", default=admin.ROSTER_INVITE_HOURS),
    )
    importer.add_argument("--out", type=Path, metavar="FILE", help=h("roster_out"))
    importer.add_argument("--bot-username", help=h("bot_username"))
    rules = sub.add_parser("rules", parents=[common], help=h("rules"))
    rules.add_argument("--county", help=h("rules_county"))
    rules.add_argument("changes", nargs="*", metavar="KEY=VALUE")
    inbox = sub.add_parser("inbox", parents=[common], help=h("inbox"))
    inbox.add_argument("action", nargs="?", choices=["retry"])
    inbox.add_argument("id", nargs="?", type=int, help=h("inbox_id"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser(_help_lang(os.environ)).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and a Bot API URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = load_settings(os.environ, args.config)
        if args.command == "run":
            return _run(settings)
        if args.command == "invite":
            return asyncio.run(_invite(settings, args))
        if args.command == "rules":
            return asyncio.run(_rules(settings, args.county, args.changes))
        if args.command == "inbox":
            return asyncio.run(_inbox(settings, args.action, args.id))
        return asyncio.run(_import(settings, args))
    except ConfigError as exc:
        print(f"cunbot: {exc}", file=sys.stderr)
        return 2


def _run(settings: Settings) -> int:
    from bot.app import serve

    settings.require_token()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(run())
    except InvalidToken:
        print(t(settings.lang, "cli.run.bad_token"), file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(
            t(settings.lang, "cli.run.unreachable", url=settings.api_url, error=str(exc)),
            file=sys.stderr,
        )
        return 1
    return 0


async def _bot_username(settings: Settings, given: str | None) -> str | None:
    if given:
        return given.lstrip("@")
    store = await open_store(settings.database, system_clock())
    try:
        async with store.transaction() as tx:
            known = await tx.get_meta("bot_username")
    finally:
        await store.close()
    if known:
        return known
    if settings.token is None:
        return None
    try:
        async with Bot(settings.token.reveal(), base_url=settings.bot_api_base) as bot:
            return bot.username
    except TelegramError as exc:
        log.warning("could not ask Telegram for the bot's name: %s", exc)
        return None


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    lang = settings.lang
    username = await _bot_username(settings, args.bot_username)
    if username is None:
        print(t(lang, "cli.invite.no_username"), file=sys.stderr)
        return 2
    store = await open_store(settings.database, system_clock())
    try:
        result = await admin.create_invite(
            store,
            system_clock(),
            args.role,
            county=args.county,
            township=args.township,
            hours=args.hours,
            team=args.team,
            department=args.department,
            unit=args.unit,
        )
    finally:
        await store.close()
    if result.problem:
        print(t(lang, result.problem.key, **result.problem.params), file=sys.stderr)
        return 2
    assert result.code is not None
    for name in result.created:
        print(t(lang, "cli.invite.created_place", place=name))
    print(
        t(
            lang,
            "cli.invite.link",
            role=t(lang, f"role.{args.role}"),
            place=result.place,
            hours=args.hours,
        )
    )
    print(start_link(username, result.code))
    return 0


@asynccontextmanager
async def _throwaway(database: str) -> AsyncIterator[str]:
    """A copy of the database (an empty one if there is none yet) for a dry run to check
    against, so that it writes nothing at all: no file made, no migration applied, no log line."""
    with tempfile.TemporaryDirectory() as folder:
        copy = str(Path(folder) / "check.db")
        await asyncio.to_thread(copy_database, database, copy)
        quiet = logging.getLogger("storage")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            yield copy
        finally:
            quiet.setLevel(level)


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    lang = settings.lang
    file: Path = args.file
    try:
        text = decode(await asyncio.to_thread(file.read_bytes))
    except OSError as exc:
        print(t(lang, "cli.import.unreadable", file=str(file), error=str(exc)), file=sys.stderr)
        return 2
    if is_roster_csv(text):
        return await _import_roster(settings, args, text)
    if args.dry_run:
        async with _throwaway(settings.database) as copy:
            return await _import_into(replace(settings, database=copy), text, dry_run=True)
    return await _import_into(settings, text, dry_run=False)


async def _import_roster(settings: Settings, args: argparse.Namespace, text: str) -> int:
    """A roster becomes personal invite links, written to a file (not the screen: they are
    credentials until opened) for the county to send each person their own."""
    lang = settings.lang
    username = None
    if not args.dry_run:
        # Asked first: a roster's invites made without a name to link them to would be lost.
        username = await _bot_username(settings, args.bot_username)
        if username is None:
            print(t(lang, "cli.invite.no_username"), file=sys.stderr)
            return 2
    if args.dry_run:
        async with _throwaway(settings.database) as copy:
            report = await _roster_into(copy, text, args.hours, dry_run=True)
    else:
        report = await _roster_into(settings.database, text, args.hours, dry_run=False)
    if _refused(lang, report.problems):
        return 1
    unit_key = "cli.import.roster_unit_new" if args.dry_run else "cli.import.roster_unit"
    for name in report.created_units:
        print(t(lang, unit_key, unit=name))
    if args.dry_run:
        print(t(lang, "cli.import.roster_checked", count=len(report.invites)))
        return 0
    assert username is not None and report.expires_at is not None
    out: Path = args.out or args.file.with_name(f"{args.file.stem}-invites.csv")
    await asyncio.to_thread(_write_links, out, _roster_links(lang, report, username))
    print(
        t(
            lang,
            "cli.import.roster_done",
            count=len(report.invites),
            file=str(out),
            expires=report.expires_at.astimezone(ZoneInfo(settings.tz)).strftime("%Y-%m-%d %H:%M")
            + f" ({settings.tz})",
        )
    )
    return 0


async def _roster_into(
    database: str, text: str, hours: int, *, dry_run: bool
) -> admin.RosterImport:
    store = await open_store(database, system_clock())
    try:
        return await admin.import_roster(store, system_clock(), text, hours=hours, dry_run=dry_run)
    finally:
        await store.close()


def _roster_links(lang: str, report: admin.RosterImport, username: str) -> str:
    """The links as CSV, headed in the operator's language, one row per roster line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([t(lang, f"cli.roster.col.{c}") for c in _LINK_COLUMNS])
    for made in report.invites:
        writer.writerow(
            [
                made.row.name,
                made.team.code,
                made.team.village,
                t(lang, f"role.{made.row.role}"),
                made.row.unit or "",
                start_link(username, made.code),
            ]
        )
    return buffer.getvalue()


_LINK_COLUMNS = ("name", "team", "village", "role", "unit", "link")


def _write_links(path: Path, text: str) -> None:
    # Only the operator may read it: each link makes whoever opens it a member.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        handle.write(text)


async def _import_into(settings: Settings, text: str, *, dry_run: bool) -> int:
    lang = settings.lang
    store = await open_store(settings.database, system_clock())
    try:
        if is_household_csv(text):
            households = await admin.import_households(store, system_clock(), text, dry_run=dry_run)
        else:
            report = await admin.import_org(
                store, system_clock(), text, settings.tz, dry_run=dry_run
            )
    finally:
        await store.close()
    if is_household_csv(text):
        if _refused(lang, households.problems):
            return 1
        key = "cli.import.households_checked" if dry_run else "cli.import.households_done"
        print(
            t(
                lang,
                key,
                added=households.added,
                existing=households.existing,
                teams=households.teams,
            )
        )
        return 0
    if _refused(lang, report.problems):
        return 1
    key = "cli.import.checked" if dry_run else "cli.import.done"
    print(
        t(
            lang,
            key,
            counties=report.counties,
            townships=report.townships,
            teams=report.teams,
            sites=report.sites,
            unchanged=report.unchanged_teams,
        )
    )
    return 0


def _refused(lang: str, problems: Sequence[RowProblem]) -> bool:
    """Print an import's problems, one per line; whether there were any."""
    if not problems:
        return False
    print(t(lang, "cli.import.refused", count=len(problems)), file=sys.stderr)
    for row in problems:
        message = t(lang, row.problem.key, **row.problem.params)
        print(t(lang, "cli.import.line", line=row.line, message=message), file=sys.stderr)
    return True


async def _rules(settings: Settings, county: str | None, changes: list[str]) -> int:
    # Imported here: geopy takes a quarter of a second to load and only this command needs it.
    from handlers.checkins import policy_text
    from services import checkins

    store = await open_store(settings.database, system_clock())
    try:
        result = await checkins.set_policy(store, system_clock(), county, changes)
    finally:
        await store.close()
    if isinstance(result, Problem):
        print(t(settings.lang, result.key, **result.params), file=sys.stderr)
        return 2
    if changes:
        print(t(settings.lang, "rules.updated"))
    print(policy_text(settings.lang, result))
    return 0


async def _inbox(settings: Settings, action: str | None, inbox_id: int | None) -> int:
    from services import delivery

    lang, now = settings.lang, system_clock()
    store = await open_store(settings.database, now)
    try:
        if action == "retry":
            if inbox_id is None:
                print(t(lang, "cli.inbox.retry_usage"), file=sys.stderr)
                return 2
            row = await delivery.retry_update(store, inbox_id, now)
            if row is None:
                print(t(lang, "cli.inbox.no_dead_letter", id=inbox_id), file=sys.stderr)
                return 1
            print(t(lang, "cli.inbox.retried", id=row.id, update_id=row.update_id))
            return 0
        view = await delivery.wire(store, now)
    finally:
        await store.close()
    oldest = view.oldest_waiting.isoformat(timespec="seconds") if view.oldest_waiting else "-"
    print(t(lang, "cli.inbox.waiting", count=view.waiting, oldest=oldest))
    print(t(lang, "cli.inbox.handled", count=view.handled_last_hour))
    states = t(lang, "sep.list").join(
        t(lang, f"cli.inbox.state.{state}", count=count)
        for state, count in sorted(view.outbox.items())
    )
    print(t(lang, "cli.inbox.outbox", states=states or "-"))
    print(t(lang, "cli.inbox.dead", count=len(view.dead)))
    for row in view.dead:
        first = (row.error or "").splitlines()[0] if row.error else ""
        print(
            t(
                lang,
                "cli.inbox.dead_line",
                id=row.id,
                update_id=row.update_id,
                kind=row.kind,
                chat=row.chat_id,
                at=row.received_at.isoformat(timespec="seconds"),
                error=first,
            )
        )
    return 0
