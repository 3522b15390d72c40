"""Chinese map datums. Amap and Tencent show GCJ-02, Baidu shows BD-09; Telegram sends WGS-84.
A village centre copied from a Chinese map app is off by a few hundred metres until converted.

GCJ-02 is a published obfuscation with no closed-form inverse; going back to WGS-84 inverts the
forward transform by fixed-point iteration, which converges to well under a centimetre in a
handful of steps. No library on our package registries does this, so it lives here (the
formula is the one every open implementation uses: Krasovsky ellipsoid, the same series).
"""

from __future__ import annotations

import math
from typing import Literal

Datum = Literal["wgs84", "gcj02", "bd09"]
DATUMS: tuple[Datum, ...] = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as GCJ-02 uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_PI = math.pi * 3000.0 / 180.0


def in_china(latitude: float, longitude: float) -> bool:
    """GCJ-02 applies only inside this box; outside it the datums coincide."""
    return 0.8293 <= latitude <= 55.8271 and 72.004 <= longitude <= 137.8347


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(latitude: float, longitude: float) -> tuple[float, float]:
    x, y = longitude - 105.0, latitude - 35.0
    d_lat, d_lon = _shift_lat(x, y), _shift_lon(x, y)
    rad = latitude / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    if not in_china(latitude, longitude):
        return latitude, longitude
    d_lat, d_lon = _gcj_delta(latitude, longitude)
    return latitude + d_lat, longitude + d_lon


def gcj02_to_wgs84(latitude: float, longitude: float) -> tuple[float, float]:
    if not in_china(latitude, longitude):
        return latitude, longitude
    wgs_lat, wgs_lon = latitude, longitude
    for _ in range(30):
        gcj_lat, gcj_lon = wgs84_to_gcj02(wgs_lat, wgs_lon)
        err_lat, err_lon = gcj_lat - latitude, gcj_lon - longitude
        wgs_lat, wgs_lon = wgs_lat - err_lat, wgs_lon - err_lon
        if abs(err_lat) < 1e-10 and abs(err_lon) < 1e-10:
            break
    return wgs_lat, wgs_lon


def bd09_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    x, y = longitude - 0.0065, latitude - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_PI)
    return z * math.sin(theta), z * math.cos(theta)


def gcj02_to_bd09(latitude: float, longitude: float) -> tuple[float, float]:
    z = math.sqrt(longitude * longitude + latitude * latitude) + 0.00002 * math.sin(
        latitude * _BD_PI
    )
    theta = math.atan2(latitude, longitude) + 0.000003 * math.cos(longitude * _BD_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def to_wgs84(latitude: float, longitude: float, datum: Datum) -> tuple[float, float]:
    """A point read off a map in ``datum``, as Telegram would report the same place."""
    if datum == "gcj02":
        return gcj02_to_wgs84(latitude, longitude)
    if datum == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(latitude, longitude))
    return latitude, longitude
