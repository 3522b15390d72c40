"""Who may do what. Roles are scoped: member and leader to a team, coordinator to a township,
admin to a county. A team not yet placed in a county is managed by its leaders and by any
county admin of the deployment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.models import Role


@dataclass(frozen=True)
class Scope:
    """Where a team sits in the organisation."""

    team_id: int
    township_id: int | None
    county_id: int | None


def is_member(roles: Iterable[Role], team_id: int) -> bool:
    return any(r.role == "member" and r.team_id == team_id for r in roles)


def is_leader(roles: Iterable[Role], team_id: int) -> bool:
    return any(r.role == "leader" and r.team_id == team_id for r in roles)


def is_commander(roles: Iterable[Role], team_id: int) -> bool:
    """The village's chief commander (总队长)."""
    return any(r.role == "commander" and r.team_id == team_id for r in roles)


def is_contact_for(roles: Iterable[Role], department_id: int | None) -> bool:
    return department_id is not None and any(
        r.role == "contact" and r.department_id == department_id for r in roles
    )


def is_any_admin(roles: Iterable[Role]) -> bool:
    return any(r.role == "admin" for r in roles)


def is_admin_for(roles: Iterable[Role], scope: Scope) -> bool:
    admins = [r for r in roles if r.role == "admin"]
    if scope.county_id is None:
        return bool(admins)
    return any(r.county_id == scope.county_id for r in admins)


def is_coordinator_for(roles: Iterable[Role], scope: Scope) -> bool:
    return scope.township_id is not None and any(
        r.role == "coordinator" and r.township_id == scope.township_id for r in roles
    )


def can_manage_team(roles: Iterable[Role], scope: Scope) -> bool:
    """Sites, settings, the group's language: the team's leaders and its county's admins."""
    held = list(roles)
    return is_leader(held, scope.team_id) or is_admin_for(held, scope)


def may_see_team_day(roles: Iterable[Role], scope: Scope) -> bool:
    """``/today``: the leaders, the township's coordinators, the county's admins and the
    village's chief commander."""
    held = list(roles)
    return (
        can_manage_team(held, scope)
        or is_coordinator_for(held, scope)
        or is_commander(held, scope.team_id)
    )


def may_work_problem(roles: Iterable[Role], scope: Scope, level: str) -> bool:
    """Who moves a problem at the level it waits at: the team (members and leaders), the
    township's coordinators, the county's admins; the village's commander at any level;
    and a level above may always act on what waits below it."""
    held = list(roles)
    if is_commander(held, scope.team_id):
        return True
    at = {
        "team": is_member(held, scope.team_id) or is_leader(held, scope.team_id),
        "township": is_coordinator_for(held, scope),
        "county": scope.county_id is not None and is_admin_for(held, scope),
    }
    order = ("team", "township", "county")
    return any(at[lv] for lv in order[order.index(level) :])


def may_colour_problem(roles: Iterable[Role], scope: Scope) -> bool:
    """The colour is the leader's, the commander's, a coordinator's or an admin's call."""
    held = list(roles)
    return (
        is_leader(held, scope.team_id)
        or is_commander(held, scope.team_id)
        or is_coordinator_for(held, scope)
        or is_admin_for(held, scope)
    )


def may_see_problems(roles: Iterable[Role], scope: Scope) -> bool:
    held = list(roles)
    return is_member(held, scope.team_id) or may_see_team_day(held, scope)


def may_keep_register(roles: Iterable[Role], scope: Scope) -> bool:
    """The household register: the members who visit the households, and the managers."""
    held = list(roles)
    return is_member(held, scope.team_id) or can_manage_team(held, scope)


def may_audit(roles: Iterable[Role], scope: Scope) -> bool:
    """Reverse checks are the inspectors' (the township's coordinators, the county's admins),
    never the team's own leaders: a team does not verify its own ledger."""
    held = list(roles)
    return is_coordinator_for(held, scope) or is_admin_for(held, scope)


def may_order_spot_checks(roles: Iterable[Role]) -> bool:
    """Spot checks are ordered by inspectors, for their township or county, never by a team."""
    return any(r.role in ("coordinator", "admin") for r in roles)


