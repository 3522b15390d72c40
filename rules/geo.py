"""Attendance sites: what a valid centre and radius are, and reading them from a command."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules.datum import Datum, to_wgs84
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
    # The map datum the centre was typed in; latitude and longitude are already WGS-84.
    datum: Datum = "wgs84"


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


def is_real_point(latitude: float, longitude: float, accuracy_m: float | None) -> bool:
    """Whether a shared location is a place on Earth at all. Telegram's apps never send
    anything else, so anything else is made up or broken and is neither a check-in nor a
    site's centre."""
    numbers = (latitude, longitude, 0.0 if accuracy_m is None else accuracy_m)
    if not all(math.isfinite(n) for n in numbers):
        return False
    return -90 <= latitude <= 90 and -180 <= longitude <= 180 and numbers[2] >= 0


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


# What people call the datums: the datum itself, or the map app that shows it.
DATUM_WORDS: dict[str, Datum] = {
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "高德": "gcj02",
    "tencent": "gcj02",
    "腾讯": "gcj02",
    "bd09": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}


def parse_site_add(args: list[str]) -> SiteSpec | SiteAwaitingLocation | Problem:
    """Read ``<name> <lat> <lon> [radius] [datum]`` or ``<name>``.

    Names may have spaces; coordinates copied from a map app as ``25.1,103.2`` are accepted.
    A trailing ``gcj02`` (Amap, Tencent) or ``bd09`` (Baidu) converts the centre to WGS-84,
    which is what Telegram reports.
    """
    tokens = " ".join(args).replace("，", " ").replace(",", " ").split()
    datum: Datum = "wgs84"
    if len(tokens) >= 4 and tokens[-1].lower().replace("-", "") in DATUM_WORDS:
        datum = DATUM_WORDS[tokens.pop().lower().replace("-", "")]
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
    wgs_lat, wgs_lon = to_wgs84(lat, lon, datum)
    return SiteSpec(name, round(wgs_lat, 7), round(wgs_lon, 7), round(radius), datum)
