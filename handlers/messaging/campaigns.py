"""/templates, /campaign and /review: SMS templates with a live preview, campaigns, and their review (簡訊稽核).

Templates are saved as soon as they are named, and each language's text as soon as it is typed, so a wrong
answer or a restart loses nothing; every saved text is shown back with its characters, encoding and segments.

Who is told what: the reviewers when a campaign is submitted (with Approve / Reject buttons), the requester when
it is approved or rejected. These are direct bot messages sent by the handler right after the change committed,
not outbox rows: the outbox's Telegram channel carries text only, and a reviewer's push needs its buttons. The
decision itself is durable (campaign row + audit row); a push that fails (the person blocked the bot, Telegram
unreachable) is logged and the person still finds everything under /review or /campaign.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import CrmContext
from crm.core.errors import DomainError
from crm.messaging.campaigns import Preview
from crm.messaging.subscription_model import TEMPLATE_LOCALES, Campaign, CampaignStatus, Template, Topic
from crm.organisation.model import Staff
from crm.segments.model import Segment
from handlers.core import common
from views.messaging.review import (
    STATUS_ICON,
    campaign_text,
    held_rows,
    held_text,
    quote,
    review_rows,
    review_text,
)

log = logging.getLogger(__name__)


def locale_label(context: CrmContext, locale: str) -> str:
    return context.t({"en": "subscriptions.locale_en", "zh-Hant": "subscriptions.locale_hant",
                      "zh-Hans": "subscriptions.locale_hans"}[locale])


def preview_line(context: CrmContext, preview: Preview) -> str:
    line = context.t("subscriptions.preview", chars=preview.segments.characters, encoding=preview.segments.encoding,
                     segments=preview.segments.segments, per=preview.segments.per_segment, cost=str(preview.cost))
    latin = [ch for ch in preview.non_gsm if ch.isascii() or not ch.isalpha()]
    if preview.segments.encoding == "UCS-2" and latin and len(latin) == len(preview.non_gsm):
        # Only punctuation forces UCS-2 (curly quotes, emoji): worth telling, it halves the room per segment.
        line += "\n" + context.t("subscriptions.preview_ucs_because", chars=" ".join(latin[:8]))
    return line


# ---- templates -----------------------------------------------------------------------------------------------


@common.require_actor("sms.send")
async def list_templates(update: Update, context: CrmContext) -> None:
    """The user's templates, a page at a time, and a button to make a new one."""
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    page = common.int_arg(args, 0) if args else 0
    templates, more = await context.services.messaging.campaigns.templates(common.actor_of(context), page)
    rows: list[list[common.Button]] = [[(f"📄 {tpl.name}", f"smt:view:{tpl.id}")] for tpl in templates]
    nav: list[common.Button] = []
    if page > 0:
        nav.append(("◀️", f"smt:list:{page - 1}"))
    if more:
        nav.append(("▶️", f"smt:list:{page + 1}"))
    rows.append(nav)
    rows.append([(context.t("subscriptions.template_new"), "smt:new")])
    key = "subscriptions.templates_title" if templates or page else "subscriptions.templates_none"
    await common.reply(update, context, context.t(key), rows)


async def _template_card(update: Update, context: CrmContext, template: Template, *, edit: bool | None = None
                         ) -> None:
    campaigns = context.services.messaging.campaigns
    lines = [context.t("subscriptions.template_card", name=template.name)]
    for locale in TEMPLATE_LOCALES:
        body = template.body(locale)
        lines.append("")
        lines.append(f"<b>{locale_label(context, locale)}</b>")
        if not body:
            lines.append(context.t("subscriptions.template_no_text"))
            continue
        lines.append(quote(body))
        lines.append(preview_line(context, campaigns.preview(body, locale, marketing=False)))
        lines.append(context.t("subscriptions.preview_marketing") + " "
                     + preview_line(context, campaigns.preview(body, locale, marketing=True)))
    lines.append("")
    lines.append(context.t("subscriptions.template_fields", name_field="{name}", company_field="{company}"))
    rows: list[list[common.Button]] = [
        [(f"✏️ {locale_label(context, locale)}", f"smt:edit:{template.id}:{index}")
         for index, locale in enumerate(TEMPLATE_LOCALES)],
        [(context.t("subscriptions.campaign_from_template"), f"smc:tpl:{template.id}")],
        [(context.t("subscriptions.template_delete"), f"smt:del:{template.id}"),
         (context.t("common.back"), "smt:list:0")],
    ]
    await common.reply(update, context, "\n".join(lines), rows, edit=edit)


