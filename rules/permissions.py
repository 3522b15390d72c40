"""Who may use which command where: the one table, consulted before any command runs.

A cell is a *relation* to a team and a kind of chat. In a team's group the relation is to
that group's team; in a private chat it is to the team a command names by its code (for the
commands that take one), or else the kinds of role the person holds anywhere. A person may
stand in several relations at once (a leader is usually a member too): a cell allows them if
any of theirs is allowed.

The services check the same things again, in more detail (which request is at whose level,
which township a team is in); the table is what a refusal says first and what the README's
table is made from, so the documentation and the behaviour cannot drift. ``tests/
test_permissions.py`` walks every cell through the offline server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.problem_list import action_of

Relation = Literal[
    "member",
    "leader",
    "coordinator",  # of the team's township
    "coordinator_other",  # of another township
    "admin",  # of the team's county
    "admin_other",  # of another county
    "commander",  # the village's chief commander (总队长)
    "commander_other",  # of another village
    "contact",  # a department's contact, in the team's county (to a problem: its department)
    "unit",  # a backing unit's contact, in the team's county
    "stranger",  # no role that touches the team (or none at all)
]
RELATIONS: tuple[Relation, ...] = (
    "member",
    "leader",
    "coordinator",
    "coordinator_other",
    "admin",
    "admin_other",
    "commander",
    "commander_other",
    "contact",
    "unit",
    "stranger",
)
ChatKind = Literal["group", "private"]

_ALL: frozenset[Relation] = frozenset(RELATIONS)
_TEAM: frozenset[Relation] = frozenset({"member", "leader"})
_OVERSEE: frozenset[Relation] = frozenset({"leader", "coordinator", "admin"})
_INSPECT: frozenset[Relation] = frozenset({"coordinator", "admin"})
_MANAGE: frozenset[Relation] = frozenset({"leader", "admin"})
_NONE: frozenset[Relation] = frozenset()
# A chief commander sees the village's day, logs, leave and problems as a coordinator does.
_COMMAND: frozenset[Relation] = frozenset({"commander"})
_WATCH = _OVERSEE | _COMMAND
# The problem list: who works on a problem at some level, and who decides its colour.
_PROBLEM_HANDS = _TEAM | _OVERSEE | _COMMAND
_PROBLEM_CHIEFS = _OVERSEE | _COMMAND
_CONTACT: frozenset[Relation] = frozenset({"contact"})
_ASSIGN: frozenset[Relation] = frozenset({"admin", "commander"})
_UNIT: frozenset[Relation] = frozenset({"unit"})
_ADMIN: frozenset[Relation] = frozenset({"admin"})


@dataclass(frozen=True)
class Rule:
    """One command (or ``command subcommand``): who may use it in a team's group and in a
    private chat, and what a refusal says in each."""

    group: frozenset[Relation]
    private: frozenset[Relation]
    group_refusal: str
    private_refusal: str
    takes_team: bool = False  # a word may name a team by its code (privately: that team)
    note: str = ""  # what the services decide beyond the table, for the README


TABLE: dict[str, Rule] = {
    "help": Rule(_ALL, _ALL, "", ""),
    "start": Rule(_NONE, _ALL, "", "", note="an invite link gives its role"),
    "lang": Rule(_ALL, _ALL, "", "", note="setting a group's: leader, county admin, group admin"),
    "setup": Rule(
        _ALL, _NONE, "", "setup.err.private", note="a group admin, the leader or a county admin"
    ),
    "join": Rule(_ALL, _NONE, "", "join.err.private"),
    "leave_team": Rule(_ALL, _NONE, "", "join.err.private"),
    "team": Rule(_ALL, _NONE, "", "err.group_only"),
    "site": Rule(_ALL, _NONE, "", "site.err.private", note="the list"),
    "site add": Rule(_MANAGE, _NONE, "err.leaders_only", "site.err.private"),
    "site remove": Rule(_MANAGE, _NONE, "err.leaders_only", "site.err.private"),
    "checkin": Rule(_ALL, _ALL, "", ""),
    "checkin annul": Rule(
        _NONE,
        frozenset({"admin"}),
        "correct.err.private",
        "correct.err.not_admin",
        note="a check-in of one's county, by its id (/export lists them)",
    ),
    "checkin restore": Rule(
        _NONE,
        frozenset({"admin"}),
        "correct.err.private",
        "correct.err.not_admin",
        note="an annulled check-in of one's county",
    ),
    "rules": Rule(_ALL, _ALL, "", ""),
    "rules set": Rule(frozenset({"admin"}), _NONE, "rules.err.not_admin", "rules.usage"),
    "me": Rule(_TEAM, _TEAM, "me.err.not_member", "me.err.not_member"),
    "today": Rule(
        _WATCH, _WATCH, "today.err.not_allowed", "today.err.not_allowed", takes_team=True
    ),
    "digest": Rule(
        _WATCH,
        _WATCH | _UNIT,
        "digest.err.not_allowed",
        "digest.err.not_allowed",
        takes_team=True,
        note="privately, a unit's contact: the members it sent",
    ),
    "export": Rule(
        _WATCH, _WATCH, "digest.err.not_allowed", "digest.err.not_allowed", takes_team=True
    ),
    "remind": Rule(_ALL, _TEAM, "", "remind.err.not_member", note="changing one's own: members"),
    "remind team": Rule(_MANAGE, _NONE, "remind.err.not_leader", "remind.err.not_leader"),
    "leave": Rule(_TEAM, _TEAM, "leave.err.not_member", "leave.err.not_member"),
    "back": Rule(_TEAM, _TEAM, "leave.err.not_member", "leave.err.not_member"),
    "makeup": Rule(
        _TEAM,
        _TEAM,
        "makeup.err.not_member",
        "makeup.err.not_member",
        note="one's own missed window",
    ),
    "makeup cancel": Rule(
        _TEAM,
        _TEAM,
        "makeup.err.not_member",
        "makeup.err.not_member",
        note="one's own waiting request",
    ),
    "leaves": Rule(_ALL, _ALL, "", "", note="one's own; in the group, the team's for overseers"),
    "log": Rule(_TEAM, _TEAM, "log.err.not_member", "log.err.not_member"),
    "log history": Rule(
        _TEAM | _WATCH, _ALL, "logs.err.not_allowed", "", note="its writer and its readers"
    ),
    "logs": Rule(
        _TEAM | _WATCH,
        _TEAM | _INSPECT | _COMMAND | _UNIT,
        "logs.err.not_allowed",
        "logs.err.not_allowed",
        takes_team=True,
        note="privately, a unit's contact: the members it sent",
    ),
    "household": Rule(_TEAM | _OVERSEE, _TEAM, "household.err.not_allowed", "err.group_only"),
    "household add": Rule(_TEAM | {"admin"}, _TEAM, "household.err.not_allowed", "err.group_only"),
    "audit": Rule(_NONE, _INSPECT, "audit.err.private", "audit.err.not_allowed", takes_team=True),
    "summary": Rule(
        frozenset({"leader"}),
        frozenset({"leader"}),
        "summary.err.not_leader",
        "summary.err.not_leader",
    ),
    "summaries": Rule(_INSPECT, _INSPECT, "summaries.err.not_allowed", "summaries.err.not_allowed"),
    "spotcheck": Rule(_NONE, _INSPECT, "spot.err.private", "spot.err.not_allowed", takes_team=True),
    # The problem list. ``/problem <text>`` raises one (members) and ``/problem <id>`` shows
    # one; ``/problem <id> <action> …`` acts on it (rule_for reads the action).
    "problem": Rule(
        _PROBLEM_HANDS,
        _TEAM | _INSPECT | _COMMAND | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
        note="raising: members; showing: whoever may act on it",
    ),
    "problem colour": Rule(
        _PROBLEM_CHIEFS,
        _PROBLEM_CHIEFS,
        "problem.err.colour_who",
        "problem.err.colour_who",
        note="red 红, yellow 黄, green 绿, with why",
    ),
    "problem category": Rule(
        _PROBLEM_HANDS, _PROBLEM_HANDS, "problem.err.not_allowed", "problem.err.not_allowed"
    ),
    "problem escalate": Rule(
        _PROBLEM_HANDS,
        _PROBLEM_HANDS,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
        note="at the level it waits at; the commander at any",
    ),
    "problem assign": Rule(
        _ASSIGN,
        _ASSIGN,
        "problem.err.assign_who",
        "problem.err.assign_who",
        note="to a department of the county, once it is at the county",
    ),
    "problem accept": Rule(_NONE, _CONTACT, "problem.err.private", "problem.err.contact_only"),
    "problem note": Rule(
        _PROBLEM_HANDS,
        _PROBLEM_HANDS | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
        note="a progress note",
    ),
    "problem resolve": Rule(
        _PROBLEM_HANDS,
        _PROBLEM_HANDS | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
        note="with a note; at the level it waits at, or its department",
    ),
    "problem confirm": Rule(
        _TEAM | _COMMAND,
        _TEAM | _COMMAND,
        "problem.err.team_only",
        "problem.err.team_only",
        note="confirmed with the household",
    ),
    "problem reopen": Rule(
        _TEAM | _COMMAND,
        _TEAM | _COMMAND,
        "problem.err.team_only",
        "problem.err.team_only",
        note="not solved after all",
    ),
    "problems": Rule(
        _PROBLEM_HANDS,
        _TEAM | _INSPECT | _COMMAND | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
        note="in the group its team's; privately one's queue and area",
    ),
    # Backing units, recall and replacement, assessment, briefs.
    "unit": Rule(
        _TEAM,
        _TEAM | _ADMIN | _UNIT,
        "unit.err.not_member",
        "unit.err.not_member",
        note="one's own unit, and the county's list",
    ),
    "unit add": Rule(_NONE, _ADMIN, "unit.err.private", "unit.err.admin_only"),
    "recall": Rule(
        _NONE,
        _ADMIN,
        "recall.err.private",
        "recall.err.admin_only",
        note="a member of one's county, confirmed with a button",
    ),
    "recall note": Rule(_NONE, _ADMIN, "recall.err.private", "recall.err.admin_only"),
    "recall replace": Rule(
        _NONE,
        _ADMIN | _UNIT,
        "recall.err.private",
        "recall.err.admin_only",
        note="an invite for the replacement: the county or the unit",
    ),
    "recalls": Rule(_NONE, _INSPECT | _UNIT, "recall.err.private", "recall.err.not_allowed"),
    "assessment": Rule(
        _NONE, _INSPECT, "assess.err.private", "assess.err.not_allowed", takes_team=True
    ),
    "assess": Rule(_NONE, _ADMIN, "assess.err.private", "assess.err.admin_only"),
    "briefs": Rule(
        _TEAM | _WATCH,
        _TEAM | _INSPECT | _COMMAND,
        "brief.err.not_allowed",
        "brief.err.not_allowed",
    ),
}

# Buttons, by their data's kind and action (``v1:lv:12:a`` is ``lv a``). The relation is to
# the team of what the button is about (the request, the log), wherever it is pressed; the
# services then check the object itself (the level a request waits at, who wrote the log).
BUTTONS: dict[str, Rule] = {
    "lv a": Rule(_OVERSEE, _OVERSEE, "leave.err.not_approver", "leave.err.not_approver"),
    "lv r": Rule(_OVERSEE, _OVERSEE, "leave.err.not_approver", "leave.err.not_approver"),
    "lv c": Rule(_TEAM, _TEAM, "leave.err.not_yours", "leave.err.not_yours"),
    "ld": Rule(_TEAM, _TEAM, "leave.err.dialogue_other", "leave.err.dialogue_other"),
    "lg": Rule(_TEAM, _TEAM, "log.err.not_team", "log.err.not_team"),
    "mk": Rule(_OVERSEE, _OVERSEE, "makeup.err.deciders", "makeup.err.deciders"),
    "fd": Rule(_TEAM, _TEAM, "field.err.team_only", "field.err.team_only"),
    "mu": Rule(_TEAM, _TEAM, "makeup.err.not_member", "makeup.err.not_member"),
    "pb c": Rule(
        _PROBLEM_HANDS, _PROBLEM_HANDS, "problem.err.colour_who", "problem.err.colour_who"
    ),
    "pb k": Rule(
        _PROBLEM_HANDS, _PROBLEM_HANDS, "problem.err.not_allowed", "problem.err.not_allowed"
    ),
    "pb a": Rule(
        _COMMAND | _CONTACT,
        _COMMAND | _CONTACT,
        "problem.err.contact_only",
        "problem.err.contact_only",
    ),
    "pb n": Rule(
        _PROBLEM_HANDS | _CONTACT,
        _PROBLEM_HANDS | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
    ),
    "pb s": Rule(
        _PROBLEM_HANDS | _CONTACT,
        _PROBLEM_HANDS | _CONTACT,
        "problem.err.not_allowed",
        "problem.err.not_allowed",
    ),
    "pb y": Rule(
        _TEAM | _COMMAND, _TEAM | _COMMAND, "problem.err.team_only", "problem.err.team_only"
    ),
    "pb x": Rule(
        _TEAM | _COMMAND, _TEAM | _COMMAND, "problem.err.team_only", "problem.err.team_only"
    ),
    "rc": Rule(_ADMIN, _ADMIN, "recall.err.admin_only", "recall.err.admin_only"),
}
BUTTON_NAMES = {
    "lv a": "leave: Approve",
    "lv r": "leave: Reject",
    "lv c": "leave: Cancel",
    "ld": "leave dialogue: kind, days",
    "lg": "log: households",
    "mk": "make-up, field check-in: Approve, Reject",
    "fd": "check in as field work",
    "mu": "make up a missed window (under its reminder)",
    "pb c": "problem: colour",
    "pb k": "problem: category",
    "pb a": "problem: accept (its department)",
    "pb n": "problem: progress note",
    "pb s": "problem: resolved",
    "pb y": "problem: confirmed by the household",
    "pb x": "problem: not solved",
    "rc": "recall: Confirm, Cancel",
}


def button_rule(kind: str, parts: list[str]) -> tuple[str, Rule] | None:
    """The row for a button's decoded data: ``lv`` by its action (last), ``pb`` by its
    action (after the problem's id), the others by kind."""
    key = kind
    if kind == "lv" and parts:
        key = f"lv {parts[-1]}"
    elif kind == "pb" and len(parts) >= 2:
        key = f"pb {parts[1]}"
    return (key, BUTTONS[key]) if key in BUTTONS else None


# Subcommands typed in Chinese, and the row each is.
_ALIASES = {
    "recall": {"约谈": "note", "备注": "note", "替换": "replace", "补派": "replace"},
    "unit": {"添加": "add"},
}


def rule_for(command: str, words: list[str]) -> tuple[str, Rule] | None:
    """The most specific row for a command and its first word: ``site add`` before ``site``;
    ``/problem 12 red`` is ``problem colour`` (the action follows the problem's id)."""
    if command == "problem" and len(words) >= 2 and words[0].lstrip("#").isdigit():
        action = action_of(words[1])
        if action is not None:
            return f"problem {action}", TABLE[f"problem {action}"]
    if words and (alias := _ALIASES.get(command, {}).get(words[0].lower())):
        return f"{command} {alias}", TABLE[f"{command} {alias}"]
    if words and f"{command} {words[0].lower()}" in TABLE:
        key = f"{command} {words[0].lower()}"
        return key, TABLE[key]
    return (command, TABLE[command]) if command in TABLE else None


# Relations that put someone inside a team (or above it): with none of these to a team a
# command names, the refusal says the team is not theirs rather than what the command is for.
_RELATED: frozenset[Relation] = frozenset({"member", "leader", "coordinator", "admin"})


def unrelated(held: frozenset[Relation]) -> bool:
    return not held & _RELATED


def allowed(rule: Rule, held: frozenset[Relation], chat: ChatKind) -> bool:
    return bool((rule.group if chat == "group" else rule.private) & held)


def refusal(rule: Rule, chat: ChatKind) -> str:
    """The catalogue key a refused cell answers with; empty: say nothing (``/start`` in a
    group, which village groups' other bots may answer)."""
    return rule.group_refusal if chat == "group" else rule.private_refusal


_LABELS = {
    "member": "member",
    "leader": "leader",
    "coordinator": "coordinator",
    "coordinator_other": "coordinator, other township",
    "admin": "admin",
    "admin_other": "admin, other county",
    "commander": "commander",
    "commander_other": "commander, other village",
    "contact": "department contact",
    "unit": "unit contact",
    "stranger": "anyone else",
}


def markdown() -> str:
    """The table as the README shows it: ✓ allowed, · refused, one row per command and chat."""
    head = "| command | chat | " + " | ".join(_LABELS[r] for r in RELATIONS) + " |"
    rows = [head, "| --- | --- |" + " --- |" * len(RELATIONS)]
    for key, rule in TABLE.items():
        for chat in ("group", "private"):
            cells = rule.group if chat == "group" else rule.private
            marks = " | ".join("✓" if r in cells else "·" for r in RELATIONS)
            rows.append(f"| `/{key}` | {chat} | {marks} |")
    for key, rule in BUTTONS.items():
        marks = " | ".join("✓" if r in rule.group else "·" for r in RELATIONS)
        rows.append(f"| button {BUTTON_NAMES[key]} | any | {marks} |")
    return "\n".join(rows)
