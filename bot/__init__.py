"""Cunbot: attendance, work logs and leave for dispersed field teams, in their Telegram group."""

__version__ = "0.1.0"
