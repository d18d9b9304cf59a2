"""A fake OKX v5 public WebSocket and its REST beside it, replaying a recording on loopback.

It follows OKX's docs v5 ("WebSocket", "WS / Order book channel", "GET / Order book", "GET / Instruments",
the error codes):

* ``/ws/v5/public``; the client sends ``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}``
  and gets one ack per arg, ``{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},
  "connId":"a4d3ae55"}``. An arg naming a channel or instrument the venue does not serve gets
  ``{"event":"error","code":"60018","msg":"Wrong URL or channel:...,instId:... doesn't exist. ..."}``;
  a request that is not one, ``60012`` (Invalid request). The text ``ping`` is answered ``pong``.
* On subscribing to ``books`` the venue sends a ``snapshot`` of its current book (``prevSeqId`` -1,
  ``seqId`` the last one released) right after the ack, then the recorded updates. With
  :attr:`FakeOkxVenue.ws_snapshots` off (OKX announced the end of that snapshot for 2026) it sends none:
  the client must rebuild the book from ``GET /api/v5/market/books``, which answers from the venue's
  book with its ``seqId``.
* ``checksum`` of the book pushes: as recorded (``"recorded"``), always 0 (``"zero"``, OKX since June 2026)
  or computed from the venue's book (``"real"``).
* ``trades``, ``mark-price`` and ``funding-rate`` go out as recorded.
* ``GET /api/v5/public/instruments?instType=&instId=`` lists each instrument of the recording with the
  rules given (:data:`~arb.sim.okx.wire.DEFAULT_INSTRUMENTS` by default).
* ``GET /api/v5/public/funding-rate?instId=`` answers with the venue's funding state: the entry of the last
  ``funding-rate`` push released for the swap (before the first, the recording's first one), its numbers as
  pushed.

Streams (what faults name) are ``<channel>:<instId>``: ``venue.faults.drop("books:BTC-USDT", at=10)``.
"""

from __future__ import annotations

__all__ = ["VENUE", "ChecksumMode", "FakeOkxVenue", "OkxMarket"]

import logging
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import msgspec
from aiohttp import web

from arb.sim.book import PriceLevelBook
from arb.sim.faults import RestFault
from arb.sim.okx.wire import (
    DEFAULT_INSTRUMENTS,
    BookLevel,
    book_message,
    checksum,
    error_event,
    event,
    instrument_entry,
    rest_book,
    rest_error,
)
from arb.sim.options import VenueOptions
from arb.sim.replay import Classified, FrameKind, ReplayFrame, SessionSpec
from arb.sim.venue import BookView, FakeVenue, OutFrame, VenueConnection

logger = logging.getLogger(__name__)

OkxMarket = Literal["spot", "linear"]
ChecksumMode = Literal["recorded", "zero", "real"]

_PATH = "/ws/v5/public"
_BOOK_CHANNELS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})
_CHANNELS = _BOOK_CHANNELS | {"trades", "mark-price", "funding-rate", "tickers", "books5", "bbo-tbt"}
_MAX_REST_LEVELS = 400
_MISSING = "Wrong URL or channel:{channel},instId:{inst} doesn't exist. Please use the correct URL, channel and " \
    "parameters referring to API document."  # fmt: skip


class _Arg(msgspec.Struct):
    channel: str
    inst_id: str = msgspec.field(name="instId", default="")


class _Head(msgspec.Struct):
    arg: _Arg


class _BookData(msgspec.Struct):
    asks: list[list[str]]
    bids: list[list[str]]
    ts: str
    checksum: int = 0
    prev_seq_id: int | None = msgspec.field(name="prevSeqId", default=None)
    seq_id: int | None = msgspec.field(name="seqId", default=None)


class _BookPush(msgspec.Struct):
    arg: _Arg
    data: list[_BookData]
    action: str = ""


def _fault_error(fault: RestFault) -> bytes:
    # OKX's body of a scripted REST error that brings none: its rate limit's for a 429, else its gateway's
    code, msg = ("50011", "Too Many Requests") if fault.status == 429 else ("50001", "Service unavailable")
    return rest_error(str(fault.code or code), fault.msg or msg)


