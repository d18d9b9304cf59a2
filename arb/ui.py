"""Terminal output helpers: progress bars and tables (rich), kept out of the library code.

``console`` is rich's console on stderr (progress, status and log lines go there, so stdout stays for
results). It is made, and rich imported (~30 ms), the first time something is drawn or logged: a quiet
batch command (``arb -q convert``) never pays for it.
"""

from __future__ import annotations

__all__ = ["ConsoleLogHandler", "console", "download_progress", "status_and_progress"]

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    console: Console


def _screen() -> Console:
    # The module's console, made on first use (a test may have set its own as ``console``).
    made: Console | None = globals().get("console")
    if made is None:
        from rich.console import Console

        made = globals()["console"] = Console(stderr=True)
    return made


def __getattr__(name: str) -> Any:
    if name == "console":
        return _screen()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ConsoleLogHandler(logging.Handler):
    """Log records printed through a rich console: the one the progress bar draws on, so a log line
    is written above the bar, on its own line, never glued to it (``arb`` installs it on the root
    logger with its usual format)."""

    def __init__(self, target: Console | None = None) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        """Print the formatted record as it is (no markup, no highlighting, no wrapping)."""
        try:
            text = self.format(record)
            (self.target or _screen()).print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging's own rule: a failing handler reports, never raises
            self.handleError(record)


@contextlib.contextmanager
def status_and_progress(
    label: str, *, enabled: bool = True
) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """Yield ``(status(text), advance(done, total))``: a bar whose description follows ``status``."""
    if not enabled:
        yield (lambda text: None), (lambda done, total: None)
        return
    console = _screen()
    if not console.is_terminal:
        yield (lambda text: None), (lambda done, total: None)
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

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


@contextlib.contextmanager
def download_progress(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """Yield ``advance(bytes done, bytes expected)``: a bar with the bytes, the speed and the time left."""
    console = _screen() if enabled else None
    if console is None or not console.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield advance
