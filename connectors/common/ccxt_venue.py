"""What the ccxt-based venue adapters share: the client set-up, order creation and the user stream.

ccxt is pinned (``pyproject.toml``): its URL routing, error tables and user streams change between
releases. Every client an adapter makes (:meth:`CcxtVenue.make_client`):

- talks to the venue's configured REST base (every API family of ccxt, not just ``public`` and
  ``private``, so no call wanders off to a live host) and private WebSocket base;
- never retries on its own (``maxRetriesOnFailure = 0``) and never throttles on its own
  (``enableRateLimit = False``): arb decides every retry and reads the venues' weight headers;
- makes no surprise calls: no currency or margin-pair listing at market load, only the one market
  type arb trades (each venue's :meth:`CcxtVenue.ccxt_options` says how);
- carries the API key and secret given here (read from the environment by the caller), nowhere else;
- closes at once when its REST base and private stream are plain TCP (``http://``, ``ws://``: a loopback
  fake venue): ccxt's close waits 250 ms (``timeout_on_exit``) for TLS connections to shut down, and
  there are none.

A venue's adapter (``connectors/<venue>/private.py``) subclasses :class:`CcxtVenue` and fills in what
differs: the ccxt class and options, where the URLs go, the create request's extra parameters, and the
requests behind each operation of :class:`~connectors.common.private.PrivateVenue`.

Order entry over the venue's WebSocket (the venue file's ``order_entry = "websocket"``) is a transport,
not another request: a create or cancel carries the REST endpoint's body (:meth:`CcxtVenue.socket_create`,
the one ccxt's ``create_order`` builds from :meth:`CcxtVenue.create_params`, checked equal by the tests)
and its answer is read as REST's (the framing's ``status`` and ``body``), so the executor's outcome rule
applies unchanged. arb's own client (:mod:`connectors.common.order_socket`), not ccxt pro's
``create_order_ws``: ccxt takes 230-330 us from the call to the frame handed to the socket, arb's 45-70
(``benchmarks/bench_order_entry.py``). Nothing handed to the socket: the order goes by REST with the same
client id. Handed over, then no answer: unknown, resolved by a query, never sent again.
"""

from __future__ import annotations

__all__ = ["CcxtVenue", "cursor_pages", "landed", "path_of", "renew_until_stopped", "result_list"]

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, Unpack, get_args
from urllib.parse import urlsplit

import ccxt
import msgspec
from ccxt.base.types import Entry

from arb.errors import VenueError
from connectors.common.order_entry import CreateSigner, OrderEntry, Outgoing, SignedRest
from connectors.common.order_socket import AnswerLostError, Framing, NotSentError, OrderSocket
from connectors.common.orders import VenueOrderUpdate
from connectors.common.private import (
    AnswerRules,
    ClientOptions,
    DeadManScope,
    FundingPayment,
    MarginMode,
    Market,
    OrderRequest,
    PrivateLink,
    RateUse,
    Stream,
    SymbolRef,
)
from connectors.common.rest_lane import PreparedCreate, RestOutgoing, verified_tls

log = logging.getLogger(__name__)

ZERO = Decimal(0)
T = TypeVar("T")
_encode = msgspec.json.Encoder().encode


def _plain(url: str) -> bool:
    # an unencrypted URL: no TLS transport to shut down when the client closes
    return urlsplit(url).scheme in ("http", "ws")


def path_of(url: str) -> str:
    """The path of ``url`` without a trailing slash (``"https://api.binance.com/api/v3/"`` -> ``"/api/v3"``)."""
    return urlsplit(url).path.rstrip("/")


async def landed(request: Awaitable[Any]) -> Any:
    """Await ``request`` (a dead-man's switch renewal) to its answer even when the caller is cancelled meanwhile,
    then let the cancellation through. A stop cancels the renewing task, then disarms the switch: a renewal
    cancelled after its bytes left would reach the venue after the disarm, and arm the switch again, which
    then cancels orders placed after arb stopped (a person's)."""
    sending = asyncio.ensure_future(request)
    try:
        return await asyncio.shield(sending)
    except asyncio.CancelledError:
        await asyncio.wait([sending])
        if not sending.cancelled() and (error := sending.exception()) is not None:  # read: not left to asyncio
            log.warning("a dead-man's switch renewal sent as arb stopped failed: %s", error)
        raise


