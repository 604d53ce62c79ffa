"""Per-process copies of small, rarely changing data read on every request (the cities, a city's
report categories and routing).

A save or delete in this process clears the copy at once (`clear_on_change` connects the model signals);
other worker processes see a change within `seconds`. Tests clear every copy between tests
(`ProcessMemo.clear_all`), since a rolled-back test sends no signal.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from time import monotonic
from typing import Any, ClassVar

from django.db.models.signals import post_delete, post_save


class ProcessMemo:
    every: ClassVar[list[ProcessMemo]] = []

    def __init__(self, name: str, seconds: float = 10.0) -> None:
        self.name = name
        self.seconds = seconds
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        ProcessMemo.every.append(self)

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        entry = self._entries.get(key)
        now = monotonic()
        if entry is None or now - entry[0] > self.seconds:
            entry = (now, load())
            self._entries[key] = entry
        return entry[1]

    def clear(self, **_signal_kwargs) -> None:
        self._entries.clear()

    def clear_on_change(self, *models) -> None:
        for model in models:
            uid = f"dothi.memo.{self.name}.{model._meta.label_lower}"
            post_save.connect(self.clear, sender=model, dispatch_uid=f"{uid}.save", weak=False)
            post_delete.connect(self.clear, sender=model, dispatch_uid=f"{uid}.delete", weak=False)

    @classmethod
    def clear_all(cls) -> None:
        for memo in cls.every:
            memo.clear()
