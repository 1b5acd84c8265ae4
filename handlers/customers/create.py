"""/newcustomer and /newlead: a guided conversation, or the whole form on one line.

The draft lives in ``user_data`` (persisted) and the step in the awaiting record of handlers/core/flow.py (persisted
too), so a restart in the middle of the flow resumes at the same question with everything typed so far. Each answer is
validated on the spot with the same rules the service applies; a wrong answer gets the reason and the same question
again.

Buttons (ids and fixed words only):
  nc:kind:<company|person>  nc:cls:<classification>  nc:tier:<A|B|C|none>  nc:skip:<step>
  nc:save  nc:edit  nc:ef:<field>  nc:sum  nc:force  nc:dup:<customer id>  nc:x
  nc:skip:x:<code>  nc:ef:x:<code>  (questions other modules add: handlers/customers/draft_extras.py)
Entry buttons from elsewhere: cs:new (a shared phone contact), cu:nl / cu:nc (search found nothing).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError, ValidationFailed
from crm.customers import phones
from crm.customers.customers import CustomerDraft, DuplicateSuspected, clean_email, clean_tags, clean_text
from crm.customers.model import Classification, CustomerKind, Tier
from crm.customers.quick_entry import QuickEntry, is_one_line_form, parse_line
from handlers.core import common, flow
from handlers.core.text import MAX_INPUT
from handlers.customers import draft_extras
from handlers.customers.search import FIND_KEY, SHARED_KEY
from handlers.customers.views import (
    classification_label,
    duplicate_rows,
    duplicates_text,
    error_text,
    field_label,
    kind_label,
    phones_text,
    render_lead,
    respond,
    shared_phone,
    show_customer,
    tier_label,
)

DRAFT_KEY = "nc"
FLOW = "nc"  # the kind of this flow's awaiting record; its step is the question asked
END = "end"

# Steps are strings, not ints: they are stored in the database and must keep their meaning across releases.
NAME, KIND, PHONES, EMAIL, ADDRESS, REGION, CLASSIFY, TIER, TAGS, COMPANY = (
    "name", "kind", "phones", "email", "address", "region", "classification", "tier", "tags", "company")
SUMMARY, PICK_FIELD, DUPLICATE = "summary", "pick_field", "duplicate"
CUSTOMER_STEPS = (NAME, KIND, PHONES, EMAIL, ADDRESS, REGION, CLASSIFY, TIER)
LEAD_STEPS = (NAME, PHONES, COMPANY)
CUSTOMER_FIELDS = (NAME, KIND, PHONES, EMAIL, ADDRESS, REGION, CLASSIFY, TIER, TAGS)
LEAD_FIELDS = (NAME, PHONES, COMPANY, EMAIL)
TEXT_STEPS = (NAME, PHONES, EMAIL, ADDRESS, REGION, TAGS, COMPANY)
OPTIONAL_STEPS = (PHONES, EMAIL, ADDRESS, REGION, TAGS, COMPANY)
BUTTON_STEPS = (KIND, CLASSIFY, TIER, SUMMARY, PICK_FIELD, DUPLICATE)
CLEAR = "-"
_PHONE_SPLIT = re.compile(r"[,，、/;；\n]+")

ASK_KEYS = {
    NAME: "customers.ask_name", KIND: "customers.ask_kind", PHONES: "customers.ask_phones",
    EMAIL: "customers.ask_email", ADDRESS: "customers.ask_address", REGION: "customers.ask_region",
    CLASSIFY: "customers.ask_classification", TIER: "customers.ask_tier", TAGS: "customers.ask_tags",
    COMPANY: "customers.ask_company",
}
LEAD_ASK_KEYS = {NAME: "customers.ask_lead_name", PHONES: "customers.ask_lead_phones"}
# Which step re-asks when the service rejects a field (the one-line form is validated only on save).
ERROR_STEPS = {"error.phone_invalid": PHONES, "error.email_invalid": EMAIL, "error.too_many_tags": TAGS}

Draft = dict[str, Any]
StepHandler = Callable[[Update, CrmContext], Coroutine[Any, Any, str | None]]


# ---- the draft -------------------------------------------------------------------------------------------

def _new_draft(context: CrmContext, kind: str, **values: Any) -> Draft:
    draft: Draft = {"type": kind, "name": None, "kind": CustomerKind.COMPANY.value, "phones": [], "email": None,
                    "address": None, "region": None, "classification": Classification.POTENTIAL.value,
                    "tier": None, "tags": [], "company": None, "notes": None, "editing": False, "filled": []}
    draft.update(values)
    assert context.user_data is not None
    context.user_data[DRAFT_KEY] = draft
    return draft


def _draft(context: CrmContext) -> Draft | None:
    draft = context.user_data.get(DRAFT_KEY) if context.user_data is not None else None
    return draft if isinstance(draft, dict) else None


def _drop(context: CrmContext) -> None:
    """The flow is over (saved, cancelled or given up): no draft, and nothing awaited from this flow."""
    if context.user_data is not None:
        context.user_data.pop(DRAFT_KEY, None)
    if flow.pending(context).get("kind") == FLOW:
        flow.end(context)


def _await(context: CrmContext, step: str) -> str:
    """Wait for the answer to ``step``: typed text, or a press of this flow's buttons."""
    flow.ask(context, FLOW, step=step, expects="text" if _is_text(step) else "button", buttons=("nc:",),
             owns=(DRAFT_KEY,))
    return step


