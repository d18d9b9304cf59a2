"""``--venue VENUE``: one venue of the run, for the commands that can work on one (``arb order``, ``arb
reconcile``, ``arb latency``, ``arb funding-history``).

The parser takes any venue arb knows (:func:`arb.catalog.known_venues`: read from the venue
folders' facts files, so ``arb --help`` loads no connector); once the configuration is loaded,
:func:`venue_numbers` turns the name into the venue's number in the run (``[strategy] venues``), and a
venue arb knows that the run does not trade is a usage error that names the run's.
"""

from __future__ import annotations

__all__ = ["add_venue_option", "venue_numbers"]

import argparse

from arb.catalog import known_venues
from arb.config import AppConfig
from arb.errors import UsageError


def add_venue_option(parser: argparse.ArgumentParser, *, required: bool = False, help_text: str = "") -> None:
    """Add ``--venue VENUE`` (one of the venues arb knows) to ``parser``; ``help_text`` says what it picks
    (default: one venue of the run only, every venue of the run without it)."""
    parser.add_argument(
        "--venue",
        choices=known_venues(),
        required=required,
        metavar="VENUE",
        help=help_text or "one venue of [strategy] venues only (default: every venue of the run)",
    )


def venue_numbers(config: AppConfig, name: str | None, command: str) -> list[int]:
    """The numbers in the run of the venues ``--venue`` picks: ``name``'s alone, or every venue of the run
    (``name`` None). Raises :class:`~arb.errors.UsageError` (exit 2) naming ``command`` and the run's venues
    when the run does not trade ``name``."""
    if name is None:
        return list(range(len(config.venues)))
    if name not in config.venue_names:
        raise UsageError(
            f"{command}: --venue: expected one of [strategy] venues ({', '.join(config.venue_names)}), got {name}"
        )
    return [config.venue_index(name)]