def may_set_policy(roles: Iterable[Role], scope: Scope) -> bool:
    """Attendance rules belong to the county: only its admins change them."""
    return scope.county_id is not None and is_admin_for(roles, scope)


def may_create_team(roles: Iterable[Role], is_group_admin: bool) -> bool:
    return is_group_admin or is_any_admin(roles)


def may_take_over_team(
    roles: Iterable[Role], scope: Scope, is_group_admin: bool, team_has_leader: bool
) -> bool:
    """``/setup`` in a group that already has a team: its leader or an admin may redo it; a
    group admin may only when the team has lost every leader."""
    held = list(roles)
    if is_leader(held, scope.team_id) or is_admin_for(held, scope):
        return True
    return is_group_admin and not team_has_leader


def may_bind_imported(roles: Iterable[Role], scope: Scope, is_group_admin: bool) -> bool:
    return is_group_admin or is_admin_for(roles, scope)


def may_set_group_lang(roles: Iterable[Role], scope: Scope | None, is_group_admin: bool) -> bool:
    if is_group_admin:
        return True
    return scope is not None and can_manage_team(roles, scope)


def visible_commands(
    roles: Iterable[Role], scope: Scope | None, in_group: bool, is_group_admin: bool
) -> list[str]:
    """The commands to list in /help for this person in this chat."""
    held = list(roles)
    commands = ["help", "lang"]
    if in_group:
        if scope is None:
            if may_create_team(held, is_group_admin):
                commands.append("setup")
            return commands
        commands += ["team", "rules"]
        if is_member(held, scope.team_id):
            commands += ["checkin", "me", "log", "logs", "household", "leave", "back", "leaves"]
            commands.append("makeup")
            commands += ["problem", "problems", "briefs", "unit"]
            commands += ["remind", "leave_team"]
        else:
            commands.append("join")
        if may_see_team_day(held, scope):
            commands += ["today", "digest", "export"]
            if not is_member(held, scope.team_id):
                commands += ["leaves", "logs", "problems", "briefs"]
        if is_leader(held, scope.team_id):
            commands.append("summary")
        if may_audit(held, scope):
            commands.append("summaries")  # reverse checks are private, never in a group
        if can_manage_team(held, scope):
            commands += ["setup", "site"]
        return commands
    commands.append("checkin")
    if any(r.role in ("member", "leader") for r in held):
        commands += ["me", "log", "logs", "leave", "back", "makeup"]
    commands += ["leaves", "rules", "start"]
    if any(r.role in ("member", "leader") for r in held):
        commands.append("remind")
    if any(r.role in ("coordinator", "admin", "leader", "commander") for r in held):
        commands += ["today", "digest", "export"]
    kinds = {r.role for r in held}
    if kinds & {"member", "leader", "coordinator", "admin", "commander", "contact"}:
        commands += ["problem", "problems"]
    if kinds & {"member", "leader", "coordinator", "admin", "commander"}:
        commands.append("briefs")
    if kinds & {"member", "leader", "admin", "unit"}:
        commands.append("unit")
    if "unit" in kinds:
        commands.append("digest")  # the members the unit sent
    if kinds & {"coordinator", "admin", "unit"}:
        commands.append("recalls")
    if kinds & {"coordinator", "admin"}:
        commands.append("assessment")
    if "admin" in kinds:
        commands += ["recall", "assess"]
    if may_order_spot_checks(held):
        if "logs" not in commands:
            commands.append("logs")
        commands += ["audit", "summaries", "spotcheck"]
    return commands


def may_decide_leave(roles: Iterable[Role], scope: Scope, level: str, escalated: bool) -> bool:
    """Leave is decided at the level its route has reached: the team's leaders, the
    township's coordinators or the county's admins. Escalated, the level above may too."""
    held = list(roles)
    allowed = {
        "leader": is_leader(held, scope.team_id),
        "township": is_coordinator_for(held, scope),
        "county": scope.county_id is not None and is_admin_for(held, scope),
    }
    above = {"leader": "township", "township": "county", "county": None}[level]
    return allowed[level] or (escalated and above is not None and allowed[above])