# ---- questions other modules add (custom fields): steps "x:<code>", answers in draft["answers"] -------------

EXTRA = "x:"


def _is_text(step: str) -> bool:
    return step in TEXT_STEPS or step.startswith(EXTRA)


def _extras(draft: Draft) -> list[dict[str, Any]]:
    found = draft.get("extra")
    return found if isinstance(found, list) else []


def _extra(draft: Draft, step: str) -> dict[str, Any] | None:
    return next((q for q in _extras(draft) if EXTRA + str(q.get("code")) == step), None)


def _answers(draft: Draft) -> dict[str, str]:
    answers = draft.setdefault("answers", {})
    return answers if isinstance(answers, dict) else {}


def _missing_required(draft: Draft) -> str | None:
    """The first required added question without an answer: the summary is not shown before it is answered."""
    answers = _answers(draft)
    for question in _extras(draft):
        if question.get("required") and not answers.get(str(question.get("code"))):
            return EXTRA + str(question.get("code"))
    return None


async def _with_extras(context: CrmContext, draft: Draft) -> Draft:
    """Load the added questions for this kind of record into the draft (plain data: it is persisted)."""
    extras = draft_extras.provider(context)
    if extras is not None:
        draft["extra"] = [q.as_dict() for q in await extras.questions(context, draft["type"])]
        draft["answers"] = {}
    return draft


def _steps(draft: Draft) -> tuple[str, ...]:
    own = LEAD_STEPS if draft["type"] == "lead" else CUSTOMER_STEPS
    return (*own, *(EXTRA + str(q.get("code")) for q in _extras(draft)))


def _after(draft: Draft, step: str | None) -> str:
    """The next question: back to the summary when editing one field, else the next step not yet filled."""
    if draft.get("editing"):
        return SUMMARY
    steps = _steps(draft)
    start = steps.index(step) + 1 if step in steps else 0
    for candidate in steps[start:]:
        if candidate not in draft.get("filled", []):
            return candidate
    return SUMMARY


# ---- questions -------------------------------------------------------------------------------------------

def _current_value(context: CrmContext, draft: Draft, step: str) -> str | None:
    if step.startswith(EXTRA):
        return _answers(draft).get(step[len(EXTRA):]) or None
    value = draft.get(step)
    if step == PHONES:
        return _phones_echo(context, value) if value else None
    if step == TAGS:
        return " ".join(f"#{t}" for t in value) if value else None
    return str(value) if value else None


