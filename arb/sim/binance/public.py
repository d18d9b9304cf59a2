"""A fake Binance (spot or USD-M futures) that replays collector recordings on loopback.

It speaks Binance's public market-data wire formats as documented on developers.binance.com
(spot "WebSocket Streams", "Market Data endpoints", "LIMITS"; USD-M "Live Subscribing/Unsubscribing
to streams", "Order Book"), so arb's real feeds and REST clients run against it unchanged, pointed at
it through configuration:

* ``/stream?streams=a/b/c``: combined streams, each frame ``{"stream":"<name>","data":<payload>}``
  exactly as recorded; ``/ws`` and ``/ws/<stream>``: raw streams, the payload alone. Both accept
  ``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY``/``GET_PROPERTY`` (combined).
* The server sends WebSocket pings every ``ping_interval`` seconds (Binance: 20 s) and closes a
  connection that leaves one unanswered for ``pong_timeout`` (Binance: one minute).
* USD-M with ``funding=`` (a :class:`~arb.sim.funding.FundingSchedule` per symbol):
  ``<symbol>@markPrice@1s``, a ``markPriceUpdate`` each time the recording's exchange time passes a
  whole second (``E`` that second; ``p``, ``i`` and ``P`` the venue's mid price, 8 decimals; ``r``
  and ``T`` the schedule's next funding), in USD-M's documented format. A recording holds no such
  frames of its own (a recorded ``@markPrice`` stream passes through like any other); and
  ``GET /fapi/v1/fundingInfo`` lists the symbols whose schedule's interval is not 8 hours.
* ``GET /api/v3/depth`` (spot) or ``/fapi/v1/depth`` (USD-M) from the venue's own book, with the
  request weight Binance documents for the ``limit`` counted in ``x-mbx-used-weight(-1m)``;
  ``GET /api/v3/exchangeInfo`` or ``/fapi/v1/exchangeInfo`` with PRICE_FILTER, LOT_SIZE and NOTIONAL
  (spot) or MIN_NOTIONAL (USD-M) built from the constructor's tick and lot sizes.
"""

from __future__ import annotations

__all__ = ["VENUE", "BinanceMarket", "FakeBinanceVenue", "SymbolSpec", "depth_weight"]

import json
import logging
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from arb.sim.binance.symbols import (
    BinanceMarket,
    SymbolSpec,
    depth_weight,
    exchange_info,
    futures_symbol,
    spot_symbol,
    symbol_assets,
)
from arb.sim.binance.weight import RequestWeight
from arb.sim.book import PriceLevelBook
from arb.sim.funding import HOUR_MS
from arb.sim.options import VenueOptions
from arb.sim.replay import Classified, FrameKind, ReplayFrame, SessionSpec
from arb.sim.venue import BookView, FakeVenue, OutFrame, VenueConnection

logger = logging.getLogger(__name__)


# A diff-depth stream (``<symbol>@depth`` with an optional update speed) moves the book; partial
# depth streams (``@depth5``) and everything else only pass through.
_DIFF_STREAM = re.compile(r"^[a-z0-9]+@depth(@\d+ms)?$")
# What Binance accepts as a stream name in SUBSCRIBE (anything else: "Invalid request: invalid stream").
_STREAM_NAME = re.compile(r"^[A-Za-z0-9!_.\-]+@[A-Za-z0-9_@.\-]+$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9\-_]{1,36}$")
_RECENT_DIFFS = 20_000

_METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"


# -- wire structs (Binance field names mapped to descriptive ones) ---------------------------------


class _Envelope(msgspec.Struct):
    stream: str
    data: msgspec.Raw


class _EventTime(msgspec.Struct):
    event_time_ms: int | None = msgspec.field(name="E", default=None)


class _Head(msgspec.Struct):
    """A combined-stream frame as far as classifying it goes: the stream, and the event time of its data."""

    stream: str
    data: _EventTime


class _DepthUpdate(msgspec.Struct):
    """``depthUpdate`` payload: spot has E/U/u, USD-M adds T (transaction time) and pu."""

    event_time_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    first_update_id: int = msgspec.field(name="U")
    last_update_id: int = msgspec.field(name="u")
    bids: list[tuple[str, str]] = msgspec.field(name="b")
    asks: list[tuple[str, str]] = msgspec.field(name="a")
    transaction_time_ms: int | None = msgspec.field(name="T", default=None)
    prev_last_update_id: int | None = msgspec.field(name="pu", default=None)


