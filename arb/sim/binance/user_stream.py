"""The fake private Binance's user streams: spot's WS-API user-data subscriptions and USD-M's listen-key
streams, and the events they carry.

:class:`BinanceUserStream` is a part of :class:`~arb.sim.binance.exchange.FakeBinanceExchange`, usable
alone with a ledger fed by hand: subscribe its pump (``events``) to the ledger's accounts, and each
ledger event becomes Binance's message on every stream of its account (``executionReport`` and
``outboundAccountPosition`` on spot, ``ORDER_TRADE_UPDATE`` and ``ACCOUNT_UPDATE`` on USD-M).
"""

from __future__ import annotations

__all__ = ["BinanceUserStream", "funding_fields"]

import itertools
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from aiohttp import web

from arb.sim.binance.calls import (
    MSG_NO_LISTEN_KEY,
    Call,
    Endpoint,
    ListenKey,
    Reply,
    WsApiSession,
    api_error,
    send_ws_answer,
    verify_ws_signed,
)
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.weight import RequestWeight
from arb.sim.binance.wire import account_update_event, execution_report, fixed, futures_order_event
from arb.sim.connection import VenueConnection
from arb.sim.faults import AppliedFault, FaultPlan
from arb.sim.ledger import ZERO, FundingPayment, Ledger, LedgerEvent
from arb.sim.private import EventPump, FundingFields, encode

LISTEN_KEY_PATH = "/private/ws"
"""USD-M's listen-key stream: ``/private/ws?listenKey=...``."""


