"""Hyperliquid funding history over its info endpoint: ``POST /info {"type":"fundingHistory",...}``, paged
forward by time.

What Hyperliquid documents ("Info endpoint / Perpetuals", "Rate limits"): ``coin``, ``startTime`` (ms,
inclusive), ``endTime`` (ms, inclusive, optional); the entries oldest first, at most 500 a reply (a longer span
is asked again from after the last entry's ``time``), one an hour (funding is hourly, on the hour). The
request weighs 20, plus 1 per 20 entries returned, of 1,200 a minute per IP: a full page is 45, so requests
go at most one every 2.5 s.

Hyperliquid answers HTTP 200 with a JSON list; HTTP 429 waits (``Retry-After`` when it sends one, else 1 s),
5xx and a body that is not JSON are retried, any other status is fatal with the venue's text. Whether the
coin is a perpetual it lists is checked first with ``POST /info {"type":"meta"}``.
"""

from __future__ import annotations

__all__ = ["FUNDING_MIN_INTERVAL_NS", "HISTORY", "HyperliquidFundingHistoryClient", "classify"]

import logging
from typing import Final

import msgspec

from connectors.common.history import Answer, FundingRecord, VenueFundingHistory, Verdict, ms_span, retry_after_s
from connectors.hyperliquid.instruments import listed_coins
from connectors.hyperliquid.messages import HyperliquidFunding
from connectors.hyperliquid.urls import INFO_PATH, coin_of

log = logging.getLogger(__name__)

FUNDING_MIN_INTERVAL_NS: Final = 2_500_000_000
"""One request every 2.5 s: a full page weighs 45 of the 1,200 an IP may spend a minute."""
_DEFAULT_WAIT_S: Final = 1.0

_history = msgspec.json.Decoder(list[HyperliquidFunding])
_any = msgspec.json.Decoder()


def classify(answer: Answer) -> Verdict:
    """HTTP 200 is data (its body checked by the caller's decoder); 429 waits; 5xx and 408 are retried;
    anything else is fatal, with the venue's text."""
    status = answer.status
    text = answer.body[:300].decode("utf-8", "replace")
    if status == 429:
        wait_s = retry_after_s(answer.headers.get("Retry-After"))
        return Verdict.wait(min(wait_s if wait_s is not None else _DEFAULT_WAIT_S, 60.0), f"HTTP 429: {text}")
    if status >= 500 or status == 408:
        return Verdict.retry(f"HTTP {status}: {text}")
    if status == 200:
        return Verdict.ok()
    return Verdict.fatal(f"HTTP {status}: {text}")


class HyperliquidFundingHistoryClient(VenueFundingHistory):
    """Funding history of Hyperliquid's perpetuals from ``rest`` (``endpoints.linear.<network>.rest``);
    symbols are arb's (``BTCUSDT`` is the ``BTC`` perpetual)."""

    venue = "hyperliquid"
    path = INFO_PATH
    default_page = 500  # what one reply holds at most
    classify = staticmethod(classify)

    async def unlisted(self, symbol: str) -> str | None:
        """``None`` when ``symbol``'s coin is a perpetual ``meta`` lists (not delisted), else why not."""
        try:
            coin = coin_of(symbol)
        except ValueError as exc:
            return str(exc)
        answer = await self.getter.get(self.source, {}, lambda a: self._readable(a), body={"type": "meta"})
        try:
            coins = listed_coins(answer.body)
        except ValueError as exc:
            return str(exc)
        if coin not in coins:
            return f'hyperliquid does not list the {coin} perpetual (POST {self.source} {{"type":"meta"}})'
        return None

    def _readable(self, answer: Answer) -> Verdict:
        # classify, and a 200 whose body is not JSON retried (a truncated answer)
        verdict = classify(answer)
        if verdict.kind != "ok":
            return verdict
        try:
            _any.decode(answer.body)
        except msgspec.DecodeError as exc:
            return Verdict.retry(f"undecodable body ({exc})")
        return verdict

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[FundingRecord]:
        """Every funding of ``symbol``'s perpetual with a time in ``[start_ns, end_ns)``, oldest first.

        A page is ``[{"coin":"BTC","fundingRate":"0.0000125","premium":"-0.00021","time":1730160000000},...]``,
        oldest first; the next one starts 1 ms after its last entry."""
        coin = coin_of(symbol)
        start_ms, last_ms = ms_span(start_ns, end_ns)

        async def page_from(since: int) -> list[tuple[int, str, str]]:
            body = {"type": "fundingHistory", "coin": coin, "startTime": since, "endTime": last_ms}
            page = await self.get(self.source, {}, _history, body=body)
            return [(e.time_ms, e.funding_rate, "") for e in page if e.coin == coin]

        def stall(since: int) -> None:
            log.warning("hyperliquid %s: a full page older than its startTime %d; stopping", coin, since)

        return await self.walk_forward(start_ms, last_ms, page_from, stall)


HISTORY = HyperliquidFundingHistoryClient
"""The venue's funding-history client (what :mod:`connectors.registry` finds)."""
