"""/handover: a manager moves one rep's customers, open leads and follow-ups to another rep, after a preview.

Steps are buttons that carry only ids (``ho:<verb>:<from>:<to>:<segment, 0 = all>``), so nothing is stored
between them and every press re-checks permission and scope. Both people are told by a Telegram message; a
person who never started the bot or blocked it must not stop the handover, which is already committed.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import CallbackQueryHandler

from bot.context import CrmContext
from crm.organisation.model import Staff
from crm.segments.handover import PAGE_SIZE, HandoverResult
from crm.segments.model import OwnedCounts
from handlers.core.common import Button, actor_of, answer, callback_args, int_arg, reply, require_actor
from handlers.segments.segments import short

log = logging.getLogger(__name__)


def counts_text(context: CrmContext, counts: OwnedCounts, locale: str | None = None) -> str:
    """"12 customers (1 in the trash) · 3 open leads · 5 open follow-ups" in the reader's language."""
    def t(key: str, **params: Any) -> str:
        return context.i18n.t(locale or context.locale, key, **params)

    parts = [t("segments.count_customers", count=counts.customers)]
    if counts.trashed:
        parts[0] += " " + t("segments.count_trashed", count=counts.trashed)
    parts.append(t("segments.count_leads", count=counts.leads))
    parts.append(t("segments.count_followups", count=counts.followups))
    return " · ".join(parts)


@require_actor("customers.handover")
async def start(update: Update, context: CrmContext) -> None:
    """Whose records move? Everyone in scope, deactivated people included, with what they own."""
    await answer(update.callback_query)
    args = callback_args(update)
    page = int_arg(args, 0) if args else 0
    candidates, total = await context.services.segments.handover.candidates(actor_of(context), page)
    rows: list[list[Button]] = []
    for candidate in candidates:
        mark = "" if candidate.staff.active else "⛔ "
        rows.append([(short(f"{mark}{candidate.staff.name} · {candidate.owned.total}"),
                      f"ho:pick:{candidate.staff.id}")])
    nav: list[Button] = []
    if page > 0:
        nav.append(("◀️", f"ho:from:{page - 1}"))
    if (page + 1) * PAGE_SIZE < total:
        nav.append(("▶️", f"ho:from:{page + 1}"))
    rows += [nav, [(context.t("common.cancel"), "ho:x")]]
    await reply(update, context, context.t("segments.handover_pick_from"), rows)


async def pick_receiver(update: Update, context: CrmContext, from_staff_id: int) -> None:
    """To whom? Active colleagues in scope. Also the entry point from "Hand over first" in /users."""
    giver, receivers = await context.services.segments.handover.receivers(actor_of(context), from_staff_id)
    rows: list[list[Button]] = [[(short(p.name), f"ho:to:{giver.id}:{p.id}")] for p in receivers]
    rows.append([(context.t("common.back"), "ho:from:0"), (context.t("common.cancel"), "ho:x")])
    key = "segments.handover_pick_to" if receivers else "segments.handover_nobody"
    await reply(update, context, context.t(key, name=giver.name), rows)


