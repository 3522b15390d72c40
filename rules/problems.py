"""A refusal a rule gives, as a catalogue key with its placeholders, for the handler to render."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    key: str
    params: dict[str, Any] = field(default_factory=dict)
