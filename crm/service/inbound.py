"""Texts customers send to the SMS number that concern service: ``SUPPORT <text>`` / ``報修 <text>`` /
``报修 <text>`` opens a ticket, and a lone 1–5 answers the satisfaction question sent when a ticket closed.

Plugged into the messaging module's inbound SMS handling (``SubscriptionService.other_texts``): consent keywords
(STOP, START, HELP) are handled there first, so "STOP" is never a ticket.
"""

from __future__ import annotations

import unicodedata

from crm.service.tickets import TicketService

# keyword (casefolded) → the language the reply is in
KEYWORDS: dict[str, str] = {"support": "en", "報修": "zh-Hant", "报修": "zh-Hans"}


def parse_support(body: str) -> tuple[str, str] | None:
    """(locale, text) when the message starts with a support keyword followed by a space or the end."""
    text = unicodedata.normalize("NFKC", body).strip()
    head, _, rest = text.partition(" ")
    for keyword, locale in KEYWORDS.items():
        if head.casefold() == keyword:
            return locale, rest.strip()
        if keyword != "support" and head.startswith(keyword):  # Chinese needs no space: "報修冷氣不冷"
            return locale, (head[len(keyword):] + " " + rest).strip()
    return None


def parse_rating(body: str) -> int | None:
    text = unicodedata.normalize("NFKC", body).strip().rstrip(".!。！")
    return int(text) if len(text) == 1 and text in "12345" else None


class ServiceTexts:
    """The inbound-SMS handler of the service module."""

    def __init__(self, tickets: TicketService) -> None:
        self._tickets = tickets

    async def __call__(self, from_e164: str, to_e164: str, body: str) -> str | None:
        support = parse_support(body)
        if support is not None:
            locale, text = support
            return await self._tickets.open_by_sms(from_e164, text, locale)
        rating = parse_rating(body)
        if rating is not None:
            return await self._tickets.rate_by_sms(from_e164, rating)
        return None