def _question(context: CrmContext, draft: Draft, step: str) -> tuple[str, list[list[common.Button]]]:
    question = _extra(draft, step)
    if question is not None:
        return _extra_question(context, draft, step, question)
    key = LEAD_ASK_KEYS.get(step, ASK_KEYS[step]) if draft["type"] == "lead" else ASK_KEYS[step]
    text = context.t(key)
    rows: list[list[common.Button]] = []
    if step == KIND:
        rows.append([(kind_label(context, k), f"nc:kind:{k.value}") for k in CustomerKind])
    elif step == CLASSIFY:
        rows.append([(classification_label(context, c), f"nc:cls:{c.value}") for c in Classification])
    elif step == TIER:
        rows.append([(tier_label(context, t), f"nc:tier:{t.value}") for t in Tier])
        rows.append([(context.t("customers.btn_no_tier"), "nc:tier:none")])
    if draft.get("editing"):
        current = _current_value(context, draft, step)
        if current:
            text += "\n" + context.t("customers.current_value", value=current)
    if step in OPTIONAL_STEPS:
        label = "customers.btn_clear" if draft.get("editing") else "customers.btn_skip"
        rows.append([(context.t(label), f"nc:skip:{step}")])
    if draft.get("editing"):
        rows.append([(context.t("common.back"), "nc:sum")])
    return text, rows


def _extra_question(context: CrmContext, draft: Draft, step: str, question: dict[str, Any]
                    ) -> tuple[str, list[list[common.Button]]]:
    text = str(question.get("prompt"))
    rows: list[list[common.Button]] = []
    current = _current_value(context, draft, step)
    if draft.get("editing") and current:
        text += "\n" + context.t("customers.current_value", value=current)
    if not question.get("required"):
        label = "customers.btn_clear" if draft.get("editing") else "customers.btn_skip"
        rows.append([(context.t(label), f"nc:skip:{step}")])
    if draft.get("editing"):
        rows.append([(context.t("common.back"), "nc:sum")])
    return text, rows


async def _ask(update: Update, context: CrmContext, draft: Draft, step: str, *, error: str | None = None,
               edit: bool | None = None) -> str:
    if step == SUMMARY:
        return await _summary(update, context, draft, error=error, edit=edit)
    text, rows = _question(context, draft, step)
    await respond(update, context, f"{error}\n\n{text}" if error else text, rows, edit=edit)
    return _await(context, step)


def _summary_text(context: CrmContext, draft: Draft) -> str:
    fields = LEAD_FIELDS if draft["type"] == "lead" else CUSTOMER_FIELDS
    title = "customers.summary_lead" if draft["type"] == "lead" else "customers.summary_customer"
    lines = [context.t(title)]
    for field in fields:
        if field == KIND:
            value: str | None = kind_label(context, draft[KIND])
        elif field == CLASSIFY:
            value = classification_label(context, draft[CLASSIFY])
        elif field == TIER:
            value = draft[TIER]
        else:
            value = _current_value(context, draft, field)
        lines.append(context.t("customers.summary_line", field=field_label(context, field),
                               value=value or context.t("customers.none")))
    extras = draft_extras.provider(context)
    for question in _extras(draft):
        answer = _answers(draft).get(str(question.get("code")))
        shown = extras.echo(context, draft["type"], str(question.get("code")), answer) if extras and answer else None
        lines.append(context.t("customers.summary_line", field=str(question.get("label")),
                               value=shown or context.t("customers.none")))
    return "\n".join(lines)


async def _summary(update: Update, context: CrmContext, draft: Draft, *, error: str | None = None,
                   edit: bool | None = None) -> str:
    missing = _missing_required(draft)
    if missing is not None:  # a required added question (a custom field) is answered first, never skipped
        draft["editing"] = True
        return await _ask(update, context, draft, missing, error=error, edit=edit)
    draft["editing"] = False
    text = _summary_text(context, draft)
    if draft.get("guessed"):
        # The fields were told apart by their look: show the user what to type to be sure next time.
        key = "customers.one_line_hint_lead" if draft["type"] == "lead" else "customers.one_line_hint"
        text += "\n\n" + context.t(key)
    rows = [[(context.t("customers.btn_save"), "nc:save"), (context.t("customers.btn_edit"), "nc:edit"),
             (context.t("customers.btn_cancel_flow"), "nc:x")]]
    await respond(update, context, f"{error}\n\n{text}" if error else text, rows, edit=edit)
    return _await(context, SUMMARY)


