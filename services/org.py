"""The organisation's use cases: teams, membership, sites, language. Each function is one
transaction; it takes plain values (who, where, what, when) and returns a result for the
handler to render. Rules decide; storage records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from rules import access
from rules import policy as policies
from rules.geo import SiteAwaitingLocation, SiteSpec, check_coordinates
from rules.ids import parse_id
from rules.lang import LANGS, pick_lang
from rules.permissions import RELATIONS, Relation
from rules.policy import Policy
from rules.problems import Problem
from storage.base import Store, Tx
from storage.models import BackingUnit, Person, Role, Site, Team, TeamPerson

MAX_VILLAGE_NAME = 64
SITE_LOCATION_WAIT = timedelta(minutes=15)


@dataclass(frozen=True)
class TgUser:
    """The Telegram account behind an update, as plain values."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


async def ensure_person(tx: Tx, user: TgUser, now: datetime) -> Person:
    return await tx.upsert_person(
        user.id, user.first_name, user.last_name, user.username, user.language_code, now
    )


async def _roles_of(tx: Tx, user: TgUser) -> list[Role]:
    person = await tx.get_person_by_tg(user.id)
    return await tx.active_roles(person.id) if person else []


def scope_of(team: Team) -> access.Scope:
    return access.Scope(team.id, team.township_id, team.county_id)


def outside_group(team: Team, chat_id: int, private: bool) -> Problem | None:
    """In a group the bot answers only about that group's team: another team's records,
    asked for there, would be read by the wrong group."""
    if private or team.chat_id == chat_id:
        return None
    return Problem("err.ask_private")


def answers_to(person: Person, word: str) -> bool:
    """Whether ``@username``, a full name or a first name (any case) names this person."""
    wanted = word.lstrip("@").casefold()
    names = (person.username or "", person.display_name, person.first_name)
    return wanted in (n.casefold() for n in names if n)


async def lang_of(tx: Tx, person: Person, default: str) -> str:
    """The language to write to someone privately in."""
    return pick_lang(
        await tx.get_chat_lang(person.tg_user_id), person.language_code, default, private=True
    )


async def group_lang(tx: Tx, team: Team, default: str) -> str:
    """The language of a team's group."""
    chosen = await tx.get_chat_lang(team.chat_id) if team.chat_id else None
    return pick_lang(chosen, None, default, private=False)


def team_label(team: Team) -> str:
    return f"{team.code} {team.village}" if team.code else team.village


async def policy_for(tx: Tx, team: Team | None) -> Policy:
    """The team's county's rules, else the deployment default, else the built-in one."""
    stored = await tx.get_policy(team.county_id) if team and team.county_id else None
    if stored is None:
        stored = await tx.get_policy(None)
    return policies.from_json(stored)


async def area_of(tx: Tx, roles: list[Role]) -> list[Team]:
    """The teams a coordinator's townships and an admin's counties hold (an admin also sees
    teams placed in no county), and the villages a chief commander answers for."""
    townships = [r.township_id for r in roles if r.role == "coordinator" and r.township_id]
    counties = [r.county_id for r in roles if r.role == "admin" and r.county_id]
    teams = await tx.area_teams(townships, counties, access.is_any_admin(roles))
    # A chief commander's villages are theirs to see, wherever they lie.
    for role in roles:
        if role.role == "commander" and role.team_id and all(t.id != role.team_id for t in teams):
            teams.append(await tx.get_team(role.team_id))
    return teams


@dataclass(frozen=True)
class SentBy:
    """What a backing unit's contact may read: the units they speak for and the people
    those units sent (members now or before, in any team)."""

    units: tuple[BackingUnit, ...]
    people: frozenset[int]

    @property
    def name(self) -> str:
        return ", ".join(u.name for u in self.units)

    @property
    def counties(self) -> frozenset[int]:
        return frozenset(u.county_id for u in self.units)


def unit_ids(roles: list[Role]) -> list[int]:
    return [r.unit_id for r in roles if r.role == "unit" and r.unit_id]


async def sent_by(tx: Tx, units: list[int]) -> SentBy | None:
    """The units (by id) and everyone they sent; None when none of them exists."""
    found = [u for u in [await tx.get_unit(i) for i in units] if u is not None]
    if not found:
        return None
    people: set[int] = set()
    for unit in found:
        people.update(await tx.unit_people(unit.id))
    return SentBy(tuple(found), frozenset(people))


