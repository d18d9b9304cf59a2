"""A fake Bybit v5 public WebSocket (spot or linear) that replays recordings on loopback.

It follows Bybit's v5 documentation (bybit-exchange.github.io/docs/v5/ws/connect and
.../v5/websocket/public/orderbook):

* ``/v5/public/spot`` or ``/v5/public/linear``; the client sends
  ``{"op":"subscribe","args":["orderbook.50.BTCUSDT"],"req_id":"1"}`` and gets Bybit's ack, whose shape
  differs by market (spot: ``ret_msg`` ``"subscribe"``, ``req_id`` only when sent; linear: ``ret_msg``
  ``""`` and ``req_id`` always present, ``""`` when not sent). ``{"op":"ping"}`` gets the pong of the
  market. A topic the venue cannot serve gets Bybit's failure ack.
* On subscribing to ``orderbook.N.SYM`` the venue first sends a ``"type":"snapshot"`` of its current
  book (top N a side), then the deltas. A depth other than the recorded one is derived from the
  venue's book: a delta per recorded delta, with the same ``u``/``seq``, listing the top-N levels that
  changed (``"0"`` for a level that left the top N).
* Linear with ``funding=`` (a :class:`~arb.sim.funding.FundingSchedule` per symbol):
  ``tickers.<SYMBOL>``, as v5's "Ticker" documents it: a ``snapshot`` on subscribing (``markPrice``
  and ``indexPrice`` the venue's mid, ``fundingRate``/``nextFundingTime`` the schedule's next
  funding, ``bid1Price``/``bid1Size``/``ask1Price``/``ask1Size`` the book's top), then, as the
  recorded book moves, ``delta`` messages with only the fields that changed, at most one each
  100 ms of the recording's time (Bybit's push frequency); ``nextFundingTime`` moves forward when
  the recording's time passes it. Recorded ``tickers`` frames pass through as they are, and a client
  that subscribes after them gets a ``snapshot`` of what they said so far, as Bybit sends one.
* ``GET /v5/market/instruments-info?category=<market>`` lists the venue's symbols in v5's shape for the
  category (``priceFilter``, ``lotSizeFilter``, ...), each with the rules given (``instrument_rules``, else
  :data:`DEFAULT_RULES`), linear paged by ``limit`` (default 500, at most 1000) and ``cursor``; ``symbol=``
  asks for one (an unknown one is an empty list). A linear entry's ``fundingInterval`` is its funding
  schedule's.
"""

from __future__ import annotations

__all__ = ["DEFAULT_RULES", "VENUE", "BybitMarket", "FakeBybitVenue"]

import logging
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import msgspec
from aiohttp import web

from arb.sim.book import Level, PriceLevelBook
from arb.sim.bybit.wire_account import instrument_entry
from arb.sim.ledger import SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.replay import Classified, FrameKind, ReplayFrame, SessionSpec
from arb.sim.venue import BookView, FakeVenue, OutFrame, VenueConnection

logger = logging.getLogger(__name__)

BybitMarket = Literal["spot", "linear"]

# Order-book depths a topic may name (v5 docs; linear 500 is the depth of the 2024 archives).
_DEPTHS: dict[str, frozenset[int]] = {
    "spot": frozenset({1, 50, 200, 1000}),
    "linear": frozenset({1, 50, 200, 500, 1000}),
}
_KLINE_INTERVALS = frozenset({"1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"})
_SPOT_MAX_ARGS = 10
_TICKER_PUSH_MS = 100

_encode = msgspec.json.Encoder().encode

DEFAULT_RULES: Mapping[str, Mapping[str, str]] = {
    "spot": {"tick_size": "0.1", "step_size": "0.000001", "min_qty": "0.000011", "min_notional": "5"},
    "linear": {"tick_size": "0.10", "step_size": "0.001", "min_qty": "0.001", "min_notional": "5"},
}
"""The rules ``instruments-info`` reports of a symbol not given its own: BTCUSDT's in Bybit's documented
examples of the spot and linear answers."""


# -- wire structs ------------------------------------------------------------------------------


class _Head(msgspec.Struct):
    topic: str
    ts_ms: int | None = msgspec.field(name="ts", default=None)


