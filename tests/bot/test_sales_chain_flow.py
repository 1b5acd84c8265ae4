"""The whole rep-and-manager chain driven in chat, asserted at each step through the messages people get: a rep
quotes with a discount over their limit → the manager approves from the push → the rep is told, marks the quote
sent and accepted → the order is made and its card pushed to the rep → the manager ships it all → invoices what
the order has to invoice (`/invoice O…`) → records the customer's payment → the receivables show what is owed,
then nothing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.model import ProductDraft
from tests.fakes.bot_api import ChatMessage
from tests.support.bot_harness import ADMIN_ID, join, running_bot

MIA, NED = 3001, 3002


def _text(messages: Sequence[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


async def test_quote_to_cash_in_chat(engine: AsyncEngine, clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        await bot.user(ADMIN_ID, "Ada").send("/start")
        mia, manager = await join(bot, MIA, "Mia", "manager")
        ned, rep = await join(bot, NED, "Ned", "rep")
        await bot.services.sales.catalog.create(manager, ProductDraft(
            sku="A-100", name="Widget", list_price=Decimal("99.99"), currency="TWD", tax_rate=Decimal(5)))
        await bot.services.customers.customers.create(rep, CustomerDraft(name="Acme"), force=True)

        # The rep quotes 2 widgets at 15 % off: over a rep's 10 %, so the quote waits for a manager.
        await ned.text_of("/quote")
        await ned.text_of("Acme")
        await ned.press("🏢 Acme")
        await ned.text_of("A-100")
        await ned.press("📦 A-100 · Widget")
        assert "Quantity: 2" in await ned.text_of("2")
        await ned.press("％ Line discount")
        await ned.text_of("15")
        await ned.press("✅ Add to quote")
        review = _text(await ned.press("▶️ Review the quote"))
        assert "Discount 15% is over your limit 10%" in review and "Total: TWD 178.48" in review
        card = _text(await ned.press("✅ Create quote"))
        assert "waiting for a manager" in card and "📤 Mark sent" not in ned.labels()

        # The manager gets the request as a push and approves it with its button; the rep is told.
        push = mia.last.text or ""
        assert "A discount needs your approval" in push and "15%" in push and "Asked by: Ned" in push
        assert "Approved" in _text(await mia.press("✅ Approve"))
        told = ned.last.text or ""
        assert "Mia approved the 15% discount on Quote" in told and "can be sent now" in told

        # The rep sends it; the customer accepts: the order is made and its card pushed to the rep.
        card = _text(await ned.press("📝 Open the quote"))
        assert "Discount 15% approved" in card
        assert "Marked as sent" in _text(await ned.press("📤 Mark sent"))
        assert "An order will be made" in _text(await ned.press("✅ Accepted"))
        accepted = _text(await ned.press("✅ Yes, accepted"))
        assert "Marked as accepted" in accepted
        pushed = _text(bot.api.sent_messages(NED)[-2:])
        assert "was accepted: order O2026-0001 is confirmed" in pushed and "TWD 178.48" in pushed

        # The manager ships it all from the order's card.
        assert "Orders" in await mia.text_of("/orders")
        assert any("O2026-0001 · Acme" in label for label in mia.labels())
        order_card = _text(await mia.press(1))
        assert "O2026-0001" in order_card and "Confirmed" in order_card
        await mia.press("🚚 Ship all")
        await mia.press("No tracking number")
        shipped = _text(await mia.press("✅ Ship"))
        assert "Shipment recorded" in shipped and "Shipped" in shipped

        # Invoices what the order has to invoice; a second invoice of it has nothing left.
        echoed = await mia.text_of("/invoice O2026-0001")
        assert "Acme" in echoed and "TWD 178.48" in echoed
        issued = _text(await mia.press("✅ Issue"))
        assert "Invoice INV2026-0001 issued" in issued and "TWD 178.48" in issued

        # What is owed shows in the receivables, the rep's own too.
        owed = await ned.text_of("/receivables")
        assert "Receivables" in owed and "Acme" in owed and "TWD 178.48" in owed

        # The customer pays in full; nothing is owed any more.
        echoed = await mia.text_of("/payment Acme NT$178.48 transfer #TX-1")
        assert "From Acme: TWD 178.48 by Transfer" in echoed and "→ INV2026-0001: TWD 178.48" in echoed
        assert "Payment of TWD 178.48 recorded" in _text(await mia.press("✅ Save"))
        assert "Nothing is owed to you right now" in await ned.text_of("/receivables")
