"""Texts customers send to the SMS number that concern service: ``SUPPORT <text>`` / ``報修 <text>`` /
``报修 <text>`` opens a ticket — a severity word right after the keyword sets how urgent it is (``SUPPORT URGENT
<text>``, ``報修 緊急 <text>``, ``报修紧急 <text>``; else normal) — and a lone 1–5 answers the satisfaction
question sent when a ticket closed.

Plugged into the messaging module's inbound SMS handling (``SubscriptionService.other_texts``): consent keywords
(STOP, START, HELP) are handled there first, so "STOP" is never a ticket.
"""

from __future__ import annotations

import re
import unicodedata

from crm.service.model import Severity
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


# the first word of the text (casefolded) → the severity; in the three languages, whichever keyword was used
SEVERITY_WORDS: dict[str, Severity] = {
    "urgent": Severity.URGENT, "緊急": Severity.URGENT, "紧急": Severity.URGENT,
    "high": Severity.HIGH, "重要": Severity.HIGH, "優先": Severity.HIGH, "优先": Severity.HIGH,
    "normal": Severity.NORMAL, "一般": Severity.NORMAL, "普通": Severity.NORMAL,
    "low": Severity.LOW, "不急": Severity.LOW,
}
# a severity word is a word of its own: followed by a space, punctuation or the end ("重要客戶…" is not one)
_SEVERITY = re.compile("^(" + "|".join(sorted(map(re.escape, SEVERITY_WORDS), key=len, reverse=True))
                       + r")(?:$|[\s:：,，、!！.。-]+)", re.IGNORECASE)


def severity_of(text: str) -> tuple[Severity, str]:
    """The severity the text starts with (``URGENT printer on fire`` → urgent, "printer on fire"), else normal
    and the text as it is."""
    found = _SEVERITY.match(text)
    if found is None:
        return Severity.NORMAL, text
    return SEVERITY_WORDS[found.group(1).casefold()], text[found.end():].strip()


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
            severity, text = severity_of(text)
            return await self._tickets.open_by_sms(from_e164, text, locale, severity=severity)
        rating = parse_rating(body)
        if rating is not None:
            return await self._tickets.rate_by_sms(from_e164, rating)
        return None
