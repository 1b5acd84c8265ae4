"""Money is a Decimal amount with an ISO 4217 currency; amounts of different currencies never mix."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Currencies without minor units; every other currency we meet has two.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX"})


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal, never a float")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        cleaned = text.strip().replace(",", "").replace("，", "")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation as exc:
            raise ValueError(f"not an amount: {text!r}") from exc
        if not amount.is_finite():
            raise ValueError(f"not an amount: {text!r}")
        return cls(amount, currency)

    def quantized(self) -> Money:
        exp = Decimal(1) if self.currency in _ZERO_DECIMAL else Decimal("0.01")
        return Money(self.amount.quantize(exp, rounding=ROUND_HALF_EVEN), self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        q = self.quantized()
        return f"{q.currency} {q.amount:,}"
