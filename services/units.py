"""Backing units (后盾单位) and recall (召回): which unit sent each member, a county admin's
recall of a member (confirmed with a button), the unit's deadline to send a replacement,
who joins with an invite naming the recall and so closes it, interviews of the unit's heads
(约谈) recorded as notes, and a daily flag to the county while a recall is overdue.

Each function is one transaction; who is to hear of what is returned for the handler (or
the sweep) to render."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules import access
from rules.checkin import local_moment
from rules.ids import parse_id
from rules.invites import PREFIX
from rules.problems import Problem
from services.audience import Audience, Told
from services.org import (
    TgUser,
    answers_to,
    area_of,
    ensure_person,
    policy_for,
    scope_of,
    unit_ids,
)
from storage.base import Store, Tx
from storage.models import BackingUnit, Person, Recall, RecallNote, Role, Team

REPLACEMENT_HOURS = 7 * 24  # a replacement's invite lasts as long as the unit's deadline


# ---------------------------------------------------------------------- units
@dataclass(frozen=True)
class UnitChosen:
    person: Person
    unit: BackingUnit
    changed: bool


@dataclass(frozen=True)
class UnitList:
    own: BackingUnit | None
    units: tuple[BackingUnit, ...]
    added: BackingUnit | None = None  # ``/unit add``: the unit now on the county's list


async def _county_of(tx: Tx, person: Person, roles: list[Role]) -> int | None:
    """The county a person's roles place them in (their team's, their township's...)."""
    teams = await tx.member_teams(person.id)
    for team in teams:
        if team.county_id is not None:
            return team.county_id
    counties = {r.county_id for r in roles if r.role in ("admin", "unit") and r.county_id}
    return next(iter(counties), None)


