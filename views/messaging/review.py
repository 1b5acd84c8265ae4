"""How campaigns and held SMS look to the requester and to reviewers (簡訊稽核): in /campaign and /review, and in
the pushes that tell reviewers about new held texts, which are rendered in each reviewer's own language."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Protocol

from crm.messaging.campaigns import CampaignCard, HeldMessage
from crm.messaging.subscription_model import CampaignStatus, Topic
from outbound.telegram_send import Button
from views.core.text import truncate

SAMPLE_CHARS = 1200
STATUS_ICON = {CampaignStatus.DRAFT: "📝", CampaignStatus.PENDING_REVIEW: "🕓", CampaignStatus.APPROVED: "✅",
               CampaignStatus.REJECTED: "❌", CampaignStatus.SENDING: "📤", CampaignStatus.DONE: "🏁"}


class Reader(Protocol):
    """Who a message is rendered for: the user in this chat (CrmContext), or a colleague being told."""

    @property
    def locale(self) -> str: ...

    def t(self, key: str, /, **params: Any) -> str: ...


@dataclass(frozen=True)
class Colleague:
    """A colleague being told something by a push, which has no update to take the language from."""

    locale: str
    catalogs: Any  # bot.i18n.Catalogs

    def t(self, key: str, /, **params: Any) -> str:
        return str(self.catalogs.t(self.locale, key, **params))


def quote(text: str) -> str:
    """A text the rep wrote, shown as a quote (escaped, and cut if long)."""
    return f"<blockquote>{html.escape(truncate(text, SAMPLE_CHARS), quote=False)}</blockquote>"


def campaign_status(reader: Reader, status: CampaignStatus) -> str:
    return f"{STATUS_ICON[status]} " + reader.t(f"subscriptions.status_{status.value}")


def _topic_name(reader: Reader, topic: Topic | None, key: str) -> str:
    return topic.name(reader.locale) if topic is not None else key


def campaign_text(reader: Reader, card: CampaignCard) -> str:
    c = card.campaign
    lines = [
        reader.t("subscriptions.campaign_card", id=c.id, template=card.template.name,
                 status=campaign_status(reader, c.status)),
        reader.t("subscriptions.campaign_topic", topic=_topic_name(reader, card.topic, c.topic)),
        reader.t("subscriptions.campaign_audience_segment", segment=c.segment_id) if c.segment_id is not None
        else reader.t("subscriptions.campaign_audience_topic"),
        reader.t("subscriptions.campaign_numbers", recipients=c.recipients, segments=c.segments, cost=str(c.cost)),
    ]
    if card.requester is not None:
        lines.append(reader.t("subscriptions.campaign_requester", name=card.requester.name))
    if card.excluded:
        lines.append(reader.t("subscriptions.campaign_excluded", count=card.excluded))
    if c.reason:
        lines.append(reader.t("subscriptions.campaign_reason", reason=c.reason))
    if card.progress:
        lines.append(reader.t("subscriptions.campaign_progress", progress=", ".join(
            f"{status} {count}" for status, count in sorted(card.progress.items()))))
    lines.append(reader.t("subscriptions.campaign_sample"))
    lines.append(quote(c.sample))
    return "\n".join(lines)


def review_text(reader: Reader, card: CampaignCard) -> str:
    return reader.t("subscriptions.review_push") + "\n\n" + campaign_text(reader, card)


def review_rows(reader: Reader, campaign_id: int) -> list[list[Button]]:
    return [[(reader.t("subscriptions.approve"), f"smr:ca:{campaign_id}"),
             (reader.t("subscriptions.reject"), f"smr:cr:{campaign_id}")]]


def held_text(reader: Reader, held: HeldMessage) -> str:
    m = held.message
    return "\n".join([
        reader.t("subscriptions.held_card", id=m.id, requester=held.requester.name if held.requester else "—",
                 to=m.recipient),
        reader.t("subscriptions.campaign_numbers", recipients=1, segments=held.segments.segments,
                 cost=str(held.cost)),
        quote(m.body),
    ])


def held_rows(reader: Reader, message_id: int) -> list[list[Button]]:
    return [[(reader.t("subscriptions.approve"), f"smr:ma:{message_id}"),
             (reader.t("subscriptions.reject"), f"smr:mr:{message_id}")]]


def held_announcement(reader: Reader, held: HeldMessage) -> tuple[str, list[list[Button]]]:
    """A reviewer's push for a newly held text, with Approve / Reject."""
    return (reader.t("subscriptions.review_push_message") + "\n\n" + held_text(reader, held),
            held_rows(reader, held.message.id))
