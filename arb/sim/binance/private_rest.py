"""The fake private Binance's REST dispatch: bans, scripted faults, request weight, order counts,
authentication (``X-MBX-APIKEY`` and the HMAC ``signature``) and order faults, in front of the endpoint
handlers (:mod:`.orders`, :mod:`.accounts`, the listen keys of :mod:`.user_stream`).

:class:`BinanceRest` is a part of :class:`~arb.sim.binance.exchange.FakeBinanceExchange`: an aiohttp
handler (:meth:`BinanceRest.serve`) for every path of its endpoint table, usable on an application of
its own without the venue's market playback.
"""

from __future__ import annotations

__all__ = ["BinanceRest"]

import hmac
import logging
from collections import deque
from collections.abc import Mapping
from functools import partial
from typing import Unpack
from urllib.parse import parse_qsl

from aiohttp import web

from arb.sim.binance.calls import (
    MSG_1007,
    MSG_1008,
    MSG_AHEAD,
    MSG_KEY_FORMAT,
    MSG_KEY_INVALID,
    MSG_RECV_WINDOW,
    MSG_SIGNATURE,
    Call,
    Endpoint,
    Reply,
    api_error,
    mandatory,
    unsigned,
)
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.weight import RequestWeight
from arb.sim.binance.wire import signature
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault
from arb.sim.ledger import LedgerAccount
from arb.sim.private import OrderDesk, encode
from arb.sim.rest_server import PrivateRest, RestHooks

logger = logging.getLogger(__name__)


