"""CSV and XLSX files in and out: the adapter behind ``crm.customers.spreadsheets.SpreadsheetCodec``.

It lives in ``storage/`` because it is I/O on the data the CRM stores, and the top-level folders are fixed.

CSV files from Taiwanese and mainland Excel are rarely UTF-8: Excel saves "CSV" in the system code page, Big5
(cp950) or GBK. Both decode many of the other's byte sequences without error, so when a file is not UTF-8 we
decode it both ways and keep the reading whose characters are the common ones of that encoding: Big5's
frequently used block (lead bytes 0xA4–0xC6) or GB2312. Text read the wrong way is mostly rare characters.

openpyxl is imported inside the functions that use it, so the resident bot does not pay for it at start-up.

Hostile files (docs/importing.md, "Files that attack"): an XLSX is a zip, and a 1 MB zip can unpack to gigabytes
that openpyxl holds in memory. ``read_xlsx`` first checks the zip's central directory (sizes, ratio, entry count
and names: no decompression), then parses in a child process under a memory and a time limit
(``storage/customers/sheet_child.py``), which also caps cells per row, cells, and cell length while reading. A
refusal is an ``UnreadableFile`` whose key and parameters tell the user what is too big.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import posixpath
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from crm.customers.importing import UnreadableFile
from crm.customers.spreadsheets import SheetFormat
from storage.customers.sheet_child import MAX_COLUMNS, SheetLimits, limits_argument

__all__ = ["MAX_COLUMNS", "SheetLimits", "SpreadsheetFiles", "check_zip", "read_csv", "read_xlsx", "write_csv",
           "write_xlsx"]

LIMITS = SheetLimits()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A zip inside the zip (or any archive) is unpacked by nobody here: it is only a way to hide size.
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".xlsx", ".xlsm", ".jar", ".cab")
_BIG_ENTRY = 1024 * 1024  # the ratio check applies above this: tiny parts of repeated XML compress very well


class SpreadsheetFiles:
    def __init__(self, limits: SheetLimits = LIMITS) -> None:
        self.limits = limits

    def read(self, data: bytes, filename: str, *, max_rows: int) -> list[list[str]]:
        suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
        if suffix == "xlsx" or (not suffix and data[:2] == b"PK"):
            return read_xlsx(data, max_rows=max_rows, limits=self.limits)
        if suffix in ("csv", "txt", "tsv"):
            return read_csv(data, max_rows=max_rows, limits=self.limits)
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


def _longest_line(text: str) -> int:
    """Line by line in Python rather than one regular expression over the whole text: the regex engine holds the
    GIL throughout (measured: 64 ms for 20,000 rows, the bot's loop thread stalled meanwhile)."""
    longest = start = 0
    while (end := text.find("\n", start)) != -1:
        longest = max(longest, end - start)
        start = end + 1
    return max(longest, len(text) - start)


def read_csv(data: bytes, *, max_rows: int, limits: SheetLimits = LIMITS) -> list[list[str]]:
    if len(data) > limits.unpacked_bytes:
        raise UnreadableFile("importing.too_large_unpacked", size=_size(len(data)), limit=_size(limits.unpacked_bytes))
    text = decode_text(data)
    if "\x00" in text:
        raise UnreadableFile("importing.damaged_file")
    # One line of millions of commas is one row of millions of cells before any cap below could see it.
    if _longest_line(text) > limits.line_chars:
        raise UnreadableFile("importing.line_too_long", limit=f"{limits.line_chars:,}")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count) if first_line else ","
    rows: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= max_rows:
                raise UnreadableFile("importing.too_many_rows", limit=max_rows - 1)
            cells = cells[:MAX_COLUMNS]
            if any(len(cell) > limits.cell_chars for cell in cells):
                raise UnreadableFile("importing.cell_too_long", row=len(rows) + 1, limit=f"{limits.cell_chars:,}")
            rows.append([_unguard(c) for c in cells])
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

def _size(count: int) -> str:
    """1.0 GB, 200 MB, 12 KB: how big, for a person."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{count} B"


def check_zip(data: bytes, limits: SheetLimits = LIMITS) -> None:
    """Refuse a zip by its central directory alone, before anything is unpacked.

    The sizes there are the archive's own claims, but they bind: Python's zipfile stops an entry at its
    declared size and fails its CRC, so a part cannot unpack to more than the directory says."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UnreadableFile("importing.damaged_file") from exc
    if len(entries) > limits.entries:
        raise UnreadableFile("importing.too_many_parts", count=f"{len(entries):,}", limit=limits.entries)
    total = 0
    names: set[str] = set()
    for entry in entries:
        name = entry.filename
        normal = posixpath.normpath(name)
        odd = (entry.flag_bits & 0x1  # encrypted
               or entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
               or name.startswith(("/", "\\")) or "\\" in name or normal.startswith("..") or ":" in name
               or name.lower() in names or name.lower().endswith(_ARCHIVE_SUFFIXES))
        if odd:
            raise UnreadableFile("importing.odd_parts")
        names.add(name.lower())
        total += entry.file_size
        if entry.file_size > limits.unpacked_bytes or total > limits.unpacked_bytes:
            claimed = sum(e.file_size for e in entries)
            raise UnreadableFile("importing.too_large_unpacked", size=_size(claimed),
                                 limit=_size(limits.unpacked_bytes))
        if entry.file_size > _BIG_ENTRY and entry.file_size > limits.ratio * max(entry.compress_size, 1):
            ratio = entry.file_size // max(entry.compress_size, 1)
            raise UnreadableFile("importing.too_compressed", ratio=f"{ratio:,}", limit=limits.ratio)


def read_xlsx(data: bytes, *, max_rows: int, limits: SheetLimits = LIMITS) -> list[list[str]]:
    """The first sheet's rows as text; the file is parsed in a child process (see the module docstring)."""
    check_zip(data, limits)
    rows, _ = read_xlsx_in_child(data, max_rows=max_rows, limits=limits)
    return rows


def read_xlsx_in_child(data: bytes, *, max_rows: int, limits: SheetLimits = LIMITS) -> tuple[list[list[str]], int]:
    """Rows and the child's peak resident memory in KiB. Blocks the calling thread: call it off the loop."""
    command = [sys.executable, "-m", "storage.customers.sheet_child", str(max_rows), limits_argument(limits)]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=limits.seconds, check=False)
    except subprocess.TimeoutExpired as exc:  # run() has killed the child
        raise UnreadableFile("importing.too_slow", seconds=f"{limits.seconds:g}") from exc
    try:
        answer = json.loads(done.stdout)
    except ValueError as exc:
        # The child died without an answer: killed by the memory cap (an allocation outside Python's reach
        # failed) or crashed in the parser. Either way the file is the cause.
        if b"MemoryError" in done.stderr or done.returncode < 0:
            raise UnreadableFile("importing.too_large_memory") from exc
        raise UnreadableFile("importing.damaged_file") from exc
    if "error" in answer:
        raise UnreadableFile(str(answer["error"]), **dict(answer.get("params") or {}))
    return answer["rows"], int(answer.get("maxrss_kib", 0))


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
