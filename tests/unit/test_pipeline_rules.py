"""The pipeline's rules without a database: weighted value per currency, the lost reason, the one-message form."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.core.errors import ValidationFailed
from crm.core.money import Money
from crm.sales.opportunity_line import parse_amount, parse_line
from crm.sales.opportunity_model import Outcome, Stage, lost_reason, summarise, totals, weighted

NEW = Stage(1, "new", "New", 10, Decimal(10), Outcome.OPEN, "新機會")
PROPOSAL = Stage(3, "proposal", "Proposal", 30, Decimal(50), Outcome.OPEN)
WON = Stage(5, "won", "Won", 50, Decimal(100), Outcome.WON)
LOST = Stage(6, "lost", "Lost", 60, Decimal(0), Outcome.LOST)
NOW = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Taipei"))


def test_weighted_value_is_exact_and_never_mixes_currencies() -> None:
    assert weighted(Money(Decimal("1200000"), "TWD"), Decimal(25)) == Money(Decimal("300000"), "TWD")
    assert weighted(Money(Decimal("0.10"), "USD"), Decimal("33.3")).amount == Decimal("0.0333")
    sums = totals([Money(Decimal(1), "TWD"), Money(Decimal(2), "USD"), Money(Decimal(3), "TWD")])
    assert sums == (Money(Decimal(4), "TWD"), Money(Decimal(2), "USD"))


def test_summary_lists_the_open_stages_in_order_with_counts_and_weighted_value() -> None:
    rows = [(3, Money(Decimal(1000), "TWD")), (1, Money(Decimal(500), "TWD")), (3, Money(Decimal(200), "USD")),
            (5, Money(Decimal(9999), "TWD"))]  # a won one is not in the open pipeline
    pipeline = summarise([WON, PROPOSAL, LOST, NEW], rows, team=False)
    assert [s.stage.key for s in pipeline.stages] == ["new", "proposal"]
    assert [s.count for s in pipeline.stages] == [1, 2] and pipeline.count == 3
    assert pipeline.stages[1].weighted == (Money(Decimal(500), "TWD"), Money(Decimal(100), "USD"))
    assert pipeline.weighted == (Money(Decimal(50), "TWD") + Money(Decimal(500), "TWD"), Money(Decimal(100), "USD"))


def test_lost_needs_a_typed_reason_and_other_stages_take_none() -> None:
    with pytest.raises(ValidationFailed):
        lost_reason(LOST, "   ")
    with pytest.raises(ValidationFailed):
        lost_reason(LOST, None)
    with pytest.raises(ValidationFailed):
        lost_reason(LOST, "x" * 501)
    assert lost_reason(LOST, "  price   too high ") == "price too high"
    assert lost_reason(WON, "ignored") is None and lost_reason(PROPOSAL, None) is None


def test_stage_names_per_language_fall_back_to_the_main_name() -> None:
    assert NEW.display_name("zh-Hant") == "新機會" and NEW.display_name("zh-Hans") == "New"


@pytest.mark.parametrize(("line", "head", "amount", "currency", "close"), [
    ("台積電 Line upgrade 1.2M TWD close next month", "台積電 Line upgrade", "1200000", "TWD", date(2025, 4, 1)),
    ("台積電 產線升級 120萬 預計下個月", "台積電 產線升級", "1200000", None, date(2025, 4, 1)),
    ("台积电 产线升级 50k usd 预计下个月", "台积电 产线升级", "50000", "USD", date(2025, 4, 1)),
    ("Acme ERP 50k usd by 2025-06-30", "Acme ERP", "50000", "USD", date(2025, 6, 30)),
    ("鴻海 系統 TWD 300,000 下週五", "鴻海 系統", "300000", "TWD", date(2025, 3, 21)),
    ("Acme renewal", "Acme renewal", None, None, None),
])
def test_one_message_form(line: str, head: str, amount: str | None, currency: str | None,
                          close: date | None) -> None:
    parsed = parse_line(line, NOW)
    assert parsed.head == head
    assert parsed.amount == (Decimal(amount) if amount else None)
    assert parsed.currency == currency and parsed.close_date == close


def test_a_close_word_without_a_date_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ValidationFailed):
        parse_line("Acme upgrade 5k close whenever", NOW)


def test_amounts() -> None:
    assert parse_amount("１２０") == (Decimal(120), None)
    assert parse_amount("NT$ 50,000") == (Decimal(50000), "TWD")
    assert parse_amount("1.5") == (Decimal("1.5"), None)
    assert parse_amount("lots") is None
