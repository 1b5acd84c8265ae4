"""Personal settings: /language, /timezone, and /me (who am I, what may I do)."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.core import locales, timezones
from handlers.core.common import (
    actor_of,
    answer,
    callback_args,
    clear_pending,
    expect_text,
    message_text,
    on_pending,
    reply,
    require_actor,
)
from handlers.organisation.display_names import area_name, role_label, scope_name
from views.core.formatting import local_time

LANGUAGE_LABELS = {locales.EN: "English", locales.ZH_HANT: "繁體中文", locales.ZH_HANS: "简体中文"}


@require_actor()
async def language(update: Update, context: CrmContext) -> None:
    """Offer the three languages as buttons."""
    await answer(update.callback_query)
    rows = [[(("• " if code == context.locale else "") + label, f"lang:set:{code}")]
            for code, label in LANGUAGE_LABELS.items()]
    await reply(update, context, context.t("language.pick"), rows)


@require_actor()
async def set_language(update: Update, context: CrmContext) -> None:
    args = callback_args(update)
    code = args[0] if args else ""
    await context.services.organisation.staff.set_locale(actor_of(context), code)
    context.locale = code
    await answer(update.callback_query, context.t("language.saved"))
    await reply(update, context, context.t("language.saved"))


@require_actor()
async def timezone(update: Update, context: CrmContext) -> None:
    """Show the current time zone; `/timezone London`, `/timezone 台北`, `/timezone UTC+8` or a typed answer
    changes it."""
    actor = actor_of(context)
    if context.args:
        await _set_timezone(update, context, " ".join(context.args))
        return
    expect_text(context, "timezone.set")
    await reply(update, context, context.t("timezone.current", zone=actor.timezone,
                                           now=local_time(context.services.clock.now(), actor.timezone)))


async def _set_timezone(update: Update, context: CrmContext, value: str) -> None:
    actor = actor_of(context)
    now = context.services.clock.now()
    zone = timezones.resolve(value, prefer=(timezones.LOCALE_ZONES.get(actor.locale), actor.timezone), now=now)
    if zone is None:
        # A typed answer stays awaited: the examples show what to type next (or /cancel).
        await reply(update, context, context.t("error.unknown_timezone", value=" ".join(value.split())[:60]))
        return
    name = await context.services.organisation.staff.set_timezone(actor, zone)
    clear_pending(context)
    await reply(update, context, context.t("timezone.saved", zone=name, offset=timezones.offset_label(name, now),
                                           now=local_time(now, name)))


@on_pending("timezone.set")
@require_actor()
async def _typed_timezone(update: Update, context: CrmContext) -> None:
    await _set_timezone(update, context, message_text(update))


@require_actor()
async def me(update: Update, context: CrmContext) -> None:
    """Who the bot thinks I am, and which data I can see."""
    actor = actor_of(context)
    lines = [context.t("me.card", name=actor.name, role=role_label(context, actor.role_name), zone=actor.timezone,
                       language=LANGUAGE_LABELS.get(actor.locale, actor.locale))]
    for area, scope in sorted(actor.scopes.items()):
        lines.append(f"• {area_name(context, area)}: {scope_name(context, scope)}")
    await reply(update, context, "\n".join(lines))
