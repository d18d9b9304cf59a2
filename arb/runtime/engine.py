"""The live driver's core: every symbol's books on both venues, the kernels' views, the kernel, the
risk gate, an executor.

It is synchronous and reads no clock: every call says what time it is. The asyncio shell
(``arb.runtime.live``) feeds it batches from the WebSocket feeds and wakes it for executor events;
the replay source feeds it batches read from recordings; both drive the very same code, and so does
the parity check, which compares its decisions with the backtest's.

Timing rules (the backtest's, so the two can be compared):

- A decision is made at every local time at which a venue's book (or its sync state) changed, and
  at every time an order answer arrives: one kernel call for each symbol whose book changed or whose
  order was answered. Batches that share one local time are applied together before the one
  decision at that time.
- Executor events (arrivals, answers) due before a batch's time are processed, in time order, before
  that batch is applied; events due exactly at it, after (an order sent with zero latency is filled
  against the book it was decided on).
- Venue status at a decision: out of sync unless its feed says synced; stale when its last book
  change is older than ``risk.stale_after`` (or its feed says stale); otherwise OK. Beside it the view
  says until when the executor holds orders back from the venue (``blocked_until_ns``: the live
  executors' rate guard after a rate limit or a ban; the paper executor never does), read from the
  executor at each decision, as its open and unknown orders are.
- Equity is sampled at decisions, once per ``equity_interval`` of local time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._jit import say_compiling
from arb.book import OrderBook, book_top, touches_book
from arb.config import AppConfig
from arb.events import (
    ASSET_NAMES,
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_S,
    EventArray,
    event_dtype,
)
from arb.execution.faults import make_leg_faults
from arb.execution.paper import PaperExecutor, PaperOrder
from arb.execution.risk import (
    B_HALTED,
    E_DRAWDOWN,
    E_IMBALANCE,
    E_PAIR_LOSS,
    H_EXTERNAL,
    HALT_REASONS,
    RiskEvent,
    drain_events,
    event_text,
    gate,
    limits_of,
    new_risk_state,
    new_symbol_risk_state,
    position_at,
    quote_currency,
    update_equity,
    value_px,
)
from arb.runtime.marks import NS_PER_DAY, BoundaryMark, Spans, out_of_sync_spans
from arb.strategy.kernel import decide, may_act
from arb.strategy.params import params_of
from arb.strategy.types import (
    BUY,
    DECISION_DTYPE,
    EQUITY_DTYPE,
    FILL_DTYPE,
    FUNDING_DTYPE,
    HEDGE_FAILED,
    SENT_DTYPE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_views,
)
from connectors.common.normalizer import SyncState

__all__ = ["Batch", "Engine", "EngineLog", "Executor"]

log = logging.getLogger(__name__)

_COMPILE_S = 15.0
"""About how long compiling the engine's steps (the kernel and the risk gate in them) takes, s: once
after an install or update (Numba caches them), on the project's 2-core VM."""

_MAX_SETTLE_ROUNDS = 10_000
_BEFORE_ALL = int(np.iinfo(np.int64).min)  # the time of the state an engine starts in


# Rows of ``Engine.venues``, the per-(symbol, venue) state the compiled step reads besides the books
# (``venues[row, s, v]``).
V_SYNCED = 0  # 1 while the feed says the book is synced
V_FEED_STALE = 1  # 1 while the feed says the book is stale
V_BOOK_TS = 2  # local time of the book's last change, ns
V_OPEN = 3  # orders of the symbol on the venue the engine has not been told the end of
V_BLOCKED = 4  # local time until which the executor refuses orders on the venue (every symbol's), ns
N_VENUE_ROWS = 5


@nb.njit(cache=True, nogil=True)
def _venue_status(venues: Any, s: int, v: int, now: int, stale_after: int) -> int:
    # What the view says of symbol s's book on venue v at ``now``.
    if venues[V_SYNCED, s, v] == 0:
        return VENUE_OUT_OF_SYNC
    if venues[V_FEED_STALE, s, v] != 0 or now - venues[V_BOOK_TS, s, v] > stale_after:
        return VENUE_STALE
    return VENUE_OK


@nb.njit(cache=True, nogil=True)
def _perp_rows(rows: Any) -> bool:
    # Does the batch hold a mark price, a funding rate or a settlement (a perpetual's stream)?
    for i in range(rows.shape[0]):
        kind = rows[i]["ev"] & EVENT_KIND_MASK
        if kind == MARK_PRICE_EVENT or kind == FUNDING_RATE_EVENT or kind == FUNDING_SETTLED_EVENT:
            return True
    return False


