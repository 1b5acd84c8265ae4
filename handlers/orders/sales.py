"""The sales analysis in chat: ``/sales [period]`` answers with the figures against the previous period, then the
revenue trend as a photo; its "XLSX" button sends the workbook as a document. The report, the chart and the file
are made in the orders module's worker (crm/orders/report.py).

Buttons: ``sr:x:<period code>`` (digits only: the period's days, crm/orders/periods.py); the press is checked again
by the service (sales.view, the reader's own scope), so a forged or stale code only gets "not found" or a clear
error.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.orders.periods import from_code
from handlers.core.common import actor_of, callback_args, require_actor
from handlers.core.screens import respond
from views.orders.sales import period_text, sales_text


def _plain(context: CrmContext) -> Any:
    def t(key: str, /, **params: Any) -> str:
        return context.i18n.t(context.locale, key, **params)
    return t


@require_actor("sales.view")
async def sales(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    service = context.services.orders.sales
    try:
        period = service.period(actor, " ".join(context.args or []))
    except ValidationFailed as exc:
        await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("orders.sales_usage"))
        return
    report = await service.report(actor, period, context.locale, context.t("orders.sales_none"))
    await respond(update, context, sales_text(context.t, report),
                  [[(context.t("orders.sales_btn_xlsx"), f"sr:x:{period.code}")]])
    chat = update.effective_chat
    if chat is None or report.trend is None:
        return
    label, previous = period_text(report)
    plain = _plain(context)
    chart = await service.chart(report, plain("orders.sales_chart_title", currency=report.trend.currency,
                                              period=label),
                                plain("orders.sales_chart_current", period=label),
                                plain("orders.sales_chart_previous", period=previous))
    if chart is not None:
        await context.bot.send_photo(chat.id, chart, caption=context.t("orders.sales_chart_caption", period=label))


@require_actor("sales.view")
async def sales_file(update: Update, context: CrmContext) -> None:
    try:
        period = from_code((callback_args(update) or [""])[0])
    except ValidationFailed as exc:
        raise DomainError("error.stale_button") from exc
    chat = update.effective_chat
    if chat is None:
        return
    await respond(update, context, context.t("orders.sales_file_coming"), edit=False)
    made = await context.services.orders.sales.export(actor_of(context), period, _plain(context), context.locale)
    await context.bot.send_document(chat.id, made.data, filename=made.filename,
                                    caption=context.t("orders.sales_file_caption", period=period.label))