async def renew_until_stopped(
    link: PrivateLink,
    venue: str,
    renewals: Sequence[tuple[str, Callable[[], Awaitable[Any]]]],
    pause_s: float,
    *,
    armed: bool,
) -> None:
    """Renew a dead-man's switch every ``pause_s`` until ``link.stopping``: the first turn at once, or
    ``pause_s`` from now when ``armed`` (the switch was just set). A turn sends each of ``renewals`` (what a
    warning calls it, and the request) to its answer (:func:`landed`); one the venue refuses
    (:class:`~arb.errors.VenueError`) is logged and sent again at the next turn."""
    if armed:
        await asyncio.sleep(pause_s)  # the renewal's pace, not a wait for a condition
    while not link.stopping:
        for what, renew in renewals:
            try:
                await landed(renew())
            except VenueError as error:
                log.warning("%s: %s not renewed (%s); retrying", venue, what, error)
        await asyncio.sleep(pause_s)


def result_list(response: Any) -> list[Any]:
    """``result.list`` of a Bybit-style envelope (``{"retCode":0,"result":{"list":[...]}}``), empty when absent."""
    return list(((response or {}).get("result") or {}).get("list") or [])


async def cursor_pages(page_at: Callable[[str], Awaitable[tuple[list[T], str]]], size: int) -> list[T]:
    """Every row of a list a venue serves a page at a time: ``page_at(cursor)`` is the page at ``cursor`` (``""``:
    the first) and the cursor of the next. The walk ends after a page shorter than ``size`` (an empty one too), a
    page with no next cursor, or one whose next cursor came before (a venue that loops)."""
    rows: list[T] = []
    cursor, seen = "", set[str]()
    while True:
        page, cursor = await page_at(cursor)
        rows += page
        if len(page) < size or not cursor or cursor in seen:
            return rows
        seen.add(cursor)