class BinanceUserStream:
    """The user streams of ``ledger``'s accounts, and the pump (``events``) that feeds them.

    ``connections`` lists the venue's open connections; ``serve_ws`` accepts a WebSocket on the venue
    (``(request, streams, combined)``); ``mark_price`` is a symbol's mark price (``None``: an empty book);
    ``cancel_client_id`` the client id of an order's cancel (spot's ``c``). ``weight`` counts the WS-API's
    requests; a USD-M listen key lives ``listen_key_ttl_s`` of ``clock`` without a keep-alive.
    """

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultPlan,
        weight: RequestWeight,
        *,
        market: BinanceMarket,
        clock: Callable[[], float],
        connections: Callable[[], Iterable[VenueConnection]],
        serve_ws: Callable[[web.Request, bool], Awaitable[web.StreamResponse]],
        record: Callable[[AppliedFault], None],
        notify: Callable[[], None],
        mark_price: Callable[[str], Decimal | None],
        cancel_client_id: Callable[[str, int], str],
        ws_api_path: str = "/ws-api/v3",
        listen_key_ttl_s: float = 3600.0,
    ) -> None:
        self.ledger = ledger
        self.market = market
        self.ws_api_path = ws_api_path
        self.events = EventPump(
            faults, record=record, notify=notify, state_symbols=self._state_symbols, send_event=self._send_event,
            send_funding=self._send_funding, send_account_state=self._send_account_state,
        )  # fmt: skip
        """The ledger's events on their way to these streams (subscribe :meth:`EventPump.queue` to an account)."""
        self.auth_log: list[tuple[int, int, bool]] = []
        """``(connection, error code or 0, success)`` of every WS-API user-stream subscription request."""
        self._weight = weight
        self._clock = clock
        self._connections = connections
        self._serve_ws = serve_ws
        self._notify = notify
        self._mark_price = mark_price
        self._cancel_client_id = cancel_client_id
        self._listen_key_ttl_s = listen_key_ttl_s
        self._listen_keys: dict[str, ListenKey] = {}
        self._subscription_ids = itertools.count(0)
        self._sessions: dict[int, WsApiSession] = {}

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """USD-M's listen-key endpoints (API key only), by method and path; none on spot."""
        if self.market == "spot":
            return {}
        return {
            ("POST", "/fapi/v1/listenKey"): Endpoint(self._listen_key_new, 1, "key"),
            ("PUT", "/fapi/v1/listenKey"): Endpoint(self._listen_key_keep, 1, "key"),
            ("DELETE", "/fapi/v1/listenKey"): Endpoint(self._listen_key_close, 1, "key"),
        }

    def is_user_stream(self, conn: VenueConnection) -> bool:
        """Whether ``conn`` is a user stream (spot's WS-API, USD-M's listen-key stream)."""
        return conn.path.startswith(self.ws_api_path) or conn.path.startswith(LISTEN_KEY_PATH)

    def count(self) -> int:
        """Open user-stream connections that would receive these accounts' events."""
        return sum(len(self._streams_of(name)) for name in self.ledger.accounts)

    # -- USD-M listen-key streams --------------------------------------------------------------------

    async def expire_listen_keys(self) -> None:
        """End every listen key not kept alive: its streams get ``listenKeyExpired`` and nothing after it,
        left open as Binance leaves them ("not related to the websocket disconnection")."""
        now = self._clock()
        for key, entry in list(self._listen_keys.items()):
            if entry.expires_s > now:
                continue
            del self._listen_keys[key]
            for conn in self._connections():
                if conn.path.startswith(LISTEN_KEY_PATH) and _listen_key_of(conn) == key:
                    event = {"e": "listenKeyExpired", "E": self._now_ms(), "listenKey": key}
                    await self.events.write(conn, "listenKeyExpired", encode(event).decode())

    async def handle_listen_key_stream(self, request: web.Request) -> web.StreamResponse:
        """``/private/ws?listenKey=...``: the account's events, raw (``{"e":"ORDER_TRADE_UPDATE",...}``)."""
        key = request.query.get("listenKey", "")
        entry = self._listen_keys.get(key)
        if entry is None or entry.expires_s <= self._clock():
            return web.Response(status=400, body=encode({"code": -1125, "msg": MSG_NO_LISTEN_KEY}),
                                content_type="application/json")  # fmt: skip
        return await self._serve_ws(request, False)

    # -- USD-M listen keys (REST) -----------------------------------------------------------------------------

    def _listen_key_new(self, call: Call) -> Reply:
        """``POST /fapi/v1/listenKey``: the account's active key (its life extended) or a new one."""
        assert call.account is not None
        kept = self._listen_key_keep(call)
        if kept.status == 200:
            return kept
        key = secrets.token_urlsafe(48)[:64]
        self._listen_keys[key] = ListenKey(call.account.name, self._clock() + self._listen_key_ttl_s)
        return Reply(body={"listenKey": key})

    def _listen_key_keep(self, call: Call) -> Reply:
        """``PUT /fapi/v1/listenKey``: extend the account's key by the key's lifetime."""
        assert call.account is not None
        now = self._clock()
        for key, entry in self._listen_keys.items():
            if entry.account == call.account.name and entry.expires_s > now:
                entry.expires_s = now + self._listen_key_ttl_s
                return Reply(body={"listenKey": key})
        return api_error(-1125, MSG_NO_LISTEN_KEY)

    def _listen_key_close(self, call: Call) -> Reply:
        """``DELETE /fapi/v1/listenKey``: the account's key ends (its streams are closed)."""
        assert call.account is not None
        for entry in self._listen_keys.values():
            if entry.account == call.account.name:
                entry.expires_s = 0.0
        return Reply(body={})

    # -- spot WS-API -----------------------------------------------------------------------------

    def sweep(self) -> None:
        """Forget the WS-API sessions of closed connections."""
        for conn_id, session in list(self._sessions.items()):
            if not session.conn.open:
                del self._sessions[conn_id]
        self._notify()

    async def on_request(self, conn: VenueConnection, request_id: Any, method: str, params: dict[str, Any]) -> None:
        """Answer one WS-API request on ``conn``: spot's user-data subscriptions, ``ping`` and ``time``."""
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = WsApiSession(conn)
        await self._ws_api_method(session, request_id, method, params)

    async def _ws_api_method(self, session: WsApiSession, request_id: Any, method: str, params: dict[str, Any]) -> None:
        conn = session.conn
        if method == "userDataStream.subscribe.signature":
            await self._subscribe_signature(session, request_id, params)
        elif method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            dropped = [s for s in session.subscriptions if wanted is None or s == wanted]
            session.subscriptions = [s for s in session.subscriptions if s not in dropped]
            await self._answer(conn, request_id, 200, result={})
        elif method == "session.subscriptions":
            await self._answer(conn, request_id, 200, result=[{"subscriptionId": s}
                                                                     for s in session.subscriptions])  # fmt: skip
        elif method == "ping":
            await self._answer(conn, request_id, 200, result={})
        elif method == "time":
            await self._answer(conn, request_id, 200, result={"serverTime": self._now_ms()})
        else:
            await self._answer(conn, request_id, 400, error=(-1000, f"Unknown method '{method}'."))

    async def _answer(self, conn: VenueConnection, request_id: Any, status: int, **fields: Any) -> None:
        await send_ws_answer(conn, request_id, status, [self._weight.limits()], **fields)

    async def _subscribe_signature(self, session: WsApiSession, request_id: Any, params: Mapping[str, Any]) -> None:
        """``userDataStream.subscribe.signature`` with ``apiKey``, ``timestamp``, ``recvWindow``,
        ``signature`` (:func:`~arb.sim.binance.calls.verify_ws_signed`): ``{"result":{"subscriptionId":N}}``."""
        conn = session.conn
        account, refusal = verify_ws_signed(self.ledger, params, self._now_ms())
        if refusal is not None:
            self.auth_log.append((conn.id, refusal[1], False))
            await self._answer(conn, request_id, refusal[0], error=(refusal[1], refusal[2]))
            return
        assert account is not None
        if session.account not in (None, account.name):
            await self._answer(conn, request_id, 400, error=(-1000, "Another account is subscribed."))
            return
        session.account = account.name
        subscription = next(self._subscription_ids)
        session.subscriptions.append(subscription)
        self.auth_log.append((conn.id, 0, True))
        await self._answer(conn, request_id, 200, result={"subscriptionId": subscription})

    # -- events ------------------------------------------------------------------------------------

    def _state_symbols(self, event: LedgerEvent | FundingPayment) -> tuple[str, ...] | None:
        # an order's symbol after a trade (spot: after any change); funding's ACCOUNT_UPDATE is its own
        if isinstance(event, FundingPayment) or (event.trade is None and self.market != "spot"):
            return None
        return (event.order.symbol,)

    def _streams_of(self, name: str) -> list[tuple[VenueConnection, list[int] | None]]:
        """Where ``name``'s events go: WS-API connections with their subscription ids (spot), or the
        listen-key streams of the account's key (USD-M, ``None``: raw events)."""
        if self.market == "spot":
            return [(s.conn, list(s.subscriptions)) for s in self._sessions.values()
                    if s.account == name and s.conn.open and s.subscriptions]  # fmt: skip
        targets: list[tuple[VenueConnection, list[int] | None]] = []
        for conn in self._connections():
            if conn.path.startswith(LISTEN_KEY_PATH):
                entry = self._listen_keys.get(_listen_key_of(conn))
                if entry is not None and entry.account == name:
                    targets.append((conn, None))
        return targets

    async def _send_event(self, event: LedgerEvent) -> None:
        sessions = self._streams_of(event.account)
        if not sessions:
            return
        if self.market == "spot":
            cancel_id = self._cancel_client_id(event.order.symbol, event.order.order_id)
            body = execution_report(event, cancel_client_id=cancel_id)
        else:
            body = futures_order_event(event, self.ledger.rules[event.order.symbol])
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _send_funding(self, payment: FundingPayment) -> None:
        """``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE``: the wallet alone (a cross position's funding
        carries no ``P``), ``bc`` the payment."""
        sessions = self._streams_of(payment.account)
        if not sessions:
            return
        settle = self.ledger.settle_asset
        body = account_update_event("FUNDING_FEE", payment.balance, settle, [], payment.time_ms, self.ledger.rules,
                                    balance_change=payment.payment)  # fmt: skip
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _send_account_state(self, name: str, symbols: Iterable[str]) -> None:
        sessions = self._streams_of(name)
        if not sessions:
            return
        account = self.ledger.accounts[name]
        now = self._now_ms()
        if self.market == "spot":
            assets = sorted({a for s in symbols for a in (self.ledger.rules[s].base, self.ledger.rules[s].quote)})
            body: dict[str, Any] = {
                "e": "outboundAccountPosition", "E": now, "u": now,
                "B": [{"a": a, "f": fixed(account.balance(a).free), "l": fixed(account.balance(a).locked)}
                      for a in assets],
            }  # fmt: skip
        else:
            positions = []
            for symbol in sorted(symbols):
                position = account.position(symbol)
                mark = self._mark_price(symbol) or position.entry_price
                positions.append((position, (mark - position.entry_price) * position.qty if position.qty else ZERO))
            wallet = account.balance(self.ledger.settle_asset).total
            body = account_update_event("ORDER", wallet, self.ledger.settle_asset, positions, now, self.ledger.rules)
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _deliver(self, conn: VenueConnection, subscriptions: list[int] | None, body: dict[str, Any]) -> None:
        if subscriptions is None:
            await self.events.write(conn, str(body["e"]), encode(body).decode())
            return
        for subscription in subscriptions:
            text = encode({"subscriptionId": subscription, "event": body}).decode()
            await self.events.write(conn, str(body["e"]), text)


class _MarkPrice(msgspec.Struct, frozen=True):
    """USD-M ``markPriceUpdate``: ``{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
    "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}``."""

    symbol: str = msgspec.field(name="s")
    mark_price: str = msgspec.field(name="p", default="")
    funding_rate: str = msgspec.field(name="r", default="")
    next_funding_ms: int = msgspec.field(name="T", default=0)


_decode_mark = msgspec.json.Decoder(_MarkPrice)


def funding_fields(text: str) -> FundingFields:
    """What a ``markPriceUpdate`` (raw, as the venue sent it) announces about funding."""
    mark = _decode_mark.decode(text)
    return mark.symbol, mark.mark_price, mark.funding_rate, mark.next_funding_ms


def _listen_key_of(conn: VenueConnection) -> str:
    return parse_qs(urlsplit(conn.path).query).get("listenKey", [""])[0]
