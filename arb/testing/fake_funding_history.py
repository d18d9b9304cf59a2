"""A fake REST server of the venues' funding-rate history, for tests of ``arb fetch-funding``.

:class:`FakeFundingHistoryVenue` is an aiohttp server on 127.0.0.1 (port 0) speaking, for
``venue="binance"``, USD-M's ``GET /fapi/v1/exchangeInfo`` and ``GET /fapi/v1/fundingRate``, and for
``venue="bybit"``, v5's ``GET /v5/market/instruments-info`` and ``GET /v5/market/funding/history``,
with the parameters, orders, page limits and error answers the venues document (see each handler),
from :class:`arb.sim.funding.FundingSchedule` per symbol (what the simulated venues announce in their
streams). Faults: :meth:`FakeFundingHistoryVenue.rate_limit` (the venue's rate-limit answer),
:meth:`~FakeFundingHistoryVenue.hang` (a request that gets no answer until the venue closes: the
client's timeout fires)
and :meth:`~FakeFundingHistoryVenue.ban` (Binance 418, Bybit 403). Every request is logged in
:attr:`~FakeFundingHistoryVenue.requests`.

Chosen where the venues' documentation is silent: Bybit's ``retCode`` and text for ``startTime``
without ``endTime`` (``10001`` "params error: endTime is required when startTime is set"), for an
unknown symbol (``10001`` "params error: symbol invalid", as the private fake answers) and for a
category other than linear; Bybit's 403 body (plain text); Binance's 429 text is its documented
``-1003`` message.
"""

from __future__ import annotations

__all__ = ["FakeFundingHistoryVenue", "FundingRequest"]

import asyncio
import json
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from arb.sim.funding import FundingSchedule

_BINANCE_WINDOW_S = 300.0
_BINANCE_WINDOW_LIMIT = 500
_MSG_TOO_MANY = (
    "Too many requests; current limit of IP(127.0.0.1) is 500 requests per 5 minutes. Please use the websocket "
    "for live updates to avoid polling the API."
)


@dataclass(frozen=True, slots=True)
class FundingRequest:
    """One request the history venue got."""

    path: str
    params: dict[str, str]
    status: int
    answer: str
    """``"data"``, ``"rate_limited"``, ``"hung"``, ``"banned"`` or ``"error"``."""