# ---- validating one answer -------------------------------------------------------------------------------

def _read_phone(context: CrmContext, raw: str) -> str:
    """E.164, read in the team's region or, failing that, in the region of the user's language or time zone (the
    summary then names the country assumed)."""
    actor = common.actor_of(context)
    number, _ = phones.normalize_with_fallback(raw, context.services.customers.customers.phone_region,
                                               locale=actor.locale, timezone=actor.timezone)
    return number


# Country names the team's users see most; any other country is named from phonenumbers' data in English.
_COUNTRY_KEYS = {"CN": "customers.country_cn", "TW": "customers.country_tw", "HK": "customers.country_hk",
                 "MO": "customers.country_mo", "US": "customers.country_us", "SG": "customers.country_sg",
                 "JP": "customers.country_jp", "MY": "customers.country_my"}


def _phones_echo(context: CrmContext, numbers: list[str]) -> str:
    """The numbers as the card will show them; one of another country than the team's names that country, so
    a number read in the region of the user's language is never a silent guess: "+86 138 0013 8000 (China)"."""
    home = context.services.customers.customers.phone_region
    shown: list[str] = []
    for number in numbers:
        text = phones_text(context, [number])
        if phones.is_foreign(number, home):
            region_code = phones.region_of_number(number) or ""
            key = _COUNTRY_KEYS.get(region_code)
            country = context.t(key) if key else phones.country_name(number)
            text = context.t("customers.phone_country", phone=text, country=country or region_code)
        shown.append(text)
    return ", ".join(shown)


def _split_phones(text: str) -> list[str]:
    return [p.strip() for p in _PHONE_SPLIT.split(text) if p.strip()]


def _accept(context: CrmContext, draft: Draft, step: str, text: str) -> None:
    """Validate and store one typed answer; ValidationFailed leaves the draft as it was."""
    value = text.strip()
    if step in OPTIONAL_STEPS and value == CLEAR:
        value = ""
    if step == NAME:
        draft[NAME] = clean_text(value, "name", required=True)
    elif step == PHONES:
        draft[PHONES] = list(dict.fromkeys(_read_phone(context, p) for p in _split_phones(value)))
    elif step == EMAIL:
        draft[EMAIL] = clean_email(value)
    elif step == ADDRESS:
        draft[ADDRESS] = clean_text(value, "address")
    elif step == REGION:
        draft[REGION] = clean_text(value, "region")
    elif step == TAGS:
        draft[TAGS] = list(clean_tags(value))
    elif step == COMPANY:
        draft[COMPANY] = clean_text(value, "name")


def _text_step(step: str) -> StepHandler:
    async def typed(update: Update, context: CrmContext) -> str | None:
        """One typed answer for ``step``: store it and ask the next question, or say why not and ask again."""
        draft = _draft(context)
        text = common.message_text(update)
        if draft is not None and len(text) > MAX_INPUT:
            return await _ask(update, context, draft, step, error=context.t("error.too_long", limit=MAX_INPUT))
        if draft is None:
            return await _lost(update, context)
        try:
            if step.startswith(EXTRA):
                await _accept_extra(context, draft, step, text)
            else:
                _accept(context, draft, step, text)
        except DomainError as exc:
            return await _ask(update, context, draft, step, error=error_text(context, exc))
        return await _ask(update, context, draft, _after(draft, step))

    return typed


async def _accept_extra(context: CrmContext, draft: Draft, step: str, text: str) -> None:
    extras = draft_extras.provider(context)
    if extras is None or _extra(draft, step) is None:
        raise DomainError("error.stale_button")
    _answers(draft)[step[len(EXTRA):]] = await extras.accept(context, draft["type"], step[len(EXTRA):], text)


