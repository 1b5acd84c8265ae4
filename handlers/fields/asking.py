"""The custom fields asked by the create flows of the kinds later modules own (an opportunity, a ticket, an
expense, an order): after the flow's own questions, one question per live field of the kind; a required one has
no Skip button and the flow's summary is not shown until it is answered. The answers are kept as text in the
flow's own draft (``draft["cf"]``: field code → answer as it will be saved), so a restart resumes the flow, and
are saved with the record in its create transaction (``answers``).

A flow uses it so:

- ``@resumes("opn")`` on the function that shows its summary (``(update, context) -> None``);
- ``await next_question(update, context, "opportunity", DRAFT_KEY, "opn")`` where it would show its summary: it
  asks the next field and returns True, or returns False when every field was asked (show the summary);
- ``await take_line(context, "opportunity", line)`` on a one-line form: the line without its ``label=value``
  parts, and those parts checked, as entries for the draft (optional fields not typed are not asked);
- ``summary_lines`` on the summary, ``answers`` for the service's create.

Buttons: cfq:skip
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.fields.model import FieldDef
from handlers.core import flow
from handlers.core.common import message_text, require_actor
from handlers.core.screens import respond
from handlers.fields.questions import KINDS, QUESTIONS

ASK = "cfq.value"
Resume = Callable[[Update, CrmContext], Awaitable[None]]
_RESUME: dict[str, Resume] = {}


def resumes(flow_name: str) -> Callable[[Resume], Resume]:
    """The function that goes on with ``flow_name`` once its fields are asked (shows its summary)."""

    def register(func: Resume) -> Resume:
        _RESUME[flow_name] = func
        return func

    return register


def _code(field: FieldDef) -> str:
    return f"f{field.id}"


def _draft(context: CrmContext, key: str) -> dict[str, Any]:
    data = context.user_data.get(key) if context.user_data is not None else None
    return dict(data) if isinstance(data, dict) else {}


def _keep(context: CrmContext, key: str, draft: dict[str, Any]) -> None:
    if context.user_data is not None:
        context.user_data[key] = draft


async def _fields(context: CrmContext, kind: str) -> Sequence[FieldDef]:
    actor = context.actor
    entity = KINDS.get(kind)
    if actor is None or entity is None:
        return ()
    return await context.services.fields.fields.listed(actor, entity)


async def next_question(update: Update, context: CrmContext, kind: str, key: str, flow_name: str) -> bool:
    """Ask the draft's next field not yet asked; False when there is none."""
    draft = _draft(context, key)
    asked = set(draft.get("cf_asked") or ())
    for field in await _fields(context, kind):
        if _code(field) in asked:
            continue
        flow.ask(context, ASK, owns=(key,), buttons=("cfq:",), record_kind=kind, draft_key=key, flow_name=flow_name,
                 code=_code(field))
        prompt = (await QUESTIONS.questions(context, kind))
        text = next((q.prompt for q in prompt if q.code == _code(field)), field.label(context.locale))
        rows = [] if field.required else [[(context.t("fields.btn_skip"), "cfq:skip")]]
        await respond(update, context, text, rows, edit=False)
        return True
    return False


async def _answered(update: Update, context: CrmContext, code: str, answer: str | None) -> None:
    pending = flow.pending(context)
    kind, key, flow_name = (str(pending.get(name, "")) for name in ("record_kind", "draft_key", "flow_name"))
    draft = _draft(context, key)
    if not draft or flow_name not in _RESUME:
        flow.end(context)
        raise DomainError("error.stale_button")
    draft["cf_asked"] = [*(draft.get("cf_asked") or ()), code]
    if answer:
        draft["cf"] = {**(draft.get("cf") or {}), code: answer}
    _keep(context, key, draft)
    if not await next_question(update, context, kind, key, flow_name):
        await _RESUME[flow_name](update, context)


@flow.on_text(ASK)
@require_actor()
async def typed_answer(update: Update, context: CrmContext) -> None:
    pending = flow.pending(context)
    kind, code = str(pending.get("record_kind", "")), str(pending.get("code", ""))
    try:
        answer = await QUESTIONS.accept(context, kind, code, message_text(update))
    except DomainError as exc:
        if exc.key == "fields.field_gone":
            answer = ""  # removed meanwhile: nothing to ask
        else:
            await respond(update, context, context.t(exc.key, **exc.params) + "\n" + context.t("fields.try_again"),
                          edit=False)
            return
    await _answered(update, context, code, answer)


@require_actor()
async def skip(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.kind != ASK:
        raise DomainError("error.stale_button")
    pending = flow.pending(context)
    kind, code = str(pending.get("record_kind", "")), str(pending.get("code", ""))
    field = next((f for f in await _fields(context, kind) if _code(f) == code), None)
    if field is not None and field.required:
        raise DomainError("fields.required", label=field.label(context.locale))
    await _answered(update, context, code, None)


async def take_line(context: CrmContext, kind: str, line: str) -> tuple[str, dict[str, Any]]:
    """The one-line form without its ``label=value`` parts, and those parts checked (DomainError says what was
    expected) as entries for the flow's draft; the optional fields not typed are not asked afterwards."""
    rest, typed = await QUESTIONS.split_line(context, kind, line)
    answers = {code: await QUESTIONS.accept(context, kind, code, value) for code, value in typed.items()}
    fields = await _fields(context, kind)
    return rest, {"cf": {code: answer for code, answer in answers.items() if answer},
                  "cf_asked": [_code(f) for f in fields if _code(f) in answers or not f.required]}


async def summary_lines(context: CrmContext, kind: str, draft: dict[str, Any]) -> list[str]:
    """``🧩 label: answer`` for every answered field, for the flow's summary."""
    typed = draft.get("cf") or {}
    return [context.t("fields.card_line", label=f.label(context.locale), value=typed[_code(f)])
            for f in await _fields(context, kind) if typed.get(_code(f))]


async def answers(context: CrmContext, kind: str, draft: dict[str, Any]) -> dict[int, str]:
    """Field id → answer, for the service's create (which checks them again, and every required field)."""
    typed = draft.get("cf") or {}
    return {f.id: str(typed[_code(f)]) for f in await _fields(context, kind) if typed.get(_code(f))}
