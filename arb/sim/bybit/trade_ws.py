"""The fake private Bybit's order entry over WebSocket (``/v5/trade``, v5 "Websocket Trade Guideline"):
:class:`BybitTradeWs`, a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange` in front of its REST
part's handlers.

A connection authenticates once with ``{"op":"auth","args":[api_key, expires, signature]}`` (the
private stream's scheme), answered ``{"retCode":0,"retMsg":"OK","op":"auth","connId":"..."}``; then each
``{"reqId":"1","header":{"X-BAPI-TIMESTAMP":"...","X-BAPI-RECV-WINDOW":"5000"},"op":"order.create",
"args":[{...as the REST body...}]}`` is answered ``{"reqId":"1","retCode":0,"retMsg":"OK",
"op":"order.create","data":{"orderId":"...","orderLinkId":"..."},"retExtInfo":{},"header":{"X-Bapi-Limit":
"20","X-Bapi-Limit-Status":"19","X-Bapi-Limit-Reset-Timestamp":"...","Traceid":"...","Timenow":"..."},
"connId":"..."}``. The order goes through the REST endpoint's own handler (``order.create`` is
``POST /v5/order/create``'s, ``order.cancel`` ``POST /v5/order/cancel``'s), under the same per-UID rate
limit, order faults and delay, so it shows in REST queries and on the private stream as a REST order
does; the answer is an ack, fills come on the private stream.
"""

from __future__ import annotations

__all__ = ["TRADE_OPS", "TRADE_PATH", "BybitTradeWs"]

import itertools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from arb.sim.bybit.calls import (
    CATEGORIES,
    MSG_SYSTEM,
    MSG_TOO_MANY,
    AuthFailure,
    Call,
    PrivateSession,
    Reply,
    TradeAnswer,
    api_error,
)
from arb.sim.bybit.private_rest import BybitRest, stale
from arb.sim.bybit.user_stream import BybitUserStream, echoing
from arb.sim.connection import VenueConnection
from arb.sim.faults import OrderFault

TRADE_PATH = "/v5/trade"
"""The order-entry WebSocket's path."""
TRADE_OPS: Mapping[str, str] = {
    "order.create": "/v5/order/create",
    "order.amend": "/v5/order/amend",
    "order.cancel": "/v5/order/cancel",
}
"""Each order-entry ``op`` and the REST path whose handler and rate limit it shares."""

_AUTH_REFUSALS: Mapping[AuthFailure, tuple[int, str]] = {
    "params": (10001, "Params Error"),
    "key": (10003, "API key is invalid."),
    "sign": (10004, "Invalid sign."),
}
"""The order-entry ``op: auth`` refusals (the guideline's ``10001`` param error, ``10004`` invalid sign;
an unknown key gets REST's ``10003``)."""