def _contact_step(step: str) -> StepHandler:
    async def shared(update: Update, context: CrmContext) -> str | None:
        """A shared phone contact where a number was asked for: take its number."""
        draft = _draft(context)
        message = update.effective_message
        if draft is None:
            return await _lost(update, context)
        if message is None or message.contact is None:
            return None
        region = context.services.customers.customers.phone_region
        try:
            number = _read_phone(context, shared_phone(message.contact.phone_number, region))
        except DomainError as exc:
            return await _ask(update, context, draft, step, error=error_text(context, exc))
        draft[PHONES] = list(dict.fromkeys([*draft[PHONES], number]))
        return await _ask(update, context, draft, _after(draft, step))

    return shared


def _wrong_type(step: str) -> StepHandler:
    async def other(update: Update, context: CrmContext) -> str | None:
        """A photo, sticker or file where a typed answer (or a button) was expected."""
        draft = _draft(context)
        if draft is None:
            return await _lost(update, context)
        key = "customers.use_buttons" if step in BUTTON_STEPS else "error.expected_text"
        return await _ask(update, context, draft, _repeatable(step), error=context.t(key), edit=False)

    return other


def _skip_step(step: str) -> StepHandler:
    async def skip(update: Update, context: CrmContext) -> str | None:
        draft = _draft(context)
        if draft is None:
            return await _lost(update, context)
        if step.startswith(EXTRA):
            _answers(draft).pop(step[len(EXTRA):], None)
        else:
            draft[step] = [] if step in (PHONES, TAGS) else None
        return await _ask(update, context, draft, _after(draft, step), edit=False)

    return skip


async def _lost(update: Update, context: CrmContext) -> str:
    """The draft is gone (another device cancelled it, or it timed out): say so rather than guess."""
    _drop(context)
    await respond(update, context, context.t("customers.draft_lost"), edit=False)
    return END


# ---- button steps ----------------------------------------------------------------------------------------

async def _choice(update: Update, context: CrmContext, step: str, allowed: tuple[str, ...]) -> str | None:
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    args = common.callback_args(update)
    value = args[0] if args else ""
    if value not in allowed:
        await common.answer(update.callback_query)
        return None
    draft[step] = None if value == "none" else value
    return await _ask(update, context, draft, _after(draft, step), edit=False)


async def pick_kind(update: Update, context: CrmContext) -> str | None:
    return await _choice(update, context, KIND, tuple(k.value for k in CustomerKind))


async def pick_classification(update: Update, context: CrmContext) -> str | None:
    return await _choice(update, context, CLASSIFY, tuple(c.value for c in Classification))


async def pick_tier(update: Update, context: CrmContext) -> str | None:
    return await _choice(update, context, TIER, (*(t.value for t in Tier), "none"))


async def edit_menu(update: Update, context: CrmContext) -> str | None:
    """Which field to change before saving."""
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    fields = LEAD_FIELDS if draft["type"] == "lead" else CUSTOMER_FIELDS
    rows: list[list[common.Button]] = []
    buttons = [(field_label(context, f), f"nc:ef:{f}") for f in fields]
    buttons += [(str(q.get("label"))[:30], f"nc:ef:{EXTRA}{q.get('code')}") for q in _extras(draft)]
    for i in range(0, len(buttons), 3):
        rows.append(buttons[i:i + 3])
    rows.append([(context.t("common.back"), "nc:sum")])
    await respond(update, context, context.t("customers.pick_field"), rows)
    return _await(context, PICK_FIELD)


async def edit_field(update: Update, context: CrmContext) -> str | None:
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    field = ":".join(common.callback_args(update))
    if field not in (LEAD_FIELDS if draft["type"] == "lead" else CUSTOMER_FIELDS) and _extra(draft, field) is None:
        await common.answer(update.callback_query)
        return None
    draft["editing"] = True
    return await _ask(update, context, draft, field)


async def back_to_summary(update: Update, context: CrmContext) -> str | None:
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    return await _summary(update, context, draft)