async def choose_unit(
    store: Store, now: datetime, user: TgUser, chat_id: int, private: bool, words: list[str]
) -> UnitChosen | UnitList | Problem:
    """``/unit``: a member's backing unit and the county's list; ``/unit <name>`` names the
    unit that sent them (a unit of their county); ``/unit add <name>`` adds one (admins)."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        roles = await tx.active_roles(person.id)
        county_id = await _county_of(tx, person, roles)
        if county_id is None:
            return Problem("unit.err.no_county")
        if words and words[0].lower() in ("add", "添加"):
            name = " ".join(words[1:]).strip()
            if not any(r.role == "admin" and r.county_id == county_id for r in roles):
                return Problem("unit.err.admin_only")
            if not name or len(name) > 60:
                return Problem("unit.usage")
            unit = await tx.create_unit(county_id, name, now)
            return UnitList(None, tuple(await tx.county_units(county_id)), added=unit)
        units = await tx.county_units(county_id)
        if not words:
            own = (await tx.member_units([person.id])).get(person.id)
            return UnitList(own, tuple(units))
        if not await tx.member_teams(person.id):
            return Problem("unit.err.not_member")
        name = " ".join(words).strip()
        chosen = next((u for u in units if u.name.lower() == name.lower()), None)
        if chosen is None:
            names = ", ".join(u.name for u in units) or "—"
            return Problem("unit.err.unknown", {"name": name, "units": names})
        changed = await tx.set_member_unit(person.id, chosen.id, now, person.id)
        return UnitChosen(person, chosen, changed)


# ---------------------------------------------------------------------- recall
@dataclass(frozen=True)
class RecallView:
    recall: Recall
    member: Person
    team: Team
    unit: BackingUnit | None
    ordered_by: Person
    notes: tuple[tuple[RecallNote, str], ...] = ()
    replacement: Person | None = None


@dataclass(frozen=True)
class RecallStep:
    """A recall asked, confirmed, noted, closed or flagged, and who is to hear of it."""

    view: RecallView
    step: str  # asked, ordered, dropped, note, closed, overdue
    audience: tuple[Audience, ...] = ()
    missed: tuple[str, ...] = ()  # unit contacts the bot cannot write to
    days: int = 0  # days since ordered


async def _recall_view(tx: Tx, recall: Recall) -> RecallView:
    notes = [
        (n, (await tx.get_person(n.by)).display_name) for n in await tx.recall_notes(recall.id)
    ]
    return RecallView(
        recall,
        await tx.get_person(recall.person_id),
        await tx.get_team(recall.team_id),
        await tx.get_unit(recall.unit_id) if recall.unit_id else None,
        await tx.get_person(recall.ordered_by),
        tuple(notes),
        await tx.get_person(recall.replacement_id) if recall.replacement_id else None,
    )


async def _admin_area(tx: Tx, person: Person) -> tuple[list[Role], list[Team]] | Problem:
    roles = await tx.active_roles(person.id)
    if not any(r.role == "admin" for r in roles):
        return Problem("recall.err.admin_only")
    teams = [t for t in await area_of(tx, roles) if access.is_admin_for(roles, scope_of(t))]
    return roles, teams


async def _find_member(tx: Tx, teams: list[Team], word: str) -> tuple[Person, Team] | Problem:
    """A member of these teams by ``@username`` or by name (as the team list shows it)."""
    by_team = {t.id: t for t in teams}
    found = [
        (m.person, by_team[m.team_id])
        for m in await tx.area_members(list(by_team))
        if answers_to(m.person, word)
    ]
    if not found:
        return Problem("recall.err.who", {"word": word})
    if len(found) > 1:
        names = ", ".join(f"{p.display_name} ({t.village})" for p, t in found)
        return Problem("recall.err.several", {"word": word, "names": names})
    return found[0]


async def ask_recall(
    store: Store, now: datetime, user: TgUser, words: list[str]
) -> RecallStep | Problem:
    """``/recall <@member> <reason>``: a county admin asks; nothing happens until the
    confirmation button is pressed."""
    if len(words) < 2:
        return Problem("recall.usage")
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        area = await _admin_area(tx, person)
        if isinstance(area, Problem):
            return area
        found = await _find_member(tx, area[1], words[0])
        if isinstance(found, Problem):
            return found
        member, team = found
        unit = (await tx.member_units([member.id])).get(member.id)
        reason = " ".join(words[1:]).strip()
        recall = await tx.create_recall(
            member.id, team.id, unit.id if unit else None, reason, person.id, now
        )
        return RecallStep(await _recall_view(tx, recall), "asked")


async def decide_recall(
    store: Store, now: datetime, user: TgUser, recall_id: int, confirmed: bool, default_lang: str
) -> RecallStep | Problem:
    """The confirmation button: the member's roles in the team end today, the team, the
    member and the unit's contacts are told, and the unit's deadline starts."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        recall = await tx.get_recall(recall_id)
        if recall is None:
            return Problem("recall.err.unknown", {"id": recall_id})
        team = await tx.get_team(recall.team_id)
        if not access.is_admin_for(await tx.active_roles(person.id), scope_of(team)):
            return Problem("recall.err.admin_only")
        if recall.state != "asked":
            return Problem(f"recall.err.already.{recall.state}", {"id": recall.id})
        if not confirmed:
            await tx.change_recall(recall, {"state": "dropped"}, "recall.dropped", person.id, now)
            stored = await tx.get_recall(recall.id)
            assert stored is not None
            return RecallStep(await _recall_view(tx, stored), "dropped")
        policy = await policy_for(tx, team)
        changes = {
            "state": "open",
            "effective_day": local_moment(now, team.tz).date(),
            "due_at": now + timedelta(days=policy.recall_days),
        }
        if not await tx.change_recall(recall, changes, "recall.ordered", person.id, now):
            return Problem("recall.err.already.open", {"id": recall.id})
        for role in ("member", "leader"):
            await tx.revoke_role(recall.person_id, Role(role, team_id=team.id), now, person.id)
        stored = await tx.get_recall(recall.id)
        assert stored is not None
        view = await _recall_view(tx, stored)
        told = Told(tx, default_lang, skip=person.id)
        await told.group(team)
        await told.people([view.member])
        if stored.unit_id:
            await told.people(await tx.unit_contacts(stored.unit_id))
        await told.people(await tx.role_holders("commander", team_id=team.id))
        return RecallStep(view, "ordered", told.audience(), tuple(told.missed))


async def _admin_recall(
    tx: Tx, person: Person, word: str, *, unit_too: bool = False
) -> Recall | Problem:
    number = parse_id(word.lstrip("#"))
    recall = await tx.get_recall(number) if number is not None else None
    if recall is None or recall.state == "dropped":
        return Problem("recall.err.unknown", {"id": word})
    roles = await tx.active_roles(person.id)
    team = await tx.get_team(recall.team_id)
    allowed = access.is_admin_for(roles, scope_of(team)) or (
        unit_too and any(r.role == "unit" and r.unit_id == recall.unit_id for r in roles)
    )
    if not allowed:
        return Problem("recall.err.unknown", {"id": word})
    return recall


async def note_recall(
    store: Store, now: datetime, user: TgUser, words: list[str]
) -> RecallStep | Problem:
    """``/recall note <id> <text>``: an interview of the unit's heads (约谈), or any step
    taken, recorded with who and when."""
    if len(words) < 2:
        return Problem("recall.note_usage")
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        recall = await _admin_recall(tx, person, words[0])
        if isinstance(recall, Problem):
            return recall
        await tx.add_recall_note(recall, " ".join(words[1:]).strip(), person.id, now)
        return RecallStep(await _recall_view(tx, recall), "note")


