"""Terminal helpers shared by dothi's commands (a leading underscore keeps Django from listing it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from dothi.core.geo import Progress


@contextmanager
def progress_bar(description: str, stream=None) -> Iterator[Progress | None]:
    """A rich progress bar when the output is a terminal; nothing when it is a pipe, a file or a test."""
    stream = stream or sys.stdout
    if not getattr(stream, "isatty", lambda: False)():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def accounts_table(accounts, stream=None) -> str:
    """The demo accounts as a table: rich on a terminal, plain aligned text otherwise."""
    stream = stream or sys.stdout
    rows = [(a.role, a.sign_in, a.secret, a.name) for a in accounts]
    header = ("role", "sign in with", "password / code", "name")
    if getattr(stream, "isatty", lambda: False)():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header, title="Demo accounts")
        for row in rows:
            table.add_row(*row)
        Console(file=stream).print(table)
        return ""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(["Demo accounts:", *lines])
