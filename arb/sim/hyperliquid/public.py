"""A fake Hyperliquid: the public WebSocket and the info endpoint, replaying a recording on loopback.

It follows Hyperliquid's API documentation ("Websocket", "Subscriptions", "Info endpoint"):

* ``/ws``: the client sends ``{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}`` and gets
  ``{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":
  "BTC"}}}``; ``unsubscribe`` the same way. ``{"method":"ping"}`` is answered ``{"channel":"pong"}``.
  The venue sends no WebSocket pings of its own.
* A subscription for a coin the venue does not list closes the socket at once, without a close frame (the
  client sees 1006), and every subscription on it with it: what Hyperliquid was seen to do for a wrong coin.
* After the ack of an ``l2Book`` subscription the venue sends its current book (as a push), after the ack of
  ``trades`` the last trades message released (a subscription's first trades repeat recent ones); then the
  recorded pushes, byte for byte.
* ``POST /info`` with ``{"type":"meta"}`` (each coin served, with its ``szDecimals``), ``{"type":
  "metaAndAssetCtxs"}`` (and each coin's last ``activeAssetCtx`` released, or one made of its book's mid),
  ``{"type":"l2Book","coin":...}`` (the venue's book, 20 levels a side) and ``{"type":"fundingHistory",...}``
  (the entries given as ``fundings=``, oldest first, 500 a reply).

Streams (what faults name) are ``<type>:<coin>``: ``venue.faults.stall(stream="l2Book:BTC")``. Chosen where
the documentation is silent: a request the venue cannot read is answered ``{"channel":"error","data":"..."}``
(text chosen); an info request it cannot read gets HTTP 422 with a text; an ``l2Book`` of a coin it does not
list answers ``null``.
"""

from __future__ import annotations

__all__ = ["VENUE", "FakeHyperliquidVenue"]

import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from arb.sim.book import PriceLevelBook
from arb.sim.faults import RestFault
from arb.sim.options import VenueOptions
from arb.sim.replay import Classified, FrameKind, ReplayFrame, SessionSpec
from arb.sim.venue import BookView, FakeVenue, OutFrame, VenueConnection

logger = logging.getLogger(__name__)

_PATH = "/ws"
_INFO = "/info"
_TYPES = ("l2Book", "trades", "activeAssetCtx")
_BOOK_LEVELS = 20
_PAGE = 500
DEFAULT_SZ_DECIMALS = 5
"""``szDecimals`` of a coin the venue is not told about (BTC's)."""


class _Head(msgspec.Struct):
    channel: str
    data: Any = None


class _Book:
    """One coin's book as the venue holds it: the levels (wire strings) and its ``time``."""

    def __init__(self) -> None:
        self.book = PriceLevelBook()
        self.time_ms = 0
        self.counts: dict[tuple[str, str], int] = {}

    def replace(self, data: Mapping[str, Any]) -> None:
        bids, asks = data["levels"]
        self.book.clear()
        self.book.apply([(lv["px"], lv["sz"]) for lv in bids], [(lv["px"], lv["sz"]) for lv in asks])
        self.counts = {("b", lv["px"]): int(lv.get("n", 1)) for lv in bids}
        self.counts.update({("a", lv["px"]): int(lv.get("n", 1)) for lv in asks})
        self.time_ms = int(data["time"])

    def data(self, coin: str) -> dict[str, Any]:
        # The book as an l2Book's data: {coin, time, levels: [bids, asks]}, 20 levels a side.
        sides = []
        for key, levels in (("b", self.book.bids(_BOOK_LEVELS)), ("a", self.book.asks(_BOOK_LEVELS))):
            sides.append([{"px": p, "sz": q, "n": self.counts.get((key, p), 1)} for p, q in levels])
        return {"coin": coin, "time": self.time_ms, "levels": sides}


