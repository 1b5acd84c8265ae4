"""Asking for input across several steps: one "awaiting" record per user, and the rules every flow shares.

The record lives in ``user_data`` (persisted), so a restart in the middle of a flow resumes at the same question.
It says what the bot waits for (typed text, or a press of one of its own buttons), until when, and which drafts
in ``user_data`` belong to the flow. ``handlers.core.text`` applies the rules (docs/input-flows.md):

* text typed where a button press is expected never becomes data: the user is asked to press a button;
* a flow left alone longer than ``FLOW_TIMEOUT_MINUTES`` ends quietly (drafts dropped) and the next message
  is treated as new;
* any command leaves the flow; /cancel ends it on every step.

A flow registers one handler per kind for typed answers (``on_text``) and, optionally, one for text at a button
step (``on_stray``, e.g. to show the question again) and one for other messages (``on_message``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from telegram import Update

from bot.context import CrmContext

FlowHandler = Callable[[Update, CrmContext], Awaitable[Any]]
Expects = Literal["text", "button"]

AWAITING_KEY = "awaiting"
LEGACY_KEY = "pending"  # before the awaiting record: no expiry, so it is dropped when seen
DEFAULT_TIMEOUT = timedelta(minutes=30)

_text: dict[str, FlowHandler] = {}
_stray: dict[str, FlowHandler] = {}
_message: dict[str, FlowHandler] = {}


@dataclass(frozen=True)
class Awaiting:
    """What the bot waits for from one user. ``data`` is the flow's own (ids, the field being edited...)."""

    kind: str
    expects: Expects
    started_at: datetime
    expires_at: datetime
    step: str | None = None
    buttons: tuple[str, ...] = ()  # callback data prefixes that answer a button step
    owns: tuple[str, ...] = ()  # user_data keys holding this flow's draft: dropped when the flow is abandoned
    document: bool = False  # a file is an answer too
    data: dict[str, Any] = field(default_factory=dict)

    def accepts(self, callback_data: str | None) -> bool:
        return bool(callback_data) and any(str(callback_data).startswith(p) for p in self.buttons)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "expects": self.expects, "started_at": self.started_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "step": self.step, "buttons": list(self.buttons),
                "owns": list(self.owns), "document": self.document, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, raw: Any) -> Awaiting | None:
        if not isinstance(raw, dict):
            return None
        try:
            expects: Expects = "button" if raw.get("expects") == "button" else "text"
            return cls(kind=str(raw["kind"]), expects=expects,
                       started_at=datetime.fromisoformat(str(raw["started_at"])),
                       expires_at=datetime.fromisoformat(str(raw["expires_at"])),
                       step=str(raw["step"]) if raw.get("step") is not None else None,
                       buttons=tuple(str(b) for b in raw.get("buttons") or ()),
                       owns=tuple(str(k) for k in raw.get("owns") or ()), document=bool(raw.get("document")),
                       data=dict(raw.get("data") or {}))
        except (KeyError, TypeError, ValueError):
            return None


# ---- registering a flow's handlers ---------------------------------------------------------------------------

def _register(table: dict[str, FlowHandler], kind: str) -> Callable[[FlowHandler], FlowHandler]:
    def decorate(func: FlowHandler) -> FlowHandler:
        table[kind] = func
        return func

    return decorate


def on_text(kind: str) -> Callable[[FlowHandler], FlowHandler]:
    """The handler for text typed while ``kind`` waits for text."""
    return _register(_text, kind)


def on_stray(kind: str) -> Callable[[FlowHandler], FlowHandler]:
    """The handler for text typed while ``kind`` waits for a button (default: "please choose a button")."""
    return _register(_stray, kind)


def on_message(kind: str) -> Callable[[FlowHandler], FlowHandler]:
    """The handler for a non-text message (contact, photo...) while ``kind`` waits (default: "send text")."""
    return _register(_message, kind)


