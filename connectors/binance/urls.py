"""Binance endpoint paths and stream names (hosts come from config/binance.toml)."""

from __future__ import annotations

__all__ = [
    "DEPTH_SNAPSHOT_PATH",
    "EXCHANGE_INFO_PATH",
    "FUNDING_INFO_PATH",
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

FUNDING_INFO_PATH = "/fapi/v1/fundingInfo"
"""USD-M symbols whose funding interval (``fundingIntervalHours``), cap or floor differ from the default."""

FUNDING_RATE_PATH = "/fapi/v1/fundingRate"
"""USD-M funding-rate history (``symbol``, ``startTime``, ``endTime``, ``limit`` up to 1000, ascending)."""


MARK_PRICE_STREAM = "markPrice@1s"
"""USD-M mark price and funding, pushed every second (``markPrice`` alone: every 3 s)."""


def stream_names(
    symbol: str, depth_stream: str, *, trades: bool = True, bbo: bool = True, mark_price: bool = False
) -> list[str]:
    """Combined-stream names for one symbol, e.g. ``["btcusdt@depth@100ms", "btcusdt@trade", ...]``;
    ``mark_price`` (USD-M only) adds ``btcusdt@markPrice@1s``."""
    wanted = ((depth_stream, True), ("trade", trades), ("bookTicker", bbo), (MARK_PRICE_STREAM, mark_price))
    return [f"{symbol.lower()}@{stream}" for stream, on in wanted if on]


_SNAPSHOT_WEIGHTS: dict[str, tuple[tuple[int | None, int], ...]] = {
    "spot": ((100, 5), (500, 25), (1000, 50), (None, 250)),
    "linear": ((50, 2), (100, 5), (500, 10), (None, 20)),
}
"""Request weight of one depth snapshot per market, as Binance documents it: ``(largest limit, weight)``
steps in ascending order, the last (``None``) for any larger limit."""


def depth_snapshot_weight(market: str, limit: int) -> int:
    """Request weight of one depth snapshot, as Binance documents it for each limit (a market other
    than spot is priced as USD-M)."""
    steps = _SNAPSHOT_WEIGHTS["spot" if market == "spot" else "linear"]
    return next(weight for most, weight in steps if most is None or limit <= most)
