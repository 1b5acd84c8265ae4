"""Extension points: where a module lets the modules that build on it add something of their own.

The customer card shows what other modules know about a customer (messages sent, later orders and what is
owed); deactivating a person asks every module whether they still own open work. The module that owns the
screen or the rule declares the point; modules that depend on it add to it while the services are wired
(``bot/modules``), so no module reaches into another's repositories and the dependency graph stays acyclic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class ExtensionPoint(Generic[T]):
    def __init__(self) -> None:
        self._items: list[T] = []

    def add(self, item: T) -> None:
        self._items.append(item)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