def text_handler(kind: str) -> FlowHandler | None:
    return _text.get(kind)


def stray_handler(kind: str) -> FlowHandler | None:
    return _stray.get(kind)


def message_handler(kind: str) -> FlowHandler | None:
    return _message.get(kind)


# ---- asking and ending -------------------------------------------------------------------------------------

def timeout(context: CrmContext) -> timedelta:
    settings = context.bot_data.get("settings")
    minutes = getattr(settings, "flow_timeout_minutes", None)
    return timedelta(minutes=minutes) if minutes else DEFAULT_TIMEOUT


def _family(kind: str) -> str:
    """Kinds of one flow share the part before the first dot: "fu.who" and "fu.when" are both "fu"."""
    return kind.split(".", 1)[0]


def ask(context: CrmContext, kind: str, *, expects: Expects = "text", step: str | None = None,
        buttons: Iterable[str] = (), owns: Iterable[str] = (), document: bool = False, **data: Any) -> None:
    """Wait for the next answer of flow ``kind``; replaces whatever the bot waited for before (latest ask wins).

    The timeout counts from the last question or answer (``touch``); ``started_at`` from the flow's first question.
    """
    if context.user_data is None:
        return
    owns = tuple(owns)
    now = context.services.clock.now()
    previous = Awaiting.from_dict(context.user_data.get(AWAITING_KEY))
    same_flow = previous is not None and _family(previous.kind) == _family(kind)
    if previous is not None and not same_flow:
        # Another flow asked last: the earlier one is over, and its draft must not surface later.
        for key in set(previous.owns) - set(owns):
            context.user_data.pop(key, None)
    started = previous.started_at if previous is not None and same_flow else now
    record = Awaiting(kind=kind, expects=expects, started_at=started, expires_at=now + timeout(context), step=step,
                      buttons=tuple(buttons), owns=tuple(owns), document=document, data=data)
    context.user_data.pop(LEGACY_KEY, None)
    context.user_data[AWAITING_KEY] = record.as_dict()


def current(context: CrmContext) -> Awaiting | None:
    """What the bot waits for now; a timed-out flow is abandoned here, quietly, so it never swallows input."""
    user_data = context.user_data
    if user_data is None:
        return None
    user_data.pop(LEGACY_KEY, None)
    record = Awaiting.from_dict(user_data.get(AWAITING_KEY))
    if record is None:
        user_data.pop(AWAITING_KEY, None)
        return None
    if context.services.clock.now() >= record.expires_at:
        abandon(context)
        return None
    return record


def touch(context: CrmContext) -> None:
    """The user answered (rightly or not): the flow is alive, so its timeout counts from now."""
    record = current(context)
    if record is not None and context.user_data is not None:
        expires = context.services.clock.now() + timeout(context)
        context.user_data[AWAITING_KEY] = {**record.as_dict(), "expires_at": expires.isoformat()}


def end(context: CrmContext) -> dict[str, Any] | None:
    """The flow is done (its handler saved or dropped its draft): stop waiting. Returns what was waited for."""
    if context.user_data is None:
        return None
    record = Awaiting.from_dict(context.user_data.pop(AWAITING_KEY, None))
    context.user_data.pop(LEGACY_KEY, None)
    return {"kind": record.kind, **record.data} if record is not None else None


def abandon(context: CrmContext) -> Awaiting | None:
    """Cancelled, timed out or left for a command: stop waiting and drop the flow's drafts."""
    if context.user_data is None:
        return None
    record = Awaiting.from_dict(context.user_data.pop(AWAITING_KEY, None))
    context.user_data.pop(LEGACY_KEY, None)
    if record is not None:
        for key in record.owns:
            context.user_data.pop(key, None)
    return record


def pending(context: CrmContext) -> dict[str, Any]:
    """The live record as ``{"kind": ..., **data}`` (empty when nothing is awaited)."""
    record = current(context)
    return {"kind": record.kind, **record.data} if record is not None else {}
