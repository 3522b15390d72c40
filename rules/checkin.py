"""Judging a shared location: is it a check-in, a presence point, or refused, and why.

Reasons are checked in a fixed order so the member hears the first thing to fix: a forwarded
or map-picked location can never count, however close it is; then age, accuracy, distance,
and last whether it was a live location.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from geopy.distance import geodesic

from rules.policy import STALE_SECONDS, Policy, WindowName
from storage.models import Site

Outcome = Literal["checkin", "presence", "repeat", "refused"]
Reason = Literal[
    "not_member", "forwarded", "venue", "stale", "accuracy", "no_site", "outside", "static"
]


@dataclass(frozen=True)
class Fix:
    """What a location message says, as plain values."""

    latitude: float
    longitude: float
    accuracy_m: float | None
    live: bool
    sent_at: datetime  # the message date, or the edit date of a live update
    forwarded: bool = False
    venue: bool = False


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    local_date: date
    local_time: time
    window: WindowName | None = None
    reason: Reason | None = None
    site: Site | None = None
    distance_m: float | None = None
    # Accepted with a remark the leader should see, e.g. a static pin where live is preferred.
    flags: tuple[str, ...] = ()


def local_moment(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def local_to_utc(day: date, at: time | None, tz: str) -> datetime:
    """A local day and time (``None``: the midnight ending the day) as a UTC moment."""
    if at is None:
        day, at = day + timedelta(days=1), time(0)
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def nearest_site(latitude: float, longitude: float, sites: list[Site]) -> tuple[Site, float] | None:
    """The closest site and its distance in metres on the WGS-84 ellipsoid."""
    best: tuple[Site, float] | None = None
    for site in sites:
        metres = geodesic((latitude, longitude), (site.latitude, site.longitude)).meters
        if best is None or metres < best[1]:
            best = (site, metres)
    return best


def is_stale(sent_at: datetime, received_at: datetime, waited: bool, backlog_hours: int) -> bool:
    """Late while the bot was fetching: stale. A message that waited at Telegram because the
    bot was not fetching when it was sent is judged by its own time (weak village signal or
    our outage must not cost a check-in), up to the county's bound on how old a backlog may
    be."""
    late = (received_at - sent_at).total_seconds()
    if waited:
        return late > backlog_hours * 3600
    return late > STALE_SECONDS


def judge(
    fix: Fix,
    sites: list[Site],
    policy: Policy,
    tz: str,
    received_at: datetime,
    waited: bool,
) -> Verdict:
    """``waited``: the bot was not fetching updates when the location was sent (the store's
    record of runs says), so it sat at Telegram until the bot came back."""
    local = local_moment(fix.sent_at, tz)
    window = policy.window_at(local.time().replace(tzinfo=None))
    base = Verdict("refused", local.date(), local.time(), window.name if window else None)

    def refused(reason: Reason, site: Site | None = None, distance: float | None = None) -> Verdict:
        return replace(base, reason=reason, site=site, distance_m=distance)

    if fix.forwarded:
        return refused("forwarded")
    if fix.venue:
        return refused("venue")
    if is_stale(fix.sent_at, received_at, waited, policy.backlog_hours):
        return refused("stale")
    if fix.accuracy_m is not None and fix.accuracy_m > policy.accuracy_m:
        return refused("accuracy")
    found = nearest_site(fix.latitude, fix.longitude, sites)
    if found is None:
        return refused("no_site")
    site, distance = found
    if distance > site.radius_m:
        return refused("outside", site, distance)
    flags: tuple[str, ...] = ()
    if not fix.live:
        if policy.live == "required":
            return refused("static", site, distance)
        # A pin picked on a map carries no accuracy; the leader should see that.
        flags = ("static",) if fix.accuracy_m is not None else ("static", "no_accuracy")
    outcome: Outcome = "checkin" if window else "presence"
    return replace(base, outcome=outcome, site=site, distance_m=distance, flags=flags)