class BinanceRest(PrivateRest[tuple[str, str], Endpoint]):
    """Serves ``endpoints`` (by method and path) for ``desk``'s ledger.

    ``weight`` is the request weight it charges; a client that keeps sending after ``bans_after_429``
    answers of 429 in one minute is banned (``desk``'s ban) for ``ban_s``. ``begin`` awaits a request's
    way in (the plan's ``rest_hold``), ``tick`` what is due before it is served (countdowns, listen keys,
    events), ``log`` records its answer ``(request, status, weight)``; ``record`` appends a fault that landed.
    """

    def __init__(
        self,
        desk: OrderDesk,
        weight: RequestWeight,
        faults: FaultPlan,
        endpoints: Mapping[tuple[str, str], Endpoint],
        *,
        market: BinanceMarket,
        bans_after_429: int = 3,
        ban_s: float = 120.0,
        **hooks: Unpack[RestHooks],
    ) -> None:
        super().__init__(desk, faults, endpoints, **hooks)
        self.weight = weight
        self.market = market
        self._bans_after_429 = bans_after_429
        self._ban_s = ban_s
        self._refused_in_window = 0
        self._order_counts: deque[float] = deque()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Serve one private call: hold, ban, scripted faults, weight, auth, order faults, handler."""
        endpoint, now = await self.opening(request)
        if self.desk.banned:
            assert self.desk.ban_until is not None
            retry = max(1, int(self.desk.ban_until - now + 0.999))
            refused = self.weight.error_body(418, None, None, retry)
            return self._send(request, 418, refused, {"Retry-After": str(retry)}, endpoint.weight)
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            headers: dict[str, str] = {}
            status, raw, content_type = self.weight.fault_answer(fault, lambda: (200, b"[]"), headers, self._record)
            self._log_rest(request, status, endpoint.weight)
            return web.Response(status=status, body=raw, headers=headers, content_type=content_type)
        window = self.weight.window
        used = self.weight.charge(endpoint.weight)
        if self.weight.window != window:
            self._refused_in_window = 0
        headers = {"x-mbx-used-weight": str(used), "x-mbx-used-weight-1m": str(used)}
        if used > self.weight.limit:
            self._refused_in_window += 1
            retry = self.weight.seconds_left()
            if self._refused_in_window > self._bans_after_429:
                self.desk.ban_until = now + self._ban_s
                self._record(AppliedFault(FaultKind.BAN, detail=f"kept sending after 429: until {self.desk.ban_until}"))
                return self._send(request, 418, self.weight.error_body(418, None, None, int(self._ban_s)),
                                  {**headers, "Retry-After": str(int(self._ban_s))}, endpoint.weight)  # fmt: skip
            headers["Retry-After"] = str(retry)
            return self._send(request, 429, self.weight.error_body(429, None, None, retry), headers, endpoint.weight)
        body = await request.text() if request.method != "GET" else ""
        account, refusal = self._authenticate(request, body, endpoint, now)
        if refusal is not None:
            return self._reply(request, refusal, headers, endpoint.weight)
        try:
            params = self._params(request, body)
        except ValueError:
            return self._reply(request, api_error(-1100, "Illegal characters found in a parameter."), headers,
                               endpoint.weight)  # fmt: skip
        if endpoint.order_count:
            self.count_order(now, headers)
        call = Call(params, account, int(now * 1000))
        return await self.dispatch(
            request, call, partial(self.run, endpoint, call), operation=endpoint.operation,
            faulted=endpoint.operation, answer=lambda reply: self._reply(request, reply, headers, endpoint.weight),
            refuse=lambda fault: self._order_refusal(request, fault, headers, endpoint.weight), weight=endpoint.weight,
        )  # fmt: skip

    def run(self, endpoint: Endpoint, call: Call) -> Reply:
        """The handler's reply to ``call`` (``-1100`` for a parameter it could not read)."""
        try:
            return endpoint.handler(call)
        except ValueError as error:
            return api_error(-1100, f"Illegal characters found in parameter '{error}'.")

    def _order_refusal(
        self, request: web.Request, fault: OrderFault, headers: dict[str, str], weight: int
    ) -> web.StreamResponse:
        """Binance's refusal under an order fault (the request acted on before, ``processed``, or not at all)."""
        status = fault.status or 503
        if status in (429, 418) and fault.code is None:  # the venue's own words: -1003, with its Retry-After
            retry = fault.retry_after or (self.weight.seconds_left() if status == 429 else 120)
            headers["Retry-After"] = str(retry)
            return self._send(request, status, self.weight.error_body(status, None, fault.msg, retry), headers, weight)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.code is not None or status == 503:
            code = fault.code if fault.code is not None else -1007
            msg = fault.msg if fault.msg is not None else {-1007: MSG_1007, -1008: MSG_1008}.get(code, "")
            return self._reply(request, api_error(code, msg, status), headers, weight)
        text = fault.msg or ("Bad Gateway" if status == 502 else "Internal Server Error")
        self._log_rest(request, status, weight)
        return web.Response(status=status, text=text, headers=headers, content_type="text/html")

    def _send(
        self, request: web.Request, status: int, body: bytes, headers: dict[str, str], weight: int
    ) -> web.Response:
        self._log_rest(request, status, weight)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    def _reply(self, request: web.Request, reply: Reply, headers: dict[str, str], weight: int) -> web.Response:
        return self._send(request, reply.status, encode(reply.body), headers, weight)

    def count_order(self, now: float, headers: dict[str, str]) -> None:
        """Count one order at ``now`` (seconds) and put the counts in ``headers`` (``x-mbx-order-count-*``)."""
        counts = self._order_counts
        counts.append(now)
        while counts and counts[0] <= now - 86_400:
            counts.popleft()
        recent = sum(1 for t in counts if t > now - 10)
        headers["x-mbx-order-count-10s"] = str(recent)
        if self.market == "spot":
            headers["x-mbx-order-count-1d"] = str(len(counts))
        else:
            headers["x-mbx-order-count-1m"] = str(sum(1 for t in counts if t > now - 60))

    def _authenticate(
        self, request: web.Request, body: str, endpoint: Endpoint, now: float
    ) -> tuple[LedgerAccount | None, Reply | None]:
        """The account behind a request, or Binance's refusal: 401 ``-2014``/``-2015`` for the key, 400
        ``-1021`` for the time, ``-1022`` for the signature."""
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if endpoint.auth == "none":  # public market data (the fee coin's price)
            return None, None
        if not api_key:
            return None, api_error(-2014, MSG_KEY_FORMAT, 401)
        account = self.ledger.account_for_key(api_key)
        if account is None:
            return None, api_error(-2015, MSG_KEY_INVALID, 401)
        if endpoint.auth == "key":
            return account, None
        query = request.rel_url.raw_query_string
        total, sent = unsigned(query, body)
        if sent is None:
            return None, mandatory("signature")
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        timestamp, window = params.get("timestamp", ""), params.get("recvWindow", "5000")
        if not timestamp.isdigit():
            return None, mandatory("timestamp")
        if not window.isdigit() or int(window) > 60_000:
            return None, api_error(-1131, "recvWindow must be less than 60000")
        server_ms = int(now * 1000)
        if int(timestamp) >= server_ms + 1000:
            return None, api_error(-1021, MSG_AHEAD)
        if server_ms - int(timestamp) > int(window):
            return None, api_error(-1021, MSG_RECV_WINDOW)
        if not hmac.compare_digest(sent, signature(account.api_secret, total)):
            return None, api_error(-1022, MSG_SIGNATURE)
        if endpoint.operation in ("create", "cancel") and not account.can_trade:
            return None, api_error(-2015, MSG_KEY_INVALID, 401)
        return account, None

    def _params(self, request: web.Request, body: str) -> dict[str, str]:
        params = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, strict_parsing=False))
        if body.strip():
            params.update(parse_qsl(body, keep_blank_values=True, strict_parsing=False))
        return params