class _BookData(msgspec.Struct):
    symbol: str = msgspec.field(name="s")
    bids: list[tuple[str, str]] = msgspec.field(name="b")
    asks: list[tuple[str, str]] = msgspec.field(name="a")
    update_id: int = msgspec.field(name="u")
    cross_seq: int = msgspec.field(name="seq")


class _TickerMessage(msgspec.Struct):
    """A recorded ``{"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{"symbol":...,...},"cs","ts"}``."""

    type: str
    data: dict[str, str]
    cross_seq: int = msgspec.field(name="cs", default=0)
    ts_ms: int = msgspec.field(name="ts", default=0)


class _BookMessage(msgspec.Struct):
    """``{"topic","type","ts","data":{"s","b","a","u","seq"},"cts"}``."""

    topic: str
    type: str
    ts_ms: int = msgspec.field(name="ts")
    data: _BookData
    cts_ms: int | None = msgspec.field(name="cts", default=None)


@dataclass
class _DepthView:
    """What subscribers of a derived depth hold: the top ``depth`` levels last sent."""

    depth: int
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)


class _BookState:
    """One symbol's book, fed by its recorded order-book topic."""

    def __init__(self, source_topic: str) -> None:
        self.source_topic = source_topic
        self.book = PriceLevelBook()
        self.started = False
        self.update_id = 0
        self.cross_seq = 0
        self.ts_ms = 0
        self.cts_ms: int | None = None
        self.views: dict[int, _DepthView] = {}


def _book_frame(
    topic: str, kind: str, state: _BookState, symbol: str, bids: Sequence[Level], asks: Sequence[Level]
) -> str:
    message: dict[str, Any] = {
        "topic": topic,
        "type": kind,
        "ts": state.ts_ms,
        "data": {
            "s": symbol,
            "b": [list(level) for level in bids],
            "a": [list(level) for level in asks],
            "u": state.update_id,
            "seq": state.cross_seq,
        },
    }
    if state.cts_ms is not None:
        message["cts"] = state.cts_ms
    return _encode(message).decode()


def _changes(old: dict[str, str], new: list[Level], *, descending: bool) -> list[Level]:
    current = dict(new)
    changed = [(p, q) for p, q in new if old.get(p) != q]
    changed += [(p, "0") for p in old if p not in current]
    changed.sort(key=lambda level: Decimal(level[0]), reverse=descending)
    return changed


@dataclass
class _TickerState:
    """What a symbol's ``tickers`` subscribers were last sent (every field, as wire strings)."""

    sent: dict[str, str]
    ts_ms: int
    cross_seq: int
    count: int = 0
    """Ticker messages built (the stream index of the next delta)."""


def _ticker_frame(topic: str, kind: str, fields: dict[str, str], state: _TickerState) -> str:
    """``{"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{"symbol":...,...},"cs":...,"ts":...}``."""
    data = {"symbol": topic.removeprefix("tickers."), **fields}
    return _encode({"topic": topic, "type": kind, "data": data, "cs": state.cross_seq, "ts": state.ts_ms}).decode()