class FakeHyperliquidVenue(FakeVenue):
    """Fake Hyperliquid public market data (``market="linear"``: the perpetuals).

    ``coins`` adds coins the venue lists beyond the recording's; ``sz_decimals`` gives a coin's ``szDecimals``
    (:data:`DEFAULT_SZ_DECIMALS` otherwise); ``fundings`` a coin's funding history, ``(time ms, rate)`` pairs,
    served ``page`` entries a reply (Hyperliquid's 500 by default).
    """

    venue_name = "hyperliquid"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: str = "linear",
        options: VenueOptions | None = None,
        coins: Sequence[str] = (),
        sz_decimals: Mapping[str, int] | None = None,
        fundings: Mapping[str, Sequence[tuple[int, str]]] | None = None,
        page: int = _PAGE,
    ) -> None:
        if market != "linear":
            raise ValueError(f"market must be 'linear' (Hyperliquid's perpetuals), got {market!r}")
        super().__init__(recordings, market=market, options=options)
        self._extra = list(coins)
        self._sz = dict(sz_decimals or {})
        self._fundings = {coin: sorted(entries) for coin, entries in (fundings or {}).items()}
        self._page = page
        self._books: dict[str, _Book] = {}
        self._contexts: dict[str, dict[str, Any]] = {}
        self._last_trades: dict[str, str] = {}
        self.closed_for_unknown_coin: list[str] = []
        """Coins whose subscription closed the socket, in order."""
        self.info_requests: list[str] = []
        """The ``type`` of every info request answered, in order (``stats.rest_requests`` has the rest)."""

    @property
    def path(self) -> str:
        """The WebSocket path this venue serves: ``/ws``."""
        return _PATH

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get(_PATH, self._handle_ws)
        app.router.add_post(_INFO, self._handle_info)

    @property
    def coins(self) -> list[str]:
        """The coins the venue lists, in ``meta``'s order: the recording's (as named so far), then ``coins=``."""
        found = sorted(self._replay.symbols)
        return found + [c for c in self._extra if c not in found]

    # -- recording -------------------------------------------------------------------------------

    def _classify(self, raw: bytes) -> Classified | None:
        """A push of a public channel is data on stream ``<channel>:<coin>``; acks, pongs and the info answers
        a recorder kept are not replayed."""
        try:
            head = msgspec.json.decode(raw, type=_Head)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        data = head.data
        first = data[0] if isinstance(data, list) and data else data
        coin = first.get("coin") if isinstance(first, dict) else None
        if head.channel not in _TYPES or not isinstance(coin, str):
            return None
        time_ms = first.get("time")
        return Classified(FrameKind.DATA, f"{head.channel}:{coin}", coin, time_ms if isinstance(time_ms, int) else None)

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        text = frame.raw.decode()
        kind, _, coin = frame.stream.partition(":")
        data = json.loads(text)["data"]
        if kind == "l2Book":
            self._books.setdefault(coin, _Book()).replace(data)
        elif kind == "activeAssetCtx":
            self._contexts[coin] = dict(data["ctx"])
        else:
            self._last_trades[coin] = text
        return [OutFrame(frame.stream, frame.stream_index, frame.index, text)]

    def book(self, symbol: str, depth: int | None = None) -> BookView:
        """The venue's book of ``symbol`` (a coin, or arb's symbol of one: ``BTCUSDT`` is ``BTC``); ``update_id``
        is its ``time`` (ms), ``None`` before the first book."""
        coin = symbol if symbol in self._books else symbol.upper().removesuffix("USDT")
        state = self._books.get(coin)
        if state is None:
            return BookView(symbol, [], [], None)
        return BookView(symbol, state.book.bids(depth), state.book.asks(depth), state.time_ms)

    # -- WebSocket -------------------------------------------------------------------------------

    async def _handle_ws(self, request: web.Request) -> web.StreamResponse:
        """``/ws``: nothing flows until a subscription; then the pushes, e.g. ``{"channel":"l2Book","data":
        {"coin":"BTC","time":1723161250000,"levels":[[...],[...]]}}``."""
        return await self._serve_ws(request, streams=(), combined=True)

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """Answer ``{"method":"ping"}`` and ``{"method":"subscribe"|"unsubscribe","subscription":{...}}``."""
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        method = request.get("method") if isinstance(request, dict) else None
        if method == "ping":
            await conn.send_control('{"channel":"pong"}')
            return
        sub = request.get("subscription") if isinstance(request, dict) else None
        kind = sub.get("type") if isinstance(sub, dict) else None
        coin = sub.get("coin") if isinstance(sub, dict) else None
        if method not in ("subscribe", "unsubscribe") or kind not in _TYPES or not isinstance(coin, str):
            self.stats.ignored_messages += 1
            error = {"channel": "error", "data": f"Error parsing JSON into valid websocket request: {text[:200]}"}
            await conn.send_control(json.dumps(error, separators=(",", ":")))
            return
        stream = f"{kind}:{coin}"
        ack = json.dumps({"channel": "subscriptionResponse", "data": {"method": method, "subscription": sub}},
                         separators=(",", ":"))  # fmt: skip
        if method == "unsubscribe":
            await conn.change_subscriptions(remove=[stream], reply=ack)
            self._log_subscription(conn, "unsubscribe", [stream], ok=True)
            self._notify()
            return
        if coin not in self.coins:
            self._log_subscription(conn, "subscribe", [stream], ok=False)
            self.closed_for_unknown_coin.append(coin)
            await conn.close(1006, abrupt=True)
            self._notify()
            return
        await conn.change_subscriptions(add=[stream], reply=ack, then=lambda: self._first_for(kind, coin))
        self._log_subscription(conn, "subscribe", [stream], ok=True)
        self._notify()

    def _first_for(self, kind: str, coin: str) -> list[OutFrame]:
        # What follows a subscription's ack (atomically with it): the book as it stands, or the last trades.
        stream = f"{kind}:{coin}"
        if kind == "l2Book" and coin in self._books:
            text = json.dumps({"channel": "l2Book", "data": self._books[coin].data(coin)}, separators=(",", ":"))
            return [OutFrame(stream, -1, self.position, text)]
        if kind == "trades" and coin in self._last_trades:
            return [OutFrame(stream, -1, self.position, self._last_trades[coin])]
        return []

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None) -> str:
        _, _, coin = out.stream.partition(":")
        other = (as_stream or "x:XYZ").partition(":")[2]
        return out.text.replace(f'"coin":"{coin}"', f'"coin":"{other}"')

    # -- the info endpoint -----------------------------------------------------------------------

    async def _handle_info(self, request: web.Request) -> web.Response:
        """``POST /info``: see the module docstring. Held and faulted as the plan says (path ``/info``) unless
        :meth:`_info_refusal` refuses it first."""
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        kind = body.get("type") if isinstance(body, dict) else None
        if (refused := self._info_refusal(request, kind)) is not None:
            return refused

        def build() -> tuple[int, bytes]:
            status, text = self._info(kind, body if isinstance(body, dict) else {})
            return status, text.encode()

        status, answer, headers = await self._rest_answer(request, build, _fault_text, f"{request.path} {kind}")
        self.info_requests.append(str(kind))
        self._log_rest(request, status, 0)
        return web.Response(status=status, body=answer, headers=headers, content_type="application/json",
                            charset="utf-8")  # fmt: skip

    def _info_refusal(self, request: web.Request, kind: object) -> web.Response | None:
        """The answer to an info request of type ``kind`` refused before it is held or served; ``None``: none."""
        return None

    def _info(self, kind: object, body: Mapping[str, Any]) -> tuple[int, str]:
        if kind == "meta":
            return 200, _dump(self._meta())
        if kind == "metaAndAssetCtxs":
            return 200, _dump([self._meta(), [self._context(coin) for coin in self.coins]])
        if kind == "l2Book":
            coin = body.get("coin")
            state = self._books.get(coin) if isinstance(coin, str) else None
            if coin not in self.coins or state is None:
                return 200, "null"
            return 200, _dump(state.data(str(coin)))
        if kind == "fundingHistory":
            return self._funding_history(body)
        return 422, "Failed to deserialize the JSON body into the target type"

    def _meta(self) -> dict[str, Any]:
        universe = [{"name": c, "szDecimals": self._sz.get(c, DEFAULT_SZ_DECIMALS), "maxLeverage": 40}
                    for c in self.coins]  # fmt: skip
        return {"universe": universe}

    def _context(self, coin: str) -> dict[str, Any]:
        if coin in self._contexts:
            return self._contexts[coin]
        view = self.book(coin, 1)
        tops = [Decimal(side[0][0]) for side in (view.bids, view.asks) if side] or self._next_tops(coin)
        mid = str(sum(tops, Decimal(0)) / len(tops)) if tops else "1.0"
        return {"funding": "0.0000125", "openInterest": "0.0", "oraclePx": mid, "markPx": mid, "premium": "0.0"}

    def _next_tops(self, coin: str) -> list[Decimal]:
        # before the coin's first book is released, the best prices of the recording's next frame when it is that
        # book (a venue has a mark before a replay starts: a client loading its markets first reads a real one)
        frame = self._replay.peek()
        if frame is None or frame.stream != f"l2Book:{coin}":
            return []
        levels = json.loads(frame.raw)["data"]["levels"]
        return [Decimal(str(side[0]["px"])) for side in levels if side]

    def _funding_history(self, body: Mapping[str, Any]) -> tuple[int, str]:
        coin, start, end = body.get("coin"), body.get("startTime"), body.get("endTime")
        if not isinstance(coin, str) or not isinstance(start, int):
            return 422, "Failed to deserialize the JSON body into the target type"
        last = end if isinstance(end, int) else 1 << 62
        entries = [(t, r) for t, r in self._fundings.get(coin, []) if start <= t <= last][: self._page]
        return 200, _dump([{"coin": coin, "fundingRate": r, "premium": "0.0", "time": t} for t, r in entries])


def _fault_text(fault: RestFault) -> bytes:
    # the text of a scripted REST error that brings no body
    return (fault.msg or "Service unavailable").encode()


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


VENUE = FakeHyperliquidVenue
"""This venue's fake, as :func:`arb.sim.fake_venue` finds it by the venue's name."""
