"""Follow-ups in chat: /log (one message or step by step), planning and call-backs from a customer's buttons,
location check-ins, and the buttons on reminder pushes (/today, /agenda, /agendatime: handlers/followups/agenda.py;
a manager's team: handlers/followups/team.py).

Button data (all ≤ 64 bytes, ids only; every press re-reads and re-checks through the services):
  fu:log|plan|cb:<customer|contact|lead>:<id>   start a guided log / a plan / a call-back reminder
  fu:k:<kind>:<seq>  fu:pick:<entity>:<id>:<seq>  fu:lead:<seq>  fu:save:<seq>  fu:time:<seq>  fu:txt:<seq>
  fu:skip:<seq>  fu:ok:<seq>  fu:x:<seq>        steps of the current draft (<seq>: which draft)
  fu:dup:<seq>                                  save anyway what was logged moments ago already
  fu:undo:<interaction id>                      take back an interaction just saved (UNDO_WINDOW)
  fu:done:<id>  fu:snz:<id>:<1h|tomorrow|week>  fu:rs:<id>  fu:rsok:<id>  fu:view:<id>   one follow-up
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.core.natural_dates import ParsedWhen, parse_when_prefix, unreadable_when_prefix
from crm.customers.model import EntityKind, InteractionKind, SearchHit
from crm.followups.followups import DuplicateInteraction, Target, snooze_choices
from crm.followups.log_matching import TargetMatch, match_target
from crm.followups.log_parser import Split, parse_log
from handlers.core import flow
from handlers.core.common import (
    Button,
    actor_of,
    answer,
    callback_args,
    clear_pending,
    current_pending,
    expect_text,
    int_arg,
    is_waiting,
    message_text,
    on_pending,
    reply,
    require_actor,
)
from handlers.core.flow import Expects
from handlers.core.text import MAX_INPUT
from handlers.followups.drafts import (
    CALLBACK,
    DRAFT_KEY,
    LOG,
    PLAN,
    Draft,
    drop_draft,
    load_draft,
    new_draft,
    save_draft,
)
from views.core.formatting import zone
from views.customers.icons import hit_icon
from views.followups.texts import (
    KIND_ORDER,
    SNOOZE_CHOICES,
    card_message,
    kind_label,
    open_button,
    when_text,
)

LAST_VISIT_KEY = "fu_visit"
ENTITIES = {e.value: e for e in EntityKind}
# The steps of a log / plan draft: typed answers, then the button steps (kind, pick who, check and save, confirm).
MY_PENDING = ("fu.who", "fu.text", "fu.next", "fu.when", "fu.what", "fu.kind", "fu.pick", "fu.check", "fu.confirm",
              "fu.dup")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    app.add_handlers([
        CommandHandler("log", log_command),
        # Before the catch-all fallback: a shared location is a check-in, not an unsupported message.
        MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, on_location),
    ])
    routes = {
        "log": start_log, "plan": start_plan, "cb": start_callback, "k": pick_kind, "pick": pick_target,
        "lead": create_lead, "save": save, "time": change_time, "txt": edit_text, "skip": skip_next,
        "ok": confirm_time, "x": cancel, "dup": save_anyway, "undo": undo,
        "done": done, "snz": snooze, "rs": reschedule, "rsok": reschedule_ok,
        "view": view,
    }
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^fu:{verb}(:|$)") for verb, func in routes.items()])


# ---- helpers -----------------------------------------------------------------------------------------------

def _now(context: CrmContext) -> datetime:
    return context.services.clock.now()


def _local_now(context: CrmContext) -> datetime:
    return _now(context).astimezone(zone(actor_of(context).timezone))


def _when(context: CrmContext, at: datetime) -> str:
    return when_text(context.t, at, actor_of(context).timezone, _now(context))


def _command_rest(update: Update) -> str:
    parts = message_text(update).split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _hit_name(hit: SearchHit) -> str:
    return f"{hit.title} ({hit.subtitle})" if hit.entity is EntityKind.CONTACT and hit.subtitle else hit.title


def _wait(context: CrmContext, kind: str, expects: Expects = "text") -> None:
    """Wait for the draft's next answer; the draft is dropped if the flow times out, is cancelled or left."""
    flow.ask(context, kind, expects=expects, buttons=("fu:",), owns=(DRAFT_KEY,))


