"""Work logs and the household ledger: writing a log (text, photos, households named), its
edits kept as revisions, picking households with buttons, reading a day's logs, reverse
checks by inspectors, and monthly summaries. One transaction per use case."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rules import access
from rules.checkin import local_moment
from rules.days import month_bounds
from rules.ids import parse_id
from rules.leave import day_asked, excused_days
from rules.logs import (
    MAX_LOG_CHARS,
    SAMPLE_DAYS,
    Pick,
    check_household,
    clean_name,
    draw_sample,
    find_mentions,
    log_text,
    month_of,
    parse_month,
    sample_size,
    summary_month,
)
from rules.orgcsv import decode
from rules.problems import Problem
from services.admin import HouseholdImport, import_households
from services.org import (
    TgUser,
    area_of,
    ensure_person,
    outside_group,
    scope_of,
    sent_by,
    unit_ids,
)
from storage.base import Store, Tx
from storage.models import (
    Household,
    LeaveRequest,
    LedgerEntry,
    LogRevision,
    MonthlySummary,
    Person,
    Role,
    Team,
    WorkLog,
)

PICKER_PAGE = 6  # households per page of the picker: two columns of three
RECENT_DAYS = 30


@dataclass(frozen=True)
class PhotoRef:
    file_id: str
    file_unique_id: str


@dataclass(frozen=True)
class LogMessage:
    """A message that may be a log, as plain values."""

    chat_id: int
    private: bool
    message_id: int
    text: str | None  # the text or caption, as written (with its tag or command)
    written_at: datetime
    media_group_id: str | None = None
    photo: PhotoRef | None = None
    reply_to: int | None = None  # the message this one answers


@dataclass(frozen=True)
class LogWritten:
    log: WorkLog
    person: Person
    team: Team
    unknown: tuple[str, ...]  # names the log gives that the register lacks
    register_size: int
    picker: Picker  # the household buttons offered after the log
    duplicate: bool = False


@dataclass(frozen=True)
class LogEdited:
    log: WorkLog
    revision: int
    unknown: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


async def _person_team(
    tx: Tx, user: TgUser, chat_id: int, private: bool
) -> tuple[Person, Team] | Problem:
    """The writer and the team a log from this chat belongs to."""
    person = await tx.get_person_by_tg(user.id)
    if private:
        teams = await tx.member_teams(person.id) if person else []
        if not teams:
            return Problem("log.err.not_member")
        if len(teams) > 1:
            names = ", ".join(t.village for t in teams)
            return Problem("log.err.which_team", {"teams": names})
        team = teams[0]
    else:
        found = await tx.get_team_by_chat(chat_id)
        if found is None:
            return Problem("err.no_team")
        team = found
    if person is None or not access.is_member(await tx.active_roles(person.id), team.id):
        return Problem("log.err.not_member")
    return person, team


async def _register(tx: Tx, team_id: int) -> dict[str, Household]:
    return {h.name: h for h in await tx.list_households(team_id)}


async def write_log(
    store: Store, now: datetime, user: TgUser, message: LogMessage
) -> LogWritten | Problem:
    """A member wrote a log: keep it on their day, with its photo and the households it
    names; names the register lacks come back to be offered, never dropped."""
    text = log_text(message.text) or ""
    if not text and message.photo is None:
        return Problem("log.usage")
    if len(text) > MAX_LOG_CHARS:
        return Problem("log.err.long", {"max": MAX_LOG_CHARS})
    async with store.transaction() as tx:
        existing = await tx.log_of_message(message.chat_id, message.message_id)
        if existing is not None:
            person = await tx.get_person(existing.person_id)
            team = await tx.get_team(existing.team_id)
            register = await _register(tx, team.id)
            shown = await _picker_page(tx, existing, register, 0)
            return LogWritten(
                existing, person, team, shown.unknown, len(register), shown, duplicate=True
            )
        await ensure_person(tx, user, now)
        found = await _person_team(tx, user, message.chat_id, message.private)
        if isinstance(found, Problem):
            return found
        person, team = found
        day = local_moment(message.written_at, team.tz).date()
        log = await tx.create_log(
            person.id,
            team.id,
            day,
            message.chat_id,
            message.message_id,
            message.media_group_id,
            text,
            message.written_at,
            now,
        )
        assert log is not None, "the message was checked to be new in this transaction"
        if message.photo is not None:
            await tx.add_photo(
                log,
                message.chat_id,
                message.message_id,
                message.photo.file_id,
                message.photo.file_unique_id,
                message.text,
                now,
            )
        register = await _register(tx, team.id)
        mentions = find_mentions(text, register)
        for name in mentions.known:
            await tx.add_visit(log, register[name].id, "mention", now, person.id)
        written = await tx.get_log(log.id)
        assert written is not None
        shown = await _picker_page(tx, written, register, 0)
        return LogWritten(written, person, team, mentions.unknown, len(register), shown)


async def attach_photo(
    store: Store, now: datetime, user: TgUser, message: LogMessage
) -> WorkLog | None:
    """A photo with no tag joins a log when it is in the log's album or answers the log,
    and comes from the log's writer; any other photo is not ours to keep."""
    if message.photo is None:
        return None
    async with store.transaction() as tx:
        log = None
        if message.media_group_id is not None:
            log = await tx.log_of_album(message.chat_id, message.media_group_id)
        if log is None and message.reply_to is not None:
            log = await tx.log_of_message(message.chat_id, message.reply_to)
        person = await tx.get_person_by_tg(user.id)
        if log is None or person is None or person.id != log.person_id:
            return None
        added = await tx.add_photo(
            log,
            message.chat_id,
            message.message_id,
            message.photo.file_id,
            message.photo.file_unique_id,
            message.text,
            now,
        )
        return await tx.get_log(log.id) if added else None


