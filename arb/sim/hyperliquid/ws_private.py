"""The fake Hyperliquid's private streams on its one WebSocket (``/ws``): no login, a subscription names the
account's address (Hyperliquid's documentation, "Websocket: subscriptions", "Post requests").

* ``{"method":"subscribe","subscription":{"type":"orderUpdates","user":"0x..."}}``: acked as the public ones,
  then ``{"channel":"orderUpdates","data":[{"order":{...},"status":"open","statusTimestamp":...}]}`` at each
  change of an order's status (``open``, ``filled``, ``canceled``, ``scheduledCancel``, ``iocCancelRejected``).
* ``{"method":"subscribe","subscription":{"type":"userFills","user":"0x..."}}``: first ``{"channel":"userFills",
  "data":{"isSnapshot":true,"user":"0x...","fills":[...]}}`` (the newest fills, newest first), then one message a
  fill, without ``isSnapshot``.
* ``{"method":"post","id":7,"request":{"type":"action","payload":{action, nonce, signature, ...}}}`` answers
  ``{"channel":"post","data":{"id":7,"response":{"type":"action","payload":<the /exchange answer>}}}``; an
  ``"info"`` request answers ``{"type":"info","payload":{"type":<its type>,"data":<the /info answer>}}``.

The streams (what faults and waits name) are ``orderUpdates:<address>`` and ``userFills:<address>``. A
subscription whose ``user`` is not an address is answered ``{"channel":"error",...}`` (text *chosen*).
"""

from __future__ import annotations

__all__ = ["PRIVATE_TYPES", "HyperliquidPrivateWs"]

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any

from arb.sim.connection import OutFrame, VenueConnection
from arb.sim.faults import AppliedFault, FaultPlan
from arb.sim.hyperliquid import wire
from arb.sim.hyperliquid.auth import Signers
from arb.sim.hyperliquid.orders import HyperliquidOrders
from arb.sim.hyperliquid.queries import HyperliquidQueries
from arb.sim.ledger import ZERO, ExecType, LedgerEvent, OrderStatus, TimeInForce
from arb.sim.ledger.records import FundingPayment
from arb.sim.private import EventPump

