"""Resting post-only quotes at a simulated venue, filled by the rules of the backtest's exchange.

The ``maker_taker`` style's backtest rests its quotes in hftbacktest's no-partial-fill exchange with one of
its queue models (``[backtest] queue_model``). For the dry run to make the same decisions on the same
recording, the paper venue must fill a resting quote at the same event, so this module states those
rules again, in Python, on the venue's rows (the ``arb.events`` layout, which is hftbacktest's):

- **The venue's depth** (:class:`VenueDepth`) is kept as hftbacktest keeps it on its exchange side: the
  quantity at each price tick (a price is ``round(px / tick)``, a quantity that rounds to no lot removes
  its level) and the best bid and ask ticks. A level that an update on the other side crosses is not
  removed; only the best tick moves past it.
- **A post-only quote** arriving at a price that would take (a buy at or above the best ask, a sell at or
  below the best bid) expires. Otherwise it rests with the quantity at its price as the queue ahead of it.
- **A quote fills whole** (no partial fills) when the best price of the other side reaches it (a depth
  update moves the best ask to or below a buy quote), when a trade on the other side goes through its
  price (a sell trade below a buy quote), or when trades at its price have consumed the queue ahead of
  it by more than half a lot (``round(ahead / lot) < 0``). Fills are at the quote's price, as a maker.
- **The queue ahead** (:class:`QueueModel`): a trade at the quote's price takes its quantity off the
  queue ahead; a change of the level's quantity moves it by the model's rule. ``risk_averse``: only
  decreases below the level's new quantity count (``ahead = min(ahead, new)``). The probability models
  (``power``, ``power2``, ``power3`` with an exponent, ``log``, ``log2``) share a decrease that trades did
  not explain between the queue ahead and behind, with the probability ``f(back) / (f(back) + f(front))``
  (``power``: ``f(x) = x ** n``; ``log``: ``f(x) = log(1 + x)``), ``f(back) / f(back + front)``
  (``power2``, ``log2``) or ``1 - (front / (front + back)) ** n`` (``power3``).

Rows are taken in the order given, each as the exchange side of the backtest takes a row that carries
the venue's flag (``EXCH_EVENT``): depth clears, depth updates and snapshot rows, then trades; other rows
(best bid/offer rows included) change nothing. Units: prices in quote currency, quantities in base
units, times int64 ns.
"""

from __future__ import annotations

__all__ = [
    "QUEUE_MODELS",
    "QueueModel",
    "QueuedQuote",
    "RestingQuotes",
    "VenueDepth",
    "queue_model",
]

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from arb.events import (
    BUY_EVENT,
    DEPTH_BBO_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    EXCH_EVENT,
    SELL_EVENT,
    TRADE_EVENT,
)
from arb.strategy.types import BUY

_NO_BID = -(2**63)  # hftbacktest's INVALID_MIN / INVALID_MAX: no level on that side
_NO_ASK = 2**63 - 1

_EXCH_BID_CLEAR = EXCH_EVENT | BUY_EVENT | DEPTH_CLEAR_EVENT
_EXCH_ASK_CLEAR = EXCH_EVENT | SELL_EVENT | DEPTH_CLEAR_EVENT
_EXCH_CLEAR = EXCH_EVENT | DEPTH_CLEAR_EVENT
_EXCH_BID_DEPTH = EXCH_EVENT | BUY_EVENT | DEPTH_EVENT
_EXCH_BID_SNAPSHOT = EXCH_EVENT | BUY_EVENT | DEPTH_SNAPSHOT_EVENT
_EXCH_ASK_DEPTH = EXCH_EVENT | SELL_EVENT | DEPTH_EVENT
_EXCH_ASK_SNAPSHOT = EXCH_EVENT | SELL_EVENT | DEPTH_SNAPSHOT_EVENT
_EXCH_BUY_TRADE = EXCH_EVENT | BUY_EVENT | TRADE_EVENT
_EXCH_SELL_TRADE = EXCH_EVENT | SELL_EVENT | TRADE_EVENT


def _is(ev: int, flags: int) -> bool:
    return ev & flags == flags


def _round(x: float) -> float:
    # to the nearest integer, halves away from zero (Rust's f64::round; Python's round() goes to even)
    if not math.isfinite(x):
        return x
    return math.copysign(math.floor(abs(x) + 0.5), x)


