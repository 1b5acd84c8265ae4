"""Reading an XLSX file in a child process: ``python -m storage.customers.sheet_child MAX_ROWS LIMITS_JSON``.

The file comes on stdin; the rows, or the reason it was refused, go to stdout as JSON. The parent
(``storage.customers.spreadsheets.read_xlsx``) has already checked the zip directory; this process is the second
line: it caps the address space (RLIMIT_AS) before touching the file, so a sheet that still blows up in the XML
parser takes down this process only, and the parent kills it after a time limit.

Why a pre-scan before openpyxl: openpyxl's read-only reader builds each ``<row>`` element whole before it yields
it (0.6 MB of zip holding 5 million cells in one row took 4.9 GB), and loads every shared string up front. A
regular-expression count over the raw XML, chunk by chunk, costs a fraction of the parse and never holds more
than a chunk. It may over-count ("<c " inside a comment), which only refuses an odd file; it cannot under-count,
as every element openpyxl reads starts with ``<`` + optional prefix + its name.

Only the standard library and openpyxl are imported here, so the child starts in a few hundred milliseconds.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import resource
import sys
import zipfile
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

MAX_COLUMNS = 200  # a sheet formatted out to column XFD would otherwise yield 16,384 cells per row
_CHUNK = 1 << 20
_ROW = re.compile(rb"<(?:[\w.-]+:)?row[\s/>]")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_STRING = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")


@dataclass(frozen=True)
class SheetLimits:
    """What a customer spreadsheet may be. Each limit is far above a real customer list and far below what
    hurts the bot: a 100,000-row export is 7.7 MB zipped, 67 MB unpacked, 16 cells a row."""

    unpacked_bytes: int = 200 * 1024 * 1024  # all entries of the zip together, and any one entry
    ratio: int = 100  # unpacked / packed, for entries over 1 MB (a real sheet: ~9; a zip bomb: thousands)
    entries: int = 500
    cells_per_row: int = 16_384  # Excel's own maximum (column XFD)
    cells: int = 5_000_000  # in the sheet, and shared strings
    cell_chars: int = 10_000
    line_chars: int = 100_000  # CSV: one line (a row)
    memory_bytes: int = 1024 * 1024 * 1024  # address space the child may add to what it has after start-up
    seconds: float = 180.0


class Refused(Exception):
    """The file is refused; ``key`` and ``params`` say why, for the user."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


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


def _scan(archive: zipfile.ZipFile, name: str, limits: SheetLimits, *, strings: bool) -> None:
    """Count rows' cells (or shared strings) in one part, streaming, and refuse at the first cap crossed."""
    total = 0
    in_row = 0
    tail = b""
    with archive.open(name) as part:
        while True:
            chunk = part.read(_CHUNK)
            data = tail + chunk
            # Up to the last "<": a tag cut by the chunk boundary is counted with the next chunk.
            cut = data.rfind(b"<") if chunk else -1
            usable, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
            if strings:
                total += len(_STRING.findall(usable))
            else:
                for index, piece in enumerate(_ROW.split(usable)):
                    if index:
                        in_row = 0
                    count = len(_CELL.findall(piece))
                    in_row += count
                    total += count
                    if in_row > limits.cells_per_row:
                        raise Refused("importing.too_many_columns", limit=f"{limits.cells_per_row:,}")
            if total > limits.cells:
                raise Refused("importing.too_many_cells", limit=f"{limits.cells:,}")
            if not chunk:
                return


def parse_xlsx(data: bytes, *, max_rows: int, limits: SheetLimits) -> list[list[str]]:
    """The first sheet's rows as text, within the limits (raises ``Refused``); runs in the child."""
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        strings = next((n for n in archive.namelist() if posixpath.basename(n).lower() == "sharedstrings.xml"),
                       None)
        if strings is not None:
            _scan(archive, strings, limits, strings=True)
        for name in archive.namelist():
            if name.lower().startswith("xl/worksheets/") and name.lower().endswith(".xml"):
                _scan(archive, name, limits, strings=False)
    except Refused:
        raise
    except Exception as exc:
        raise Refused("importing.damaged_file") from exc
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged or foreign zip files
        raise Refused("importing.damaged_file") from exc
    rows: list[list[str]] = []
    try:
        sheet = workbook.active or workbook.worksheets[0]
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            if len(rows) >= max_rows:
                raise Refused("importing.too_many_rows", limit=f"{max_rows - 1:,}")
            cells = [_cell_text(v) for v in values]
            if any(len(cell) > limits.cell_chars for cell in cells):
                raise Refused("importing.cell_too_long", row=len(rows) + 1, limit=f"{limits.cell_chars:,}")
            while cells and not cells[-1]:
                cells.pop()
            rows.append(cells)
    except (Refused, MemoryError):
        raise
    except Exception as exc:  # malformed sheet XML surfaces only while iterating
        raise Refused("importing.damaged_file") from exc
    finally:
        workbook.close()
    if not rows:
        raise Refused("importing.empty_file")
    return rows


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit_memory(budget: int) -> None:
    """Cap this process's address space at what it uses now plus ``budget``: past it, allocations fail
    (MemoryError) instead of the machine swapping or the OOM killer picking the bot."""
    current = _address_space()
    if current:
        resource.setrlimit(resource.RLIMIT_AS, (current + budget, current + budget))


def main(argv: list[str]) -> int:
    import openpyxl  # noqa: F401  # loaded before the memory cap, which is about the file, not the library

    max_rows = int(argv[0])
    limits = SheetLimits(**json.loads(argv[1]))
    _limit_memory(limits.memory_bytes)
    data = sys.stdin.buffer.read()
    try:
        answer: dict[str, Any] = {"rows": parse_xlsx(data, max_rows=max_rows, limits=limits)}
    except Refused as refused:
        answer = {"error": refused.key, "params": refused.params}
    except MemoryError:
        answer = {"error": "importing.too_large_memory", "params": {}}
    answer["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))
    return 0


def limits_argument(limits: SheetLimits) -> str:
    return json.dumps(asdict(limits))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
