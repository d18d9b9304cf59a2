"""The fake private Bybit's private stream (``/v5/private``): auth, subscriptions, the ``order``,
``execution``, ``position`` and ``wallet`` topics, and disconnection protection (DCP).

:class:`BybitUserStream` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`, usable alone
with a ledger fed by hand: subscribe its pump (``events``) to the ledger's accounts, hand it each
request of a private connection, and each ledger event becomes Bybit's message on every subscribed
topic of its account.
"""

from __future__ import annotations

__all__ = ["BybitUserStream", "echoing"]

import hmac
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from arb.sim.bybit.calls import AuthFailure, Call, DcpTrigger, Endpoint, PrivateSession, Reply, api_error, param_text
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import ws_signature
from arb.sim.connection import VenueConnection
from arb.sim.faults import AppliedFault, FaultPlan
from arb.sim.ledger import FundingPayment, LedgerAccount, LedgerEvent
from arb.sim.private import EventPump, encode

logger = logging.getLogger(__name__)


def echoing(key: str, req_id: Any, fields: dict[str, Any]) -> str:
    """An answer's JSON text: ``{key: req_id}`` first when the request carried an id, then ``fields``."""
    answer: dict[str, Any] = {} if req_id is None else {key: req_id}
    answer.update(fields)
    return encode(answer).decode()