async def cancel(update: Update, context: CrmContext) -> str:
    """/cancel or the Cancel button: drop the draft and leave the flow."""
    _drop(context)
    await respond(update, context, context.t("customers.flow_cancelled"), edit=False)
    return END


async def stale_button(update: Update, context: CrmContext) -> None:
    """A button from an earlier question of this flow: the current question is the one that counts."""
    await common.answer(update.callback_query, context.t("customers.answer_current"), alert=True)


# ---- saving ----------------------------------------------------------------------------------------------

def _customer_draft(draft: Draft) -> CustomerDraft:
    return CustomerDraft(
        name=draft[NAME] or "", kind=CustomerKind(draft[KIND]), phones=tuple(draft[PHONES]), email=draft[EMAIL],
        address=draft[ADDRESS], region=draft[REGION], classification=Classification(draft[CLASSIFY]),
        tier=Tier(draft[TIER]) if draft[TIER] else None, tags=tuple(draft[TAGS]), notes=draft.get("notes"),
    )


async def _save(update: Update, context: CrmContext, draft: Draft, *, force: bool = False) -> str:
    actor = common.actor_of(context)
    try:
        if draft["type"] == "lead":
            lead = await context.services.customers.leads.create(
                actor, draft[NAME] or "", phone_list=tuple(draft[PHONES]), company_name=draft[COMPANY],
                email=draft[EMAIL], notes=draft.get("notes"))
            await _save_extras(context, draft, lead.id)
            _drop(context)
            await render_lead(update, context, lead, edit=False,
                              note=context.t("customers.lead_created", name=lead.name))
            return END
        customer = await context.services.customers.customers.create(actor, _customer_draft(draft), force=force)
    except DuplicateSuspected as exc:
        rows = duplicate_rows(context, exc.duplicates, "nc:force", "customers.btn_create_anyway",
                              [(context.t("customers.btn_edit"), "nc:edit"),
                               (context.t("customers.btn_cancel_flow"), "nc:x")])
        # Opening one of the duplicates ends this flow, so its buttons are this flow's own.
        rows = [[(label, data.replace("cu:open:", "nc:dup:", 1)) for label, data in row] for row in rows]
        await respond(update, context, duplicates_text(context, exc.duplicates), rows, edit=False)
        return _await(context, DUPLICATE)
    except ValidationFailed as exc:
        step = ERROR_STEPS.get(exc.key) or str(exc.params.get("field", NAME))
        step = step if step in ASK_KEYS else NAME
        draft["editing"] = True
        return await _ask(update, context, draft, step, error=error_text(context, exc), edit=False)
    await _save_extras(context, draft, customer.id)
    _drop(context)
    await show_customer(update, context, customer.id, edit=False,
                        note=context.t("customers.created", name=customer.name))
    return END


async def _save_extras(context: CrmContext, draft: Draft, record_id: int) -> None:
    """The added questions' answers, checked when typed, stored for the record just created."""
    extras = draft_extras.provider(context)
    if extras is not None and _answers(draft):
        await extras.save(context, draft["type"], record_id, dict(_answers(draft)))


async def save(update: Update, context: CrmContext) -> str | None:
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    return await _save(update, context, draft)


async def save_anyway(update: Update, context: CrmContext) -> str | None:
    """The rep looked at the possible duplicates and says this one is new."""
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    return await _save(update, context, draft, force=True)


async def open_duplicate(update: Update, context: CrmContext) -> str:
    """The rep picked the existing customer: the new draft is not needed any more."""
    _drop(context)
    await show_customer(update, context, common.int_arg(common.callback_args(update), 0), edit=False)
    return END


# ---- entry points ----------------------------------------------------------------------------------------