class _RestSnapshot(msgspec.Struct):
    """The REST depth snapshot (USD-M adds E and T)."""

    last_update_id: int = msgspec.field(name="lastUpdateId")
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    event_time_ms: int | None = msgspec.field(name="E", default=None)
    transaction_time_ms: int | None = msgspec.field(name="T", default=None)


_encode = msgspec.json.Encoder().encode


def _text(obj: object) -> str:
    return _encode(obj).decode()


class _BookState:
    """One symbol's book: the recorded REST snapshot plus the diffs released after it."""

    def __init__(self) -> None:
        self.book = PriceLevelBook()
        self.update_id: int | None = None
        self.event_time_ms: int | None = None
        self.transaction_time_ms: int | None = None
        self.recent: deque[_DepthUpdate] = deque(maxlen=_RECENT_DIFFS)

    def on_snapshot(self, snapshot: _RestSnapshot) -> None:
        self.book.reset(snapshot.bids, snapshot.asks)
        self.update_id = snapshot.last_update_id
        self.event_time_ms = snapshot.event_time_ms or self.event_time_ms
        self.transaction_time_ms = snapshot.transaction_time_ms or self.transaction_time_ms
        for diff in self.recent:  # diffs released before the snapshot line but newer than it
            if diff.last_update_id > self.update_id:
                self.book.apply(diff.bids, diff.asks)
                self.update_id = diff.last_update_id

    def on_diff(self, diff: _DepthUpdate) -> None:
        self.recent.append(diff)
        self.event_time_ms = diff.event_time_ms
        self.transaction_time_ms = diff.transaction_time_ms
        if self.update_id is not None and diff.last_update_id > self.update_id:
            self.book.apply(diff.bids, diff.asks)
            self.update_id = diff.last_update_id


