"""CSV and XLSX files in and out: the adapter behind ``crm.customers.spreadsheets.SpreadsheetCodec``.

It lives in ``storage/`` because it is I/O on the data the CRM stores, and the top-level folders are fixed.

CSV files from Taiwanese and mainland Excel are rarely UTF-8: Excel saves "CSV" in the system code page, Big5
(cp950) or GBK. Both decode many of the other's byte sequences without error, so when a file is not UTF-8 we
decode it both ways and keep the reading whose characters are the common ones of that encoding: Big5's
frequently used block (lead bytes 0xA4–0xC6) or GB2312. Text read the wrong way is mostly rare characters.

openpyxl is imported inside the functions that use it, so the resident bot does not pay for it at start-up.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any

from crm.customers.importing import UnreadableFile
from crm.customers.spreadsheets import SheetFormat

MAX_COLUMNS = 200  # a sheet formatted out to column XFD would otherwise yield 16,384 cells per row
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class SpreadsheetFiles:
    def read(self, data: bytes, filename: str, *, max_rows: int) -> list[list[str]]:
        suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
        if suffix == "xlsx" or (not suffix and data[:2] == b"PK"):
            return read_xlsx(data, max_rows=max_rows)
        if suffix in ("csv", "txt", "tsv"):
            return read_csv(data, max_rows=max_rows)
        if suffix in ("xls", "numbers", "ods"):
            raise UnreadableFile("importing.old_format")
        raise UnreadableFile("importing.wrong_type")

    def write(self, fmt: SheetFormat, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
        if fmt == "csv":
            return write_csv(headers, rows)
        if fmt == "xlsx":
            return write_xlsx(headers, rows)
        raise ValueError(f"unknown spreadsheet format {fmt!r}")


# ---- CSV -------------------------------------------------------------------------------------------------------

def _share(text: str, common: Any) -> float:
    chars = [ch for ch in text if ord(ch) >= 0x2E80]
    return sum(1 for ch in chars if common(ch)) / len(chars) if chars else 1.0


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _big5_frequent(ch: str) -> bool:
    try:
        encoded = ch.encode("cp950")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xA4 <= encoded[0] <= 0xC6


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else the likelier of Big5 (cp950) and GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    readings: list[tuple[float, str]] = []
    for encoding, common in (("gb18030", _in_gb2312), ("cp950", _big5_frequent)):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        readings.append((_share(text[:20_000], common), text))
    if not readings:
        raise UnreadableFile("importing.bad_encoding")
    return max(readings, key=lambda reading: reading[0])[1]


def _strict(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile("importing.bad_encoding") from exc


def _unguard(cell: str) -> str:
    """Undo the formula guard ``write_csv`` adds, so an exported file imports back as it was."""
    return cell[1:] if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@" else cell


def read_csv(data: bytes, *, max_rows: int) -> list[list[str]]:
    text = decode_text(data)
    if "\x00" in text:
        raise UnreadableFile("importing.damaged_file")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line else ","
    rows: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= max_rows:
                raise UnreadableFile("importing.too_many_rows", limit=max_rows - 1)
            rows.append([_unguard(c) for c in cells[:MAX_COLUMNS]])
    except csv.Error as exc:  # a field over 128 KiB, a broken quote: not a customer list
        raise UnreadableFile("importing.damaged_file") from exc
    if not rows:
        raise UnreadableFile("importing.empty_file")
    return rows


def _guard(cell: str) -> str:
    """Spreadsheet apps run a CSV cell starting with = + - @ as a formula ("CSV injection"), and would even turn
    +1 415-555-0100 into a sum. A leading apostrophe keeps the text; ``read_csv`` removes it again."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_guard(h) for h in headers])
    writer.writerows([_guard(c) for c in row] for row in rows)
    # The BOM makes Excel open the file as UTF-8 instead of the system code page (mojibake otherwise).
    return out.getvalue().encode("utf-8-sig")


# ---- XLSX ------------------------------------------------------------------------------------------------------

def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A phone typed into Excel without formatting becomes 912345678.0.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else str(value)
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def read_xlsx(data: bytes, *, max_rows: int) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged or foreign zip files
        raise UnreadableFile("importing.damaged_file") from exc
    rows: list[list[str]] = []
    try:
        sheet = workbook.active or workbook.worksheets[0]
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            if len(rows) >= max_rows:
                raise UnreadableFile("importing.too_many_rows", limit=max_rows - 1)
            cells = [_cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            rows.append(cells)
    except UnreadableFile:
        raise
    except Exception as exc:  # malformed sheet XML surfaces only while iterating
        raise UnreadableFile("importing.damaged_file") from exc
    finally:
        workbook.close()
    if not rows:
        raise UnreadableFile("importing.empty_file")
    return rows


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()

    def cells(values: Sequence[str]) -> list[Any]:
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=_CONTROL.sub("", value))
            cell.data_type = "s"  # always text: "=..." stays a string, "0912..." keeps its leading zero
            out.append(cell)
        return out

    sheet.append(cells(headers))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
