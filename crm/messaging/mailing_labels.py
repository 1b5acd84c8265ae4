"""Address labels and envelopes (列印信封標籤) for a segment or a hand-picked selection of customers.

The addresses come from the customers the actor may see (out-of-scope ids are left out silently, like a search);
customers without an address are counted and reported, not printed blank. The PDF itself is made by a
``LabelRenderer`` (outbound/labels_pdf.py), which decides name/line order for Chinese and Latin addresses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers.model import Customer
from crm.messaging.campaigns import SegmentSource
from crm.messaging.ports.documents import EnvelopeSize, LabelAddress, LabelRenderer, LabelSheet
from crm.messaging.ports.repositories import MessagingUnitOfWork
from crm.organisation import audit
from crm.organisation.permissions import Actor

__all__ = ["LAYOUTS", "LabelDocument", "LabelService", "Layout", "sender_address"]

Layout = Literal["avery5160", "l7160", "DL", "C5", "10"]
LAYOUTS: tuple[Layout, ...] = ("avery5160", "l7160", "DL", "C5", "10")
SHEETS: frozenset[str] = frozenset({"avery5160", "l7160"})
MAX_LABELS = 3000  # 100 Avery sheets: more is a print-shop job, not a chat document

_LINE_BREAKS = re.compile(r"\s*(?:\r?\n|\|)\s*")


@dataclass(frozen=True)
class LabelDocument:
    filename: str
    pdf: bytes
    printed: int
    without_address: int  # selected customers we could not print: no address on file


def sender_address(name: str, address: str) -> LabelAddress:
    """The sender block from settings: company name, and the address with lines split at "|" or newlines."""
    lines = [line for line in _LINE_BREAKS.split(address.replace("\\n", "\n")) if line]
    return LabelAddress(name, lines)


def _address_lines(address: str) -> list[str]:
    return [line for line in _LINE_BREAKS.split(address.strip()) if line]


class LabelService:
    def __init__(self, uow: UnitOfWorkFactory[MessagingUnitOfWork], clock: Clock, renderer: LabelRenderer,
                 sender: LabelAddress,
                 segments: SegmentSource | None = None,
                 worker: Worker[UnitOfWorkFactory[MessagingUnitOfWork]] | None = None) -> None:
        self._uow = uow
        # Thousands of addresses take seconds of PDF drawing: off the bot's event loop (crm/core/offloop.py).
        self._worker = worker or InlineWorker(uow)
        self._clock = clock
        self._renderer = renderer
        self.sender = sender
        self.segments = segments

    async def segment_customers(self, actor: Actor, segment_id: int) -> Sequence[int]:
        actor.require("customers.view")
        if self.segments is None:
            raise ValidationFailed("subscriptions.segments_unavailable")
        return await self.segments.customer_ids(actor, segment_id)

    async def printable(self, actor: Actor, customer_ids: Sequence[int], layout: str) -> int:
        """How many of these customers ``render`` would print; the same refusals as ``render`` (nothing with
        an address, too many), found by a read the caller can afford to await before starting the PDF."""
        self._check(actor, customer_ids, layout)
        async with self._uow() as uow:
            addresses, _ = await _addresses(uow, actor, customer_ids)
        return len(addresses)

    async def render(self, actor: Actor, customer_ids: Sequence[int], layout: str) -> LabelDocument:
        """A PDF of labels (sheet layouts) or envelopes (DL, C5, #10) for these customers."""
        self._check(actor, customer_ids, layout)
        return await self._worker.run(lambda uow: self._render(uow, actor, customer_ids, layout))

    @staticmethod
    def _check(actor: Actor, customer_ids: Sequence[int], layout: str) -> None:
        actor.require("customers.view")
        if layout not in LAYOUTS:
            raise ValidationFailed("error.invalid")
        if not customer_ids:
            raise ValidationFailed("subscriptions.labels_none_selected")
        if len(customer_ids) > MAX_LABELS:
            raise ValidationFailed("subscriptions.labels_too_many", limit=MAX_LABELS)

    async def _render(self, factory: UnitOfWorkFactory[MessagingUnitOfWork], actor: Actor,
                      customer_ids: Sequence[int], layout: str) -> LabelDocument:
        async with factory() as uow:
            addresses, customers = await _addresses(uow, actor, customer_ids)
            missing = len(customers) - len(addresses)
            # Printing addresses in bulk is an export of personal data: keep a trace of who printed what.
            await audit.record(uow, actor.staff_id, "print_labels", "customer", None, {},
                               {"layout": layout, "customers": [c.id for c in customers if c.address]})
            await uow.commit()
        if layout in SHEETS:
            sheet: LabelSheet = "avery5160" if layout == "avery5160" else "l7160"
            pdf = self._renderer.labels_pdf(addresses, sheet)
            name = f"labels-{layout}.pdf"
        else:
            size: EnvelopeSize = "DL" if layout == "DL" else ("C5" if layout == "C5" else "10")
            pdf = self._renderer.envelopes_pdf(addresses, self.sender, size)
            name = f"envelopes-{layout}.pdf"
        return LabelDocument(name, pdf, len(addresses), missing)


async def _addresses(uow: MessagingUnitOfWork, actor: Actor,
                     customer_ids: Sequence[int]) -> tuple[list[LabelAddress], Sequence[Customer]]:
    """The printable addresses and every customer the actor may see among ``customer_ids``; none printable is
    refused here, so an empty PDF is never made."""
    customers = await uow.messaging.campaigns.customers(customer_ids, actor.scope_filter("customers"))
    addresses = [LabelAddress(c.name, _address_lines(c.address)) for c in customers if c.address and c.address.strip()]
    if not addresses:
        raise ValidationFailed("subscriptions.labels_no_address", count=len(customers) - len(addresses))
    return addresses, customers
