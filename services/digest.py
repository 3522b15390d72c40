"""Digests and exports: an area's figures over a week or a month, who may ask for which,
and the scheduled digests planned for each coordinator, admin and leader when they fall due.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from rules import access
from rules.checkin import local_moment, local_to_utc
from rules.days import month_bounds
from rules.digest import (
    Digest,
    DigestKind,
    MemberRecord,
    Period,
    ScopeKind,
    TeamFigures,
    attention_order,
    due_period,
    member_figures,
    parse_period,
    period_days,
    records_from,
    roll_up,
)
from rules.leave import leave_calendar, parse_day
from rules.policy import Policy, WindowName
from rules.problem_list import problem_figures
from rules.problems import Problem
from rules.spotcheck import rotation_start
from services.org import TgUser, area_of, policy_for, scope_of, sent_by, team_label, unit_ids
from services.spotchecks import SpotRecord, spot_records
from storage.base import Store, Tx
from storage.models import (
    Checkin,
    Delivery,
    Holder,
    LeaveRequest,
    NewDelivery,
    Person,
    Role,
    Team,
    VillageProblem,
    WorkLog,
)

# The longest export one command may ask for.
MAX_EXPORT_DAYS = 366
SCHEDULE_SINCE = "schedule.since"
DIGEST_KINDS: tuple[DigestKind, ...] = ("weekly", "monthly")
DIGEST_ROLES = ("leader", "coordinator", "admin", "commander", "unit")


@dataclass(frozen=True)
class DigestRecords:
    """What a digest is computed from, read in one transaction. Plain data: the figures are
    computed (and drawn) outside the transaction, in the drawing process for scheduled
    digests, so the store's lock is held only while the rows are read."""

    scope: ScopeKind
    name: str
    period: Period
    today: date
    clock: time  # the local time on ``today``
    teams: tuple[Team, ...]
    members: dict[int, list[MemberRecord]]  # by team id
    policies: dict[int, Policy]  # by team id
    summaries: frozenset[int]  # teams whose monthly summary for the period's month is in
    # The problem list: the teams' problems still open or raised or closed in the period,
    # the period as UTC moments, and when the records were read.
    problems: tuple[VillageProblem, ...] = ()
    window: tuple[datetime, datetime] | None = None
    read_at: datetime | None = None
    briefs: dict[int, int] = field(default_factory=dict)  # by team: briefs sent in the period