async def _current(update: Update, context: CrmContext, seq_index: int) -> Draft | None:
    """The draft a button belongs to; None (and an alert) when the button is from an older or timed-out draft."""
    flow.current(context)  # a timed-out flow drops its draft here
    draft = load_draft(context)
    args = callback_args(update)
    try:
        seq = int(args[seq_index])
    except (IndexError, ValueError):
        seq = -1
    if draft is None or draft.seq != seq:
        await answer(update.callback_query, context.t("followups.stale_draft"), alert=True)
        return None
    return draft


def _accept_due(context: CrmContext, draft: Draft, found: ParsedWhen) -> bool:
    if found.at <= _now(context):
        return False
    draft.set_due(found.at)
    return True


async def _target_name(context: CrmContext, entity: EntityKind, target_id: int) -> str:
    """Scope-checked: a forged or stale id answers "not found"."""
    actor = actor_of(context)
    s = context.services
    if entity is EntityKind.CUSTOMER:
        return (await s.customers.customers.get(actor, target_id)).name
    if entity is EntityKind.CONTACT:
        contact, customer = await s.customers.contacts.get(actor, target_id)
        return f"{contact.name} ({customer.name})"
    return (await s.customers.leads.get(actor, target_id)).name


def _entity(args: list[str], index: int) -> EntityKind:
    entity = ENTITIES.get(args[index] if len(args) > index else "")
    if entity is None:
        raise DomainError("error.stale_button")
    return entity


# ---- moving a draft forward --------------------------------------------------------------------------------

async def _advance(update: Update, context: CrmContext, draft: Draft) -> None:
    """Ask for whatever the draft still lacks, or show it for one last look."""
    save_draft(context, draft)
    t = context.t
    cancel_row: list[Button] = [(t("followups.btn_cancel"), f"fu:x:{draft.seq}")]
    if draft.target_id is None:
        _wait(context, "fu.who")
        key = "followups.ask_who_visit" if draft.location else "followups.ask_who"
        await reply(update, context, t(key), [cancel_row])
        return
    name = draft.name or ""
    if draft.mode == LOG:
        if draft.guided and not draft.kind_chosen:
            _wait(context, "fu.kind", "button")
            await reply(update, context, t("followups.ask_kind", name=name), [*_kind_rows(context, draft), cancel_row])
        elif not draft.text:
            _wait(context, "fu.text")
            await reply(update, context, t("followups.ask_text", name=name), [cancel_row])
        elif draft.guided and not draft.next_asked:
            _wait(context, "fu.next")
            await reply(update, context, t("followups.ask_next", name=name),
                        [[(t("followups.btn_skip"), f"fu:skip:{draft.seq}")], cancel_row])
        elif draft.has_next and draft.next_at is None:
            _wait(context, "fu.when")
            await reply(update, context, t("followups.ask_when"), [cancel_row])
        else:
            _wait(context, "fu.check", "button")
            await _show_log(update, context, draft)
        return
    if draft.next_at is None:
        _wait(context, "fu.when")
        await reply(update, context, t("followups.ask_when_plan", name=name), [cancel_row])
    elif not draft.time_confirmed:
        _wait(context, "fu.confirm", "button")
        due = draft.due
        assert due is not None
        lines = [t("followups.plan_confirm", name=name, when=_when(context, due))]
        if draft.next_text:
            lines.append(t("followups.line_plan_text", text=draft.next_text))
        await reply(update, context, "\n".join(lines), [
            [(t("followups.btn_confirm"), f"fu:ok:{draft.seq}"),
             (t("followups.btn_change_time"), f"fu:time:{draft.seq}")],
            cancel_row,
        ])
    elif not draft.next_text:
        _wait(context, "fu.what")
        await reply(update, context, t("followups.ask_what", name=name), [cancel_row])
    else:
        await _save_plan(update, context, draft)