async def make_leader(tx: Tx, person: Person, team: Team, now: datetime) -> None:
    # A leader is a member too: leaders check in and write logs like everyone else.
    await tx.grant_role(person.id, Role("leader", team_id=team.id), now, person.id)
    await tx.grant_role(person.id, Role("member", team_id=team.id), now, person.id)


# ---------------------------------------------------------------------- /setup
@dataclass(frozen=True)
class SetupResult:
    outcome: Literal["created", "bound", "renamed", "already", "refused"]
    team: Team | None = None
    problem: Problem | None = None
    old_village: str | None = None


async def setup_team(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    argument: str,
    is_group_admin: bool,
    default_tz: str,
) -> SetupResult:
    """``/setup <village>`` creates a team, ``/setup <team code>`` binds an imported one."""
    argument = " ".join(argument.split())
    if len(argument) > MAX_VILLAGE_NAME:
        return SetupResult(
            "refused", problem=Problem("setup.err.name_long", {"max": MAX_VILLAGE_NAME})
        )
    async with store.transaction() as tx:
        roles = await _roles_of(tx, user)
        existing = await tx.get_team_by_chat(chat_id)
        if existing is not None:
            return await _setup_again(tx, now, user, existing, roles, argument, is_group_admin)
        if not argument:
            return SetupResult("refused", problem=Problem("setup.err.usage"))
        imported = await tx.get_team_by_code(argument)
        if imported is not None:
            if imported.chat_id is not None:
                return SetupResult(
                    "refused", problem=Problem("setup.err.code_bound", {"code": argument})
                )
            if not access.may_bind_imported(roles, scope_of(imported), is_group_admin):
                return SetupResult("refused", problem=Problem("setup.err.not_admin"))
            person = await ensure_person(tx, user, now)
            await tx.bind_team_chat(imported.id, chat_id, now, person.id)
            await make_leader(tx, person, imported, now)
            return SetupResult("bound", await tx.get_team(imported.id))
        if not access.may_create_team(roles, is_group_admin):
            return SetupResult("refused", problem=Problem("setup.err.not_admin"))
        person = await ensure_person(tx, user, now)
        team = await tx.create_team(argument, default_tz, now, person.id, chat_id=chat_id)
        await make_leader(tx, person, team, now)
        return SetupResult("created", team)


async def _setup_again(
    tx: Tx,
    now: datetime,
    user: TgUser,
    team: Team,
    roles: list[Role],
    argument: str,
    is_group_admin: bool,
) -> SetupResult:
    has_leader = await tx.count_role_holders("leader", team.id) > 0
    if not access.may_take_over_team(roles, scope_of(team), is_group_admin, has_leader):
        return SetupResult("refused", team, Problem("setup.err.taken", {"village": team.village}))
    other = await tx.get_team_by_code(argument) if argument else None
    if other is not None and other.id != team.id:
        return SetupResult(
            "refused",
            team,
            Problem("setup.err.group_has_team", {"village": team.village, "code": argument}),
        )
    person = await ensure_person(tx, user, now)
    if not has_leader:
        await make_leader(tx, person, team, now)
    if argument and other is None and argument != team.village:
        await tx.rename_team(team.id, argument, now, person.id)
        return SetupResult("renamed", await tx.get_team(team.id), old_village=team.village)
    return SetupResult("already", team)


# ---------------------------------------------------------------------- membership
@dataclass(frozen=True)
class MembershipResult:
    outcome: Literal["no_team", "joined", "already", "left", "not_member"]
    team: Team | None = None
    team_lost_leader: bool = False


async def join_team(store: Store, now: datetime, user: TgUser, chat_id: int) -> MembershipResult:
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return MembershipResult("no_team")
        person = await ensure_person(tx, user, now)
        granted = await tx.grant_role(person.id, Role("member", team_id=team.id), now, person.id)
        return MembershipResult("joined" if granted else "already", team)


