"""Settings: defaults, then an optional TOML file (``--config``), then ``CUNBOT_*`` variables.

The environment wins over the file, so one file can serve several deployments that differ only
in their secrets.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rules.lang import LANGS
from rules.orgcsv import valid_tz

DEFAULT_API_URL = "https://api.telegram.org"


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


class Secret:
    """A value that never shows in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    token: Secret | None = None
    database: str = "cunbot.db"
    api_url: str = DEFAULT_API_URL
    tz: str = "Asia/Shanghai"
    lang: str = "zh"
    # How long one getUpdates call waits on Telegram's side, in seconds.
    poll_timeout: int = 10
    # How often timed jobs look for what is due (leave reminders), in seconds.
    sweep_seconds: float = 300.0
    # How often reminders and digests are planned and sent, in seconds. A reminder goes out
    # at most this long after its time.
    tick_seconds: float = 60.0

    def require_token(self) -> str:
        if self.token is None or not self.token.reveal():
            raise ConfigError(
                "CUNBOT_TOKEN is not set. Get a token from @BotFather and run: "
                "CUNBOT_TOKEN=123456:ABC... cunbot run"
            )
        return self.token.reveal()

    @property
    def bot_api_base(self) -> str:
        return f"{self.api_url}/bot"

    @property
    def file_api_base(self) -> str:
        return f"{self.api_url}/file/bot"


_ENV = {
    "CUNBOT_TOKEN": "token",
    "CUNBOT_DATABASE": "database",
    "CUNBOT_API_URL": "api_url",
    "CUNBOT_TZ": "tz",
    "CUNBOT_LANG": "lang",
    "CUNBOT_POLL_TIMEOUT": "poll_timeout",
    "CUNBOT_SWEEP_SECONDS": "sweep_seconds",
    "CUNBOT_TICK_SECONDS": "tick_seconds",
}


def load_settings(env: Mapping[str, str], config_file: Path | None = None) -> Settings:
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = tomllib.loads(config_file.read_text("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {config_file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"config file {config_file}: unknown keys {', '.join(unknown)}; "
                f"known keys are {', '.join(sorted(known))}"
            )
        values.update(data)
    for name, key in _ENV.items():
        if env.get(name):
            values[key] = env[name]
    return _validated(replace(Settings(), **_coerced(values)))


def _coerced(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "token" in out:
        out["token"] = Secret(str(out["token"]).strip())
    if "poll_timeout" in out:
        try:
            out["poll_timeout"] = int(out["poll_timeout"])
        except ValueError:
            raise ConfigError("CUNBOT_POLL_TIMEOUT must be a whole number of seconds") from None
    for key in ("sweep_seconds", "tick_seconds"):
        if key in out:
            try:
                out[key] = float(out[key])
            except ValueError:
                name = f"CUNBOT_{key.upper()}"
                raise ConfigError(f"{name} must be a number of seconds") from None
    for key in ("database", "api_url", "tz", "lang"):
        if key in out:
            out[key] = str(out[key]).strip()
    return out


def _validated(settings: Settings) -> Settings:
    if settings.lang not in LANGS:
        raise ConfigError(f"CUNBOT_LANG must be one of {', '.join(LANGS)}, not {settings.lang!r}")
    if not valid_tz(settings.tz):
        raise ConfigError(
            f"CUNBOT_TZ {settings.tz!r} is not a time zone name (for example Asia/Shanghai)"
        )
    api_url = settings.api_url.rstrip("/").removesuffix("/bot")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"CUNBOT_API_URL must start with http:// or https://, not {api_url!r}")
    if settings.poll_timeout < 0:
        raise ConfigError("CUNBOT_POLL_TIMEOUT cannot be negative")
    if settings.sweep_seconds <= 0:
        raise ConfigError("CUNBOT_SWEEP_SECONDS must be more than 0")
    if settings.tick_seconds <= 0:
        raise ConfigError("CUNBOT_TICK_SECONDS must be more than 0")
    return replace(settings, api_url=api_url)