def _kind_rows(context: CrmContext, draft: Draft) -> list[list[Button]]:
    buttons: list[Button] = []
    for kind in KIND_ORDER:
        mark = "• " if draft.kind_chosen and draft.kind == kind.value else ""
        buttons.append((mark + kind_label(context.t, kind), f"fu:k:{kind.value}:{draft.seq}"))
    return [buttons[:3], buttons[3:]]


def _draft_lines(context: CrmContext, draft: Draft) -> list[str]:
    t = context.t
    lines = [t("followups.line_who", name=draft.name or draft.query or "?"),
             t("followups.line_kind", kind=kind_label(t, draft.kind))]
    if draft.text:
        lines.append(t("followups.line_what", text=draft.text))
    if draft.location:
        lines.append(t("followups.line_location"))
    due = draft.due
    if due is not None:
        lines.append(t("followups.line_next", when=_when(context, due), text=draft.next_text or draft.text or ""))
    return lines


async def _show_log(update: Update, context: CrmContext, draft: Draft) -> None:
    t = context.t
    seq = draft.seq
    time_button = (t("followups.btn_change_time") if draft.next_at else t("followups.btn_add_next"), f"fu:time:{seq}")
    rows: list[list[Button]] = [
        *_kind_rows(context, draft),
        [(t("followups.btn_save"), f"fu:save:{seq}")],
        [time_button, (t("followups.btn_edit_text"), f"fu:txt:{seq}")],
        [(t("followups.btn_cancel"), f"fu:x:{seq}")],
    ]
    await reply(update, context, "\n".join([t("followups.confirm_title"), *_draft_lines(context, draft)]), rows)


async def _offer_targets(update: Update, context: CrmContext, draft: Draft, match: TargetMatch) -> None:
    """Several matches: the rep picks one; none: offer to create a lead with the typed name, keeping the log."""
    t = context.t
    seq = draft.seq
    rows: list[list[Button]] = [
        [(f"{hit_icon(h)} {_hit_name(h)}"[:60], f"fu:pick:{h.entity.value}:{h.id}:{seq}")]
        for h in match.hits
    ]
    if draft.query:
        rows.append([(t("followups.btn_new_lead", name=draft.query[:40]), f"fu:lead:{seq}")])
    rows.append([(t("followups.btn_cancel"), f"fu:x:{seq}")])
    head = t("followups.pick_who" if match.hits else "followups.no_match", query=draft.query or "")
    text = "\n".join([head, "", *_draft_lines(context, draft)])
    # Several matches: only a press picks one, so "7" typed here never becomes a name. No match: a typo is fixed
    # by typing the name again.
    if match.hits:
        _wait(context, "fu.pick", "button")
    else:
        _wait(context, "fu.who")
    await reply(update, context, text, rows)


async def _resolve(update: Update, context: CrmContext, draft: Draft, splits: list[Split],
                   fallback: Split | None) -> None:
    match = await match_target(context.services.customers.customers, actor_of(context), splits, fallback)
    chosen = match.split or fallback
    if chosen is not None:
        draft.query = chosen.name
        if chosen.text:
            draft.text = chosen.text
    hit = match.single
    if hit is not None:
        draft.entity, draft.target_id, draft.name = hit.entity.value, hit.id, _hit_name(hit)
        await _advance(update, context, draft)
        return
    save_draft(context, draft)
    await _offer_targets(update, context, draft, match)


# ---- /log ------------------------------------------------------------------------------------------------------