@nb.njit(cache=True, nogil=True)
def _fill_accounts(views: Any, account: Any, venues: Any) -> None:
    # Every symbol's position, holdings, the venue's quote and open orders into its view: the account
    # as the gate's totals read it (cheap: no book is read). ``account``: (position, init_base,
    # init_quote, cash), position/init_base/cash by (symbol, venue), init_quote by venue.
    position, init_base, init_quote, cash = account
    for v in range(2):
        quote = init_quote[v] + cash[0, v]
        for s in range(1, views.shape[0]):
            quote = quote + cash[s, v]
        for s in range(views.shape[0]):
            rec = views[s][v]
            rec["position"] = position[s, v]
            rec["base_balance"] = init_base[s, v] + position[s, v]
            rec["quote_balance"] = quote
            rec["open_orders"] = venues[V_OPEN, s, v]
            rec["book_local_ts"] = venues[V_BOOK_TS, s, v]
            rec["blocked_until_ns"] = venues[V_BLOCKED, s, v]


@nb.njit(cache=True, nogil=True)
def _fill_books(
    views: Any, s: int, books: Any, levels: int, venues: Any, now: int, stale_after: int, last_mid: Any
) -> None:
    # Symbol s's view of both books (best ``levels`` a side) and the venues' status, in one compiled
    # call. ``books``: the symbol's two ``OrderBook.arrays``, by venue (only its own: a compiled call's
    # cost grows with every array it is handed).
    for v in range(2):
        bid_keys, bid_qtys, ask_keys, ask_qtys, counts = books[v]
        rec = views[s][v]
        book_top(bid_keys, bid_qtys, ask_keys, ask_qtys, counts, levels,
                 rec["bid_px"], rec["bid_qty"], rec["ask_px"], rec["ask_qty"])  # fmt: skip
        rec["status"] = _venue_status(venues, s, v, now, stale_after)
        mid = 0.5 * (rec["bid_px"][0] + rec["ask_px"][0])
        if np.isfinite(mid):
            last_mid[s, v] = mid


@nb.njit(cache=True, nogil=True)
def _trading_pnl(cash: Any, position: Any, last_mid: Any, mark: Any, out: Any) -> float:
    # Per symbol (into ``out``) and for the account: cash + position x price over the venues (the mark
    # price where there is one, else the last mid), operation for operation as NumPy's sum of the two
    # venues does it.
    total = 0.0
    for s in range(cash.shape[0]):
        pnl: float = cash[s, 0] + position[s, 0] * value_px(mark, last_mid, s, 0)
        for v in range(1, cash.shape[1]):
            pnl = pnl + (cash[s, v] + position[s, v] * value_px(mark, last_mid, s, v))
        out[s] = pnl
        total = pnl if s == 0 else total + pnl
    return total


@nb.njit(cache=True, nogil=True)
def _account_step(
    now: int, views: Any, account: Any, venues: Any, limits: Any, rstate: Any, srisk: Any, last_mid: Any,
    mark: Any, pnl_sym: Any,
) -> None:  # fmt: skip
    # At a decision time, once the deciding symbols' books are in their views: every symbol's account
    # fields, and the gate's trackers on the account's and each symbol's trading PnL.
    _fill_accounts(views, account, venues)
    position, _, _, cash = account
    # drawdown is measured on trading PnL: the starting coins' price moves are not losses
    trading = _trading_pnl(cash, position, last_mid, mark, pnl_sym)
    if np.isfinite(trading):
        update_equity(limits, rstate, srisk, trading, pnl_sym, views, now)


@nb.njit(cache=True, nogil=True)
def _decide_symbol(
    now: int,
    s: int,
    views: Any,
    params: Any,
    kstate: Any,
    limits: Any,
    rstate: Any,
    srisk: Any,
    intents: Any,
    pair_seq: Any,
    calls: Any,
    call: int,
    sent: Any,
    first_sent: int,
    ints: Any,
    floats: Any,
    at: int,
    venues: Any,
) -> int:
    # Symbol s's decision on its view (books and account filled): may_act, its kernel, the gate, the
    # call log row ``calls[call]`` and its sent rows from ``sent[first_sent]`` (and ``ints``/``floats``
    # from row ``at``: see _log_sent). Returns the intents that passed, or -1 when may_act said the
    # kernel would do nothing (no call logged). ``pair_seq[0]`` is the next pair id, shared by the
    # symbols.
    view = views[s]
    p = params[s : s + 1]
    if not may_act(view, p, now):
        return -1
    ks = kstate[s : s + 1]
    ks[0]["next_pair_id"] = pair_seq[0]
    buf = intents[s]
    n = decide(view, p, ks, now, buf)
    pair_seq[0] = ks[0]["next_pair_id"]
    n = gate(views, s, limits, rstate, srisk, buf, n, now)
    row = calls[call]
    row["ts"] = now
    row["symbol"] = s
    for v in range(2):
        row["bid"][v] = view[v]["bid_px"][0]
        row["ask"][v] = view[v]["ask_px"][0]
        row["position"][v] = view[v]["position"]
        row["status"][v] = view[v]["status"]
        row["open_orders"][v] = view[v]["open_orders"]
    row["intents"] = n
    _log_sent(sent, first_sent, buf, n, now, ints, floats, at, s)
    for k in range(n):  # the next symbol's gate counts them (the executor's count comes next time)
        v = buf[k]["venue"]
        view[v]["open_orders"] += 1
        venues[V_OPEN, s, v] += 1
    return n


