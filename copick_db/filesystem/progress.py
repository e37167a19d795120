"""A rich progress bar on stderr, or nothing when progress is off (rich is imported only when a bar is shown)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress_bar"]


def _console() -> Any:
    """The console progress bars are drawn on: stderr."""
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_bar(enabled: bool, description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A function advancing a progress bar by ``n`` steps (a no-op when ``enabled`` is False).

    Args:
        enabled: Show the bar.
        description: What is being done.
        total: Steps to do.
    """
    if not enabled:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console(), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