async def leave_team(store: Store, now: datetime, user: TgUser, chat_id: int) -> MembershipResult:
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return MembershipResult("no_team")
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return MembershipResult("not_member", team)
        left = await tx.revoke_role(person.id, Role("member", team_id=team.id), now, person.id)
        was_leader = await tx.revoke_role(
            person.id, Role("leader", team_id=team.id), now, person.id
        )
        if not left and not was_leader:
            return MembershipResult("not_member", team)
        lost = was_leader and await tx.count_role_holders("leader", team.id) == 0
        return MembershipResult("left", team, team_lost_leader=lost)


# ---------------------------------------------------------------------- the permission table
def relations_to(roles: list[Role], team: Team) -> frozenset[Relation]:
    """How the holder of these roles stands to a team, for the permission table."""
    scope = scope_of(team)
    held: set[Relation] = set()
    if access.is_member(roles, team.id):
        held.add("member")
    if access.is_leader(roles, team.id):
        held.add("leader")
    if access.is_coordinator_for(roles, scope):
        held.add("coordinator")
    elif any(r.role == "coordinator" for r in roles):
        held.add("coordinator_other")
    if access.is_admin_for(roles, scope):
        held.add("admin")
    elif any(r.role == "admin" for r in roles):
        held.add("admin_other")
    if access.is_commander(roles, team.id):
        held.add("commander")
    elif any(r.role == "commander" for r in roles):
        held.add("commander_other")
    if team.county_id is not None:
        kinds = {r.role for r in roles if r.county_id == team.county_id}
        held.update(k for k in ("contact", "unit") if k in kinds)
    return frozenset(held or {"stranger"})


def _own_relations(roles: list[Role]) -> frozenset[Relation]:
    """Privately, with no team named: the kinds of role held anywhere."""
    kinds = {r.role for r in roles}
    return frozenset(k for k in RELATIONS if k in kinds) or frozenset({"stranger"})


async def relations(
    store: Store, user: TgUser, chat_id: int, private: bool, words: list[str], takes_team: bool
) -> tuple[frozenset[Relation], str | None] | None:
    """The caller's relations for a command here, and the code of the team they are to: the
    group's team, or privately the team a word names (when the command takes one), else
    their own kinds of role (no code). None in a group that is not a team (each command says
    what that means)."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        if not private:
            team = await tx.get_team_by_chat(chat_id)
            return (relations_to(roles, team), None) if team else None
        for word in words if takes_team else []:
            named = await tx.get_team_by_code(word)
            if named is not None:
                return relations_to(roles, named), named.code
        return _own_relations(roles), None


async def button_relations(
    store: Store, user: TgUser, kind: str, parts: list[str]
) -> frozenset[Relation] | None:
    """The presser's relations to the team a button is about: a leave request's, a make-up
    request's, a refused check-in's, a log's;
    the leave dialogue is one's own. None when what it names is gone (the button's own
    handler says so)."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        if kind in ("ld", "mu"):  # one's own dialogue, one's own missed window
            return _own_relations(roles)
        number = parse_id(parts[0]) if parts else None
        if number is None:
            return None
        if kind == "rc":
            recall = await tx.get_recall(number)
            return relations_to(roles, await tx.get_team(recall.team_id)) if recall else None
        if kind == "pb":
            problem = await tx.get_problem(number)
            if problem is None:
                return None
            held = relations_to(roles, await tx.get_team(problem.team_id)) - {"contact"}
            # A contact stands to a problem only through the department it is assigned to.
            if access.is_contact_for(roles, problem.department_id):
                held = (held - {"stranger"}) | {"contact"}
            return held or frozenset({"stranger"})
        found = (
            await tx.get_leave(number)
            if kind == "lv"
            else await tx.get_checkin_request(number)
            if kind == "mk"
            else await tx.get_checkin(number)
            if kind == "fd"
            else await tx.get_log(number)
        )
        if found is None or found.team_id is None:
            return None
        return relations_to(roles, await tx.get_team(found.team_id))


# ---------------------------------------------------------------------- the group itself
@dataclass(frozen=True)
class LeftGroup:
    """Someone left the team's group, or was removed from it: their roles there ended."""

    team: Team
    person: Person
    removed_by: Person | None  # None: they left by themselves
    team_lost_leader: bool


