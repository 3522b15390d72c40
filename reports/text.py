"""Digest and reminder texts, from the catalogues."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_interval, format_skeleton

from bot.i18n import t
from reports import chart
from rules.digest import Digest, MemberFigures, Period, Rollup, TeamFigures
from rules.problem_list import CATEGORIES, ProblemFigures

# A digest's text stays one message; the spreadsheet has every figure.
TEXT_LIMIT = 3500


def title(lang: str, period: Period, name: str) -> str:
    if period.kind == "monthly":
        return t(lang, "digest.title.monthly", month=period.key, name=name)
    return t(
        lang,
        "digest.title.weekly",
        first=period.first.isoformat(),
        last=period.last.isoformat(),
        week=period.key,
        name=name,
    )


def _member_line(lang: str, m: MemberFigures) -> str:
    line = t(
        lang,
        "digest.member",
        name=m.name,
        present=m.present,
        nights=m.nights,
        leave=m.leave,
        absent=m.absent,
        missed=m.missed_checkins,
        no_log=m.no_log,
        month_present=m.month.present,
        quota=m.month.quota_days,
        pace=t(lang, f"digest.pace.{m.pace}"),
    )
    if m.verdict_ok or m.verdict_false:
        line += t(lang, "digest.verdicts", ok=m.verdict_ok, false=m.verdict_false)
    return line + _exceptions(lang, m) + _spot(lang, m)


def exception_items(lang: str, field: int, made_up: int, annulled: int) -> str:
    """``1 field, 2 made up``: the check-ins that are not plain ones, those there are."""
    counts = {"field": field, "made_up": made_up, "annulled": annulled}
    return t(lang, "sep.list").join(t(lang, f"exception.{k}", n=n) for k, n in counts.items() if n)


def _exceptions(lang: str, m: MemberFigures) -> str:
    items = exception_items(lang, m.field, m.made_up, m.annulled)
    return t(lang, "digest.exceptions", items=items) if items else ""


def _spot(lang: str, m: MemberFigures) -> str:
    if not (m.spot_findings or m.spot_year):
        return ""
    standing = (
        ""
        if m.standing == "clear"
        else t(lang, "digest.spot_standing", standing=t(lang, f"spot.standing.{m.standing}"))
    )
    return t(lang, "digest.spot", findings=m.spot_findings, year=m.spot_year, standing=standing)


def _compliance_line(lang: str, m: MemberFigures) -> str:
    month = m.month
    met = month.present >= month.quota_days and month.nights >= month.quota_nights
    key = "digest.compliance_nights" if month.quota_nights else "digest.compliance"
    line = t(
        lang,
        key,
        name=m.name,
        present=month.present,
        quota=month.quota_days,
        nights=month.nights,
        quota_nights=month.quota_nights,
        leave=month.leave,
        verdict=t(lang, "digest.met" if met else "digest.not_met"),
    )
    if m.verdict_ok or m.verdict_false:
        line += t(lang, "digest.verdicts", ok=m.verdict_ok, false=m.verdict_false)
    return line + _exceptions(lang, m) + _spot(lang, m)


def _team_block(lang: str, team: TeamFigures, monthly: bool, summary_in: bool | None) -> str:
    lines = []
    if monthly:
        lines.append(t(lang, "digest.team_head", team=team.label, members=len(team.members)))
        lines += [_compliance_line(lang, m) for m in team.members]
        if summary_in is False:
            lines.append(t(lang, "digest.summary_missing"))
    elif team.needs_attention:
        lines.append(t(lang, "digest.team_attention", team=team.label))
        lines += [_member_line(lang, m) for m in team.members if m.needs_attention]
    else:
        lines.append(t(lang, "digest.team_ok", team=team.label, members=len(team.members)))
    return "\n".join(lines)


def _rollup_line(lang: str, r: Rollup) -> str:
    return t(
        lang,
        "digest.rollup",
        township=r.township or "—",
        teams=r.teams,
        attention=r.attention,
        members=r.members,
        behind=r.behind,
        at_risk=r.at_risk,
        absent=r.absent,
        no_log=r.no_log,
    )


def category_name(lang: str, category: str) -> str:
    """A category of the built-in list in the reader's language; a county's own as written."""
    return t(lang, f"problem.category.{category}") if category in CATEGORIES else category


def problem_lines(lang: str, figures: ProblemFigures | None) -> list[str]:
    """A digest's problem section: the list as it stands, the period's solved ones and how
    long they took, and (a county's) the categories raised in several villages."""
    if figures is None or not (figures.open or figures.raised or figures.resolved):
        return []
    c, lv = figures.open_by_colour, figures.open_by_level
    median = (
        t(lang, "digest.problems.median", days=figures.median_days)
        if figures.median_days is not None
        else ""
    )
    lines = [
        t(
            lang,
            "digest.problems",
            open=figures.open,
            red=c["red"],
            yellow=c["yellow"],
            green=c["green"],
            overdue=figures.overdue,
            raised=figures.raised,
            resolved=figures.resolved,
            median=median,
            team=lv["team"],
            township=lv["township"],
            county=lv["county"],
        )
    ]
    for common in figures.common:
        lines.append(
            t(
                lang,
                "digest.problems.common",
                category=category_name(lang, common.category),
                n=len(common.villages),
                villages=t(lang, "sep.list").join(common.villages),
                problems=common.problems,
            )
        )
    return lines


def brief_lines(
    lang: str, teams: Sequence[TeamFigures], briefs: Mapping[int, int], expected: int
) -> list[str]:
    """How many information briefs each team sent in the period; in a month, with the
    county's expectation, the teams short of it."""
    total = sum(briefs.values())
    if not total and not expected:
        return []
    sent = [f"{team.label} {briefs[team.team_id]}" for team in teams if briefs.get(team.team_id)]
    lines = [t(lang, "digest.briefs", n=total, teams=t(lang, "sep.list").join(sent) or "—")]
    short = [f"{team.label} {briefs.get(team.team_id, 0)}" for team in teams
             if briefs.get(team.team_id, 0) < expected]  # fmt: skip
    if short:
        lines.append(
            t(lang, "digest.briefs_short", expected=expected, teams=t(lang, "sep.list").join(short))
        )
    return lines


def digest_text(
    lang: str,
    period: Period,
    name: str,
    teams: Sequence[TeamFigures],
    townships: Sequence[Rollup],
    summaries: frozenset[int],
    late_since: datetime | None = None,
    spot_rule: str | None = None,
    problems: ProblemFigures | None = None,
    briefs: Mapping[int, int] | None = None,
    briefs_expected: int = 0,
) -> str:
    """Short: the teams needing attention with their members, one line for each team on
    track, a county's townships first; what does not fit is in the spreadsheet."""
    monthly = period.kind == "monthly"
    members = sum(len(team.members) for team in teams)
    attention = sum(1 for team in teams if team.needs_attention)
    head = [title(lang, period, name)]
    if late_since is not None:
        head.append(t(lang, "digest.late", due=late_since.strftime("%Y-%m-%d %H:%M")))
    head.append(t(lang, "digest.overview", teams=len(teams), members=members, attention=attention))
    if not members:
        head.append(t(lang, "digest.empty"))
    if spot_rule and any(m.spot_year for team in teams for m in team.members):
        head.append(t(lang, "digest.spot_rule", rule=spot_rule))
    head += problem_lines(lang, problems)
    head += brief_lines(lang, teams, briefs or {}, briefs_expected if monthly else 0)
    blocks = [_rollup_line(lang, r) for r in townships]
    if townships:
        blocks.append("")
    blocks += [
        _team_block(lang, team, monthly, (team.team_id in summaries) if monthly else None)
        for team in teams
        if team.members
    ]
    text = "\n".join(head)
    for at, block in enumerate(blocks):
        if len(text) + len(block) + 1 > TEXT_LIMIT:
            return text + "\n" + t(lang, "digest.more", count=len(blocks) - at)
        text += "\n" + block
    return text


def _date(lang: str, day: date, skeleton: str) -> str:
    return format_skeleton(skeleton, day, locale=lang)


def chart_words(lang: str, digest: Digest, shown: Sequence[TeamFigures] = ()) -> chart.Words:
    """The chart's texts: its title, its dates with their weekdays, the key, and for an area
    the headings and what the grid leaves out (``shown``: what :func:`chart.fit` kept)."""
    period = digest.period
    if period.kind == "monthly":
        head = t(
            lang, "chart.title.monthly", month=_date(lang, period.first, "yMMMM"), name=digest.name
        )
    else:
        head = t(lang, "chart.title.weekly", name=digest.name)
    week = len(digest.days) <= 10
    days = [
        (_date(lang, d, "Md"), format_date(d, "EEE", locale=lang))
        if week
        else (str(d.day), format_date(d, "EEEEE", locale=lang))
        for d in digest.days
    ]
    teams = [team for team in digest.teams if team.members]
    attention = sum(1 for team in teams if team.needs_attention)
    drawn = {team.team_id for team in shown}
    # A county's picture is its townships' bars: no team is left out of it.
    left = [] if digest.townships else [team for team in teams if team.team_id not in drawn]
    left_out = ""
    if left:
        missed = sum(1 for team in left if team.needs_attention)
        left_out = t(
            lang,
            "chart.left_out_attention" if missed else "chart.left_out",
            teams=len(left),
            members=sum(len(team.members) for team in left),
            attention=missed,
        )
    return chart.Words(
        title=head,
        # CLDR puts thin spaces around the dash: plain ones copy and draw everywhere.
        span=format_interval(period.first, period.last, "yMMMdE", locale=lang).replace(
            "\u2009", " "
        ),
        days=days,
        key={mark: t(lang, f"chart.key.{mark}") for mark in chart.COLOURS},
        empty=t(lang, "chart.empty"),
        attention=t(lang, "chart.attention", n=attention),
        on_track=t(lang, "chart.on_track", n=len(teams) - attention),
        left_out=left_out,
        bar_notes=[
            t(lang, "chart.bar", attention=r.attention, teams=r.teams) for r in digest.townships
        ],
    )


def chart_caption(lang: str, words: chart.Words, numbered: Sequence[tuple[str, str]]) -> str:
    caption = t(lang, "chart.caption", title=words.title, span=words.span)
    if numbered:
        caption += "\n" + t(lang, "sep.list").join(f"{tag} {name}" for tag, name in numbered)
    return caption[:1000]


def opened_text(lang: str, payload: Mapping[str, Any]) -> str:
    """A live location's check-in made when its window opened (see services.reminders)."""
    return t(
        lang,
        "checkin.ok_live",
        name=payload["name"],
        window=t(lang, f"window.{payload['window']}"),
        time=payload["time"],
        site=payload["site"],
        distance=distance_text(lang, float(payload["distance_m"])),
    )


def distance_text(lang: str, metres: float) -> str:
    if metres < 1000:
        return t(lang, "unit.m", n=round(metres))
    return t(lang, "unit.km", n=f"{metres / 1000:.1f}")


# ---------------------------------------------------------------------- reminders
def reminder_text(lang: str, kind: str, payload: Mapping[str, Any]) -> str:
    """A reminder, privately or (with ``mention``) to several members in the group, as HTML."""
    window = payload.get("window")
    params: dict[str, Any] = {
        "window": t(lang, f"window.{window}") if window else "",
        "span": payload.get("span") or "",
        "end": (payload.get("span") or "").rpartition("–")[2],
        "month": (payload.get("period") or "")[:7],
    }
    key = f"{kind}.text"
    if kind == "remind.month":
        key = "remind.month.nights" if payload.get("quota_nights") else "remind.month.text"
    mention = payload.get("mention")
    if not mention:
        return html.escape(t(lang, key, **params, **_figures(payload)))
    if kind == "remind.month":
        lines = [
            f"{mention_link(user_id, name)}: "
            + html.escape(t(lang, key, **params, **_figures(fig)))
            for user_id, name, fig in mention
        ]
        return "\n".join(lines)
    names = t(lang, "sep.list").join(mention_link(user_id, name) for user_id, name, _ in mention)
    return f"{names}\n" + html.escape(t(lang, key, **params))


def _figures(source: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("present", "quota", "need", "nights", "quota_nights", "need_nights", "remaining")
    return {k: source.get(k, 0) for k in keys}


def mention_link(user_id: int, name: str) -> str:
    return f'<a href="tg://user?id={int(user_id)}">{html.escape(name)}</a>'
