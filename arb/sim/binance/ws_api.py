"""The fake private Binance's order entry over its WebSocket API: spot on ``/ws-api/v3`` (beside the
user-data subscriptions), USD-M on ``/ws-fapi/v1``. :class:`BinanceWsOrders` is a part of
:class:`~arb.sim.binance.exchange.FakeBinanceExchange`, in front of its REST part's handlers.

Each request ``{"id":"1","method":"order.place","params":{...,"apiKey","timestamp","signature"}}`` is
signed on its own (:func:`~arb.sim.binance.calls.verify_ws_signed`: HMAC-SHA256
of the other params sorted by name) and answered ``{"id":"1","status":200,"result":{...},
"rateLimits":[...]}`` or ``{"id":"1","status":400,"error":{"code":-2010,"msg":"..."},"rateLimits":[...]}``
(``rateLimits`` left out when the request says ``returnRateLimits`` false, as ccxt does by default).
``order.place``, ``order.cancel`` and ``order.status`` run the REST endpoint's own handler
(``POST``/``DELETE``/``GET`` ``/api/v3/order`` or ``/fapi/v1/order``) on the params, so validation,
``newOrderRespType``, fills against the replayed book, user-stream events and client-id uniqueness are
a REST order's, and the request weight and order counts are REST's, shared. Over the weight limit the
answer is 429 ``-1003`` (418 while the IP is banned), with ``error.data.retryAfter``.

The plan's order faults apply as to REST: ``order_timeout`` holds the answer (the order placed before,
or only once released) while the connection goes on answering; ``order_drop`` drops the TCP connection
(after placing or not); ``order_error`` answers ``fault.status`` (503 by default) with ``fault.code``
(``-1007`` "execution status unknown" by default for a 5xx, ``-1003`` for a 429); ``delay_orders``
delays the way in, ``order_hold`` holds a request until so many market frames are released. Each is
appended to ``faults.applied`` with the connection.
"""

from __future__ import annotations

__all__ = ["ORDER_METHODS", "WS_FAPI_PATH", "BinanceWsOrders"]

import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from typing import Any

from arb.sim.binance.calls import (
    MSG_1007,
    MSG_1008,
    MSG_KEY_INVALID,
    Call,
    Reply,
    WsApiAnswer,
    send_ws_answer,
    verify_ws_signed,
)
from arb.sim.binance.private_rest import BinanceRest
from arb.sim.binance.wire import ws_text
from arb.sim.connection import VenueConnection
from arb.sim.faults import OrderFault

ORDER_METHODS: Mapping[str, str] = {"order.place": "POST", "order.cancel": "DELETE", "order.status": "GET"}
"""Each order method and the HTTP method of the ``/order`` REST endpoint whose handler and weight it shares."""
WS_FAPI_PATH = "/ws-fapi/v1"
"""USD-M's order-entry WebSocket."""
_NOT_PARAMS = frozenset({"apiKey", "returnRateLimits"})
"""WS-API parameters REST does not have (the key is REST's header); the others are the REST endpoint's."""
_ORDER_LIMITS = {"spot": (("SECOND", 10, 50, "10s"), ("DAY", 1, 160_000, "1d")),
                 "linear": (("SECOND", 10, 300, "10s"), ("MINUTE", 1, 1200, "1m"))}  # fmt: skip
"""Binance's default order-count limits per market: ``(interval, intervalNum, limit, REST header suffix)``."""


