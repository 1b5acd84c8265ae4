"""Fitting text into what Telegram takes: a message's length, a button's label."""

from __future__ import annotations

from outbound.telegram_send import MAX_TEXT, truncate

LABEL_LIMIT = 40  # a button label longer than this is cut on most phones anyway


def short(text: str, limit: int = LABEL_LIMIT) -> str:
    """A button label: cut with an ellipsis when longer than ``limit``."""
    return truncate(text, limit)


__all__ = ["LABEL_LIMIT", "MAX_TEXT", "short", "truncate"]
