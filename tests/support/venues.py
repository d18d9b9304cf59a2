"""The default run's venue numbers, for tests written for it: a venue's number is its place in
``[strategy] venues``, which is Binance then Bybit when left out (``arb.catalog.default_venues``)."""

from __future__ import annotations

__all__ = ["BINANCE", "BYBIT"]

BINANCE = 0
BYBIT = 1