def _command_rest(update: Update) -> str:
    parts = common.message_text(update).split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def _start(update: Update, context: CrmContext, kind: str) -> str:
    rest = _command_rest(update)
    if len(rest) > MAX_INPUT:
        rest = ""
    regions = kind != "lead"  # a lead has no region: a place name stays in its name or company
    extras = draft_extras.provider(context)
    typed_extras: dict[str, str] = {}
    if rest and extras is not None:
        rest, typed_extras = await extras.split_line(context, kind, rest)  # `label=value` parts
    if rest and (typed_extras or is_one_line_form(rest, regions=regions)):
        return await _one_line(update, context, kind, parse_line(rest, regions=regions), typed_extras)
    draft = await _with_extras(context, _new_draft(context, kind))
    if rest:
        try:
            _accept(context, draft, NAME, rest)
        except DomainError as exc:
            return await _ask(update, context, draft, NAME, error=error_text(context, exc))
        return await _ask(update, context, draft, _after(draft, NAME))
    return await _ask(update, context, draft, NAME)


async def _one_line(update: Update, context: CrmContext, kind: str, entry: QuickEntry,
                    typed_extras: dict[str, str] | None = None) -> str:
    """The whole form on one line: read every field, then show what was understood for one tap (Save / Edit /
    Cancel) — nothing is saved from a guess the user has not seen. A field that does not pass its check is
    asked again on the spot, with everything else kept."""
    draft = _new_draft(context, kind, name=entry.name, email=entry.email, region=entry.region, notes=entry.notes,
                       guessed=entry.guessed)
    draft[COMPANY if kind == "lead" else ADDRESS] = entry.second
    await _with_extras(context, draft)
    checks = ((NAME, entry.name or ""), (PHONES, "\n".join(entry.phones)), (EMAIL, entry.email or ""),
              (TAGS, " ".join(entry.tags)))
    failed: tuple[str, DomainError] | None = None
    for step, value in checks:
        try:
            _accept(context, draft, step, value)
        except DomainError as exc:
            failed = failed or (step, exc)
    for code, value in (typed_extras or {}).items():
        try:
            await _accept_extra(context, draft, EXTRA + code, value)
        except DomainError as exc:
            failed = failed or (EXTRA + code, exc)
    if entry.extra_emails:
        extra = ", ".join(entry.extra_emails)
        draft["notes"] = "; ".join(n for n in (draft.get("notes"), extra) if n)
    if failed is not None:
        draft["editing"] = True
        return await _ask(update, context, draft, failed[0], error=error_text(context, failed[1]), edit=False)
    return await _summary(update, context, draft, edit=False)


@common.require_actor("customers.create")
async def new_customer(update: Update, context: CrmContext) -> str | None:
    """/newcustomer: ask step by step, or take `/newcustomer name; phones; e-mail; #tags` in one go."""
    return await _start(update, context, "customer")


@common.require_actor("customers.create")
async def new_lead(update: Update, context: CrmContext) -> str | None:
    """/newlead: name and a phone are enough."""
    return await _start(update, context, "lead")


@common.require_actor("customers.create")
async def from_shared_contact(update: Update, context: CrmContext) -> str | None:
    """"New customer" under a shared phone contact: name and number are already known."""
    shared = context.user_data.get(SHARED_KEY) if context.user_data is not None else None
    if not isinstance(shared, dict):
        raise DomainError("error.stale_button")
    draft = await _with_extras(context, _new_draft(context, "customer", name=shared.get("name") or None,
                                                   phones=[shared["phone"]] if shared.get("phone") else []))
    draft["filled"] = [NAME, PHONES] if draft[NAME] else [PHONES]
    return await _ask(update, context, draft, _after(draft, None), edit=False)


async def _from_search(update: Update, context: CrmContext, kind: str) -> str | None:
    found = context.user_data.get(FIND_KEY) if context.user_data is not None else None
    query = str(found.get("q", "")) if isinstance(found, dict) else ""
    draft = await _with_extras(context, _new_draft(context, kind))
    if phones.looks_like_phone(query):
        number = phones.try_normalize(query, context.services.customers.customers.phone_region)
        if number:
            draft[PHONES] = [number]
            draft["filled"] = [PHONES]
    elif query:
        try:
            _accept(context, draft, NAME, query)
            draft["filled"] = [NAME]
        except DomainError:
            draft[NAME] = None
    return await _ask(update, context, draft, _after(draft, None), edit=False)


