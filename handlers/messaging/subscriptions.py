"""/consent: a rep records SMS consent a customer gave (or withdrew) in person, topic by topic.

Flow: /consent [name or phone] → pick the customer, contact or lead → the number's status per topic → tap a topic
to record the change (marked "in person", with the rep as recorder). Every press re-reads and re-checks scope.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.customers import phones
from crm.customers.model import EntityKind
from crm.followups.followups import Target
from crm.messaging.subscription_model import ConsentStatus
from crm.messaging.subscriptions import ConsentView
from handlers.core.common import (
    Button,
    actor_of,
    answer,
    callback_args,
    clear_pending,
    expect_text,
    int_arg,
    message_text,
    on_pending,
    reply,
    require_actor,
)
from views.core.formatting import local_time
from views.customers.icons import hit_icon

CODES: dict[str, EntityKind] = {"c": EntityKind.CUSTOMER, "k": EntityKind.CONTACT, "l": EntityKind.LEAD}
CODE_OF: dict[EntityKind, str] = {kind: code for code, kind in CODES.items()}
MARK = {ConsentStatus.OPTED_IN: "✅", ConsentStatus.OPTED_OUT: "⛔", ConsentStatus.NONE: "▫️"}


@require_actor("sms.send")
async def consent(update: Update, context: CrmContext) -> None:
    """Find who the consent is about: the text after /consent, or ask for it."""
    query = " ".join(context.args or []).strip()
    if query:
        await _search(update, context, query)
        return
    expect_text(context, "cons.search")
    await reply(update, context, context.t("subscriptions.consent_ask"))


@on_pending("cons.search")
@require_actor("sms.send")
async def _typed_search(update: Update, context: CrmContext) -> None:
    await _search(update, context, message_text(update))


async def _search(update: Update, context: CrmContext, query: str) -> None:
    found = await context.services.customers.customers.search(actor_of(context), query)
    if not found.hits:
        expect_text(context, "cons.search")  # keep asking: the next typed text is another try
        await reply(update, context, context.t("subscriptions.consent_nothing", query=query[:100]))
        return
    clear_pending(context)
    rows: list[list[Button]] = [
        [(f"{hit_icon(hit)} {hit.title}" + (f" · {hit.subtitle}" if hit.subtitle else ""),
          f"cons:t:{CODE_OF[hit.entity]}:{hit.id}")] for hit in found.hits]
    await reply(update, context, context.t("subscriptions.consent_pick"), rows)


def _target(args: list[str]) -> Target:
    kind = CODES.get(args[0] if args else "")
    if kind is None:
        raise DomainError("error.stale_button")
    return Target(kind, int_arg(args, 1))


def _render(context: CrmContext, target: Target, view: ConsentView, phone_index: int) -> tuple[str, list[list[Button]]]:
    code = CODE_OF[target.entity]
    phone = view.phones[phone_index]
    region = context.settings.default_phone_region
    lines = [context.t("subscriptions.consent_card", name=view.name, phone=phones.display(phone, region))]
    rows: list[list[Button]] = []
    for index, topic in enumerate(view.topics):
        event = view.status.get(phone, {}).get(topic.key)
        status = event.status if event else ConsentStatus.NONE
        line = f"{MARK[status]} {topic.name(context.locale)}: " + context.t(f"subscriptions.consent_{status.value}")
        if event is not None:
            line += " · " + context.t(f"subscriptions.channel_{event.channel.value}") + " · " + local_time(
                event.changed_at, actor_of(context).timezone)
        lines.append(line)
        rows.append([(f"{MARK[status]} {topic.name(context.locale)}",
                      f"cons:s:{code}:{target.id}:{phone_index}:{index}")])
    lines.append("")
    lines.append(context.t("subscriptions.consent_hint"))
    if len(view.phones) > 1:
        rows.append([("📱 " + phones.display(number, region), f"cons:t:{code}:{target.id}:{index}")
                     for index, number in enumerate(view.phones) if index != phone_index][:3])
    return "\n".join(lines), rows


async def _show(update: Update, context: CrmContext, target: Target, phone_index: int) -> None:
    view = await context.services.messaging.subscriptions.consent_view(actor_of(context), target)
    if not view.phones:
        await reply(update, context, context.t("subscriptions.consent_no_phone", name=view.name))
        return
    if not 0 <= phone_index < len(view.phones):
        phone_index = 0
    text, rows = _render(context, target, view, phone_index)
    await reply(update, context, text, rows)


@require_actor("sms.send")
async def show(update: Update, context: CrmContext) -> None:
    """The number's consent per topic, as buttons to change it."""
    await answer(update.callback_query)
    args = callback_args(update)
    await _show(update, context, _target(args), int_arg(args, 2) if len(args) > 2 else 0)


@require_actor("sms.send")
async def toggle(update: Update, context: CrmContext) -> None:
    """Record the customer's word, given in person: on becomes off, anything else becomes on."""
    args = callback_args(update)
    target = _target(args)
    phone_index, topic_index = int_arg(args, 2), int_arg(args, 3)
    subscriptions = context.services.messaging.subscriptions
    actor = actor_of(context)
    view = await subscriptions.consent_view(actor, target)
    if not (0 <= phone_index < len(view.phones) and 0 <= topic_index < len(view.topics)):
        raise DomainError("error.stale_button")
    phone, topic = view.phones[phone_index], view.topics[topic_index]
    new = ConsentStatus.OPTED_OUT if view.status_of(phone, topic.key) is ConsentStatus.OPTED_IN \
        else ConsentStatus.OPTED_IN
    await subscriptions.record_consent(actor, target, phone, [topic.key], new)
    await answer(update.callback_query, context.t(f"subscriptions.consent_recorded_{new.value}",
                                                  topic=topic.name(context.locale)))
    await _show(update, context, target, phone_index)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    app.add_handler(CommandHandler("consent", consent))
    routes: dict[str, Any] = {"t": show, "s": toggle}
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^cons:{verb}(:|$)") for verb, func in routes.items()])

