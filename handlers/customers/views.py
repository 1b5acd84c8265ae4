"""How customers, contacts and leads look in chat: cards, list buttons, labels, and error texts.

The renderers take records the services returned and produce (text, buttons); CUSTOMER, CONTACT and LEAD are
their cards as entity screens (handlers/core/screens.py), and ``show_*`` the one-call "fetch by id, then render"
steps the handlers share. Every button carries ids only; the handlers re-read and
re-check on each press. Times are shown in the reader's zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.customers import phones
from crm.customers.customers import Duplicates
from crm.customers.model import (
    Classification,
    Contact,
    Customer,
    CustomerCard,
    CustomerKind,
    EntityKind,
    FollowUp,
    Interaction,
    InteractionKind,
    Lead,
    LeadStatus,
    SearchHit,
    Tier,
)
from handlers.core.common import Button, actor_of
from handlers.core.screens import EntityScreen
from handlers.core.screens import respond as respond  # the customer handlers answer through views
from handlers.customers import card_extras
from views.core.formatting import local_time
from views.customers.icons import customer_icon as customer_icon  # the card and other lists use it from here
from views.customers.icons import hit_icon

OPEN_VERB = {EntityKind.CUSTOMER: "cu", EntityKind.CONTACT: "ct", EntityKind.LEAD: "ld"}
LABEL_LIMIT = 48
CARD_FOLLOWUPS = 5
CARD_CONTACTS = 10
MAX_DUPLICATE_BUTTONS = 5

# Keys spelled out (not built from the value) so a missing translation is a visible, greppable gap.
KIND_KEYS = {CustomerKind.COMPANY: "customers.kind_company", CustomerKind.PERSON: "customers.kind_person"}
CLASSIFICATION_KEYS = {
    Classification.POTENTIAL: "customers.class_potential",
    Classification.GENERAL: "customers.class_general",
    Classification.LOYAL: "customers.class_loyal",
}
LEAD_STATUS_KEYS = {
    LeadStatus.NEW: "customers.lead_new",
    LeadStatus.QUALIFIED: "customers.lead_qualified",
    LeadStatus.CONVERTED: "customers.lead_converted",
    LeadStatus.DROPPED: "customers.lead_dropped",
}
INTERACTION_KEYS = {
    InteractionKind.CALL: "customers.ix_call",
    InteractionKind.VISIT: "customers.ix_visit",
    InteractionKind.MEETING: "customers.ix_meeting",
    InteractionKind.MESSAGE: "customers.ix_message",
    InteractionKind.EMAIL: "customers.ix_email",
    InteractionKind.OTHER: "customers.ix_other",
}
FIELD_KEYS = {
    "name": "customers.field_name",
    "short_name": "customers.field_short_name",
    "kind": "customers.field_kind",
    "phones": "customers.field_phones",
    "email": "customers.field_email",
    "address": "customers.field_address",
    "region": "customers.field_region",
    "industry": "customers.field_industry",
    "classification": "customers.field_classification",
    "tier": "customers.field_tier",
    "tags": "customers.field_tags",
    "notes": "customers.field_notes",
    "source": "customers.field_source",
    "title": "customers.field_title",
    "company": "customers.field_company",
}


def field_label(context: CrmContext, field: str) -> str:
    key = FIELD_KEYS.get(field)
    return context.t(key) if key else field


def error_text(context: CrmContext, error: DomainError) -> str:
    """The translated error, with the field named in the reader's language (services name fields by code)."""
    params = dict(error.params)
    if "field" in params:
        params["field"] = field_label(context, str(params["field"]))
    return context.t(error.key, **params)


def kind_label(context: CrmContext, kind: CustomerKind | str) -> str:
    return context.t(KIND_KEYS[CustomerKind(kind)])


def classification_label(context: CrmContext, value: Classification | str) -> str:
    return context.t(CLASSIFICATION_KEYS[Classification(value)])


def tier_label(context: CrmContext, tier: Tier | str | None) -> str:
    return context.t("customers.tier_value", tier=Tier(tier).value) if tier else context.t("customers.none")


def region(context: CrmContext) -> str:
    return context.services.customers.customers.phone_region


def phones_text(context: CrmContext, numbers: Sequence[str]) -> str:
    return ", ".join(phones.display(p, region(context)) for p in numbers)


def shared_phone(raw: str, region: str) -> str:
    """Telegram sends shared numbers in international form without the '+'; a phone book entry may be national."""
    digits_only = raw.strip().lstrip("+")
    if phones.try_normalize(raw, region) is None and phones.try_normalize("+" + digits_only, region):
        return "+" + digits_only
    return phones.try_normalize(raw, region) or raw.strip()


