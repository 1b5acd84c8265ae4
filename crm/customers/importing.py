"""Importing customers from a spreadsheet: which column is what, which rows are good, and one all-or-nothing write.

A file goes through two steps. ``ImportService.plan`` reads the header row (English, Traditional or Simplified
Chinese), checks every row with the same rules as typing a customer in chat (``CustomerService.normalize_draft``),
finds duplicates inside the file and against every stored customer (by phone and e-mail), and resolves each
row's owner. Nothing is written. ``ImportService.run`` then writes all valid rows in ONE transaction, with the
duplicate check repeated inside it, so an import either lands completely or not at all.

Speed (docs/importing.md has the figures): the checking runs in a worker thread, the write in rounds that
yield to the event loop, and Python's cyclic garbage collector is paused while either runs (``gc_paused``).
"""

from __future__ import annotations

import asyncio
import gc
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, Protocol

from crm.core.clock import Clock
from crm.core.errors import Conflict, DomainError, ValidationFailed
from crm.core.extension import ExtensionPoint
from crm.core.offloop import InlineWorker, Worker
from crm.core.unit_of_work import UnitOfWorkFactory
from crm.customers import phones
from crm.customers.bulk import ExistingCustomer
from crm.customers.customers import CustomerDraft, CustomerService, clean_email, clean_tags, clean_text, customer_terms
from crm.customers.model import Classification, Customer, CustomerKind, Tier
from crm.customers.ports import CustomersUnitOfWork
from crm.customers.search_terms import fold
from crm.customers.spreadsheets import SpreadsheetCodec
from crm.organisation.model import AuditEntry, Staff
from crm.organisation.permissions import Actor

MAX_ROWS = 200_000  # a spreadsheet larger than this is a database dump, not an import
PREVIEW_ROWS = 5
_STAFF_LIMIT = 100_000

FIELDS: tuple[str, ...] = (
    "name", "short_name", "kind", "phone", "email", "address", "region", "industry", "source",
    "classification", "tier", "tags", "notes", "owner",
)
# Header texts people actually use, per field, in English, Traditional and Simplified Chinese. Compared after
# ``header_key`` (folded, no spaces or punctuation, no trailing number: "Phone 2" is a phone column).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "company", "company name", "customer", "customer name", "client", "client name", "account",
             "account name", "full name", "名稱", "名称", "客戶名稱", "客户名称", "客戶", "客户", "公司",
             "公司名稱", "公司名称", "客戶姓名", "客户姓名", "姓名", "名字", "單位名稱", "单位名称"),
    "short_name": ("short name", "short", "abbreviation", "alias", "nickname", "簡稱", "简称", "別名", "别名",
                   "公司簡稱", "公司简称"),
    "kind": ("kind", "type", "customer type", "類型", "类型", "客戶類型", "客户类型"),
    "phone": ("phone", "phones", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell",
              "cellphone", "contact number", "電話", "电话", "手機", "手机", "電話號碼", "电话号码", "手機號碼",
              "手机号码", "手機號", "手机号", "聯絡電話", "联络电话", "聯繫電話", "联系电话", "座機", "座机",
              "市話", "市话", "公司電話", "公司电话"),
    "email": ("email", "e-mail", "mail", "email address", "電子郵件", "电子邮件", "電子信箱", "电子信箱",
              "郵件", "邮件", "郵箱", "邮箱", "信箱", "電郵", "电邮"),
    "address": ("address", "地址", "公司地址", "通訊地址", "通讯地址", "聯絡地址", "联系地址"),
    "region": ("region", "area", "city", "地區", "地区", "區域", "区域", "城市", "縣市", "县市"),
    "industry": ("industry", "sector", "行業", "行业", "產業", "产业"),
    "source": ("source", "lead source", "來源", "来源", "客戶來源", "客户来源"),
    "classification": ("classification", "class", "category", "status", "分類", "分类", "客戶分類", "客户分类",
                       "類別", "类别"),
    "tier": ("tier", "level", "grade", "rank", "等級", "等级", "級別", "级别", "客戶等級", "客户等级"),
    "tags": ("tags", "tag", "labels", "label", "標籤", "标签"),
    "notes": ("notes", "note", "remarks", "remark", "comment", "comments", "memo", "備註", "备注", "備忘",
              "备忘", "備忘錄", "备忘录", "說明", "说明"),
    "owner": ("owner", "sales", "salesperson", "sales rep", "rep", "account manager", "assigned to", "負責人",
              "负责人", "業務", "业务", "業務員", "业务员", "銷售", "销售", "銷售員", "销售员", "負責業務",
              "负责业务"),
}
_MULTI_FIELDS = frozenset({"phone"})  # several phone columns are normal (office, mobile); other fields take one