async def read_digest(
    tx: Tx,
    scope: ScopeKind,
    name: str,
    teams: list[Team],
    period: Period,
    now: datetime,
    *,
    only: frozenset[int] | None = None,
    with_former: bool = False,
) -> DigestRecords:
    """Every member's records in these teams, read in a few grouped queries: ``only`` these
    people (a backing unit's), and ``with_former`` those who left during the period too (an
    assessment counts a recalled member's days up to the recall)."""
    ids = [t.id for t in teams]
    tz = teams[0].tz if teams else "UTC"  # a county keeps one time zone; its days line up
    local = local_moment(now, tz)
    today, clock = local.date(), local.time().replace(tzinfo=None)
    members: dict[int, list[MemberRecord]] = defaultdict(list)
    policies: dict[int, Policy] = {}
    summaries: frozenset[int] = frozenset()
    if not teams:
        return DigestRecords(scope, name, period, today, clock, (), {}, {}, summaries)
    first = records_from(period.first, period.last, today)
    as_of = min(period.last, today)
    leave_until = max(period.last, month_bounds(as_of)[1])
    checked: dict[tuple[int, int], dict[date, set[WindowName]]] = defaultdict(dict)
    sourced: dict[tuple[int, int], dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
    for team_id, person_id, day, window, source in await tx.area_checkins(ids, first, period.last):
        checked[(team_id, person_id)].setdefault(day, set()).add(window)  # type: ignore[arg-type]
        sourced[(team_id, person_id)][source].add(day)
    leaves: dict[tuple[int, int], list[LeaveRequest]] = defaultdict(list)
    for leave in await tx.area_leave(ids, first, leave_until):
        leaves[(leave.team_id, leave.person_id)].append(leave)
    logs: dict[tuple[int, int], set[date]] = defaultdict(set)
    for team_id, person_id, day in await tx.area_log_days(ids, period.first, period.last):
        logs[(team_id, person_id)].add(day)
    exceptions: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    for team_id, person_id, kind, count in await tx.area_exceptions(ids, period.first, period.last):
        exceptions[(team_id, person_id)][kind] = count
    verdicts: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    since = local_to_utc(period.first, time(0), tz)
    until = local_to_utc(period.last, None, tz)
    for team_id, person_id, verdict, count in await tx.area_verdicts(ids, since, until):
        verdicts[(team_id, person_id)][verdict] = count
    spot = await spot_records(tx, ids, rotation_start(period.last), period.last)
    by_county: dict[int | None, Policy] = {}
    for team in teams:
        if team.county_id not in by_county:
            by_county[team.county_id] = await policy_for(tx, team)
        policies[team.id] = by_county[team.county_id]
    roster: list[tuple[int, Person, datetime, datetime | None]] = [
        (m.team_id, m.person, m.since, None) for m in await tx.area_members(ids)
    ]
    if with_former:
        current = {(team_id, person.id) for team_id, person, _, _ in roster}
        roster += [
            (f.team_id, f.person, f.since, f.left)
            for f in await tx.former_members(ids, since)
            if (f.team_id, f.person.id) not in current
        ]
    for team_id, person, joined_at, left_at in roster:
        if only is not None and person.id not in only:
            continue
        key = (team_id, person.id)
        excused, credited = leave_calendar(leaves[key], policies[team_id].official)
        members[team_id].append(
            MemberRecord(
                person.id,
                person.display_name,
                local_moment(joined_at, tz).date(),
                checked.get(key, {}),
                frozenset(excused),
                frozenset(credited),
                frozenset(logs[key]),
                verdicts.get(key, {}),
                *_spot_counts(spot.get(key), period),
                field=exceptions[key].get("field", 0),
                field_days=frozenset(sourced[key]["field"]),
                made_up_days=frozenset(sourced[key]["makeup"]),
                made_up=exceptions[key].get("made_up", 0),
                annulled=exceptions[key].get("annulled", 0),
                left=local_moment(left_at, tz).date() - timedelta(days=1) if left_at else None,
            )
        )
    if period.kind == "monthly":
        sent = await tx.month_summaries(period.key, ids)
        summaries = frozenset(s.team_id for s in sent)
    problems = tuple(await tx.team_problems(ids, since))
    briefs = Counter(b.team_id for b in await tx.team_briefs(ids, period.first, period.last))
    return DigestRecords(
        scope, name, period, today, clock, tuple(teams), dict(members), policies, summaries,
        problems, (since, until), now, dict(briefs),
    )  # fmt: skip


def _spot_counts(record: SpotRecord | None, period: Period) -> tuple[int, int]:
    """Findings in the period, and in its year to date."""
    if record is None:
        return 0, 0
    within = sum(1 for p in record.findings if period.first <= p.local_date <= period.last)
    return within, len(record.findings)


def compute_digest(records: DigestRecords) -> Digest:
    """The digest's figures from its records; no I/O."""
    period, policies = records.period, records.policies
    figures = [
        TeamFigures(
            team.id,
            team_label(team),
            team.township_name or "",
            tuple(
                member_figures(
                    r, policies[team.id], period.first, period.last, records.today, records.clock
                )
                for r in records.members.get(team.id, [])
                # Someone who joined after the period has no days in it to report.
                if r.joined is None or r.joined <= period.last
            ),
        )
        for team in records.teams
    ]
    problems = None
    if records.window is not None and records.read_at is not None and records.teams:
        # Common problems are the county's headquarters' to see: only a county's digest.
        first = policies[records.teams[0].id]
        problems = problem_figures(
            records.problems,
            {t.id: t.village for t in records.teams},
            *records.window,
            records.read_at,
            first.problem_common if records.scope == "county" else 0,
            records.teams[0].tz,
        )
    return Digest(
        period,
        records.scope,
        records.name,
        tuple(period_days(period.first, period.last)),
        tuple(attention_order(figures)),
        tuple(roll_up(figures)) if records.scope in ("county", "area") else (),
        policies,
        records.summaries,
        problems,
        {t.id: records.briefs.get(t.id, 0) for t in records.teams},
    )


async def build_digest(
    tx: Tx, scope: ScopeKind, name: str, teams: list[Team], period: Period, now: datetime
) -> Digest:
    return compute_digest(await read_digest(tx, scope, name, teams, period, now))


# ---------------------------------------------------------------------- who asks for what
@dataclass(frozen=True)
class Area:
    scope: ScopeKind
    name: str
    teams: list[Team]
    only: frozenset[int] | None = None  # a backing unit's: only the people it sent


async def unit_area(tx: Tx, units: list[int]) -> Area | None:
    """What a backing unit's contact sees: the members it sent, in whichever teams they
    are (or were), and nothing else."""
    sent = await sent_by(tx, units)
    if sent is None:
        return None
    teams: dict[int, Team] = {}
    for person_id in sent.people:
        for team in await tx.member_teams(person_id):
            teams.setdefault(team.id, team)
        for recall in await tx.person_recalls([person_id]):
            if recall.team_id not in teams:
                teams[recall.team_id] = await tx.get_team(recall.team_id)
    return Area("area", sent.name, list(teams.values()), sent.people)


async def _caller_area(
    tx: Tx, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> tuple[Area, list[str]] | Problem:
    """The teams the caller oversees: in a team's group, that team; privately, a county
    admin's counties, a coordinator's townships, or a leader's teams. A last word that is one
    of their team codes narrows it to that team; the other words are returned."""
    person = await tx.get_person_by_tg(user.id)
    roles = await tx.active_roles(person.id) if person else []
    if not private:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return Problem("err.no_team")
        if not access.may_see_team_day(roles, scope_of(team)):
            return Problem("digest.err.not_allowed")
        return Area("team", team_label(team), [team]), words
    teams = await area_of(tx, roles)
    led = [r.team_id for r in roles if r.role == "leader" and r.team_id]
    for team_id in led:
        if all(t.id != team_id for t in teams):
            teams.append(await tx.get_team(team_id))
    if not teams:
        sent = unit_ids(roles)
        unit = await unit_area(tx, sent) if sent else None
        if unit is not None and unit.teams:
            return unit, words
        return Problem("unit.err.no_members" if unit else "digest.err.not_allowed")
    if words:
        chosen = [t for t in teams if (t.code or "").lower() == words[-1].lower()]
        if chosen:
            return Area("team", team_label(chosen[0]), chosen), words[:-1]
        if await tx.get_team_by_code(words[-1]) is not None:
            return Problem("digest.err.other_team", {"code": words[-1]})
    return Area(*_area_name(roles, teams), teams), words


def _area_name(roles: list[Role], teams: list[Team]) -> tuple[ScopeKind, str]:
    if any(r.role == "admin" for r in roles):
        counties = sorted({t.county_name for t in teams if t.county_name})
        return "county", ", ".join(counties)
    if any(r.role == "coordinator" for r in roles):
        townships = sorted({t.township_name for t in teams if t.township_name})
        return "township", ", ".join(townships)
    if len(teams) == 1:
        return "team", team_label(teams[0])
    return "area", ", ".join(team_label(t) for t in teams)


async def digest_on_demand(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> DigestRecords | Problem:
    """``/digest [week|day|month [YYYY-MM]] [team code]``: its records (the figures are
    computed where it is drawn, as for a scheduled one)."""
    async with store.transaction() as tx:
        found = await _caller_area(tx, user, chat_id, private, words)
        if isinstance(found, Problem):
            return found
        area, words = found
        today = local_moment(now, area.teams[0].tz).date()
        period = parse_period(words, today)
        if isinstance(period, Problem):
            return period
        return await read_digest(
            tx, area.scope, area.name, area.teams, period, now,
            only=area.only, with_former=area.only is not None,
        )  # fmt: skip


# ---------------------------------------------------------------------- exports
@dataclass(frozen=True)
class Export:
    first: date
    last: date
    digest: Digest  # the day grid and the figures over the range
    teams: dict[int, Team]
    people: dict[int, Person]
    checkins: tuple[Checkin, ...]
    logs: tuple[WorkLog, ...]
    leave: tuple[LeaveRequest, ...]
    asked_last: date | None = None  # a last day after today, which the export stops short of


async def export_records(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> Export | Problem:
    """``/export <from> <to> [team code]``: every record of the area over the days, both
    included."""
    async with store.transaction() as tx:
        found = await _caller_area(tx, user, chat_id, private, words)
        if isinstance(found, Problem):
            return found
        area, words = found
        today = local_moment(now, area.teams[0].tz).date()
        if len(words) != 2:
            return Problem("export.usage")
        first, last = parse_day(words[0], today), parse_day(words[1], today)
        if first is None or last is None:
            return Problem("export.err.day", {"value": " ".join(words)})
        if last < first:
            first, last = last, first
        if first > today:
            return Problem("digest.err.future", {"value": first.isoformat()})
        asked_last = last if last > today else None
        last = min(last, today)
        if (last - first).days + 1 > MAX_EXPORT_DAYS:
            return Problem("export.err.too_long", {"days": MAX_EXPORT_DAYS})
        period = Period("monthly" if first.day == 1 else "weekly", first, last)
        digest = await build_digest(tx, area.scope, area.name, area.teams, period, now)
        checkins: list[Checkin] = []
        logs: list[WorkLog] = []
        for team in area.teams:
            checkins += await tx.export_checkins(first, last, team.id)
            logs += await tx.team_logs(team.id, first, last)
        leave = await tx.area_leave([t.id for t in area.teams], first, last)
        people = {m.person.id: m.person for m in await tx.area_members([t.id for t in area.teams])}
        for person_id in {c.person_id for c in checkins} | {g.person_id for g in logs}:
            if person_id not in people:
                people[person_id] = await tx.get_person(person_id)
        return Export(
            first,
            last,
            digest,
            {t.id: t for t in area.teams},
            people,
            tuple(checkins),
            tuple(logs),
            tuple(leave),
            asked_last,
        )


# ---------------------------------------------------------------------- scheduled digests
async def plan_digests(store: Store, now: datetime) -> int:
    """Plan each digest that has fallen due since the schedule began, once: the weekly one
    for every coordinator (their township), admin (their county, by township), leader
    (their team, privately or else in the group) and chief commander (their village,
    privately); the monthly compliance report likewise."""
    async with store.transaction() as tx:
        since_text = await tx.get_meta(SCHEDULE_SINCE)
        if since_text is None:
            return 0
        since = datetime.fromisoformat(since_text)
        counties: dict[int | None, list[Team]] = defaultdict(list)
        for team in await tx.all_teams():
            counties[team.county_id].append(team)
        holders = None
        planned: list[NewDelivery] = []
        for county_id, teams in counties.items():
            policy = await policy_for(tx, teams[0])
            if policy.digest_at is None:
                continue
            tz = teams[0].tz
            local = local_moment(now, tz)
            for kind in DIGEST_KINDS:
                period, due_local = due_period(
                    kind,
                    local.date(),
                    local.time().replace(tzinfo=None),
                    policy.digest_day,
                    policy.digest_at,
                )
                due_at = local_to_utc(due_local.date(), due_local.time(), tz)
                if due_at < since:
                    continue  # due before the bot ran its schedule: not "missed"
                scope = f"county:{county_id if county_id is not None else '-'}"
                if not await tx.plan_once(f"digest.{kind}", period.key, scope, now):
                    continue
                if holders is None:
                    holders = await tx.holders(
                        ("leader", "coordinator", "admin", "commander", "unit")
                    )
                planned += _digest_recipients(kind, period, due_at, county_id, teams, holders, tz)
        return await tx.add_deliveries(planned, now) if planned else 0


def _digest_recipients(
    kind: DigestKind,
    period: Period,
    due_at: datetime,
    county_id: int | None,
    teams: list[Team],
    holders: list[Holder],
    tz: str,
) -> list[NewDelivery]:
    by_id = {t.id: t for t in teams}
    townships = {t.township_id for t in teams if t.township_id is not None}
    out: list[NewDelivery] = []

    def add(holder: Holder, scope: str, scope_id: int, chat_id: int, team_id: int | None) -> None:
        person = holder.person
        out.append(
            NewDelivery(
                f"digest.{kind}",
                period.key,
                f"person:{person.id}:{scope}:{scope_id}",
                chat_id,
                due_at,
                person_id=person.id,
                team_id=team_id,
                payload={
                    "scope": scope,
                    "id": scope_id,
                    "tz": tz,
                    "first": period.first.isoformat(),
                    "last": period.last.isoformat(),
                    "lang": person.language_code,
                },
            )
        )

    for h in holders:
        if h.role == "coordinator" and h.township_id in townships:
            add(h, "township", h.township_id, h.person.tg_user_id, None)
        elif h.role == "admin" and county_id is not None and h.county_id == county_id:
            add(h, "county", county_id, h.person.tg_user_id, None)
        elif h.role == "leader" and h.team_id in by_id:
            team = by_id[h.team_id]
            chat = h.person.tg_user_id if h.private or team.chat_id is None else team.chat_id
            add(h, "team", team.id, chat, team.id)
        elif h.role == "commander" and h.team_id in by_id and h.private:
            # The village's chief commander reads its digest privately (never in its group).
            add(h, "team", h.team_id, h.person.tg_user_id, h.team_id)
        elif h.role == "unit" and kind == "monthly" and h.unit_id and h.county_id == county_id:
            # A backing unit hears monthly of the members it sent, privately.
            add(h, "unit", h.unit_id, h.person.tg_user_id, None)
    return out


async def scheduled_digest(store: Store, now: datetime, delivery: Delivery) -> DigestRecords | None:
    """The records of the digest a planned delivery stands for (its figures are computed
    where it is drawn); None if its place no longer exists."""
    payload = delivery.payload
    kind: DigestKind = "monthly" if delivery.kind == "digest.monthly" else "weekly"
    period = Period(kind, date.fromisoformat(payload["first"]), date.fromisoformat(payload["last"]))
    scope, place = payload["scope"], int(payload["id"])
    async with store.transaction() as tx:
        if scope == "unit":
            unit = await unit_area(tx, [place])
            if unit is None or not unit.teams:
                return None
            return await read_digest(
                tx, "area", unit.name, unit.teams, period, now, only=unit.only, with_former=True
            )
        if scope == "team":
            teams = [await tx.get_team(place)]
            name = team_label(teams[0])
        elif scope == "township":
            teams = await tx.area_teams([place], [], False)
            name = teams[0].township_name or "" if teams else ""
        else:
            teams = await tx.area_teams([], [place], False)
            name = teams[0].county_name or "" if teams else ""
        if not teams:
            return None
        return await read_digest(tx, scope, name, teams, period, now)


async def schedule_begins(store: Store, now: datetime) -> None:
    """The first start: digests due before it were never the bot's to send."""
    async with store.transaction() as tx:
        if await tx.get_meta(SCHEDULE_SINCE) is None:
            await tx.set_meta(SCHEDULE_SINCE, now.isoformat())
