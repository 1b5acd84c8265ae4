"""Import rules without a database: which column is what, what is wrong with each row, duplicates in a file."""

from __future__ import annotations

import gc
import re
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import Catalogs
from crm.core import locales
from crm.core.clock import SystemClock
from crm.core.errors import DomainError, ValidationFailed
from crm.customers.customers import CustomerService
from crm.customers.exporting import EXPORT_COLUMNS, VALUE_KEYS
from crm.customers.importing import (
    FIELDS,
    CheckedRows,
    OwnerDirectory,
    UnreadableFile,
    check_rows,
    detect_columns,
    gc_paused,
    parse_classification,
    parse_tier,
)
from crm.customers.model import Classification, CustomerKind, Tier
from crm.organisation.model import Staff

ROOT = Path(__file__).resolve().parents[2]
SERVICE = CustomerService(None, SystemClock(), phone_region="TW")  # type: ignore[arg-type]  # rules only


def _check(table: list[list[str]]) -> CheckedRows:
    return check_rows(table, phone_region="TW", normalize=SERVICE.normalize_draft)


def _fields(headers: list[str]) -> list[str | None]:
    return [c.field for c in detect_columns(headers).columns]


def test_headers_in_english_traditional_and_simplified_chinese() -> None:
    assert _fields(["Company Name", "Short name", "Phone 1", "Mobile", "E-mail", "Address", "Region", "Industry",
                    "Source", "Classification", "Tier", "Tags", "Notes", "Owner"]) == [
        "name", "short_name", "phone", "phone", "email", "address", "region", "industry", "source",
        "classification", "tier", "tags", "notes", "owner"]
    assert _fields(["客戶名稱", "簡稱", "電話", "手機", "電子郵件", "地址", "地區", "行業", "來源", "分類", "等級",
                    "標籤", "備註", "負責人"]) == [
        "name", "short_name", "phone", "phone", "email", "address", "region", "industry", "source",
        "classification", "tier", "tags", "notes", "owner"]
    assert _fields(["客户名称", "简称", "电话", "手机", "邮箱", "地址", "地区", "行业", "来源", "分类", "等级",
                    "标签", "备注", "销售"]) == [
        "name", "short_name", "phone", "phone", "email", "address", "region", "industry", "source",
        "classification", "tier", "tags", "notes", "owner"]


def test_header_variants_and_what_is_left_out() -> None:
    # Full-width letters, brackets, a trailing number, extra spaces; a partial name ("聯絡人電話" ends in 電話).
    assert _fields(["  名稱 ", "ＥＭＡＩＬ", "電話(公司)", "聯絡人電話", "手機號碼2", "業務", "統一編號"]) == [
        "name", "email", "phone", "phone", "phone", "owner", None]
    # The first name-like column is the name; a second one is shown as not imported.
    assert _fields(["公司", "姓名", "Name"]) == ["name", None, None]
    # An exact header beats a partial one, whatever the order.
    assert _fields(["客戶電話", "客戶"]) == ["phone", "name"]


def test_export_headers_are_understood_by_the_importer_in_every_language() -> None:
    catalogs = Catalogs()
    for locale in locales.SUPPORTED:
        headers = [catalogs.t(locale, key) for key in EXPORT_COLUMNS.values()]
        mapped = dict(zip(EXPORT_COLUMNS, _fields(headers), strict=True))
        assert mapped == {**{f: f for f in FIELDS}, "created_at": None, "last_contact_at": None}, locale
        for value, key in VALUE_KEYS.items():
            label = catalogs.t(locale, key)
            if value in Classification.__members__.values():
                assert parse_classification(label) is Classification(value), (locale, label)


def test_values_in_three_languages() -> None:
    assert parse_classification("忠誠") is parse_classification("忠诚") is parse_classification("Loyal") \
        is Classification.LOYAL
    assert parse_classification("潛在客戶") is Classification.POTENTIAL
    assert parse_classification("") is Classification.POTENTIAL
    assert parse_classification("VIP") is None
    assert parse_tier("a") is parse_tier("Ａ") is parse_tier("A級") is Tier.A
    assert parse_tier("D") is None


def test_each_bad_row_reports_every_problem_with_its_column() -> None:
    checked = _check([
        ["名稱", "電話", "手機", "Email", "分類", "等級", "類型"],
        ["台積電", "02 2345 6789", "0912-345-678", "buyer@tsmc.example.com", "忠誠", "A", "公司"],
        ["", "02 2345 6780", "", "", "", "", ""],
        ["Bad Co", "12", "0912 abc", "nope@", "VIP", "Z", "robot"],
        ["X" * 201, "", "", "", "", "", ""],
        ["", "", "", "", "", "", ""],  # blank rows are skipped, not errors
        ["王小明", "+86 138 0013 8000", "", "", "一般", "b", "個人"],
    ])
    assert checked.total == 5
    assert [r.row for r in checked.rows] == [2, 7]
    tsmc, wang = (r.draft for r in checked.rows)
    assert tsmc.phones == ("+886223456789", "+886912345678") and tsmc.classification is Classification.LOYAL
    assert wang.phones == ("+8613800138000",) and wang.tier is Tier.B and wang.kind is CustomerKind.PERSON
    problems = {(e.row, e.column, e.key) for e in checked.errors}
    assert problems == {
        (3, "名稱", "importing.err_required"),
        (4, "電話", "importing.err_phone"), (4, "手機", "importing.err_phone"), (4, "Email", "importing.err_email"),
        (4, "分類", "importing.err_classification"), (4, "等級", "importing.err_tier"),
        (4, "類型", "importing.err_kind"),
        (5, "名稱", "importing.err_too_long"),
    }
    assert next(e for e in checked.errors if e.key == "importing.err_phone").params == {"value": "12"}