class BybitTradeWs:
    """Answers order-entry requests with ``rest``'s handlers, per-UID rate limits and order faults, and
    ``user_stream``'s auth (its ``auth_log`` lists both).

    ``tick`` is what is due before an order is served; ``spawn`` runs a held answer beside the
    connection's reading (the venue awaits it on closing); ``clock`` is the venue's time (seconds).
    """

    def __init__(
        self,
        rest: BybitRest,
        user_stream: BybitUserStream,
        *,
        clock: Callable[[], float],
        tick: Callable[[], Awaitable[None]],
        notify: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.rest = rest
        self.ledger = rest.ledger
        self.trade_log: list[TradeAnswer] = []
        """Every answer sent on an order-entry connection (auth, orders, refusals; pongs not included)."""
        self._user_stream = user_stream
        self._desk = rest.desk
        self._faults = rest.faults
        self._clock = clock
        self._tick = tick
        self._notify = notify
        self._spawn = spawn
        self._sessions: dict[int, PrivateSession] = {}
        self._trace_ids = itertools.count(1)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def sweep(self) -> None:
        """Forget the sessions of closed connections."""
        for conn_id, session in list(self._sessions.items()):
            if not session.conn.open:
                del self._sessions[conn_id]
        self._notify()

    async def on_request(self, conn: VenueConnection, request: dict[str, Any]) -> None:
        """Answer one order-entry request ``{"op":...}`` of ``conn``: ``auth``, ``ping``,
        ``order.create``/``amend``/``cancel``."""
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = PrivateSession(conn)
        op: str = request["op"]
        req_id = request.get("reqId")
        if op == "auth":
            await self._trade_auth(session, request.get("args"), req_id)
        elif op == "ping":
            pong = {"retCode": 0, "retMsg": "OK", "op": "pong", "data": [str(self._now_ms())], "connId": conn.conn_id}
            await conn.send_control(echoing("reqId", req_id, pong))
        elif op in TRADE_OPS:
            await self._trade_order(session, op, request)
        else:
            await self._trade_answer(conn, op, req_id, api_error(10404, f"op type is not found: {op}"), {})

    async def _trade_auth(self, session: PrivateSession, args: Any, req_id: Any) -> None:
        """Answer ``op: auth``: ``0``, or ``20001`` on a connection already authenticated, or a refusal
        of :data:`_AUTH_REFUSALS`."""
        conn = session.conn
        if session.account is not None:
            code, msg = 20001, "Repeat auth"
        else:
            account, failure = self._user_stream.verify_auth(args)
            code, msg = (0, "OK") if failure is None else _AUTH_REFUSALS[failure]
            self._user_stream.authenticated(session, account, "" if failure is None else msg)
        self.trade_log.append(TradeAnswer(conn.id, "auth", req_id, code, msg, self._clock()))
        answer = {"retCode": code, "retMsg": msg, "op": "auth", "connId": conn.conn_id}
        await conn.send_control(echoing("reqId", req_id, answer))

    async def _trade_order(self, session: PrivateSession, op: str, request: dict[str, Any]) -> None:
        """Check an order request (auth, ``reqId``, timestamp, rate limit, one order in ``args``), then run
        the REST endpoint's handler on it, under the order fault scripted for it if any."""
        conn = session.conn
        req_id = request.get("reqId")
        await self._tick()
        now = self._clock()
        if session.account is None:
            # Bybit leaves the reqId out of this refusal (ccxt 4.5.90 rejects every pending request on it)
            await self._trade_answer(conn, op, None, api_error(10003, "Request not authorized"), {})
            return
        if req_id is not None:
            if str(req_id) in session.req_ids:
                await self._trade_answer(conn, op, req_id, api_error(20006, "reqId is duplicated"), {})
                return
            session.req_ids.add(str(req_id))
        header = request.get("header")
        args = request.get("args")
        order = args[0] if isinstance(args, list) and len(args) == 1 else None
        if not isinstance(header, dict) or not isinstance(order, dict):
            refusal = api_error(10001, "params error: a header and one order in args are required")
            await self._trade_answer(conn, op, req_id, refusal, {})
            return
        timestamp = str(header.get("X-BAPI-TIMESTAMP", ""))
        if (late := stale(timestamp, str(header.get("X-BAPI-RECV-WINDOW", "5000")), now)) is not None:
            await self._trade_answer(conn, op, req_id, late, {})
            return
        params: dict[str, Any] = dict(order)
        if params.get("category") not in CATEGORIES:
            await self._trade_answer(conn, op, req_id, api_error(10404, "category is not correct/supported"), {})
            return
        account = self.ledger.accounts[session.account]
        limits: dict[str, str] = {}
        path = TRADE_OPS[op]
        if self.rest.charge(account, path, now, limits):
            await self._trade_answer(conn, op, req_id, api_error(10006, MSG_TOO_MANY), limits)
            return
        endpoint = self.rest.endpoints.get(path)
        if endpoint is None or endpoint.operation is None:
            refusal = api_error(10001, f"params error: {op} is not modelled by the fake")
            await self._trade_answer(conn, op, req_id, refusal, limits)
            return
        fault = self._faults.take_order_fault(endpoint.operation)
        call = Call(params, account, await self._desk.arrives(endpoint.operation))

        def run() -> Reply:
            return endpoint.handler(call)

        if fault is None:
            await self._trade_answer(conn, op, req_id, await self._desk.act(run), limits)
            return
        await self._trade_fault(conn, op, req_id, fault, call, run, limits)

    async def _trade_fault(
        self, conn: VenueConnection, op: str, req_id: Any, fault: OrderFault, call: Call, run: Callable[[], Reply],
        limits: dict[str, str],
    ) -> None:  # fmt: skip
        """Answer an order request under ``fault``, having acted on it first when ``processed``: a held
        answer (sent once released, the request acted on then if not before), the connection dropped
        without an answer (:meth:`OrderDesk.on_socket`), or an error answer (``fault.code``; else 10429 for a
        429, 10016 otherwise)."""

        async def answer(reply: Reply) -> None:
            await self._trade_answer(conn, op, req_id, reply, limits)

        if await self._desk.on_socket(conn, f"{TRADE_PATH} {op}", fault, call=call, run=run, answer=answer,
                                      spawn=self._spawn):  # fmt: skip
            return
        code = fault.code if fault.code is not None else 10429 if fault.status == 429 else 10016
        default = "System level frequency protection" if code == 10429 else MSG_SYSTEM
        now = self._clock()  # the answer's time in the log is the one its reset is counted from
        if fault.status == 429 and fault.retry_after is not None and limits:
            # the answer's header says when the limit lets requests through again (Bybit sends no Retry-After)
            reset_ms = int((now + fault.retry_after) * 1000)
            limits = {**limits, "X-Bapi-Limit-Status": "0", "X-Bapi-Limit-Reset-Timestamp": str(reset_ms)}
        await self._trade_answer(conn, op, req_id, api_error(code, fault.msg or default), limits, at=now)

    async def _trade_answer(
        self, conn: VenueConnection, op: str, req_id: Any, reply: Reply, limits: dict[str, str], *, at: float = 0.0
    ) -> None:
        """Send ``{"reqId","retCode","retMsg","op","data","retExtInfo","header","connId"}`` (``reqId`` only
        when given; ``header`` carries the rate-limit counts when the request was charged)."""
        now_ms = self._now_ms()
        header = {**limits, "Traceid": f"{next(self._trace_ids):032x}", "Timenow": str(now_ms)}
        answer = {"retCode": reply.ret_code, "retMsg": reply.ret_msg, "op": op, "data": reply.result,
                  "retExtInfo": {}, "header": header, "connId": conn.conn_id}  # fmt: skip
        self.trade_log.append(TradeAnswer(conn.id, op, req_id, reply.ret_code, reply.ret_msg, at or self._clock()))
        await conn.send_control(echoing("reqId", req_id, answer))