_CLASSIFICATION_VALUES: dict[str, Classification] = {
    "potential": Classification.POTENTIAL, "prospect": Classification.POTENTIAL, "潛在": Classification.POTENTIAL,
    "潜在": Classification.POTENTIAL, "general": Classification.GENERAL, "regular": Classification.GENERAL,
    "一般": Classification.GENERAL, "loyal": Classification.LOYAL, "忠誠": Classification.LOYAL,
    "忠诚": Classification.LOYAL,
}
_KIND_VALUES: dict[str, CustomerKind] = {
    "company": CustomerKind.COMPANY, "business": CustomerKind.COMPANY, "公司": CustomerKind.COMPANY,
    "企業": CustomerKind.COMPANY, "企业": CustomerKind.COMPANY, "person": CustomerKind.PERSON,
    "individual": CustomerKind.PERSON, "個人": CustomerKind.PERSON, "个人": CustomerKind.PERSON,
}
_PHONE_SPLIT = re.compile(r"[;,/、，；|\n]+")
_KEY_JUNK = re.compile(r"[\s_\-.*:：/#()（）\[\]【】]+")
_PARENS = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_TRAILING_NUMBER = re.compile(r"\d+$")

# ValidationFailed keys from the customer rules → the import report's wording (which names the column itself).
_RULE_KEYS = {
    "error.phone_invalid": "importing.err_phone",
    "error.field_required": "importing.err_required",
    "error.field_too_long": "importing.err_too_long",
    "error.email_invalid": "importing.err_email",
    "error.too_many_tags": "importing.err_too_many_tags",
}
DUPLICATE_KEYS = frozenset({"importing.err_duplicate_in_file", "importing.err_duplicate_existing",
                            "importing.err_duplicate_hidden"})


class UnreadableFile(ValidationFailed):
    """The file is not a spreadsheet we can read (type, encoding, damage, size); the key says which."""

    key = "importing.unreadable"


class ImportHasErrors(DomainError):
    key = "importing.has_errors"


Progress = Callable[[int, int], Awaitable[None]]  # (customers written, customers to write)

# ---- garbage collection ----------------------------------------------------------------------------------------
# An import builds a few million objects that all stay alive until it ends (cells, drafts, search terms, rows
# to write). CPython runs a full collection each time the live objects grow by a quarter, and each one walks
# every live object again: measured on 100,000 rows, 15 full passes of ~0.5 s, a quarter of the whole import.
# Nothing an import builds is cyclic garbage, so collection waits until a phase (read, plan, run) is done; a
# pause per phase rather than per step, as the first collection after a pause walks everything made during it.
# Process-wide (worker threads included), so counted: overlapping phases re-enable it when the last one ends.
# Everything allocated during a pause is still in the youngest generation when it ends, so the first collection
# after it would walk all of it at once, holding the GIL (measured: 0.1 s for a 20,000-row plan, the bot's loop
# stalled meanwhile). Freezing and unfreezing moves it to the oldest generation instead, in constant time, where
# the full collections (deferred while a worker job runs, storage/offloop.py) find it if it is still alive then.
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                if gc.get_freeze_count() == 0:  # unfreezing would also release what someone else froze
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


# ---- columns ---------------------------------------------------------------------------------------------------

def header_key(text: str) -> str:
    """A header as compared with the aliases: folded, without brackets, punctuation, spaces or a trailing number."""
    folded = _PARENS.sub("", fold(text))
    return _TRAILING_NUMBER.sub("", _KEY_JUNK.sub("", folded))


_ALIAS_INDEX: dict[str, str] = {header_key(alias): name for name, aliases in HEADER_ALIASES.items()
                                for alias in aliases}
# Longest first, so "客戶電話" is a phone (…電話) rather than a customer (客戶…).
_SUFFIXES: tuple[tuple[str, str], ...] = tuple(sorted(
    ((key, name) for key, name in _ALIAS_INDEX.items() if len(key) >= (2 if not key.isascii() else 4)),
    key=lambda item: -len(item[0]),
))


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    field: str | None  # None: not imported


@dataclass(frozen=True)
class ColumnMapping:
    columns: tuple[Column, ...]

    def indexes(self, name: str) -> tuple[int, ...]:
        return tuple(c.index for c in self.columns if c.field == name)

    def header(self, index: int) -> str:
        return self.columns[index].header

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(c.field for c in self.columns if c.field)


