"""Bybit v5 endpoint paths and topic names (hosts come from config/bybit.toml)."""

from __future__ import annotations

__all__ = ["FUNDING_HISTORY_PATH", "INSTRUMENTS_PATH", "MARKETS", "ORDERBOOK_DEPTHS", "PUBLIC_WS_PATH", "topics"]

MARKETS = ("spot", "linear")

PUBLIC_WS_PATH = {"spot": "/v5/public/spot", "linear": "/v5/public/linear"}

FUNDING_HISTORY_PATH = "/v5/market/funding/history"
"""Funding-rate history (``category``, ``symbol``, ``startTime`` with ``endTime``, ``limit`` up to 200);
newest first."""

INSTRUMENTS_PATH = "/v5/market/instruments-info"

ORDERBOOK_DEPTHS = {"spot": (1, 50, 200, 1000), "linear": (1, 50, 200, 500, 1000)}
"""Order-book depths each market publishes."""


def topics(symbol: str, depth_topic: str, *, trades: bool = True, tickers: bool = True) -> list[str]:
    """Topic names for one symbol, e.g. ``["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", ...]``."""
    wanted = ((depth_topic, True), ("publicTrade", trades), ("tickers", tickers))
    return [f"{topic}.{symbol.upper()}" for topic, on in wanted if on]
