"""Spreadsheets built to hurt the bot: small on disk, huge unpacked, or one row of millions of cells.

Each bomb is built here, streamed into a zip so the test itself never holds it unpacked. What is checked: the
file is refused with the reason the user will read, and the memory of this process (and of the child that parses
XLSX files) stays far below what parsing the file would take (gigabytes, measured before the fix).
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm.customers.importing import UnreadableFile
from storage.customers.sheet_child import limits_argument
from storage.customers.spreadsheets import SheetLimits, SpreadsheetFiles, check_zip, read_csv, read_xlsx, write_xlsx

MB = 1024 * 1024
CONTENT_TYPE = ('<Override PartName="/xl/sharedStrings.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
              b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = b"</sheetData></worksheet>"
STRINGS_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?><sst '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _maxrss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _workbook(parts: dict[str, Callable[[zipfile.ZipFile, str], None]], *, extra: tuple[str, ...] = ()) -> bytes:
    """A real workbook (made by openpyxl) with some parts replaced or added by writers that stream them."""
    base = write_xlsx(["Name"], [["x"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename in parts:
                continue
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml" and "xl/sharedStrings.xml" in parts:
                data = data.replace(b"</Types>", CONTENT_TYPE.encode() + b"</Types>")
            dst.writestr(item.filename, data)
        for name, write in parts.items():
            write(dst, name)
        for name in extra:
            dst.writestr(name, b"x")
    return out.getvalue()


def _streamed(head: bytes, piece: bytes, repeat: int, tail: bytes) -> Callable[[zipfile.ZipFile, str], None]:
    def write(archive: zipfile.ZipFile, name: str) -> None:
        block = piece * 65_536
        with archive.open(name, "w", force_zip64=True) as part:
            part.write(head)
            for _ in range(repeat // 65_536):
                part.write(block)
            part.write(piece * (repeat % 65_536))
            part.write(tail)
    return write


def _refusal(read: Callable[[], object]) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as refused:
        read()
    return refused.value


def test_a_shared_strings_bomb_is_refused_from_the_zip_directory_without_unpacking() -> None:
    # 300 MB of shared strings in a zip of about 1 MB; openpyxl would have held all of it, and more, in memory.
    bomb = _workbook({"xl/sharedStrings.xml": _streamed(STRINGS_HEAD, b"<si><t>a</t></si>", 18_500_000,
                                                        b"</sst>")})
    assert len(bomb) < 2 * MB
    before = _maxrss_mib(resource.RUSAGE_SELF)
    refused = _refusal(lambda: SpreadsheetFiles().read(bomb, "customers.xlsx", max_rows=1000))
    assert refused.key == "importing.too_large_unpacked"
    assert refused.params == {"size": "300 MB", "limit": "200 MB"}
    assert _maxrss_mib(resource.RUSAGE_SELF) - before < 50  # nothing was unpacked here


def test_millions_of_cells_in_one_row_stop_at_the_column_cap_in_a_child_with_little_memory() -> None:
    # 5 million empty cells in one row: 0.1 MB zipped. With the ratio check relaxed, the file gets to the child,
    # whose pre-scan stops it before openpyxl builds the row (4.9 GB before the fix).
    bomb = _workbook({"xl/worksheets/sheet1.xml": _streamed(SHEET_HEAD + b'<row r="1">', b"<c/>", 5_000_000,
                                                            b"</row>" + SHEET_TAIL)})
    assert len(bomb) < MB
    assert _refusal(lambda: read_xlsx(bomb, max_rows=1000)).key == "importing.too_compressed"
    relaxed = SheetLimits(ratio=10**9)
    refused = _refusal(lambda: read_xlsx(bomb, max_rows=1000, limits=relaxed))
    assert refused.key == "importing.too_many_columns" and refused.params == {"limit": "16,384"}
    # The child's peak memory, read in a fresh interpreter: this test process's own reaped children (the bots
    # earlier tests ran) would otherwise count too.
    assert _child_peak_mib(bomb, relaxed) < 400


def _child_peak_mib(workbook: bytes, limits: SheetLimits) -> float:
    folder = Path(tempfile.mkdtemp())
    (folder / "bomb.xlsx").write_bytes(workbook)
    script = (
        "import resource, sys\n"
        "from storage.customers.spreadsheets import SheetLimits, read_xlsx\n"
        f"limits = SheetLimits(ratio={limits.ratio})\n"
        "try:\n"
        f"    read_xlsx(open({str(folder / 'bomb.xlsx')!r}, 'rb').read(), max_rows=1000, limits=limits)\n"
        "except Exception as refused:\n"
        "    print(type(refused).__name__, file=sys.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=240)
    return float(done.stdout.strip().splitlines()[-1])


def test_too_many_cells_and_too_long_cells_are_refused_while_reading() -> None:
    many = _workbook({"xl/worksheets/sheet1.xml": _streamed(SHEET_HEAD, b'<row><c t="inlineStr"><is><t>a</t></is>'
                                                            b"</c></row>", 3000, SHEET_TAIL)})
    refused = _refusal(lambda: read_xlsx(many, max_rows=10_000, limits=SheetLimits(cells=2000)))
    assert (refused.key, refused.params) == ("importing.too_many_cells", {"limit": "2,000"})
    assert _refusal(lambda: read_xlsx(many, max_rows=100)).key == "importing.too_many_rows"
    long_cell = write_xlsx(["Name", "Notes"], [["ok", "x" * 20]])
    refused = _refusal(lambda: read_xlsx(long_cell, max_rows=100, limits=SheetLimits(cell_chars=10)))
    assert (refused.key, refused.params) == ("importing.cell_too_long", {"row": 2, "limit": "10"})


def test_the_child_runs_out_of_its_memory_budget_and_says_so() -> None:
    # 300,000 distinct shared strings: fine in zip size and counts, but ~60 MB in Python against a budget of 30.
    def strings(archive: zipfile.ZipFile, name: str) -> None:
        with archive.open(name, "w") as part:
            part.write(STRINGS_HEAD)
            for start in range(0, 300_000, 10_000):
                part.write(b"".join(b"<si><t>%09d%s</t></si>" % (n, b"-" * 150) for n in range(start, start + 10_000)))
            part.write(b"</sst>")

    sheet = _workbook({"xl/sharedStrings.xml": strings})
    refused = _refusal(lambda: read_xlsx(sheet, max_rows=1000, limits=SheetLimits(memory_bytes=30 * MB, ratio=10**6)))
    assert refused.key == "importing.too_large_memory"


def _declare_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size replaced by ``size`` in its central directory entry (signature
    PK\\1\\2, size at +24) and its local header (PK\\3\\4, size at +22): a lie no zip writer would tell."""
    patched = bytearray(data)
    entry = patched.index(b"PK\x01\x02")
    encoded = name.encode()
    while patched[entry + 46:entry + 46 + len(encoded)] != encoded:
        entry = patched.index(b"PK\x01\x02", entry + 4)
    local = int.from_bytes(patched[entry + 42:entry + 46], "little")
    assert patched[local:local + 4] == b"PK\x03\x04"
    patched[entry + 24:entry + 28] = size.to_bytes(4, "little")
    patched[local + 22:local + 26] = size.to_bytes(4, "little")
    return bytes(patched)


