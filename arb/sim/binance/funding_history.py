"""Binance USD-M's funding-rate history on the fake history server (:mod:`arb.sim.funding_history`):
``GET /fapi/v1/exchangeInfo`` and ``GET /fapi/v1/fundingRate``, with the parameters, order, page limits and
error answers Binance documents (see each handler). Its rate limit is HTTP 429 ``-1003`` (the documented
message) with ``Retry-After``, after 500 requests in 5 minutes; its ban HTTP 418."""

from __future__ import annotations

__all__ = ["DIALECT", "BinanceFundingHistory"]

from collections.abc import Mapping

from aiohttp import web

from arb.sim.funding_history import FakeFundingHistoryVenue, FundingHistoryDialect, Handler

_WINDOW_S = 300.0
_WINDOW_LIMIT = 500
_MSG_TOO_MANY = (
    "Too many requests; current limit of IP(127.0.0.1) is 500 requests per 5 minutes. Please use the websocket "
    "for live updates to avoid polling the API."
)


class BinanceFundingHistory(FundingHistoryDialect):
    """USD-M's history: pages of at most 1000, a window of 500 requests per 5 minutes on the server's clock."""

    page = 1000

    def __init__(self, server: FakeFundingHistoryVenue) -> None:
        super().__init__(server)
        self._window: list[float] = []

    def routes(self) -> Mapping[str, Handler]:
        return {"/fapi/v1/exchangeInfo": self._exchange_info, "/fapi/v1/fundingRate": self._funding_rate}

    def banned(self, request: web.Request) -> web.Response:
        self.server.log(request, 418, "banned")
        body = {"code": -1003, "msg": "Way too many requests; IP banned until 1723161600000."}
        return web.json_response(body, status=418, headers={"Retry-After": "120"})

    def rate_limited(self, request: web.Request, wait_s: float) -> web.Response:
        self.server.log(request, 429, "rate_limited")
        return web.json_response(
            {"code": -1003, "msg": _MSG_TOO_MANY}, status=429, headers={"Retry-After": f"{wait_s:g}"}
        )

    async def _exchange_info(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/exchangeInfo``: ``{"timezone":"UTC","serverTime":...,"futuresType":"U_MARGINED",
        "rateLimits":[...],"symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL",
        "status":"TRADING",...}]}``."""
        server = self.server
        if server.faults.banned:
            return await server.fault(request) or web.Response(status=500)
        symbols = [
            {
                "symbol": s,
                "pair": s,
                "contractType": "CURRENT_QUARTER" if s in server.dated else "PERPETUAL",
                "status": "TRADING",
                "baseAsset": s.removesuffix("USDT"),
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
            }
            for s in server.listed()
        ]
        server.log(request, 200, "data")
        return web.json_response(
            {"timezone": "UTC", "serverTime": server.now_ms(), "futuresType": "U_MARGINED",
             "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400}],
             "exchangeFilters": [], "assets": [], "symbols": symbols},
            headers={"x-mbx-used-weight-1m": "1"},
        )  # fmt: skip

    async def _funding_rate(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/fundingRate?symbol=&startTime=&endTime=&limit=``: ascending, both times
        inclusive, ``limit`` default 100 and at most 1000; with ``startTime`` the first ``limit``
        from it, else the last ``limit`` up to ``endTime`` (or now). Entries
        ``{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}``.
        Over 500 requests in 5 minutes: HTTP 429 ``-1003``."""
        server = self.server
        fault = await server.fault(request)
        if fault is not None:
            return fault
        now = server.clock()
        self._window = [t for t in self._window if t > now - _WINDOW_S]
        if len(self._window) >= _WINDOW_LIMIT:
            return self.rate_limited(request, max(1.0, self._window[0] + _WINDOW_S - now))
        self._window.append(now)
        query = request.query
        try:
            start = int(query["startTime"]) if "startTime" in query else None
            end = int(query["endTime"]) if "endTime" in query else server.now_ms()
            limit = int(query.get("limit", "100"))
        except ValueError:
            server.log(request, 400, "error")
            return web.json_response({"code": -1100, "msg": "Illegal characters found in a parameter."}, status=400)
        if not 1 <= limit <= 1000:
            server.log(request, 400, "error")
            body = {"code": -1130, "msg": "Data sent for parameter 'limit' is not valid."}
            return web.json_response(body, status=400)
        symbol = query.get("symbol", "")
        schedule = server.schedules.get(symbol)
        if schedule is None:
            server.log(request, 400, "error")
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = min(limit, server.max_page)
        first = start if start is not None else end - 400 * schedule.interval_ms
        entries = schedule.fundings(first, min(end, server.now_ms()))
        entries = entries[:limit] if start is not None else entries[-limit:]
        rows = [
            {"symbol": symbol, "fundingTime": t, "fundingRate": rate, "markPrice": schedule.mark_price}
            for t, rate in entries
        ]
        server.log(request, 200, "data")
        return web.json_response(rows, headers={"x-mbx-used-weight-1m": "1"})


DIALECT = BinanceFundingHistory