PRIVATE_TYPES = ("orderUpdates", "userFills")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_SNAPSHOT_FILLS = 2000


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class HyperliquidPrivateWs:
    """The private subscriptions and posted actions. ``execute`` runs an ``/exchange`` body (as the REST handler
    does, faults aside) and returns its answer; ``connections`` lists the venue's open connections; ``position``
    is the market clock's."""

    def __init__(
        self,
        orders: HyperliquidOrders,
        queries: HyperliquidQueries,
        signers: Signers,
        faults: FaultPlan,
        *,
        execute: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
        connections: Callable[[], Iterable[VenueConnection]],
        position: Callable[[], int],
        record: Callable[[AppliedFault], None],
        notify: Callable[[], None],
        log_subscription: Callable[[VenueConnection, str, list[str], bool], None],
    ) -> None:
        self._orders = orders
        self._queries = queries
        self._signers = signers
        self._execute = execute
        self._connections = connections
        self._position = position
        self._notify = notify
        self._log_subscription = log_subscription
        self.events = EventPump(faults, record=record, notify=notify, state_symbols=lambda _: None,
                                send_event=self._send_event, send_funding=self._send_funding,
                                send_account_state=self._send_state)  # fmt: skip
        self.posts: list[tuple[int, str]] = []
        """``(connection, request type)`` of every post, in order."""

    def is_user_stream(self, conn: VenueConnection) -> bool:
        """Whether ``conn`` holds a private subscription."""
        return any(stream.partition(":")[0] in PRIVATE_TYPES for stream in conn.subscriptions)

    def up(self, address: str | None = None) -> bool:
        """Whether a connection is subscribed to ``orderUpdates`` (of ``address``, if given)."""
        wanted = f"orderUpdates:{address.lower()}" if address else None
        return any(s == wanted or (wanted is None and s.startswith("orderUpdates:"))
                   for c in self._connections() for s in c.subscriptions)  # fmt: skip

    async def on_text(self, conn: VenueConnection, request: dict[str, Any]) -> bool:
        """Handle ``request`` when it is private (a private subscription or a post); returns whether it was."""
        method = request.get("method")
        if method == "post":
            await self._post(conn, request)
            return True
        sub = request.get("subscription")
        kind = sub.get("type") if isinstance(sub, dict) else None
        if method not in ("subscribe", "unsubscribe") or kind not in PRIVATE_TYPES:
            return False
        assert isinstance(sub, dict) and isinstance(kind, str)
        user = sub.get("user")
        if not isinstance(user, str) or not _ADDRESS.fullmatch(user):
            await conn.send_control(_dump({"channel": "error", "data": f"Invalid subscription: {_dump(sub)[:200]}"}))
            return True
        stream = f"{kind}:{user.lower()}"
        ack = _dump({"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}})
        if method == "unsubscribe":
            await conn.change_subscriptions(remove=[stream], reply=ack)
        else:
            then = (lambda: self._snapshot(stream, user.lower())) if kind == "userFills" else None
            await conn.change_subscriptions(add=[stream], reply=ack, then=then)
        self._log_subscription(conn, method, [stream], True)
        self._notify()
        return True

    def _snapshot(self, stream: str, address: str) -> list[OutFrame]:
        # the first userFills message: the account's newest fills, isSnapshot true (built with the subscription)
        _, fills = self._queries.answer("userFills", {"user": address})
        assert isinstance(fills, list)
        data = {"isSnapshot": True, "user": address, "fills": fills[:_SNAPSHOT_FILLS]}
        return [OutFrame(stream, -1, self._position(), _dump({"channel": "userFills", "data": data}))]

    async def _post(self, conn: VenueConnection, request: dict[str, Any]) -> None:
        inner = request.get("request")
        kind = inner.get("type") if isinstance(inner, dict) else None
        payload = inner.get("payload") if isinstance(inner, dict) else None
        self.posts.append((conn.id, str(kind)))
        if kind == "action" and isinstance(payload, dict):
            response: dict[str, Any] = {"type": "action", "payload": await self._execute(payload)}
        elif kind == "info" and isinstance(payload, dict) and isinstance(payload.get("type"), str):
            _, value = self._queries.answer(payload["type"], payload)
            response = {"type": "info", "payload": {"type": payload["type"], "data": value}}
        else:
            response = {"type": "error", "payload": "Invalid post request"}  # chosen
        await conn.send_control(_dump({"channel": "post", "data": {"id": request.get("id"), "response": response}}))

    # -- what the ledger's events become ----------------------------------------------------

    def _subscribers(self, stream: str) -> list[VenueConnection]:
        return [c for c in self._connections() if stream in c.subscriptions]

    async def _send_event(self, event: LedgerEvent) -> None:
        address = self._signers.address_of(event.account)
        order = event.order
        cloid = self._orders.cloid(order)
        status = _status(event, self._orders.reasons)
        if status is not None:
            item = wire.status_entry(order, order.symbol, cloid, status)
            text = _dump({"channel": "orderUpdates", "data": [item]})
            for conn in self._subscribers(f"orderUpdates:{address}"):
                await self.events.write(conn, "orderUpdates", text)
        if event.trade is not None:
            start = self._orders.start_positions.get(event.trade.trade_id, ZERO)
            fill = wire.fill_entry(event.trade, order.symbol, cloid, start)
            text = _dump({"channel": "userFills", "data": {"user": address, "fills": [fill]}})
            for conn in self._subscribers(f"userFills:{address}"):
                await self.events.write(conn, "userFills", text)

    async def _send_funding(self, payment: FundingPayment) -> None:
        """Funding is shown by ``clearinghouseState``'s ``cumFunding``; the fake serves no ``userFundings``
        stream."""

    async def _send_state(self, account: str, symbols: Iterable[str]) -> None:
        """No account-state stream is served."""


def _status(event: LedgerEvent, reasons: dict[int, str]) -> str | None:
    # the orderUpdates status an event announces; None when it announces none (a partial fill, an IOC's arrival)
    if event.exec_type is ExecType.NEW:
        return None if event.order.time_in_force is TimeInForce.IOC else "open"
    if event.exec_type is ExecType.TRADE:
        return "filled" if event.status is OrderStatus.FILLED else None
    if event.exec_type is ExecType.EXPIRED:
        return "canceled" if event.executed_qty > Decimal(0) else "iocCancelRejected"
    return reasons.get(event.order.order_id, "canceled")
