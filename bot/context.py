"""A typed CallbackContext, so handlers reach services and translations without casts or dict lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from crm.organisation.permissions import Actor

if TYPE_CHECKING:
    from bot.i18n import Catalogs
    from bot.settings import Settings
    from crm.core.files import ChatFileStore
    from crm.services import Services
    from handlers.core.menu import Command


class CrmContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """One per update. ``actor`` and ``locale`` are filled by the identity handler that runs first."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.actor: Actor | None = None
        self.locale: str = "en"

    @property
    def services(self) -> Services:
        return self.bot_data["services"]  # type: ignore[no-any-return]

    @property
    def i18n(self) -> Catalogs:
        return self.bot_data["i18n"]  # type: ignore[no-any-return]

    @property
    def commands(self) -> Sequence[Command]:
        """The command menu, every module's (bot/modules)."""
        return self.bot_data["commands"]  # type: ignore[no-any-return]

    @property
    def settings(self) -> Settings:
        return self.bot_data["settings"]  # type: ignore[no-any-return]

    @property
    def files(self) -> ChatFileStore:
        """Private copies of files sent in chat, under DATA_DIR (storage/chat_files.py)."""
        return self.bot_data["chat_files"]  # type: ignore[no-any-return]

    def t(self, key: str, /, **params: Any) -> str:
        return self.i18n.t(self.locale, key, **params)