@nb.njit(cache=True, nogil=True)
def _log_sent(sent: Any, first: int, intents: Any, n: int, now: int, ints: Any, floats: Any, at: int,
              symbol: int) -> None:  # fmt: skip
    # The first n intents as sent at ``now``, into sent[first:first + n]; also their order fields as
    # plain arrays from row ``at`` (ints: venue, side, kind, pair_id, symbol; floats: price, qty),
    # which Python reads far faster than the fields of a record array.
    for k in range(n):
        row = sent[first + k]
        it = intents[k]
        row["ts"] = now
        row["venue"] = it["venue"]
        row["side"] = it["side"]
        row["price"] = it["price"]
        row["qty"] = it["qty"]
        row["kind"] = it["kind"]
        row["pair_id"] = it["pair_id"]
        row["level"] = it["level"]
        row["symbol"] = symbol
        ints[at + k, 0] = it["venue"]
        ints[at + k, 1] = it["side"]
        ints[at + k, 2] = it["kind"]
        ints[at + k, 3] = it["pair_id"]
        ints[at + k, 4] = symbol
        floats[at + k, 0] = it["price"]
        floats[at + k, 1] = it["qty"]


@nb.njit(cache=True, nogil=True)
def _log_equity(
    equity: Any, index: int, now: int, init_quote: Any, cash: Any, init_base: Any, position: Any, last_mid: Any,
    mark: Any,
) -> int:  # fmt: skip
    # One sample into equity[index:index + symbols], a row per symbol: its part of the account (the
    # first symbol's row holds the starting quote, every row its own cash flows and holdings at its
    # mids; the rows of one time add up to the account) and its marks. Returns the rows written: 0
    # until every book has a mid.
    n_sym = last_mid.shape[0]
    for s in range(n_sym):
        for v in range(2):
            if not np.isfinite(last_mid[s, v]):
                return 0
    for s in range(n_sym):
        row = equity[index + s]
        row["ts"] = now
        row["symbol"] = s
        total = 0.0
        for v in range(2):
            # NumPy's init_quote + cash + (init_base + position) * last_mid, element by element
            start = init_quote[v] if s == 0 else 0.0
            per = start + cash[s, v] + (init_base[s, v] + position[s, v]) * value_px(mark, last_mid, s, v)
            row["equity_venue"][v] = per
            row["position"][v] = position[s, v]
            row["mid"][v] = last_mid[s, v]
            row["price"][v] = value_px(mark, last_mid, s, v)
            total = per if v == 0 else total + per
        row["equity"] = total
        row["spread_bps"] = (last_mid[s, 1] - last_mid[s, 0]) / last_mid[s, 0] * 1e4
    written: int = n_sym
    return written