@common.require_actor("sms.send")
async def view_template(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    template = await context.services.messaging.campaigns.template(common.actor_of(context),
                                                                   common.int_arg(common.callback_args(update), 0))
    await _template_card(update, context, template)


@common.require_actor("sms.send")
async def new_template(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    common.expect_text(context, "smt.name")
    await common.reply(update, context, context.t("subscriptions.template_ask_name"), edit=False)


@common.on_pending("smt.name")
@common.require_actor("sms.send")
async def _typed_template_name(update: Update, context: CrmContext) -> None:
    template = await context.services.messaging.campaigns.create_template(common.actor_of(context),
                                                                          common.message_text(update))
    common.expect_text(context, "smt.body", template_id=template.id, locale=TEMPLATE_LOCALES[0])
    await common.reply(update, context, _ask_body(context, template, TEMPLATE_LOCALES[0]))


def _ask_body(context: CrmContext, template: Template, locale: str) -> str:
    return context.t("subscriptions.template_ask_body", name=template.name, language=locale_label(context, locale),
                     name_field="{name}", company_field="{company}")


@common.require_actor("sms.send")
async def edit_body(update: Update, context: CrmContext) -> None:
    """Ask for one language's text of a template."""
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    index = common.int_arg(args, 1)
    if not 0 <= index < len(TEMPLATE_LOCALES):
        await common.reply(update, context, context.t("error.stale_button"), edit=False)
        return
    template = await context.services.messaging.campaigns.template(common.actor_of(context), common.int_arg(args, 0))
    locale = TEMPLATE_LOCALES[index]
    common.expect_text(context, "smt.body", template_id=template.id, locale=locale)
    current = template.body(locale)
    text = _ask_body(context, template, locale)
    if current:
        text += "\n\n" + context.t("subscriptions.template_current") + "\n" + quote(current)
    await common.reply(update, context, text, edit=False)


@common.on_pending("smt.body")
@common.require_actor("sms.send")
async def _typed_body(update: Update, context: CrmContext) -> None:
    """Save the text, then show the live preview; the next language is asked for until all three are there."""
    pending = common.current_pending(context)
    template = await context.services.messaging.campaigns.set_body(common.actor_of(context),
                                                                   int(pending.get("template_id",
                                                                                                      0)),
                                                         str(pending.get("locale", "en")), common.message_text(update))
    common.clear_pending(context)
    missing = [locale for locale in TEMPLATE_LOCALES if not template.body(locale)]
    await _template_card(update, context, template, edit=False)
    if missing:
        common.expect_text(context, "smt.body", template_id=template.id, locale=missing[0])
        await common.reply(update, context, context.t("subscriptions.template_ask_next",
                                               language=locale_label(context, missing[0])), edit=False)


@common.require_actor("sms.send")
async def delete_template(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    template = await context.services.messaging.campaigns.template(common.actor_of(context),
                                                                   common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("subscriptions.template_confirm_delete", name=template.name),
                [[(context.t("common.yes_delete"), f"smt:delok:{template.id}"),
                  (context.t("common.cancel"), f"smt:view:{template.id}")]])


@common.require_actor("sms.send")
async def delete_template_confirmed(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    await context.services.messaging.campaigns.delete_template(common.actor_of(context),
                                                               common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, context.t("subscriptions.template_deleted"),
                [[(context.t("common.back"), "smt:list:0")]])


# ---- campaigns -----------------------------------------------------------------------------------------------


@common.require_actor("sms.send")
async def list_campaigns(update: Update, context: CrmContext) -> None:
    """The user's campaigns and their status; a button to start one."""
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    page = common.int_arg(args, 0) if args else 0
    campaigns, more = await context.services.messaging.campaigns.campaigns(common.actor_of(context), page)
    rows: list[list[common.Button]] = [
        [(f"{STATUS_ICON[c.status]} #{c.id} · {c.topic} · {c.recipients}", f"smc:view:{c.id}")] for c in campaigns]
    nav: list[common.Button] = []
    if page > 0:
        nav.append(("◀️", f"smc:list:{page - 1}"))
    if more:
        nav.append(("▶️", f"smc:list:{page + 1}"))
    rows.append(nav)
    rows.append([(context.t("subscriptions.campaign_new"), "smc:new")])
    key = "subscriptions.campaigns_title" if campaigns or page else "subscriptions.campaigns_none"
    await common.reply(update, context, context.t(key), rows)


@common.require_actor("sms.send")
async def new_campaign(update: Update, context: CrmContext) -> None:
    """Step 1: which template."""
    await common.answer(update.callback_query)
    templates, _ = await context.services.messaging.campaigns.templates(common.actor_of(context), 0)
    if not templates:
        await common.reply(update, context, context.t("subscriptions.campaign_needs_template"),
                    [[(context.t("subscriptions.template_new"), "smt:new")]])
        return
    rows: list[list[common.Button]] = [[(f"📄 {tpl.name}", f"smc:tpl:{tpl.id}")] for tpl in templates]
    await common.reply(update, context, context.t("subscriptions.campaign_pick_template"), rows)


@common.require_actor("sms.send")
async def pick_topic(update: Update, context: CrmContext) -> None:
    """Step 2: which topic's consent the campaign relies on (marketing topics need an opt-in)."""
    await common.answer(update.callback_query)
    template = await context.services.messaging.campaigns.template(common.actor_of(context),
                                                                   common.int_arg(common.callback_args(update), 0))
    topics = await context.services.messaging.subscriptions.topics()
    rows: list[list[common.Button]] = [
        [(("📣 " if topic.marketing else "📦 ") + topic.name(context.locale), f"smc:top:{template.id}:{index}")]
        for index, topic in enumerate(topics)]
    await common.reply(update, context, context.t("subscriptions.campaign_pick_topic", template=template.name), rows)


async def _topic_at(context: CrmContext, index: int) -> Topic:
    topics = await context.services.messaging.subscriptions.topics()
    if not 0 <= index < len(topics):
        raise DomainError("error.stale_button")
    return topics[index]


async def saved_segments(context: CrmContext) -> list[Segment]:
    """The saved segments the user may use (the first ten)."""
    return [segment for segment, _count in await context.services.segments.segments.list(common.actor_of(context))][:10]


@common.require_actor("sms.send")
async def pick_audience(update: Update, context: CrmContext) -> None:
    """Step 3: everyone subscribed to the topic, or a saved segment."""
    await common.answer(update.callback_query)
    args = common.callback_args(update)
    template = await context.services.messaging.campaigns.template(common.actor_of(context), common.int_arg(args, 0))
    topic_index = common.int_arg(args, 1)
    topic = await _topic_at(context, topic_index)
    rows: list[list[common.Button]] = [[(context.t("subscriptions.audience_subscribers",
                                                   topic=topic.name(context.locale)),
                                  f"smc:aud:{template.id}:{topic_index}:0")]]
    for segment in await saved_segments(context):
        rows.append([(f"🎯 {segment.name}", f"smc:aud:{template.id}:{topic_index}:{segment.id}")])
    await common.reply(update, context, context.t("subscriptions.campaign_pick_audience"), rows)


@common.require_actor("sms.send")
async def make_draft(update: Update, context: CrmContext) -> None:
    """Count recipients, segments and cost; offer to submit for review."""
    args = common.callback_args(update)
    topic = await _topic_at(context, common.int_arg(args, 1))
    segment_id = common.int_arg(args, 2) or None
    # Answered only after the count: an error (nobody to text) then reaches the user as an alert.
    card = await context.services.messaging.campaigns.draft(common.actor_of(context), common.int_arg(args, 0),
                                                            topic.key,
                                                  segment_id=segment_id)
    await common.answer(update.callback_query)
    await common.reply(update, context, campaign_text(context, card), _campaign_rows(context, card.campaign))


def _campaign_rows(context: CrmContext, campaign: Campaign) -> list[list[common.Button]]:
    rows: list[list[common.Button]] = []
    if campaign.status is CampaignStatus.DRAFT:
        rows.append([(context.t("subscriptions.campaign_submit"), f"smc:sub:{campaign.id}")])
    rows.append([(context.t("subscriptions.campaign_refresh"), f"smc:view:{campaign.id}"),
                 (context.t("common.back"), "smc:list:0")])
    return rows


@common.require_actor("sms.send")
async def view_campaign(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    card = await context.services.messaging.campaigns.card(common.actor_of(context),
                                                           common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, campaign_text(context, card), _campaign_rows(context, card.campaign))


@common.require_actor("sms.send")
async def submit_campaign(update: Update, context: CrmContext) -> None:
    """Hold the texts for review and tell the reviewers."""
    await common.answer(update.callback_query)
    submitted = await context.services.messaging.campaigns.submit(common.actor_of(context),
                                                                  common.int_arg(common.callback_args(update), 0))
    card = submitted.card
    text = campaign_text(context, card) + "\n\n" + context.t("subscriptions.submitted",
                                                             count=len(submitted.reviewers))
    await common.reply(update, context, text, _campaign_rows(context, card.campaign))
    for reviewer in submitted.reviewers:
        await _push(context, reviewer, lambda ctx: (review_text(ctx, card), review_rows(ctx, card.campaign.id)))


# ---- review -----------------------------------------------------------------------------------------------


class _ReaderContext:
    """Enough of a context to render a message in another person's language (a push to them)."""

    def __init__(self, context: CrmContext, locale: str) -> None:
        self.locale = locale
        self.i18n = context.i18n
        self.services = context.services

    def t(self, key: str, /, **params: Any) -> str:
        return self.i18n.t(self.locale, key, **params)


async def _push(context: CrmContext, person: Staff | None, render: Any) -> None:
    """Send a message to a colleague in their language; failures are logged (see the module docstring)."""
    if person is None or person.telegram_user_id is None or not person.active:
        return
    reader = _ReaderContext(context, person.locale or context.settings.default_locale)
    text, rows = render(reader)
    try:
        await context.bot.send_message(person.telegram_user_id, common.truncate(text), parse_mode=ParseMode.HTML,
                                       reply_markup=common.keyboard(rows), disable_web_page_preview=True)
    except TelegramError as exc:
        log.warning("could not tell staff %s: %s", person.id, exc)


@common.require_actor("sms.review")
async def review(update: Update, context: CrmContext) -> None:
    """Everything waiting for this reviewer: campaigns and single texts."""
    await common.answer(update.callback_query)
    campaigns, held = await context.services.messaging.campaigns.pending(common.actor_of(context))
    if not campaigns and not held:
        await common.reply(update, context, context.t("subscriptions.review_none"))
        return
    rows: list[list[common.Button]] = [
        [(f"📣 #{c.id} · {c.recipients} · {c.cost}", f"smr:c:{c.id}")] for c in campaigns]
    rows += [[(f"📱 {h.message.recipient} · {h.requester.name if h.requester else '—'}", f"smr:m:{h.message.id}")]
             for h in held]
    await common.reply(update, context, context.t("subscriptions.review_title", campaigns=len(campaigns),
                                                  texts=len(held)),
                rows)


@common.require_actor("sms.review")
async def review_campaign(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    card = await context.services.messaging.campaigns.review_card(common.actor_of(context),
                                                                  common.int_arg(common.callback_args(update), 0))
    rows = review_rows(context, card.campaign.id) if card.campaign.status is CampaignStatus.PENDING_REVIEW else []
    await common.reply(update, context, campaign_text(context, card), [*rows, [(context.t("common.back"), "smr:list")]])


@common.require_actor("sms.review")
async def approve_campaign(update: Update, context: CrmContext) -> None:
    reviewed = await context.services.messaging.campaigns.approve(common.actor_of(context),
                                                                  common.int_arg(common.callback_args(update), 0))
    await common.answer(update.callback_query, context.t("subscriptions.approved_short"))
    card = reviewed.card
    await common.reply(update, context, campaign_text(context, card) + "\n\n"
                + context.t("subscriptions.approved", count=reviewed.released))
    await _push(context, reviewed.requester, lambda ctx: (
        ctx.t("subscriptions.outcome_approved", id=card.campaign.id, template=card.template.name,
              count=reviewed.released), [[(ctx.t("subscriptions.campaign_refresh"), f"smc:view:{card.campaign.id}")]]))


@common.require_actor("sms.review")
async def reject_campaign(update: Update, context: CrmContext) -> None:
    """Ask for the reason; the campaign is rejected when it is typed."""
    await common.answer(update.callback_query)
    card = await context.services.messaging.campaigns.review_card(common.actor_of(context),
                                                                  common.int_arg(common.callback_args(update), 0))
    common.expect_text(context, "smr.reason", campaign_id=card.campaign.id)
    await common.reply(update, context, context.t("subscriptions.ask_reason"), edit=False)


@common.require_actor("sms.review")
async def review_message(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    held = await context.services.messaging.campaigns.held_message(common.actor_of(context),
                                                                   common.int_arg(common.callback_args(update), 0))
    await common.reply(update, context, held_text(context, held),
                [*held_rows(context, held.message.id), [(context.t("common.back"), "smr:list")]])


@common.require_actor("sms.review")
async def approve_message(update: Update, context: CrmContext) -> None:
    held = await context.services.messaging.campaigns.approve_message(common.actor_of(context),
                                                                      common.int_arg(common.callback_args(update),
                                                                                                 0))
    await common.answer(update.callback_query, context.t("subscriptions.approved_short"))
    await common.reply(update, context, held_text(context, held) + "\n\n" + context.t("subscriptions.approved",
                                                                                      count=1))
    await _push(context, held.requester, lambda ctx: (
        ctx.t("subscriptions.outcome_message_approved", to=held.message.recipient), []))


@common.require_actor("sms.review")
async def reject_message(update: Update, context: CrmContext) -> None:
    await common.answer(update.callback_query)
    held = await context.services.messaging.campaigns.held_message(common.actor_of(context),
                                                                   common.int_arg(common.callback_args(update), 0))
    common.expect_text(context, "smr.reason", message_id=held.message.id)
    await common.reply(update, context, context.t("subscriptions.ask_reason"), edit=False)


@common.on_pending("smr.reason")
@common.require_actor("sms.review")
async def _typed_reason(update: Update, context: CrmContext) -> None:
    pending = common.current_pending(context)
    reason = common.message_text(update)
    campaigns = context.services.messaging.campaigns
    if pending.get("campaign_id"):
        reviewed = await campaigns.reject(common.actor_of(context), int(pending["campaign_id"]), reason)
        common.clear_pending(context)
        card = reviewed.card
        await common.reply(update, context, campaign_text(context, card) + "\n\n"
                    + context.t("subscriptions.rejected", count=reviewed.released))
        await _push(context, reviewed.requester, lambda ctx: (
            ctx.t("subscriptions.outcome_rejected", id=card.campaign.id, template=card.template.name,
                  reason=card.campaign.reason or ""),
            [[(ctx.t("subscriptions.campaign_refresh"), f"smc:view:{card.campaign.id}")]]))
        return
    held = await campaigns.reject_message(common.actor_of(context), int(pending.get("message_id", 0)), reason)
    common.clear_pending(context)
    await common.reply(update, context, held_text(context, held) + "\n\n" + context.t("subscriptions.rejected",
                                                                                      count=1))
    await _push(context, held.requester, lambda ctx: (
        ctx.t("subscriptions.outcome_message_rejected", to=held.message.recipient, reason=" ".join(reason.split())),
        []))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add this area's handlers to group 0 (called before the fallbacks)."""
    app.add_handlers([
        CommandHandler("templates", list_templates),
        CommandHandler("campaign", list_campaigns),
        CommandHandler("review", review),
    ])
    routes: dict[str, dict[str, Any]] = {
        "smt": {"list": list_templates, "view": view_template, "new": new_template, "edit": edit_body,
                "del": delete_template, "delok": delete_template_confirmed},
        "smc": {"list": list_campaigns, "new": new_campaign, "tpl": pick_topic, "top": pick_audience,
                "aud": make_draft, "view": view_campaign, "sub": submit_campaign},
        "smr": {"list": review, "c": review_campaign, "ca": approve_campaign, "cr": reject_campaign,
                "m": review_message, "ma": approve_message, "mr": reject_message},
    }
    app.add_handlers([CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)")
                      for prefix, verbs in routes.items() for verb, func in verbs.items()])