def _arb_symbol(inst_id: str) -> str:
    # "BTC-USDT-SWAP" -> "BTCUSDT": what a client's configuration names the instrument.
    return inst_id.removesuffix("-SWAP").replace("-", "").upper()


class _Book:
    """One instrument's book as the venue holds it: levels, order counts, the last ids released."""

    def __init__(self) -> None:
        self.book = PriceLevelBook()
        self.orders: dict[tuple[str, str], str] = {}
        self.started = False
        self.seq_id = 0
        self.ts_ms = 0

    def reset(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        self.book.clear()
        self.orders.clear()
        self.apply(bids, asks)

    def apply(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        self.book.apply([(lv[0], lv[1]) for lv in bids], [(lv[0], lv[1]) for lv in asks])
        for side, levels in (("b", bids), ("a", asks)):
            for lv in levels:
                key = (side, lv[0])
                if Decimal(lv[1]) == 0:
                    self.orders.pop(key, None)
                else:
                    self.orders[key] = lv[3] if len(lv) > 3 else "1"

    def sides(self, depth: int | None) -> tuple[list[BookLevel], list[BookLevel]]:
        bids = [(p, q, self.orders.get(("b", p), "1")) for p, q in self.book.bids(depth)]
        asks = [(p, q, self.orders.get(("a", p), "1")) for p, q in self.book.asks(depth)]
        return bids, asks

    def checksum(self) -> int:
        return checksum(*self.sides(25))


class FakeOkxVenue(FakeVenue):
    """Fake OKX v5 public market data for ``market="spot"`` or ``"linear"`` (the ``-SWAP`` instruments).

    ``checksums``: what the book pushes' ``checksum`` says (see the module docstring). ``ws_snapshots``:
    whether subscribing to a book brings a snapshot (settable while running). ``instruments``: rules by
    ``instType`` (``SPOT``, ``SWAP``) or by ``instId``, overriding :data:`DEFAULT_INSTRUMENTS`.
    ``symbols`` adds instrument ids the venue serves beyond the recording's. ``seed`` makes the
    ``connId`` values reproducible. OKX sends no WebSocket pings of its own.
    """

    venue_name = "okx"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: OkxMarket = "spot",
        options: VenueOptions | None = None,
        checksums: ChecksumMode = "recorded",
        ws_snapshots: bool = True,
        instruments: Mapping[str, Mapping[str, str]] | None = None,
        symbols: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        options = self._market_options(market, options, "OKX spot has no funding")
        super().__init__(recordings, market=market, options=options)
        self.checksums: ChecksumMode = checksums
        self.ws_snapshots = ws_snapshots
        """Whether a book subscription brings a snapshot (False: updates only, rebuild by REST)."""
        self._instruments = {**DEFAULT_INSTRUMENTS, **(instruments or {})}
        self._extra = set(symbols)
        self._books: dict[str, _Book] = {}
        self._fundings: dict[str, dict[str, Any]] = {}
        """Per swap, the entry of the last ``funding-rate`` push released (what the REST endpoint answers)."""
        self._rng = random.Random(seed)

    @property
    def path(self) -> str:
        """The WebSocket path this venue serves: ``/ws/v5/public``."""
        return _PATH

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get(_PATH, self._handle_ws)
        app.router.add_get("/api/v5/market/books", self._handle_books)
        app.router.add_get("/api/v5/public/instruments", self._handle_instruments)
        app.router.add_get("/api/v5/public/funding-rate", self._handle_funding_rate)

    def _make_conn_id(self, index: int) -> str:
        return f"{self._rng.getrandbits(32):08x}"

    @property
    def symbols(self) -> set[str]:
        """Instrument ids the venue serves: those the recording named so far plus ``symbols=``."""
        return set(self._replay.symbols) | self._extra

    def _inst(self, symbol: str) -> str:
        # An instrument id, or arb's symbol of one the venue serves (``BTCUSDT`` -> ``BTC-USDT-SWAP``).
        if symbol in self._books or "-" in symbol:
            return symbol
        return next((i for i in self._books if _arb_symbol(i) == symbol.upper()), symbol)

    # -- recording -------------------------------------------------------------------------------

    def _classify(self, raw: bytes) -> Classified | None:
        """Classify one recorded line: a push (``{"arg":{"channel":"books","instId":"BTC-USDT"},...}``) is
        data on stream ``books:BTC-USDT``; events, ``pong`` and REST answers the recorder kept are not
        replayed."""
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if head.arg.channel not in _CHANNELS or not head.arg.inst_id:
            return None
        return Classified(FrameKind.DATA, f"{head.arg.channel}:{head.arg.inst_id}", head.arg.inst_id, None)

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        text = frame.raw.decode()
        channel = frame.stream.partition(":")[0]
        if channel == "funding-rate":
            self._fundings.update(_funding_entries(frame.raw))
        if channel not in _BOOK_CHANNELS:
            return [OutFrame(frame.stream, frame.stream_index, frame.index, text)]
        push = msgspec.json.decode(frame.raw, type=_BookPush)
        state = self._books.setdefault(frame.symbol, _Book())
        outs: list[OutFrame] = []
        for data in push.data:
            sent = self._book_update(state, push, data)
            if sent is not None:
                out = text if sent == "" else sent
                outs.append(OutFrame(frame.stream, frame.stream_index, frame.index, out))
        return outs

    def _book_update(self, state: _Book, push: _BookPush, data: _BookData) -> str | None:
        # Move the venue's book with one recorded entry; what its subscribers get: None (nothing), ""
        # (the recorded text as it is) or a text built here.
        snapshot = push.action == "snapshot"
        prev = state.seq_id
        old = state.sides(None) if snapshot and state.started else None
        if snapshot:
            state.reset(data.bids, data.asks)
        else:
            state.apply(data.bids, data.asks)
        state.started = state.started or snapshot
        state.seq_id = data.seq_id if data.seq_id is not None else state.seq_id
        state.ts_ms = int(data.ts)
        if not state.started or (snapshot and old is None and not self.ws_snapshots):
            return None  # a venue that sends no snapshots keeps the recording's first one to itself
        if old is not None and not self.ws_snapshots:
            # A recorded resubscription's snapshot, to a venue that sends none: the change as an update.
            ids = (state.ts_ms, self._checksum(state, data.checksum), prev, state.seq_id)
            return book_message(push.arg.channel, push.arg.inst_id, "update", _changes(old, state.sides(None)), ids)
        if self.checksums == "recorded" or len(push.data) != 1:
            return ""
        return _text(push, data, self._checksum(state, data.checksum))

    def _checksum(self, state: _Book, recorded: int) -> int:
        if self.checksums == "zero":
            return 0
        if self.checksums == "real":
            return state.checksum()
        return recorded

    def book(self, symbol: str, depth: int | None = None) -> BookView:
        """The venue's book of ``symbol`` (an instrument id, or arb's symbol of one); ``update_id`` is the
        last ``seqId`` released, ``None`` before the first snapshot."""
        state = self._books.get(self._inst(symbol))
        if state is None or not state.started:
            return BookView(symbol, [], [], None)
        return BookView(symbol, state.book.bids(depth), state.book.asks(depth), state.seq_id)

    # -- WebSocket -------------------------------------------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        """``/ws/v5/public``: nothing flows until a subscription; then pushes as recorded, e.g.
        ``{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98",
        "415","0","13"]],"bids":[],"ts":"1597026383085","checksum":0,"prevSeqId":123456,"seqId":123457}]}``."""
        return await self._serve_ws(request, streams=(), combined=True)

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """Answer ``ping``, ``{"op":"subscribe"|"unsubscribe","args":[{"channel":...,"instId":...}]}``."""
        if text == "ping":
            await conn.send_control("pong")
            return
        try:
            request = msgspec.json.decode(text)
        except msgspec.DecodeError:
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        args = request.get("args") if isinstance(request, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            self.stats.ignored_messages += 1
            await conn.send_control(error_event("60012", f"Invalid request: {text[:200]}", conn.conn_id))
            return
        pairs = [(a.get("channel", ""), a.get("instId", "")) for a in args if isinstance(a, dict)]
        for channel, inst in pairs:
            if op == "subscribe":
                await self._subscribe(conn, str(channel), str(inst))
            else:
                await self._unsubscribe(conn, str(channel), str(inst))

    async def _subscribe(self, conn: VenueConnection, channel: str, inst: str) -> None:
        stream = f"{channel}:{inst}"
        if channel not in _CHANNELS or inst not in self.symbols:
            self._log_subscription(conn, "subscribe", [stream], ok=False)
            await conn.send_control(error_event("60018", _MISSING.format(channel=channel, inst=inst), conn.conn_id))
            return
        await conn.change_subscriptions(
            add=[stream] if stream not in conn.subscriptions else [],
            reply=event("subscribe", channel, inst, conn.conn_id),
            then=lambda: self._snapshot_for(channel, inst),
        )
        self._log_subscription(conn, "subscribe", [stream], ok=True)
        self._notify()

    def _snapshot_for(self, channel: str, inst: str) -> list[OutFrame]:
        # The book's snapshot right after the ack (called atomically with the subscription).
        state = self._books.get(inst)
        if channel not in _BOOK_CHANNELS or state is None or not state.started or not self.ws_snapshots:
            return []
        ids = (state.ts_ms, self._checksum_of_snapshot(state), -1, state.seq_id)
        text = book_message(channel, inst, "snapshot", state.sides(400), ids)
        return [OutFrame(f"{channel}:{inst}", -1, self.position, text)]

    def _checksum_of_snapshot(self, state: _Book) -> int:
        return 0 if self.checksums == "zero" else state.checksum()

    async def _unsubscribe(self, conn: VenueConnection, channel: str, inst: str) -> None:
        stream = f"{channel}:{inst}"
        await conn.change_subscriptions(remove=[stream], reply=event("unsubscribe", channel, inst, conn.conn_id))
        self._log_subscription(conn, "unsubscribe", [stream], ok=True)
        self._notify()

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None) -> str:
        channel, _, inst = out.stream.partition(":")
        other = (as_stream or f"{channel}:XYZ-USDT").partition(":")
        claimed = f'"channel":"{other[0]}","instId":"{other[2]}"'
        return out.text.replace(f'"channel":"{channel}","instId":"{inst}"', claimed, 1)

    # -- REST ------------------------------------------------------------------------------------

    async def _answer(self, request: web.Request, build: Any) -> web.Response:
        """Serve one REST call: hold if asked, apply a scripted fault, else build the body from the venue's
        state at that moment."""
        status, body, headers = await self._rest_answer(request, build, _fault_error, request.path_qs)
        self._log_rest(request, status, 0)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    async def _handle_books(self, request: web.Request) -> web.Response:
        """``GET /api/v5/market/books?instId=BTC-USDT&sz=400``: the venue's book, ``sz`` levels a side (1 by
        default, at most 400), with its ``seqId``. Before the recording's first snapshot is released, that
        snapshot is served. An unknown instrument: HTTP 400 ``{"code":"51001","msg":"Instrument ID doesn't
        exist.","data":[]}``."""
        inst = request.query.get("instId", "")
        size_text = request.query.get("sz", "1")
        size = min(int(size_text), _MAX_REST_LEVELS) if size_text.isdigit() and int(size_text) > 0 else 1

        def build() -> tuple[int, bytes]:
            if not inst:
                return 400, rest_error("50014", "Parameter instId can not be empty.")
            if inst not in self.symbols:
                return 400, rest_error("51001", "Instrument ID doesn't exist.")
            state = self._books.get(inst)
            if state is None or not state.started:
                state = self._future_snapshot(inst)
            if state is None:
                return 200, rest_book([], [], int(self._clock() * 1000), 0)
            bids, asks = state.sides(size)
            return 200, rest_book(bids, asks, state.ts_ms, state.seq_id)

        return await self._answer(request, build)

    def _future_snapshot(self, inst: str) -> _Book | None:
        # The recording's first book snapshot of ``inst``, not yet released.
        frame = self._replay.find_ahead(lambda f: f.symbol == inst and f.stream.startswith("books"))
        if frame is None:
            return None
        push = msgspec.json.decode(frame.raw, type=_BookPush)
        data = push.data[0]
        state = _Book()
        state.reset(data.bids, data.asks)
        state.started, state.seq_id, state.ts_ms = True, data.seq_id or 0, int(data.ts)
        return state

    async def _handle_instruments(self, request: web.Request) -> web.Response:
        """``GET /api/v5/public/instruments?instType=SWAP&instId=BTC-USDT-SWAP``: ``{"code":"0","msg":"",
        "data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","ctVal":"0.01","ctMult":"1","lotSz":"0.01",
        "minSz":"0.01","tickSz":"0.1","state":"live",...}]}``; an unknown ``instId`` is ``51001``."""
        inst_type = request.query.get("instType", "")
        inst = request.query.get("instId", "")

        def build() -> tuple[int, bytes]:
            if inst_type not in ("SPOT", "SWAP", "MARGIN", "FUTURES", "OPTION"):
                return 400, rest_error("51000", "Parameter instType error")
            wanted = [inst] if inst else sorted(self.symbols)
            if inst and inst not in self.symbols:
                return 400, rest_error("51001", "Instrument ID doesn't exist.")
            entries = [
                instrument_entry(i, self._instruments.get(i) or self._instruments[inst_type])
                for i in wanted
                if i.endswith("-SWAP") == (inst_type == "SWAP") and inst_type in ("SPOT", "SWAP")
            ]
            return 200, msgspec.json.encode({"code": "0", "msg": "", "data": entries})

        return await self._answer(request, build)

    async def _handle_funding_rate(self, request: web.Request) -> web.Response:
        """``GET /api/v5/public/funding-rate?instId=BTC-USDT-SWAP``: ``{"code":"0","msg":"","data":[{"instId":
        "BTC-USDT-SWAP","instType":"SWAP","fundingRate":"0.0001","fundingTime":"1723161252000",
        "nextFundingTime":"1723190052000",...,"ts":"1723161250001"}]}``, the entry of the swap's last
        ``funding-rate`` push released (before the first, of the recording's first; none in the recording:
        no entry). No ``instId``: ``50014``; not a swap the venue serves: ``51001``."""
        inst = request.query.get("instId", "")

        def build() -> tuple[int, bytes]:
            if not inst:
                return 400, rest_error("50014", "Parameter instId can not be empty.")
            if inst not in self.symbols or not inst.endswith("-SWAP"):
                return 400, rest_error("51001", "Instrument ID doesn't exist.")
            entry = self._fundings.get(inst)
            if entry is None:
                ahead = self._replay.find_ahead(lambda f: f.symbol == inst and f.stream.startswith("funding-rate:"))
                entry = _funding_entries(ahead.raw).get(inst) if ahead is not None else None
            return 200, msgspec.json.encode({"code": "0", "msg": "", "data": [entry] if entry else []})

        return await self._answer(request, build)


def _funding_entries(raw: bytes) -> dict[str, dict[str, Any]]:
    # The entries of a recorded funding-rate push, by instId (none when it does not decode as one).
    try:
        push = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    data = push.get("data") if isinstance(push, dict) else None
    entries = data if isinstance(data, list) else []
    return {e["instId"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("instId"), str)}


def _text(push: _BookPush, data: _BookData, check: int) -> str:
    # The recorded push again, with ``check`` as its checksum.
    entry: dict[str, Any] = {"asks": data.asks, "bids": data.bids, "ts": data.ts, "checksum": check}
    if data.prev_seq_id is not None:
        entry["prevSeqId"] = data.prev_seq_id
    if data.seq_id is not None:
        entry["seqId"] = data.seq_id
    message: dict[str, Any] = {"arg": {"channel": push.arg.channel, "instId": push.arg.inst_id}}
    if push.action:
        message["action"] = push.action
    message["data"] = [entry]
    return msgspec.json.encode(message).decode()


def _changes(
    old: tuple[list[BookLevel], list[BookLevel]], new: tuple[list[BookLevel], list[BookLevel]]
) -> tuple[list[BookLevel], list[BookLevel]]:
    # The levels that differ between two books, a vanished one with size "0".
    out: list[list[BookLevel]] = []
    for before, after in zip(old, new, strict=True):
        now = {p: (q, n) for p, q, n in after}
        changed = [(p, q, n) for p, q, n in after if (p, q, n) not in set(before)]
        changed += [(p, "0", "0") for p, _, _ in before if p not in now]
        out.append(changed)
    return out[0], out[1]


VENUE = FakeOkxVenue
"""This venue's fake, as :func:`arb.sim.fake_venue` finds it by the venue's name."""
