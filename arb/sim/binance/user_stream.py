"""The fake private Binance's accounts and user streams: the ledger, spot's WS-API user-data
subscriptions and USD-M's listen-key streams, and the events they carry.

:class:`BinanceUserStreams` holds the whole private venue's state; the classes above it
(:mod:`.private_rest`, :mod:`.accounts`, :mod:`.exchange`) add the REST side. Funding a
``<symbol>@markPrice`` stream shows passing is settled on the ledger here.
"""

from __future__ import annotations

__all__ = ["BinanceUserStreams"]

import hmac
import itertools
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from aiohttp import web

from arb.sim.binance.calls import (
    MSG_AHEAD,
    MSG_KEY_INVALID,
    MSG_NO_LISTEN_KEY,
    MSG_RECV_WINDOW,
    MSG_SIGNATURE,
    CountdownTrigger,
    Endpoint,
    ListenKey,
    WsApiAnswer,
    WsApiSession,
)
from arb.sim.binance.public import BinanceMarket, FakeBinanceVenue, SymbolSpec
from arb.sim.binance.wire import (
    account_update_event,
    execution_report,
    fixed,
    futures_order_event,
    plain,
    signature,
    ws_payload,
    ws_text,
)
from arb.sim.ledger import ZERO, FundingPayment, LedgerAccount, LedgerEvent, LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.private import FundingFields, LedgerVenue, encode
from arb.sim.replay import SessionSpec
from arb.sim.venue import VenueConnection

logger = logging.getLogger(__name__)


