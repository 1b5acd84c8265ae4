"""Secrets out of the log, and no record larger than a screenful, whatever logged it and at whatever level.

PTB at DEBUG logs the Bot API URL (with the token) and every request's parameters (the webhook secret among
them) and whole updates; httpx logs request URLs; a traceback can quote a DSN with its password. The filter
sits on the root logger's *handlers*: a filter on the root logger itself would only see records logged to the
root logger, never those of its children, while every record that is written goes through a handler.

What is redacted: the values of the settings marked secret (bot/settings.py), as written and URL-encoded,
and by shape: bot tokens, ``Authorization`` headers, ``password=``/``token=``-style pairs and passwords in URLs.
"""

from __future__ import annotations

import logging
import re
import typing
from collections.abc import Iterable
from urllib.parse import quote

from bot.settings import SECRET, Settings

__all__ = ["MAX_MESSAGE", "RedactingFilter", "install", "secret_values"]

MAX_MESSAGE = 2_000  # characters of a message that reach the log
MAX_TRACEBACK = 20_000
# Redact a little past the cut, so that a secret straddling it is redacted before it is cut in half.
_MARGIN = 600
MASK = "<redacted>"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{35}"), MASK),  # a Telegram bot token
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token|digest)\s+)?[^\s\"',;}]+"),
     rf"\1{MASK}"),
    (re.compile(r"(?i)(pass(?:word|wd)?|secret|token|api_?key)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"),
     rf"\1\2{MASK}"),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), rf"\1{MASK}@"),  # scheme://user:password@host
)


def secret_values(settings: Settings) -> list[str]:
    """The configured values of the settings marked secret."""
    hints = typing.get_type_hints(Settings, include_extras=True)
    values = []
    for name, hint in hints.items():
        if SECRET in getattr(hint, "__metadata__", ()):
            value = getattr(settings, name, None)
            if isinstance(value, str) and len(value) >= 4:  # shorter would mask ordinary words
                values.append(value)
    return values


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        variants = {v for s in secrets for v in (s, quote(s, safe=""), quote(s))}
        # Longest first: a secret that contains another is masked whole.
        ordered = sorted(variants, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def _bounded(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return self.redact(text)
        kept = self.redact(text[: limit + _MARGIN])[:limit]
        return f"{kept}… ({len(text) - limit:,} more characters)"

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log what there is rather than nothing
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = self._bounded(message, MAX_MESSAGE), None
        if record.exc_info and not record.exc_text:
            # Formatted here so that the handler's formatter uses this (redacted) text instead of its own.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._bounded(record.exc_text, MAX_TRACEBACK)
        if record.stack_info:
            record.stack_info = self._bounded(record.stack_info, MAX_TRACEBACK)
        return True


def install(settings: Settings) -> RedactingFilter:
    """Attach the filter to every handler of the root logger (call after logging is configured)."""
    redacting = RedactingFilter(secret_values(settings))
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redacting)
    return redacting
