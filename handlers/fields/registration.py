"""The custom fields in chat: ``/fields`` (admins), ``/filter``, the "🧩 Fields" screen of customer, contact and
lead cards, the customer card's lines, and the questions the guided /newcustomer and /newlead flows ask."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from handlers.customers import card_extras, draft_extras, search
from handlers.fields import asking, manage, values
from handlers.fields import filter as field_filter
from handlers.fields.questions import QUESTIONS


def _buttons(prefix: str, routes: dict[str, Any]) -> list[CallbackQueryHandler[Any, Any]]:
    return [CallbackQueryHandler(func, pattern=rf"^{prefix}:{verb}(:|$)") for verb, func in routes.items()]


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handlers([CommandHandler("fields", manage.fields_home),
                      CommandHandler("filter", field_filter.filter_command)])
    app.add_handlers(_buttons("fd", {
        "home": manage.fields_home, "ls": manage.list_fields, "op": manage.open_field, "tr": manage.removed,
        "rs": manage.restore, "rmok": manage.remove_ok, "rm": manage.remove_ask, "rq": manage.toggle_required,
        "up": manage.move_up, "dn": manage.move_down, "lb": manage.label_ask, "ch": manage.choices_ask,
        "add": manage.add_start, "ty": manage.pick_type, "sk": manage.skip, "req": manage.pick_required,
        "save": manage.save, "x": manage.cancel,
    }))
    app.add_handlers(_buttons("cf", {"ed": values.open_values, "set": values.set_ask, "clr": values.clear}))
    app.add_handlers(_buttons("cfq", {"skip": asking.skip}))
    app.add_handlers(_buttons("cff", {"pg": field_filter.filter_page, "seg": field_filter.save_segment}))
    card_extras.add(app, values.CARD_EXTRA)
    draft_extras.add(app, QUESTIONS)
    search.add_filter(app, field_filter.from_find)
