"""Documents port: printable address labels and envelopes.

An address is the addressee's ``name`` plus the address ``lines`` in the order the destination
expects them; renderers do not reformat the lines. :func:`address_block_lines` decides the block:

* Latin-script addresses: name first, then the lines (``1600 Amphitheatre Pkwy`` /
  ``Mountain View, CA 94043``).
* CJK addresses (the lines contain Chinese/Japanese characters): the lines first and the name last,
  as Chinese and Taiwanese post expect (``110`` / ``台北市信義區市府路1號`` / ``王小明 先生 收``).
* ``postal_code`` is for data that keeps the code apart: it is printed only if it does not already
  appear in ``lines`` -- on its own first line for CJK addresses, after the lines otherwise.
* ``country`` is printed as the last line (upper-cased for Latin script, per UPU practice);
  leave it ``None`` for domestic mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "EnvelopeSize",
    "LabelAddress",
    "LabelRenderer",
    "LabelSheet",
    "address_block_lines",
]

LabelSheet = Literal["avery5160", "l7160"]
"""``avery5160``: US Letter, 3 x 10 labels of 2.625" x 1". ``l7160``: A4, 3 x 7 labels of 63.5 x 38.1 mm."""

EnvelopeSize = Literal["DL", "C5", "10"]
"""``DL``: 220 x 110 mm. ``C5``: 229 x 162 mm. ``10``: US #10, 9.5" x 4.125"."""


@dataclass(frozen=True, slots=True)
class LabelAddress:
    name: str
    lines: Sequence[str]
    postal_code: str | None = None
    country: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))


def _has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef" for ch in text)


def address_block_lines(address: LabelAddress) -> list[str]:
    """The lines to print for ``address``, in order (see the module docstring for the rules)."""
    body = [line.strip() for line in address.lines if line.strip()]
    name = address.name.strip()
    code = (address.postal_code or "").strip()
    needs_code = bool(code) and not any(code in line for line in body)
    out: list[str] = []
    if _has_cjk(" ".join(body) if body else name):
        # Chinese/Taiwanese/Japanese practice: postal code, address, then the addressee.
        if needs_code:
            out.append(code)
        out.extend(body)
        if name:
            out.append(name)
    else:
        if name:
            out.append(name)
        out.extend(body)
        if needs_code:
            out.append(code)
    country = (address.country or "").strip()
    if country:
        out.append(country if _has_cjk(country) else country.upper())
    return out


class LabelRenderer(Protocol):
    def labels_pdf(self, addresses: Sequence[LabelAddress], sheet: LabelSheet = "avery5160", *, skip: int = 0) -> bytes:
        """A PDF of label sheets, one address per label, filled row by row from the top left.

        ``skip`` leaves that many labels blank at the start, to reuse a partly used sheet.
        """
        ...

    def envelopes_pdf(
        self, addresses: Sequence[LabelAddress], sender: LabelAddress, size: EnvelopeSize = "DL"
    ) -> bytes:
        """A PDF with one page per envelope (page size = envelope, landscape), sender top left."""
        ...
