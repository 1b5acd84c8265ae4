"""Custom fields in the customer import and export (``crm/customers`` ``ExtraColumns`` / ``ExtraImport``).

The export adds one column per live customer field, headed by its label in the exporter's language, each value
written as ``values.as_text`` writes it (a date as ISO, money as ``USD 1500.50``, multi-choice comma-separated).
The import reads a column whose header is a field's label in any of the three languages and the import itself
does not read; every value is read as typed input is, so an exported file imports back unchanged. A required
field's column left empty on a row is that row's error; a file without the column imports (fill it in later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crm.core.errors import ValidationFailed
from crm.customers.importing import ColumnMapping, RowError
from crm.fields.model import FieldDef, FieldEntity, FieldValue
from crm.fields.values import as_text, find_field, parse_value
from crm.organisation.model import AuditEntry
from crm.organisation.permissions import Actor


class FieldExport:
    """Pickles (plain class, no state): it runs in the export's worker process."""

    async def read(self, uow: Any, customer_ids: Sequence[int], locale: str
                   ) -> tuple[list[str], Mapping[int, list[str]]]:
        fields: Sequence[FieldDef] = await uow.fields.fields.listed(FieldEntity.CUSTOMER)
        if not fields:
            return [], {}
        stored = await uow.fields.values.of(FieldEntity.CUSTOMER, customer_ids)
        cells = {customer_id: [as_text(f, values.get(f.id, FieldValue())) for f in fields]
                 for customer_id, values in stored.items()}
        return [f.label(locale) for f in fields], cells


class FieldImport:
    def __init__(self, *, currency: str, phone_region: str, now: Any) -> None:
        self._currency = currency
        self._phone_region = phone_region
        self._now = now  # () -> datetime: "today" for dates typed as words

    async def plan(self, uow: Any, mapping: ColumnMapping, rows: Sequence[tuple[int, Sequence[str]]]
                   ) -> tuple[Mapping[int, Any], Sequence[RowError]]:
        fields: Sequence[FieldDef] = await uow.fields.fields.listed(FieldEntity.CUSTOMER)
        columns = [(column.index, column.header, field) for column in mapping.columns if column.field is None
                   and (field := find_field(fields, column.header)) is not None]
        if not columns:
            return {}, []
        now: datetime = self._now()
        found: dict[int, dict[int, FieldValue]] = {}
        errors: list[RowError] = []
        for number, cells in rows:
            values: dict[int, FieldValue] = {}
            for index, header, field in columns:
                cell = cells[index].strip() if index < len(cells) else ""
                try:
                    value = parse_value(field, cell, currency=self._currency, phone_region=self._phone_region,
                                        now=now)
                except ValidationFailed as exc:
                    errors.append(RowError(number, header, exc.key, dict(exc.params)))
                    continue
                if value.is_empty:
                    if field.required:
                        errors.append(RowError(number, header, "fields.required", {"label": header}))
                    continue
                values[field.id] = value
            if values:
                found[number] = values
        return found, errors

    async def write(self, uow: Any, actor: Actor, created: Sequence[tuple[int, Any]], now: datetime) -> None:
        rows = [(customer_id, values) for customer_id, values in created if values]
        if not rows:
            return
        fields = {f.id: f for f in await uow.fields.fields.listed(FieldEntity.CUSTOMER)}
        await uow.fields.values.insert_many(FieldEntity.CUSTOMER, [
            (customer_id, fields[field_id], value) for customer_id, values in rows
            for field_id, value in values.items() if field_id in fields], now)
        await uow.customers.bulk.insert_audit([
            AuditEntry(actor.staff_id, "update", "customer_fields", customer_id, {},
                       {f"field_{field_id}": as_text(fields[field_id], value)
                        for field_id, value in values.items() if field_id in fields}, now)
            for customer_id, values in rows])
