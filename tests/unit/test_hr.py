"""The HR module's pure parts: review periods, targets and their scaling, attainment, typed profile values, and
every translation key its screens build from a value (kinds, statuses, fields, periods, target buttons)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Catalogs
from crm.core import locales
from crm.core.errors import ValidationFailed
from crm.hr.model import EmploymentStatus, EventKind, KpiLine, KpiTarget, PeriodKind, ReviewStatus, overall
from crm.hr.periods import choices, containing, parse_code
from crm.hr.records import clean_value
from crm.hr.reviews import parse_target, target_for
from handlers.hr.records import FIELD_CODES


def test_periods_round_trip_and_cover_local_days() -> None:
    for code in ("m202601", "m202612", "q20261", "q20264", "y2026"):
        assert parse_code(code).code == code
    q4 = parse_code("q20264")
    assert (q4.first, q4.last, q4.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026 Q4")
    window = q4.in_utc(ZoneInfo("Asia/Taipei"))
    assert window.start == datetime(2026, 9, 30, 16, tzinfo=UTC) and window.end == datetime(2026, 12, 31, 16,
                                                                                          tzinfo=UTC)
    assert containing(PeriodKind.MONTH, date(2026, 3, 31)).previous().code == "m202602"
    assert containing(PeriodKind.QUARTER, date(2026, 1, 5)).previous().code == "q20254"
    assert [p.code for p in choices(date(2026, 11, 26))] == ["m202611", "m202610", "q20264", "q20263",
                                                            "y2026", "y2025"]
    for bad in ("", "m202613", "q20265", "y26", "x2026", "m2026011", "q2026 4"):
        with pytest.raises(ValidationFailed):
            parse_code(bad)


def test_a_persons_target_wins_and_shorter_periods_scale() -> None:
    targets = [KpiTarget("visits", PeriodKind.MONTH, Decimal(10), role_id=3),
               KpiTarget("visits", PeriodKind.MONTH, Decimal(12), staff_id=7),
               KpiTarget("orders", PeriodKind.QUARTER, Decimal(5), role_id=3)]
    assert target_for(targets, 7, 3, "visits", PeriodKind.MONTH) == 12
    assert target_for(targets, 8, 3, "visits", PeriodKind.MONTH) == 10
    assert target_for(targets, 7, 3, "visits", PeriodKind.QUARTER) == 36
    assert target_for(targets, 8, 3, "visits", PeriodKind.YEAR) == 120
    assert target_for(targets, 8, 3, "orders", PeriodKind.YEAR) == 20
    assert target_for(targets, 8, 3, "orders", PeriodKind.MONTH) is None
    assert target_for(targets, 8, 4, "visits", PeriodKind.MONTH) is None


def test_attainment_is_the_mean_over_measures_with_a_target_each_capped() -> None:
    lines = (KpiLine("a", "kpi.a", Decimal(3), Decimal(6)), KpiLine("b", "kpi.b", Decimal(50), Decimal(10)),
             KpiLine("c", "kpi.c", Decimal(9), None))
    assert lines[0].attainment == Decimal("50.0") and lines[1].attainment == Decimal("500.0")
    assert overall(lines) == Decimal("125.0")  # (50 + 200) / 2
    assert overall((lines[2],)) is None


def test_typed_values_are_checked() -> None:
    assert clean_value("phone", " +886 912-345-678 ") == "+886 912-345-678"
    assert clean_value("hire_date", "2024-03-01") == date(2024, 3, 1)
    assert clean_value("title", "-") is None
    for field, raw in (("email", "not an address"), ("phone", "call me"), ("hire_date", "last spring"),
                       ("title", "   "), ("title", "x" * 201)):
        with pytest.raises(ValidationFailed):
            clean_value(field, raw)
    assert parse_target("1,200") == 1200 and parse_target(" 0 ") == 0
    for bad in ("", "abc", "-1", "NaN", "1e20"):
        with pytest.raises(ValidationFailed):
            parse_target(bad)


def test_every_key_built_from_a_value_is_in_every_catalog() -> None:
    catalogs = Catalogs()
    keys = {f"hr.kind_{k.value}" for k in EventKind} | {f"hr.status_{s.value}" for s in EmploymentStatus}
    keys |= {f"hr.label_{name}" for name in FIELD_CODES.values()} | {f"hr.period_{k.value}" for k in PeriodKind}
    keys |= {f"hr.target_{k.value}{who}" for k in PeriodKind for who in "pr"}
    keys |= {f"hr.review_{s.value}" for s in ReviewStatus}
    keys |= {f"hr.handover_offer_{k}" for k in ("transfer", "departure")}
    keys |= {f"kpi.{name}" for name in ("interactions", "visits", "new_customers", "followups_on_time", "revenue",
                                        "orders", "collections", "tickets_in_sla")}
    for locale in locales.SUPPORTED:
        missing = sorted(k for k in keys if not catalogs.has(locale, k))
        assert not missing, (locale, missing)