@common.require_actor("customers.create")
async def lead_from_search(update: Update, context: CrmContext) -> str | None:
    """"New lead with this name/number" under an empty search result."""
    return await _from_search(update, context, "lead")


@common.require_actor("customers.create")
async def customer_from_search(update: Update, context: CrmContext) -> str | None:
    return await _from_search(update, context, "customer")


# ---- wiring ----------------------------------------------------------------------------------------------

def _at(*steps: str) -> Callable[[StepHandler], StepHandler]:
    """A button of this flow counts only while its draft is open, and only on the question being asked."""

    def decorate(func: StepHandler) -> StepHandler:
        @functools.wraps(func)
        async def guarded(update: Update, context: CrmContext) -> str | None:
            waiting = flow.current(context)
            data = update.callback_query.data if update.callback_query else None
            if waiting is None or not waiting.accepts(data) or _draft(context) is None:
                await common.answer(update.callback_query)
                return await _lost(update, context)
            if steps and waiting.step not in steps:
                await stale_button(update, context)
                return None
            return await func(update, context)

        return guarded

    return decorate


def _step(context: CrmContext) -> str:
    waiting = flow.current(context)
    return waiting.step or NAME if waiting is not None else NAME


@flow.on_text(FLOW)
async def _typed(update: Update, context: CrmContext) -> str | None:
    step = _step(context)
    return await _text_step(step if _is_text(step) else NAME)(update, context)


@flow.on_stray(FLOW)
async def _typed_at_button(update: Update, context: CrmContext) -> str | None:
    """Typed text where a button is expected: the question again, with its buttons."""
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    return await _ask(update, context, draft, _repeatable(_step(context)), error=context.t("customers.use_buttons"),
                      edit=False)


@flow.on_message(FLOW)
async def _other_message(update: Update, context: CrmContext) -> str | None:
    """A shared contact is a phone number where one is asked for; anything else is the wrong kind of answer."""
    step = _step(context)
    message = update.effective_message
    if step == PHONES and message is not None and message.contact is not None:
        return await _contact_step(step)(update, context)
    return await _wrong_type(step)(update, context)


def _repeatable(step: str) -> str:
    """The field picker and the duplicate warning are not questions to repeat: the summary is."""
    return step if step in ASK_KEYS or step.startswith(EXTRA) else SUMMARY


async def _skip(update: Update, context: CrmContext) -> str | None:
    step = ":".join(common.callback_args(update))
    draft = _draft(context)
    optional = step in OPTIONAL_STEPS or (
        draft is not None and (question := _extra(draft, step)) is not None and not question.get("required"))
    if not optional or _step(context) != step:
        await stale_button(update, context)
        return None
    return await _skip_step(step)(update, context)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The entry points and this flow's buttons; typed answers arrive through handlers.core.text."""
    routes: dict[str, StepHandler] = {
        "kind": _at(KIND)(pick_kind), "cls": _at(CLASSIFY)(pick_classification), "tier": _at(TIER)(pick_tier),
        "skip": _at()(_skip), "save": _at(SUMMARY)(save), "edit": _at(SUMMARY, DUPLICATE)(edit_menu),
        "ef": _at(PICK_FIELD)(edit_field), "sum": _at()(back_to_summary), "force": _at(DUPLICATE)(save_anyway),
        "dup": _at(DUPLICATE)(open_duplicate), "x": _at()(cancel),
    }
    return [
        CommandHandler("newcustomer", new_customer),
        CommandHandler("newlead", new_lead),
        CallbackQueryHandler(from_shared_contact, pattern=r"^cs:new$"),
        CallbackQueryHandler(lead_from_search, pattern=r"^cu:nl$"),
        CallbackQueryHandler(customer_from_search, pattern=r"^cu:nc$"),
        *(CallbackQueryHandler(func, pattern=rf"^nc:{verb}(:|$)") for verb, func in routes.items()),
        CallbackQueryHandler(stale_button, pattern=r"^nc:"),
    ]
