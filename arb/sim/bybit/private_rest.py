"""The fake private Bybit's REST dispatch: IP bans, scripted faults, per-UID rate limits,
authentication (``X-BAPI-API-KEY`` and the HMAC ``X-BAPI-SIGN``) and order faults, in front of the
endpoint handlers (:mod:`.orders`, :mod:`.accounts`, DCP's in :mod:`.user_stream`, and the public
market handlers here: :class:`BybitMarketEndpoints`).

:class:`BybitRest` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`: an aiohttp handler
(:meth:`BybitRest.serve`) for every path of its endpoint table, usable on an application of its own.
"""

from __future__ import annotations

__all__ = ["BybitMarketEndpoints", "BybitRest", "stale"]

import hmac
import json
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, Unpack

from aiohttp import web

from arb.sim.bybit.calls import (
    HTTP_TEXT,
    MSG_BAN,
    MSG_SYSTEM,
    MSG_TOO_MANY,
    Call,
    Endpoint,
    Reply,
    api_error,
    category_refusal,
    foreign_symbol,
    page_of,
    param_text,
)
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import rest_signature, timestamp_error
from arb.sim.bybit.wire_account import instrument_entry
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault, RestFault
from arb.sim.ledger import LedgerAccount, SymbolRules
from arb.sim.private import OrderDesk, encode
from arb.sim.rest_server import PrivateRest, RestHooks
from arb.sim.venue import BookView


def stale(timestamp: str, recv_window: str, now: float) -> Reply | None:
    """Bybit's 10002 unless ``server - recv_window <= timestamp < server + 1000`` (ms), for a REST
    request's ``X-BAPI-TIMESTAMP``/``X-BAPI-RECV-WINDOW`` headers and an order-entry request's alike."""
    server_ms = int(now * 1000)
    try:
        ts_ms, window_ms = int(timestamp), int(recv_window)
    except ValueError:
        return api_error(10002, timestamp_error(timestamp, server_ms, recv_window))
    if not server_ms - window_ms <= ts_ms < server_ms + 1000:
        return api_error(10002, timestamp_error(timestamp, server_ms, recv_window))
    return None