class FakeBybitVenue(FakeVenue):
    """Fake Bybit v5 public stream for ``market="spot"`` or ``"linear"``.

    ``options``: how it serves (:class:`~arb.sim.options.VenueOptions`; Bybit does not ping clients,
    and ``funding`` schedules need ``market="linear"``). ``symbols`` adds symbols the venue accepts
    topics for beyond those in the recording. ``seed`` makes the ``conn_id`` values reproducible.
    ``instrument_rules``: what ``instruments-info`` reports of those symbols (others get :data:`DEFAULT_RULES`).
    """

    venue_name = "bybit"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BybitMarket = "linear",
        options: VenueOptions | None = None,
        symbols: Sequence[str] = (),
        seed: int = 0,
        instrument_rules: Sequence[SymbolRules] = (),
    ) -> None:
        options = self._market_options(market, options, "spot tickers carry no mark price or funding")
        super().__init__(recordings, market=market, options=options)
        self._bybit_market: BybitMarket = market
        self._extra_symbols = {s.upper() for s in symbols}
        self._instrument_rules = {r.symbol: r for r in instrument_rules}
        self._books: dict[str, _BookState] = {}
        self._rng = random.Random(seed)
        self._funding = dict(options.funding or {})
        self._tickers: dict[str, _TickerState] = {}

    @property
    def path(self) -> str:
        """The WebSocket path this venue serves: ``/v5/public/<market>``."""
        return f"/v5/public/{self._bybit_market}"

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self._handle_ws)
        self._add_rest_routes(app)

    def _add_rest_routes(self, app: web.Application) -> None:
        # REST beside the public stream: instruments-info (the trading venue serves the whole of its REST)
        app.router.add_get("/v5/market/instruments-info", self._handle_instruments)

    def funding_interval_min(self, symbol: str) -> int:
        """``symbol``'s funding interval in minutes as its ``funding=`` schedule stands at the book's last
        message (480, Bybit's most common, without a schedule): what ``instruments-info`` reports."""
        schedule = self._funding.get(symbol)
        book = self._books.get(symbol)
        return schedule.interval_at(book.ts_ms if book else 0) // 60_000 if schedule else 480

    def _instrument(self, symbol: str) -> dict[str, Any]:
        # symbol's instruments-info entry, in the shape of the venue's category
        rules = self._instrument_rules.get(symbol) or SymbolRules.of(symbol, **self._default_rules())
        entry = instrument_entry(self._bybit_market, rules, max_leverage=Decimal(100))
        if self._bybit_market == "linear":
            entry["fundingInterval"] = self.funding_interval_min(symbol)
        return entry

    def _default_rules(self) -> dict[str, str]:
        return dict(DEFAULT_RULES[self._bybit_market])

    async def _handle_instruments(self, request: web.Request) -> web.Response:
        """``GET /v5/market/instruments-info?category=linear&symbol=BTCUSDT``: ``{"retCode":0,"retMsg":"OK",
        "result":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual",
        "status":"Trading","baseCoin":"BTC","quoteCoin":"USDT",...,"priceFilter":{...,"tickSize":"0.10"},
        "lotSizeFilter":{...,"qtyStep":"0.001",...},"fundingInterval":480,...}],"nextPageCursor":""},
        "retExtInfo":{},"time":...}``. Without ``symbol``: every symbol, linear by pages (``limit``, ``cursor``:
        ``nextPageCursor`` ``""`` on the last); a category other than the venue's market is an empty list, one
        Bybit does not have ``10001``."""
        category = request.query.get("category", "")
        if category not in ("spot", "linear", "inverse", "option"):
            body = {"retCode": 10001, "retMsg": "Illegal category", "result": {}, "retExtInfo": {}, "time": 0}
            return web.json_response(body)
        symbol = request.query.get("symbol", "")
        names = sorted(self.symbols) if category == self._bybit_market else []
        if symbol:
            names = [n for n in names if n == symbol]
        result: dict[str, Any] = {"category": category, "list": [self._instrument(n) for n in names]}
        if category != "spot":
            result["list"], result["nextPageCursor"] = _page(result["list"], request.query)
        time_ms = int(self._clock() * 1000)
        return web.json_response({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": time_ms})

    def _make_conn_id(self, index: int) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    @property
    def symbols(self) -> set[str]:
        """Symbols the venue knows: those named by the recording so far plus ``symbols=``."""
        return set(self._replay.symbols) | self._extra_symbols

    # -- recording -------------------------------------------------------------------------------

    def _classify(self, raw: bytes) -> Classified | None:
        """Classify one recorded v5 message, e.g.
        ``{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1733011200693,"data":{"s":"XRPUSDT",
        "b":[["1.9531","6198"]],"a":[...],"u":20254870,"seq":130020239261},"cts":1733011200691}``.
        """
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except msgspec.DecodeError:
            return None  # e.g. a recorded ack or pong
        symbol = head.topic.rsplit(".", 1)[-1]
        return Classified(FrameKind.DATA, head.topic, symbol, head.ts_ms)

    def _rewind_state(self) -> None:
        self._books.clear()
        self._tickers.clear()

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        outs = [OutFrame(frame.stream, frame.stream_index, frame.index, frame.raw.decode())]
        if frame.stream.startswith("tickers.") and frame.symbol not in self._funding:
            self._remember_ticker(frame)
        if not frame.stream.startswith("orderbook."):
            return outs
        state = self._books.get(frame.symbol)
        if state is None:
            state = self._books[frame.symbol] = _BookState(frame.stream)
        if state.source_topic != frame.stream:
            return outs  # a second recorded depth of the same symbol passes through untouched
        message = msgspec.json.decode(frame.raw, type=_BookMessage)
        snapshot = message.type == "snapshot"
        if snapshot:
            state.book.reset(message.data.bids, message.data.asks)
            state.started = True
        else:
            state.book.apply(message.data.bids, message.data.asks)
        state.update_id = message.data.update_id
        state.cross_seq = message.data.cross_seq
        state.ts_ms = message.ts_ms
        state.cts_ms = message.cts_ms
        wanted = self._derived_depths(frame.symbol, state.source_topic)
        for depth in [d for d in state.views if d not in wanted]:
            del state.views[depth]
        if not state.started:
            return outs
        ticker = self._ticker_update(frame.symbol, state, frame.index)
        if ticker is not None:
            outs.append(ticker)
        for depth in sorted(wanted):
            view = state.views.get(depth)
            fresh = view is None  # subscribed before this book existed: it gets a snapshot first
            if view is None:
                view = state.views[depth] = _DepthView(depth)
            topic = f"orderbook.{depth}.{frame.symbol}"
            text = self._view_update(state, view, frame.symbol, topic, snapshot=snapshot or fresh)
            if text is not None:
                outs.append(OutFrame(topic, frame.stream_index, frame.index, text))
        return outs

    def _remember_ticker(self, frame: ReplayFrame) -> None:
        # A recorded tickers message: what it says joins the symbol's ticker, the snapshot a later
        # subscriber gets (Bybit sends one on subscribing, then the deltas).
        try:
            message = msgspec.json.decode(frame.raw, type=_TickerMessage)
        except msgspec.DecodeError:
            return  # passes through as it is; a later snapshot simply lacks it
        fields = {k: v for k, v in message.data.items() if k != "symbol"}
        ticker = self._tickers.get(frame.symbol)
        if ticker is None or message.type == "snapshot":
            self._tickers[frame.symbol] = _TickerState(fields, message.ts_ms, message.cross_seq)
            return
        ticker.sent.update(fields)
        ticker.ts_ms, ticker.cross_seq = message.ts_ms, message.cross_seq

    def _ticker_fields(self, symbol: str, state: _BookState) -> dict[str, str] | None:
        # The ticker's mark, funding and best bid/offer now; None while the book lacks a side.
        bids, asks = state.book.bids(1), state.book.asks(1)
        if not bids or not asks:
            return None
        schedule = self._funding[symbol]
        tick = min(Decimal(bids[0][0]).as_tuple().exponent, Decimal(asks[0][0]).as_tuple().exponent)
        places = -tick if isinstance(tick, int) and tick < 0 else 0
        mid = (Decimal(bids[0][0]) + Decimal(asks[0][0])) / 2
        next_ms = schedule.next_funding_ms(state.ts_ms)
        return {
            "markPrice": f"{mid:.{places + 1}f}",
            "indexPrice": f"{mid:.{places + 1}f}",
            "nextFundingTime": str(next_ms),
            "fundingRate": schedule.rate(next_ms),
            "bid1Price": bids[0][0],
            "bid1Size": bids[0][1],
            "ask1Price": asks[0][0],
            "ask1Size": asks[0][1],
        }

    def _ticker_update(self, symbol: str, state: _BookState, clock_index: int) -> OutFrame | None:
        """The ``tickers.<SYMBOL>`` message the book's move brings: the first one a ``snapshot``, then
        ``delta`` messages of the changed fields, at most one per 100 ms of recorded time."""
        if symbol not in self._funding:
            return None
        fields = self._ticker_fields(symbol, state)
        if fields is None:
            return None
        topic = f"tickers.{symbol}"
        ticker = self._tickers.get(symbol)
        if ticker is None:
            ticker = self._tickers[symbol] = _TickerState(fields, state.ts_ms, state.cross_seq, 1)
            return OutFrame(topic, 0, clock_index, _ticker_frame(topic, "snapshot", fields, ticker))
        changed = {k: v for k, v in fields.items() if ticker.sent.get(k) != v}
        if not changed or state.ts_ms - ticker.ts_ms < _TICKER_PUSH_MS:
            return None
        ticker.sent.update(changed)
        ticker.ts_ms, ticker.cross_seq = state.ts_ms, state.cross_seq
        index = ticker.count
        ticker.count += 1
        return OutFrame(topic, index, clock_index, _ticker_frame(topic, "delta", changed, ticker))

    def _derived_depths(self, symbol: str, source_topic: str) -> set[int]:
        """Depths of ``symbol`` that some open connection subscribes to, other than the recorded one."""
        suffix = f".{symbol}"
        return {
            int(topic.split(".")[1])
            for conn in self.connections
            for topic in conn.subscriptions
            if topic.startswith("orderbook.") and topic.endswith(suffix) and topic != source_topic
        }

    def _view_update(
        self, state: _BookState, view: _DepthView, symbol: str, topic: str, *, snapshot: bool
    ) -> str | None:
        bids, asks = state.book.bids(view.depth), state.book.asks(view.depth)
        if snapshot or view.depth == 1:
            if view.depth == 1 and not snapshot and dict(bids) == view.bids and dict(asks) == view.asks:
                return None  # level 1 is snapshot-only and pushed on change
            view.bids, view.asks = dict(bids), dict(asks)
            return _book_frame(topic, "snapshot", state, symbol, bids, asks)
        bid_changes = _changes(view.bids, bids, descending=True)
        ask_changes = _changes(view.asks, asks, descending=False)
        view.bids, view.asks = dict(bids), dict(asks)
        return _book_frame(topic, "delta", state, symbol, bid_changes, ask_changes)

    def book(self, symbol: str, depth: int | None = None) -> BookView:
        """The venue's book for ``symbol``; ``update_id`` is the last ``u`` released."""
        state = self._books.get(symbol)
        if state is None or not state.started:
            return BookView(symbol, [], [], None)
        return BookView(symbol, state.book.bids(depth), state.book.asks(depth), state.update_id)

    def book_stamps(self, symbol: str) -> tuple[int, int, int, int] | None:
        """``(ts, u, seq, cts)`` of ``symbol``'s last order-book message (``cts`` its ``ts`` when it had
        none); ``None`` before the first."""
        state = self._books.get(symbol)
        return None if state is None else (state.ts_ms, state.update_id, state.cross_seq, state.cts_ms or state.ts_ms)

    # -- WebSocket -------------------------------------------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        """``/v5/public/<market>``: nothing flows until ``{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}``;
        then frames as recorded, e.g. ``{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1733011200693,
        "data":{"s":"XRPUSDT","b":[["1.9531","6198"]],"a":[],"u":20254870,"seq":130020239261},"cts":1733011200691}``.
        """
        return await self._serve_ws(request, streams=(), combined=True)

    def _ack(self, conn: VenueConnection, op: str, *, success: bool, ret_msg: str, req_id: Any) -> str:
        """Bybit's ack, spot or linear.

        Spot: ``{"success":true,"ret_msg":"subscribe","conn_id":"2324d924-...","req_id":"10001",
        "op":"subscribe"}``; linear: ``{"success":true,"ret_msg":"","conn_id":"3cd84cb1-...","req_id":"",
        "op":"subscribe"}``.
        """
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "conn_id": conn.conn_id}
        if self._bybit_market == "linear":
            reply["req_id"] = "" if req_id is None else req_id
        elif req_id is not None:
            reply["req_id"] = req_id
        reply["op"] = op
        return _encode(reply).decode()

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """Answer ``{"op":"subscribe"|"unsubscribe","args":[...],"req_id":"..."}`` and ``{"op":"ping"}``.

        Pong, spot: ``{"success":true,"ret_msg":"pong","conn_id":"0970e817-...","op":"ping"}``; linear:
        ``{"success":true,"ret_msg":"pong","conn_id":"465772b1-...","req_id":"","op":"ping"}``.
        """
        complaint = "connection %d: ignoring a message that is not a v5 request: %.200r"
        if (request := self._request(conn, text, "op", logger, complaint)) is None:
            return
        op: str = request["op"]
        req_id = request.get("req_id")
        if op == "ping":
            await conn.send_control(self._ack(conn, "ping", success=True, ret_msg="pong", req_id=req_id))
            return
        if op not in ("subscribe", "unsubscribe"):
            self.stats.ignored_messages += 1
            logger.warning("connection %d: ignoring op %r (not served on a public stream)", conn.id, op)
            return
        args = request.get("args")
        topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
        if op == "subscribe":
            await self._subscribe(conn, topics, req_id)
        else:
            await self._unsubscribe(conn, topics, req_id)

    def _topic_error(self, topic: str) -> str | None:
        parts = topic.split(".")
        kind, symbol = parts[0], parts[-1]
        valid = symbol in self.symbols and (
            (
                kind == "orderbook"
                and len(parts) == 3
                and parts[1].isdigit()
                and int(parts[1]) in _DEPTHS[self._bybit_market]
            )
            or (kind in ("publicTrade", "tickers") and len(parts) == 2)
            or (kind == "kline" and len(parts) == 3 and parts[1] in _KLINE_INTERVALS)
            or (kind in ("allLiquidation", "liquidation") and len(parts) == 2 and self._bybit_market == "linear")
        )
        if valid:
            return None
        if self._bybit_market == "linear":
            return f"error:handler not found,topic:{topic}"
        return f"Invalid symbol :[{topic}]"

    async def _subscribe(self, conn: VenueConnection, topics: list[str], req_id: Any) -> None:
        error = None
        if self._bybit_market == "spot" and len(topics) > _SPOT_MAX_ARGS:
            error = f"args size >{_SPOT_MAX_ARGS}"
        else:
            error = next((e for t in topics if (e := self._topic_error(t)) is not None), None)
        if error is not None:
            self._log_subscription(conn, "subscribe", topics, ok=False)
            await conn.send_control(self._ack(conn, "subscribe", success=False, ret_msg=error, req_id=req_id))
            return
        ret_msg = "subscribe" if self._bybit_market == "spot" else ""
        new = [t for t in topics if t not in conn.subscriptions]
        await conn.change_subscriptions(
            add=new,
            reply=self._ack(conn, "subscribe", success=True, ret_msg=ret_msg, req_id=req_id),
            then=lambda: self._snapshots_for(new),
        )
        self._log_subscription(conn, "subscribe", topics, ok=True)
        self._notify()

    def _snapshots_for(self, topics: Sequence[str]) -> list[OutFrame]:
        """Snapshots of the current book for each new order-book topic, and of the ticker for each new
        ``tickers`` topic (a funding schedule's, or what the recorded tickers said so far; called
        atomically)."""
        outs: list[OutFrame] = []
        for topic in topics:
            if topic.startswith("tickers."):
                ticker = self._tickers.get(topic.removeprefix("tickers."))
                if ticker is not None:
                    text = _ticker_frame(topic, "snapshot", ticker.sent, ticker)
                    outs.append(OutFrame(topic, -1, self.position, text))
                continue
            if not topic.startswith("orderbook."):
                continue
            _, depth_text, symbol = topic.split(".")
            depth = int(depth_text)
            state = self._books.get(symbol)
            if state is None:
                continue  # nothing released yet: the recorded snapshot will come through
            if topic != state.source_topic and depth not in state.views:
                view = _DepthView(depth)
                view.bids, view.asks = dict(state.book.bids(depth)), dict(state.book.asks(depth))
                state.views[depth] = view
            if state.started:
                text = _book_frame(topic, "snapshot", state, symbol, state.book.bids(depth), state.book.asks(depth))
                outs.append(OutFrame(topic, -1, self.position, text))
        return outs

    async def _unsubscribe(self, conn: VenueConnection, topics: list[str], req_id: Any) -> None:
        ret_msg = "unsubscribe" if self._bybit_market == "spot" else ""
        await conn.change_subscriptions(
            remove=topics,
            reply=self._ack(conn, "unsubscribe", success=True, ret_msg=ret_msg, req_id=req_id),
        )
        self._log_subscription(conn, "unsubscribe", topics, ok=True)
        self._notify()

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None) -> str:
        name = as_stream or out.stream.rsplit(".", 1)[0] + ".XYZUSDT"
        return out.text.replace(f'"topic":"{out.stream}"', f'"topic":"{name}"', 1)


def _page(entries: list[dict[str, Any]], query: Mapping[str, str]) -> tuple[list[dict[str, Any]], str]:
    # One page of instruments-info by limit (default 500, 1-1000) and cursor ("page%3D<offset>"); the next
    # page's cursor, "" on the last.
    try:
        limit = max(1, min(int(query.get("limit") or 500), 1000))
        offset = int(query.get("cursor", "").rpartition("page%3D")[2] or 0)
    except ValueError:
        limit, offset = 500, 0
    following = offset + limit
    return entries[offset:following], (f"page%3D{following}" if following < len(entries) else "")


VENUE = FakeBybitVenue
"""This venue's fake, as :func:`arb.sim.fake_venue` finds it by the venue's name."""
