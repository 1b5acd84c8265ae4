"""Exporting the customers a user may see as a CSV or XLSX file, with headers the importer reads back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from crm.core.clock import Clock
from crm.core.errors import ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers import phones
from crm.customers.bulk import ExportedCustomer
from crm.customers.ports import CustomersUnitOfWork
from crm.customers.spreadsheets import SheetFormat, SpreadsheetCodec
from crm.organisation import audit
from crm.organisation.permissions import Actor, ScopeFilter

# Column → message key of its header. The texts are among importing.HEADER_ALIASES in every language, so an
# exported file imports again unchanged (tests/integration/test_import_export.py round-trips it).
EXPORT_COLUMNS: dict[str, str] = {
    "name": "importing.col_name",
    "short_name": "importing.col_short_name",
    "kind": "importing.col_kind",
    "phone": "importing.col_phone",
    "email": "importing.col_email",
    "address": "importing.col_address",
    "region": "importing.col_region",
    "industry": "importing.col_industry",
    "source": "importing.col_source",
    "classification": "importing.col_classification",
    "tier": "importing.col_tier",
    "tags": "importing.col_tags",
    "notes": "importing.col_notes",
    "owner": "importing.col_owner",
    "created_at": "importing.col_created_at",
    "last_contact_at": "importing.col_last_contact_at",
}
VALUE_KEYS: dict[str, str] = {
    "potential": "importing.class_potential",
    "general": "importing.class_general",
    "loyal": "importing.class_loyal",
    "company": "importing.kind_company",
    "person": "importing.kind_person",
}
FORMATS: tuple[SheetFormat, ...] = ("csv", "xlsx")
Translate = Callable[[str], str]
ExportProgress = Callable[[str, int], Awaitable[None]]  # ("reading", 0), then ("writing", customers)


class ExtraColumns(Protocol):
    """Columns a module built on this one adds to the export (custom fields). It runs in the export's worker
    process, so it must pickle: a module-level class whose state is plain data."""

    async def read(self, uow: Any, customer_ids: Sequence[int], locale: str
                   ) -> tuple[list[str], Mapping[int, list[str]]]:
        """Headers (in ``locale``, read back by the import in any language) and each customer's cells."""
        ...


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    count: int


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def export_table(items: Sequence[ExportedCustomer], translate: Translate, timezone: str, phone_region: str
                 ) -> tuple[list[str], list[list[str]]]:
    """Headers in the reader's language, one row per customer; phones and tags joined in one cell each.
    Home-region phones are written the national way (0912 345 678): what people type, what imports back."""
    zone = ZoneInfo(timezone)
    headers = [translate(key) for key in EXPORT_COLUMNS.values()]
    labels = {value: translate(key) for value, key in VALUE_KEYS.items()}
    rows: list[list[str]] = []
    for item in items:
        c = item.customer
        rows.append([
            c.name, c.short_name or "", labels[c.kind.value],
            "; ".join(phones.display(p, phone_region) for p in c.phones), c.email or "", c.address or "",
            c.region or "", c.industry or "", c.source or "", labels[c.classification.value],
            c.tier.value if c.tier else "", ", ".join(c.tags), c.notes or "", item.owner_name,
            _when(c.created_at, zone), _when(c.last_contact_at, zone),
        ])
    return headers, rows


async def build_export(factory: UnitOfWorkFactory[CustomersUnitOfWork], scope: ScopeFilter, fmt: SheetFormat,
                       labels: dict[str, str], timezone: str, phone_region: str, codec: SpreadsheetCodec,
                       extras: Sequence[ExtraColumns] = (), locale: str = "en") -> tuple[bytes, int]:
    """The file's bytes and how many customers it holds: reading, formatting and writing, all of it apart from
    the bot (``Worker.run_apart``): at 100,000 customers this is seconds of Python — converting rows, formatting
    phone numbers, writing cells — that in a thread of the bot's process slowed every lookup."""
    async with factory(write=False) as uow:
        items = await uow.customers.bulk.customers_for_export(scope)
        ids = [item.customer.id for item in items]
        added = [await extra.read(uow, ids, locale) for extra in extras]
    headers, rows = export_table(items, labels.__getitem__, timezone, phone_region)
    for extra_headers, cells in added:
        headers.extend(extra_headers)
        blank = [""] * len(extra_headers)
        for row, customer_id in zip(rows, ids, strict=True):
            row.extend(cells.get(customer_id, blank))
    return codec.write(fmt, headers, rows), len(rows)


class ExportService:
    def __init__(self, uow: UnitOfWorkFactory[CustomersUnitOfWork], clock: Clock, codec: SpreadsheetCodec, *,
                 phone_region: str = "TW",
                 worker: Worker[UnitOfWorkFactory[CustomersUnitOfWork]] | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._codec = codec
        self.phone_region = phone_region
        # Reading and formatting 100,000 customers takes seconds: off the bot's event loop (crm/core/offloop.py).
        self._worker = worker or InlineWorker(uow)
        self.extra_columns: ExtensionPoint[ExtraColumns] = ExtensionPoint()

    async def export(self, actor: Actor, fmt: str, translate: Translate, *,
                     progress: ExportProgress | None = None) -> ExportFile:
        """Exactly the customers in the actor's scope. Exporting is recorded in the audit log: a file of every
        customer leaving the system is something a company wants to be able to trace."""
        actor.require("customers.export")
        if fmt not in FORMATS:
            raise ValidationFailed("importing.unknown_format")
        if progress is not None:
            await progress("reading", 0)
        labels = {key: translate(key) for key in (*EXPORT_COLUMNS.values(), *VALUE_KEYS.values())}
        data, count = await self._worker.run_apart(build_export, actor.scope_filter("customers"), fmt, labels,
                                                   actor.timezone, self.phone_region, self._codec,
                                                   tuple(self.extra_columns), actor.locale)
        if progress is not None:
            await progress("writing", count)
        async with self._uow() as uow:
            await audit.record(uow, actor.staff_id, "export", "customer", None, {}, {"format": fmt, "count": count})
            await uow.commit()
        stamp = self._clock.now().astimezone(ZoneInfo(actor.timezone)).strftime("%Y%m%d-%H%M")
        return ExportFile(f"customers-{stamp}.{fmt}", data, count)