@require_actor("followups.create")
async def log_command(update: Update, context: CrmContext) -> None:
    """`/log <customer> <what happened> [next: <when> <what>]`; a bare /log asks step by step."""
    raw = _command_rest(update)
    if len(raw) > MAX_INPUT:
        await reply(update, context, context.t("error.too_long", limit=MAX_INPUT))
        return
    if context.user_data is not None:
        context.user_data.pop(LAST_VISIT_KEY, None)
    parsed = parse_log(raw, _local_now(context))
    draft = new_draft(context, LOG, kind=(parsed.kind or InteractionKind.OTHER).value,
                      kind_chosen=parsed.kind is not None, has_next=parsed.has_next,
                      next_text=parsed.next_text or None, guided=not raw)
    if parsed.next_when is not None and not _accept_due(context, draft, parsed.next_when):
        await reply(update, context, context.t("followups.past_when", when=_when(context, parsed.next_when.at)))
    if parsed.next_unreadable:
        # Said before "When?" so the rep knows why it is asked; the words are kept out of the follow-up's text.
        await reply(update, context, context.t("followups.unreadable_when", text=parsed.next_unreadable[:100]))
    if not parsed.splits:
        await _advance(update, context, draft)
        return
    await _resolve(update, context, draft, list(parsed.splits), parsed.new_name)


@on_pending("fu.who")
@require_actor("followups.create")
async def _typed_who(update: Update, context: CrmContext) -> None:
    draft = load_draft(context)
    if draft is None:
        clear_pending(context)
        await reply(update, context, context.t("followups.stale_draft"))
        return
    name = " ".join(message_text(update).split())
    if not name:
        await reply(update, context, context.t("error.expected_text"))
        return
    split = Split(name, draft.text or "")
    await _resolve(update, context, draft, [split], split)


@on_pending("fu.text")
@require_actor("followups.create")
async def _typed_text(update: Update, context: CrmContext) -> None:
    read = await _read_text(update, context)
    if read is not None:
        draft, text = read
        draft.text = text
        await _advance(update, context, draft)


async def _read_text(update: Update, context: CrmContext) -> tuple[Draft, str] | None:
    """The draft and a non-empty typed answer; otherwise tell the user why and return None."""
    draft = load_draft(context)
    text = message_text(update).strip()
    if draft is None:
        clear_pending(context)
        await reply(update, context, context.t("followups.stale_draft"))
        return None
    if not text:
        await reply(update, context, context.t("error.expected_text"))
        return None
    return draft, text


async def _read_due(update: Update, context: CrmContext) -> tuple[Draft, tuple[ParsedWhen, str]] | None:
    """The draft and a typed "when [what]" that is usable; otherwise tell the user why and return None."""
    draft = load_draft(context)
    if draft is None:
        clear_pending(context)
        await reply(update, context, context.t("followups.stale_draft"))
        return None
    text = message_text(update).strip()
    found = parse_when_prefix(text, _local_now(context))
    if found is None:
        bad = unreadable_when_prefix(text)
        if bad is not None:
            await reply(update, context, context.t("followups.unreadable_when", text=bad[0][:100]) + "\n"
                        + context.t("followups.ask_when"))
        else:
            await reply(update, context, context.t("followups.bad_when", text=text[:100]))
        return None
    if not _accept_due(context, draft, found[0]):
        await reply(update, context, context.t("followups.past_when", when=_when(context, found[0].at)))
        return None
    return draft, found


@on_pending("fu.next")
@require_actor("followups.create")
async def _typed_next(update: Update, context: CrmContext) -> None:
    """Guided log: "tomorrow 3pm send the quote" — when first, then what."""
    read = await _read_due(update, context)
    if read is None:
        return
    draft, found = read
    draft.next_asked = draft.has_next = True
    draft.next_text = found[1] or draft.next_text
    await _advance(update, context, draft)


