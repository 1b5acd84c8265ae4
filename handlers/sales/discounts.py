"""Discount approval in chat: the push to approvers with Approve / Reject (a rejection asks its reason), the
outcome pushed to the person who asked, ``/discounts`` (what waits for me) and ``/discountlimit`` (the limit per
role).

Buttons (ids only; every press reads the request again through the service, which checks ``discounts.approve``
and the sales scope): da:ok:<approval>  da:no:<approval>  da:open:<approval>

Pushes go through ``outbound.telegram_send.deliver``; the request itself is a row, so one that does not arrive is
logged and the approver still finds it under /discounts (and the rep sees "waiting for approval" on the card).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.organisation.model import Staff
from crm.sales.discounts import Decided, Pending, Requested
from handlers.core import flow
from handlers.core.common import actor_of, message_text, require_actor
from handlers.core.screens import Rows, arg, respond
from handlers.sales.views import error_text
from outbound.telegram_send import Button, Outcome, deliver
from views.sales.quotes import approval_request, decide_rows, limit_text, outcome, subject_text

log = logging.getLogger(__name__)

REASON = "da.reason"
UNLIMITED_WORDS = {"-", "none", "unlimited", "∞", "無上限", "无上限", "不限"}
Render = Callable[[Callable[..., str]], tuple[str, list[list[Button]]]]


async def push(context: CrmContext, person: Staff | None, render: Render) -> bool:
    """A message to a colleague in their language; one that does not arrive is logged (module docstring)."""
    if person is None or person.telegram_user_id is None or not person.active:
        return False
    locale = person.locale or context.settings.default_locale

    def t(key: str, /, **params: Any) -> str:
        return context.i18n.t(locale, key, **params)

    text, rows = render(t)
    delivery = await deliver(context.bot, person.telegram_user_id, text, rows)
    if delivery.outcome is not Outcome.SENT:
        log.warning("could not tell staff %s about a discount approval: %s", person.id, delivery.error)
        return False
    return True


async def ask_approvers(context: CrmContext, requested: Requested) -> str:
    """Push the request to every approver; what to tell the person who asked."""
    pending = Pending(requested.approval, requested.subject, requested.requester_name)
    for approver in requested.approvers:
        await push(context, approver, lambda t: approval_request(t, pending))
    if not requested.approvers:
        return context.t("sales.discount_no_approver")
    return context.t("sales.discount_requested", count=len(requested.approvers))


async def tell_requester(context: CrmContext, decided: Decided) -> None:
    await push(context, decided.requester,
               lambda t: outcome(t, decided.approval, decided.subject, decided.decider_name))


def _decided_text(context: CrmContext, decided: Decided, note_key: str) -> str:
    return context.t(note_key) + "\n\n" + subject_text(context.t, decided.subject, decided.approval,
                                                       decided.requester.name if decided.requester else "?")


@require_actor("discounts.approve")
async def approve(update: Update, context: CrmContext) -> None:
    decided = await context.services.sales.discounts.approve(actor_of(context), arg(update, 0))
    await respond(update, context, _decided_text(context, decided, "sales.discount_approved_note"))
    await tell_requester(context, decided)


@require_actor("discounts.approve")
async def reject(update: Update, context: CrmContext) -> None:
    """Ask for the reason first; the request is rejected when it is typed."""
    pending = await context.services.sales.discounts.to_decide(actor_of(context), arg(update, 0))
    flow.ask(context, REASON, approval_id=pending.approval.id)
    await respond(update, context, context.t("sales.discount_ask_reason", title=pending.subject.title), edit=False)


@flow.on_text(REASON)
@require_actor("discounts.approve")
async def typed_reason(update: Update, context: CrmContext) -> None:
    approval_id = int(flow.pending(context).get("approval_id", 0))
    try:
        decided = await context.services.sales.discounts.reject(actor_of(context), approval_id, message_text(update))
    except ValidationFailed as exc:
        await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.try_again"))
        return
    except DomainError:
        flow.end(context)
        raise
    flow.end(context)
    await respond(update, context, _decided_text(context, decided, "sales.discount_rejected_note"), edit=False)
    await tell_requester(context, decided)


@require_actor("discounts.approve")
async def open_request(update: Update, context: CrmContext) -> None:
    pending = await context.services.sales.discounts.to_decide(actor_of(context), arg(update, 0))
    text = subject_text(context.t, pending.subject, pending.approval, pending.requester_name)
    await respond(update, context, text, decide_rows(context.t, pending.approval, pending.subject), edit=False)


@require_actor("discounts.approve")
async def waiting(update: Update, context: CrmContext) -> None:
    """/discounts: the requests waiting for me."""
    pending = await context.services.sales.discounts.pending(actor_of(context))
    if not pending:
        await respond(update, context, context.t("sales.discount_none_waiting"))
        return
    rows: Rows = [[(f"{p.subject.title} · {p.subject.customer_name} · {p.approval.percent.normalize():f}%"[:48],
                    f"da:open:{p.approval.id}")] for p in pending]
    await respond(update, context, context.t("sales.discount_waiting_title", count=len(pending)), rows)


@require_actor("roles.manage")
async def discount_limit(update: Update, context: CrmContext) -> None:
    """``/discountlimit`` lists the limits; ``/discountlimit rep 12`` sets one (``-``: unlimited)."""
    args = context.args or []
    service = context.services.sales.discounts
    actor = actor_of(context)
    if len(args) == 2:
        value: str | None = None if args[1].strip().lower() in UNLIMITED_WORDS else args[1]
        try:
            role, limit = await service.set_limit(actor, args[0], value)
        except ValidationFailed as exc:
            await respond(update, context, error_text(context, exc) + "\n" + context.t("sales.discount_limit_usage"))
            return
        await respond(update, context, context.t("sales.discount_limit_set", role=_role_name(context, role.name),
                                                 limit=limit_text(context.t, limit)))
        return
    if args:
        await respond(update, context, context.t("sales.discount_limit_usage"))
        return
    lines = [context.t("sales.discount_limits_title")]
    lines += [context.t("sales.discount_limit_line", role=_role_name(context, role.name),
                        limit=limit_text(context.t, limit)) for role, limit in await service.limits(actor)]
    lines.append(context.t("sales.discount_limit_usage"))
    await respond(update, context, "\n".join(lines))


def _role_name(context: CrmContext, name: str) -> str:
    key = f"role.{name}"
    return context.t(key) if context.i18n.has(context.locale, key) else name