def detect_columns(headers: Sequence[str]) -> ColumnMapping:
    """Which column holds which field. Exact header names win over partial ones ("聯絡人電話" ends in 電話), and
    for single-valued fields the first column wins; the rest are shown as not imported."""
    fields: list[str | None] = [None] * len(headers)
    taken: set[str] = set()
    keys = [header_key(h) for h in headers]

    def assign(index: int, name: str | None) -> None:
        if name is None or (name in taken and name not in _MULTI_FIELDS):
            return
        fields[index] = name
        taken.add(name)

    for index, key in enumerate(keys):
        assign(index, _ALIAS_INDEX.get(key))
    for index, key in enumerate(keys):
        if fields[index] is None and key and key not in _ALIAS_INDEX:
            assign(index, next((name for suffix, name in _SUFFIXES if key.endswith(suffix)), None))
    return ColumnMapping(tuple(Column(i, str(h), fields[i]) for i, h in enumerate(headers)))


# ---- values ----------------------------------------------------------------------------------------------------

def _enum_key(value: str) -> str:
    key = _KEY_JUNK.sub("", fold(value))
    for suffix in ("客戶", "客户", "customer", "級", "级", "類", "类", "tier"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
    return key


# Cached: a 100,000-row file repeats the same few values, and folding each one again shows in the profile.
@lru_cache(maxsize=512)
def parse_classification(value: str) -> Classification | None:
    return _CLASSIFICATION_VALUES.get(_enum_key(value)) if value.strip() else Classification.POTENTIAL


@lru_cache(maxsize=512)
def parse_tier(value: str) -> Tier | None:
    key = _enum_key(value).upper()
    return Tier(key) if key in Tier.__members__ else None


@lru_cache(maxsize=512)
def parse_kind(value: str) -> CustomerKind | None:
    return _KIND_VALUES.get(_enum_key(value)) if value.strip() else CustomerKind.COMPANY


def split_phones(value: str) -> list[str]:
    return [p.strip() for p in _PHONE_SPLIT.split(value) if p.strip()]


# ---- rows ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    row: int  # as numbered in the spreadsheet (the header is usually row 1)
    column: str | None  # the header as written in the file
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckedRow:
    row: int
    draft: CustomerDraft  # normalised; owner not yet resolved
    owner_ref: str | None
    owner_column: str | None
    terms: frozenset[str]  # what the customer will be found by (crm.customers.customers.customer_terms)


@dataclass(frozen=True)
class CheckedRows:
    mapping: ColumnMapping
    rows: tuple[CheckedRow, ...]
    errors: tuple[RowError, ...]
    total: int
    preview: tuple[tuple[int, Mapping[str, str]], ...]
    # Owners named on rows that failed for other reasons: checked too, so one report lists every problem.
    other_owner_refs: tuple[tuple[int, str, str | None], ...] = ()


def _rule_error(row: int, column: str | None, exc: ValidationFailed) -> RowError:
    return RowError(row, column, _RULE_KEYS.get(exc.key, "importing.err_invalid"), dict(exc.params))


class _RowChecker:
    """Turns one row of cells into a normalised draft or the list of what is wrong with it, by column."""

    def __init__(self, mapping: ColumnMapping, phone_region: str,
                 normalize: Callable[[CustomerDraft], CustomerDraft]) -> None:
        self.mapping = mapping
        self.region = phone_region
        self.normalize = normalize
        self.single = {name: (idx[0] if (idx := mapping.indexes(name)) else None) for name in FIELDS}
        self.phone_columns = mapping.indexes("phone")

    def cell(self, cells: Sequence[str], name: str) -> str:
        index = self.single[name]
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def column(self, name: str) -> str | None:
        index = self.single[name]
        return self.mapping.header(index) if index is not None else None

    def check(self, number: int, cells: Sequence[str]) -> tuple[CheckedRow | None, list[RowError]]:
        errors: list[RowError] = []
        classification = parse_classification(self.cell(cells, "classification"))
        if classification is None:
            errors.append(RowError(number, self.column("classification"), "importing.err_classification",
                                   {"value": self.cell(cells, "classification")[:40]}))
        tier_text = self.cell(cells, "tier")
        tier = parse_tier(tier_text) if tier_text else None
        if tier_text and tier is None:
            errors.append(RowError(number, self.column("tier"), "importing.err_tier", {"value": tier_text[:40]}))
        kind = parse_kind(self.cell(cells, "kind"))
        if kind is None:
            errors.append(RowError(number, self.column("kind"), "importing.err_kind",
                                   {"value": self.cell(cells, "kind")[:40]}))
        phone_cells = [(self.mapping.header(i), piece) for i in self.phone_columns if i < len(cells)
                       for piece in split_phones(cells[i])]
        raw = CustomerDraft(
            name=self.cell(cells, "name"), kind=kind or CustomerKind.COMPANY,
            short_name=self.cell(cells, "short_name") or None, phones=tuple(p for _, p in phone_cells),
            email=self.cell(cells, "email") or None, address=self.cell(cells, "address") or None,
            region=self.cell(cells, "region") or None, industry=self.cell(cells, "industry") or None,
            source=self.cell(cells, "source") or None,
            classification=classification or Classification.POTENTIAL, tier=tier,
            tags=clean_tags_raw(self.cell(cells, "tags")), notes=self.cell(cells, "notes") or None,
        )
        try:
            draft = self.normalize(raw)  # the authoritative rules; one pass for the usual, valid row
        except ValidationFailed as exc:
            found = self._explain(number, raw, phone_cells, cells)
            errors.extend(found or [_rule_error(number, None, exc)])
            return None, errors
        if errors:
            return None, errors
        owner = self.cell(cells, "owner") or None
        terms = frozenset(customer_terms(Customer(id=0, name=draft.name, owner_id=0, short_name=draft.short_name,
                                                  phones=draft.phones, email=draft.email, tags=draft.tags)))
        return CheckedRow(number, draft, owner, self.column("owner"), terms), []

    def _explain(self, number: int, raw: CustomerDraft, phone_cells: Sequence[tuple[str, str]],
                 cells: Sequence[str]) -> list[RowError]:
        """normalize_draft stops at the first problem; the report lists every problem with its column."""
        errors: list[RowError] = []
        checks: list[tuple[str, Callable[[], object]]] = [
            ("name", lambda: clean_text(raw.name, "name", required=True)),
            ("short_name", lambda: clean_text(raw.short_name, "short_name")),
            ("email", lambda: clean_email(raw.email)),
            ("tags", lambda: clean_tags(self.cell(cells, "tags"))),
        ]
        checks += [(name, partial(clean_text, getattr(raw, name), name))
                   for name in ("address", "region", "industry", "source", "notes")]
        for name, check in checks:
            try:
                check()
            except ValidationFailed as exc:
                errors.append(_rule_error(number, self.column(name), exc))
        for header, piece in phone_cells:
            try:
                phones.normalize(piece, self.region)
            except ValidationFailed as exc:
                errors.append(_rule_error(number, header, exc))
        return errors


def clean_tags_raw(text: str) -> tuple[str, ...]:
    """Tags as typed in one cell; the count limit is checked by the customer rules."""
    return tuple(t for t in re.split(r"[,，、;；\s]+", text) if t) if text else ()


def _email_key(email: str) -> str:
    return fold(email)


def header_row(table: Sequence[Sequence[str]]) -> tuple[int, ColumnMapping]:
    """Where the header is (the first non-empty row) and what its columns are."""
    index = next((i for i, cells in enumerate(table) if any(c.strip() for c in cells)), None)
    if index is None:
        raise UnreadableFile("importing.empty_file")
    mapping = detect_columns([c.strip() for c in table[index]])
    if "name" not in mapping.fields:
        raise ValidationFailed("importing.no_name_column")
    return index, mapping


def check_rows(table: Sequence[Sequence[str]], *, phone_region: str,
               normalize: Callable[[CustomerDraft], CustomerDraft]) -> CheckedRows:
    """Every row checked on its own, then duplicates inside the file (by phone and e-mail; the first row wins)."""
    header_index, mapping = header_row(table)
    checker = _RowChecker(mapping, phone_region, normalize)
    kept: list[CheckedRow] = []
    errors: list[RowError] = []
    owner_refs: list[tuple[int, str, str | None]] = []
    preview: list[tuple[int, Mapping[str, str]]] = []
    seen: dict[str, int] = {}
    total = 0
    for number, cells in enumerate(table[header_index + 1:], start=header_index + 2):
        if not any(c.strip() for c in cells):
            continue
        total += 1
        if len(preview) < PREVIEW_ROWS:
            preview.append((number, {name: _preview_value(checker, cells, name)
                                     for name in ("name", "phone", "email", "owner")}))
        checked, problems = checker.check(number, cells)
        if checked is None:
            errors.extend(problems)
            if owner := checker.cell(cells, "owner"):
                owner_refs.append((number, owner, checker.column("owner")))
            continue
        draft = checked.draft
        keys = [*draft.phones, *([_email_key(draft.email)] if draft.email else [])]
        clash = next((k for k in keys if k in seen), None)
        if clash is not None:
            column = checker.column("email" if clash not in draft.phones else "phone")
            errors.append(RowError(number, column, "importing.err_duplicate_in_file", {"first": seen[clash]}))
            if checked.owner_ref:
                owner_refs.append((number, checked.owner_ref, checked.owner_column))
            continue
        for key in keys:
            seen[key] = number
        kept.append(checked)
    return CheckedRows(mapping, tuple(kept), tuple(errors), total, tuple(preview), tuple(owner_refs))


def _preview_value(checker: _RowChecker, cells: Sequence[str], name: str) -> str:
    if name == "phone":
        return " / ".join(cells[i].strip() for i in checker.phone_columns if i < len(cells) and cells[i].strip())
    return checker.cell(cells, name)


# ---- owners ----------------------------------------------------------------------------------------------------

def _person_key(text: str) -> str:
    return " ".join(fold(text).split())


class OwnerDirectory:
    """Active staff the importing user may give customers to, found by name or (@)username."""

    def __init__(self, staff: Iterable[Staff]) -> None:
        self.by_id: dict[int, Staff] = {}
        self._names: dict[str, list[int]] = {}
        self._usernames: dict[str, int] = {}
        self._seen: dict[str, list[int]] = {}
        for person in staff:
            if not person.active or person.deleted_at is not None:
                continue
            self.by_id[person.id] = person
            self._names.setdefault(_person_key(person.name), []).append(person.id)
            if person.username:
                self._usernames[_person_key(person.username)] = person.id

    def find(self, ref: str) -> list[int]:
        found = self._seen.get(ref)
        if found is None:
            found = self._seen[ref] = self._find(ref)  # a 100,000-row file names the same few owners
        return list(found)

    def _find(self, ref: str) -> list[int]:
        key = _person_key(ref)
        if key.startswith("@"):
            found = self._usernames.get(key[1:])
            return [found] if found is not None else []
        if key in self._names:
            return list(self._names[key])
        found = self._usernames.get(key)
        return [found] if found is not None else []


# ---- the plan --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedRow:
    row: int
    draft: CustomerDraft  # normalised
    owner_id: int
    terms: frozenset[str]


@dataclass(frozen=True)
class ImportPlan:
    mapping: ColumnMapping
    rows: tuple[PlannedRow, ...]  # valid rows, ready to write
    errors: tuple[RowError, ...]  # sorted by row
    total: int  # non-blank data rows in the file
    default_owner_id: int
    preview: tuple[tuple[int, Mapping[str, str]], ...] = ()
    extra: Mapping[int, tuple[Any, ...]] = field(default_factory=dict)  # row → what added columns hold

    @property
    def valid(self) -> int:
        return len(self.rows)

    @property
    def invalid(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def duplicates(self) -> int:
        return len({e.row for e in self.errors if e.key in DUPLICATE_KEYS})


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int
    total: int


def _import_audit(c: Customer) -> dict[str, Any]:
    """What a "create" audit row holds (as CustomerService.create writes it: fields that are set), built
    directly because audit.changed_fields, general as it is, costs more than the insert on 100,000 rows."""
    values: dict[str, Any] = {
        "name": c.name, "kind": c.kind._value_, "short_name": c.short_name, "phones": list(c.phones),
        "email": c.email, "address": c.address, "region": c.region, "industry": c.industry, "source": c.source,
        "owner_id": c.owner_id, "classification": c.classification._value_,
        "tier": c.tier._value_ if c.tier else None, "tags": list(c.tags),
    }
    return {k: v for k, v in values.items() if v is not None}


_NOTHING: Mapping[str, Any] = {}  # the "before" of every created customer's audit row, shared


def _customer(row: PlannedRow, now: datetime) -> Customer:
    draft = row.draft
    return Customer(
        id=0, name=draft.name, owner_id=row.owner_id, kind=draft.kind,
        short_name=draft.short_name, phones=draft.phones, email=draft.email, address=draft.address,
        region=draft.region, industry=draft.industry, source=draft.source,
        classification=draft.classification, tier=draft.tier, tags=draft.tags, notes=draft.notes,
        created_at=now, updated_at=now,
    )


def _prepared(rows: Sequence[PlannedRow], now: datetime) -> list[tuple[Customer, frozenset[str]]]:
    return [(_customer(row, now), row.terms) for row in rows]


def _with_owners(checked: CheckedRows, owners: OwnerDirectory, default_owner_id: int
                 ) -> tuple[list[PlannedRow], list[RowError]]:
    """Each checked row with its owner resolved, and the rows whose owner is unknown or ambiguous."""
    errors = list(checked.errors)
    planned: list[PlannedRow] = []
    for row in checked.rows:
        owner_id, problem = ImportService._owner_of(row.row, row.owner_ref, row.owner_column, owners,
                                                    default_owner_id)
        if problem is not None:
            errors.append(problem)
        else:
            planned.append(PlannedRow(row.row, row.draft, owner_id, row.terms))
    for number, ref, column in checked.other_owner_refs:
        problem = ImportService._owner_of(number, ref, column, owners, default_owner_id)[1]
        errors.extend([problem] if problem else [])
    return planned, errors


class ExtraImport(Protocol):
    """Columns a module built on this one imports (custom fields): the columns the import itself does not read,
    checked with the rest of the file (their errors are the file's errors) and written in the same transaction."""

    async def plan(self, uow: Any, mapping: ColumnMapping, rows: Sequence[tuple[int, Sequence[str]]]
                   ) -> tuple[Mapping[int, Any], Sequence[RowError]]:
        """Row number → what to write for it (plain data), and what is wrong, by row and column."""
        ...

    async def write(self, uow: Any, actor: Actor, created: Sequence[tuple[int, Any]], now: datetime) -> None:
        """(new customer id, what ``plan`` read for its row), for the rows written."""
        ...


class ImportService:
    def __init__(self, uow: UnitOfWorkFactory[CustomersUnitOfWork], clock: Clock, customers: CustomerService,
                 codec: SpreadsheetCodec, *, worker: Worker[UnitOfWorkFactory[CustomersUnitOfWork]] | None = None
                 ) -> None:
        self._uow = uow
        self._clock = clock
        self._customers = customers
        self._codec = codec
        # A file is read, checked and written off the bot's event loop, on connections of its own: the duplicate
        # lookups and the write are seconds of statements for a big file (crm/core/offloop.py).
        self._worker = worker or InlineWorker(uow)
        self.extra_columns: ExtensionPoint[ExtraImport] = ExtensionPoint()

    def _on(self, uow: UnitOfWorkFactory[CustomersUnitOfWork]) -> ImportService:
        """This service on the worker's connections (``normalize_draft`` of the customer service is pure)."""
        here = ImportService(uow, self._clock, self._customers, self._codec)
        here.extra_columns = self.extra_columns
        return here

    async def read(self, data: bytes, filename: str) -> list[list[str]]:
        """Parse a CSV/XLSX file off the event loop (a big file takes seconds)."""
        with gc_paused():
            return await asyncio.to_thread(self._codec.read, data, filename, max_rows=MAX_ROWS + 1)

    async def plan_file(self, actor: Actor, data: bytes, filename: str, *, default_owner: str | None = None
                        ) -> ImportPlan:
        actor.require("customers.import")
        return await self._worker.run_apart(plan_job, actor, data, filename, default_owner, self._clock,
                                            self._customers.phone_region, self._codec, tuple(self.extra_columns))

    async def _plan_file(self, actor: Actor, data: bytes, filename: str, default_owner: str | None) -> ImportPlan:
        return await self.plan(actor, await self.read(data, filename), default_owner=default_owner)

    async def import_file(self, actor: Actor, data: bytes, filename: str, *, skip_invalid: bool,
                          default_owner: str | None = None, progress: Progress | None = None) -> ImportResult:
        actor.require("customers.import")
        # Apart from the bot (crm/core/offloop.py): reading, checking and writing 100,000 rows is seconds of
        # Python that, in a thread of the bot's process, slowed every lookup. Progress comes back by pipe.
        return await self._worker.run_apart(import_job, actor, data, filename, default_owner, skip_invalid,
                                            self._clock, self._customers.phone_region, self._codec,
                                            tuple(self.extra_columns), progress=progress)

    async def plan(self, actor: Actor, table: Sequence[Sequence[str]], *, default_owner: str | None = None
                   ) -> ImportPlan:
        """Check everything and write nothing: the dry run."""
        actor.require("customers.import")
        if len(table) > MAX_ROWS + 1:
            raise UnreadableFile("importing.too_many_rows", limit=MAX_ROWS)
        with gc_paused():
            return await self._plan(actor, table, default_owner)

    async def _plan(self, actor: Actor, table: Sequence[Sequence[str]], default_owner: str | None) -> ImportPlan:
        # Off the event loop: checking is mostly parsing phone numbers and building search terms, seconds for a
        # big file. Only the database reads below run on the loop.
        checked = await asyncio.to_thread(check_rows, table, phone_region=self._customers.phone_region,
                                          normalize=self._customers.normalize_draft)
        async with self._uow(write=False) as uow:
            owners = await self._owners(uow, actor)
            default_owner_id = self._default_owner(actor, owners, default_owner)
            planned, errors = await asyncio.to_thread(_with_owners, checked, owners, default_owner_id)
            existing = await self._existing(uow, planned)
        extra, extra_errors = await self._plan_extras(table, checked.mapping)
        if extra_errors:
            errors.extend(extra_errors)
            failed = {e.row for e in extra_errors}
            planned = [p for p in planned if p.row not in failed]
        scope = actor.scope_filter("customers")
        kept: list[PlannedRow] = []
        for candidate in planned:
            found = existing.get(candidate.row)
            if found is None:
                kept.append(candidate)
                continue
            match, via = found
            indexes = checked.mapping.indexes(via)
            column = checked.mapping.header(indexes[0]) if indexes else None
            if scope.allows(match.owner_id, match.owner_department_id):
                errors.append(RowError(candidate.row, column, "importing.err_duplicate_existing",
                                       {"name": match.name[:80], "id": match.id}))
            else:  # outside the user's scope: say that it exists, nothing about it
                errors.append(RowError(candidate.row, column, "importing.err_duplicate_hidden", {}))
        errors.sort(key=lambda e: e.row)
        return ImportPlan(checked.mapping, tuple(kept), tuple(errors), checked.total, default_owner_id,
                          checked.preview, extra)

    async def _plan_extras(self, table: Sequence[Sequence[str]], mapping: ColumnMapping
                           ) -> tuple[dict[int, tuple[Any, ...]], list[RowError]]:
        """What the added columns hold, per row: one item per provider (in ``extra_columns`` order)."""
        providers = list(self.extra_columns)
        if not providers:
            return {}, []
        header_index, _ = header_row(table)
        rows = [(number, cells) for number, cells in enumerate(table[header_index + 1:], start=header_index + 2)
                if any(c.strip() for c in cells)]
        found: dict[int, list[Any]] = {number: [None] * len(providers) for number, _ in rows}
        errors: list[RowError] = []
        async with self._uow(write=False) as uow:
            for position, provider in enumerate(providers):
                values, problems = await provider.plan(uow, mapping, rows)
                errors.extend(problems)
                for number, value in values.items():
                    found[number][position] = value
        return {number: tuple(items) for number, items in found.items()}, errors

    async def run(self, actor: Actor, plan: ImportPlan, *, skip_invalid: bool = False,
                  progress: Progress | None = None) -> ImportResult:
        """Write the plan's valid rows in one transaction. With errors in the plan, nothing is written unless
        ``skip_invalid``; rows that became duplicates since the plan are skipped or stop the import alike.

        ``progress(written, total)`` is awaited after each round of rows written. The transaction commits only
        after the last one: cancelled or failed half-way, nothing is left behind."""
        actor.require("customers.import")
        if plan.errors and not skip_invalid:
            raise ImportHasErrors(count=plan.invalid)
        if not plan.rows:
            raise ValidationFailed("importing.nothing_to_import")
        with gc_paused():
            return await self._run(actor, plan, skip_invalid, progress)

    async def _run(self, actor: Actor, plan: ImportPlan, skip_invalid: bool, progress: Progress | None
                   ) -> ImportResult:
        now = self._clock.now()
        # Everything that needs no database is built before the write transaction starts: on SQLite other
        # writers wait for as long as it is open.
        prepared = await asyncio.to_thread(_prepared, plan.rows, now)
        async with self._uow() as uow:
            owners = await self._owners(uow, actor)
            if any(row.owner_id not in owners.by_id for row in plan.rows):
                raise Conflict("importing.owner_changed")
            taken = await self._existing(uow, plan.rows)
            if taken and not skip_invalid:
                raise ImportHasErrors(count=len(taken))
            written_rows = [row for row in plan.rows if row.row not in taken]
            if taken:
                prepared = [item for item, row in zip(prepared, plan.rows, strict=True) if row.row not in taken]
            if not prepared:
                raise ValidationFailed("importing.nothing_to_import")
            total = len(prepared)

            async def written(count: int) -> None:
                if progress is not None:
                    await progress(count, total)

            ids = await uow.customers.bulk.insert_customers(prepared, progress=written)
            for position, provider in enumerate(self.extra_columns):
                await provider.write(uow, actor, [
                    (new_id, plan.extra[row.row][position]) for new_id, row in zip(ids, written_rows, strict=True)
                    if row.row in plan.extra], now)
            entries = [AuditEntry(actor.staff_id, "create", "customer", new_id, _NOTHING, _import_audit(c), now)
                       for new_id, (c, _) in zip(ids, prepared, strict=True)]
            skipped = plan.total - total
            entries.append(AuditEntry(actor.staff_id, "import", "customer", None, {}, {
                "created": total, "skipped": skipped, "rows": plan.total,
                "default_owner_id": plan.default_owner_id}, now))
            await uow.customers.bulk.insert_audit(entries)
            await uow.commit()
        return ImportResult(created=total, skipped=skipped, total=plan.total)

    def error_report(self, plan: ImportPlan, translate: Callable[..., str]) -> bytes:
        """Every problem as a CSV the user can open next to their file: row, column, problem."""
        headers = [translate("importing.report_row"), translate("importing.report_column"),
                   translate("importing.report_problem")]
        rows = [[str(e.row), e.column or "", translate(e.key, **e.params)] for e in plan.errors]
        return self._codec.write("csv", headers, rows)

    @staticmethod
    async def _owners(uow: CustomersUnitOfWork, actor: Actor) -> OwnerDirectory:
        staff = await uow.organisation.staff.list(actor.scope_filter("customers"), limit=_STAFF_LIMIT)
        directory = OwnerDirectory(staff)
        if actor.staff_id not in directory.by_id:
            me = await uow.organisation.staff.get(actor.staff_id)
            directory = OwnerDirectory([*staff, *([me] if me else [])])
        return directory

    @staticmethod
    def _default_owner(actor: Actor, owners: OwnerDirectory, ref: str | None) -> int:
        if ref is None or not ref.strip():
            return actor.staff_id
        found = owners.find(ref)
        if len(found) != 1:
            raise ValidationFailed("importing.default_owner_unknown", name=ref.strip()[:60])
        return found[0]

    @staticmethod
    def _owner_of(number: int, ref: str | None, column: str | None, owners: OwnerDirectory, default: int
                  ) -> tuple[int, RowError | None]:
        if not ref:
            return default, None
        found = owners.find(ref)
        if len(found) == 1:
            return found[0], None
        key = "importing.err_owner_ambiguous" if found else "importing.err_owner_unknown"
        return default, RowError(number, column, key, {"value": ref[:60]})

    @staticmethod
    async def _existing(uow: CustomersUnitOfWork, rows: Sequence[PlannedRow]
                        ) -> dict[int, tuple[ExistingCustomer, str]]:
        """Which rows share a phone or e-mail with a stored customer (any owner):
        row number → (that customer, "phone" or "email")."""
        by_phone: dict[str, int] = {}
        by_email: dict[str, int] = {}
        for row in rows:
            for phone in row.draft.phones:
                by_phone.setdefault(phone, row.row)
            if row.draft.email:
                by_email.setdefault(_email_key(row.draft.email), row.row)
        if not by_phone and not by_email:
            return {}
        found: dict[int, tuple[ExistingCustomer, str]] = {}
        for match in await uow.customers.bulk.customers_with_keys(by_phone.keys(), by_email.keys()):
            hits = [(by_phone[p], "phone") for p in match.phones if p in by_phone]
            if match.email and _email_key(match.email) in by_email:
                hits.append((by_email[_email_key(match.email)], "email"))
            for row_number, via in hits:
                found.setdefault(row_number, (match, via))
        return found


# The jobs ``Worker.run_apart`` runs in a child process: module level, every argument pickles. The child has the
# services it needs built on its own connections (the customer service only normalises drafts here).

def _service_apart(factory: UnitOfWorkFactory[CustomersUnitOfWork], clock: Clock, phone_region: str,
                   codec: SpreadsheetCodec, extras: tuple[ExtraImport, ...]) -> ImportService:
    service = ImportService(factory, clock, CustomerService(factory, clock, phone_region=phone_region), codec)
    for extra in extras:  # other modules' columns (custom fields), pickled with the job
        service.extra_columns.add(extra)
    return service


async def plan_job(factory: UnitOfWorkFactory[CustomersUnitOfWork], actor: Actor, data: bytes, filename: str,
                   default_owner: str | None, clock: Clock, phone_region: str, codec: SpreadsheetCodec,
                   extras: tuple[ExtraImport, ...] = ()) -> ImportPlan:
    """The dry run of a file: read and checked, nothing written."""
    return await _service_apart(factory, clock, phone_region, codec, extras)._plan_file(actor, data, filename,
                                                                                         default_owner)


async def import_job(factory: UnitOfWorkFactory[CustomersUnitOfWork], actor: Actor, data: bytes, filename: str,
                     default_owner: str | None, skip_invalid: bool, clock: Clock, phone_region: str,
                     codec: SpreadsheetCodec, extras: tuple[ExtraImport, ...] = (), *,
                     progress: Progress | None = None) -> ImportResult:
    """A file read, checked and written in one transaction (none of it if it fails or is cancelled)."""
    service = _service_apart(factory, clock, phone_region, codec, extras)
    plan = await service._plan_file(actor, data, filename, default_owner)
    return await service.run(actor, plan, skip_invalid=skip_invalid, progress=progress)
