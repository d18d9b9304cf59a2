"""Both venues' market-data feeds for a set of symbols, as many connections as the venues' limits need."""

from __future__ import annotations

__all__ = ["market_data_feeds"]

from collections.abc import Sequence
from typing import Any

from arb.config import AppConfig
from connectors.binance.feed import BinanceFeed
from connectors.bybit.feed import BybitFeed
from connectors.common.feed import MarketDataFeed


def market_data_feeds(config: AppConfig, symbols: Sequence[str] | None = None, **options: Any) -> list[MarketDataFeed]:
    """Binance's feeds, then Bybit's, for ``symbols`` (default: every symbol traded): one connection per
    venue while the symbols' streams fit ``[feed] max_streams_per_connection`` (and a Binance URL its
    length), more when they do not (:meth:`MarketDataFeed.pool`). ``options`` go to every feed: a
    queue and a recorder are shared."""
    names = list(symbols if symbols is not None else config.symbol_names)
    return [*BinanceFeed.pool(config.binance, names, **options), *BybitFeed.pool(config.bybit, names, **options)]
