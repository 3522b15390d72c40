"""Assessment (季度综合测评, 年度考核, 期满验收): each member's figures over a quarter, a
year or the posting, the ceiling the county's rules put on their grade with its reasons,
and the grade the county enters (audited, never computed). Information briefs (信息简报)
are kept here too: they are what a team reports besides its attendance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rules import access
from rules import assessment as rules
from rules.checkin import local_moment, local_to_utc
from rules.digest import Period, member_figures
from rules.problems import Problem
from services.digest import read_digest
from services.leave import member_team
from services.org import (
    TgUser,
    answers_to,
    area_of,
    ensure_person,
    policy_for,
    scope_of,
    team_label,
)
from storage.base import Store, Tx
from storage.models import Assessment, Brief, Person, Role, Team

MAX_BRIEF_CHARS = 4000


@dataclass(frozen=True)
class AssessedMember:
    team: str
    person_id: int
    name: str
    unit: str
    facts: rules.Facts
    briefs: int
    raised: int
    solved: int
    ceiling: rules.Ceiling
    grade: Assessment | None


@dataclass(frozen=True)
class AssessmentView:
    period: rules.AssessPeriod
    name: str
    rows: tuple[AssessedMember, ...]


async def _overseen(tx: Tx, roles: list[Role]) -> list[Team]:
    return [
        t
        for t in await area_of(tx, roles)
        if access.is_coordinator_for(roles, scope_of(t)) or access.is_admin_for(roles, scope_of(t))
    ]


async def assessment(
    store: Store, now: datetime, user: TgUser, words: list[str]
) -> AssessmentView | Problem:
    """``/assessment [2026-Q4|2026|posting] [team code]``: every member of the caller's area
    (recalled ones included, up to their recall) with figures and proposed ceiling."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        roles = await tx.active_roles(person.id)
        teams = await _overseen(tx, roles)
        if not teams:
            return Problem("assess.err.not_allowed")
        if words and (chosen := [t for t in teams if (t.code or "").lower() == words[-1].lower()]):
            teams, words = chosen, words[:-1]
        today = local_moment(now, teams[0].tz).date()
        period = rules.parse_period(words, today)
        if isinstance(period, Problem):
            return period
        name = ", ".join(sorted({t.county_name or t.village for t in teams}))
        rows = await _assess(tx, teams, period, now)
        return AssessmentView(period, team_label(teams[0]) if len(teams) == 1 else name, rows)


async def _assess(
    tx: Tx, teams: list[Team], period: rules.AssessPeriod, now: datetime
) -> tuple[AssessedMember, ...]:
    tz = teams[0].tz
    records = await read_digest(
        tx, "area", "", teams, Period("monthly", period.first, period.last), now, with_former=True
    )
    today, clock = records.today, records.clock
    last = min(period.last, today)
    since = local_to_utc(period.first, time(0), tz)
    until = local_to_utc(last, None, tz)
    people = [r.person_id for members in records.members.values() for r in members]
    units = await tx.member_units(people)
    facts = await tx.person_facts(people, since, until)
    recalled = {
        r.person_id
        for r in await tx.person_recalls(people)
        if r.effective_day and period.first <= r.effective_day <= period.last
    }
    briefs = Counter(b.person_id for b in await tx.team_briefs([t.id for t in teams],
                                                                 period.first, last))  # fmt: skip
    grades = await tx.assessments(people, period.key)
    rows: list[AssessedMember] = []
    for team in teams:
        policy = records.policies[team.id]
        for record in records.members.get(team.id, []):
            if record.left is not None and record.left < period.first:
                continue
            figures = member_figures(record, policy, period.first, period.last, today, clock)
            begin = max(period.first, record.joined or period.first)
            end = min(last, record.left or last)
            fact = rules.Facts(
                present=figures.present,
                nights=figures.nights,
                quota_days=rules.prorated_quota(policy.days, begin, end),
                quota_nights=rules.prorated_quota(policy.nights, begin, end),
                leave=figures.leave,
                log_days=rules.count_in(record.log_days, period.first, last),
                false_visits=figures.verdict_false,
                spot_findings=figures.spot_year,
                recalled=record.person_id in recalled,
                spot_flag=policy.spot_flag,
                spot_limit=policy.spot_limit,
            )
            unit = units.get(record.person_id)
            rows.append(
                AssessedMember(
                    team_label(team),
                    record.person_id,
                    record.name,
                    unit.name if unit else "",
                    fact,
                    briefs[record.person_id],
                    facts.get(record.person_id, {}).get("raised", 0),
                    facts.get(record.person_id, {}).get("solved", 0),
                    rules.ceiling(fact),
                    grades.get(record.person_id),
                )
            )
    return tuple(rows)


@dataclass(frozen=True)
class Graded:
    member: Person
    period: str
    grade: rules.Grade
    ceiling: rules.Ceiling  # the rules' proposal, shown beside a grade above it


