"""A customer who is a person shows 👤 wherever customers are listed, a company 🏢 (cards, search hits, team lists
and the pushed no-contact nudge alike)."""

from __future__ import annotations

from datetime import date

from crm.customers.model import Classification, Customer, CustomerKind
from crm.followups.nudges import Neglected, Nudge, NudgeSettings
from views.customers.icons import customer_icon
from views.followups.nudges import nudge_message


def _customer(customer_id: int, name: str, kind: CustomerKind) -> Customer:
    return Customer(id=customer_id, owner_id=1, name=name, kind=kind)


def test_person_and_company_icons() -> None:
    assert customer_icon(_customer(1, "陳美玲", CustomerKind.PERSON)) == "👤"
    assert customer_icon(_customer(2, "Acme", CustomerKind.COMPANY)) == "🏢"


def test_the_nudge_push_shows_a_person_as_a_person() -> None:
    nudge = Nudge(day=date(2026, 12, 7), total=2, settings=NudgeSettings({Classification.POTENTIAL: 30}),
                  customers=(Neglected(_customer(1, "陳美玲", CustomerKind.PERSON), 40),
                             Neglected(_customer(2, "Acme", CustomerKind.COMPANY), 35)))
    _, rows = nudge_message(lambda key, **params: key, nudge)
    assert [label for row in rows for label, _ in row] == ["👤 陳美玲", "🏢 Acme"]