async def edit_log(
    store: Store, now: datetime, user: TgUser, message: LogMessage
) -> LogEdited | LogWritten | Problem | None:
    """An edited message. A log's edit becomes its next revision (the first one stays) and
    its households follow the new text; a message edited into a log becomes one."""
    text = log_text(message.text)
    if text is None:
        text = (message.text or "").strip()  # the tag was edited away; the words still count
    async with store.transaction() as tx:
        log = await tx.log_of_message(message.chat_id, message.message_id)
        person = await tx.get_person_by_tg(user.id)
        if log is not None:
            if person is None or person.id != log.person_id:
                return None
            if len(text) > MAX_LOG_CHARS:
                return Problem("log.err.long", {"max": MAX_LOG_CHARS})
            return await _revise(tx, now, person, log, text, message.written_at)
    if log_text(message.text) is None:
        return None
    return await write_log(store, now, user, message)


async def _revise(
    tx: Tx, now: datetime, person: Person, log: WorkLog, text: str, edited_at: datetime
) -> LogEdited | None:
    revision = await tx.revise_log(log, text, edited_at, now, person.id)
    if revision is None:
        return None
    register = await _register(tx, log.team_id)
    mentions = find_mentions(text, register)
    named = {register[n].id for n in mentions.known}
    had = {v.household_id for v in log.visits}
    added = [n for n in mentions.known if register[n].id not in had]
    for name in added:
        await tx.add_visit(log, register[name].id, "edit", now, person.id)
    # Households picked with buttons are not in the text: an edit leaves them alone.
    dropped = [
        v for v in log.visits if v.household_id not in named and v.how in ("mention", "edit")
    ]
    for visit in dropped:
        await tx.remove_visit(log, visit.household_id, now, person.id)
    revised = await tx.get_log(log.id)
    assert revised is not None
    return LogEdited(
        revised, revision, mentions.unknown, tuple(added), tuple(v.household for v in dropped)
    )


# ---------------------------------------------------------------------- the picker
@dataclass(frozen=True)
class Picker:
    """The households of a log's team on one page, which the log names, and new names."""

    log: WorkLog
    page: int
    pages: int
    households: tuple[Household, ...]
    chosen: frozenset[int]
    unknown: tuple[str, ...]
    done: bool = False
    changed: str | None = None  # what the press did, for the toast


