"""Every venue's market-data feeds for a set of symbols, as many connections as the venues' limits need."""

from __future__ import annotations

__all__ = ["market_data_feeds"]

from collections.abc import Sequence
from typing import Any

from arb.config import AppConfig
from connectors.common.feed import MarketDataFeed
from connectors.registry import venue


def market_data_feeds(config: AppConfig, symbols: Sequence[str] | None = None, **options: Any) -> list[MarketDataFeed]:
    """Each venue's feeds in the run's order, for ``symbols`` (default: every symbol traded): one
    connection per venue while the symbols' streams fit ``[feed] max_streams_per_connection`` (and a URL
    its length, where the subscription travels in it), more when they do not (:meth:`MarketDataFeed.pool`).
    Each feed's batches carry its venue's number in the run. ``options`` go to every feed: a queue and a
    recorder are shared."""
    names = list(symbols if symbols is not None else config.symbol_names)
    feeds: list[MarketDataFeed] = []
    for v, settings in enumerate(config.venues):
        feeds += venue(settings.name).feed.pool(settings, names, venue_id=v, **options)
    return feeds