class VenueDepth:
    """One instrument's depth at the venue, kept as the backtest's exchange side keeps it."""

    __slots__ = ("ask_high", "asks", "best_ask", "best_bid", "bid_low", "bids", "lot_size", "tick_size")

    def __init__(self, tick_size: float, lot_size: float) -> None:
        self.tick_size = tick_size
        self.lot_size = lot_size
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self.best_bid = _NO_BID
        self.best_ask = _NO_ASK
        self.bid_low = _NO_ASK  # the lowest bid tick ever set since the side was last empty
        self.ask_high = _NO_BID

    def tick(self, price: float) -> int:
        """``price`` on the tick grid (rounded to the nearest tick)."""
        return int(_round(price / self.tick_size))

    def _below(self, start: int, end: int) -> int:
        bids = self.bids
        for t in range(start - 1, end - 1, -1):
            if bids.get(t, 0.0) > 0.0:
                return t
        return _NO_BID

    def _above(self, start: int, end: int) -> int:
        asks = self.asks
        for t in range(start + 1, end + 1):
            if asks.get(t, 0.0) > 0.0:
                return t
        return _NO_ASK

    def update_bid(self, price: float, qty: float) -> tuple[int, int, float]:
        """One bid level's new quantity: returns ``(tick, previous best bid tick, previous quantity)``."""
        t = self.tick(price)
        prev_best = self.best_bid
        prev_qty = self.bids.get(t, 0.0)
        if _round(qty / self.lot_size) > 0:
            self.bids[t] = qty
            if t > self.best_bid:
                self.best_bid = t
                if self.best_bid >= self.best_ask:
                    self.best_ask = self._above(self.best_bid, self.ask_high)
            self.bid_low = min(self.bid_low, t)
        else:
            self.bids.pop(t, None)
            if t == self.best_bid:
                self.best_bid = self._below(self.best_bid, self.bid_low)
                if self.best_bid == _NO_BID:
                    self.bid_low = _NO_ASK
        return t, prev_best, prev_qty

    def update_ask(self, price: float, qty: float) -> tuple[int, int, float]:
        """One ask level's new quantity: returns ``(tick, previous best ask tick, previous quantity)``."""
        t = self.tick(price)
        prev_best = self.best_ask
        prev_qty = self.asks.get(t, 0.0)
        if _round(qty / self.lot_size) > 0:
            self.asks[t] = qty
            if t < self.best_ask:
                self.best_ask = t
                if self.best_bid >= self.best_ask:
                    self.best_bid = self._below(self.best_ask, self.bid_low)
            self.ask_high = max(self.ask_high, t)
        else:
            self.asks.pop(t, None)
            if t == self.best_ask:
                self.best_ask = self._above(self.best_ask, self.ask_high)
                if self.best_ask == _NO_ASK:
                    self.ask_high = _NO_BID
        return t, prev_best, prev_qty

    def clear(self, side: int, price: float) -> None:
        """A clear row: ``side`` BUY clears the bids from ``price`` up, SELL the asks up to ``price``,
        0 both sides whole."""
        upto = self.tick(price)
        if side == BUY:
            if self.best_bid != _NO_BID:
                for t in range(upto, self.best_bid + 1):
                    self.bids.pop(t, None)
            self.best_bid = self._below(upto - 1, self.bid_low)
            if self.best_bid == _NO_BID:
                self.bid_low = _NO_ASK
        elif side != 0:
            if self.best_ask != _NO_ASK:
                for t in range(self.best_ask, upto + 1):
                    self.asks.pop(t, None)
            self.best_ask = self._above(upto + 1, self.ask_high)
            if self.best_ask == _NO_ASK:
                self.ask_high = _NO_BID
        else:
            self.bids.clear()
            self.asks.clear()
            self.best_bid, self.best_ask = _NO_BID, _NO_ASK
            self.bid_low, self.ask_high = _NO_ASK, _NO_BID


@dataclass(slots=True)
class QueuedQuote:
    """One resting quote and its place in its level's queue."""

    order_id: int
    side: int
    tick: int
    price: float
    qty: float
    ahead: float
    """The quantity estimated ahead of it at its price (negative once trades went past it)."""
    traded: float = 0.0
    """Traded at its price since the level's quantity last changed (the probability models)."""


_Prob = Callable[[float, float], float]


