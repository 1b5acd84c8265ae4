"""More questions for the guided /newcustomer and /newlead flows, asked by modules built on this one.

The custom fields module asks each kind's fields (docs/fields.md): after the flow's own steps, one question per
field, a required one without a Skip button; the answers are echoed on the summary, can be edited from it, may
be typed on the one-line form as ``label=value``, and are saved with the record. The flow keeps only plain data
in its draft (codes, labels, answers as text), so a restart resumes it.

A provider is added per application (``add``), like the card extras, so this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from telegram.ext import Application

from bot.context import CrmContext

_KEY = "customer_draft_extras"


@dataclass(frozen=True)
class Question:
    code: str
    """Unique within the flow, stable for its draft (e.g. ``f12`` for custom field 12); no ``:``."""
    label: str
    prompt: str
    required: bool

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "prompt": self.prompt, "required": self.required}


class DraftQuestions(Protocol):
    async def questions(self, context: CrmContext, kind: str) -> Sequence[Question]:
        """The questions for a new record of ``kind`` ("customer", "lead"), in the order to ask them."""
        ...

    async def accept(self, context: CrmContext, kind: str, code: str, text: str) -> str:
        """The answer as it will be saved (raises DomainError with what was expected)."""
        ...

    def echo(self, context: CrmContext, kind: str, code: str, answer: str) -> str:
        """An accepted answer as the summary shows it."""
        ...

    async def split_line(self, context: CrmContext, kind: str, line: str) -> tuple[str, dict[str, str]]:
        """The one-line form without its ``label=value`` parts, and those parts (code → typed value)."""
        ...

    async def save(self, context: CrmContext, kind: str, record_id: int, answers: Mapping[str, str]) -> None:
        """Store the answers of the record just created."""
        ...


def add(app: Application[Any, Any, Any, Any, Any, Any], provider: DraftQuestions) -> None:
    app.bot_data.setdefault(_KEY, []).append(provider)


def providers(context: CrmContext) -> Sequence[DraftQuestions]:
    found: Sequence[DraftQuestions] = context.bot_data.get(_KEY, ())
    return found


def provider(context: CrmContext) -> DraftQuestions | None:
    """The one provider (custom fields); the flow takes one so codes never clash."""
    found = providers(context)
    return found[0] if found else None
