"""KPIs and performance reviews in chat: ``/mykpi`` (one's own progress, any period), ``/teamkpi`` (the people in
one's scope ranked, with a chart), a review from a colleague's card (period, figures, a score, a comment echoed
and saved on a tap, then pushed to the person with an acknowledge button), and targets per person or role.

Buttons (ids and short codes only; the service re-checks every press):
  hr:my:<period>  hr:tm:<period>  hr:kp:<staff>  hr:kq:<staff>:<period>  hr:rv:<staff>  hr:rp:<staff>:<period>
  hr:rs:<staff>:<period>:<score>  hr:rg  hr:rx  hr:ack:<review>  hr:tg:<staff>  hr:tk:<staff>:<kpi>
  hr:tt:<staff>:<kpi>:<kind><p|r>  hr:ts  hr:tx
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.hr.model import PeriodKind, Review
from crm.hr.periods import ReviewPeriod, choices, containing, parse_code
from crm.hr.reviews import parse_target
from crm.organisation.model import Staff
from handlers.core import flow
from handlers.core.common import actor_of, keyboard, message_text, require_actor
from handlers.core.screens import Rows, arg, grid, respond, word
from views.hr.hr import number, period_label, person_text, review_text, team_text

log = logging.getLogger(__name__)
COMMENT, TARGET = "hr.comment", "hr.target"


def _period_rows(context: CrmContext, data: Callable[[ReviewPeriod], str]) -> Rows:
    today = context.services.hr.reviews.today(actor_of(context))
    return grid([(period_label(context.t, p), data(p)) for p in choices(today)], 2)


def _period(update: Update, index: int) -> ReviewPeriod:
    try:
        return parse_code(word(update, index))
    except DomainError as exc:
        raise DomainError("error.stale_button") from exc


def _this_quarter(context: CrmContext) -> ReviewPeriod:
    return containing(PeriodKind.QUARTER, context.services.hr.reviews.today(actor_of(context)))


# ---- /mykpi and /teamkpi ----------------------------------------------------------------------------------------

async def _mine(update: Update, context: CrmContext, period: ReviewPeriod, *, edit: bool | None = None) -> None:
    figures = await context.services.hr.reviews.mine(actor_of(context), period)
    await respond(update, context, person_text(context.t, figures, period),
                  _period_rows(context, lambda p: f"hr:my:{p.code}"), edit=edit)


@require_actor()
async def mykpi(update: Update, context: CrmContext) -> None:
    await _mine(update, context, _this_quarter(context), edit=False)


@require_actor()
async def mykpi_period(update: Update, context: CrmContext) -> None:
    await _mine(update, context, _period(update, 0))


async def _team(update: Update, context: CrmContext, period: ReviewPeriod) -> None:
    made = await context.services.hr.reviews.team(actor_of(context), period, context.t)
    await respond(update, context, team_text(context.t, period, made.people),
                  _period_rows(context, lambda p: f"hr:tm:{p.code}"), edit=False)
    chat = update.effective_chat
    if made.chart is not None and chat is not None:
        await context.bot.send_photo(chat.id, made.chart, filename="team-kpi.png",
                                     caption=context.t("hr.chart_caption", period=period_label(context.t, period)))


@require_actor("reviews.manage")
async def teamkpi(update: Update, context: CrmContext) -> None:
    await _team(update, context, _this_quarter(context))


@require_actor("reviews.manage")
async def teamkpi_period(update: Update, context: CrmContext) -> None:
    await _team(update, context, _period(update, 0))


@require_actor()
async def person_kpi(update: Update, context: CrmContext) -> None:
    """The card's 📈 KPIs: one's own progress, or a colleague's for someone who reviews them."""
    await _person_kpi(update, context, arg(update, 0), _this_quarter(context))


@require_actor()
async def person_kpi_period(update: Update, context: CrmContext) -> None:
    await _person_kpi(update, context, arg(update, 0), _period(update, 1))


async def _person_kpi(update: Update, context: CrmContext, staff_id: int, period: ReviewPeriod) -> None:
    actor = actor_of(context)
    if staff_id == actor.staff_id:
        figures = await context.services.hr.reviews.mine(actor, period)
    else:
        figures, _ = await context.services.hr.reviews.person(actor, staff_id, period)
    rows = _period_rows(context, lambda p: f"hr:kq:{staff_id}:{p.code}")
    rows.append([(context.t("hr.btn_back"), f"hr:open:{staff_id}")])
    await respond(update, context, person_text(context.t, figures, period), rows)


# ---- a review ---------------------------------------------------------------------------------------------------