@dataclass(frozen=True, slots=True)
class QueueModel:
    """How a resting quote's queue ahead advances (``[backtest] queue_model``): ``prob`` is None for
    ``risk_averse``, else ``prob(front, back)``, the share of an unexplained decrease taken behind it."""

    name: str
    prob: _Prob | None = None

    def depth(self, q: QueuedQuote, prev_qty: float, new_qty: float) -> None:
        """The quote's level went from ``prev_qty`` to ``new_qty``."""
        if self.prob is None:
            q.ahead = min(q.ahead, new_qty)
            return
        change = prev_qty - new_qty - q.traded
        q.traded = 0.0  # trades are in the level's quantity now
        if change < 0.0:
            q.ahead = min(q.ahead, new_qty)
            return
        front = q.ahead
        back = prev_qty - front
        p = self.prob(front, back)
        if math.isinf(p):
            p = 1.0
        estimate = front - (1.0 - p) * change + min(back - p * change, 0.0)
        q.ahead = min(estimate, new_qty)

    def trade(self, q: QueuedQuote, qty: float) -> None:
        """A trade of ``qty`` at the quote's price."""
        q.ahead -= qty
        if self.prob is not None:
            q.traded += qty


def _ratio(f: Callable[[float], float]) -> _Prob:
    def prob(front: float, back: float) -> float:
        fb = f(back)
        return _div(fb, fb + f(front))

    return prob


def _of_sum(f: Callable[[float], float]) -> _Prob:
    def prob(front: float, back: float) -> float:
        return _div(f(back), f(back + front))

    return prob


def _div(a: float, b: float) -> float:
    # IEEE division, as the backtest's: x / 0 is +-inf (or NaN for 0 / 0), never an exception
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _pow(n: float) -> Callable[[float], float]:
    def f(x: float) -> float:
        try:
            return math.pow(x, n)
        except ValueError:  # a negative base to a fractional power: NaN, as powf gives
            return math.nan

    return f


def _log1p(x: float) -> float:
    if x == -1.0:
        return -math.inf
    return math.log1p(x) if x > -1.0 else math.nan


QUEUE_MODELS = ("risk_averse", "power", "power2", "power3", "log", "log2")
"""The models ``[backtest] queue_model`` names."""


def queue_model(name: str, power: float = 3.0) -> QueueModel:
    """The queue model ``[backtest] queue_model`` names, with ``queue_power`` for the power models."""
    if name == "risk_averse":
        return QueueModel(name)
    if name == "power":
        return QueueModel(name, _ratio(_pow(power)))
    if name == "power2":
        return QueueModel(name, _of_sum(_pow(power)))
    if name == "power3":
        f = _pow(power)
        return QueueModel(name, lambda front, back: 1.0 - f(_div(front, front + back)))
    if name == "log":
        return QueueModel(name, _ratio(_log1p))
    if name == "log2":
        return QueueModel(name, _of_sum(_log1p))
    raise ValueError(f"unknown queue model {name!r}: expected one of {', '.join(QUEUE_MODELS)}")


