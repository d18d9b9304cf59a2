"""Binance endpoint paths and stream names (hosts come from config/binance.toml)."""

from __future__ import annotations

__all__ = [
    "DEPTH_SNAPSHOT_PATH",
    "EXCHANGE_INFO_PATH",
    "FUNDING_RATE_PATH",
    "MARKETS",
    "MARK_PRICE_STREAM",
    "depth_snapshot_weight",
    "stream_names",
]

MARKETS = ("spot", "linear")

DEPTH_SNAPSHOT_PATH = {"spot": "/api/v3/depth", "linear": "/fapi/v1/depth"}
"""REST depth snapshot path per market (spot API, USD-M futures API)."""

EXCHANGE_INFO_PATH = {"spot": "/api/v3/exchangeInfo", "linear": "/fapi/v1/exchangeInfo"}

FUNDING_RATE_PATH = "/fapi/v1/fundingRate"
"""USD-M funding-rate history (``symbol``, ``startTime``, ``endTime``, ``limit`` up to 1000, ascending)."""


MARK_PRICE_STREAM = "markPrice@1s"
"""USD-M mark price and funding, pushed every second (``markPrice`` alone: every 3 s)."""


def stream_names(
    symbol: str, depth_stream: str, *, trades: bool = True, bbo: bool = True, mark_price: bool = False
) -> list[str]:
    """Combined-stream names for one symbol, e.g. ``["btcusdt@depth@100ms", "btcusdt@trade", ...]``;
    ``mark_price`` (USD-M only) adds ``btcusdt@markPrice@1s``."""
    s = symbol.lower()
    names = [f"{s}@{depth_stream}"]
    if trades:
        names.append(f"{s}@trade")
    if bbo:
        names.append(f"{s}@bookTicker")
    if mark_price:
        names.append(f"{s}@{MARK_PRICE_STREAM}")
    return names


def depth_snapshot_weight(market: str, limit: int) -> int:
    """Request weight of one depth snapshot, as Binance documents it for each limit."""
    if market == "spot":
        if limit <= 100:
            return 5
        if limit <= 500:
            return 25
        if limit <= 1000:
            return 50
        return 250
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    if limit <= 500:
        return 10
    return 20