class FakeBinanceVenue(FakeVenue):
    """Fake Binance spot (``market="spot"``) or USD-M futures (``market="linear"``).

    ``recordings``: a collector file, or a list of sessions (each a file or the consecutive files of
    one session). ``options``: how it serves (:class:`~arb.sim.options.VenueOptions`; Binance pings
    every 20 s, and ``funding`` schedules need ``market="linear"``). ``tick_size``/``lot_size``/
    ``min_notional`` fill exchangeInfo for every replayed symbol unless ``specs`` names it.
    ``weight_limit`` is the per-minute request weight (spot 6000, USD-M 2400 by default); past it the
    venue answers 429 on its own. The options' ``clock`` (seconds) drives the weight window,
    ``serverTime`` and ban times.
    """

    venue_name = "binance"
    default_ping_interval = 20.0

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BinanceMarket = "spot",
        options: VenueOptions | None = None,
        tick_size: str = "0.01",
        lot_size: str = "0.00001",
        min_notional: str = "5",
        specs: Mapping[str, SymbolSpec] | None = None,
        weight_limit: int | None = None,
    ) -> None:
        options = self._market_options(market, options, "spot has no mark price or funding")
        super().__init__(recordings, market=market, options=options)
        self._binance_market: BinanceMarket = market
        self._default_spec = SymbolSpec(tick_size, lot_size, min_notional)
        self._specs = dict(specs or {})
        self._books: dict[str, _BookState] = {}
        limit = weight_limit if weight_limit is not None else (6000 if market == "spot" else 2400)
        self.weight = RequestWeight(limit, options.clock)
        """The request weight REST (and the WebSocket API) count."""
        self._prefix = "/api/v3" if market == "spot" else "/fapi/v1"
        self._funding = dict(options.funding or {})
        self._mark_second: dict[str, int] = {}  # the last whole second a markPriceUpdate was built for
        self._mark_sent: dict[str, int] = {}  # markPriceUpdate frames built per symbol (their stream index)

    # -- addresses -------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The WebSocket path this venue serves combined streams on: ``/stream`` (raw streams: ``/ws``,
        :attr:`raw_ws_urls`)."""
        return "/stream"

    @property
    def raw_ws_urls(self) -> list[str]:
        """``ws://host:port/ws`` of each endpoint (raw streams: payloads without the envelope)."""
        return [f"ws://{self.host}:{port}/ws" for port in self.ports]

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self._handle_combined)
        app.router.add_get("/ws", self._handle_raw)
        app.router.add_get("/ws/{streams:.+}", self._handle_raw)
        app.router.add_get(f"{self._prefix}/depth", self._handle_depth)
        app.router.add_get(f"{self._prefix}/exchangeInfo", self._handle_exchange_info)
        app.router.add_get(f"{self._prefix}/time", self._handle_time)
        app.router.add_get(f"{self._prefix}/ping", self._handle_ping)
        if self._binance_market != "spot":
            app.router.add_get(f"{self._prefix}/fundingInfo", self._handle_funding_info)

    # -- recording -------------------------------------------------------------------------------

    def _classify(self, raw: bytes) -> Classified | None:
        """Classify one recorded line.

        A combined-stream frame, e.g.
        ``{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT",...}}``, or the
        collector's inline REST snapshot ``{"lastUpdateId":50093239218,"bids":[...],"asks":[...]}``.
        """
        if raw.startswith(b'{"lastUpdateId"'):
            stamp = msgspec.json.decode(raw, type=_EventTime)
            return Classified(FrameKind.REST_SNAPSHOT, "", None, stamp.event_time_ms)
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except msgspec.DecodeError:
            return None  # e.g. a recorded subscribe ack
        symbol = head.stream.split("@", 1)[0].upper()
        return Classified(FrameKind.DATA, head.stream, symbol, head.data.event_time_ms)

    def _state(self, symbol: str) -> _BookState:
        state = self._books.get(symbol)
        if state is None:
            state = self._books[symbol] = _BookState()
        return state

    def _rewind_state(self) -> None:
        self._books.clear()
        self._mark_second.clear()

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        if frame.kind is FrameKind.REST_SNAPSHOT:
            self._state(frame.symbol).on_snapshot(msgspec.json.decode(frame.raw, type=_RestSnapshot))
            return []
        data = msgspec.json.decode(frame.raw, type=_Envelope).data
        if _DIFF_STREAM.match(frame.stream):
            self._state(frame.symbol).on_diff(msgspec.json.decode(data, type=_DepthUpdate))
        payload = bytes(data)
        outs = [OutFrame(frame.stream, frame.stream_index, frame.index, frame.raw.decode(), payload.decode())]
        if frame.symbol in self._funding:
            event_ms = msgspec.json.decode(payload, type=_EventTime).event_time_ms
            if event_ms is not None:
                outs += self._mark_prices(frame.symbol, event_ms, frame.index)
        return outs

    def _mark_prices(self, symbol: str, event_ms: int, clock_index: int) -> list[OutFrame]:
        """A ``markPriceUpdate`` for each whole second the recording's exchange time passed, e.g.
        ``{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1723161300000,
        "s":"BTCUSDT","p":"61836.55000000","i":"61836.55000000","P":"61836.55000000",
        "r":"0.00010000","T":1723190400000}}`` (none while the book lacks a side)."""
        second = event_ms // 1000
        last = self._mark_second.setdefault(symbol, second)
        state = self._books.get(symbol)
        if second <= last or state is None or not state.book.bids(1) or not state.book.asks(1):
            return []
        self._mark_second[symbol] = second
        mid = (Decimal(state.book.bids(1)[0][0]) + Decimal(state.book.asks(1)[0][0])) / 2
        schedule = self._funding[symbol]
        stream = f"{symbol.lower()}@markPrice@1s"
        outs = []
        for s in range(max(last + 1, second - 9), second + 1):  # at most 10 after a quiet spell
            e_ms = s * 1000
            next_ms = schedule.next_funding_ms(e_ms)
            mark = f"{mid:.8f}"
            data = {"e": "markPriceUpdate", "E": e_ms, "s": symbol, "p": mark, "i": mark, "P": mark,
                    "r": schedule.rate(next_ms), "T": next_ms}  # fmt: skip
            raw = _text(data)
            index = self._mark_sent.get(symbol, 0)
            self._mark_sent[symbol] = index + 1
            outs.append(OutFrame(stream, index, clock_index, f'{{"stream":"{stream}","data":{raw}}}', raw))
        return outs

    def book(self, symbol: str, depth: int | None = None) -> BookView:
        """The venue's book for ``symbol``; ``update_id`` is the ``u`` of the last applied diff."""
        state = self._books.get(symbol)
        if state is None:
            return BookView(symbol, [], [], None)
        return BookView(symbol, state.book.bids(depth), state.book.asks(depth), state.update_id)

    @property
    def symbols(self) -> set[str]:
        """Symbols the venue knows: those named by the recording so far plus those in ``specs``."""
        return set(self._replay.symbols) | set(self._specs)

    # -- WebSocket -------------------------------------------------------------------------------

    async def _handle_combined(self, request: web.Request) -> web.StreamResponse:
        """``/stream?streams=btcusdt@depth@100ms/btcusdt@trade``: frames in the combined envelope.

        Each frame: ``{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,...}}``.
        """
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        return await self._serve_ws(request, streams=streams, combined=True)

    async def _handle_raw(self, request: web.Request) -> web.StreamResponse:
        """``/ws`` or ``/ws/btcusdt@trade``: raw payloads, e.g. ``{"e":"trade","E":1723161255343,...}``."""
        raw = request.match_info.get("streams", "")
        streams = [s for s in raw.split("/") if s]
        return await self._serve_ws(request, streams=streams, combined=False)

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """Answer a live subscription request.

        ``{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":1}`` -> ``{"result":null,"id":1}``;
        ``{"method":"LIST_SUBSCRIPTIONS","id":3}`` -> ``{"result":["btcusdt@depth@100ms"],"id":3}``;
        a bad request -> ``{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":1}``.
        """
        try:
            request = json.loads(text)
        except json.JSONDecodeError as error:
            await self._reply_error(
                conn, 3, f"Invalid JSON: expected value at line {error.lineno} column {error.colno}"
            )
            return
        if not isinstance(request, dict):
            await self._reply_error(conn, 2, f"Invalid request: missing field `method` at line 1 column {len(text)}")
            return
        request_id: Any = request.get("id")
        if not _valid_request_id(request_id):
            await self._reply_error(conn, 2, "Invalid request: request ID must be an unsigned integer")
            return
        method = request.get("method")
        params = request.get("params", [])
        if method is None:
            await self._reply_error(
                conn, 2, f"Invalid request: missing field `method` at line 1 column {len(text)}", request_id
            )
        elif method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            await self._subscribe(conn, method, params, request_id)
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.send_control(_text({"result": list(conn.subscriptions), "id": request_id}))
        elif method in ("SET_PROPERTY", "GET_PROPERTY"):
            await self._property(conn, method, params, request_id)
        else:
            await self._reply_error(
                conn,
                2,
                f"Invalid request: unknown variant `{method}`, expected one of {_METHODS} at line 1 column 28",
                request_id,
            )

    async def _subscribe(self, conn: VenueConnection, method: str, params: Any, request_id: Any) -> None:
        if not isinstance(params, list) or not all(isinstance(p, str) and _STREAM_NAME.match(p) for p in params):
            named = [str(p) for p in params] if isinstance(params, list) else [str(params)]
            self._log_subscription(conn, method.lower(), named, ok=False)
            await self._reply_error(conn, 2, "Invalid request: invalid stream", request_id)
            return
        reply = _text({"result": None, "id": request_id})
        if method == "SUBSCRIBE":
            await conn.change_subscriptions(add=params, reply=reply)
        else:
            await conn.change_subscriptions(remove=params, reply=reply)
        self._log_subscription(conn, method.lower(), params, ok=True)
        self._notify()

    async def _property(self, conn: VenueConnection, method: str, params: Any, request_id: Any) -> None:
        if not isinstance(params, list) or not params or not isinstance(params[0], str):
            await self._reply_error(conn, 2, "Invalid request: property name must be a string", request_id)
            return
        if params[0] != "combined":
            await self._reply_error(conn, 0, "Unknown property", request_id)
            return
        if method == "GET_PROPERTY":
            await conn.send_control(_text({"result": conn.combined, "id": request_id}))
            return
        if len(params) != 2 or not isinstance(params[1], bool):
            await self._reply_error(conn, 1, "Invalid value type: expected Boolean", request_id)
            return
        conn.combined = params[1]
        await conn.send_control(_text({"result": None, "id": request_id}))

    async def _reply_error(self, conn: VenueConnection, code: int, msg: str, request_id: Any = None) -> None:
        await conn.send_control(_text({"error": {"code": code, "msg": msg}, "id": request_id}))

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None) -> str:
        name = as_stream or "xyzusdt@" + out.stream.split("@", 1)[-1]
        payload = out.raw_text if out.raw_text is not None else out.text
        return f'{{"stream":"{name}","data":{payload}}}'

    # -- REST ------------------------------------------------------------------------------------

    async def _answer(self, request: web.Request, weight: int, build: Callable[[], tuple[int, bytes]]) -> web.Response:
        """Serve one REST call: hold if asked, apply a scripted fault, count weight, build the body.

        The body is built after any hold is released, from the venue's state at that moment.
        """
        await self._begin_rest(request)
        fault = self.faults.take_rest_fault(request.path)
        used = self.weight.charge(weight)
        headers = {"x-mbx-used-weight": str(used), "x-mbx-used-weight-1m": str(used)}
        content_type = "application/json"
        if fault is not None:
            status, body, content_type = self.weight.fault_answer(fault, build, headers, self._record)
        elif used > self.weight.limit:
            retry = self.weight.seconds_left()
            status, body = 429, self.weight.error_body(429, None, None, retry)
            headers["Retry-After"] = str(retry)
        else:
            status, body = build()
        self._log_rest(request, status, weight)
        return web.Response(status=status, body=body, headers=headers, content_type=content_type)

    def _bad_request(self, code: int, msg: str) -> tuple[int, bytes]:
        return 400, _encode({"code": code, "msg": msg})

    async def _handle_depth(self, request: web.Request) -> web.Response:
        """``GET /api/v3/depth?symbol=BTCUSDT&limit=1000`` (or ``/fapi/v1/depth``) from the venue's book.

        Spot: ``{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],...],"asks":[...]}``;
        USD-M adds ``"E"`` and ``"T"`` after ``lastUpdateId``. ``lastUpdateId`` is the ``u`` of the last
        diff released; before the recording's first snapshot is reached, that snapshot is served.
        """
        default = 100 if self._binance_market == "spot" else 500
        raw_limit = request.query.get("limit")
        limit = default
        if raw_limit is not None and raw_limit.isdigit() and int(raw_limit) > 0:
            limit = min(int(raw_limit), 5000 if self._binance_market == "spot" else 1000)
        weight = depth_weight(self._binance_market, limit)
        symbol = request.query.get("symbol", "")

        def build() -> tuple[int, bytes]:
            if not symbol:
                return self._bad_request(
                    -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
                )
            if raw_limit is not None and not raw_limit.isdigit():
                return self._bad_request(
                    -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
                )
            if symbol not in self.symbols:
                return self._bad_request(-1121, "Invalid symbol.")
            return 200, self._depth_body(symbol, limit)

        return await self._answer(request, weight, build)

    def _depth_body(self, symbol: str, limit: int) -> bytes:
        state = self._books.get(symbol)
        body: dict[str, Any]
        if state is not None and state.update_id is not None:
            body = {"lastUpdateId": state.update_id}
            event_ms, transaction_ms = state.event_time_ms, state.transaction_time_ms
            bids, asks = state.book.bids(limit), state.book.asks(limit)
        else:
            future = self._replay.find_ahead(lambda f: f.kind is FrameKind.REST_SNAPSHOT and f.symbol == symbol)
            if future is None:
                logger.warning("%s: no REST snapshot in the recording; serving an empty book", symbol)
                body = {"lastUpdateId": state.recent[-1].last_update_id if state and state.recent else 0}
                event_ms = transaction_ms = None
                bids, asks = [], []
            else:
                snapshot = msgspec.json.decode(future.raw, type=_RestSnapshot)
                body = {"lastUpdateId": snapshot.last_update_id}
                event_ms, transaction_ms = snapshot.event_time_ms, snapshot.transaction_time_ms
                bids, asks = snapshot.bids[:limit], snapshot.asks[:limit]
        if self._binance_market == "linear":
            now_ms = int(self._clock() * 1000)
            body["E"] = event_ms if event_ms is not None else now_ms
            body["T"] = transaction_ms if transaction_ms is not None else body["E"]
        body["bids"] = [list(level) for level in bids]
        body["asks"] = [list(level) for level in asks]
        return _encode(body)

    async def _handle_funding_info(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/fundingInfo`` (weight 0): the symbols whose funding interval is not the default 8
        hours as their schedules stand at the last mark price sent, e.g. ``[{"symbol":"ETHUSDT",
        "adjustedFundingRateCap":"0.02000000","adjustedFundingRateFloor":"-0.02000000",
        "fundingIntervalHours":4,"disclaimer":false}]``."""

        def build() -> tuple[int, bytes]:
            entries = []
            for symbol, schedule in sorted(self._funding.items()):
                now_ms = self._mark_second.get(symbol, schedule.first_funding_ms // 1000 - 1) * 1000
                hours = schedule.interval_at(now_ms) // HOUR_MS
                if hours != 8:
                    entries.append({"symbol": symbol, "adjustedFundingRateCap": "0.02000000",
                                    "adjustedFundingRateFloor": "-0.02000000", "fundingIntervalHours": hours,
                                    "disclaimer": False})  # fmt: skip
            return 200, _encode(entries)

        return await self._answer(request, 0, build)

    async def _handle_exchange_info(self, request: web.Request) -> web.Response:
        """``GET /api/v3/exchangeInfo?symbol=BTCUSDT`` (spot, weight 20) or ``/fapi/v1/exchangeInfo``
        (USD-M, weight 1), with the symbol's filters, e.g.
        ``{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000",
        "tickSize":"0.01000000"}``.
        """
        weight = 20 if self._binance_market == "spot" else 1

        def build() -> tuple[int, bytes]:
            wanted = sorted(self.symbols)
            if self._binance_market == "spot":
                asked: list[str] = []
                if "symbol" in request.query:
                    asked = [request.query["symbol"]]
                elif "symbols" in request.query:
                    try:
                        parsed = json.loads(request.query["symbols"])
                    except json.JSONDecodeError:
                        parsed = None
                    if not isinstance(parsed, list) or not parsed:
                        return self._bad_request(-1121, "Invalid symbol.")
                    asked = [str(s) for s in parsed]
                if asked:
                    if any(s not in self.symbols for s in asked):
                        return self._bad_request(-1121, "Invalid symbol.")
                    wanted = asked
            return 200, _encode(self._exchange_info(wanted))

        return await self._answer(request, weight, build)

    def _spec(self, symbol: str) -> tuple[SymbolSpec, str, str]:
        spec = self._specs.get(symbol, self._default_spec)
        return (spec, *symbol_assets(spec, symbol))

    def _exchange_info(self, symbols: Sequence[str]) -> dict[str, Any]:
        server_time = int(self._clock() * 1000)
        describe = self._spot_symbol if self._binance_market == "spot" else self._futures_symbol
        return exchange_info(self._binance_market, server_time, self.weight.limit, [describe(s) for s in symbols])

    def _spot_symbol(self, symbol: str) -> dict[str, Any]:
        return spot_symbol(symbol, *self._spec(symbol))

    def _futures_symbol(self, symbol: str) -> dict[str, Any]:
        return futures_symbol(symbol, *self._spec(symbol))

    async def _handle_time(self, request: web.Request) -> web.Response:
        """``GET /api/v3/time`` -> ``{"serverTime":1499827319559}`` (weight 1)."""
        return await self._answer(request, 1, lambda: (200, _encode({"serverTime": int(self._clock() * 1000)})))

    async def _handle_ping(self, request: web.Request) -> web.Response:
        """``GET /api/v3/ping`` -> ``{}`` (weight 1)."""
        return await self._answer(request, 1, lambda: (200, b"{}"))


def _valid_request_id(value: Any) -> bool:
    """Binance accepts a 64-bit integer, an alphanumeric string of at most 36 characters, or null."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and bool(_REQUEST_ID.match(value))


VENUE = FakeBinanceVenue
"""This venue's fake, as :func:`arb.sim.fake_venue` finds it by the venue's name."""
