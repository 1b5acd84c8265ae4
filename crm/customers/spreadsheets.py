"""Reading and writing spreadsheet files (CSV, XLSX): the import and export services need bytes in, bytes out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

SheetFormat = Literal["csv", "xlsx"]


class SpreadsheetCodec(Protocol):
    def read(self, data: bytes, filename: str, *, max_rows: int) -> list[list[str]]:
        """All rows of the first sheet as text cells, the header row included.

        Raises ``crm.customers.importing.UnreadableFile`` (or a subclass) with a message key the user can act on."""
        ...

    def write(self, fmt: SheetFormat, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes: ...
