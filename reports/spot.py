"""Spot-check texts: the question, the summary for whoever ordered it, a late answer's note,
and a member's standing against the county's consequence rule. From the catalogues."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.i18n import t
from reports.text import distance_text, mention_link
from rules.checkin import local_moment
from rules.policy import Policy
from rules.spotcheck import Standing
from services.org import team_label
from services.spotchecks import SpotReport
from storage.models import SpotPick


def ask_text(lang: str, payload: Mapping[str, Any]) -> str:
    """The question, as HTML: privately, or in the group naming the one member asked."""
    params = {"deadline": payload.get("deadline", ""), "minutes": payload.get("minutes", "")}
    mention = payload.get("mention")
    if mention:
        key = "spot.ask.group_live" if payload.get("live") else "spot.ask.group"
        return f"{mention_link(mention[0], mention[1])}: " + html.escape(t(lang, key, **params))
    key = "spot.ask.live" if payload.get("live") else "spot.ask.private"
    return html.escape(t(lang, key, **params))


def rule_text(lang: str, policy: Policy) -> str:
    """The county's consequence rule, as the member and the coordinator read it."""
    parts = []
    if policy.spot_flag:
        parts.append(t(lang, "spot.rule.flag", n=policy.spot_flag))
    if policy.spot_limit:
        parts.append(t(lang, "spot.rule.limit", n=policy.spot_limit))
    if not parts:
        return t(lang, "spot.rule.none")
    return t(lang, "spot.rule", rules=t(lang, "sep.list").join(parts))


def standing_text(lang: str, standing: Standing) -> str:
    return t(lang, f"spot.standing.{standing}")


def _clock(moment: datetime, tz: str) -> str:
    return local_moment(moment, tz).strftime("%H:%M")


def _answer(lang: str, pick: SpotPick, tz: str) -> str:
    assert pick.answered_at is not None
    return t(
        lang,
        f"spot.answer.{pick.answer}",
        time=_clock(pick.answered_at, tz),
        site=pick.site_name or "",
        distance=distance_text(lang, pick.distance_m or 0),
    )


def _pick_line(lang: str, report: SpotReport, pick: SpotPick) -> str:
    team = report.teams[pick.team_id]
    head = t(lang, "spot.line.head", name=pick.person.display_name, team=team_label(team))
    deadline = _clock(report.check.deadline, team.tz)
    if pick.result in ("present", "away"):
        body = _answer(lang, pick, team.tz)
    else:
        body = t(lang, f"spot.result.{pick.result}", deadline=deadline)
        if pick.answer is not None:
            body += t(lang, "spot.line.late", answer=_answer(lang, pick, team.tz))
    line = t(lang, f"spot.icon.{pick.result}") + " " + head + body
    if pick.refused:
        reasons = t(lang, "sep.list").join(t(lang, f"spot.refused.{r}") for r in pick.refused)
        line += t(lang, "spot.line.refused", reasons=reasons)
    if pick.named:
        line += t(lang, "spot.line.named")
    return line


def summary_text(lang: str, report: SpotReport) -> str:
    check = report.check
    tz = next(iter(report.teams.values())).tz
    lines = [
        t(
            lang,
            "spot.summary.title",
            id=check.id,
            area=check.area_name,
            day=local_moment(check.asked_at, tz).strftime("%Y-%m-%d"),
            asked=_clock(check.asked_at, tz),
            deadline=_clock(check.deadline, tz),
        )
    ]
    if check.ordered_by is None:
        lines.append(t(lang, "spot.summary.scheduled"))
    picks = sorted(report.picks, key=lambda p: (p.person.display_name, p.id))
    lines += [_pick_line(lang, report, p) for p in picks]
    found = [p for p in picks if p.person.id in report.year]
    lines.append(t(lang, "spot.summary.findings", n=len(found)))
    for pick in found:
        count = report.year[pick.person.id]
        lines.append(
            t(
                lang,
                "spot.summary.year",
                name=pick.person.display_name,
                n=count,
                standing=standing_text(lang, report.standing(count)),
            )
        )
    if found:
        lines.append(rule_text(lang, report.policy))
    return "\n".join(lines)


def late_text(lang: str, report: SpotReport) -> str:
    pick = report.late_pick
    assert pick is not None
    return t(lang, "spot.late_note", id=report.check.id) + "\n" + _pick_line(lang, report, pick)
