"""The in-memory email sender: the one fake of the email port, used by unit tests and the console demo.

It keeps every email it accepted, can be told to fail (``fail_next``), and can call ``on_send`` for
each accepted email (the console demo prints them there). Receipts carry the same Message-ID the
SMTP adapter would use for the same sender domain, so retry behaviour looks the same.

    sender = RecordingEmailSender()
    sender.fail_next(EmailTransientError("451 try later"))
    ...
    email = sender.single()
    assert email.to[0].address == "li.wei@example.com"
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from crm.messaging.ports.email import EmailError, EmailPermanentError, EmailReceipt, OutgoingEmail, message_id_for

__all__ = ["RecordingEmailSender"]

OnSend = Callable[[OutgoingEmail], Awaitable[None] | None]


class RecordingEmailSender:
    def __init__(self, *, domain: str = "crm.invalid", on_send: OnSend | None = None) -> None:
        self.domain = domain
        self.on_send = on_send
        self.sent: list[OutgoingEmail] = []
        self.attempts: list[OutgoingEmail] = []
        self._failures: list[EmailError | None] = []
        self._refuse: set[str] = set()

    # -- scripting -------------------------------------------------------------------------------

    def fail_next(self, *errors: EmailError | None) -> None:
        """The next sends raise these errors in order (``None`` lets that attempt succeed)."""
        self._failures.extend(errors)

    def refuse(self, *addresses: str) -> None:
        """Refuse these recipients like an SMTP server would (the rest still receive the email)."""
        self._refuse.update(a.lower() for a in addresses)

    # -- the port --------------------------------------------------------------------------------

    async def send(self, email: OutgoingEmail) -> EmailReceipt:
        self.attempts.append(email)
        if self._failures:
            error = self._failures.pop(0)
            if error is not None:
                raise error
        refused = tuple(r.address for r in email.to if r.address.lower() in self._refuse)
        if len(refused) == len(email.to):
            raise EmailPermanentError(550, f"recipients refused: {', '.join(refused)}")
        self.sent.append(email)
        if self.on_send is not None:
            result = self.on_send(email)
            if inspect.isawaitable(result):
                await result
        return EmailReceipt(message_id=message_id_for(email.idempotency_key, self.domain), refused_recipients=refused)

    # -- assertions helpers ----------------------------------------------------------------------

    def sent_to(self, address: str) -> list[OutgoingEmail]:
        """Accepted emails with ``address`` among the recipients (case-insensitive)."""
        address = address.lower()
        return [e for e in self.sent if any(r.address.lower() == address for r in e.to)]

    def single(self) -> OutgoingEmail:
        """The one accepted email; fails if there were none or several."""
        assert len(self.sent) == 1, f"expected exactly one email, got {len(self.sent)}: {self.subjects()}"
        return self.sent[0]

    def subjects(self) -> list[str]:
        return [e.subject for e in self.sent]

    def clear(self) -> None:
        self.sent.clear()
        self.attempts.clear()
        self._failures.clear()
        self._refuse.clear()
