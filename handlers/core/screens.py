"""Entity screens: the card, paged lists, the edit-a-field menu, the delete confirmation, the trash and the history
of one kind of record, described once and drawn the same way for customers, contacts and leads (and the kinds
sales adds next: quotes, orders, tickets, contracts).

A kind declares what differs — its callback prefix, how to read it, how its card looks, which fields can be
edited and which text keys it speaks with — and gets handlers whose buttons follow one scheme:

  <prefix>:open:<id> (new message)  <prefix>:card:<id> (in place)  <prefix>:edit:<id>  <prefix>:ef:<id>:<field>
  <prefix>:ev:<id>:<field>:<value>  <prefix>:del:<id>  <prefix>:delok:<id>  <prefix>:trash:<page>  <prefix>:rst:<id>

Buttons carry ids, field codes and page numbers only, never names, so they stay within Telegram's 64 bytes
whatever the language. Every press reads the record again through its service, which checks permission and
scope: the kit never decides who may see or change what, and a forged press is refused there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import Update

from bot.context import CrmContext
from crm.core.errors import DomainError
from handlers.core.common import answer, callback_args, int_arg, reply
from outbound.telegram_send import Button

R = TypeVar("R")
Item = TypeVar("Item")
Rows = list[list[Button]]

MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit for a button's callback_data
PAGE_BACK, PAGE_NEXT = "◀️", "▶️"


async def respond(update: Update, context: CrmContext, text: str, rows: Sequence[Sequence[Button]] = (), *,
                  edit: bool | None = None) -> None:
    """Answer the button press (if any), then show the result. A callback query can be answered only once, so
    handlers answer it here, after their service call: a refusal raised before this point still reaches the
    user as an alert from the error handler instead of vanishing."""
    await answer(update.callback_query)
    await reply(update, context, text, rows, edit=edit)


def noted(text: str, note: str | None) -> str:
    """A card with what just happened to it on top."""
    return f"{note}\n\n{text}" if note else text


def arg(update: Update, index: int) -> int:
    """The index-th number after the prefix and verb of the pressed button; a malformed one is a stale button."""
    return int_arg(callback_args(update), index)


def page_arg(update: Update, index: int = 0) -> int:
    """The page a paged list's button asks for; without one (the list's command) the first."""
    args = callback_args(update)
    return max(int_arg(args, index), 0) if len(args) > index else 0


def word(update: Update, index: int) -> str:
    args = callback_args(update)
    return args[index] if len(args) > index else ""


def grid(buttons: Sequence[Button], width: int = 3) -> Rows:
    return [list(buttons[i:i + width]) for i in range(0, len(buttons), width)]


def page_row(data: Callable[[int], str], page: int, has_more: bool) -> list[Button]:
    """◀️ / ▶️ for a paged list; ``data(page)`` is the press that shows that page."""
    row: list[Button] = []
    if page > 0:
        row.append((PAGE_BACK, data(page - 1)))
    if has_more:
        row.append((PAGE_NEXT, data(page + 1)))
    return row


def paged(items: Sequence[Item], button: Callable[[Item], Button], data: Callable[[int], str], page: int,
          has_more: bool, *, width: int = 1) -> Rows:
    """A page of items, one button each (``width`` to a row), then the page buttons."""
    return [*grid([button(item) for item in items], width), page_row(data, page, has_more)]


@dataclass(frozen=True)
class ScreenTexts:
    """The translation keys a kind's screens speak with (each takes ``name`` where a record is named)."""

    edit_title: str
    pick_value: str  # takes field
    ask_value: str  # takes field, current
    ask_list_value: str  # takes field, current
    confirm_delete: str = ""
    trash_title: str = ""  # takes page
    trash_empty: str = ""
    history_title: str = ""
    history_empty: str = ""


