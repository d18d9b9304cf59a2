"""Terminal output helpers: progress bars and tables (rich), kept out of the library code."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["console", "status_and_progress"]

console = Console(stderr=True)
"""Progress and status go to stderr so stdout stays for results."""


@contextlib.contextmanager
def status_and_progress(
    label: str, *, enabled: bool = True
) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """Yield ``(status(text), advance(done, total))``: a bar whose description follows ``status``."""
    if not enabled or not sys.stderr.isatty():
        yield (lambda text: None), (lambda done, total: None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def status(text: str) -> None:
            bar.update(task, description=f"{label}: {text}")

        def advance(done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        yield status, advance