class BinanceUserStreams(LedgerVenue, FakeBinanceVenue):
    """The private venue's state (the ledger, keys, sessions, settings) and its user streams; see
    :class:`~arb.sim.binance.exchange.FakeBinanceExchange` for the arguments."""

    _BOOK_STREAM = "@depth"
    _FUNDING_STREAM = "@markPrice"
    _FUNDING_MESSAGE = "markPriceUpdate"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BinanceMarket = "spot",
        rules: Sequence[SymbolRules],
        options: VenueOptions | None = None,
        weight_limit: int | None = None,
        bans_after_429: int = 3,
        ban_s: float = 120.0,
        listen_key_ttl_s: float = 3600.0,
        ws_api_path: str = "/ws-api/v3",
    ) -> None:
        options = options if options is not None else VenueOptions()
        specs = {
            r.symbol: SymbolSpec(plain(r.tick_size), plain(r.step_size), plain(r.min_notional), r.base, r.quote)
            for r in rules
        }
        super().__init__(recordings, market=market, options=options, specs=specs, weight_limit=weight_limit)
        self.market: BinanceMarket = market
        spot = market == "spot"
        self._open_ledger(
            market,
            rules,
            options,
            linear_taker_fee="0.0005",
            client_id_scope="open",
            first_ids=(28_000_000_001, 309_520_001) if spot else (4_087_000_001, 272_536_001),
            ids_per_symbol=True,  # Binance numbers orders and trades per symbol
            post_only_taking="reject",  # LIMIT_MAKER -2010, GTX -5022: refused, never recorded
        )
        self.ws_api_path = ws_api_path
        self.max_leverage = options.max_leverage if options.max_leverage is not None else 125
        self.maintenance_rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.004")
        self._bans_after_429 = bans_after_429
        self._ban_s = ban_s
        self._refused_in_window = 0
        self._listen_key_ttl_s = listen_key_ttl_s
        self._listen_keys: dict[str, ListenKey] = {}
        self._countdowns: dict[tuple[str, str], tuple[int, float]] = {}
        self.countdown_triggers: list[CountdownTrigger] = []
        self._dual: dict[str, bool] = {}
        self._margin_type: dict[tuple[str, str], str] = {}
        self._order_counts: deque[float] = deque()
        self._cancel_ids = itertools.count(1)
        self._cancel_client_ids: dict[tuple[str, int], str] = {}
        """The client id Binance gives each cancel (spot ``executionReport`` ``c``; the order's is in ``C``)."""
        self._subscription_ids = itertools.count(0)
        self._sessions: dict[int, WsApiSession] = {}
        self.auth_log: list[tuple[int, int, bool]] = []
        """``(connection, error code or 0, success)`` of every WS-API user-stream subscription request."""
        self.ws_api_log: list[WsApiAnswer] = []
        """Every answer the WebSocket API sent to an order request, in order."""
        self._private = self._endpoint_table()
        """The private REST endpoints by method and path."""

    def _endpoint_table(self) -> dict[tuple[str, str], Endpoint]:
        """The private REST endpoints by method and path, as the venue's class names them."""
        return {}

    @property
    def private_ws_url(self) -> str:
        """The URL to configure as ``ws_private``: spot's WS-API (``ws://host:port/ws-api/v3``), or USD-M's
        user-stream base ``ws://host:port/ws`` (ccxt turns it into ``/private/ws?listenKey=...``)."""
        path = self.ws_api_path if self.market == "spot" else "/ws"
        return f"ws://{self.host}:{self.ports[0]}{path}"

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``, as text (numbered per symbol, as Binance does:
        another symbol's order can have the same)."""
        return str(order.order_id)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The trade ``id`` the venue sends for ``trade``, as text (numbered per symbol, as Binance does)."""
        return str(trade.trade_id)

    def _is_user_stream(self, conn: VenueConnection) -> bool:
        return conn.id in self._sessions or self._is_private_path(conn.path)

    def user_stream_count(self) -> int:
        """Open user-stream connections that would receive this venue's events."""
        return sum(len(self._streams_of(name)) for name in self.ledger.accounts)

    def user_streams_up(self) -> bool:
        """A WS-API subscription or a listen-key stream is open (``user_stream_count``)."""
        return self.user_stream_count() >= 1

    # -- funding ---------------------------------------------------------------------------------

    def _funding_fields(self, text: str) -> FundingFields:
        mark = _decode_mark.decode(text)
        return mark.symbol, mark.mark_price, mark.funding_rate, mark.next_funding_ms

    def _is_private_path(self, path: str) -> bool:
        return path.startswith(self.ws_api_path) or path.startswith("/private/ws")

    # -- USD-M listen-key streams --------------------------------------------------------------------

    async def _expire_listen_keys(self) -> None:
        now = self._clock()
        for key, entry in list(self._listen_keys.items()):
            if entry.expires_s > now:
                continue
            del self._listen_keys[key]
            for conn in self.connections:
                if conn.path.startswith("/private/ws") and _listen_key_of(conn) == key:
                    event = {"e": "listenKeyExpired", "E": self._now_ms(), "listenKey": key}
                    await self.events.write(conn, "listenKeyExpired", encode(event).decode())
                    await conn.close(1000, "listenKey expired")

    async def _handle_listen_key_stream(self, request: web.Request) -> web.StreamResponse:
        """``/private/ws?listenKey=...``: the account's events, raw (``{"e":"ORDER_TRADE_UPDATE",...}``)."""
        key = request.query.get("listenKey", "")
        entry = self._listen_keys.get(key)
        if entry is None or entry.expires_s <= self._clock():
            return web.Response(status=400, body=encode({"code": -1125, "msg": MSG_NO_LISTEN_KEY}),
                                content_type="application/json")  # fmt: skip
        return await self._serve_ws(request, streams=(), combined=False)

    # -- spot WS-API -----------------------------------------------------------------------------

    def _sweep_sessions(self) -> None:
        for conn_id, session in list(self._sessions.items()):
            if not session.conn.open:
                del self._sessions[conn_id]
        self._notify()

    def _session(self, conn: VenueConnection) -> WsApiSession:
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = WsApiSession(conn)
        return session

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        if not self._is_private_path(conn.path):
            await super()._on_text(conn, text)
            return
        if conn.path.startswith("/private/ws"):
            self.stats.ignored_messages += 1  # the listen-key stream takes no requests
            return
        session = self._session(conn)
        request = self._request(conn, text, "method", logger, "WS-API connection %d: not a request: %.200r")
        if request is None:
            await self._ws_api_answer(conn, None, 400, error=(-1000, "Malformed request."))
            return
        raw_params = request.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        await self._ws_api_method(session, request.get("id"), request["method"], params)
        self._notify()

    async def _ws_api_method(self, session: WsApiSession, request_id: Any, method: str, params: dict[str, Any]) -> None:
        """Answer one WS-API request: spot's user-data subscriptions, ``ping`` and ``time``."""
        conn = session.conn
        if method == "userDataStream.subscribe.signature":
            await self._subscribe_signature(session, request_id, params)
        elif method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            dropped = [s for s in session.subscriptions if wanted is None or s == wanted]
            session.subscriptions = [s for s in session.subscriptions if s not in dropped]
            await self._ws_api_answer(conn, request_id, 200, result={})
        elif method == "session.subscriptions":
            await self._ws_api_answer(conn, request_id, 200, result=[{"subscriptionId": s}
                                                                     for s in session.subscriptions])  # fmt: skip
        elif method == "ping":
            await self._ws_api_answer(conn, request_id, 200, result={})
        elif method == "time":
            await self._ws_api_answer(conn, request_id, 200, result={"serverTime": self._now_ms()})
        else:
            await self._ws_api_answer(conn, request_id, 400, error=(-1000, f"Unknown method '{method}'."))

    async def _ws_api_answer(
        self, conn: VenueConnection, request_id: Any, status: int, *, result: Any = None,
        error: tuple[int, str] | None = None, error_data: Mapping[str, Any] | None = None,
        rate_limits: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:  # fmt: skip
        """Send ``{"id","status","result"|"error","rateLimits"}``; ``rate_limits`` default to the request
        weight alone, an empty list leaves the field out (``returnRateLimits`` false)."""
        answer: dict[str, Any] = {"id": request_id, "status": status}
        if error is not None:
            answer["error"] = {"code": error[0], "msg": error[1], **({"data": error_data} if error_data else {})}
        else:
            answer["result"] = result
        if rate_limits is None:
            rate_limits = [self.weight.limits()]
        if rate_limits:
            answer["rateLimits"] = rate_limits
        await conn.send_control(encode(answer).decode())

    def _verify_signed(self, params: Mapping[str, Any]) -> tuple[LedgerAccount | None, tuple[int, int, str] | None]:
        """The account a signed WS-API request's ``apiKey`` names, or its refusal ``(status, code, msg)``:
        401 ``-2015`` for the key, 400 ``-1102`` or ``-1021`` for the time, ``-1131`` for the window,
        ``-1022`` for the ``signature`` (over the other params sorted by name, :func:`ws_payload`)."""
        api_key = str(params.get("apiKey", ""))
        account = self.ledger.account_for_key(api_key) if api_key else None
        timestamp = ws_text(params.get("timestamp", ""))
        window = ws_text(params.get("recvWindow", "5000"))
        now_ms = self._now_ms()
        if account is None:
            return None, (401, -2015, MSG_KEY_INVALID)
        if not timestamp.isdigit() or not window.isdigit():
            return None, (400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        if int(window) > 60_000:
            return None, (400, -1131, "recvWindow must be less than 60000")
        if int(timestamp) >= now_ms + 1000:
            return None, (400, -1021, MSG_AHEAD)
        if now_ms - int(timestamp) > int(window):
            return None, (400, -1021, MSG_RECV_WINDOW)
        expected = signature(account.api_secret, ws_payload(params))
        if not hmac.compare_digest(ws_text(params.get("signature", "")), expected):
            return None, (400, -1022, MSG_SIGNATURE)
        return account, None

    async def _subscribe_signature(self, session: WsApiSession, request_id: Any, params: Mapping[str, Any]) -> None:
        """``userDataStream.subscribe.signature`` with ``apiKey``, ``timestamp``, ``recvWindow``,
        ``signature`` (:meth:`_verify_signed`): ``{"result":{"subscriptionId":N}}``."""
        conn = session.conn
        account, refusal = self._verify_signed(params)
        if refusal is not None:
            self.auth_log.append((conn.id, refusal[1], False))
            await self._ws_api_answer(conn, request_id, refusal[0], error=(refusal[1], refusal[2]))
            return
        assert account is not None
        if session.account not in (None, account.name):
            await self._ws_api_answer(conn, request_id, 400, error=(-1000, "Another account is subscribed."))
            return
        session.account = account.name
        subscription = next(self._subscription_ids)
        session.subscriptions.append(subscription)
        self.auth_log.append((conn.id, 0, True))
        await self._ws_api_answer(conn, request_id, 200, result={"subscriptionId": subscription})

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
        for conn in self.connections:
            if conn.path.startswith("/private/ws"):
                entry = self._listen_keys.get(_listen_key_of(conn))
                if entry is not None and entry.account == name:
                    targets.append((conn, None))
        return targets

    async def _send_event(self, event: LedgerEvent) -> None:
        sessions = self._streams_of(event.account)
        if not sessions:
            return
        if self.market == "spot":
            cancel_id = self._cancel_client_ids.get((event.order.symbol, event.order.order_id), "")
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


def _listen_key_of(conn: VenueConnection) -> str:
    return parse_qs(urlsplit(conn.path).query).get("listenKey", [""])[0]
