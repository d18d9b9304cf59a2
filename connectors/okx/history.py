"""OKX funding-rate history over REST: ``GET /api/v5/public/funding-rate-history``, paginated backwards.

What OKX documents ("Get funding rate history", docs v5 Public Data): ``instId`` (a swap), ``after``
(records earlier than that funding time, ms), ``before`` (later), ``limit`` up to 100 (the default);
entries newest first, the last three months only; 10 requests per 2 s per IP and instrument. A page
is followed by the one ``after`` its oldest entry. Each entry carries ``fundingRate`` (the predicted
rate as last announced) and ``realizedRate`` (the rate settled): arb records the settled one, the
predicted one where OKX leaves it empty.

OKX answers HTTP 200 with ``code`` ``"0"``; rate limiting is HTTP 429 or ``code`` ``50011`` (waited
out: ``Retry-After`` when OKX sends one, else 1 s); ``50001``, ``50004``, ``50013`` and ``50026`` (OKX
busy, timing out) and HTTP 5xx are retried; any other code (``51001``: no such instrument) is fatal.

Whether the symbol is listed is checked first with ``GET /api/v5/public/instruments?instType=SWAP&instId=``.
"""

from __future__ import annotations

__all__ = ["FUNDING_MIN_INTERVAL_NS", "HISTORY", "OkxFundingHistoryClient", "classify"]

import logging
from typing import Final

import msgspec

from connectors.common.history import Answer, FundingRecord, VenueFundingHistory, Verdict, ms_span, retry_after_s
from connectors.okx.messages import OkxFundingHistory, OkxInstruments, OkxRestHead
from connectors.okx.urls import FUNDING_HISTORY_PATH, INSTRUMENTS_PATH, inst_id

log = logging.getLogger(__name__)

FUNDING_MIN_INTERVAL_NS: Final = 250_000_000
"""At most 4 requests a second, inside OKX's 10 per 2 s per IP and instrument."""
_RATE_LIMITED: Final = "50011"
_PASSING: Final = frozenset({"50001", "50004", "50013", "50026"})
_NO_INSTRUMENT: Final = "51001"
_DEFAULT_WAIT_S: Final = 1.0

_head = msgspec.json.Decoder(OkxRestHead, strict=False)
_history = msgspec.json.Decoder(OkxFundingHistory, strict=False)
_instruments = msgspec.json.Decoder(OkxInstruments, strict=False)


def classify(answer: Answer) -> Verdict:
    """OKX's REST answers: HTTP 200 with ``code`` ``"0"`` is data; HTTP 429 or ``50011`` waits;
    5xx, 408, the passing codes and an undecodable body are retried; anything else is fatal, with OKX's
    message."""
    status = answer.status
    text = answer.body[:300].decode("utf-8", "replace")
    try:
        head = _head.decode(answer.body)
    except msgspec.DecodeError:
        head = None
    code = str(head.code) if head is not None else None
    if status == 429 or code == _RATE_LIMITED:
        wait_s = retry_after_s(answer.headers.get("Retry-After"))
        return Verdict.wait(min(wait_s if wait_s is not None else _DEFAULT_WAIT_S, 60.0), f"HTTP {status}: {text}")
    if status >= 500 or status == 408 or code in _PASSING:
        return Verdict.retry(f"HTTP {status}: {text}")
    if head is None:
        if status == 200:
            return Verdict.retry(f"undecodable body: {text[:200]}")
        return Verdict.fatal(f"HTTP {status}: {text}")
    if status == 200 and code == "0":
        return Verdict.ok()
    return Verdict.fatal(f"HTTP {status}, code {code}: {head.msg}")


def _listing(answer: Answer) -> Verdict:
    # An unknown instrument is an answer here, not a failure.
    verdict = classify(answer)
    if verdict.kind == "fatal" and _NO_INSTRUMENT in verdict.why:
        return Verdict.ok()
    return verdict


class OkxFundingHistoryClient(VenueFundingHistory):
    """Funding-rate history of USDT swaps from ``rest`` (``endpoints.linear.<network>.rest``); symbols are
    arb's (``BTCUSDT`` is ``BTC-USDT-SWAP``)."""

    venue = "okx"
    path = FUNDING_HISTORY_PATH
    default_page = 100  # OKX's maximum ``limit``
    classify = staticmethod(classify)

    async def unlisted(self, symbol: str) -> str | None:
        """``None`` when ``symbol``'s swap is listed, else why not (from the instruments list:
        ``{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01",
        "state":"live",...}]}``; an unknown one is ``{"code":"51001","msg":"Instrument ID doesn't exist.",
        "data":[]}``)."""
        instrument = inst_id(symbol, "linear")
        url = self.rest + INSTRUMENTS_PATH
        params = {"instType": "SWAP", "instId": instrument}
        answer = await self.getter.get(url, params, _listing)
        try:
            listed = _instruments.decode(answer.body)
        except msgspec.DecodeError:
            listed = None
        if listed is None or str(listed.code) != "0" or not any(e.inst_id == instrument for e in listed.data):
            return f"okx does not list {instrument} (GET {url}?instType=SWAP&instId={instrument})"
        return None

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[FundingRecord]:
        """Every settled funding of ``symbol``'s swap with a time in ``[start_ns, end_ns)``, oldest first.

        A page is ``{"code":"0","msg":"","data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP",
        "fundingRate":"0.0001515032","realizedRate":"0.00015","fundingTime":"1704067200000"},...]}``,
        newest first.
        """
        instrument = inst_id(symbol, "linear")
        start_ms, last_ms = ms_span(start_ns, end_ns)
        url = self.source

        async def page_until(until: int) -> list[tuple[int, str]]:
            params = {"instId": instrument, "after": str(until + 1), "limit": str(self.page)}
            page = (await self.get(url, params, _history)).data
            return [(e.funding_time_ms, e.realized_rate or e.funding_rate) for e in page if e.inst_id == instrument]

        def overrun(until: int) -> None:
            log.warning("okx %s: a full page after its 'after' bound %d; stopping", instrument, until + 1)

        return await self.walk_back(start_ms, last_ms, page_until, overrun)


HISTORY = OkxFundingHistoryClient
"""The venue's funding-history client (what :mod:`connectors.registry` finds)."""
