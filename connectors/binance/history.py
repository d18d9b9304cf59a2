"""Binance USD-M funding-rate history over REST: ``GET /fapi/v1/fundingRate``, paginated and paced.

What Binance documents ("Get Funding Rate History", developers.binance.com, USD-M market data):
``symbol``, ``startTime`` and ``endTime`` (ms, both inclusive), ``limit`` (default 100, max 1000);
entries in ascending order, and when a span holds more than ``limit`` of them, the first ``limit``
from ``startTime``. The endpoint shares a limit of 500 requests per 5 minutes and IP with
``GET /fapi/v1/fundingInfo``: requests are spaced 0.6 s apart, and an HTTP 429 waits ``Retry-After``
seconds (HTTP 418, an IP ban, is fatal: asking again lengthens it). ccxt 4.5.90's
``binanceusdm.fetch_funding_rate_history`` sends the same parameters; arb does not go through ccxt
here because its ``load_markets`` asks for three exchangeInfo documents first and its pagination
and rate limiter sleep on the wall clock, which the tests cannot drive.

Whether the symbol is a USD-M perpetual is checked first, with ``GET /fapi/v1/exchangeInfo``.
"""

from __future__ import annotations

__all__ = ["FUNDING_MIN_INTERVAL_NS", "HISTORY", "BinanceFundingHistoryClient", "classify"]

import logging
from typing import Final

import msgspec

from connectors.binance.messages import BinanceError, BinanceExchangeInfo, BinanceFundingRate
from connectors.binance.urls import EXCHANGE_INFO_PATH, FUNDING_RATE_PATH
from connectors.common.history import Answer, FundingRecord, VenueFundingHistory, Verdict, ms_span, retry_after_s

log = logging.getLogger(__name__)

FUNDING_MIN_INTERVAL_NS: Final = 600_000_000
"""500 requests per 5 minutes, spread evenly: one every 0.6 s."""
_DEFAULT_RETRY_AFTER_S: Final = 60.0
_INVALID_SYMBOL: Final = -1121

_funding = msgspec.json.Decoder(list[BinanceFundingRate], strict=False)
_info = msgspec.json.Decoder(BinanceExchangeInfo, strict=False)
_error = msgspec.json.Decoder(BinanceError, strict=False)


def classify(answer: Answer) -> Verdict:
    """Binance's REST answers: 200 is data; 429 waits ``Retry-After`` (60 s when absent); 418 (IP
    banned) and other 4xx are fatal, with the venue's code and message; 5xx and 408 are retried, and
    so is a 200 whose body does not decode (a truncated answer)."""
    status = answer.status
    text = answer.body[:300].decode("utf-8", "replace")
    if status == 200:
        return Verdict.ok()
    retry_after = retry_after_s(answer.headers.get("Retry-After"))
    if status == 429:
        return Verdict.wait(retry_after if retry_after is not None else _DEFAULT_RETRY_AFTER_S, f"HTTP 429 ({text})")
    if status == 418:
        return Verdict.fatal(
            f"IP banned by Binance (HTTP 418, Retry-After {retry_after} s): {text}; stopping, since further "
            "requests lengthen the ban"
        )
    if status >= 500 or status == 408:
        return Verdict.retry(f"HTTP {status}: {text}")
    try:
        error = _error.decode(answer.body)
    except msgspec.DecodeError:
        return Verdict.fatal(f"HTTP {status}: {text}")
    if error.code == _INVALID_SYMBOL:
        return Verdict.fatal(f"Binance does not know the symbol ({error.code} {error.msg})")
    return Verdict.fatal(f"HTTP {status}, code {error.code}: {error.msg}")


class BinanceFundingHistoryClient(VenueFundingHistory):
    """Funding-rate history of USD-M symbols from ``rest`` (``endpoints.linear.<network>.rest``)."""

    venue = "binance"
    path = FUNDING_RATE_PATH
    default_page = 1000  # Binance's maximum ``limit``
    classify = staticmethod(classify)

    async def unlisted(self, symbol: str) -> str | None:
        """``None`` when ``symbol`` is a USD-M perpetual, else why not (from ``GET /fapi/v1/exchangeInfo``:
        ``{"symbols":[{"symbol":"BTCUSDT","contractType":"PERPETUAL","status":"TRADING",...}]}``)."""
        url = self.rest + EXCHANGE_INFO_PATH["linear"]
        info = await self.get(url, {}, _info)
        found = next((s for s in info.symbols if s.symbol == symbol), None)
        if found is None:
            return f"binance USD-M does not list {symbol} (GET {url})"
        return self.not_perpetual(symbol, found.contract_type, "PERPETUAL", "delivery")

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[FundingRecord]:
        """Every funding of ``symbol`` with a time in ``[start_ns, end_ns)``, oldest first.

        A page is ``[{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,
        "markPrice":"34287.54619963"},...]``; a full page is followed by the next from its last time + 1.
        """
        start_ms, last_ms = ms_span(start_ns, end_ns)
        url = self.source

        async def page_from(since: int) -> list[tuple[int, str, str]]:
            params = {"symbol": symbol, "startTime": str(since), "endTime": str(last_ms), "limit": str(self.page)}
            page = await self.get(url, params, _funding)
            return [(e.funding_time_ms, e.funding_rate, e.mark_price) for e in page if e.symbol == symbol]

        def stall(since: int) -> None:
            log.warning("binance %s: a full page ending before its startTime %d; stopping", symbol, since)

        return await self.walk_forward(start_ms, last_ms, page_from, stall)


HISTORY = BinanceFundingHistoryClient
"""The venue's funding-history client (what :mod:`connectors.registry` finds)."""