async def left_group(
    store: Store, now: datetime, chat_id: int, user: TgUser, by: TgUser | None
) -> LeftGroup | None:
    """A member who is no longer in the group cannot check in there or be counted as its
    member: their member and leader roles end, recorded with who removed them. None when
    they held no role (or Telegram told us twice: once as a member update, once as the
    group's service message)."""
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        person = await tx.get_person_by_tg(user.id)
        if team is None or person is None:
            return None
        remover = await tx.get_person_by_tg(by.id) if by and by.id != user.id else None
        if by is not None and by.id != user.id and remover is None:
            remover = await ensure_person(tx, by, now)
        actor = remover.id if remover else person.id
        ended = [
            role
            for role in ("member", "leader")
            if await tx.revoke_role(person.id, Role(role, team_id=team.id), now, actor)
        ]
        if not ended:
            return None
        await tx.note_event(
            "team.left_group", now, actor, team.id, person_id=person.id, roles=ended
        )
        lost = "leader" in ended and await tx.count_role_holders("leader", team.id) == 0
        return LeftGroup(team, person, remover, lost)


@dataclass(frozen=True)
class BotMoved:
    """The bot was removed from a team's group, or added back to it."""

    team: Team
    removed: bool
    by: Person | None
    admins: tuple[tuple[Person, str], ...]  # the county's admins it can tell, in their language
    group_lang: str


async def bot_membership(
    store: Store, now: datetime, chat_id: int, present: bool, by: TgUser | None, default: str
) -> BotMoved | None:
    """A team whose group lost the bot stays bound (its records are the group's) but is
    flagged: nothing is planned for it, and its county's admins are told. Added back, it
    works again as before. None for a group that is no team, or no change."""
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return None
        actor = await ensure_person(tx, by, now) if by is not None else None
        if not await tx.set_bot_removed(chat_id, not present, now, actor.id if actor else None):
            return None
        admins = await tx.role_holders("admin", county_id=team.county_id) if team.county_id else []
        reachable = await tx.privately_reachable([a.id for a in admins])
        told = []
        for admin in (a for a in admins if a.id in reachable):
            chosen = await tx.get_chat_lang(admin.tg_user_id)
            told.append((admin, pick_lang(chosen, admin.language_code, default, private=True)))
        group_lang = pick_lang(await tx.get_chat_lang(chat_id), None, default, private=False)
        return BotMoved(team, not present, actor, tuple(told), group_lang)


# ---------------------------------------------------------------------- /team
@dataclass(frozen=True)
class TeamView:
    team: Team
    people: list[TeamPerson]
    sites: list[Site]
    units: dict[int, str]  # by person: the backing unit that sent them


async def team_view(store: Store, chat_id: int) -> TeamView | None:
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return None
        people = await tx.team_people(team.id)
        units = await tx.member_units([p.person.id for p in people])
        return TeamView(
            team, people, await tx.list_sites(team.id), {k: u.name for k, u in units.items()}
        )


# ---------------------------------------------------------------------- sites
@dataclass(frozen=True)
class SiteResult:
    outcome: Literal["added", "awaiting", "removed", "listed", "refused"]
    team: Team | None = None
    site: Site | None = None
    sites: tuple[Site, ...] = ()
    problem: Problem | None = None
    name: str | None = None
    converted_from: str | None = None  # the map datum a typed centre was converted from


async def _managed_team(tx: Tx, user: TgUser, chat_id: int) -> Team | Problem:
    team = await tx.get_team_by_chat(chat_id)
    if team is None:
        return Problem("err.no_team")
    if not access.can_manage_team(await _roles_of(tx, user), scope_of(team)):
        return Problem("err.leaders_only")
    return team


async def add_site(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    spec: SiteSpec | SiteAwaitingLocation,
) -> SiteResult:
    async with store.transaction() as tx:
        team = await _managed_team(tx, user, chat_id)
        if isinstance(team, Problem):
            return SiteResult("refused", problem=team)
        if any(s.name == spec.name for s in await tx.list_sites(team.id)):
            return SiteResult(
                "refused", team, problem=Problem("site.err.exists", {"name": spec.name})
            )
        person = await ensure_person(tx, user, now)
        if isinstance(spec, SiteAwaitingLocation):
            await tx.set_pending(
                chat_id,
                person.id,
                "site.add",
                {"name": spec.name, "radius_m": spec.radius_m},
                now,
                now + SITE_LOCATION_WAIT,
            )
            return SiteResult("awaiting", team, name=spec.name)
        site = await tx.add_site(
            team.id, spec.name, spec.latitude, spec.longitude, spec.radius_m, now, person.id
        )
        converted = spec.datum if spec.datum != "wgs84" else None
        return SiteResult("added", team, site, converted_from=converted)


