"""Strategies chosen by data through a small registry (OTP senders, identity verifiers, notification
channels). A deployment adds one by registering a class under a name, or by a dotted path in settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from django.utils.module_loading import import_string

T = TypeVar("T")


class StrategyRegistry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[], T]] = {}

    def register(self, name: str) -> Callable[[Callable[[], T]], Callable[[], T]]:
        def decorator(factory: Callable[[], T]) -> Callable[[], T]:
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> T:
        """An instance of the strategy `name`, or of the class at dotted path `name`."""
        factory = self._factories.get(name)
        if factory is None:
            if "." not in name:
                raise LookupError(f"No {self.kind} named {name!r}; known: {', '.join(self.names())}")
            factory = import_string(name)
        return factory()
