"""Errors that services raise and handlers turn into a translated reply.

Each error carries a message key (looked up in the i18n catalogs) and its parameters, so the domain never
formats user-facing text itself and every language gets the same information.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    key = "error.generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key, params)

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a child process (Worker.run_apart), an error comes back pickled; subclasses take other
        # arguments than Exception would pass back, so it is rebuilt from its attributes instead.
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls: type[DomainError], args: tuple[Any, ...], state: dict[str, Any]) -> DomainError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class PermissionDenied(DomainError):
    key = "error.permission_denied"


class NotFound(DomainError):
    """Also raised for records outside the actor's data scope: a user must not learn that they exist."""

    key = "error.not_found"


class ValidationFailed(DomainError):
    key = "error.invalid"


class Conflict(DomainError):
    key = "error.conflict"