def test_duplicates_inside_the_file_by_phone_or_email_first_row_wins() -> None:
    checked = _check([
        ["Name", "Phone", "Email"],
        ["Acme", "0912-345-678", "a@acme.example.com"],
        ["Acme again", "+886 912 345 678", ""],  # the same number written another way
        ["Beta", "", "A@ACME.example.com"],  # e-mail case does not matter
        ["Gamma", "0922 000 111 / 0933 000 222", ""],  # two numbers in one cell
        ["Delta", "0933000222", ""],
    ])
    assert [r.draft.name for r in checked.rows] == ["Acme", "Gamma"]
    assert [(e.row, e.column, e.key, e.params) for e in checked.errors] == [
        (3, "Phone", "importing.err_duplicate_in_file", {"first": 2}),
        (4, "Email", "importing.err_duplicate_in_file", {"first": 2}),
        (6, "Phone", "importing.err_duplicate_in_file", {"first": 5}),
    ]


def test_file_level_problems() -> None:
    with pytest.raises(UnreadableFile) as empty:
        _check([["", ""], []])
    assert empty.value.key == "importing.empty_file"
    with pytest.raises(ValidationFailed) as no_name:
        _check([["Phone", "Email"], ["0912345678", "a@b.example.com"]])
    assert no_name.value.key == "importing.no_name_column"
    # The header is the first non-empty row; numbering follows the spreadsheet.
    checked = _check([[], ["Name"], ["Acme"]])
    assert [r.row for r in checked.rows] == [3]


def test_owners_by_name_or_username_only_active_ones() -> None:
    people = [Staff(1, "Ned", 1, 1, username="ned_w"), Staff(2, "林美玲", 1, 1, username="meiling"),
              Staff(3, "Sam", 1, 1), Staff(4, "Sam", 1, 2), Staff(5, "Old", 1, 1, active=False)]
    owners = OwnerDirectory(people)
    assert owners.find("ned") == [1] and owners.find("@NED_W") == [1] and owners.find("ned_w") == [1]
    assert owners.find("林美玲") == [2] and owners.find("@meiling") == [2]
    assert sorted(owners.find("Sam")) == [3, 4]  # ambiguous: the caller reports it
    assert owners.find("Old") == [] and owners.find("@nobody") == []


def _keys(pattern: str, path: Path) -> set[str]:
    return set(re.findall(pattern, path.read_text(encoding="utf-8")))


def test_message_keys_built_or_raised_outside_the_scanned_folders_exist() -> None:
    """test_catalogs finds literal t("key") calls; these keys are held in tables or raised from storage/."""
    catalogs = Catalogs()
    keys = set(EXPORT_COLUMNS.values()) | set(VALUE_KEYS.values())
    keys |= _keys(r'"(importing\.[a-z_]+)"', ROOT / "crm" / "customers" / "importing.py")
    keys |= _keys(r'UnreadableFile\("(importing\.[a-z_]+)"', ROOT / "storage" / "customers" / "spreadsheets.py")
    assert len(keys) > 40
    for locale in locales.SUPPORTED:
        assert not sorted(k for k in keys if not catalogs.has(locale, k)), locale


_cells = st.text(alphabet=st.sampled_from("王台積電 acme0123456789+-@.,;/#\"'\n名稱電話Email"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cells, max_size=6), min_size=1, max_size=8))
def test_any_table_gives_a_plan_or_a_domain_error(table: list[list[str]]) -> None:
    try:
        checked = _check([["名稱", "電話", "Email", "分類", "等級", "標籤"], *table])
    except DomainError:
        return
    rows = {r.row for r in checked.rows}
    assert rows.isdisjoint({e.row for e in checked.errors})
    assert len(rows) + len({e.row for e in checked.errors}) == checked.total
    assert all(r.draft.name for r in checked.rows)



def test_garbage_collection_pauses_while_any_import_runs_and_comes_back() -> None:
    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other_import() -> None:
        with gc_paused():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=other_import)
    worker.start()
    inside.wait(10)
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("an import failing half-way")
    assert not gc.isenabled()  # the other import still runs
    leave.set()
    worker.join(10)
    assert gc.isenabled()

    gc.disable()  # someone else's choice is left alone
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
