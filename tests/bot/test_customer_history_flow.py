"""A customer's history in chat: the quote, the order, its shipment, the invoice and the payment beside the
interactions, newest first, in the reader's language — and none of them for a colleague of another department
who may see the customer but not its sales (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.billing.model import PaymentDraft, PaymentMethod
from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.orders.line import Item
from crm.organisation.identity import TelegramIdentity
from crm.organisation.permissions import Scope
from crm.sales.model import ProductDraft
from tests.support.bot_harness import ADMIN_ID, Chatter, join, running_bot

MIA, NED, CARL = 3101, 3102, 3103

# Per language: (quote, order, shipment, invoice, payment) as the history names them.
WORDS = {
    "en": ("Quote {quote}", "🧾 Order {order}", "Shipment S{shipment} · order {order} · DHL 1Z-99",
           "Invoice {invoice}", "Payment TWD 100.00 (Transfer)"),
    "zh-hant": ("報價單 {quote}", "🧾 訂單 {order}", "出貨 S{shipment}・訂單 {order}・DHL 1Z-99",
                "發票 {invoice}", "收款 TWD 100.00（匯款）"),
    "zh-hans": ("报价单 {quote}", "🧾 订单 {order}", "发货 S{shipment}・订单 {order}・DHL 1Z-99",
                "发票 {invoice}", "收款 TWD 100.00（汇款）"),
}


def _data(chatter: Chatter) -> list[str]:
    message = chatter.harness.api.chat(chatter.user.id).last_keyboard_message()
    return [b.callback_data or "" for b in message.buttons] if message else []

REVERSED = {"en": "reversed", "zh-hant": "已沖銷", "zh-hans": "已冲销"}


async def _history(chatter: Chatter, customer_id: int) -> str:
    """/find Acme → the customer's card → ⋯ More → 📜 History, whatever the reader's language."""
    await chatter.send("/find Acme")
    await chatter.press_data(f"cu:open:{customer_id}")
    await chatter.press_data(next(d for d in _data(chatter) if d.startswith("cu:more:")))
    sent = await chatter.press_data(f"cu:hist:{customer_id}")
    return "\n".join(m.text or "" for m in sent)


@pytest.mark.parametrize("language", ["en", "zh-hant", "zh-hans"])
async def test_history_has_each_sales_record_once_in_time_order(engine: AsyncEngine, clock: ManualClock,
                                                                language: str) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        s = bot.services
        admin = await s.organisation.identity.actor_for(TelegramIdentity(ADMIN_ID, "Ada"))
        assert admin is not None
        # Reps may see every customer, their sales only their own: Carl (another department) sees Acme, not
        # what Ned sold it.
        rep_role = next(r for r in await s.organisation.roles.list(admin) if r.name == "rep")
        await s.organisation.roles.set_scope(admin, rep_role.id, "customers", Scope.ALL)
        _, mias = await join(bot, MIA, "Mia", "manager")
        ned, neds = await join(bot, NED, "Ned", "rep", language)
        south = await s.organisation.departments.create(admin, "South", admin.department_id)
        invite = await s.organisation.invites.create(admin, rep_role.id, south.id)
        carl = bot.user(CARL, "Carl", language_code=language)
        await carl.send(f"/start {invite.code}")

        await s.sales.catalog.create(mias, ProductDraft(sku="A-100", name="Widget", list_price=Decimal("99.99"),
                                                        currency="TWD", tax_rate=Decimal(5)))
        acme = int((await s.customers.customers.create(neds, CustomerDraft(name="Acme"), force=True)).id)
        drafts = await s.orders.orders.resolve(neds, [Item("A-100", Decimal(2))])
        quote = await s.sales.quotes.create(neds, acme, drafts)
        clock.advance(timedelta(hours=1))
        order = await s.orders.orders.create(neds, acme, drafts)
        clock.advance(timedelta(hours=1))
        shipment = (await s.orders.orders.ship(mias, order.id, carrier="DHL", tracking="1Z-99")).shipment
        clock.advance(timedelta(hours=1))
        invoice = await s.billing.invoices.issue_from(mias, "order", order.id)
        assert invoice.owner_id == neds.staff_id
        clock.advance(timedelta(hours=1))
        today = clock.now().date()
        payment = await s.billing.payments.record(mias, PaymentDraft(
            customer_id=acme, amount=Decimal(100), currency="TWD", method=PaymentMethod.TRANSFER, received_on=today))

        history = await _history(ned, acme)
        words = [w.format(quote=quote.number, order=order.number, shipment=shipment.id, invoice=invoice.number)
                 for w in WORDS[language]]
        lines = history.splitlines()
        found = []
        for word in words:
            matching = [i for i, line in enumerate(lines) if word in line]
            assert len(matching) == 1, (word, history)
            found.append(matching[0])
        assert found == sorted(found, reverse=True), history  # newest first: payment … quote
        assert quote.number in lines[found[0]] and "209.98" in lines[found[0]]  # total and valid-until
        assert quote.valid_until.isoformat() in lines[found[0]]
        assert today.isoformat() in lines[found[4]]

        other = await _history(carl, acme)  # Carl finds the customer and opens its history …
        for number in (quote.number, order.number, f"S{shipment.id}", invoice.number, "TWD 100.00"):
            assert number not in other  # … none of its sales are there
        assert await s.billing.payments.of_customer(neds, acme)
        carls = await s.organisation.identity.actor_for(TelegramIdentity(CARL, "Carl", language_code=language))
        assert carls is not None
        assert not await s.billing.payments.of_customer(carls, acme)
        assert not await s.orders.orders.shipments_of_customer(carls, acme)
        assert not await s.sales.quotes.of_customer(carls, acme)

        # A reversed payment stays in the history, marked so.
        await s.billing.payments.reverse(mias, payment.id, "cheque bounced")
        reversed_line = (await _history(ned, acme)).splitlines()[1]
        assert "↩️" in reversed_line and REVERSED[language] in reversed_line
