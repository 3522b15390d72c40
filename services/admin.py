"""Operator use cases run from the command line: role invites, bulk organisation import."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rules.invites import PREFIX, invite_problem
from rules.orgcsv import (
    RosterRow,
    RowProblem,
    TeamRow,
    parse_household_csv,
    parse_org_csv,
    parse_roster_csv,
)
from rules.problems import Problem
from services import units
from services.org import TgUser, ensure_person, make_leader
from storage.base import Store, Tx
from storage.models import County, Invite, Person, Role, Team, Township

DEFAULT_INVITE_HOURS = 72
# A roster's links go out by the county's own channels to dozens of people: a week to open them.
ROSTER_INVITE_HOURS = 168


# ---------------------------------------------------------------------- invites
@dataclass(frozen=True)
class InviteResult:
    code: str | None = None
    place: str | None = None
    created: tuple[str, ...] = ()
    problem: Problem | None = None


async def _county(tx: Tx, name: str, now: datetime, created: list[str]) -> County:
    county = await tx.get_county(name)
    if county is None:
        county = await tx.create_county(name, None, now, None)
        created.append(name)
    return county


async def create_invite(
    store: Store,
    now: datetime,
    role: Literal["coordinator", "admin", "commander", "contact", "unit"],
    *,
    county: str | None,
    township: str | None,
    hours: int = DEFAULT_INVITE_HOURS,
    team: str | None = None,
    department: str | None = None,
    unit: str | None = None,
) -> InviteResult:
    """A single-use code that makes whoever opens it a coordinator of a township, an admin
    of a county, the chief commander of a village (a team, by its code), a contact of a
    county department or of a backing unit. A county, township, department or unit named for
    the first time is created (and reported)."""
    if hours <= 0:
        return InviteResult(problem=Problem("invite.err.hours"))
    created: list[str] = []
    team_id = department_id = unit_id = None
    async with store.transaction() as tx:
        if role == "unit":
            if not county or not unit:
                return InviteResult(problem=Problem("invite.err.need_unit"))
            target = await _county(tx, county, now, created)
            sender = await tx.unit(target.id, unit)
            if sender is None:
                sender = await tx.create_unit(target.id, unit, now)
                created.append(f"{target.name} / {unit}")
            township_id, county_id, unit_id = None, target.id, sender.id
            place = f"{target.name} / {sender.name}"
        elif role == "commander":
            found_team = await tx.get_team_by_code(team) if team else None
            if found_team is None:
                return InviteResult(problem=Problem("invite.err.need_team", {"team": team or ""}))
            township_id, county_id, team_id = None, None, found_team.id
            place = f"{found_team.code} {found_team.village}"
        elif role == "contact":
            if not county or not department:
                return InviteResult(problem=Problem("invite.err.need_department"))
            target = await _county(tx, county, now, created)
            office = await tx.department(target.id, department)
            if office is None:
                office = await tx.create_department(target.id, department, now)
                created.append(f"{target.name} / {department}")
            township_id, county_id, department_id = None, target.id, office.id
            place = f"{target.name} / {office.name}"
        elif role == "admin":
            if not county:
                return InviteResult(problem=Problem("invite.err.need_county"))
            target = await _county(tx, county, now, created)
            township_id, county_id, place = None, target.id, target.name
        else:
            if not township:
                return InviteResult(problem=Problem("invite.err.need_township"))
            found = await tx.find_townships(township, county)
            if len(found) > 1:
                return InviteResult(
                    problem=Problem(
                        "invite.err.ambiguous",
                        {"township": township, "counties": ", ".join(t.county_name for t in found)},
                    )
                )
            if found:
                place_township: Township = found[0]
            elif not county:
                return InviteResult(
                    problem=Problem("invite.err.unknown_township", {"township": township})
                )
            else:
                parent = await _county(tx, county, now, created)
                place_township = await tx.create_township(parent.id, township, now, None)
                created.append(f"{parent.name} / {township}")
            township_id, county_id = place_township.id, None
            place = f"{place_township.county_name} / {place_township.name}"
        code = PREFIX + secrets.token_urlsafe(24)
        await tx.create_invite(
            code, role, township_id, county_id, now, now + timedelta(hours=hours),
            team_id, department_id, unit_id,
        )  # fmt: skip
    return InviteResult(code=code, place=place, created=tuple(created))


@dataclass(frozen=True)
class RedeemResult:
    role: str | None = None
    place: str | None = None
    problem: Problem | None = None
    replaced: units.RecallStep | None = None  # a replacement's invite closed this recall
    unit: str | None = None  # the unit a roster's invite says sent them


async def redeem_invite(
    store: Store, now: datetime, user: TgUser, code: str, default_lang: str = "zh"
) -> RedeemResult:
    """``/start <code>``: bind this Telegram account to the invite's role. Single use. A
    replacement's invite makes them a member of the recalled member's team and closes the
    recall."""
    async with store.transaction() as tx:
        invite = await tx.get_invite(code)
        problem = invite_problem(invite, now)
        if problem:
            return RedeemResult(problem=problem)
        assert invite is not None
        person = await ensure_person(tx, user, now)
        await tx.use_invite(code, person.id, now)
        if invite.recall_id is not None:
            step = await units.close_by_replacement(tx, now, invite.recall_id, person, default_lang)
            if step is None:
                return RedeemResult(problem=Problem("invite.err.recall_closed"))
            return RedeemResult("member", step.view.team.village, replaced=step)
        if invite.role in ("member", "leader") and invite.team_id is not None:
            return await _join_from_roster(tx, now, person, invite)
        role = Role(
            invite.role,
            team_id=invite.team_id,
            township_id=invite.township_id,
            county_id=invite.county_id,
            department_id=invite.department_id,
            unit_id=invite.unit_id,
        )
        await tx.grant_role(person.id, role, now, person.id)
        places = dict(await tx.role_places(person.id))
    return RedeemResult(role=invite.role, place=places.get(invite.role))


# ---------------------------------------------------------------------- import
@dataclass(frozen=True)
class ImportReport:
    problems: tuple[RowProblem, ...] = ()
    counties: int = 0
    townships: int = 0
    teams: int = 0
    sites: int = 0
    unchanged_teams: int = 0


async def import_org(
    store: Store, now: datetime, text: str, default_tz: str, *, dry_run: bool = False
) -> ImportReport:
    """Create counties, townships, teams and sites from CSV text. Every row is checked first,
    against the file and against the database; one bad row means nothing is written."""
    teams, problems = parse_org_csv(text, default_tz)
    if problems:
        return ImportReport(problems=tuple(problems))
    counts = {"counties": 0, "townships": 0, "teams": 0, "sites": 0, "unchanged_teams": 0}
    try:
        async with store.transaction() as tx:
            db_problems = await _write_org(tx, now, teams, counts)
            if db_problems or dry_run:
                raise _Rollback(db_problems)
    except _Rollback as rollback:
        if rollback.problems:
            return ImportReport(problems=tuple(rollback.problems))
    return ImportReport(
        counties=counts["counties"],
        townships=counts["townships"],
        teams=counts["teams"],
        sites=counts["sites"],
        unchanged_teams=counts["unchanged_teams"],
    )


class _Rollback(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("import rolled back")
        self.problems = problems


async def _write_org(
    tx: Tx, now: datetime, teams: list[TeamRow], counts: dict[str, int]
) -> list[RowProblem]:
    problems: list[RowProblem] = []
    counties: dict[str, County] = {}
    townships: dict[tuple[str, str], Township] = {}
    for row in teams:
        county = counties.get(row.county) or await tx.get_county(row.county)
        if county is None:
            county = await tx.create_county(row.county, row.tz, now, None)
            counts["counties"] += 1
        counties[row.county] = county
        key = (row.county, row.township)
        township = townships.get(key) or next(
            iter(await tx.find_townships(row.township, row.county)), None
        )
        if township is None:
            township = await tx.create_township(county.id, row.township, now, None)
            counts["townships"] += 1
        townships[key] = township
        existing = await tx.get_team_by_code(row.code)
        if existing is None:
            team = await tx.create_team(
                row.village, row.tz, now, None, code=row.code, township_id=township.id
            )
            counts["teams"] += 1
            for site in row.sites:
                await tx.add_site(
                    team.id, site.name, site.latitude, site.longitude, site.radius_m, now, None
                )
                counts["sites"] += 1
            continue
        # Importing the same file twice changes nothing; a different team under a known code
        # is refused rather than silently rewritten.
        if (existing.township_id, existing.village) != (township.id, row.village):
            problems.append(
                RowProblem(
                    row.line,
                    Problem(
                        "import.err.code_taken", {"code": row.code, "village": existing.village}
                    ),
                )
            )
            continue
        known = {s.name: s for s in await tx.list_sites(existing.id)}
        added = False
        for site in row.sites:
            old = known.get(site.name)
            if old is None:
                await tx.add_site(
                    existing.id, site.name, site.latitude, site.longitude, site.radius_m, now, None
                )
                counts["sites"] += 1
                added = True
            elif (old.latitude, old.longitude, old.radius_m) != (
                site.latitude,
                site.longitude,
                site.radius_m,
            ):
                problems.append(
                    RowProblem(
                        site.line,
                        Problem("import.err.site_differs", {"code": row.code, "site": site.name}),
                    )
                )
        if not added:
            counts["unchanged_teams"] += 1
    return problems


# ---------------------------------------------------------------------- households
@dataclass(frozen=True)
class HouseholdImport:
    added: int = 0
    existing: int = 0
    teams: int = 0
    problems: tuple[RowProblem, ...] = ()


async def import_households(
    store: Store,
    now: datetime,
    text: str,
    *,
    dry_run: bool = False,
    team: Team | None = None,
    actor_id: int | None = None,
) -> HouseholdImport:
    """Add households to team registers from CSV text; names already there are left as they
    are. Every row is checked first; one bad row means nothing is written. With ``team``
    (an import in the team's own chat) every row belongs to it."""
    rows, problems = parse_household_csv(text, need_team=team is None)
    if problems:
        return HouseholdImport(problems=tuple(problems))
    counts = {"added": 0, "existing": 0}
    touched: set[int] = set()
    try:
        async with store.transaction() as tx:
            db_problems: list[RowProblem] = []
            for row in rows:
                target = team
                if row.team_code is not None:
                    found = await tx.get_team_by_code(row.team_code)
                    if found is None or (team is not None and found.id != team.id):
                        problem = Problem("import.err.household_team", {"code": row.team_code})
                        db_problems.append(RowProblem(row.line, problem))
                        continue
                    target = found
                assert target is not None
                touched.add(target.id)
                source = "command" if actor_id is not None else "import"
                added = await tx.add_household(target.id, row.name, row.note, source, now, actor_id)
                counts["added" if added else "existing"] += 1
            if db_problems or dry_run:
                raise _Rollback(db_problems)
    except _Rollback as rollback:
        if rollback.problems:
            return HouseholdImport(problems=tuple(rollback.problems))
    return HouseholdImport(counts["added"], counts["existing"], len(touched))


async def _join_from_roster(tx: Tx, now: datetime, person: Person, invite: Invite) -> RedeemResult:
    assert invite.team_id is not None
    team = await tx.get_team(invite.team_id)
    if invite.role == "leader":
        await make_leader(tx, person, team, now)
    else:
        await tx.grant_role(person.id, Role("member", team_id=team.id), now, person.id)
    unit = None
    if invite.unit_id is not None:
        await tx.set_member_unit(person.id, invite.unit_id, now, person.id)
        unit = await tx.get_unit(invite.unit_id)
    return RedeemResult(invite.role, team.village, unit=unit.name if unit else None)


# ---------------------------------------------------------------------- a roster
@dataclass(frozen=True)
class RosterInvite:
    row: RosterRow
    team: Team
    code: str


@dataclass(frozen=True)
class RosterImport:
    invites: tuple[RosterInvite, ...] = ()
    created_units: tuple[str, ...] = ()
    expires_at: datetime | None = None
    problems: tuple[RowProblem, ...] = ()


async def import_roster(
    store: Store,
    now: datetime,
    text: str,
    *,
    hours: int = ROSTER_INVITE_HOURS,
    dry_run: bool = False,
) -> RosterImport:
    """A personal invite for every row of a county's roster: whoever opens it becomes a
    member, leader or chief commander of the row's team, sent by the row's unit (created in
    the team's county when new). Every row is checked first; one bad row writes nothing."""
    if hours <= 0:
        return RosterImport(problems=(RowProblem(1, Problem("invite.err.hours")),))
    rows, problems = parse_roster_csv(text)
    expires_at = now + timedelta(hours=hours)
    made: list[RosterInvite] = []
    created: list[str] = []
    try:
        async with store.transaction() as tx:
            # The rows that read well are checked against the database too, so that one run
            # names every line to fix.
            db_problems: list[RowProblem] = list(problems)
            for row in rows:
                team = await tx.get_team_by_code(row.team_code)
                if team is None:
                    problem = Problem("import.err.roster_team", {"code": row.team_code})
                    db_problems.append(RowProblem(row.line, problem))
                    continue
                unit_id = None
                if row.unit is not None:
                    if team.county_id is None:
                        problem = Problem("import.err.roster_county", {"code": team.code})
                        db_problems.append(RowProblem(row.line, problem))
                        continue
                    unit = await tx.unit(team.county_id, row.unit)
                    if unit is None:
                        unit = await tx.create_unit(team.county_id, row.unit, now)
                        created.append(row.unit)
                    unit_id = unit.id
                code = PREFIX + secrets.token_urlsafe(24)
                await tx.create_invite(
                    code, row.role, None, None, now, expires_at, team.id, None, unit_id,
                    made_for=row.name,
                )  # fmt: skip
                made.append(RosterInvite(row, team, code))
            if db_problems or dry_run:
                raise _Rollback(db_problems)
    except _Rollback as rollback:
        if rollback.problems:
            return RosterImport(problems=tuple(sorted(rollback.problems, key=lambda p: p.line)))
    return RosterImport(tuple(made), tuple(created), expires_at)
