"""Fitting text into what Telegram takes: a message's length, a button's label."""

from __future__ import annotations

MAX_TEXT = 4096  # Telegram's limit for a message's text
LABEL_LIMIT = 40  # a button label longer than this is cut on most phones anyway


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(text: str, limit: int = LABEL_LIMIT) -> str:
    """A button label: cut with an ellipsis when longer than ``limit``."""
    return truncate(text, limit)