@dataclass
class _Faults:
    rate_limits: int = 0
    wait_s: float = 1.0
    hangs: int = 0
    banned: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakeFundingHistoryVenue:
    """Binance USD-M's or Bybit v5's funding-rate history over REST, from ``schedules`` (by symbol).

    ``clock`` (seconds) is the venue's now: no funding after it is served, and it drives Binance's
    window of 500 requests per 5 minutes and Bybit's reset timestamps. ``page_limit`` lowers the
    venue's maximum page (to make pagination show with few entries); ``delisted`` are perpetuals
    the venue no longer lists.
    """

    def __init__(
        self,
        venue: Literal["binance", "bybit"],
        schedules: Mapping[str, FundingSchedule],
        *,
        clock: Callable[[], float] = time.time,
        page_limit: int | None = None,
        dated: Sequence[str] = (),
        host: str = "127.0.0.1",
    ) -> None:
        if venue not in ("binance", "bybit"):
            raise ValueError(f"venue must be 'binance' or 'bybit', got {venue!r}")
        self.venue = venue
        self.schedules = dict(schedules)
        self.dated = set(dated)
        """Listed symbols that are dated (delivery) contracts, not perpetuals."""
        self.host = host
        self.requests: list[FundingRequest] = []
        self._clock = clock
        self._max_page = page_limit or (1000 if venue == "binance" else 200)
        self._faults = _Faults()
        self._window: list[float] = []
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        if self.venue == "binance":
            app.router.add_get("/fapi/v1/exchangeInfo", self._binance_exchange_info)
            app.router.add_get("/fapi/v1/fundingRate", self._binance_funding_rate)
        else:
            app.router.add_get("/v5/market/instruments-info", self._bybit_instruments)
            app.router.add_get("/v5/market/funding/history", self._bybit_funding_history)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self._port = sock.getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._faults.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:PORT``: what to configure as ``endpoints.linear.<network>.rest``."""
        return f"http://{self.host}:{self._port}"

    # -- faults ----------------------------------------------------------------------------------

    def rate_limit(self, times: int = 1, wait_s: float = 1.0) -> None:
        """Answer the next ``times`` history requests with the venue's rate-limit answer, asking to
        wait ``wait_s``: Binance HTTP 429 ``-1003`` with ``Retry-After``; Bybit ``retCode`` 10006
        "Too many visits!" with ``X-Bapi-Limit-Reset-Timestamp``."""
        self._faults.rate_limits += times
        self._faults.wait_s = wait_s

    def hang(self, times: int = 1) -> None:
        """Hold the next ``times`` history requests without an answer until the venue closes: the
        client's timeout fires."""
        self._faults.hangs += times

    def ban(self) -> None:
        """Answer every request from now on as an IP ban: Binance HTTP 418, Bybit HTTP 403."""
        self._faults.banned = True

    # -- shared ----------------------------------------------------------------------------------

    def _log(self, request: web.Request, status: int, answer: str) -> None:
        self.requests.append(FundingRequest(request.path, dict(request.query), status, answer))

    async def _fault(self, request: web.Request) -> web.Response | None:
        # The scripted fault for a history request, if any: a ban, then rate limits, then hangs.
        faults = self._faults
        if faults.banned:
            self._log(request, 418 if self.venue == "binance" else 403, "banned")
            if self.venue == "binance":
                body = {"code": -1003, "msg": "Way too many requests; IP banned until 1723161600000."}
                return web.json_response(body, status=418, headers={"Retry-After": "120"})
            return web.Response(status=403, text="access too frequent")
        if faults.rate_limits:
            faults.rate_limits -= 1
            return self._rate_limited(request, faults.wait_s)
        if faults.hangs:
            faults.hangs -= 1
            self._log(request, 0, "hung")
            await faults.release.wait()  # the venue is closing (the client gave up long ago)
            return web.Response(status=503, text="venue closing")
        return None

    def _rate_limited(self, request: web.Request, wait_s: float) -> web.Response:
        if self.venue == "binance":
            self._log(request, 429, "rate_limited")
            return web.json_response(
                {"code": -1003, "msg": _MSG_TOO_MANY}, status=429, headers={"Retry-After": f"{wait_s:g}"}
            )
        self._log(request, 200, "rate_limited")
        reset_ms = int((self._clock() + wait_s) * 1000)
        body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": reset_ms}
        return web.json_response(body, headers={"X-Bapi-Limit-Reset-Timestamp": str(reset_ms)})

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _listed(self) -> list[str]:
        return sorted({*self.schedules, *self.dated})

    # -- Binance ---------------------------------------------------------------------------------

    async def _binance_exchange_info(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/exchangeInfo``: ``{"timezone":"UTC","serverTime":...,"futuresType":"U_MARGINED",
        "rateLimits":[...],"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL",
        "status":"TRADING",...}]}``."""
        if self._faults.banned:
            return await self._fault(request) or web.Response(status=500)
        symbols = [
            {
                "symbol": s,
                "pair": s,
                "contractType": "CURRENT_QUARTER" if s in self.dated else "PERPETUAL",
                "status": "TRADING",
                "baseAsset": s.removesuffix("USDT"),
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
            }
            for s in self._listed()
        ]
        self._log(request, 200, "data")
        return web.json_response(
            {"timezone": "UTC", "serverTime": self._now_ms(), "futuresType": "U_MARGINED",
             "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400}],
             "exchangeFilters": [], "assets": [], "symbols": symbols},
            headers={"x-mbx-used-weight-1m": "1"},
        )  # fmt: skip

    async def _binance_funding_rate(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/fundingRate?symbol=&startTime=&endTime=&limit=``: ascending, both times
        inclusive, ``limit`` default 100 and at most 1000; with ``startTime`` the first ``limit``
        from it, else the last ``limit`` up to ``endTime`` (or now). Entries
        ``{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}``.
        Over 500 requests in 5 minutes: HTTP 429 ``-1003``."""
        fault = await self._fault(request)
        if fault is not None:
            return fault
        now = self._clock()
        self._window = [t for t in self._window if t > now - _BINANCE_WINDOW_S]
        if len(self._window) >= _BINANCE_WINDOW_LIMIT:
            return self._rate_limited(request, max(1.0, self._window[0] + _BINANCE_WINDOW_S - now))
        self._window.append(now)
        query = request.query
        try:
            start = int(query["startTime"]) if "startTime" in query else None
            end = int(query["endTime"]) if "endTime" in query else self._now_ms()
            limit = int(query.get("limit", "100"))
        except ValueError:
            self._log(request, 400, "error")
            return web.json_response({"code": -1100, "msg": "Illegal characters found in a parameter."}, status=400)
        if not 1 <= limit <= 1000:
            self._log(request, 400, "error")
            body = {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
            return web.json_response(body, status=400)
        symbol = query.get("symbol", "")
        schedule = self.schedules.get(symbol)
        if schedule is None:
            self._log(request, 400, "error")
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = min(limit, self._max_page)
        first = start if start is not None else end - 400 * schedule.interval_ms
        entries = schedule.fundings(first, min(end, self._now_ms()))
        entries = entries[:limit] if start is not None else entries[-limit:]
        rows = [
            {"symbol": symbol, "fundingTime": t, "fundingRate": rate, "markPrice": schedule.mark_price}
            for t, rate in entries
        ]
        self._log(request, 200, "data")
        return web.json_response(rows, headers={"x-mbx-used-weight-1m": "1"})

    # -- Bybit -----------------------------------------------------------------------------------

    def _bybit(self, result: dict[str, Any], code: int = 0, msg: str = "OK") -> web.Response:
        body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": self._now_ms()}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _bybit_instruments(self, request: web.Request) -> web.Response:
        """``GET /v5/market/instruments-info?category=linear&symbol=``: ``{"retCode":0,"result":{"category":
        "linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading",
        "fundingInterval":480,...}],"nextPageCursor":""}}``; an unknown symbol is an empty list."""
        if self._faults.banned:
            return await self._fault(request) or web.Response(status=500)
        symbol = request.query.get("symbol")
        now_ms = self._now_ms()
        entries = [
            {
                "symbol": s,
                "contractType": "LinearFutures" if s in self.dated else "LinearPerpetual",
                "status": "Trading",
                "baseCoin": s.removesuffix("USDT"),
                "quoteCoin": "USDT",
                "fundingInterval": self.schedules[s].interval_at(now_ms) // 60_000 if s in self.schedules else 0,
                "settleCoin": "USDT",
            }
            for s in self._listed()
            if symbol is None or s == symbol
        ]
        self._log(request, 200, "data")
        return self._bybit({"category": "linear", "list": entries, "nextPageCursor": ""})

    async def _bybit_funding_history(self, request: web.Request) -> web.Response:
        """``GET /v5/market/funding/history?category=linear&symbol=&startTime=&endTime=&limit=``: newest
        first, the newest ``limit`` (1-200, default 200) up to ``endTime`` (or now); ``startTime``
        alone is an error. Entries ``{"symbol":"ETHPERP","fundingRate":"0.0001",
        "fundingRateTimestamp":"1672041600000"}``."""
        fault = await self._fault(request)
        if fault is not None:
            return fault
        query = request.query
        if query.get("category") not in ("linear", "inverse"):
            self._log(request, 200, "error")
            return self._bybit({}, 10001, "params error: category only support linear or inverse")
        if "startTime" in query and "endTime" not in query:
            self._log(request, 200, "error")
            return self._bybit({}, 10001, "params error: endTime is required when startTime is set")
        symbol = query.get("symbol", "")
        schedule = self.schedules.get(symbol)
        if schedule is None:
            self._log(request, 200, "error")
            return self._bybit({}, 10001, "params error: symbol invalid")
        try:
            end = min(int(query.get("endTime", str(self._now_ms()))), self._now_ms())
            start = int(query["startTime"]) if "startTime" in query else end - 400 * schedule.interval_ms
            limit = int(query.get("limit", "200"))
        except ValueError:
            self._log(request, 200, "error")
            return self._bybit({}, 10001, "params error")
        if not 1 <= limit <= 200:
            self._log(request, 200, "error")
            return self._bybit({}, 10001, "params error: limit")
        entries = schedule.fundings(start, end)[::-1][: min(limit, self._max_page)]
        rows = [{"symbol": symbol, "fundingRate": rate, "fundingRateTimestamp": str(t)} for t, rate in entries]
        self._log(request, 200, "data")
        return self._bybit({"category": "linear", "list": rows})