@dataclass(frozen=True)
class EntityScreen(Generic[R]):
    """How one kind's card is read and drawn: ``load`` reads what the card shows by id (through the service:
    permission and scope are checked there), ``render`` draws it."""

    prefix: str
    load: Callable[[CrmContext, int], Awaitable[R]]
    render: Callable[[CrmContext, R], tuple[str, Rows]]

    def data(self, verb: str, *args: object) -> str:
        return ":".join((self.prefix, verb, *map(str, args)))

    def back(self, context: CrmContext, record_id: int) -> Button:
        return (context.t("common.back"), self.data("card", record_id))

    async def present(self, update: Update, context: CrmContext, shown: R, *, edit: bool | None = None,
                      note: str | None = None) -> None:
        text, rows = self.render(context, shown)
        await respond(update, context, noted(text, note), rows, edit=edit)

    async def show(self, update: Update, context: CrmContext, record_id: int, *, edit: bool | None = None,
                   note: str | None = None) -> None:
        await self.present(update, context, await self.load(context, record_id), edit=edit, note=note)

    async def open(self, update: Update, context: CrmContext) -> None:
        """The card as a new message (from a list, a reminder, a search result)."""
        await self.show(update, context, arg(update, 0), edit=False)

    async def card(self, update: Update, context: CrmContext) -> None:
        """Back to the card, in place."""
        await self.show(update, context, arg(update, 0))

    async def history(self, update: Update, context: CrmContext, texts: ScreenTexts, record_id: int,
                      lines: Sequence[str]) -> None:
        """What happened with the record, newest first, and the way back to its card."""
        shown = [context.t(texts.history_title), *(lines or [context.t(texts.history_empty)])]
        await respond(update, context, "\n".join(shown), [[self.back(context, record_id)]])

    async def confirm_delete(self, update: Update, context: CrmContext, texts: ScreenTexts, record_id: int,
                             name: str) -> None:
        rows = [[(context.t("common.yes_delete"), self.data("delok", record_id)),
                 (context.t("common.cancel"), self.data("card", record_id))]]
        await respond(update, context, context.t(texts.confirm_delete, name=name), rows)

    async def trash(self, update: Update, context: CrmContext, texts: ScreenTexts,
                    items: Sequence[tuple[int, str]], page: int, has_more: bool) -> None:
        """Deleted records, each with a Restore button, a page at a time."""
        if not items and page == 0:
            await respond(update, context, context.t(texts.trash_empty))
            return

        def restore(item: tuple[int, str]) -> Button:
            label = context.t("common.restore_named", name=item[1])
            return (label if len(label) <= 60 else label[:59] + "…", self.data("rst", item[0]))

        rows = paged(items, restore, lambda p: self.data("trash", p), page, has_more)
        await respond(update, context, context.t(texts.trash_title, page=page + 1), rows)


@dataclass(frozen=True)
class Editable:
    """A field of a kind that can be edited: typed (``listed``: several values, comma separated) or, with
    ``options``, picked from buttons whose values ``parse`` turns back into the field's value."""

    name: str
    options: Callable[[CrmContext], Sequence[tuple[str, str]]] | None = None  # (label, value)
    parse: Callable[[str], Any] = str
    listed: bool = False


@dataclass(frozen=True)
class EditMenu(Generic[R]):
    """The edit-a-field menu of one kind: the fields as buttons; a press asks for the value — buttons for a
    field with options, else a typed answer (``ask`` starts waiting for it, with the typed-input mechanism of
    the module) — and the module's handler saves it through the service and shows the card again."""

    screen: EntityScreen[Any]
    load: Callable[[CrmContext, int], Awaitable[R]]  # the record whose fields are edited
    title: Callable[[R], str]
    fields: Sequence[Editable]
    label: Callable[[CrmContext, str], str]  # a field's name in the reader's language
    current: Callable[[CrmContext, R, str], str]  # a field's value as shown in the question
    ask: Callable[[CrmContext, int, str], None]
    texts: ScreenTexts
    width: int = 3

    def field(self, name: str) -> Editable:
        for editable in self.fields:
            if editable.name == name:
                return editable
        raise DomainError("error.stale_button")

    @property
    def typed(self) -> tuple[str, ...]:
        """The fields whose value is typed rather than picked."""
        return tuple(f.name for f in self.fields if f.options is None)

    async def menu(self, update: Update, context: CrmContext) -> None:
        record_id = arg(update, 0)
        record = await self.load(context, record_id)
        buttons = [(self.label(context, f.name), self.screen.data("ef", record_id, f.name)) for f in self.fields]
        rows = [*grid(buttons, self.width), [self.screen.back(context, record_id)]]
        await respond(update, context, context.t(self.texts.edit_title, name=self.title(record)), rows)

    async def ask_field(self, update: Update, context: CrmContext) -> None:
        record_id = arg(update, 0)
        record = await self.load(context, record_id)
        field = self.field(word(update, 1))
        label = self.label(context, field.name)
        if field.options is not None:
            buttons = [(text, self.screen.data("ev", record_id, field.name, value))
                       for text, value in field.options(context)]
            back = [(context.t("common.back"), self.screen.data("edit", record_id))]
            await respond(update, context, context.t(self.texts.pick_value, field=label), [*grid(buttons), back])
            return
        self.ask(context, record_id, field.name)
        question = self.texts.ask_list_value if field.listed else self.texts.ask_value
        await respond(update, context, context.t(question, field=label,
                                                 current=self.current(context, record, field.name)), edit=False)

    def picked(self, update: Update) -> tuple[int, str, Any]:
        """The record, field and value of a pressed option (``<prefix>:ev:<id>:<field>:<value>``)."""
        field = self.field(word(update, 1))
        if field.options is None:
            raise DomainError("error.stale_button")
        try:
            return arg(update, 0), field.name, field.parse(word(update, 2))
        except ValueError:
            raise DomainError("error.stale_button") from None