def test_a_zip_that_lies_about_its_sizes_is_refused_as_damaged_without_unpacking_it() -> None:
    # 300 MB of rows (over the 200 MB limit) declared as 1 KB: the directory check believes the lie, but zipfile
    # stops the part at its declared size, so the child reads 1 KB, finds the checksum wrong and says damaged.
    def rows(archive: zipfile.ZipFile, name: str) -> None:
        block = b'<row><c t="inlineStr"><is><t>a</t></is></c></row>' * 65_536
        with archive.open(name, "w") as part:  # no zip64 extra: the plain 32-bit size fields hold the size
            part.write(SHEET_HEAD)
            for _ in range(300 * MB // len(block)):
                part.write(block)
            part.write(SHEET_TAIL)

    honest = _workbook({"xl/worksheets/sheet1.xml": rows})
    assert _refusal(lambda: check_zip(honest)).key == "importing.too_large_unpacked"
    lying = _declare_size(honest, "xl/worksheets/sheet1.xml", 1024)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 1024
    check_zip(lying)  # the lie passes the directory check: the child is the line that holds
    before = _maxrss_mib(resource.RUSAGE_SELF)
    assert _refusal(lambda: read_xlsx(lying, max_rows=1000)).key == "importing.damaged_file"
    assert _maxrss_mib(resource.RUSAGE_SELF) - before < 50
    # The child's own answer, with its peak memory, against a child reading an ordinary sheet (Linux keeps the
    # forking process's peak across exec, so only the difference says what the file cost): the declared
    # kilobyte was unpacked, not 300 MB.
    def child(data: bytes) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "storage.customers.sheet_child", "1000",
                               limits_argument(SheetLimits())], input=data, capture_output=True, check=True,
                              timeout=SheetLimits().seconds)
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    lied, ordinary = child(lying), child(write_xlsx(["Name"], [["x"]]))
    assert lied["error"] == "importing.damaged_file" and ordinary["rows"] == [["Name"], ["x"]]
    assert (int(lied["maxrss_kib"]) - int(ordinary["maxrss_kib"])) / 1024 < 50