async def grade(store: Store, now: datetime, user: TgUser, words: list[str]) -> Graded | Problem:
    """``/assess <@member> [period] <grade> <note>``: a county admin enters a grade; the
    note is required, and a grade above the proposed ceiling is kept with its reasons shown."""
    if len(words) < 3:
        return Problem("assess.usage")
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        roles = await tx.active_roles(person.id)
        teams = [t for t in await area_of(tx, roles) if access.is_admin_for(roles, scope_of(t))]
        if not teams:
            return Problem("assess.err.admin_only")
        who, rest = words[0], words[1:]
        today = local_moment(now, teams[0].tz).date()
        period = rules.parse_period([], today)
        if (
            rest
            and (given := rules.parse_period(rest[:1], today))
            and not isinstance(given, Problem)
        ):
            period, rest = given, rest[1:]
        assert not isinstance(period, Problem)
        if not rest or (chosen := rules.grade_of(rest[0])) is None:
            return Problem("assess.err.grade", {"word": rest[0] if rest else ""})
        note = " ".join(rest[1:]).strip()
        if not note:
            return Problem("assess.err.note")
        # Who is meant, among the members of the period (recalled ones too); then only
        # their team's figures are read, for the ceiling shown beside the grade.
        by_id = {t.id: t for t in teams}
        since = local_to_utc(period.first, time(0), teams[0].tz)
        roster = [(m.person, m.team_id) for m in await tx.area_members(list(by_id))]
        roster += [(f.person, f.team_id) for f in await tx.former_members(list(by_id), since)]
        matches = {(p.id, team_id): p for p, team_id in roster if answers_to(p, who)}
        if not matches:
            return Problem("recall.err.who", {"word": who})
        if len(matches) > 1:
            listed = ", ".join(
                f"{p.display_name} ({by_id[k[1]].village})" for k, p in matches.items()
            )
            return Problem("recall.err.several", {"word": who, "names": listed})
        [((member_id, team_id), member)] = matches.items()
        rows = await _assess(tx, [by_id[team_id]], period, now)
        row = next((r for r in rows if r.person_id == member_id), None)
        if row is None:  # a member only before the period
            return Problem("recall.err.who", {"word": who})
        await tx.add_assessment(member.id, period.key, chosen, note, person.id, now)
        return Graded(member, period.key, chosen, row.ceiling)


# ---------------------------------------------------------------------- briefs
@dataclass(frozen=True)
class BriefSent:
    brief: Brief
    team: Team
    month_count: int  # the team's briefs this month, this one included
    expected: int  # the county's expectation a month (0: none)


async def send_brief(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    message_id: int,
    text: str,
    file: tuple[str, str] | None,
    sent_at: datetime,
) -> BriefSent | Problem:
    """``#简报`` / ``#brief``: a team's information brief, as text, a photo or a document."""
    if not text.strip() and file is None:
        return Problem("brief.usage")
    if len(text) > MAX_BRIEF_CHARS:
        return Problem("brief.err.long", {"max": MAX_BRIEF_CHARS})
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        team = await member_team(tx, person, chat_id, private)
        if isinstance(team, Problem):
            return Problem(team.key.replace("leave.err.", "brief.err."))
        day = local_moment(sent_at, team.tz).date()
        brief = await tx.create_brief(
            team.id, person.id, chat_id, message_id, text.strip(),
            file[0] if file else None, file[1] if file else None, day, sent_at, now,
        )  # fmt: skip
        if brief is None:
            return Problem("brief.err.again")
        month_first = day.replace(day=1)
        count = len(await tx.team_briefs([team.id], month_first, day))
        policy = await policy_for(tx, team)
        return BriefSent(brief, team, count, policy.briefs_month)


@dataclass(frozen=True)
class BriefList:
    first: date
    last: date
    rows: tuple[tuple[Brief, Team, str], ...]  # the brief, its team, who sent it


async def list_briefs(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> BriefList | Problem:
    """``/briefs [this|last|month]``: the briefs of one's area (a team's in its group)."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        roles = await tx.active_roles(person.id)
        if private:
            teams = await area_of(tx, roles)
            teams += [t for t in await tx.member_teams(person.id) if t not in teams]
        else:
            found = await tx.get_team_by_chat(chat_id)
            teams = [found] if found else []
        if not teams:
            return Problem("brief.err.not_allowed")
        today = local_moment(now, teams[0].tz).date()
        word = words[0].lower() if words else "this"
        if word in ("month", "月"):
            first, last = today.replace(day=1), today
        elif word in ("last", "上周"):
            monday = today - timedelta(days=today.weekday() + 7)
            first, last = monday, monday + timedelta(days=6)
        else:
            first, last = today - timedelta(days=today.weekday()), today
        by_id = {t.id: t for t in teams}
        rows = []
        for brief in await tx.team_briefs(list(by_id), first, last):
            sender = await tx.get_person(brief.person_id)
            rows.append((brief, by_id[brief.team_id], sender.display_name))
        return BriefList(first, last, tuple(rows))