class Batch(Protocol):
    """What the engine needs of a feed batch (``connectors.common.feed.FeedBatch`` has it)."""

    @property
    def venue(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def rows(self) -> EventArray: ...
    @property
    def local_ts(self) -> int: ...
    @property
    def state(self) -> SyncState: ...
    @property
    def stale(self) -> bool: ...


class Executor(Protocol):
    """What the engine needs of an executor: the paper executor and ``arb.execution.live.LiveExecutor``.

    ``submit`` sends one immediate-or-cancel order of symbol number ``symbol`` and returns an order
    object with the :class:`~arb.execution.paper.PaperOrder` fields; ``run_until(ts, on_answer)`` hands
    over every order answered by ``ts``; ``next_event_ts`` says when the next one is due;
    ``open_orders`` counts unanswered orders per (symbol, venue), index ``2 * symbol + venue``;
    ``cancel_all`` hands over what is answered at shutdown and returns how many were still out.
    """

    @property
    def open_orders(self) -> list[int]: ...
    def submit(
        self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int, symbol: int = 0
    ) -> Any: ...
    def next_event_ts(self) -> int | None: ...
    def run_until(self, ts: int, on_answer: Callable[[Any], None]) -> None: ...
    def cancel_all(self, on_answer: Callable[[Any], None]) -> int: ...


class _Growing:
    # An append-only record array that doubles when full.
    def __init__(self, dtype: np.dtype[Any], capacity: int = 1024) -> None:
        self.data = np.zeros(capacity, dtype)
        self.n = 0

    def next(self) -> Any:
        self.room(1)
        row = self.data[self.n]
        self.n += 1
        return row

    def room(self, more: int) -> np.ndarray[Any, Any]:
        # The array, grown (doubling) until it has room for ``more`` rows after the n in use.
        while self.n + more > len(self.data):
            self.data = np.concatenate([self.data, np.zeros(len(self.data), self.data.dtype)])
        return self.data

    def view(self) -> np.ndarray[Any, Any]:
        return self.data[: self.n]


SyncLog = list[tuple[int, bool]]
"""``(local_ts, synced)`` whenever the view's verdict on one book changed."""


@dataclass(slots=True)
class EngineLog:
    """What the engine did, as record arrays (see arb.strategy.types; each row names its symbol), and
    each book's sync changes: ``sync[s][v]`` lists ``(local_ts, synced)`` whenever the view's verdict on
    symbol ``s``'s book on venue ``v`` changed, after a first entry at the smallest int64 holding the
    state the engine started with."""

    symbols: int = 1
    fills: _Growing = field(default_factory=lambda: _Growing(FILL_DTYPE))
    funding: _Growing = field(default_factory=lambda: _Growing(FUNDING_DTYPE))
    equity: _Growing = field(default_factory=lambda: _Growing(EQUITY_DTYPE))
    calls: _Growing = field(default_factory=lambda: _Growing(DECISION_DTYPE))
    sent: _Growing = field(default_factory=lambda: _Growing(SENT_DTYPE))
    sync: list[tuple[SyncLog, SyncLog]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.sync:
            self.sync = [([(_BEFORE_ALL, False)], [(_BEFORE_ALL, False)]) for _ in range(self.symbols)]

    def out_of_sync(self, start_ns: int, end_ns: int, symbol: int = 0) -> tuple[Spans, Spans]:
        """Per venue, the spans of ``[start_ns, end_ns)`` symbol ``symbol``'s book was not synced."""
        spans = [out_of_sync_spans([t for t, _ in changes], [ok for _, ok in changes], start_ns, end_ns)
                 for changes in self.sync[symbol]]  # fmt: skip
        return spans[0], spans[1]


class Engine:
    """Books, views, kernels, the risk gate and an executor for every symbol on both venues.

    Per-symbol arrays are indexed ``[s, v]`` (symbol number in ``[strategy] symbols``, asset number);
    with one symbol, ``s`` is always 0. ``base`` is the starting holdings per (symbol, venue) and
    ``quote`` per venue (a resumed paper account passes its own); ``on_fill(fill_row)`` is called for
    every fill as soon as the driver learns of it. ``executor``: the paper executor on the engine's own
    books unless another (live) one is given.
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        base: Any = None,
        quote: tuple[float, float] | None = None,
        equity_interval_ns: int = NS_PER_S,
        on_fill: Callable[[Any], None] | None = None,
        first_order_id: int = 1,
        first_pair_id: int = 1,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        venues = config.venues
        n_sym = len(config.symbols)
        self.n_symbols = n_sym
        self.symbols = config.symbol_names
        self.symbol_index = {name: s for s, name in enumerate(self.symbols)}
        start_base = [sym.base for sym in config.symbols] if base is None else base
        self.init_base = np.array(start_base, float).reshape(n_sym, len(venues))
        self.init_quote = np.array(quote if quote is not None else [v.account.quote for v in venues], float)
        self.books = tuple(OrderBook() for _ in range(n_sym) for _ in venues)
        """Every (symbol, venue) book, index ``2 * s + v``."""
        self._books = [(self.books[2 * s].arrays, self.books[2 * s + 1].arrays) for s in range(n_sym)]
        # what the compiled book fill takes: each symbol's two books
        self.versions = [0] * len(self.books)
        self.state = [SyncState.WAITING_SNAPSHOT] * len(self.books)
        self.venues = np.zeros((N_VENUE_ROWS, n_sym, len(venues)), np.int64)
        """Per (symbol, venue), what the compiled step reads besides the books (rows ``V_*``)."""
        self._open_flat = self.venues[V_OPEN].reshape(-1)  # the same memory, asset order 2 * s + v
        self.params = params_of(config)
        self.levels = int(self.params[0]["book_levels"])
        self.kstate = new_state(n_sym)
        self.kstate["next_pair_id"] = first_pair_id
        self._pair_seq = np.array([first_pair_id], np.int64)
        self.views = new_views(n_sym)
        """Every symbol's view: ``views[s]`` is what symbol ``s``'s kernel reads."""
        self.intents = new_intents(n_sym)
        self.limits = limits_of(config)
        self.rstate = new_risk_state()
        self.srisk = new_symbol_risk_state(n_sym)
        self.on_halt: Callable[[str], None] | None = None
        """Called once when the gate halts trading, with the reason (the drivers keep the halt)."""
        self.on_hedge_failed: Callable[[], None] | None = None
        """Called once when a kernel spends its hedge attempts (``HEDGE_FAILED``: no new pair)."""
        self._hedge_failed = False
        self.on_risk_event: Callable[[RiskEvent], None] | None = None
        """Called with each breach the gate reports, after it is logged (the drivers save the gate's memory)."""
        self.risk_events: list[RiskEvent] = []
        """Every breach the gate reported, in order (each logged once per episode as it came)."""
        self._quote = quote_currency(config.strategy.symbol)
        self.stale_after = config.risk.stale_after_ns
        self.position = np.zeros((n_sym, len(venues)))
        """Base units bought minus sold per (symbol, venue)."""
        self.cash = np.zeros((n_sym, len(venues)))
        """Quote received minus paid minus fees per (symbol, venue); a venue's quote is ``init_quote[v] +
        cash[:, v].sum()``."""
        self.last_mid = np.full((n_sym, len(venues)), np.nan)
        self.mark = np.full((n_sym, len(venues)), np.nan)
        """A perpetual's mark price per (symbol, venue), from its stream: what positions are valued at
        there (NaN, the book's mid, until one comes and on spot)."""
        self.funding = np.zeros((n_sym, len(venues)))
        """Funding received minus paid per (symbol, venue), quote (in ``cash`` too)."""
        self.on_funding: Callable[[Any], None] | None = None
        """Called with each funding payment booked (a ``FUNDING_DTYPE`` row)."""
        self._linear = [venue.market == "linear" for venue in venues]
        self._pnl_sym = np.zeros(n_sym)
        self._account = (self.position, self.init_base, self.init_quote, self.cash)  # the same arrays
        self.equity_interval = equity_interval_ns
        self.next_sample = 0
        self.day_marks: list[BoundaryMark] = []
        """The books' mids at each UTC midnight the clock crossed (taken before the first batch past it,
        so they are the books at midnight): what the reports value positions at across a day boundary."""
        self._next_midnight = 0  # 0: no batch yet
        self.log = EngineLog(n_sym)
        self.on_fill = on_fill
        self.on_order: Callable[[Any], None] | None = None
        """Called with every order's answer (filled, partly filled, expired, rejected), before its fill."""
        self.executor: Any = executor or PaperExecutor(
            [config.for_symbol(s).venues for s in range(n_sym)],
            self.books,
            lambda: self.versions,
            base=self.init_base,
            quote=(float(self.init_quote[0]), float(self.init_quote[1])),
            first_order_id=first_order_id,
            leg_faults=make_leg_faults(config.leg_faults),
            request_timeout_ns=config.live.request_timeout_ns,
        )
        self._pending = [False] * n_sym  # symbols whose book, sync state or orders changed
        self._syms = np.zeros(n_sym, np.int64)
        self._now = 0
        self._intent_ints = np.zeros((n_sym * self.intents.shape[1], 5), np.int64)
        self._intent_floats = np.zeros((n_sym * self.intents.shape[1], 2))
        self._warm_up()

    @property
    def view(self) -> np.ndarray[Any, Any]:
        """The first symbol's view (with one symbol, the kernel's view)."""
        first: np.ndarray[Any, Any] = self.views[0]
        return first

    def _warm_up(self) -> None:
        # Compile (or load from Numba's cache) every compiled step now, on scratch copies of the
        # state, so that none of it happens on a tick (the first order sent would pay ~3 ms at least).
        say_compiling([("the engine's kernel step and risk gate", [_decide_symbol, _account_step], _COMPILE_S)], log)
        book = OrderBook(16)
        book.apply(np.zeros(1, event_dtype))
        touches_book(np.zeros(1, event_dtype))
        _perp_rows(np.zeros(1, event_dtype))
        position_at(self.log.fills.data, 0, 0, 0, 0, 0.0)
        views, intents, last_mid = self.views.copy(), self.intents.copy(), self.last_mid.copy()
        account = (self.position.copy(), self.init_base, self.init_quote, self.cash.copy())
        venues = self.venues.copy()
        _fill_books(views, 0, (book.arrays, book.arrays), self.levels, venues, 0, self.stale_after, last_mid)
        _fill_accounts(views, account, venues)
        _account_step(0, views, account, venues, self.limits, self.rstate.copy(), self.srisk.copy(), last_mid,
                      self.mark, self._pnl_sym.copy())  # fmt: skip
        ints, floats = self._intent_ints.copy(), self._intent_floats.copy()
        _decide_symbol(
            0, 0, views, self.params, self.kstate.copy(), self.limits, self.rstate.copy(), self.srisk.copy(), intents,
            self._pair_seq.copy(), np.zeros(1, DECISION_DTYPE), 0, np.zeros(len(ints), SENT_DTYPE), 0, ints, floats,
            0, venues,
        )  # fmt: skip
        _log_equity(np.zeros(self.n_symbols, EQUITY_DTYPE), 0, 0, self.init_quote, account[3], self.init_base,
                    account[0], last_mid, self.mark)  # fmt: skip

    # -- input --------------------------------------------------------------------------------

    def symbol_of(self, name: str) -> int:
        """The number of symbol ``name`` (a feed's or a recording's); KeyError if it is not traded."""
        return self.symbol_index[name]

    def seed_book(self, venue: int, snapshot_rows: EventArray, synced: bool, symbol: int = 0) -> None:
        """Start a book from saved snapshot rows (the previous day's end)."""
        a = 2 * symbol + venue
        self.books[a].apply(snapshot_rows)
        self._books[symbol] = (self.books[2 * symbol].arrays, self.books[2 * symbol + 1].arrays)
        self.versions[a] += 1
        self.state[a] = SyncState.SYNCED if synced else SyncState.WAITING_SNAPSHOT
        self.venues[V_SYNCED, symbol, venue] = int(synced)
        self.log.sync[symbol][venue][:] = [(_BEFORE_ALL, synced)]  # the state the run starts in

    def advance(self, now: int) -> None:
        """Process executor events due strictly before ``now`` (deciding at each answer's time)."""
        while True:
            due = self.executor.next_event_ts()
            if due is None or due >= now:
                return
            self._settle(due)

    def apply(self, batch: Batch) -> None:
        """Apply one batch to its book (call :meth:`advance` for its time first)."""
        v = batch.venue
        s = self.symbol_index[batch.symbol] if self.n_symbols > 1 else 0
        a = 2 * s + v
        rows = batch.rows
        if len(rows):
            book = self.books[a]
            arrays = book.arrays
            book.apply(rows)
            if book.arrays is not arrays:  # it grew
                self._books[s] = (self.books[2 * s].arrays, self.books[2 * s + 1].arrays)
            self.versions[a] += 1
            if touches_book(rows):
                self.venues[V_BOOK_TS, s, v] = batch.local_ts
                self._pending[s] = True
        if self._linear[v] and len(rows) and _perp_rows(rows):
            self._take_perp_rows(s, v, rows)
        stale = int(batch.stale)
        if batch.state != self.state[a] or stale != self.venues[V_FEED_STALE, s, v]:
            self._pending[s] = True
        synced = batch.state == SyncState.SYNCED
        sync_log = self.log.sync[s][v]
        if synced != sync_log[-1][1]:
            sync_log.append((batch.local_ts, synced))
        self.state[a] = batch.state
        self.venues[V_SYNCED, s, v] = int(synced)
        self.venues[V_FEED_STALE, s, v] = stale

    def _take_perp_rows(self, s: int, v: int, rows: EventArray) -> None:
        # A perpetual's mark price (what its position is valued at from now on), the venue's estimate
        # of the coming funding (what the kernel's funding term reads) and funding settlements.
        kinds = rows["ev"] & EVENT_KIND_MASK
        view = self.views[s][v]
        wanted = (kinds == MARK_PRICE_EVENT) | (kinds == FUNDING_RATE_EVENT) | (kinds == FUNDING_SETTLED_EVENT)
        for k in np.flatnonzero(wanted).tolist():
            row = rows[k]
            if kinds[k] == MARK_PRICE_EVENT:
                if row["px"] > 0.0:
                    self.mark[s, v] = row["px"]
                    view["mark_px"] = row["px"]
            elif kinds[k] == FUNDING_RATE_EVENT:
                view["funding_rate"] = row["px"]
                view["next_funding_ns"] = row["ival"]
            else:
                self.book_funding(s, v, int(row["ival"]), float(row["px"]), float(row["qty"]), int(row["local_ts"]))

    def book_funding(self, s: int, v: int, funding_ts: int, rate: float, mark: float, now: int) -> float:
        """Book one funding settlement of symbol ``s`` on venue ``v`` at local time ``now``: the position
        held now pays ``position x price x rate`` (positive rate: longs pay shorts), the price being
        ``mark`` (the settlement's mark price) or, NaN, the venue's last mark price, else its last mid.
        Returns the payment (quote: > 0 received); logs it as its own line (``log.funding``)."""
        px = mark if mark > 0.0 else float(value_px(self.mark, self.last_mid, s, v))
        # the position the venue held at its funding time: not what it filled after it
        fills = self.log.fills
        position = float(position_at(fills.data, fills.n, s, v, funding_ts, float(self.position[s, v])))
        payment = -position * px * rate if position != 0.0 else 0.0
        self.cash[s, v] += payment
        self.funding[s, v] += payment
        credit = getattr(self.executor, "credit", None)  # a simulated venue pays it on its side too
        if credit is not None and payment != 0.0:
            credit(v, payment)
        log_ = self.log.funding
        data = log_.room(1)
        data[log_.n] = (now, funding_ts, v, s, rate, px, position, payment)
        row = data[log_.n]
        log_.n += 1
        if self.on_funding is not None:
            self.on_funding(row)
        return payment

    def settle(self, now: int) -> None:
        """Process what is due at ``now`` and decide if anything changed."""
        self._settle(now)

    def on_batches(self, now: int, batches: Iterable[Batch]) -> None:
        """Everything for one local time: earlier executor events, the batches, then the decision."""
        if now >= self._next_midnight:
            self._cross_midnight(now)
        self.advance(now)
        for batch in batches:
            self.apply(batch)
        self._settle(now)

    def _cross_midnight(self, now: int) -> None:
        # the books have not changed since the last batch: their mids are the mids at each midnight passed
        if self._next_midnight:
            midnight = self._next_midnight
            while midnight <= now:
                mids = self.last_mid.copy()
                price = np.where(np.isnan(self.mark), mids, self.mark)
                self.day_marks.append(BoundaryMark("midnight", midnight, self._now, mids, price))
                midnight += NS_PER_DAY
        self._next_midnight = (now // NS_PER_DAY + 1) * NS_PER_DAY

    def finish(self, now: int) -> None:
        """Process every remaining executor event and take a last equity sample at ``now``."""
        while True:
            due = self.executor.next_event_ts()
            if due is None:
                break
            self._settle(due)
        self._refresh_view(max(now, self._now))
        self._sample(max(now, self._now), force=True)

    def cancel_open_orders(self) -> int:
        """Shut down: orders still on their way are cancelled; fills the venue already made are
        taken into the account. Returns how many orders were cancelled."""
        return int(self.executor.cancel_all(self._on_answer))

    # -- deciding -------------------------------------------------------------------------------

    def _settle(self, now: int) -> None:
        pending = self._pending
        for _ in range(_MAX_SETTLE_ROUNDS):
            self.executor.run_until(now, self._on_answer)
            if not any(pending):
                return
            self._decide(now)
        raise RuntimeError(f"no settled state after {_MAX_SETTLE_ROUNDS} rounds at {now}")

    def _on_answer(self, order: PaperOrder) -> None:
        s = order.symbol_index
        self._pending[s] = True
        if self.on_order is not None:
            self.on_order(order)
        if order.status != "filled":
            return
        v = order.venue
        # a fee paid in the base coin (a live spot buy) comes off the position, not the cash;
        # ``fee`` is always the whole fee's value in quote, for the report
        base_fee = order.base_fee
        self.position[s, v] += order.side * order.fill_qty - base_fee
        self.cash[s, v] -= order.side * order.fill_qty * order.fill_price + order.fee - base_fee * order.fill_price
        fills = self.log.fills
        data = fills.room(1)
        data[fills.n] = (
            order.respond_ts, order.arrive_ts, v, order.side, order.fill_price, order.fill_qty, order.fee,
            order.pair_id, order.kind, order.order_id, s,
        )  # fmt: skip
        row = data[fills.n]
        fills.n += 1
        if self.on_fill is not None:
            self.on_fill(row)

    def hold(self) -> None:
        """Halt new pairs from the start: a halt kept from an earlier run (until a person clears it)."""
        if int(self.rstate[0]["halted"]) == 0:
            self.rstate[0]["halted"] = H_EXTERNAL

    def risk_text(self, event: RiskEvent) -> str:
        """A breach in words, naming its symbol when there are several."""
        text = event_text(event.code, event.value, event.limit, self.limits, self._quote)
        if self.n_symbols > 1 and event.symbol >= 0:
            text = f"{self.symbols[event.symbol]}: {text}"
        return text

    def _after_gate(self, halted_before: int, deciding: list[int]) -> None:
        # Log each breach the gate wrote (once per episode), and say when trading halts.
        st = self.rstate[0]
        for event in drain_events(self.rstate) if st["ev_count"] != st["ev_drained"] else ():
            self.risk_events.append(event)
            text = self.risk_text(event)
            if event.code in (E_DRAWDOWN, E_PAIR_LOSS, E_IMBALANCE, B_HALTED):
                log.error("risk: %s", text)
            else:
                log.warning("risk: %s", text)
            if self.on_risk_event is not None:
                self.on_risk_event(event)
        if not self._hedge_failed and any(int(self.kstate[s]["flags"]) & HEDGE_FAILED for s in deciding):
            self._hedge_failed = True
            if self.on_hedge_failed is not None:
                self.on_hedge_failed()
        halted = int(st["halted"])
        if halted and not halted_before:
            reason = f"risk limit [risk] {HALT_REASONS[halted]}"
            if self.on_halt is not None:
                self.on_halt(reason)

    @property
    def hedge_failed(self) -> bool:
        """True once any symbol's kernel has spent its hedge attempts (``HEDGE_FAILED``)."""
        return bool(int(np.bitwise_or.reduce(self.kstate["flags"])) & HEDGE_FAILED)

    @property
    def pairs(self) -> int:
        """Pairs the kernels have sent (pair ids are shared by the symbols)."""
        return int(self._pair_seq[0]) - 1

    @property
    def next_pair_id(self) -> int:
        """The id the next pair gets."""
        return int(self._pair_seq[0])

    def book_answer(self, order: Any) -> None:
        """Book an order done outside the kernel's decisions (the kill switch's flattening orders)."""
        self._on_answer(order)

    def both_synced(self) -> bool:
        """True when every book is synced and priced (a mid each): the account can be valued."""
        return all(state == SyncState.SYNCED for state in self.state) and bool(np.isfinite(self.last_mid).all())

    def venue_status(self, v: int, now: int, symbol: int = 0) -> int:
        """What the view says of venue ``v`` at ``now``: VENUE_OK, VENUE_STALE or VENUE_OUT_OF_SYNC."""
        return int(_venue_status(self.venues, symbol, v, now, self.stale_after))

    def _take_blocked(self) -> None:
        # Until when the executor refuses orders per venue (an executor without the notion never does)
        blocked = getattr(self.executor, "blocked_until", None)
        if blocked is not None:
            for v in range(len(blocked)):
                self.venues[V_BLOCKED, :, v] = blocked[v]

    def _take_open_orders(self) -> None:
        counts = self.executor.open_orders
        if isinstance(counts, np.ndarray):  # the paper executor's: one copy
            self._open_flat[:] = counts
            return
        row = self._open_flat  # a list: item by item is a third of the time NumPy takes to assign it
        for a in range(len(counts)):
            row[a] = counts[a]

    def _refresh_view(self, now: int) -> None:
        self._take_open_orders()
        self._take_blocked()
        _fill_accounts(self.views, self._account, self.venues)
        for s in range(self.n_symbols):
            _fill_books(self.views, s, self._books[s], self.levels, self.venues, now, self.stale_after, self.last_mid)

    def _sample(self, now: int, force: bool = False) -> None:
        if not (force or now >= self.next_sample):
            return
        equity = self.log.equity
        data = equity.room(self.n_symbols)
        written = _log_equity(
            data, equity.n, now, self.init_quote, self.cash, self.init_base, self.position, self.last_mid, self.mark
        )
        if not written:
            return
        equity.n += written
        self.next_sample = (now // self.equity_interval + 1) * self.equity_interval

    def _decide(self, now: int) -> None:
        # Compiled calls do the views, the gate's trackers, and per symbol that changed may_act, the
        # kernel, the gate and the logs; Python only hands the intents to the executor. A call's cost
        # grows with the arrays it is handed, so each takes only what it needs: a symbol's books go
        # to its book fill, the account's arrays to one account step.
        self._now = now
        self._take_open_orders()
        self._take_blocked()
        unknown = getattr(self.executor, "unknown_orders", None)  # unanswered past [live] request_timeout_ms
        if unknown is not None:
            self.rstate[0]["unknown"][:] = unknown
        pending = self._pending
        deciding = [s for s in range(self.n_symbols) if pending[s]]
        views, venues, last_mid = self.views, self.venues, self.last_mid
        for s in deciding:
            pending[s] = False
            _fill_books(views, s, self._books[s], self.levels, venues, now, self.stale_after, last_mid)
        halted_before = int(self.rstate[0]["halted"])
        _account_step(now, views, self._account, venues, self.limits, self.rstate, self.srisk, last_mid, self.mark,
                      self._pnl_sym)  # fmt: skip
        calls, sent = self.log.calls, self.log.sent
        ints, floats = self._intent_ints, self._intent_floats
        total = 0
        for s in deciding:
            n = _decide_symbol(
                now, s, views, self.params, self.kstate, self.limits, self.rstate, self.srisk, self.intents,
                self._pair_seq, calls.room(1), calls.n, sent.room(total + self.intents.shape[1]), sent.n + total, ints,
                floats, total, venues,
            )  # fmt: skip
            if n >= 0:
                calls.n += 1
                total += n
        self._sample(now)
        self._after_gate(halted_before, deciding)
        if total == 0:
            return
        first = sent.n
        sent.n += total
        debug = log.isEnabledFor(logging.DEBUG)
        for k, ((venue, side, kind, pair_id, symbol), (price, qty)) in enumerate(
            zip(ints[:total].tolist(), floats[:total].tolist(), strict=True)
        ):
            order = self.executor.submit(venue, side, price, qty, kind, pair_id, now, symbol)
            fault = getattr(order, "fault", 0)  # only the paper executor simulates leg faults
            if fault:
                sent.data[first + k]["fault"] = fault
            if debug:
                log.debug(
                    "sent %s %s %s %g @ %g (pair %d, order %d)",
                    self.symbols[symbol], ASSET_NAMES[order.venue], "buy" if order.side == BUY else "sell",
                    order.qty, order.price, order.pair_id, order.order_id,
                )  # fmt: skip