@on_pending("fu.when")
@require_actor("followups.create")
async def _typed_when(update: Update, context: CrmContext) -> None:
    read = await _read_due(update, context)
    if read is None:
        return
    draft, found = read
    draft.has_next = draft.next_asked = True
    draft.time_confirmed = False
    if found[1] and draft.mode != CALLBACK:
        draft.next_text = found[1]
    await _advance(update, context, draft)


@on_pending("fu.what")
@require_actor("followups.create")
async def _typed_what(update: Update, context: CrmContext) -> None:
    read = await _read_text(update, context)
    if read is not None:
        draft, text = read
        draft.next_text = text
        await _advance(update, context, draft)


# ---- guided flows from a customer's buttons --------------------------------------------------------------------

async def _start(update: Update, context: CrmContext, mode: str) -> None:
    args = callback_args(update)
    entity = _entity(args, 0)
    target_id = int_arg(args, 1)
    name = await _target_name(context, entity, target_id)
    await answer(update.callback_query)
    draft = new_draft(context, mode, entity=entity.value, target_id=target_id, name=name, guided=True)
    if mode == LOG:
        draft.has_next = False
    else:
        draft.has_next = True
        if mode == CALLBACK:
            draft.next_text = context.t("followups.callback_text", name=name)
    await _advance(update, context, draft)


@require_actor("followups.create")
async def start_log(update: Update, context: CrmContext) -> None:
    """Log step by step: kind, what happened, then an optional next step."""
    await _start(update, context, LOG)


@require_actor("followups.create")
async def start_plan(update: Update, context: CrmContext) -> None:
    """Plan a follow-up: when (echoed for a tap to confirm), then what."""
    await _start(update, context, PLAN)


@require_actor("followups.create")
async def start_callback(update: Update, context: CrmContext) -> None:
    """A call-back reminder: only when; the text is "call back <name>"."""
    await _start(update, context, CALLBACK)


# ---- draft buttons -----------------------------------------------------------------------------------------