@dataclass(slots=True)
class RestingQuotes:
    """One instrument's resting quotes at a simulated venue and the venue's depth they queue in.

    :meth:`on_row` takes every row of the venue's stream in order; :meth:`add` places a post-only quote
    (it arrives now, against the depth as it is), :meth:`cancel` takes one off. ``filled`` collects
    ``(order_id, exch_ts)`` in the order the quotes filled; the caller drains it. ``causes`` counts the
    fills by what filled them: ``"book"`` (the other side's best reached the quote), ``"through"`` (a
    trade beyond its price), ``"queue"`` (trades at its price used up the queue ahead).
    """

    depth: VenueDepth
    model: QueueModel
    quotes: dict[int, QueuedQuote] = field(default_factory=dict)
    filled: list[tuple[int, int]] = field(default_factory=list)
    causes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(("book", "through", "queue"), 0))

    def add(self, order_id: int, side: int, price: float, qty: float) -> bool:
        """Place a post-only quote now: False (expired, nothing rests) if it would take liquidity."""
        depth = self.depth
        t = depth.tick(price)
        if (side == BUY and t >= depth.best_ask) or (side != BUY and t <= depth.best_bid):
            return False
        ahead = (depth.bids if side == BUY else depth.asks).get(t, 0.0)
        self.quotes[order_id] = QueuedQuote(order_id, side, t, price, qty, ahead)
        return True

    def cancel(self, order_id: int) -> QueuedQuote | None:
        """Take a quote off: the quote, or None when it is not resting (filled, expired or unknown)."""
        return self.quotes.pop(order_id, None)

    def on_rows(self, rows: Any, venue_rows: bool = False) -> None:
        """:meth:`on_row` for each row of an event array; ``venue_rows``: every row is the venue's own
        (a normalizer's rows, which carry no ``EXCH_EVENT`` flag), not only those flagged so."""
        flag = EXCH_EVENT if venue_rows else 0
        for ev, exch_ts, px, qty in zip(
            rows["ev"].tolist(), rows["exch_ts"].tolist(), rows["px"].tolist(), rows["qty"].tolist(), strict=True
        ):
            self.on_row(ev | flag, exch_ts, px, qty)

    def on_row(self, ev: int, exch_ts: int, px: float, qty: float) -> None:
        """One row of the venue's stream (``ev`` flags, its exchange time, price and quantity). A best
        bid/offer row changes nothing: the backtest's data holds none (``arb convert`` leaves them out
        unless asked), and its flags would read as a depth update."""
        if ev & EVENT_KIND_MASK == DEPTH_BBO_EVENT:
            return
        depth = self.depth
        if _is(ev, _EXCH_BID_CLEAR):
            depth.clear(BUY, px)
        elif _is(ev, _EXCH_ASK_CLEAR):
            depth.clear(-1, px)
        elif _is(ev, _EXCH_CLEAR):
            depth.clear(0, 0.0)
        elif _is(ev, _EXCH_BID_DEPTH) or _is(ev, _EXCH_BID_SNAPSHOT):
            t, prev_best, prev_qty = depth.update_bid(px, qty)
            if self.quotes:
                self._level_changed(BUY, t, prev_qty, qty)
                if depth.best_bid > prev_best:
                    self._fill_where(lambda q: q.side != BUY and prev_best < q.tick <= depth.best_bid, exch_ts)
        elif _is(ev, _EXCH_ASK_DEPTH) or _is(ev, _EXCH_ASK_SNAPSHOT):
            t, prev_best, prev_qty = depth.update_ask(px, qty)
            if self.quotes:
                self._level_changed(-1, t, prev_qty, qty)
                if depth.best_ask < prev_best:
                    self._fill_where(lambda q: q.side == BUY and depth.best_ask <= q.tick < prev_best, exch_ts)
        elif _is(ev, _EXCH_BUY_TRADE):
            if self.quotes:
                self._trade(-1, depth.tick(px), qty, exch_ts)
        elif _is(ev, _EXCH_SELL_TRADE) and self.quotes:
            self._trade(BUY, depth.tick(px), qty, exch_ts)

    def _level_changed(self, side: int, tick: int, prev_qty: float, new_qty: float) -> None:
        for q in self.quotes.values():
            if q.tick == tick and (q.side == BUY) == (side == BUY):
                self.model.depth(q, prev_qty, new_qty)

    def _fill_where(self, crossed: Callable[[QueuedQuote], bool], exch_ts: int) -> None:
        for q in [q for q in self.quotes.values() if crossed(q)]:
            self._fill(q, exch_ts, "book")

    def _trade(self, quote_side: int, tick: int, qty: float, exch_ts: int) -> None:
        # A trade whose taker is on the other side than the quotes of ``quote_side``: it goes through a
        # quote priced better than the trade, and takes the queue of a quote at the trade's price.
        lot = self.depth.lot_size
        for q in list(self._on_side(quote_side)):
            beyond = q.tick > tick if quote_side == BUY else q.tick < tick
            if beyond:
                self._fill(q, exch_ts, "through")
            elif q.tick == tick:
                self.model.trade(q, qty)
                if _round(q.ahead / lot) < 0:
                    self._fill(q, exch_ts, "queue")

    def _on_side(self, side: int) -> Iterator[QueuedQuote]:
        buy = side == BUY
        return (q for q in self.quotes.values() if (q.side == BUY) == buy)

    def _fill(self, q: QueuedQuote, exch_ts: int, cause: str) -> None:
        del self.quotes[q.order_id]
        self.filled.append((q.order_id, exch_ts))
        self.causes[cause] += 1