@require_actor("customers.handover")
async def pick(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    await pick_receiver(update, context, int_arg(callback_args(update), 0))


@require_actor("customers.handover")
async def what(update: Update, context: CrmContext) -> None:
    """Everything, or only a saved segment's customers."""
    await answer(update.callback_query)
    args = callback_args(update)
    from_id, to_id = int_arg(args, 0), int_arg(args, 1)
    actor = actor_of(context)
    preview = await context.services.segments.handover.preview(actor, from_id, to_id)
    rows: list[list[Button]] = [[(context.t("segments.handover_all", count=preview.counts.total),
                                  f"ho:pv:{from_id}:{to_id}:0")]]
    for segment, _count in await context.services.segments.segments.list(actor):
        rows.append([(short(f"🎯 {segment.name}"), f"ho:pv:{from_id}:{to_id}:{segment.id}")])
    rows.append([(context.t("common.back"), f"ho:pick:{from_id}"), (context.t("common.cancel"), "ho:x")])
    await reply(update, context, context.t("segments.handover_pick_what", giver=preview.from_staff.name,
                                           receiver=preview.to_staff.name), rows)


@require_actor("customers.handover")
async def preview(update: Update, context: CrmContext) -> None:
    """The counts that would move, and the one button that moves them."""
    await answer(update.callback_query)
    args = callback_args(update)
    from_id, to_id, segment_id = int_arg(args, 0), int_arg(args, 1), int_arg(args, 2)
    shown = await context.services.segments.handover.preview(actor_of(context), from_id, to_id, segment_id or None)
    lines = [context.t("segments.handover_preview", giver=shown.from_staff.name, receiver=shown.to_staff.name),
             counts_text(context, shown.counts)]
    if shown.segment is not None:
        lines.append(context.t("segments.handover_only_segment", name=shown.segment.name))
    rows: list[list[Button]] = []
    if shown.counts.total:
        rows.append([(context.t("segments.btn_confirm_handover"), f"ho:go:{from_id}:{to_id}:{segment_id}")])
    else:
        lines.append(context.t("segments.handover_nothing"))
    rows.append([(context.t("common.back"), f"ho:to:{from_id}:{to_id}"), (context.t("common.cancel"), "ho:x")])
    await reply(update, context, "\n".join(lines), rows)


@require_actor("customers.handover")
async def confirm(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    from_id, to_id, segment_id = int_arg(args, 0), int_arg(args, 1), int_arg(args, 2)
    actor = actor_of(context)
    result = await context.services.segments.handover.execute(actor, from_id, to_id, segment_id or None)
    await answer(update.callback_query, context.t("segments.handover_done_short"))
    lines = [context.t("segments.handover_done", giver=result.from_staff.name, receiver=result.to_staff.name),
             counts_text(context, result.counts)]
    rows: list[list[Button]] = []
    if result.counts.total:
        await _notify(context, result)
    else:
        lines.append(context.t("segments.handover_nothing"))
    giver = result.from_staff
    if giver.active and segment_id == 0 and actor.can("users.manage") and giver.id != actor.staff_id:
        # Typically the reason for a full handover: offer the deactivation that now goes through.
        rows.append([(context.t("segments.btn_deactivate_now", name=short(giver.name, 30)), f"us:off:{giver.id}")])
    await reply(update, context, "\n".join(lines), rows)


async def _notify(context: CrmContext, result: HandoverResult) -> None:
    actor = actor_of(context)
    for person, key in ((result.from_staff, "segments.handover_notice_from"),
                        (result.to_staff, "segments.handover_notice_to")):
        if person.id == actor.staff_id or person.telegram_user_id is None:
            continue
        await _tell(context, person, key, result)


async def _tell(context: CrmContext, person: Staff, key: str, result: HandoverResult) -> None:
    locale = context.services.organisation.identity.locale_for(person, None)
    text = "\n".join([
        context.i18n.t(locale, key, giver=result.from_staff.name, receiver=result.to_staff.name,
                       manager=actor_of(context).name),
        counts_text(context, result.counts, locale),
    ])
    try:
        assert person.telegram_user_id is not None
        await context.bot.send_message(person.telegram_user_id, text, parse_mode=ParseMode.HTML)
    except (Forbidden, BadRequest) as exc:
        # Never started the bot, or blocked it: the handover stands; the manager's reply already says it.
        log.info("handover notice to staff %s not delivered: %s", person.id, exc)
    except NetworkError as exc:
        log.warning("handover notice to staff %s not sent: %s", person.id, exc)


@require_actor("customers.handover")
async def cancel(update: Update, context: CrmContext) -> None:
    await answer(update.callback_query)
    await reply(update, context, context.t("segments.handover_cancelled"))


async def handover_first(update: Update, context: CrmContext, person: Staff, owned: OwnedCounts) -> None:
    """Shown instead of the deactivation question while the person still owns open work."""
    actor = actor_of(context)
    text = "\n".join([context.t("segments.deactivate_blocked", name=person.name), counts_text(context, owned)])
    rows: list[list[Button]] = []
    if actor.can("customers.handover"):
        rows.append([(context.t("segments.btn_handover_first"), f"ho:pick:{person.id}")])
    else:
        text += "\n" + context.t("segments.deactivate_ask_manager")
    rows.append([(context.t("common.back"), f"us:view:{person.id}")])
    await reply(update, context, text, rows)


def handlers() -> list[CallbackQueryHandler[Any, Any]]:
    routes: dict[str, Any] = {"from": start, "pick": pick, "to": what, "pv": preview, "go": confirm, "x": cancel}
    return [CallbackQueryHandler(func, pattern=rf"^ho:{verb}(:|$)") for verb, func in routes.items()]