@dataclass(frozen=True)
class ReplacementInvite:
    view: RecallView
    code: str
    bot_username: str | None
    hours: int


async def replacement_invite(
    store: Store, now: datetime, user: TgUser, words: list[str]
) -> ReplacementInvite | Problem:
    """``/recall replace <id>``: a single-use invite for the replacement, for a county admin
    or the unit's contact to pass on; whoever opens it joins the team and closes the recall."""
    if not words:
        return Problem("recall.replace_usage")
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        recall = await _admin_recall(tx, person, words[0], unit_too=True)
        if isinstance(recall, Problem):
            return recall
        if recall.state != "open":
            return Problem(f"recall.err.already.{recall.state}", {"id": recall.id})
        code = PREFIX + secrets.token_urlsafe(24)
        until = now + timedelta(hours=REPLACEMENT_HOURS)
        await tx.create_invite(
            code, "member", None, None, now, until, recall.team_id, None, recall.unit_id,
            recall.id,
        )  # fmt: skip
        return ReplacementInvite(
            await _recall_view(tx, recall), code, await tx.get_meta("bot_username"),
            REPLACEMENT_HOURS,
        )  # fmt: skip


async def close_by_replacement(
    tx: Tx, now: datetime, recall_id: int, replacement: Person, default_lang: str
) -> RecallStep | None:
    """A replacement opened the invite naming a recall: a member of the team now, sent by
    the same unit, and the recall is closed. None when it was closed already."""
    recall = await tx.get_recall(recall_id)
    if recall is None or recall.state != "open":
        return None
    changes = {"state": "closed", "closed_at": now, "replacement_id": replacement.id}
    if not await tx.change_recall(recall, changes, "recall.closed", replacement.id, now):
        return None
    await tx.grant_role(replacement.id, Role("member", team_id=recall.team_id), now, replacement.id)
    if recall.unit_id:
        await tx.set_member_unit(replacement.id, recall.unit_id, now, replacement.id)
    stored = await tx.get_recall(recall.id)
    assert stored is not None
    view = await _recall_view(tx, stored)
    told = Told(tx, default_lang, skip=replacement.id)
    await told.group(view.team)
    await told.people([view.ordered_by])
    if stored.unit_id:
        await told.people(await tx.unit_contacts(stored.unit_id))
    return RecallStep(view, "closed", told.audience(), days=_days(stored, now))


def _days(recall: Recall, now: datetime) -> int:
    return ((recall.closed_at or now) - recall.ordered_at).days


async def list_recalls(
    store: Store, now: datetime, user: TgUser
) -> tuple[RecallView, ...] | Problem:
    """``/recalls``: open ones first, then closed ones, newest first; for county admins and
    coordinators (their area's) and a unit's contacts (the members the unit sent)."""
    async with store.transaction() as tx:
        person = await ensure_person(tx, user, now)
        roles = await tx.active_roles(person.id)
        teams = await area_of(tx, roles)
        units = unit_ids(roles)
        if not teams and not units:
            return Problem("recall.err.not_allowed")
        found = {r.id: r for r in await tx.team_recalls([t.id for t in teams])}
        found.update({r.id: r for r in await tx.unit_recalls(units)})
        ordered = sorted(found.values(), key=lambda r: (r.state != "open", -r.id))
        return tuple([await _recall_view(tx, r) for r in ordered])


async def recall_sweep(store: Store, now: datetime, default_lang: str) -> list[RecallStep]:
    """Open recalls past the unit's deadline: the county's admins (and the unit's contacts)
    are told once a day, on the team's day, until a replacement closes it."""
    flagged: list[RecallStep] = []
    async with store.transaction() as tx:
        for recall in await tx.open_recalls():
            if recall.due_at is None or recall.due_at > now:
                continue
            team = await tx.get_team(recall.team_id)
            today: date = local_moment(now, team.tz).date()
            if recall.flagged_day == today:
                continue
            if not await tx.change_recall(
                recall, {"flagged_day": today}, "recall.overdue", None, now
            ):
                continue
            view = await _recall_view(tx, recall)
            told = Told(tx, default_lang)
            if team.county_id is not None:
                await told.people(await tx.role_holders("admin", county_id=team.county_id))
            if recall.unit_id:
                await told.people(await tx.unit_contacts(recall.unit_id))
            flagged.append(RecallStep(view, "overdue", told.audience(), days=_days(recall, now)))
    return flagged