@require_actor("followups.create")
async def pick_kind(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    draft = await _current(update, context, 1)
    if draft is None:
        return
    try:
        kind = InteractionKind(args[0])
    except ValueError:
        await answer(update.callback_query, context.t("error.stale_button"), alert=True)
        return
    await answer(update.callback_query)
    draft.kind, draft.kind_chosen = kind.value, True
    await _advance(update, context, draft)


@require_actor("followups.create")
async def pick_target(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    draft = await _current(update, context, 2)
    if draft is None:
        return
    entity = _entity(args, 0)
    target_id = int_arg(args, 1)
    draft.name = await _target_name(context, entity, target_id)
    await answer(update.callback_query)
    draft.entity, draft.target_id = entity.value, target_id
    await _advance(update, context, draft)


@require_actor("followups.create")
async def create_lead(update: Update, context: CrmContext) -> None:
    """Create the lead on the spot and keep going with the same log (saved at once when nothing is missing)."""
    draft = await _current(update, context, 0)
    if draft is None:
        return
    if draft.target_id is None:
        lead = await context.services.customers.leads.create(actor_of(context), draft.query or "")
        draft.entity, draft.target_id, draft.name = EntityKind.LEAD.value, lead.id, lead.name
        save_draft(context, draft)  # from here on the draft points at the lead: a retry never makes a second one
    await answer(update.callback_query)
    if draft.mode == LOG and draft.text and not (draft.has_next and draft.next_at is None):
        await _save_log(update, context, draft)
        return
    await _advance(update, context, draft)


@require_actor("followups.create")
async def save(update: Update, context: CrmContext) -> None:
    draft = await _current(update, context, 0)
    if draft is None:
        return
    if draft.target_id is None or not draft.text or draft.mode != LOG or (draft.has_next and not draft.next_at):
        await answer(update.callback_query)
        await _advance(update, context, draft)
        return
    await _save_log(update, context, draft)


@require_actor("followups.create")
async def save_anyway(update: Update, context: CrmContext) -> None:
    """The rep saw "you logged the same … minutes ago" and saves it again on purpose."""
    draft = await _current(update, context, 0)
    if draft is None:
        return
    await _save_log(update, context, draft, allow_duplicate=True)


async def _warn_duplicate(update: Update, context: CrmContext, draft: Draft, found: DuplicateInteraction) -> None:
    """Nothing saved yet: the rep decides, by button, whether this is a second visit or the same one again."""
    t = context.t
    await answer(update.callback_query)
    save_draft(context, draft)
    _wait(context, "fu.dup", "button")
    minutes = int(found.ago.total_seconds() // 60)
    noun = t(f"followups.noun_{found.previous.kind.value}")
    head = (t("followups.duplicate", kind=noun, minutes=minutes) if minutes >= 2
            else t("followups.duplicate_just_now", kind=noun))
    await reply(update, context, "\n".join([head, "", *_draft_lines(context, draft)]), [
        [(t("followups.btn_save_anyway"), f"fu:dup:{draft.seq}")],
        [(t("followups.btn_dont_save"), f"fu:x:{draft.seq}")],
    ])


async def _save_log(update: Update, context: CrmContext, draft: Draft, *, allow_duplicate: bool = False) -> None:
    assert draft.entity is not None and draft.target_id is not None
    actor = actor_of(context)
    due = draft.due
    if due is not None and due <= _now(context):
        await answer(update.callback_query)
        draft.set_due(None)
        draft.has_next = True
        await reply(update, context, context.t("followups.past_when", when=_when(context, due)), edit=False)
        await _advance(update, context, draft)
        return
    try:
        interaction, followup = await context.services.followups.followups.log(
            actor, Target(EntityKind(draft.entity), draft.target_id), InteractionKind(draft.kind), draft.text or "",
            location=draft.location, next_due=due, next_text=draft.next_text, allow_duplicate=allow_duplicate,
        )
    except DuplicateInteraction as found:
        await _warn_duplicate(update, context, draft, found)
        return
    await answer(update.callback_query, context.t("followups.saved_short"))
    drop_draft(context)
    if current_pending(context).get("kind") in MY_PENDING:
        clear_pending(context)
    t = context.t
    lines = [t("followups.saved", kind=kind_label(t, interaction.kind), name=draft.name or "")]
    if followup is not None:
        lines.append(t("followups.saved_next", when=_when(context, followup.due_at), text=followup.text))
    if interaction.kind is InteractionKind.VISIT and draft.location is None and context.user_data is not None:
        context.user_data[LAST_VISIT_KEY] = {"id": interaction.id, "name": draft.name or ""}
        lines.append(t("followups.checkin_hint"))
    rows: list[list[Button]] = [[(t("followups.btn_undo"), f"fu:undo:{interaction.id}")]]
    if interaction.customer_id is not None:
        rows.append([(t("followups.btn_open_customer"), f"cu:open:{interaction.customer_id}")])
    elif interaction.lead_id is not None:
        rows.append([(t("followups.btn_open_lead"), f"ld:open:{interaction.lead_id}")])
    await reply(update, context, "\n".join(lines), rows)


async def _save_plan(update: Update, context: CrmContext, draft: Draft) -> None:
    assert draft.entity is not None and draft.target_id is not None
    due = draft.due
    assert due is not None
    if due <= _now(context):
        draft.set_due(None)
        draft.time_confirmed = False
        await reply(update, context, context.t("followups.past_when", when=_when(context, due)), edit=False)
        await _advance(update, context, draft)
        return
    followup = await context.services.followups.followups.plan(
        actor_of(context), Target(EntityKind(draft.entity), draft.target_id), due, draft.next_text or "")
    drop_draft(context)
    clear_pending(context)
    await reply(update, context, context.t("followups.planned", when=_when(context, followup.due_at),
                                           text=followup.text, name=draft.name or ""))


@require_actor("followups.create")
async def change_time(update: Update, context: CrmContext) -> None:
    draft = await _current(update, context, 0)
    if draft is None:
        return
    await answer(update.callback_query)
    draft.set_due(None)
    draft.has_next = True
    draft.time_confirmed = False
    await _advance(update, context, draft)


@require_actor("followups.create")
async def edit_text(update: Update, context: CrmContext) -> None:
    draft = await _current(update, context, 0)
    if draft is None:
        return
    await answer(update.callback_query)
    draft.text = None
    await _advance(update, context, draft)


@require_actor("followups.create")
async def skip_next(update: Update, context: CrmContext) -> None:
    draft = await _current(update, context, 0)
    if draft is None:
        return
    await answer(update.callback_query)
    draft.next_asked = True
    draft.has_next = False
    draft.set_due(None)
    await _advance(update, context, draft)


@require_actor("followups.create")
async def confirm_time(update: Update, context: CrmContext) -> None:
    draft = await _current(update, context, 0)
    if draft is None:
        return
    draft.time_confirmed = True
    if draft.next_text:
        await _save_plan(update, context, draft)  # may raise: the error handler answers the button
        await answer(update.callback_query)
        return
    await answer(update.callback_query)
    await _advance(update, context, draft)


@require_actor()
async def cancel(update: Update, context: CrmContext) -> None:
    draft = load_draft(context)
    args = callback_args(update)
    if draft is not None and args and args[0] == str(draft.seq):
        drop_draft(context)
        if current_pending(context).get("kind") in MY_PENDING:
            clear_pending(context)
    await answer(update.callback_query)
    await reply(update, context, context.t("followups.cancelled"))


@require_actor("followups.create")
async def undo(update: Update, context: CrmContext) -> None:
    """↩️ Undo under a saved interaction: the service checks it is the presser's own and still fresh."""
    interaction, cancelled = await context.services.followups.followups.undo(
        actor_of(context), int_arg(callback_args(update), 0))
    await answer(update.callback_query, context.t("followups.undone_short"))
    last = context.user_data.get(LAST_VISIT_KEY) if context.user_data is not None else None
    if isinstance(last, dict) and last.get("id") == interaction.id:
        context.user_data.pop(LAST_VISIT_KEY, None)  # type: ignore[union-attr]  # no check-in for what is gone
    t = context.t
    lines = [t("followups.undone", kind=kind_label(t, interaction.kind))]
    lines += [t("followups.undone_next", text=f.text) for f in cancelled]
    await reply(update, context, "\n".join(lines))


# ---- location check-ins ----------------------------------------------------------------------------------------

@require_actor("followups.create")
async def on_location(update: Update, context: CrmContext) -> None:
    """A shared location: the check-in of the log being written, of the visit just logged, or of a new visit."""
    message = update.effective_message
    location = message.location if message else None
    if location is None:
        return
    point = (location.latitude, location.longitude)
    draft = load_draft(context)
    if draft is not None and draft.mode == LOG and current_pending(context).get("kind") in (*MY_PENDING, None):
        draft.lat, draft.lon = point
        draft.kind, draft.kind_chosen = InteractionKind.VISIT.value, True
        await reply(update, context, context.t("followups.location_attached"))
        await _advance(update, context, draft)
        return
    last = context.user_data.get(LAST_VISIT_KEY) if context.user_data is not None else None
    if isinstance(last, dict) and isinstance(last.get("id"), int):
        context.user_data.pop(LAST_VISIT_KEY, None)  # type: ignore[union-attr]
        await context.services.followups.followups.attach_location(actor_of(context), last["id"], *point)
        await reply(update, context, context.t("followups.checkin_saved", name=str(last.get("name", ""))))
        return
    if is_waiting(context):
        waiting = flow.current(context)
        own = flow.message_handler(waiting.kind) if waiting is not None else None
        if own is not None:  # another area asked for a message of its own (a ticket's on-site check-in)
            await own(update, context)
            return
        await reply(update, context, context.t("error.expected_text"))  # another area asked for text
        return
    visit = new_draft(context, LOG, kind=InteractionKind.VISIT.value, kind_chosen=True,
                      text=context.t("followups.checkin_text"), lat=point[0], lon=point[1])
    await _advance(update, context, visit)


# ---- one follow-up: the reminder buttons ---------------------------------------------------------------------

@require_actor("followups.edit")
async def done(update: Update, context: CrmContext) -> None:
    followup = await context.services.followups.followups.complete(actor_of(context), int_arg(callback_args(update), 0))
    await answer(update.callback_query, context.t("followups.saved_short"))
    await reply(update, context, context.t("followups.done", text=followup.text))


@require_actor("followups.edit")
async def snooze(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    followup_id = int_arg(args, 0)
    choice = args[1] if len(args) > 1 else ""
    if choice not in SNOOZE_CHOICES:
        raise DomainError("error.stale_button")
    at = snooze_choices(_now(context), actor_of(context).timezone)[choice]
    followup = await context.services.followups.followups.reschedule(actor_of(context), followup_id, at)
    await answer(update.callback_query, context.t("followups.saved_short"))
    opener = open_button(context.t, followup)
    await reply(update, context, context.t("followups.snoozed", when=_when(context, at), text=followup.text),
                [[opener]] if opener else [])


@require_actor("followups.edit")
async def reschedule(update: Update, context: CrmContext) -> None:
    followup = await context.services.followups.followups.get(actor_of(context), int_arg(callback_args(update), 0))
    await answer(update.callback_query)
    expect_text(context, "fu.rs", followup_id=followup.id)
    await reply(update, context, context.t("followups.ask_reschedule", text=followup.text), edit=False)


@on_pending("fu.rs")
@require_actor("followups.edit")
async def _typed_reschedule(update: Update, context: CrmContext) -> None:
    pending = current_pending(context)
    followup_id = int(pending.get("followup_id", 0))
    text = message_text(update).strip()
    found = parse_when_prefix(text, _local_now(context))
    if found is None:
        await reply(update, context, context.t("followups.bad_when", text=text[:100]))
        return
    if found[0].at <= _now(context):
        await reply(update, context, context.t("followups.past_when", when=_when(context, found[0].at)))
        return
    followup = await context.services.followups.followups.get(actor_of(context), followup_id)
    # Still waiting: typing another time replaces this one; the button confirms the one shown.
    expect_text(context, "fu.rs", followup_id=followup.id, at=found[0].at.isoformat())
    await reply(update, context, context.t("followups.reschedule_confirm", text=followup.text,
                                           when=_when(context, found[0].at)),
                [[(context.t("followups.btn_confirm"), f"fu:rsok:{followup.id}")]])


@require_actor("followups.edit")
async def reschedule_ok(update: Update, context: CrmContext) -> None:
    followup_id = int_arg(callback_args(update), 0)
    pending = current_pending(context)
    if pending.get("kind") != "fu.rs" or pending.get("followup_id") != followup_id or not pending.get("at"):
        await answer(update.callback_query, context.t("followups.stale_draft"), alert=True)
        return
    at = datetime.fromisoformat(str(pending["at"]))
    followup = await context.services.followups.followups.reschedule(actor_of(context), followup_id, at)
    clear_pending(context)
    await answer(update.callback_query, context.t("followups.saved_short"))
    await reply(update, context, context.t("followups.rescheduled", when=_when(context, at), text=followup.text))


@require_actor()
async def view(update: Update, context: CrmContext) -> None:
    actor = actor_of(context)
    followup = await context.services.followups.followups.get(actor, int_arg(callback_args(update), 0))
    names = await context.services.followups.followups.targets_for(actor, [followup])
    await answer(update.callback_query)
    text, rows = card_message(context.t, followup, names.get(followup.id, ""), actor.timezone, _now(context))
    await reply(update, context, text, rows, edit=False)
