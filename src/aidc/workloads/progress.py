"""Rich progress bars for long loops, silent when no console is given (tests, --json)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, console: Any = None, total: int | None = None) -> Iterator[T]:
    """Iterate with a transient progress bar on `console` (a rich Console), or plainly without one."""
    if console is None:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)