async def picker(
    store: Store,
    now: datetime,
    user: TgUser,
    press: Pick,
) -> Picker | Problem:
    """A press on a log's household buttons, by the log's writer only."""
    action, arg = press.action, press.arg
    async with store.transaction() as tx:
        log = await tx.get_log(press.log_id)
        person = await tx.get_person_by_tg(user.id)
        if log is None:
            return Problem("err.stale_button")
        if person is None or person.id != log.person_id:
            return Problem("log.err.not_author")
        register = await _register(tx, log.team_id)
        changed = None
        created: Household | None = None
        if action == "toggle":
            if all(h.id != arg for h in register.values()):
                return Problem("err.stale_button")
            if any(v.household_id == arg for v in log.visits):
                await tx.remove_visit(log, arg, now, person.id)
                changed = "log.pick.removed"
            else:
                await tx.add_visit(log, arg, "button", now, person.id)
                changed = "log.pick.added"
        elif action == "new":
            unknown = find_mentions(log.text, register).unknown
            if not 0 <= arg < len(unknown):
                return Problem("err.stale_button")
            name = unknown[arg]
            problem = check_household(name, None)
            if problem is not None:
                return problem
            created = await tx.add_household(log.team_id, name, None, "log", now, person.id)
            if created is None:  # added meanwhile under another spelling of the same name
                created = (await tx.find_households([log.team_id], name))[0]
            register[created.name] = created
            await tx.add_visit(log, created.id, "button", now, person.id)
            changed = "log.pick.created"
        fresh = await tx.get_log(log.id)
        assert fresh is not None
        return await _picker_page(
            tx, fresh, register, press.page, created, action == "done", changed
        )