class BybitUserStream:
    """The private streams of ``views``' ledger, the pump (``events``) that feeds them, and DCP.

    ``log_subscription`` records a (un)subscription ``(conn, op, topics, ok)``; ``clock`` is the venue's
    time (seconds); ``record`` appends a fault that landed, ``notify`` wakes the venue's waiters.
    """

    def __init__(
        self,
        views: BybitViews,
        faults: FaultPlan,
        *,
        clock: Callable[[], float],
        record: Callable[[AppliedFault], None],
        notify: Callable[[], None],
        log_subscription: Callable[[VenueConnection, str, Sequence[str], bool], None],
        private_path: str = "/v5/private",
    ) -> None:
        self.views = views
        self.ledger = views.ledger
        self.category = views.category
        self.private_path = private_path
        self.events = EventPump(
            faults, record=record, notify=notify, state_symbols=self._state_symbols, send_event=self._send_event,
            send_funding=self._send_funding, send_account_state=self._send_account_state,
        )  # fmt: skip
        """The ledger's events on their way to these streams (subscribe :meth:`EventPump.queue` to an account)."""
        self.dcp_product = "SPOT" if self.category == "spot" else "DERIVATIVES"
        """The DCP ``product`` this venue's orders belong to."""
        self.dcp_triggers: list[DcpTrigger] = []
        self.auth_log: list[tuple[int, str, bool]] = []
        """``(connection, ret_msg, success)`` of every auth request (private stream and order entry)."""
        self._clock = clock
        self._notify = notify
        self._log = log_subscription
        self._sessions: dict[int, PrivateSession] = {}
        self._dcp_windows: dict[str, dict[str, int]] = {}
        self._dcp_lost: dict[str, float] = {}
        self._message_ids = itertools.count(1)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _log_subscription(self, conn: VenueConnection, op: str, topics: Sequence[str], *, ok: bool) -> None:
        self._log(conn, op, topics, ok)

    def endpoints(self) -> dict[str, Endpoint]:
        """The DCP endpoint, by path."""
        return {"/v5/order/disconnected-cancel-all": Endpoint("POST", self._set_dcp, True, None)}

    def is_user_stream(self, conn: VenueConnection) -> bool:
        """Whether ``conn`` is a private stream."""
        return conn.path.startswith(self.private_path)

    def check_dcp(self) -> None:
        """Cancel the orders of each account whose dcp-subscribed streams stayed down past its window."""
        now = self._clock()
        for name, lost_at in list(self._dcp_lost.items()):
            window = self._dcp_windows.get(name, {}).get(self.dcp_product)
            if window is None or now - lost_at <= window:
                continue
            del self._dcp_lost[name]
            account = self.ledger.accounts[name]
            cancelled = []
            for order in self.ledger.open_orders(account):
                self.views.meta(order).cancel_type = "CancelByDCP"
                self.ledger.cancel(account, order.symbol, order_id=order.order_id)
                cancelled.append(order.order_id)
            self.dcp_triggers.append(DcpTrigger(name, self.dcp_product, now, tuple(cancelled)))
            logger.info("DCP: %s's streams down %.1fs > %ss: cancelled %d orders", name, now - lost_at, window,
                        len(cancelled))  # fmt: skip

    # -- private stream ----------------------------------------------------------------------

    def sweep(self) -> None:
        """Forget closed private connections; an account whose last dcp stream closed starts its DCP timer."""
        for conn_id, session in list(self._sessions.items()):
            if session.conn.open:
                continue
            del self._sessions[conn_id]
            name = session.account
            if name is None or not self._dcp_topics(session.conn):
                continue
            if not any(s.account == name and s.conn.open and self._dcp_topics(s.conn) for s in self._sessions.values()):
                self._dcp_lost[name] = self._clock()
        self._notify()

    @property
    def dcp_topic(self) -> str:
        """The private topic whose subscribers this venue's DCP counts: ``dcp.spot`` or ``dcp.future``."""
        return "dcp.spot" if self.category == "spot" else "dcp.future"

    def _dcp_topics(self, conn: VenueConnection) -> bool:
        return self.dcp_topic in conn.subscriptions

    async def on_request(self, conn: VenueConnection, request: dict[str, Any]) -> None:
        """Answer one private-stream request ``{"op":...}`` of ``conn``: ``auth``, ``ping``, ``subscribe``,
        ``unsubscribe``."""
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = PrivateSession(conn)
        await self._on_private_request(session, request)

    async def _on_private_request(self, session: PrivateSession, request: dict[str, Any]) -> None:
        conn = session.conn
        op: str = request["op"]
        req_id = request.get("req_id")
        if op == "auth":
            await self._auth(session, request.get("args"), req_id)
        elif op == "ping":
            pong = {"op": "pong", "args": [str(self._now_ms())], "conn_id": conn.conn_id}
            await conn.send_control(echoing("req_id", req_id, pong))
        elif op in ("subscribe", "unsubscribe"):
            args = request.get("args")
            topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
            await self._private_subscribe(session, op, topics, req_id)
        else:
            await conn.send_control(self._private_ack(conn, op, False, "error:invalid op", req_id))

    def _private_ack(self, conn: VenueConnection, op: str, success: bool, ret_msg: str, req_id: Any) -> str:
        """``{"success":true,"ret_msg":"","op":"subscribe","conn_id":"..."}`` (``req_id`` echoed when sent)."""
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn.conn_id}
        if req_id is not None:
            reply["req_id"] = req_id
        return encode(reply).decode()

    def verify_auth(self, args: Any) -> tuple[LedgerAccount | None, AuthFailure | None]:
        """The account ``[api_key, expires, signature]`` (an ``op: auth``'s ``args``) authenticates, or why
        it does not: ``"params"`` (malformed, or ``expires`` already past), ``"key"`` (no such key) or
        ``"sign"`` (not the key's signature). The private stream and the order-entry connection share it."""
        if not isinstance(args, list) or len(args) != 3 or not all(isinstance(a, str | int) for a in args):
            return None, "params"
        api_key, expires, signature = (str(a) for a in args)
        if not expires.isdigit() or int(expires) <= self._now_ms():
            return None, "params"
        account = self.ledger.account_for_key(api_key)
        if account is None:
            return None, "key"
        if not hmac.compare_digest(signature, ws_signature(account.api_secret, expires)):
            return None, "sign"
        return account, None

    async def _auth(self, session: PrivateSession, args: Any, req_id: Any) -> None:
        """Check ``[api_key, expires, signature]``: an expired ``expires`` or a malformed request gets
        ``Params Error`` (as Bybit answers a client clock that is behind), a bad key or signature
        ``Request not authorized``."""
        conn = session.conn
        account, failure = self.verify_auth(args)
        ret_msg = "" if failure is None else "Params Error" if failure == "params" else "Request not authorized"
        self.authenticated(session, account, ret_msg)
        await conn.send_control(self._private_ack(conn, "auth", account is not None, ret_msg, req_id))

    def authenticated(self, session: PrivateSession, account: LedgerAccount | None, ret_msg: str) -> None:
        """Bind ``session`` to ``account`` (``None``: the auth failed, with ``ret_msg``); logged either way."""
        if account is not None:
            session.account = account.name
        self.auth_log.append((session.conn.id, ret_msg, account is not None))

    def _private_topic_ok(self, topic: str) -> bool:
        # DCP's topics name their product ("dcp.spot", "dcp.future", "dcp.option"); a bare "dcp" is refused
        families = ("order", "execution", "execution.fast", "position", "wallet", "greeks")
        if topic in families:
            return True
        family, _, suffix = topic.rpartition(".")
        if family == "dcp":
            return suffix in ("spot", "future", "option")
        return family in families[:4] and suffix in ("spot", "linear", "inverse", "option")

    async def _private_subscribe(self, session: PrivateSession, op: str, topics: list[str], req_id: Any) -> None:
        conn = session.conn
        if session.account is None:
            self._log_subscription(conn, op, topics, ok=False)
            await conn.send_control(self._private_ack(conn, op, False, "Request not authorized", req_id))
            return
        if op == "unsubscribe":
            await conn.change_subscriptions(remove=topics, reply=self._private_ack(conn, op, True, "", req_id))
            self._log_subscription(conn, op, topics, ok=True)
            return
        bad = next((t for t in topics if not self._private_topic_ok(t)), None)
        if bad is not None or not topics:
            self._log_subscription(conn, op, topics, ok=False)
            reply = self._private_ack(conn, op, False, f"error:handler not found,topic:{bad or ''}", req_id)
            await conn.send_control(reply)
            return
        await conn.change_subscriptions(add=topics, reply=self._private_ack(conn, op, True, "", req_id))
        self._log_subscription(conn, op, topics, ok=True)
        if self._dcp_topics(conn):
            self._dcp_lost.pop(session.account, None)

    def up(self) -> bool:
        """Private connections are subscribed to ``order`` and to ``execution``."""
        return self._subscribers("order") >= 1 and self._subscribers("execution") >= 1

    def _subscribers(self, topic: str) -> int:
        return sum(1 for s in self._sessions.values() if s.conn.open and topic in s.conn.subscriptions)

    def _subscribed(self, conn: VenueConnection, family: str) -> list[str]:
        """The topics of ``conn`` that carry ``family`` events of this venue's category."""
        wanted = (family, f"{family}.{self.category}")
        return [t for t in wanted if t in conn.subscriptions]

    def _state_symbols(self, event: LedgerEvent | FundingPayment) -> tuple[str, ...]:
        # the account's wallet follows every event; a position follows a trade or a funding settlement
        if isinstance(event, FundingPayment):
            return (event.symbol,)
        return (event.trade.symbol,) if event.trade is not None else ()

    async def _send_event(self, event: LedgerEvent) -> None:
        sessions = [s for s in self._sessions.values() if s.account == event.account and s.conn.open]
        if not sessions:
            return
        payloads: list[tuple[str, list[Any]]] = []
        if event.trade is not None:
            payloads.append(("execution", [self.views.exec_dict(event.trade, event.order, stream=True)]))
            payloads.append(("execution.fast", [self.views.exec_dict(event.trade, event.order, fast=True)]))
        payloads.append(("order", [self.views.order_dict(self.views.order_view(event), stream=True)]))
        for session in sessions:
            for family, data in payloads:
                for topic in self._subscribed(session.conn, family):
                    await self._send_private(session, topic, data, event.time_ms)

    async def _send_funding(self, payment: FundingPayment) -> None:
        """A funding settlement on the ``execution`` topic (``execType`` ``Funding``, not on
        ``execution.fast``, which carries trades); the wallet and position follow with the batch."""
        sessions = [s for s in self._sessions.values() if s.account == payment.account and s.conn.open]
        data = [self.views.funding_exec_dict(payment, stream=True)]
        for session in sessions:
            for topic in self._subscribed(session.conn, "execution"):
                await self._send_private(session, topic, data, payment.time_ms)

    async def _send_account_state(self, name: str, symbols: Iterable[str]) -> None:
        sessions = [s for s in self._sessions.values() if s.account == name and s.conn.open]
        if not sessions:
            return
        account = self.ledger.accounts[name]
        now = self._now_ms()
        positions = []
        if self.category == "linear":
            positions = [self.views.position_dict(account, s, stream=True) for s in sorted(symbols)]
        wallet = self.views.wallet(account)
        for session in sessions:
            if positions:
                for topic in self._subscribed(session.conn, "position"):
                    await self._send_private(session, topic, positions, now)
            if "wallet" in session.conn.subscriptions:
                await self._send_private(session, "wallet", [wallet], now)

    async def _send_private(self, session: PrivateSession, topic: str, data: list[Any], time_ms: int) -> None:
        """One event message ``{"id","topic","creationTime","data"}``; withheld while the stream is silenced."""
        assert session.account is not None
        message_id = f"{self.views.uid(session.account)}{next(self._message_ids):012d}"
        text = encode({"id": message_id, "topic": topic, "creationTime": time_ms, "data": data}).decode()
        await self.events.write(session.conn, topic, text)

    def _set_dcp(self, call: Call) -> Reply:
        """``POST /v5/order/disconnected-cancel-all`` ``{"product":"SPOT","timeWindow":10}`` ->
        ``{"retCode":0,"retMsg":"success"}`` (the whole body, as documented)."""
        account = call.account
        assert account is not None
        product = param_text(call.params, "product") or "OPTIONS"
        if product not in ("OPTIONS", "DERIVATIVES", "SPOT"):
            return api_error(10001, "params error: product invalid")
        try:
            window = int(param_text(call.params, "timeWindow") or "")
        except ValueError:
            return api_error(10001, "params error: timeWindow invalid")
        if not 3 <= window <= 300:
            return api_error(10001, "params error: timeWindow must be within [3, 300]")
        self._dcp_windows.setdefault(account.name, {})[product] = window
        return Reply(raw={"retCode": 0, "retMsg": "success"})
