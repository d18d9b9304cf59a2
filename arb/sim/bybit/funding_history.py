"""Bybit v5's funding-rate history on the fake history server (:mod:`arb.sim.funding_history`):
``GET /v5/market/instruments-info`` and ``GET /v5/market/funding/history``, with the parameters, order,
page limits and error answers Bybit documents (see each handler). Its rate limit is ``retCode`` 10006
"Too many visits!" with ``X-Bapi-Limit-Reset-Timestamp``; its ban HTTP 403.

Chosen where Bybit's documentation is silent: the ``retCode`` and text for ``startTime`` without
``endTime`` (``10001`` "params error: endTime is required when startTime is set"), for an unknown symbol
(``10001`` "params error: symbol invalid", as the private fake answers) and for a category other than
linear; the 403 body (plain text).
"""

from __future__ import annotations

__all__ = ["DIALECT", "BybitFundingHistory"]

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from arb.sim.funding_history import FundingHistoryDialect, Handler


class BybitFundingHistory(FundingHistoryDialect):
    """v5's history: pages of at most 200, newest first."""

    page = 200

    def routes(self) -> Mapping[str, Handler]:
        return {"/v5/market/instruments-info": self._instruments, "/v5/market/funding/history": self._history}

    def banned(self, request: web.Request) -> web.Response:
        self.server.log(request, 403, "banned")
        return web.Response(status=403, text="access too frequent")

    def rate_limited(self, request: web.Request, wait_s: float) -> web.Response:
        self.server.log(request, 200, "rate_limited")
        reset_ms = int((self.server.clock() + wait_s) * 1000)
        body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": reset_ms}
        return web.json_response(body, headers={"X-Bapi-Limit-Reset-Timestamp": str(reset_ms)})

    def _answer(self, result: dict[str, Any], code: int = 0, msg: str = "OK") -> web.Response:
        body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": self.server.now_ms()}
        return web.Response(text=json.dumps(body), content_type="application/json")

    async def _instruments(self, request: web.Request) -> web.Response:
        """``GET /v5/market/instruments-info?category=linear&symbol=``: ``{"retCode":0,"result":{"category":
        "linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading",
        "fundingInterval":480,...}],"nextPageCursor":""}}``; an unknown symbol is an empty list."""
        server = self.server
        if server.faults.banned:
            return await server.fault(request) or web.Response(status=500)
        symbol = request.query.get("symbol")
        now_ms = server.now_ms()
        entries = [
            {
                "symbol": s,
                "contractType": "LinearFutures" if s in server.dated else "LinearPerpetual",
                "status": "Trading",
                "baseCoin": s.removesuffix("USDT"),
                "quoteCoin": "USDT",
                "fundingInterval": server.schedules[s].interval_at(now_ms) // 60_000 if s in server.schedules else 0,
                "settleCoin": "USDT",
            }
            for s in server.listed()
            if symbol is None or s == symbol
        ]
        server.log(request, 200, "data")
        return self._answer({"category": "linear", "list": entries, "nextPageCursor": ""})

    async def _history(self, request: web.Request) -> web.Response:
        """``GET /v5/market/funding/history?category=linear&symbol=&startTime=&endTime=&limit=``: newest
        first, the newest ``limit`` (1-200, default 200) up to ``endTime`` (or now); ``startTime``
        alone is an error. Entries ``{"symbol":"ETHPERP","fundingRate":"0.0001",
        "fundingRateTimestamp":"1672041600000"}``."""
        server = self.server
        fault = await server.fault(request)
        if fault is not None:
            return fault
        query = request.query
        if query.get("category") not in ("linear", "inverse"):
            server.log(request, 200, "error")
            return self._answer({}, 10001, "params error: category only support linear or inverse")
        if "startTime" in query and "endTime" not in query:
            server.log(request, 200, "error")
            return self._answer({}, 10001, "params error: endTime is required when startTime is set")
        symbol = query.get("symbol", "")
        schedule = server.schedules.get(symbol)
        if schedule is None:
            server.log(request, 200, "error")
            return self._answer({}, 10001, "params error: symbol invalid")
        try:
            end = min(int(query.get("endTime", str(server.now_ms()))), server.now_ms())
            start = int(query["startTime"]) if "startTime" in query else end - 400 * schedule.interval_ms
            limit = int(query.get("limit", "200"))
        except ValueError:
            server.log(request, 200, "error")
            return self._answer({}, 10001, "params error")
        if not 1 <= limit <= 200:
            server.log(request, 200, "error")
            return self._answer({}, 10001, "params error: limit")
        entries = schedule.fundings(start, end)[::-1][: min(limit, server.max_page)]
        rows = [{"symbol": symbol, "fundingRate": rate, "fundingRateTimestamp": str(t)} for t, rate in entries]
        server.log(request, 200, "data")
        return self._answer({"category": "linear", "list": rows})


DIALECT = BybitFundingHistory