class BinanceWsOrders:
    """Answers the order methods of the WebSocket API with ``rest``'s handlers, weight, ban and order counts.

    ``tick`` is what is due before a request is served; ``spawn`` runs a held answer beside the
    connection's reading (the venue awaits it on closing); ``clock`` is the venue's time (seconds).
    """

    def __init__(
        self,
        rest: BinanceRest,
        *,
        clock: Callable[[], float],
        tick: Callable[[], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.rest = rest
        self.ws_api_log: list[WsApiAnswer] = []
        """Every answer the WebSocket API sent to an order request, in order."""
        self._desk = rest.desk
        self._weight = rest.weight
        self._faults = rest.faults
        self._market = rest.market
        self._clock = clock
        self._tick = tick
        self._spawn = spawn

    async def on_request(self, conn: VenueConnection, request_id: Any, method: str, params: dict[str, Any]) -> None:
        """Answer one order request (a method of :data:`ORDER_METHODS`) on ``conn``: check it as REST checks
        one (ban, weight, signature, trading permission), then run the REST endpoint's handler on its
        params, under the order fault scripted for it if any."""
        prefix = "/api/v3" if self._market == "spot" else "/fapi/v1"
        endpoint = self.rest.endpoints[(ORDER_METHODS[method], f"{prefix}/order")]
        await self._tick()
        shown = "returnRateLimits=false" not in conn.path  # the connection's default, a request may override it
        show = params.get("returnRateLimits", shown) not in (False, "false")
        if self._desk.banned:
            assert self._desk.ban_until is not None
            retry = max(1, int(self._desk.ban_until - self._clock() + 0.999))
            await self._ws_refusal(conn, request_id, method, 418, retry)
            return
        used = self._weight.charge(endpoint.weight)
        if used > self._weight.limit:
            await self._ws_refusal(conn, request_id, method, 429, self._weight.seconds_left())
            return
        limits = [self._weight.limits()] if show else []
        account, refusal = verify_ws_signed(self._desk.ledger, params, self._desk.now_ms())
        if account is not None and endpoint.operation in ("create", "cancel") and not account.can_trade:
            refusal = (401, -2015, MSG_KEY_INVALID)
        if refusal is None and not all(isinstance(v, (str, int, float)) for v in params.values()):
            refusal = (400, -1100, "Illegal characters found in a parameter.")
        if refusal is not None:
            status, code, msg = refusal
            await self._ws_order_answer(conn, request_id, method, Reply(status, {"code": code, "msg": msg}), limits)
            return
        if endpoint.order_count:
            limits = self._order_limits(limits) if show else []
        fault = self._faults.take_order_fault(endpoint.operation) if endpoint.operation else None
        arrived_ms = await self._desk.arrives(endpoint.operation or "any")
        call = Call({k: ws_text(v) for k, v in params.items() if k not in _NOT_PARAMS}, account, arrived_ms)
        run = partial(self.rest.run, endpoint, call)
        if fault is not None:
            await self._ws_order_fault(conn, request_id, method, fault, call, run, limits)
            return
        await self._ws_order_answer(conn, request_id, method, await self._desk.act(run), limits)

    def _order_limits(self, limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Count one order (as REST does) and return ``limits`` with the ``ORDERS`` entries, in the
        order Binance lists them (spot: orders first; USD-M: weight first)."""
        headers: dict[str, str] = {}
        self.rest.count_order(self._clock(), headers)
        orders = [{"rateLimitType": "ORDERS", "interval": interval, "intervalNum": num, "limit": limit,
                   "count": int(headers[f"x-mbx-order-count-{suffix}"])}
                  for interval, num, limit, suffix in _ORDER_LIMITS[self._market]]  # fmt: skip
        return orders + limits if self._market == "spot" else limits + orders

    async def _ws_order_fault(
        self, conn: VenueConnection, request_id: Any, method: str, fault: OrderFault, call: Call,
        run: Callable[[], Reply], limits: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        """Answer an order request under ``fault`` (acted on as :meth:`OrderDesk.on_socket` says): a held
        answer, the connection dropped without an answer, or an error answer in the venue's format."""

        async def answer(reply: Reply) -> None:
            await self._ws_order_answer(conn, request_id, method, reply, limits)

        if await self._desk.on_socket(conn, f"{conn.path} {method}", fault, call=call, run=run, answer=answer,
                                      spawn=self._spawn):  # fmt: skip
            return
        status = fault.status or 503
        if status in (429, 418) and fault.code is None:  # as the venue's own: error.data.retryAfter
            await self._ws_refusal(conn, request_id, method, status, fault.retry_after or 60)
            return
        code = fault.code if fault.code is not None else -1003 if status == 429 else -1007 if status >= 500 else None
        msg = fault.msg or {-1007: MSG_1007, -1008: MSG_1008}.get(code if code is not None else 0)
        body = json.loads(self._weight.error_body(status, code, msg, fault.retry_after or 60))
        await self._ws_order_answer(conn, request_id, method, Reply(status, body), limits)

    async def _ws_refusal(self, conn: VenueConnection, request_id: Any, method: str, status: int, retry_s: int) -> None:
        """429 or 418 ``-1003`` with ``error.data.retryAfter`` (ms), as the WebSocket API words it."""
        body = json.loads(self._weight.error_body(status, None, None, retry_s))
        retry_ms = int((self._clock() + retry_s) * 1000)
        self.ws_api_log.append(WsApiAnswer(conn.id, method, request_id, status, body["code"], self._clock()))
        await send_ws_answer(conn, request_id, status, [self._weight.limits()], error=(body["code"], body["msg"]),
                                  error_data={"serverTime": self._desk.now_ms(), "retryAfter": retry_ms})  # fmt: skip

    async def _ws_order_answer(
        self, conn: VenueConnection, request_id: Any, method: str, reply: Reply, limits: list[dict[str, Any]]
    ) -> None:
        """Send a handler's :class:`Reply`: its body as ``result``, or as ``error`` when it is one."""
        if reply.status >= 400:
            self.ws_api_log.append(
                WsApiAnswer(conn.id, method, request_id, reply.status, reply.body["code"], self._clock())
            )
            await send_ws_answer(conn, request_id, reply.status, limits, error=(reply.body["code"], reply.body["msg"]))
            return
        self.ws_api_log.append(WsApiAnswer(conn.id, method, request_id, 200, 0, self._clock()))
        await send_ws_answer(conn, request_id, 200, limits, result=reply.body)