async def _picker_page(
    tx: Tx,
    log: WorkLog,
    register: dict[str, Household],
    page: int,
    created: Household | None = None,
    done: bool = False,
    changed: str | None = None,
) -> Picker:
    order = await _picker_order(tx, log, register)
    pages = max(1, -(-len(order) // PICKER_PAGE))
    if created is not None:  # show the page the new household landed on
        page = next(i for i, h in enumerate(order) if h.id == created.id) // PICKER_PAGE
    page = min(max(page, 0), pages - 1)
    return Picker(
        log=log,
        page=page,
        pages=pages,
        households=tuple(order[page * PICKER_PAGE : (page + 1) * PICKER_PAGE]),
        chosen=frozenset(v.household_id for v in log.visits),
        unknown=find_mentions(log.text, register).unknown,
        done=done,
        changed=changed,
    )


async def _picker_order(tx: Tx, log: WorkLog, register: dict[str, Household]) -> list[Household]:
    """The writer's recent households first (they visit the same families again), then the
    rest of the register by name. This log's own visits do not count, so the order holds
    still while the writer picks."""
    recent = await tx.recent_households(
        log.person_id, log.team_id, log.local_date - timedelta(days=RECENT_DAYS), log.id
    )
    by_id = {h.id: h for h in register.values()}
    first = [by_id[i] for i in recent if i in by_id]
    seen = {h.id for h in first}
    rest = sorted((h for h in register.values() if h.id not in seen), key=lambda h: h.name)
    return first + rest


# ---------------------------------------------------------------------- households
@dataclass(frozen=True)
class HouseholdsAdded:
    team: Team
    added: tuple[Household, ...]
    existing: tuple[str, ...]


def _split_household(line: str) -> tuple[str, str | None]:
    """``name note…`` or ``[a name with spaces] note…``."""
    line = line.strip()
    for opening, closing in (("[", "]"), ("【", "】")):
        if line.startswith(opening) and closing in line:
            end = line.index(closing)
            return clean_name(line[1:end]), line[end + 1 :].strip() or None
    name, _, note = line.partition(" ")
    return clean_name(name), note.strip() or None


async def _team_for(
    tx: Tx, user: TgUser, chat_id: int, private: bool
) -> tuple[Person | None, list[Role], Team] | Problem:
    """The chat's team (in private: the caller's only team) with the caller's roles."""
    person = await tx.get_person_by_tg(user.id)
    roles = await tx.active_roles(person.id) if person else []
    if private:
        teams = await tx.member_teams(person.id) if person else []
        if len(teams) != 1:
            return Problem("err.group_only")
        return person, roles, teams[0]
    team = await tx.get_team_by_chat(chat_id)
    if team is None:
        return Problem("err.no_team")
    return person, roles, team


async def add_households(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, lines: Sequence[str]
) -> HouseholdsAdded | Problem:
    """``/household add`` with one household per line, by the team's members or managers."""
    entries = [_split_household(line) for line in lines if line.strip()]
    if not entries:
        return Problem("household.usage")
    for name, note in entries:
        problem = check_household(name, note)
        if problem is not None:
            return problem
    async with store.transaction() as tx:
        found = await _team_for(tx, user, chat_id, private)
        if isinstance(found, Problem):
            return found
        person, roles, team = found
        if person is None or not access.may_keep_register(roles, scope_of(team)):
            return Problem("household.err.not_allowed")
        added, existing = [], []
        for name, note in entries:
            household = await tx.add_household(team.id, name, note, "command", now, person.id)
            if household is None:
                existing.append(name)
            else:
                added.append(household)
        return HouseholdsAdded(team, tuple(added), tuple(existing))


@dataclass(frozen=True)
class Register:
    team: Team
    households: tuple[Household, ...]
    visits: dict[int, int]  # household id -> visits in the last 30 days


async def list_register(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool
) -> Register | Problem:
    async with store.transaction() as tx:
        found = await _team_for(tx, user, chat_id, private)
        if isinstance(found, Problem):
            return found
        _, roles, team = found
        scope = scope_of(team)
        if not (access.is_member(roles, team.id) or access.may_see_team_day(roles, scope)):
            return Problem("household.err.not_allowed")
        households = await tx.list_households(team.id)
        today = local_moment(now, team.tz).date()
        counts: dict[int, int] = {}
        for log in await tx.team_logs(team.id, today - timedelta(days=SAMPLE_DAYS), today):
            for visit in log.visits:
                counts[visit.household_id] = counts.get(visit.household_id, 0) + 1
        return Register(team, tuple(households), counts)


# ---------------------------------------------------------------------- reading
@dataclass(frozen=True)
class MemberLogs:
    person: Person
    logs: tuple[WorkLog, ...]
    leave: LeaveRequest | None = None


@dataclass(frozen=True)
class LogsDay:
    team: Team
    day: date
    members: tuple[MemberLogs, ...]
    whole_team: bool  # False: only the caller's own logs
    unit: str | None = None  # a backing unit's contact reads the members the unit sent


@dataclass(frozen=True)
class AreaDay:
    """An overseer's glance: each team's members and how many wrote a log that day."""

    day: date
    teams: tuple[tuple[Team, int, int], ...]  # team, members who logged, members


def _day_of(words: list[str], today: date) -> date | Problem | None:
    return day_asked(words[0], today) if words else None


async def _team_logs_day(
    tx: Tx, team: Team, day: date, only: frozenset[int] | None, unit: str | None = None
) -> LogsDay:
    """The day's logs of the team's members, or only of these people."""
    logs = await tx.team_logs(team.id, day, day)
    leave = await tx.team_leave(team.id, day, day, states=("approved",))
    members = []
    for held in await tx.team_people(team.id):
        if "member" not in held.roles:
            continue
        if only is not None and held.person.id not in only:
            continue
        theirs = tuple(log for log in logs if log.person_id == held.person.id)
        away = next(
            (
                r
                for r in leave
                if r.person_id == held.person.id
                and day in excused_days(r.first, r.last, r.returned_day)
            ),
            None,
        )
        members.append(MemberLogs(held.person, theirs, away))
    return LogsDay(team, day, tuple(members), only is None, unit)


async def read_logs(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> list[LogsDay] | AreaDay | Problem:
    """``/logs [team code] [day]``: a member's own day, or a team's day for its leaders and
    the coordinators and admins above it; an overseer in private with no team: the area; a
    backing unit's contact: the members it sent, in each of their teams."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        code_team = await tx.get_team_by_code(words[0]) if words else None
        if code_team is not None:
            words = words[1:]
            elsewhere = outside_group(code_team, chat_id, private)
            if elsewhere is not None:
                return elsewhere
        teams: list[Team] = []
        if code_team is not None:
            teams = [code_team]
        elif not private:
            group_team = await tx.get_team_by_chat(chat_id)
            if group_team is None:
                return Problem("err.no_team")
            teams = [group_team]
        elif person is not None:
            teams = await tx.member_teams(person.id)
        sent = await sent_by(tx, unit_ids(roles)) if private else None
        if not teams:
            area = await area_of(tx, roles)
            if not area and sent is not None:
                teams = await _teams_of(tx, sent.people)
                if not teams:
                    return Problem("logs.err.unit_none", {"unit": sent.name})
        if not teams:
            if not area:
                return Problem("logs.err.not_member")
            today = local_moment(now, area[0].tz).date()
            day = _day_of(words, today)
            if isinstance(day, Problem):
                return day
            return await _area_day(tx, area, day or today)
        days = []
        for team in teams:
            scope = scope_of(team)
            only: frozenset[int] | None = None
            unit = None
            if access.may_see_team_day(roles, scope):
                pass
            elif access.is_member(roles, team.id) and person is not None:
                only = frozenset({person.id})
            elif sent is not None and team.county_id in sent.counties:
                unit, only = sent.name, sent.people
            else:
                return Problem("logs.err.not_allowed")
            today = local_moment(now, team.tz).date()
            day = _day_of(words, today)
            if isinstance(day, Problem):
                return day
            days.append(await _team_logs_day(tx, team, day or today, only, unit))
        return days


async def _teams_of(tx: Tx, people: frozenset[int]) -> list[Team]:
    teams: dict[int, Team] = {}
    for person_id in sorted(people):
        for team in await tx.member_teams(person_id):
            teams.setdefault(team.id, team)
    return sorted(teams.values(), key=lambda t: t.code or t.village)


async def _area_day(tx: Tx, teams: list[Team], day: date) -> AreaDay:
    rows = []
    for team in teams:
        members = [p for p in await tx.team_people(team.id) if "member" in p.roles]
        writers = {log.person_id for log in await tx.team_logs(team.id, day, day)}
        rows.append((team, sum(1 for m in members if m.person.id in writers), len(members)))
    return AreaDay(day, tuple(rows))


@dataclass(frozen=True)
class History:
    log: WorkLog
    person: Person
    team: Team
    revisions: tuple[LogRevision, ...]


async def log_history(
    store: Store, user: TgUser, chat_id: int, private: bool, log_id: int
) -> History | Problem:
    """Every revision of a log with its time: for its writer, those who read the team and,
    privately, the contacts of the unit that sent the writer; in a group, only a log of that
    group's team."""
    async with store.transaction() as tx:
        log = await tx.get_log(log_id)
        if log is None:
            return Problem("log.err.unknown", {"id": log_id})
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        team = await tx.get_team(log.team_id)
        own = person is not None and person.id == log.person_id
        if not own and not access.may_see_team_day(roles, scope_of(team)):
            sent = await sent_by(tx, unit_ids(roles)) if private else None
            if (
                sent is None
                or log.person_id not in sent.people
                or team.county_id not in sent.counties
            ):
                return Problem("log.err.unknown", {"id": log_id})
        elsewhere = outside_group(team, chat_id, private)
        if elsewhere is not None:
            return elsewhere
        writer = await tx.get_person(log.person_id)
        return History(log, writer, team, tuple(await tx.log_revisions(log.id)))


# ---------------------------------------------------------------------- reverse checks
@dataclass(frozen=True)
class HouseholdAudit:
    name: str
    households: tuple[Household, ...]
    entries: tuple[LedgerEntry, ...]
    teams: dict[int, Team]


async def _audit_teams(
    tx: Tx, user: TgUser, private: bool, code: str | None
) -> tuple[Person, list[Team]] | Problem:
    """The teams the caller may inspect: the named one, or every team of their area. Never
    in a group: a reverse check read by the audited team would warn it."""
    if not private:
        return Problem("audit.err.private")
    person = await tx.get_person_by_tg(user.id)
    roles = await tx.active_roles(person.id) if person else []
    if person is None:
        return Problem("audit.err.not_allowed")
    if code is not None:
        team = await tx.get_team_by_code(code)
        if team is None:
            return Problem("audit.err.no_team", {"code": code})
        teams = [team]
    else:
        teams = await area_of(tx, roles)
    allowed = [t for t in teams if access.may_audit(roles, scope_of(t))]
    if not allowed:
        return Problem("audit.err.not_allowed")
    return person, allowed


async def audit_household(
    store: Store, user: TgUser, chat_id: int, private: bool, name: str
) -> HouseholdAudit | Problem:
    """Every logged visit to a household, with who, when and what (coordinators, admins)."""
    name = clean_name(name.strip("[]【】"))
    async with store.transaction() as tx:
        found = await _audit_teams(tx, user, private, None)
        if isinstance(found, Problem):
            return found
        _, teams = found
        households = await tx.find_households([t.id for t in teams], name)
        if not households:
            return Problem("audit.err.no_household", {"name": name})
        entries = await tx.household_ledger([h.id for h in households])
        return HouseholdAudit(name, tuple(households), tuple(entries), {t.id: t for t in teams})


@dataclass(frozen=True)
class Sample:
    team: Team
    asked: int
    entries: tuple[LedgerEntry, ...]
    left: int  # visits of the window never drawn, after this draw


async def audit_sample(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    words: list[str],
    rng: random.Random,
) -> Sample | Problem:
    """``/audit sample [team] [n]``: n visits of the last 30 days, none drawn before."""
    code = words[0] if words and not words[0].isdigit() else None
    rest = words[1:] if code else words
    if len(rest) > 1:
        return Problem("audit.usage")
    size = sample_size(rest[0] if rest else None)
    if isinstance(size, Problem):
        return size
    if code is None and private:
        return Problem("audit.err.need_team")
    async with store.transaction() as tx:
        found = await _audit_teams(tx, user, private, code)
        if isinstance(found, Problem):
            return found
        person, [team] = found
        today = local_moment(now, team.tz).date()
        candidates, drawn = await tx.sample_candidates(
            team.id, today - timedelta(days=SAMPLE_DAYS - 1)
        )
        picked = draw_sample(candidates, drawn, size, rng)
        if picked:
            await tx.create_sample(team.id, size, picked, person.id, now)
        entries = await tx.visit_entries(picked)
        left = len(set(candidates) - set(drawn) - set(picked))
        return Sample(team, size, tuple(entries), left)


VERDICT_WORDS = {
    "ok": "ok",
    "true": "ok",
    "属实": "ok",
    "真实": "ok",
    "false": "false",
    "不实": "false",
    "虚假": "false",
}


@dataclass(frozen=True)
class Marked:
    entry: LedgerEntry
    verdict: str
    note: str
    earlier: str | None  # the verdict this one replaces


async def audit_mark(
    store: Store, now: datetime, user: TgUser, private: bool, words: list[str]
) -> Marked | Problem:
    """``/audit mark <visit> ok|false <note>``: the inspector's verdict, kept with the ones
    before it. A visit found false needs a note saying what was found."""
    if not private:
        return Problem("audit.err.private")
    visit_id = parse_id(words[0]) if words else None
    if len(words) < 2 or visit_id is None:
        return Problem("audit.usage")
    verdict = VERDICT_WORDS.get(words[1].lower())
    if verdict is None:
        return Problem("audit.err.verdict", {"word": words[1]})
    note = " ".join(words[2:]).strip()
    if verdict == "false" and not note:
        return Problem("audit.err.need_note")
    async with store.transaction() as tx:
        found_entries = await tx.visit_entries([visit_id])
        entry = found_entries[0] if found_entries else None
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        team = await tx.get_team(entry.log.team_id) if entry else None
        if entry is None or team is None or person is None:
            return Problem("audit.err.no_visit", {"id": words[0]})
        if not access.may_audit(roles, scope_of(team)):
            return Problem("audit.err.not_allowed")
        await tx.mark_visit(entry, verdict, note, person.id, now)
        return Marked(entry, verdict, note, entry.visit.verdict)


# ---------------------------------------------------------------------- summaries
@dataclass(frozen=True)
class SummaryFile:
    file_id: str
    file_name: str | None


@dataclass(frozen=True)
class SummarySent:
    summary: MonthlySummary
    team: Team
    replaced: bool  # the month had a summary already; this one is now the one that counts


@dataclass(frozen=True)
class SummaryStatus:
    team: Team
    months: tuple[str, ...]
    current: str


async def send_summary(
    store: Store,
    now: datetime,
    user: TgUser,
    message: LogMessage,
    words: list[str],
    file: SummaryFile | None,
) -> SummarySent | SummaryStatus | Problem:
    """``/summary [month] <text>`` or a document: the team's monthly summary, by a leader.
    With nothing to send, the months this team has sent."""
    async with store.transaction() as tx:
        found = await _team_for(tx, user, message.chat_id, message.private)
        if isinstance(found, Problem):
            return found
        person, roles, team = found
        if person is None or not access.is_leader(roles, team.id):
            return Problem("summary.err.not_leader")
        sent = await tx.summary_months(team.id)
        today = local_moment(now, team.tz).date()
        month = parse_month(words[0]) if words else None
        text = " ".join(words[1:] if month else words).strip()
        if not text and file is None:
            return SummaryStatus(team, tuple(sent), summary_month(today, sent))
        month = month or summary_month(today, sent)
        if month > month_of(today):
            return Problem("summary.err.future", {"month": month})
        summary = await tx.add_summary(
            team.id,
            month,
            person.id,
            text,
            file.file_id if file else None,
            file.file_name if file else None,
            message.chat_id,
            message.message_id,
            now,
        )
        if summary is None:
            return Problem("summary.err.duplicate")
        return SummarySent(summary, team, month in sent)


@dataclass(frozen=True)
class SummariesView:
    month: str
    sent: tuple[tuple[Team, MonthlySummary], ...]
    missing: tuple[Team, ...]


async def summaries_status(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> SummariesView | Problem:
    """``/summaries [month]``: which teams of the caller's area sent the month's summary."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        teams = await area_of(tx, roles)
        if not private:
            group_team = await tx.get_team_by_chat(chat_id)
            teams = [t for t in teams if group_team and t.id == group_team.id]
        if not teams:
            return Problem("summaries.err.not_allowed")
        if words:
            month = parse_month(words[0])
            if month is None:
                return Problem("summaries.err.month", {"word": words[0]})
        else:
            today = local_moment(now, teams[0].tz).date()
            first, _ = month_bounds(today)
            month = month_of(first - timedelta(days=1))
        summaries = {s.team_id: s for s in await tx.month_summaries(month, [t.id for t in teams])}
        sent = tuple((t, summaries[t.id]) for t in teams if t.id in summaries)
        missing = tuple(t for t in teams if t.id not in summaries)
        return SummariesView(month, sent, missing)


# ---------------------------------------------------------------------- a member's record
@dataclass(frozen=True)
class LogFigures:
    days_logged: int
    days_so_far: int
    verdicts: dict[str, int] = field(default_factory=dict)


async def member_log_figures(
    tx: Tx, person_id: int, team: Team, now: datetime, since: date | None
) -> LogFigures:
    """The month so far: on how many days the member wrote a log, and how their visits
    fared in reverse checks."""
    today = local_moment(now, team.tz).date()
    first, _ = month_bounds(today)
    start = max(first, since) if since else first
    logs = await tx.team_logs(team.id, start, today, person_id=person_id)
    days = (today - start).days + 1 if start <= today else 0
    verdicts = await tx.verdict_counts(person_id, team.id, first)
    return LogFigures(len({log.local_date for log in logs}), days, verdicts)


@dataclass(frozen=True)
class RegisterImported:
    team: Team
    report: HouseholdImport


MAX_IMPORT_BYTES = 1_000_000  # a village's register is a few hundred rows


async def import_register(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    size: int | None,
    download: Callable[[], Awaitable[bytes | Problem]],
) -> RegisterImported | Problem:
    """A CSV sent to the team's chat with the caption ``/household import``: the team's
    leaders (and its county's admins) fill the register in one go. Who sent it and how big
    Telegram says it is are checked before a byte is fetched."""
    async with store.transaction() as tx:
        found = await _team_for(tx, user, chat_id, private)
        if isinstance(found, Problem):
            return found
        person, roles, team = found
        if person is None or not access.can_manage_team(roles, scope_of(team)):
            return Problem("household.err.import_not_allowed")
    too_big = Problem("household.err.import_big", {"max": MAX_IMPORT_BYTES // 1000})
    if size is not None and size > MAX_IMPORT_BYTES:
        return too_big
    data = await download()
    if isinstance(data, Problem):
        return data
    if len(data) > MAX_IMPORT_BYTES:
        return too_big
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return Problem("household.err.import_encoding")
    report = await import_households(store, now, text, team=team, actor_id=person.id)
    return RegisterImported(team, report)