def short(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(context: CrmContext, moment: datetime) -> str:
    actor = context.actor
    return local_time(moment, actor.timezone if actor else "UTC")


def hit_label(hit: SearchHit) -> str:
    label = f"{hit_icon(hit)} {hit.title}"
    if hit.subtitle:
        label += f" · {hit.subtitle}"
    return short(label)


def hit_button(hit: SearchHit) -> Button:
    return (hit_label(hit), f"{OPEN_VERB[hit.entity]}:open:{hit.id}")


def page_nav(prefix: str, page: int, has_more: bool) -> list[Button]:
    """◀️ / ▶️ for a paged list; the buttons carry the page number only."""
    row: list[Button] = []
    if page > 0:
        row.append(("◀️", f"{prefix}:{page - 1}"))
    if has_more:
        row.append(("▶️", f"{prefix}:{page + 1}"))
    return row


def customer_button(customer: Customer) -> Button:
    return (short(f"{customer_icon(customer)} {customer.name}"), f"cu:open:{customer.id}")


def _line(context: CrmContext, lines: list[str], key: str, value: object) -> None:
    if value:
        lines.append(context.t(key, value=value))


def _followup_line(context: CrmContext, followup: FollowUp, now: datetime) -> str:
    key = "customers.card_followup_overdue" if followup.due_at < now else "customers.card_followup"
    return context.t(key, when=when(context, followup.due_at), text=short(followup.text, 80))


def customer_text(context: CrmContext, card: CustomerCard, now: datetime) -> str:
    c = card.customer
    title = f"{c.name} ({c.short_name})" if c.short_name else c.name
    lines = [context.t("customers.card_title", icon=customer_icon(c), name=title)]
    lines.append(context.t("customers.card_facts", kind=kind_label(context, c.kind),
                           classification=classification_label(context, c.classification),
                           tier=tier_label(context, c.tier)))
    _line(context, lines, "customers.card_phones", phones_text(context, c.phones))
    _line(context, lines, "customers.card_email", c.email)
    _line(context, lines, "customers.card_address", c.address)
    _line(context, lines, "customers.card_region", c.region)
    _line(context, lines, "customers.card_industry", c.industry)
    _line(context, lines, "customers.card_tags", " ".join(f"#{tag}" for tag in c.tags))
    lines.append(context.t("customers.card_owner", name=card.owner_name))
    last = c.last_contact_at or (card.last_interaction.occurred_at if card.last_interaction else None)
    lines.append(context.t("customers.card_last_contact", when=when(context, last) if last
                           else context.t("customers.never")))
    if card.next_followup is not None:
        lines.append(context.t("customers.card_next", when=when(context, card.next_followup.due_at),
                               text=short(card.next_followup.text, 80)))
    if card.open_followups:
        lines.append(context.t("customers.card_open_followups", count=len(card.open_followups)))
        lines.extend(_followup_line(context, f, now) for f in card.open_followups[:CARD_FOLLOWUPS])
    if card.contacts:
        lines.append(context.t("customers.card_contacts", count=len(card.contacts)))
    return "\n".join(lines)


def customer_rows(context: CrmContext, card: CustomerCard) -> list[list[Button]]:
    cid = card.customer.id
    rows: list[list[Button]] = [
        [(context.t("customers.btn_log"), f"fu:log:customer:{cid}"),
         (context.t("customers.btn_followup"), f"fu:plan:customer:{cid}"),
         (context.t("customers.btn_callback"), f"fu:cb:customer:{cid}")],
    ]
    pair: list[Button] = []
    for contact in card.contacts[:CARD_CONTACTS]:
        label = f"👤 {contact.name}" + (f" · {contact.title}" if contact.title else "")
        pair.append((short(label, 32), f"ct:open:{contact.id}"))
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    rows.append([*card_extras.buttons(context, "customer", cid), (context.t("customers.btn_edit"), f"cu:edit:{cid}"),
                 (context.t("customers.btn_more"), f"cu:more:{cid}")])
    return rows


def lead_text(context: CrmContext, lead: Lead) -> str:
    lines = [context.t("customers.lead_title", name=lead.name)]
    lines.append(context.t("customers.lead_status", status=context.t(LEAD_STATUS_KEYS[lead.status])))
    _line(context, lines, "customers.lead_company", lead.company_name)
    _line(context, lines, "customers.card_phones", phones_text(context, lead.phones))
    _line(context, lines, "customers.card_email", lead.email)
    _line(context, lines, "customers.lead_source", lead.source)
    _line(context, lines, "customers.lead_drop_reason", lead.drop_reason)
    lines.append(context.t("customers.card_last_contact", when=when(context, lead.last_contact_at)
                           if lead.last_contact_at else context.t("customers.never")))
    return "\n".join(lines)


def lead_rows(context: CrmContext, lead: Lead) -> list[list[Button]]:
    lid = lead.id
    if lead.status is LeadStatus.CONVERTED:
        if lead.converted_customer_id is None:
            return []
        return [[(context.t("customers.btn_open_converted"), f"cu:open:{lead.converted_customer_id}")]]
    rows: list[list[Button]] = [
        [(context.t("customers.btn_log"), f"fu:log:lead:{lid}"),
         (context.t("customers.btn_followup"), f"fu:plan:lead:{lid}"), *card_extras.buttons(context, "lead", lid)],
    ]
    actions: list[Button] = []
    if lead.status is LeadStatus.NEW:
        actions.append((context.t("customers.btn_qualify"), f"ld:q:{lid}"))
    actions.append((context.t("customers.btn_convert"), f"ld:cv:{lid}"))
    if lead.status is not LeadStatus.DROPPED:
        actions.append((context.t("customers.btn_drop"), f"ld:drop:{lid}"))
    rows.append(actions)
    return rows


def contact_text(context: CrmContext, contact: Contact, customer: Customer) -> str:
    lines = [context.t("customers.contact_title", name=contact.name, customer=customer.name)]
    _line(context, lines, "customers.contact_job", contact.title)
    _line(context, lines, "customers.card_phones", phones_text(context, contact.phones))
    _line(context, lines, "customers.card_email", contact.email)
    _line(context, lines, "customers.contact_birthday", contact.birthday.isoformat() if contact.birthday else None)
    return "\n".join(lines)


def contact_rows(context: CrmContext, contact: Contact, customer: Customer) -> list[list[Button]]:
    return [
        [(context.t("customers.btn_log"), f"fu:log:contact:{contact.id}"),
         (context.t("customers.btn_followup"), f"fu:plan:contact:{contact.id}"),
         *card_extras.buttons(context, "contact", contact.id)],
        [(context.t("customers.btn_edit"), f"ct:edit:{contact.id}"),
         (context.t("customers.btn_delete"), f"ct:del:{contact.id}")],
        [(short(f"« {customer_icon(customer)} {customer.name}", 40), f"cu:card:{customer.id}")],
    ]


def interaction_line(context: CrmContext, interaction: Interaction) -> str:
    return context.t("customers.history_line", when=when(context, interaction.occurred_at),
                     kind=context.t(INTERACTION_KEYS[interaction.kind]), text=short(interaction.text, 200))


def duplicates_text(context: CrmContext, duplicates: Duplicates) -> str:
    """Possible duplicates: names of those the reader may open; only a count-free hint about the others."""
    lines = [context.t("customers.duplicate_found")]
    lines.extend(context.t("customers.duplicate_line", name=c.name) for c in duplicates.visible)
    if duplicates.hidden:
        lines.append(context.t("customers.duplicate_hidden"))
    return "\n".join(lines)


def duplicate_rows(context: CrmContext, duplicates: Duplicates, force_data: str, force_key: str,
                   extra: Sequence[Button] = ()) -> list[list[Button]]:
    rows: list[list[Button]] = [
        [(short(context.t("customers.btn_open_existing", name=c.name), 60), f"cu:open:{c.id}")]
        for c in duplicates.visible[:MAX_DUPLICATE_BUTTONS]
    ]
    rows.append([(context.t(force_key), force_data)])
    if extra:
        rows.append(list(extra))
    return rows


# ---- the cards as entity screens: one service call, then the card ------------------------------------------

async def _customer_card(context: CrmContext, customer_id: int) -> CustomerCard:
    return await context.services.customers.customers.card(actor_of(context), customer_id,
                                                           sections=card_extras.sections(context))


def _render_customer(context: CrmContext, card: CustomerCard) -> tuple[str, list[list[Button]]]:
    text = customer_text(context, card, context.services.clock.now())
    # What later modules show (the messages sent to them, with delivery status).
    extra = card_extras.rendered(context, dict(card.sections))
    return "\n\n".join([text, *extra]), customer_rows(context, card)


async def _contact(context: CrmContext, contact_id: int) -> tuple[Contact, Customer]:
    return await context.services.customers.contacts.get(actor_of(context), contact_id)


async def _lead(context: CrmContext, lead_id: int) -> Lead:
    return await context.services.customers.leads.get(actor_of(context), lead_id)


CUSTOMER = EntityScreen("cu", _customer_card, _render_customer)
CONTACT = EntityScreen("ct", _contact, lambda context, shown: (contact_text(context, *shown),
                                                               contact_rows(context, *shown)))
LEAD = EntityScreen("ld", _lead, lambda context, lead: (lead_text(context, lead), lead_rows(context, lead)))

show_customer = CUSTOMER.show
show_contact = CONTACT.show
show_lead = LEAD.show
render_lead = LEAD.present