def test_a_parse_over_the_time_limit_is_killed() -> None:
    sheet = write_xlsx(["Name"], [["x"]])
    refused = _refusal(lambda: read_xlsx(sheet, max_rows=10, limits=SheetLimits(seconds=0.001)))
    assert (refused.key, refused.params) == ("importing.too_slow", {"seconds": "0.001"})


@pytest.mark.parametrize(("extra", "limits", "key"), [
    (("xl/media/inner.zip",), SheetLimits(), "importing.odd_parts"),
    (("../../etc/cron.d/x",), SheetLimits(), "importing.odd_parts"),
    (tuple(f"xl/media/image{n}.png" for n in range(600)), SheetLimits(), "importing.too_many_parts"),
])
def test_odd_zip_entries_are_refused_before_parsing(extra: tuple[str, ...], limits: SheetLimits, key: str) -> None:
    assert _refusal(lambda: check_zip(_workbook({}, extra=extra), limits)).key == key


def test_an_encrypted_entry_is_refused() -> None:
    data = bytearray(write_xlsx(["Name"], [["x"]]))
    # Set the "encrypted" flag of the first entry in the central directory (signature PK\1\2, flags at +8).
    at = data.index(b"PK\x01\x02")
    data[at + 8] |= 0x1
    assert _refusal(lambda: check_zip(bytes(data))).key == "importing.odd_parts"


def test_a_damaged_zip_is_refused() -> None:
    assert _refusal(lambda: check_zip(b"PK\x03\x04 not really a zip")).key == "importing.damaged_file"


def test_csv_one_endless_line_and_long_cells_are_refused() -> None:
    endless = b"Name,Phone\n" + b"," * 5_000_000 + b"\n"
    before = _maxrss_mib(resource.RUSAGE_SELF)
    refused = _refusal(lambda: read_csv(endless, max_rows=100))
    assert (refused.key, refused.params) == ("importing.line_too_long", {"limit": "100,000"})
    assert _maxrss_mib(resource.RUSAGE_SELF) - before < 100  # the 5-million-cell row was never built
    refused = _refusal(lambda: read_csv(b"Name,Notes\nok," + b"y" * 10_001 + b"\n", max_rows=100))
    assert (refused.key, refused.params) == ("importing.cell_too_long", {"row": 2, "limit": "10,000"})
    refused = _refusal(lambda: read_csv(b"a\n" * 100, max_rows=10, limits=SheetLimits(unpacked_bytes=50)))
    assert (refused.key, refused.params) == ("importing.too_large_unpacked", {"size": "200 B", "limit": "50 B"})


def test_ordinary_files_still_read() -> None:
    rows = read_xlsx(write_xlsx(["Name", "Phone"], [["台積電", "0912 345 678"]]), max_rows=10)
    assert rows == [["Name", "Phone"], ["台積電", "0912 345 678"]]
    assert read_csv(b"Name,Notes\nok," + b"y" * 10_000 + b"\n", max_rows=10)[1][1] == "y" * 10_000
