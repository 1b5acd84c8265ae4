"""The custom fields asked by the guided /newcustomer and /newlead flows (``handlers/customers/draft_extras``):
one question per live field of the kind, the answer read for its type on the spot, saved with the record."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.fields.model import FieldDef, FieldEntity
from crm.fields.values import find_field
from handlers.core.common import actor_of
from handlers.customers.draft_extras import Question
from handlers.fields.values import ask_text

KINDS = {"customer": FieldEntity.CUSTOMER, "lead": FieldEntity.LEAD, "contact": FieldEntity.CONTACT,
         "opportunity": FieldEntity.OPPORTUNITY, "ticket": FieldEntity.TICKET, "expense": FieldEntity.EXPENSE,
         "order": FieldEntity.ORDER}
_PAIR = re.compile(r"^\s*(?P<label>[^=＝]+?)\s*[=＝]\s*(?P<value>.*?)\s*$")
_TOKEN = re.compile(r"(?:(?<=[\s,，])|^)(?P<label>[^\s=＝;；,，]+)\s*[=＝]\s*(?P<value>[^\s;；,，]*)")


def _code(field: FieldDef) -> str:
    return f"f{field.id}"


class FieldQuestions:
    async def _fields(self, context: CrmContext, kind: str) -> Sequence[FieldDef]:
        entity = KINDS.get(kind)
        if entity is None:
            return ()
        return await context.services.fields.fields.listed(actor_of(context), entity)

    async def _field(self, context: CrmContext, kind: str, code: str) -> FieldDef:
        for field in await self._fields(context, kind):
            if _code(field) == code:
                return field
        raise DomainError("fields.field_gone")

    async def questions(self, context: CrmContext, kind: str) -> Sequence[Question]:
        locale = actor_of(context).locale
        return [Question(_code(f), f.label(locale), ask_text(context, f), f.required)
                for f in await self._fields(context, kind)]

    async def accept(self, context: CrmContext, kind: str, code: str, text: str) -> str:
        service = context.services.fields.fields
        field = await self._field(context, kind, code)
        value = service.parse(field, text)
        if value.is_empty and field.required:
            raise DomainError("fields.required", label=field.label(actor_of(context).locale))
        return service.as_text(field, value)

    def echo(self, context: CrmContext, kind: str, code: str, answer: str) -> str:
        return answer

    async def split_line(self, context: CrmContext, kind: str, line: str) -> tuple[str, dict[str, str]]:
        if "=" not in line and "＝" not in line:
            return line, {}
        fields = await self._fields(context, kind)
        found: dict[str, str] = {}
        kept: list[str] = []
        for part in re.split(r"([;；\n])", line):
            whole = _PAIR.match(part)
            field = find_field(fields, whole.group("label")) if whole else None
            if whole and field is not None:
                found[_code(field)] = whole.group("value")
                continue

            def take(match: re.Match[str]) -> str:
                token_field = find_field(fields, match.group("label"))
                if token_field is None:
                    return match.group(0)
                found[_code(token_field)] = match.group("value")
                return ""

            kept.append(_TOKEN.sub(take, part))
        rest = " ".join("".join(kept).split())
        return rest.strip(" ;；"), found

    async def save(self, context: CrmContext, kind: str, record_id: int, answers: Mapping[str, str]) -> None:
        entity = KINDS.get(kind)
        if entity is None or not answers:
            return
        by_code = {_code(f): f.id for f in await self._fields(context, kind)}
        await context.services.fields.fields.set(actor_of(context), entity, record_id,
                                                 {by_code[c]: a for c, a in answers.items() if c in by_code})


QUESTIONS = FieldQuestions()