class CcxtVenue:
    """The shared part of a ccxt-based :class:`~connectors.common.private.PrivateVenue` for ``market``."""

    venue: ClassVar[str]
    answers: ClassVar[AnswerRules]
    unchanged_codes: ClassVar[frozenset[str]] = frozenset()
    """Codes a settings request answers when the setting already holds ("No need to change ...")."""
    reduce_only_any_notional: bool = False
    reduce_only_past_throttle: bool = False
    rest_paths: ClassVar[bool] = False
    """True when each of ccxt's REST families keeps its path on the REST base (Binance: ``public`` ->
    ``/api/v3``); False when the families are bare hosts that each become the base (Bybit)."""

    def __init__(self, market: Market) -> None:
        if market not in get_args(Market):
            raise ValueError(f"{self.venue}: expected market spot or linear, got {market!r}")
        self.market: Market = market

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.market!r})"

    @property
    def spot(self) -> bool:
        return self.market == "spot"

    @property
    def dead_man(self) -> DeadManScope:
        """What the venue-market's dead-man's switch covers (none unless the venue says otherwise)."""
        return DeadManScope.NONE

    # -- the client --------------------------------------------------------------------------------

    def ccxt_class(self) -> str:
        """The ccxt exchange class of the market (``"binanceusdm"``)."""
        raise NotImplementedError

    def ccxt_options(self) -> dict[str, Any]:
        """The venue's ccxt options that keep market loading to the one market type."""
        raise NotImplementedError

    def rest_urls(self, default_api: Mapping[str, Any], rest_base: str) -> dict[str, Any]:
        """ccxt's ``urls['api']`` with every REST family moved onto ``rest_base`` (``ws`` left as it is),
        keeping its path there when :attr:`rest_paths` says so."""
        base = rest_base.rstrip("/")
        keep = self.rest_paths
        return {
            family: (base + path_of(url) if keep else base) if family != "ws" and isinstance(url, str) else url
            for family, url in default_api.items()
        }

    def ws_urls(self, default_ws: Mapping[str, Any], ws_private: str) -> dict[str, Any]:
        """ccxt pro's ``urls['api']['ws']`` with the market's private stream on ``ws_private``."""
        raise NotImplementedError

    def configure(self, exchange: Any) -> None:
        """Adjust a made client where ccxt has no option for it (nothing by default)."""

    def market_id(self, symbol: str) -> str:
        """The venue's id of arb's ``symbol``: the same name by default (``"BTCUSDT"``)."""
        return symbol

    def markets_loaded(self, exchange: Any) -> None:
        """Nothing to read of the loaded markets by default."""

    def make_client(self, *, rest: str, **options: Unpack[ClientOptions]) -> Any:
        """A ccxt async client (``pro``: with user streams) for the market on these URLs (see
        :class:`~connectors.common.private.ClientOptions`); the caller closes it."""
        if options.get("pro", False):
            import ccxt.pro as module
        else:
            import ccxt.async_support as module
        settings: dict[str, Any] = {
            "maxRetriesOnFailure": 0,
            "recvWindow": options.get("recv_window_ms", 5_000),
            **self.ccxt_options(),
        }
        config: dict[str, Any] = {"enableRateLimit": False, "timeout": options.get("timeout_ms", 10_000)}
        config["ssl_context"] = verified_tls()  # the process's one context (ccxt would make its own per client)
        config["options"] = settings
        for name, key in (("apiKey", "api_key"), ("secret", "api_secret"), ("password", "api_password"),
                          ("session", "session")):  # fmt: skip
            value = options.get(key)
            if value is not None:
                config[name] = value
        exchange = getattr(module, self.ccxt_class())(config)
        api = self.rest_urls(exchange.urls["api"], rest)
        ws_private = options.get("ws_private")
        if ws_private is not None and "ws" in api:
            api["ws"] = self.ws_urls(api["ws"], ws_private)
        exchange.urls["api"] = api
        if _plain(rest) and (ws_private is None or _plain(ws_private)):
            exchange.timeout_on_exit = 0  # ccxt's wait for TLS transports to close; none to wait for
        self.configure(exchange)
        return exchange

    def rate_limits(self, exchange: Any) -> dict[str, int]:
        """The limits published at market load, by count name (none by default)."""
        return {}

    def rate_use(self, headers: Mapping[str, str], now_ns: int, limits: Mapping[str, int]) -> RateUse:
        """What one response's headers (names in lower case) say of the request budget (nothing by default)."""
        return RateUse()

    # -- orders --------------------------------------------------------------------------------------

    def create_params(self, order: OrderRequest) -> dict[str, Any]:
        """ccxt ``create_order``'s ``params`` for ``order``: time in force, client id, the venue's own."""
        params: dict[str, Any] = {"timeInForce": order.time_in_force.value, "clientOrderId": order.client_id}
        params.update(self.venue_create_params(order))
        if order.reduce_only:
            params["reduceOnly"] = True
        return params

    def venue_create_params(self, order: OrderRequest) -> dict[str, Any]:
        """What the venue adds to a create request (nothing by default)."""
        return {}

    rest_create: ClassVar[str] = ""
    """The create endpoint's implicit ccxt method (``"privatePostV5OrderCreate"``)."""

    def prepare_create(self, link: PrivateLink, order: OrderRequest) -> PreparedCreate | None:
        """The create of ``order`` built and signed now: for the order WebSocket while it is up (the caller
        writes it, :meth:`Outgoing.write`), else the REST request ccxt's ``create_order`` would send, signed
        by ccxt (None: an order only ``create_order`` words); passed to :meth:`create`."""
        entry = link.order_entry
        if entry is not None and entry.ready:
            return entry.outgoing(*self.socket_create(order))
        try:
            _, params = self.socket_create(order)
        except NotSentError:
            return None
        signer, exchange = link.create_signer, link.exchange
        rest = signer.sign(params, exchange.nonce()) if signer is not None else self.ccxt_signed(exchange, params)
        lane = link.rest_lane
        return lane.outgoing(rest) if lane is not None and lane.serves(rest.url) else rest

    def ccxt_signed(self, exchange: Any, params: dict[str, Any]) -> SignedRest:
        """The create with ``params`` (:meth:`socket_create`'s) as ccxt's ``sign`` makes it for ``exchange``,
        as it is sent (:meth:`signed_rest`)."""
        route = _endpoint(exchange.__class__, self.rest_create_method())
        signed = exchange.sign(route.path, route.api, route.method, params)
        return self.signed_rest(SignedRest(signed["url"], signed["method"], signed.get("headers"), signed.get("body")))

    def signed_rest(self, signed: SignedRest) -> SignedRest:
        """The signed create as it is sent (as ccxt signed it by default)."""
        return signed

    def create_signer(self, exchange: Any) -> CreateSigner | None:
        """The venue's own signing of a create (:meth:`own_create_signer`) for ``exchange``, when it gives
        the request ccxt's ``sign`` gives, byte for byte: checked now on one create, signed both ways at
        the timestamp ccxt used. None (ccxt signs every create; the log says why, naming no value) when
        the venue has none or they differ: another ccxt release, a key signed another way (RSA, Ed25519).

        Both legs of a decision are signed before either is written: ccxt's generic ``sign`` takes 15-18 us
        a create on a warm CPU, a venue's own 3-5 (``benchmarks/bench_create_signing.py``; the decision's
        first pass runs cold, several times that)."""
        params = self.socket_create(OrderRequest("BTCUSDT", "BTC/USDT", 1, "0.001", "100.5", "arb-check-1-0"))[1]
        try:
            reference = self.ccxt_signed(exchange, dict(params))
        except ccxt.BaseError:  # no key to sign with: ccxt says so at the first request, as without this
            return None
        signer = self.own_create_signer(exchange, reference)
        if signer is None:
            return None
        stamp = signer.timestamp_of(reference)
        mine = signer.sign(params, stamp) if stamp is not None else None
        differ = [part for part in ("url", "method", "headers", "body")
                  if mine is None or _wire(getattr(mine, part)) != _wire(getattr(reference, part))]  # fmt: skip
        if differ:
            log.warning("%s: arb's own signing of a create differs from ccxt's (%s): ccxt signs every create",
                        self.venue, ", ".join(differ))  # fmt: skip
            return None
        return signer

    def own_create_signer(self, exchange: Any, reference: SignedRest) -> CreateSigner | None:
        """The venue's signing of a create for ``exchange``, made from ``reference`` (one create as ccxt
        signed it: its URL and fixed headers), or None: ccxt signs (the default)."""
        return None

    def rest_create_method(self) -> str:
        """The create endpoint's implicit ccxt method for this market (:attr:`rest_create`)."""
        return self.rest_create

    async def create(
        self, link: PrivateLink, order: OrderRequest, outgoing: PreparedCreate | None = None
    ) -> dict[str, Any] | None:
        """Send one limit order over the order WebSocket while it is up, else (or when nothing could be
        handed to it) through ccxt's ``create_order``, the same client id; returns the venue's reply body
        (ccxt's ``info``). Raises whatever the client raised: the executor decides the outcome from the wire.
        ``outgoing``: the create prepared by :meth:`prepare_create`, written by the caller (or not yet:
        written now): its answer is awaited; a :class:`SignedRest` is sent as it is."""
        entry = link.order_entry
        if isinstance(outgoing, RestOutgoing):
            outgoing.write()
            if outgoing.written_ns:
                body = await _rest_answer(link, outgoing)
                return self.create_reply(body) if isinstance(body, dict) else None
            outgoing = outgoing.signed  # no idle connection: nothing left, ccxt's client sends it
        if isinstance(outgoing, SignedRest):
            body = await link.exchange.fetch(outgoing.url, outgoing.method, outgoing.headers, outgoing.body)
            return self.create_reply(body) if isinstance(body, dict) else None
        if outgoing is not None:
            outgoing.write()
            if outgoing.written_ns:
                return self.create_reply(await self.socket_answer(link, outgoing))
            log.info("%s: %s not sent over the order WebSocket (%s): by REST, the same client id",
                     link.name, order.client_id, outgoing.error)  # fmt: skip
        elif entry is not None and entry.ready:
            try:
                operation, params = self.socket_create(order)
                return self.create_reply(await self.socket_request(link, entry, operation, params))
            except NotSentError as error:
                log.info("%s: %s not sent over the order WebSocket (%s): by REST, the same client id",
                         link.name, order.client_id, error)  # fmt: skip
        result = await link.exchange.create_order(
            order.ccxt_symbol,
            "limit",
            "buy" if order.side > 0 else "sell",
            order.qty,
            order.price,
            self.create_params(order),
        )
        reply = result.get("info") if isinstance(result, dict) else None
        return reply if isinstance(reply, dict) else None

    async def send_cancel(self, link: PrivateLink, method: str, params: Mapping[str, Any]) -> Any:
        """One cancel request: over the order WebSocket while it is up (else by REST, ccxt's implicit
        ``method``), the same ``params``; returns the venue's body, raises VenueError as ``link.request``."""
        entry = link.order_entry
        if entry is not None and entry.ready:
            try:
                return await link.call(lambda: self.socket_request(link, entry, self.socket_cancel_op, params))
            except NotSentError as error:
                log.info("%s: cancel not sent over the order WebSocket (%s): by REST", link.name, error)
        return await link.request(method, params)

    # -- order entry over WebSocket -----------------------------------------------------------------------

    socket_cancel_op: ClassVar[str] = ""
    """The order WebSocket's cancel operation (the venue's name for it, such as ``order.cancel``)."""
    socket_time_in_force: ClassVar[Mapping[str, str]] = {"IOC": "IOC", "GTC": "GTC", "FOK": "FOK"}
    """arb's time in force -> the create body's ``timeInForce`` (what ccxt's create sends over REST)."""

    def time_in_force(self, order: OrderRequest) -> str:
        """The create body's ``timeInForce`` of ``order``; NotSentError for one the socket cannot word
        (the order then goes by REST)."""
        wording = self.socket_time_in_force.get(order.time_in_force.value)
        if wording is None:
            raise NotSentError(f"no WebSocket wording of time in force {order.time_in_force.value}")
        return wording

    def framing(self, api_key: str, api_secret: str) -> Framing:
        """The venue's order WebSocket wire for this key."""
        raise NotImplementedError

    def order_entry(
        self, url: str, *, api_key: str, api_secret: str, request_timeout_ms: int, api_password: str | None = None
    ) -> OrderEntry:
        """The market's order WebSocket at ``url``, not started (see :class:`OrderEntry`); ``api_password``
        is for a venue whose keys have one (its own :meth:`order_entry` reads it)."""
        name = f"{self.venue} {self.market}"
        socket = OrderSocket(url, self.framing(api_key, api_secret), name=f"{name} order entry")
        return OrderEntry(socket, name=name, request_timeout_s=request_timeout_ms / 1000)

    def socket_create(self, order: OrderRequest) -> tuple[str, dict[str, Any]]:
        """The create request as the REST endpoint's body (what ccxt's ``create_order`` sends for
        :meth:`create_params`), and its operation; raises NotSentError for an order it cannot word."""
        raise NotImplementedError

    def create_reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """What :meth:`create` returns of an accepted create's answer body, over the socket or a signed REST
        request (what ccxt's ``create_order`` keeps as ``info``)."""
        return body

    def socket_headers(self, body: Mapping[str, Any], status: int) -> dict[str, str]:
        """The REST headers an answer stands for (a rate limit's ``Retry-After``; none by default)."""
        return {}

    async def socket_request(
        self, link: PrivateLink, entry: OrderEntry, operation: str, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """One request over the order WebSocket, recorded on ``link`` as an HTTP request would be; returns
        the accepted answer's body. Raises NotSentError (nothing left: REST may take it) and, as ccxt
        would, ``RequestTimeout`` (no answer in time), ``NetworkError`` (the connection closed after the
        request was handed over) or ``ExchangeError`` (refused): the caller words it from the record."""

        def written(written_ns: int) -> None:
            link.wire_written(f"WS {operation}", entry.url, written_ns)

        return await self._answered(link, entry, operation, entry.request(operation, params, written))

    async def socket_answer(self, link: PrivateLink, outgoing: Outgoing) -> dict[str, Any]:
        """The answer to a request written ahead (:meth:`prepare_create`), recorded on ``link`` as
        :meth:`socket_request` records one; raises as it does."""
        entry, operation = outgoing.entry, outgoing.operation
        link.wire_written(f"WS {operation}", entry.url, outgoing.written_ns)
        return await self._answered(link, entry, operation, outgoing.answer())

    async def _answered(
        self,
        link: PrivateLink,
        entry: OrderEntry,
        operation: str,
        answer: Awaitable[tuple[int, dict[str, Any], dict[str, str]]],
    ) -> dict[str, Any]:
        # A request's answer read as REST's: ccxt's errors for a lost connection, a timeout, a refusal
        try:
            status, body, headers = await answer
        except AnswerLostError as error:
            raise ccxt.NetworkError(f"{link.name}: {error}") from error
        except TimeoutError as error:
            raise ccxt.RequestTimeout(
                f"{link.name}: no answer to {operation} in {entry.request_timeout_s:g} s"
            ) from error
        link.wire_answered(status, _encode(body), {**headers, **self.socket_headers(body, status)})
        rules = self.answers
        if status != 200 or str(body.get(rules.code_field, "")) != rules.ok_code:
            raise ccxt.ExchangeError(f"{link.name}: {operation} refused: {status} {body}")
        return body

    def open_updates(self, rows: Sequence[Any]) -> list[VenueOrderUpdate]:
        """The open orders among REST order rows (what :meth:`order_update` reads, none terminal)."""
        updates = [self.order_update(row) for row in rows if isinstance(row, dict)]
        return [u for u in updates if u is not None and not u.state.terminal]

    def order_update(self, raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
        raise NotImplementedError

    # -- the user stream ------------------------------------------------------------------------------

    async def watch(self, link: PrivateLink, what: Stream) -> list[dict[str, Any]]:
        """The next messages of ccxt pro's user stream (no symbol: every symbol's of the account's one
        private connection), as the venue's raw JSON (ccxt's ``info`` of each item)."""
        exchange = link.exchange
        items = await (exchange.watch_orders() if what == "orders" else exchange.watch_my_trades())
        out = []
        for item in items:
            info = item.get("info") if isinstance(item, dict) else None
            if isinstance(info, dict):
                out.append(info)
        return out

    # -- the account and the dead-man's switch (spot: nothing) ---------------------------------------

    async def position_and_entry(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        """The signed position and its entry price; ``(0, 0)`` on spot (holdings are balances)."""
        if self.spot:
            return ZERO, ZERO
        return await self.linear_position(link, symbol)

    async def linear_position(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        raise NotImplementedError

    async def funding_income(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """The funding payments of ``symbol`` since ``since_ms``; spot has none."""
        if self.spot:
            return []
        return await self.linear_funding(link, symbol, since_ms)

    async def linear_funding(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        raise NotImplementedError

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """Nothing to arm (a venue-market without a switch)."""

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Nothing to keep (a venue-market without a switch)."""

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """Nothing to turn off (a venue-market without a switch)."""
        return False

    # -- a perpetual's settings (linear) ----------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """Nothing account-wide to set (unless the venue says otherwise)."""
        return []

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        raise NotImplementedError

    async def setting(self, link: PrivateLink, method: str, params: Mapping[str, Any]) -> bool:
        """Send one settings request; True when it changed something, False when the venue answers one of
        :attr:`unchanged_codes` (the setting already held). Raises :class:`~arb.errors.VenueError`."""
        try:
            await link.request(method, params)
        except VenueError as error:
            if error.code in self.unchanged_codes:
                return False
            raise
        return True


async def _rest_answer(link: PrivateLink, outgoing: RestOutgoing) -> Any:
    # A create written on the REST lane, its answer read as ccxt's fetch reads one: the wire recorded as
    # aiohttp's hooks record it, ccxt's errors for a lost connection, a timeout or the venue's refusal
    exchange, signed = link.exchange, outgoing.signed
    url = signed.url.split("?", 1)[0]
    link.wire_written(f"{signed.method} {urlsplit(url).path}", url, outgoing.written_ns)
    try:
        status, reason, headers, raw = await outgoing.answer()
    except AnswerLostError as error:
        raise ccxt.ExchangeNotAvailable(f"{exchange.id} {signed.method} {url}: {error}") from error
    except TimeoutError as error:
        raise ccxt.RequestTimeout(f"{exchange.id} {signed.method} {url}") from error
    link.wire_answered(status, raw, headers)
    text = exchange.on_rest_response(status, reason, signed.url, signed.method, headers, raw.decode(errors="replace"),
                                     signed.headers, signed.body)  # fmt: skip
    body = exchange.parse_json(text)
    if exchange.enableLastResponseHeaders:
        exchange.last_response_headers = headers
    if exchange.enableLastJsonResponse:
        exchange.last_json_response = body
    exchange.handle_errors(status, reason, signed.url, signed.method, headers, text, body, signed.headers, signed.body)
    exchange.handle_http_status_code(status, reason, signed.url, signed.method, text)
    return body


@functools.cache
def _endpoint(client: Any, method: str) -> Entry[Any]:
    # The implicit method's declaration in ccxt's API tables (its path, API family and verb): the async
    # client's own method wraps it
    for klass in client.__mro__:
        entry = klass.__dict__.get(method)
        if isinstance(entry, Entry):
            return entry
    raise AttributeError(f"{client.__name__} declares no endpoint {method}")


def _wire(value: Any) -> Any:
    # What a request's part is on the wire: a header's order is
    return list(value.items()) if isinstance(value, dict) else value