class BybitRest(PrivateRest[str, Endpoint]):
    """Serves ``endpoints`` (by path) for ``desk``'s ledger, with ``views``' UIDs.

    ``rate_limits``: requests per second per UID and path (50 for a path not named); ``ip_limit``
    ``(requests, seconds)``: past it the IP is banned (``desk``'s ban) for ``ip_ban_s``. ``begin`` awaits a
    request's way in (the plan's ``rest_hold``), ``tick`` what is due before it is served (DCP, events),
    ``log`` records its answer ``(request, status, weight)``; ``record`` appends a fault that landed.
    """

    def __init__(
        self,
        desk: OrderDesk,
        views: BybitViews,
        faults: FaultPlan,
        endpoints: Mapping[str, Endpoint],
        *,
        rate_limits: Mapping[str, int],
        ip_limit: tuple[int, float] | None = (600, 5.0),
        ip_ban_s: float = 600.0,
        **hooks: Unpack[RestHooks],
    ) -> None:
        super().__init__(desk, faults, endpoints, **hooks)
        self.views = views
        self._rate_limits = dict(rate_limits)
        self._ip_limit = ip_limit
        self._ip_ban_s = ip_ban_s
        self._ip_hits: deque[float] = deque()
        self._uid_hits: dict[tuple[int, str], deque[float]] = {}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def endpoint_key(self, request: web.Request) -> str:
        """The key of ``request``'s endpoint: its path (each path is served for one method)."""
        return request.path

    def route(self, key: str, endpoint: Endpoint) -> tuple[str, str]:
        """The ``(method, path)`` an endpoint is routed by: its method, and its key, the path."""
        return endpoint.method, key

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST call: hold, ban, scripted faults, auth, rate limit, order faults, handler."""
        endpoint, now = await self.opening(request)
        if (refused := self._ip_refusal(now)) is not None:
            self._log_rest(request, refused.status, 0)
            return refused
        body = await request.text() if request.method == "POST" else ""
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            return self._rest_fault(request, fault)
        headers = {"Timenow": str(int(now * 1000))}
        account: LedgerAccount | None = None
        if endpoint.private:
            account, refusal = self._authenticate(request, body, now)
            if refusal is not None:
                return self._respond(request, refusal, headers)
            assert account is not None
            over = self.charge(account, request.path, now, headers)
            if over:
                return self._respond(request, api_error(10006, MSG_TOO_MANY), headers)
        try:
            params = self._params(request, body)
        except ValueError:
            return self._respond(request, api_error(10001, "Request parameter error."), headers)
        call = Call(params, account, int(now * 1000))
        return await self.dispatch(
            request, call, partial(self.run, endpoint, call), operation=endpoint.operation,
            faulted=(endpoint.operation or "any") if endpoint.private else None,
            answer=lambda reply: self._respond(request, reply, headers),
            refuse=lambda fault: self._refused(request, fault, headers),
        )  # fmt: skip

    def run(self, endpoint: Endpoint, call: Call) -> Reply:
        """The handler's reply to ``call``."""
        return endpoint.handler(call)

    def _refused(self, request: web.Request, fault: OrderFault, headers: dict[str, str]) -> web.StreamResponse:
        """Bybit's refusal under an order fault (the request acted on before, ``processed``, or not at all)."""
        status = fault.status or 200
        if status == 200 or fault.code is not None:
            code = fault.code if fault.code is not None else 10016
            return self._respond(request, api_error(code, fault.msg or MSG_SYSTEM), headers, status=status)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        self._log_rest(request, status, 0)
        text = fault.msg or ("Service Unavailable" if status == 503 else "Internal Server Error")
        return web.Response(status=status, text=text, headers=headers)

    def _ip_refusal(self, now: float) -> web.Response | None:
        """HTTP 403 while the IP is banned; past the IP limit the ban starts (v5 "Rate Limit Rules")."""
        if self._ip_limit is not None:
            count, window = self._ip_limit
            while self._ip_hits and self._ip_hits[0] <= now - window:
                self._ip_hits.popleft()
            self._ip_hits.append(now)
            if len(self._ip_hits) > count and not self.desk.banned:
                until = self.desk.ban_until = now + self._ip_ban_s
                self._record(AppliedFault(FaultKind.BAN, detail=f"IP limit {count}/{window}s: until {until}"))
        if self.desk.ban_until is None or now >= self.desk.ban_until:
            return None
        return web.Response(status=403, text=MSG_BAN, content_type="text/plain")

    def _rest_fault(self, request: web.Request, fault: RestFault) -> web.Response:
        return self.scripted_fault(request, fault, self._empty_list, self._fault_body)

    def _empty_list(self) -> bytes:
        return encode(self._envelope(Reply(result={"list": []}), self._now_ms()))

    def _fault_body(self, fault: RestFault) -> bytes:
        """A scripted error's body: Bybit's JSON for ``fault.code``, else the text of the HTTP status."""
        if fault.code is not None:
            return encode(self._envelope(api_error(fault.code, fault.msg or ""), self._now_ms()))
        return (fault.msg or HTTP_TEXT.get(fault.status, "Service Unavailable")).encode()

    def _authenticate(self, request: web.Request, body: str, now: float) -> tuple[LedgerAccount | None, Reply | None]:
        """The account behind a signed request, or Bybit's refusal (10003, 10002, 10004)."""
        headers = request.headers
        api_key = headers.get("X-BAPI-API-KEY", "")
        account = self.ledger.account_for_key(api_key) if api_key else None
        if account is None:
            return None, api_error(10003, "API key is invalid.")
        timestamp = headers.get("X-BAPI-TIMESTAMP", "")
        recv_window = headers.get("X-BAPI-RECV-WINDOW", "5000")
        if (late := stale(timestamp, recv_window, now)) is not None:
            return None, late
        payload = body if request.method == "POST" else request.rel_url.raw_query_string
        expected = rest_signature(account.api_secret, timestamp, api_key, recv_window, payload)
        if not hmac.compare_digest(headers.get("X-BAPI-SIGN", ""), expected):
            return None, api_error(10004, f"error sign! origin_string[{timestamp}{api_key}{recv_window}{payload}]")
        return account, None

    def charge(self, account: LedgerAccount, path: str, now: float, headers: dict[str, str]) -> bool:
        """Count one request against the UID's per-second limit of ``path``; True when over it."""
        limit = self._rate_limits.get(path, 50)
        hits = self._uid_hits.setdefault((self.views.uid(account.name), path), deque())
        while hits and hits[0] <= now - 1.0:
            hits.popleft()
        over = len(hits) >= limit
        if not over:
            hits.append(now)
        headers["X-Bapi-Limit"] = str(limit)
        headers["X-Bapi-Limit-Status"] = str(max(0, limit - len(hits)))
        reset = (hits[0] + 1.0) if over else now
        headers["X-Bapi-Limit-Reset-Timestamp"] = str(int(reset * 1000))
        return over

    def _params(self, request: web.Request, body: str) -> dict[str, Any]:
        if request.method != "POST":
            return dict(request.query)
        if not body.strip():
            return {}
        parsed = json.loads(body)  # a JSONDecodeError is a ValueError
        if not isinstance(parsed, dict):
            raise ValueError("the body is not a JSON object")
        return parsed

    def _envelope(self, reply: Reply, now_ms: int) -> dict[str, Any]:
        if reply.raw is not None:
            return reply.raw
        return {"retCode": reply.ret_code, "retMsg": reply.ret_msg, "result": reply.result, "retExtInfo": {},
                "time": now_ms}  # fmt: skip

    def _respond(
        self, request: web.Request, reply: Reply, headers: dict[str, str], *, status: int = 200
    ) -> web.Response:
        body = encode(self._envelope(reply, self._now_ms()))
        self._log_rest(request, status, 0)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")


