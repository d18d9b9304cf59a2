"""Bybit v5 funding-rate history over REST: ``GET /v5/market/funding/history``, paginated backwards.

What Bybit documents ("Get Funding Rate History", bybit-exchange.github.io/docs/v5/market/history-fund-rate):
``category`` (``linear``), ``symbol``, ``startTime`` and ``endTime`` (ms; ``startTime`` alone is an
error), ``limit`` 1-200 (default 200); entries newest first. A full page is followed by the one
ending just before its oldest entry, as ccxt 4.5.90's ``bybit.fetch_funding_rate_history`` pages
(``paginationDirection`` ``backward``, ``until`` = oldest - 1). Public GET requests are limited per
IP (Bybit's "Rate Limit" page); requests are spaced 50 ms apart. Rate limiting is answered two ways:
``retCode`` ``10006`` ("Too many visits!") waits until ``X-Bapi-Limit-Reset-Timestamp`` (1 s when
absent), and HTTP 403, an IP ban of 10 minutes or more, is fatal.

Whether the symbol is a linear perpetual is checked first, with
``GET /v5/market/instruments-info?category=linear&symbol=...`` (an unknown symbol is an empty list).
"""

from __future__ import annotations

__all__ = ["FUNDING_MIN_INTERVAL_NS", "HISTORY", "BybitFundingHistoryClient", "classify"]

import logging
from typing import Final

import msgspec

from arb.events import NS_PER_MS, NS_PER_S
from connectors.bybit.messages import BybitFundingHistory, BybitInstruments, BybitRestHead
from connectors.bybit.urls import FUNDING_HISTORY_PATH, INSTRUMENTS_PATH
from connectors.common.history import Answer, FundingRecord, VenueFundingHistory, Verdict, ms_span

log = logging.getLogger(__name__)

FUNDING_MIN_INTERVAL_NS: Final = 50_000_000
"""At most 20 requests a second, well inside Bybit's per-IP limit for GET requests."""
_TOO_MANY_VISITS: Final = 10006
_PASSING: Final = frozenset({10000, 10016})  # "Server timeout", "Internal system error": try again
_DEFAULT_WAIT_S: Final = 1.0

_head = msgspec.json.Decoder(BybitRestHead, strict=False)
_history = msgspec.json.Decoder(BybitFundingHistory, strict=False)
_instruments = msgspec.json.Decoder(BybitInstruments, strict=False)


def classify(answer: Answer) -> Verdict:
    """Bybit's REST answers: HTTP 200 with ``retCode`` 0 is data; ``10006`` waits until
    ``X-Bapi-Limit-Reset-Timestamp``; ``10000``/``10016`` (server timeout, internal error), 5xx and
    408 are retried, and so is an undecodable 200; HTTP 403 (IP rate limit ban) and any other
    ``retCode`` are fatal, with Bybit's message."""
    status = answer.status
    text = answer.body[:300].decode("utf-8", "replace")
    if status == 403:
        return Verdict.fatal(
            f"HTTP 403: Bybit banned this IP for exceeding its rate limit ({text}); it lasts 10 minutes or "
            "more, and further requests prolong it"
        )
    if status >= 500 or status == 408:
        return Verdict.retry(f"HTTP {status}: {text}")
    if status != 200:
        return Verdict.fatal(f"HTTP {status}: {text}")
    try:
        head = _head.decode(answer.body)
    except msgspec.DecodeError as exc:
        return Verdict.retry(f"undecodable body ({exc}): {text[:200]}")
    code = head.ret_code
    if code == 0:
        return Verdict.ok()
    if code == _TOO_MANY_VISITS:
        reset_ms = _integer(answer.headers.get("X-Bapi-Limit-Reset-Timestamp"))
        wait_s = _DEFAULT_WAIT_S if reset_ms is None else (reset_ms * NS_PER_MS - answer.local_ts) / NS_PER_S
        return Verdict.wait(min(max(wait_s, 0.0), 60.0), f"retCode {code} ({head.ret_msg})")
    if code in _PASSING:
        return Verdict.retry(f"retCode {code}: {head.ret_msg}")
    return Verdict.fatal(f"retCode {code}: {head.ret_msg}")


class BybitFundingHistoryClient(VenueFundingHistory):
    """Funding-rate history of linear symbols from ``rest`` (``endpoints.linear.<network>.rest``)."""

    venue = "bybit"
    path = FUNDING_HISTORY_PATH
    default_page = 200  # Bybit's maximum ``limit``
    classify = staticmethod(classify)

    async def unlisted(self, symbol: str) -> str | None:
        """``None`` when ``symbol`` is a linear perpetual, else why not (from instruments-info:
        ``{"retCode":0,"result":{"category":"linear","list":[{"symbol":"BTCUSDT",
        "contractType":"LinearPerpetual","status":"Trading","fundingInterval":480,...}]}}``)."""
        url = self.rest + INSTRUMENTS_PATH
        result = (await self.get(url, {"category": "linear", "symbol": symbol}, _instruments)).result
        found = next((i for i in (result.entries if result else []) if i.symbol == symbol), None)
        if found is None:
            return f"bybit linear does not list {symbol} (GET {url}?category=linear&symbol={symbol})"
        return self.not_perpetual(symbol, found.contract_type, "LinearPerpetual", "dated")

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[FundingRecord]:
        """Every funding of ``symbol`` with a time in ``[start_ns, end_ns)``, oldest first.

        A page is ``{"retCode":0,"result":{"category":"linear","list":[{"symbol":"BTCUSDT",
        "fundingRate":"0.0001","fundingRateTimestamp":"1709884800000"},...]}}``, newest first.
        """
        start_ms, last_ms = ms_span(start_ns, end_ns)
        url = self.source

        async def page_until(until: int) -> list[tuple[int, str]]:
            params = {
                "category": "linear", "symbol": symbol, "startTime": str(start_ms), "endTime": str(until),
                "limit": str(self.page),
            }  # fmt: skip
            result = (await self.get(url, params, _history)).result
            return [
                (e.funding_time_ms, e.funding_rate) for e in (result.entries if result else []) if e.symbol == symbol
            ]

        def overrun(until: int) -> None:
            log.warning("bybit %s: a full page starting after its endTime %d; stopping", symbol, until)

        return await self.walk_back(start_ms, last_ms, page_until, overrun)


def _integer(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)


HISTORY = BybitFundingHistoryClient
"""The venue's funding-history client (what :mod:`connectors.registry` finds)."""
