"""Attendance sites: what a valid centre and radius are, and reading them from a command."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules.problems import Problem

MIN_RADIUS_M = 50
DEFAULT_RADIUS_M = 300
MAX_RADIUS_M = 5000
MAX_SITE_NAME = 64


@dataclass(frozen=True)
class SiteSpec:
    """A complete site: name, WGS-84 centre, radius in metres."""

    name: str
    latitude: float
    longitude: float
    radius_m: int


@dataclass(frozen=True)
class SiteAwaitingLocation:
    """``/site add <name>`` with no coordinates: the centre comes from a shared location."""

    name: str
    radius_m: int


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_coordinates(latitude: float, longitude: float) -> Problem | None:
    if not (-90 <= latitude <= 90) or not (-180 <= longitude <= 180):
        # Chinese map apps and many people write "lon, lat"; say so when that fits.
        if -90 <= longitude <= 90 and -180 <= latitude <= 180:
            return Problem("site.err.swapped", {"lat": latitude, "lon": longitude})
        return Problem("site.err.coordinates", {"lat": latitude, "lon": longitude})
    return None


def check_radius(radius: float) -> Problem | None:
    if radius < MIN_RADIUS_M:
        return Problem("site.err.radius_small", {"radius": radius, "min": MIN_RADIUS_M})
    if radius > MAX_RADIUS_M:
        return Problem("site.err.radius_large", {"radius": radius, "max": MAX_RADIUS_M})
    return None


def check_name(name: str) -> Problem | None:
    if not name:
        return Problem("site.err.usage")
    if len(name) > MAX_SITE_NAME:
        return Problem("site.err.name_long", {"max": MAX_SITE_NAME})
    return None


def parse_site_add(args: list[str]) -> SiteSpec | SiteAwaitingLocation | Problem:
    """Read ``<name> <lat> <lon> [radius]`` or ``<name>``.

    Names may have spaces; coordinates copied from a map app as ``25.1,103.2`` are accepted.
    """
    tokens = " ".join(args).replace("，", " ").replace(",", " ").split()
    numbers = [_number(t.removesuffix("m")) for t in tokens]
    radius: float = DEFAULT_RADIUS_M
    if len(tokens) >= 4 and all(n is not None for n in numbers[-3:]):
        lat, lon, radius = numbers[-3], numbers[-2], numbers[-1]  # type: ignore[assignment]
        name_tokens = tokens[:-3]
    elif len(tokens) >= 3 and all(n is not None for n in numbers[-2:]):
        lat, lon = numbers[-2], numbers[-1]
        name_tokens = tokens[:-2]
    else:
        name = " ".join(tokens)
        if any(n is not None for n in numbers[1:]):
            # One number after a name: a coordinate is missing, not a name with a number.
            return Problem("site.err.usage")
        return check_name(name) or SiteAwaitingLocation(name, DEFAULT_RADIUS_M)
    assert lat is not None and lon is not None
    name = " ".join(name_tokens)
    problem = check_name(name) or check_coordinates(lat, lon) or check_radius(radius)
    if problem:
        return problem
    return SiteSpec(name, lat, lon, round(radius))