class BybitMarketEndpoints:
    """Bybit's public market handlers: the time, ``ledger``'s instruments, and the venue's book
    (``book``: a symbol's top ``limit`` levels; ``stamps``: its ``(ts, u, seq, cts)``, ``None`` before the
    book has a message; ``symbols``: the symbols the venue knows)."""

    def __init__(
        self,
        views: BybitViews,
        *,
        clock: Callable[[], float],
        max_leverage: Decimal,
        symbols: Callable[[], set[str]],
        book: Callable[[str, int], BookView],
        stamps: Callable[[str], tuple[int, int, int, int] | None],
    ) -> None:
        self.ledger = views.ledger
        self.category = views.category
        self._clock = clock
        self._max_leverage = max_leverage
        self._symbols = symbols
        self._book = book
        self._stamps = stamps

    def endpoints(self) -> dict[str, Endpoint]:
        """The public endpoints, by path."""
        return {
            "/v5/market/time": Endpoint("GET", self._market_time, False, None),
            "/v5/market/instruments-info": Endpoint("GET", self._instruments, False, None),
            "/v5/market/orderbook": Endpoint("GET", self._orderbook, False, None),
        }

    def _market_time(self, call: Call) -> Reply:
        """``GET /v5/market/time`` -> ``{"timeSecond":"1688639403","timeNano":"1688639403423213947"}``."""
        now = self._clock()
        return Reply(result={"timeSecond": str(int(now)), "timeNano": str(int(now * 1_000_000_000))})

    def _instruments(self, call: Call) -> Reply:
        """``GET /v5/market/instruments-info?category=linear&limit=1000``: the venue's instruments.

        Only ``status=Trading`` ones exist (``PreLaunch`` answers an empty list). Linear pages by
        ``limit`` (default 500, max 1000) and ``cursor``/``nextPageCursor``; spot answers all at once.
        """
        category = param_text(call.params, "category")
        if category not in ("spot", "linear", "inverse", "option"):
            return api_error(10001, "Illegal category")
        items: list[SymbolRules] = []
        status = param_text(call.params, "status") or "Trading"
        if category == self.category and status == "Trading":
            symbol = param_text(call.params, "symbol")
            items = [r for s, r in sorted(self.ledger.rules.items()) if symbol is None or s == symbol]
        entries = [instrument_entry(self.category, r, max_leverage=self._max_leverage) for r in items]
        if category == "spot":
            return Reply(result={"category": category, "list": entries})
        page, cursor = page_of(entries, call.params, 500, 1000)
        return Reply(result={"category": category, "list": page, "nextPageCursor": cursor})

    def _orderbook(self, call: Call) -> Reply:
        """``GET /v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=50``: the venue's book,
        ``{"s","b","a","ts","u","seq","cts"}``; default depth 1 (spot) or 25 (linear), at most 1000."""
        if (refusal := category_refusal(self.category, call.params, other=foreign_symbol(call.params))) is not None:
            return refusal
        symbol = param_text(call.params, "symbol") or ""
        if symbol not in self._symbols():
            return api_error(10001, "params error: symbol invalid")
        default = 1 if self.category == "spot" else 25
        try:
            limit = max(1, min(int(param_text(call.params, "limit") or default), 1000))
        except ValueError:
            return api_error(10001, "params error: limit invalid")
        view = self._book(symbol, limit)
        ts, update_id, seq, cts = self._stamps(symbol) or (call.now_ms, 0, 0, call.now_ms)
        result: dict[str, Any] = {
            "s": symbol,
            "b": [list(level) for level in view.bids],
            "a": [list(level) for level in view.asks],
            "ts": ts,
            "u": update_id,
            "seq": seq,
            "cts": cts,
        }
        return Reply(result=result)
