"""The fake private Binance's order entry over its WebSocket API: spot on ``/ws-api/v3`` (beside the
user-data subscriptions), USD-M on ``/ws-fapi/v1``.

Each request ``{"id":"1","method":"order.place","params":{...,"apiKey","timestamp","signature"}}`` is
signed on its own (:meth:`~arb.sim.binance.user_stream.BinanceUserStreams._verify_signed`: HMAC-SHA256
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

__all__ = ["ORDER_METHODS", "BinanceWsApi"]

import asyncio
import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from aiohttp import web

from arb.sim.binance.accounts import BinanceAccountEndpoints
from arb.sim.binance.calls import MSG_1007, MSG_1008, MSG_KEY_INVALID, Call, Reply, WsApiAnswer, WsApiSession
from arb.sim.binance.wire import ws_text
from arb.sim.faults import FaultKind, OrderFault
from arb.sim.venue import VenueConnection

ORDER_METHODS: Mapping[str, str] = {"order.place": "POST", "order.cancel": "DELETE", "order.status": "GET"}
"""Each order method and the HTTP method of the ``/order`` REST endpoint whose handler and weight it shares."""
_NOT_PARAMS = frozenset({"apiKey", "returnRateLimits"})
"""WS-API parameters REST does not have (the key is REST's header); the others are the REST endpoint's."""
_ORDER_LIMITS = {"spot": (("SECOND", 10, 50, "10s"), ("DAY", 1, 160_000, "1d")),
                 "linear": (("SECOND", 10, 300, "10s"), ("MINUTE", 1, 1200, "1m"))}  # fmt: skip
"""Binance's default order-count limits per market: ``(interval, intervalNum, limit, REST header suffix)``."""


class BinanceWsApi(BinanceAccountEndpoints):
    """Serves the order methods of the WebSocket API beside the REST endpoints, on the same port."""

    ws_fapi_path = "/ws-fapi/v1"

    @property
    def ws_api_url(self) -> str:
        """The order-entry WebSocket of endpoint 0: ``ws://host:port/ws-api/v3`` (spot, also its user
        stream) or ``ws://host:port/ws-fapi/v1`` (USD-M); ccxt pro: ``urls['api']['ws']['ws-api'][market]``."""
        path = self.ws_api_path if self.market == "spot" else self.ws_fapi_path
        return f"ws://{self.host}:{self.ports[0]}{path}"

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        if self.market != "spot":
            app.router.add_get(self.ws_fapi_path, self._handle_private_ws)

    def _is_private_path(self, path: str) -> bool:
        return super()._is_private_path(path) or (self.market != "spot" and path.startswith(self.ws_fapi_path))

    def _is_user_stream(self, conn: VenueConnection) -> bool:
        return not conn.path.startswith(self.ws_fapi_path) and super()._is_user_stream(conn)

    async def _ws_api_method(self, session: WsApiSession, request_id: Any, method: str, params: dict[str, Any]) -> None:
        conn = session.conn
        if method in ORDER_METHODS:
            await self._ws_order(conn, request_id, method, params)
        elif conn.path.startswith(self.ws_fapi_path):
            await self._ws_api_answer(conn, request_id, 400, error=(-1000, f"Unknown method '{method}'."))
        else:
            await super()._ws_api_method(session, request_id, method, params)

    async def _ws_order(self, conn: VenueConnection, request_id: Any, method: str, params: dict[str, Any]) -> None:
        """Check an order request as REST checks one (ban, weight, signature, trading permission), then
        run the REST endpoint's handler on its params, under the order fault scripted for it if any."""
        prefix = "/api/v3" if self.market == "spot" else "/fapi/v1"
        endpoint = self._private[(ORDER_METHODS[method], f"{prefix}/order")]
        await self.tick()
        shown = "returnRateLimits=false" not in conn.path  # the connection's default, a request may override it
        show = params.get("returnRateLimits", shown) not in (False, "false")
        if self.banned:
            assert self.desk.ban_until is not None
            retry = max(1, int(self.desk.ban_until - self._clock() + 0.999))
            await self._ws_refusal(conn, request_id, method, 418, retry)
            return
        used = self.weight.charge(endpoint.weight)
        if used > self.weight.limit:
            await self._ws_refusal(conn, request_id, method, 429, self.weight.seconds_left())
            return
        limits = [self.weight.limits()] if show else []
        account, refusal = self._verify_signed(params)
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
        fault = self.faults.take_order_fault(endpoint.operation) if endpoint.operation else None
        arrived_ms = await self.desk.arrives(endpoint.operation or "any")
        call = Call({k: ws_text(v) for k, v in params.items() if k not in _NOT_PARAMS}, account, arrived_ms)
        run = partial(self._run, endpoint, call)
        if fault is not None:
            await self._ws_order_fault(conn, request_id, method, fault, call, run, limits)
            return
        await self._ws_order_answer(conn, request_id, method, await self.desk.act(run), limits)

    def _order_limits(self, limits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Count one order (as REST does) and return ``limits`` with the ``ORDERS`` entries, in the
        order Binance lists them (spot: orders first; USD-M: weight first)."""
        headers: dict[str, str] = {}
        self._count_order(self._clock(), headers)
        orders = [{"rateLimitType": "ORDERS", "interval": interval, "intervalNum": num, "limit": limit,
                   "count": int(headers[f"x-mbx-order-count-{suffix}"])}
                  for interval, num, limit, suffix in _ORDER_LIMITS[self.market]]  # fmt: skip
        return orders + limits if self.market == "spot" else limits + orders

    async def _ws_order_fault(
        self, conn: VenueConnection, request_id: Any, method: str, fault: OrderFault, call: Call,
        run: Callable[[], Reply], limits: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        """Answer an order request under ``fault`` (acted on as :meth:`_order_fault_outcome` says): a held
        answer, the connection dropped without an answer, or an error answer in the venue's format."""
        detail = f"{conn.path} {method} processed={fault.processed}"
        if fault.kind is FaultKind.ORDER_TIMEOUT:
            # held apart from the connection's reading, which goes on answering its other requests
            task = asyncio.create_task(self._held_answer(conn, request_id, method, fault, detail, call, run, limits))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        await self.desk.fault_outcome(fault, detail, conn.id, call, run)
        if fault.kind is FaultKind.ORDER_DROP:
            await conn.close(abrupt=True)
            return
        status = fault.status or 503
        if status in (429, 418) and fault.code is None:  # as the venue's own: error.data.retryAfter
            await self._ws_refusal(conn, request_id, method, status, fault.retry_after or 60)
            return
        code = fault.code if fault.code is not None else -1003 if status == 429 else -1007 if status >= 500 else None
        msg = fault.msg or {-1007: MSG_1007, -1008: MSG_1008}.get(code if code is not None else 0)
        body = json.loads(self.weight.error_body(status, code, msg, fault.retry_after or 60))
        await self._ws_order_answer(conn, request_id, method, Reply(status, body), limits)

    async def _held_answer(
        self, conn: VenueConnection, request_id: Any, method: str, fault: OrderFault, detail: str, call: Call,
        run: Callable[[], Reply], limits: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        """ORDER_TIMEOUT: the answer, sent once the test releases it."""
        reply = await self.desk.fault_outcome(fault, detail, conn.id, call, run)
        assert reply is not None
        await self._ws_order_answer(conn, request_id, method, reply, limits)
        self._notify()

    async def _ws_refusal(self, conn: VenueConnection, request_id: Any, method: str, status: int, retry_s: int) -> None:
        """429 or 418 ``-1003`` with ``error.data.retryAfter`` (ms), as the WebSocket API words it."""
        body = json.loads(self.weight.error_body(status, None, None, retry_s))
        retry_ms = int((self._clock() + retry_s) * 1000)
        self.ws_api_log.append(WsApiAnswer(conn.id, method, request_id, status, body["code"], self._clock()))
        await self._ws_api_answer(conn, request_id, status, error=(body["code"], body["msg"]),
                                  error_data={"serverTime": self._now_ms(), "retryAfter": retry_ms})  # fmt: skip

    async def _ws_order_answer(
        self, conn: VenueConnection, request_id: Any, method: str, reply: Reply, limits: list[dict[str, Any]]
    ) -> None:
        """Send a handler's :class:`Reply`: its body as ``result``, or as ``error`` when it is one."""
        if reply.status >= 400:
            self.ws_api_log.append(
                WsApiAnswer(conn.id, method, request_id, reply.status, reply.body["code"], self._clock())
            )
            await self._ws_api_answer(conn, request_id, reply.status, error=(reply.body["code"], reply.body["msg"]),
                                      rate_limits=limits)  # fmt: skip
            return
        self.ws_api_log.append(WsApiAnswer(conn.id, method, request_id, 200, 0, self._clock()))
        await self._ws_api_answer(conn, request_id, 200, result=reply.body, rate_limits=limits)
