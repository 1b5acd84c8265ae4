"""Expense spreadsheets (the budget proposal, reports) as XLSX: amounts as numbers a spreadsheet can add up, every
text cell written as text, so a name starting with "=" never becomes a formula."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from crm.expenses.ports import Cell

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 refuses them
_TITLE = re.compile(r"[\[\]:*?/\\]")  # not allowed in a sheet's title


class XlsxSheets:
    def write(self, sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]]) -> bytes:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        for title, headers, rows in sheets:
            sheet = workbook.create_sheet(_TITLE.sub(" ", title)[:31] or "Sheet")

            def cells(values: Sequence[Cell], sheet: Any = sheet) -> list[Any]:
                out = []
                for value in values:
                    if isinstance(value, str):
                        cell = WriteOnlyCell(sheet, value=_CONTROL.sub("", value))
                        cell.data_type = "s"
                    else:
                        cell = WriteOnlyCell(sheet, value=value)
                    out.append(cell)
                return out

            sheet.append(cells(headers))
            for row in rows:
                sheet.append(cells(row))
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
