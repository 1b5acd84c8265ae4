"""Line names in the reader's language: a product with Traditional Chinese and Simplified Chinese names shows them on
the quote, order and invoice cards of a reader in that language, the main name to an English reader and where the
product has no name in the reader's language; the lines keep the names they were made with when the catalog
changes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from crm.core.clock import ManualClock
from crm.customers.customers import CustomerDraft
from crm.sales.model import ProductDraft
from crm.sales.quote_model import LineDraft, QuoteLine, named_in
from tests.support.bot_harness import ADMIN_ID, Chatter, join, running_bot

NAT, SAM = 3003, 3004


def _text(messages: Sequence[object]) -> str:
    return "\n".join(getattr(m, "text", "") or "" for m in messages)


async def test_quote_order_and_invoice_lines_are_named_in_the_readers_language(engine: AsyncEngine,
                                                                                clock: ManualClock) -> None:
    async with running_bot(engine, clock) as bot:
        admin_chat = bot.user(ADMIN_ID, "Ada")
        await admin_chat.send("/start")
        services = bot.services
        admin = await services.organisation.identity.actor_by_staff_id(1)
        nat_chat, nat = await join(bot, NAT, "Nat", "manager", "zh-hant")
        sam_chat, _ = await join(bot, SAM, "Sam", "manager", "zh-hans")
        widget = await services.sales.catalog.create(admin, ProductDraft(
            sku="A-100", name="Screwdriver", name_zh_hant="螺絲起子", name_zh_hans="螺丝刀",
            list_price=Decimal("99.99"), currency="TWD"))
        bolt = await services.sales.catalog.create(admin, ProductDraft(
            sku="B-20", name="Bolt", list_price=Decimal("12.5"), currency="TWD"))
        acme = (await services.customers.customers.create(nat, CustomerDraft(name="Acme"), force=True)).id
        lines = [LineDraft(product_id=widget.id, quantity=Decimal(2)), LineDraft(product_id=bolt.id,
                                                                                 quantity=Decimal(3))]
        quote = await services.sales.quotes.create(nat, acme, lines)
        order = await services.orders.orders.create(nat, acme, lines)
        invoice = await services.billing.invoices.issue_from(admin, "order", order.id)
        # The catalog changes afterwards: the lines say what was offered.
        await services.sales.catalog.update(admin, widget.id, {"name_zh_hant": "十字起子"})

        async def card(chat: Chatter, data: str) -> str:
            # The card's own button, pressed on whatever message is last (as a list's button leads to it).
            return _text(await chat._do(bot.api.press(chat.user, None, data, enqueue=False, forged=True)))

        for chat in (nat_chat, sam_chat, admin_chat):
            await chat.send("/orders")  # a message with buttons
        for data in (f"qt:open:{quote.id}", f"or:open:{order.id}", f"bi:open:{invoice.id}"):
            hant = await card(nat_chat, data)
            assert "螺絲起子" in hant and "Bolt" in hant and "Screwdriver" not in hant and "十字起子" not in hant
            hans = await card(sam_chat, data)
            assert "螺丝刀" in hans and "螺絲起子" not in hans
            english = await card(admin_chat, data)
            assert "Screwdriver" in english and "螺絲起子" not in english


def test_a_line_without_a_translation_falls_back_to_its_main_name() -> None:
    line = QuoteLine(product_id=1, sku="A-100", name="Screwdriver", quantity=Decimal(1), unit_price=Decimal(1),
                     discount=Decimal(0), tax_rate=Decimal(0), name_zh_hant="螺絲起子")
    assert line.name_in("zh-Hant") == "螺絲起子"
    assert line.name_in("zh-Hans") == line.name_in("en") == line.name_in(None) == "Screwdriver"
    assert [x.name for x in named_in([line], "zh-Hant")] == ["螺絲起子"]