@require_actor("reviews.manage")
async def review_start(update: Update, context: CrmContext) -> None:
    staff_id = arg(update, 0)
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_review:
        raise DomainError("error.permission_denied")
    rows = _period_rows(context, lambda p: f"hr:rp:{staff_id}:{p.code}")
    rows.append([(context.t("hr.btn_back"), f"hr:open:{staff_id}")])
    await respond(update, context, context.t("hr.ask_period", name=card.name), rows)


@require_actor("reviews.manage")
async def review_period(update: Update, context: CrmContext) -> None:
    staff_id, period = arg(update, 0), _period(update, 1)
    figures, existing = await context.services.hr.reviews.person(actor_of(context), staff_id, period)
    text = person_text(context.t, figures, period)
    if existing is not None:
        text += "\n\n" + context.t("hr.review_exists", score=existing.score,
                                   status=context.t(f"hr.review_{existing.status.value}"))
    scores = [(f"{'★' * n}", f"hr:rs:{staff_id}:{period.code}:{n}") for n in range(1, 6)]
    rows: Rows = [scores, [(context.t("hr.btn_back"), f"hr:rv:{staff_id}")]]
    await respond(update, context, text + "\n\n" + context.t("hr.ask_score"), rows)


@require_actor("reviews.manage")
async def review_score(update: Update, context: CrmContext) -> None:
    staff_id, period, score = arg(update, 0), _period(update, 1), arg(update, 2)
    if not 1 <= score <= 5:
        raise DomainError("error.stale_button")
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_review:
        raise DomainError("error.permission_denied")
    flow.ask(context, COMMENT, step="comment", staff_id=staff_id, period=period.code, score=score, name=card.name)
    await respond(update, context, context.t("hr.ask_comment", name=card.name, score="★" * score), edit=False)


