"""The in-memory fax sender: the one fake of the fax port, for unit tests and the console demo.

fax = RecordingFaxSender()
fax.fail_next(FaxTransientError("gateway busy", status=503))
...
assert fax.single().to == "+886212345678"
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from crm.messaging.ports.fax import FaxError, FaxReceipt, OutgoingFax

__all__ = ["RecordingFaxSender"]

OnSend = Callable[[OutgoingFax], Awaitable[None] | None]


class RecordingFaxSender:
    def __init__(self, *, on_send: OnSend | None = None) -> None:
        self.on_send = on_send
        self.sent: list[OutgoingFax] = []
        self.attempts: list[OutgoingFax] = []
        self._failures: list[FaxError | None] = []

    def fail_next(self, *errors: FaxError | None) -> None:
        """The next sends raise these errors in order (``None`` lets that attempt succeed)."""
        self._failures.extend(errors)

    async def send(self, fax: OutgoingFax) -> FaxReceipt:
        self.attempts.append(fax)
        if self._failures:
            error = self._failures.pop(0)
            if error is not None:
                raise error
        self.sent.append(fax)
        if self.on_send is not None:
            result = self.on_send(fax)
            if inspect.isawaitable(result):
                await result
        return FaxReceipt(provider_id=f"fake-fax-{len(self.sent)}")

    def sent_to(self, number: str) -> list[OutgoingFax]:
        return [f for f in self.sent if f.to == number]

    def single(self) -> OutgoingFax:
        """The one accepted fax; fails if there were none or several."""
        assert len(self.sent) == 1, f"expected exactly one fax, got {len(self.sent)}"
        return self.sent[0]

    def clear(self) -> None:
        self.sent.clear()
        self.attempts.clear()
        self._failures.clear()
