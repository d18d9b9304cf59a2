"""What ``arb fetch`` offers on its command line, apart from the downloads themselves.

The command's parser names these choices; :mod:`arb.recording.fetch` (aiohttp, the Tardis reader, Numba) is
loaded only when a fetch runs, so ``arb fetch --help`` and a mistyped option answer at once. The venues and
their archives are read from the venues' facts (:mod:`arb.catalog`), not from their code.
"""

from __future__ import annotations

__all__ = ["BOOKS", "KEY_VARIABLE", "archive_sources", "sources", "venues"]

from arb.catalog import known_venues, venue_catalog

KEY_VARIABLE = "TARDIS_API_KEY"
"""The environment variable that holds a Tardis.dev API key (only the first day of each month is free)."""

BOOKS = {"l2": "incremental_book_L2", "snapshot25": "book_snapshot_25", "snapshot5": "book_snapshot_5"}
"""``--book``: the Tardis data type each choice fetches for the book, the default first. ``l2`` is every
update of every level (what a backtest needs); ``snapshot25`` and ``snapshot5`` the top 25 or 5 levels a side
after each change among them (what a scan of top of book and depth needs, at a fraction of the size)."""


def archive_sources() -> dict[str, str]:
    """Each venue's own archive as a source (``<venue>-archive``), by source name: its venue."""
    return {f"{name}-archive": name for name, facts in venue_catalog().items() if facts.archives}


def sources() -> tuple[str, ...]:
    """The history sources, the default first: Tardis.dev, then each venue's archive."""
    return ("tardis", *archive_sources())


def venues() -> tuple[str, ...]:
    """The venues history can be fetched for."""
    return known_venues()
