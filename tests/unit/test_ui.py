"""Output a person can read: log lines and the progress bar share one console, so a log line is
written above the bar on a line of its own; ``arb --help`` says what ``arb live`` is."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from rich.console import Console

from arb import ui
from arb.cli import _setup_logging, main

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """arb's console replaced by a terminal writing into a buffer, and arb's logging set up on it."""
    screen = io.StringIO()
    monkeypatch.setattr(ui, "console", Console(file=screen, force_terminal=True, width=100, color_system=None))
    monkeypatch.setattr(logging.root, "handlers", [])  # pytest's own handlers come back afterwards
    level = logging.root.level
    _setup_logging(0, False)
    try:
        yield screen
    finally:
        logging.root.setLevel(level)


def _lines(screen: str) -> list[str]:
    # What a terminal shows line by line: control sequences dropped, \r starts the line again.
    return [segment for line in _CONTROL.sub("", screen).split("\n") for segment in line.split("\r")]


def test_a_log_line_during_a_progress_bar_is_a_line_of_its_own(terminal: io.StringIO) -> None:
    message = "a warning while the bar is drawn"
    with ui.status_and_progress("converting") as (status, advance):
        advance(3, 10)
        logging.getLogger("arb.test").warning(message)
        status("still converting")
        advance(6, 10)
    lines = _lines(terminal.getvalue())
    assert any("converting" in line and "%" in line for line in lines)  # the bar was drawn
    [logged] = [line for line in lines if message in line]
    assert re.fullmatch(rf"\d\d:\d\d:\d\d W arb\.test: {message}\s*", logged)


def test_log_text_is_printed_as_it_is(terminal: io.StringIO) -> None:
    logging.getLogger("arb.test").warning("[bold]not markup[/] :smile: %s", "[1, 2]")
    assert "[bold]not markup[/] :smile: [1, 2]" in terminal.getvalue()


def test_help_describes_arb_live_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "live trade the strategy with real orders" in text
    assert "testnet unless --mainnet" in text and "reconciled with the journal" in text
    assert "not built" not in text and "not yet" not in text