@flow.on_text(COMMENT)
@require_actor("reviews.manage")
async def typed_comment(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.step != "comment":
        await respond(update, context, context.t("hr.press_button"), edit=False)
        return
    data = dict(waiting.data)
    comment = message_text(update).strip()
    if len(comment) > 1000:
        await respond(update, context, context.t("hr.error_too_long", limit=1000), edit=False)
        return
    flow.ask(context, COMMENT, step="confirm", expects="button", buttons=("hr:rg", "hr:rx"), **data, comment=comment)
    period = parse_code(str(data["period"]))
    text = "\n".join([context.t("hr.check_review"), context.t("hr.check_person", name=data["name"]),
                      context.t("hr.check_period", period=period_label(context.t, period)),
                      context.t("hr.review_score", score="★" * int(data["score"]) + "☆" * (5 - int(data["score"])),
                                by=actor_of(context).name),
                      context.t("hr.review_comment", comment=comment)])
    rows: Rows = [[(context.t("hr.btn_submit"), "hr:rg"), (context.t("common.cancel"), "hr:rx")]]
    await respond(update, context, text, rows, edit=False)


@flow.on_stray(COMMENT)
@require_actor("reviews.manage")
async def stray_at_comment(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("hr.press_button"), edit=False)


def _waiting(context: CrmContext, kind: str) -> dict[str, object]:
    waiting = flow.current(context)
    if waiting is None or waiting.kind != kind or waiting.step != "confirm":
        raise DomainError("error.stale_button")
    return dict(waiting.data)


@require_actor("reviews.manage")
async def review_submit(update: Update, context: CrmContext) -> None:
    data = _waiting(context, COMMENT)
    period = parse_code(str(data["period"]))
    review = await context.services.hr.reviews.submit(actor_of(context), int(str(data["staff_id"])), period,
                                                     int(str(data["score"])), str(data.get("comment") or ""))
    flow.end(context)
    person, reviewer = await context.services.hr.reviews.person_of(actor_of(context), review)
    await respond(update, context, context.t("hr.review_saved", name=person.name) + "\n\n"
                  + review_text(context.t, person.name, reviewer.name if reviewer else "", review), edit=False)
    await _tell(context, review, person, reviewer.name if reviewer else "")


async def _tell(context: CrmContext, review: Review, person: Staff, reviewer: str) -> None:
    """The reviewed person sees their review, in their language, with a button to acknowledge it."""
    if person.telegram_user_id is None or person.id == actor_of(context).staff_id:
        return
    locale = context.services.organisation.identity.locale_for(person, None)

    def t(key: str, /, **params: object) -> str:
        return context.i18n.t(locale, key, **params)

    try:
        await context.bot.send_message(
            person.telegram_user_id, t("hr.review_push") + "\n\n" + review_text(t, person.name, reviewer, review),
            parse_mode=ParseMode.HTML, reply_markup=keyboard([[(t("hr.btn_acknowledge"), f"hr:ack:{review.id}")]]))
    except (Forbidden, BadRequest) as exc:
        log.info("review %s not delivered to its person: %s", review.id, exc)
    except NetworkError as exc:
        log.warning("review %s not sent to its person: %s", review.id, exc)


@require_actor()
async def review_cancel(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is not None and waiting.kind in (COMMENT, TARGET):
        flow.abandon(context)
    await respond(update, context, context.t("hr.cancelled"))


@require_actor()
async def acknowledge(update: Update, context: CrmContext) -> None:
    review = await context.services.hr.reviews.acknowledge(actor_of(context), arg(update, 0))
    person, reviewer = await context.services.hr.reviews.person_of(actor_of(context), review)
    await respond(update, context, review_text(context.t, person.name, reviewer.name if reviewer else "", review))


# ---- targets ----------------------------------------------------------------------------------------------------

@require_actor("reviews.manage")
async def targets_menu(update: Update, context: CrmContext) -> None:
    staff_id = arg(update, 0)
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_review:
        raise DomainError("error.permission_denied")
    measures = context.services.hr.reviews.measures()
    rows = grid([(context.t(m.title_key), f"hr:tk:{staff_id}:{m.name}") for m in measures], 2)
    rows.append([(context.t("hr.btn_back"), f"hr:open:{staff_id}")])
    await respond(update, context, context.t("hr.ask_measure", name=card.name), rows)


@require_actor("reviews.manage")
async def target_measure(update: Update, context: CrmContext) -> None:
    staff_id, kpi = arg(update, 0), word(update, 1)
    measure = next((m for m in context.services.hr.reviews.measures() if m.name == kpi), None)
    if measure is None:
        raise DomainError("error.stale_button")
    rows: Rows = [[(context.t(f"hr.target_{kind.value}{who}"), f"hr:tt:{staff_id}:{kpi}:{kind.value}{who}")
                   for kind in PeriodKind] for who in ("p", "r")]
    rows.append([(context.t("hr.btn_back"), f"hr:tg:{staff_id}")])
    await respond(update, context, context.t("hr.ask_target_kind", measure=context.t(measure.title_key)), rows)


@require_actor("reviews.manage")
async def target_kind(update: Update, context: CrmContext) -> None:
    staff_id, kpi, code = arg(update, 0), word(update, 1), word(update, 2)
    measure = next((m for m in context.services.hr.reviews.measures() if m.name == kpi), None)
    if measure is None or len(code) != 2 or code[0] not in {k.value for k in PeriodKind} or code[1] not in "pr":
        raise DomainError("error.stale_button")
    card = await context.services.hr.records.card(actor_of(context), staff_id)
    if not card.may_review:
        raise DomainError("error.permission_denied")
    flow.ask(context, TARGET, step="value", staff_id=staff_id, kpi=kpi, pkind=code[0], role=code[1] == "r",
             name=card.name, title_key=measure.title_key)
    await respond(update, context, context.t("hr.ask_target", measure=context.t(measure.title_key),
                                             period=context.t(f"hr.target_{code}")), edit=False)


@flow.on_text(TARGET)
@require_actor("reviews.manage")
async def typed_target(update: Update, context: CrmContext) -> None:
    waiting = flow.current(context)
    if waiting is None or waiting.step != "value":
        await respond(update, context, context.t("hr.press_button"), edit=False)
        return
    data = dict(waiting.data)
    try:
        value = parse_target(message_text(update))
    except DomainError as exc:
        await respond(update, context, context.t(exc.key, **exc.params), edit=False)
        return
    flow.ask(context, TARGET, step="confirm", expects="button", buttons=("hr:ts", "hr:tx"), **data, value=str(value))
    code = f"{data['pkind']}{'r' if data['role'] else 'p'}"
    text = context.t("hr.check_target", measure=context.t(str(data["title_key"])),
                     period=context.t(f"hr.target_{code}"), value=number(value), name=data["name"])
    rows: Rows = [[(context.t("hr.btn_save"), "hr:ts"), (context.t("common.cancel"), "hr:tx")]]
    await respond(update, context, text, rows, edit=False)


@flow.on_stray(TARGET)
@require_actor("reviews.manage")
async def stray_at_target(update: Update, context: CrmContext) -> None:
    await respond(update, context, context.t("hr.press_button"), edit=False)


@require_actor("reviews.manage")
async def target_save(update: Update, context: CrmContext) -> None:
    data = _waiting(context, TARGET)
    staff_id = int(str(data["staff_id"]))
    await context.services.hr.reviews.set_target(actor_of(context), staff_id, str(data["kpi"]),
                                                 PeriodKind(str(data["pkind"])), str(data["value"]),
                                                 for_role=bool(data["role"]))
    flow.end(context)
    await respond(update, context, context.t("hr.target_saved"), [[(context.t("hr.btn_targets"), f"hr:tg:{staff_id}"),
                                                                   (context.t("hr.btn_card"), f"hr:open:{staff_id}")]],
                  edit=False)