async def site_from_location(
    store: Store, now: datetime, user: TgUser, chat_id: int, latitude: float, longitude: float
) -> SiteResult | None:
    """A shared location completes a pending ``/site add <name>``; None if nothing waits."""
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        if person is None:
            return None
        pending = await tx.take_pending(chat_id, person.id, "site.add", now)
        if pending is None:
            return None
    name, radius = str(pending.payload["name"]), int(pending.payload["radius_m"])
    problem = check_coordinates(latitude, longitude)
    if problem:
        return SiteResult("refused", problem=problem)
    return await add_site(store, now, user, chat_id, SiteSpec(name, latitude, longitude, radius))


async def list_sites(store: Store, user: TgUser, chat_id: int) -> SiteResult:
    async with store.transaction() as tx:
        team = await tx.get_team_by_chat(chat_id)
        if team is None:
            return SiteResult("refused", problem=Problem("err.no_team"))
        return SiteResult("listed", team, sites=tuple(await tx.list_sites(team.id)))


async def remove_site(
    store: Store, now: datetime, user: TgUser, chat_id: int, name: str
) -> SiteResult:
    async with store.transaction() as tx:
        team = await _managed_team(tx, user, chat_id)
        if isinstance(team, Problem):
            return SiteResult("refused", problem=team)
        person = await ensure_person(tx, user, now)
        if not await tx.remove_site(team.id, name, now, person.id):
            return SiteResult("refused", team, problem=Problem("site.err.unknown", {"name": name}))
        return SiteResult("removed", team, name=name)


# ---------------------------------------------------------------------- language, help
async def chat_lang(
    store: Store, chat_id: int, private: bool, user_language: str | None, default: str
) -> str:
    async with store.transaction() as tx:
        chosen = await tx.get_chat_lang(chat_id)
    return pick_lang(chosen, user_language, default, private=private)


async def set_chat_lang(
    store: Store,
    now: datetime,
    user: TgUser,
    chat_id: int,
    private: bool,
    lang: str,
    is_group_admin: bool,
) -> Problem | None:
    if lang not in LANGS:
        return Problem("lang.usage")
    async with store.transaction() as tx:
        if not private:
            team = await tx.get_team_by_chat(chat_id)
            scope = scope_of(team) if team else None
            if not access.may_set_group_lang(await _roles_of(tx, user), scope, is_group_admin):
                return Problem("err.leaders_only")
        person = await ensure_person(tx, user, now)
        await tx.set_chat_lang(chat_id, lang, now, person.id)
    return None


@dataclass(frozen=True)
class HelpView:
    commands: list[str]
    roles: list[tuple[str, str]]
    team: Team | None


async def help_view(
    store: Store, user: TgUser, chat_id: int, in_group: bool, is_group_admin: bool
) -> HelpView:
    async with store.transaction() as tx:
        person = await tx.get_person_by_tg(user.id)
        roles = await tx.active_roles(person.id) if person else []
        places = await tx.role_places(person.id) if person else []
        team = await tx.get_team_by_chat(chat_id) if in_group else None
    scope = scope_of(team) if team else None
    return HelpView(access.visible_commands(roles, scope, in_group, is_group_admin), places, team)


async def migrate_chat(
    store: Store, now: datetime, old_chat_id: int, new_chat_id: int
) -> Team | None:
    """The group became a supergroup; the team moves with it and is returned. Telegram
    announces it twice (in the old and in the new chat): the second call returns None."""
    async with store.transaction() as tx:
        # What still waits to be said in the old group goes to the new one.
        await tx.outbox_move_chat(old_chat_id, new_chat_id)
        if not await tx.migrate_chat(old_chat_id, new_chat_id, now):
            return None
        return await tx.get_team_by_chat(new_chat_id)
