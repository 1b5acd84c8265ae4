"""Personal settings: /language, /timezone, and /me (who am I, what may I do)."""

from __future__ import annotations

from telegram import Update

from bot.context import CrmContext
from crm.core import locales, timezones
from handlers.core import common
from handlers.organisation.display_names import area_name, role_label, scope_name
from views.core.formatting import local_time

LANGUAGE_LABELS = {locales.EN: "English", locales.ZH_HANT: "繁體中文", locales.ZH_HANS: "简体中文"}


@common.require_actor()
async def language(update: Update, context: CrmContext) -> None:
    """Offer the three languages as buttons."""
    await common.answer(update.callback_query)
    rows = [[(("• " if code == context.locale else "") + label, f"lang:set:{code}")]
            for code, label in LANGUAGE_LABELS.items()]
    await common.reply(update, context, context.t("language.pick"), rows)


@common.require_actor()
async def set_language(update: Update, context: CrmContext) -> None:
    args = common.callback_args(update)
    code = args[0] if args else ""
    await context.services.organisation.staff.set_locale(common.actor_of(context), code)
    context.locale = code
    await common.answer(update.callback_query, context.t("language.saved"))
    await common.reply(update, context, context.t("language.saved"))


@common.require_actor()
async def timezone(update: Update, context: CrmContext) -> None:
    """Show the current time zone; `/timezone London`, `/timezone 台北`, `/timezone UTC+8` or a typed answer
    changes it."""
    actor = common.actor_of(context)
    if context.args:
        await _set_timezone(update, context, " ".join(context.args))
        return
    common.expect_text(context, "timezone.set")
    await common.reply(update, context, context.t("timezone.current", zone=actor.timezone,
                                           now=local_time(context.services.clock.now(), actor.timezone)))


async def _set_timezone(update: Update, context: CrmContext, value: str) -> None:
    actor = common.actor_of(context)
    now = context.services.clock.now()
    zone = timezones.resolve(value, prefer=(timezones.LOCALE_ZONES.get(actor.locale), actor.timezone), now=now)
    if zone is None:
        # A typed answer stays awaited: the examples show what to type next (or /cancel).
        await common.reply(update, context, context.t("error.unknown_timezone", value=" ".join(value.split())[:60]))
        return
    name = await context.services.organisation.staff.set_timezone(actor, zone)
    common.clear_pending(context)
    await common.reply(update, context, context.t("timezone.saved", zone=name, offset=timezones.offset_label(name, now),
                                           now=local_time(now, name)))


@common.on_pending("timezone.set")
@common.require_actor()
async def _typed_timezone(update: Update, context: CrmContext) -> None:
    await _set_timezone(update, context, common.message_text(update))


@common.require_actor()
async def me(update: Update, context: CrmContext) -> None:
    """Who the bot thinks I am, and which data I can see."""
    actor = common.actor_of(context)
    lines = [context.t("me.card", name=actor.name, role=role_label(context, actor.role_name), zone=actor.timezone,
                       language=LANGUAGE_LABELS.get(actor.locale, actor.locale))]
    for area, scope in sorted(actor.scopes.items()):
        lines.append(f"• {area_name(context, area)}: {scope_name(context, scope)}")
    await common.reply(update, context, "\n".join(lines))
