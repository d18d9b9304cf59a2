"""The live driver's core: both venues' books, the kernel's view, the kernel, the risk gate, an executor.

It is synchronous and reads no clock: every call says what time it is. The asyncio shell
(``arb.runtime.live``) feeds it batches from the WebSocket feeds and wakes it for executor events;
the replay source feeds it batches read from recordings; both drive the very same code, and so does
the parity check, which compares its decisions with the backtest's.

Timing rules (the backtest's, so the two can be compared):

- A decision is made at every local time at which a venue's book (or its sync state) changed, and
  at every time an order answer arrives. Batches that share one local time are applied together
  before the one decision at that time.
- Executor events (arrivals, answers) due before a batch's time are processed, in time order, before
  that batch is applied; events due exactly at it, after (an order sent with zero latency is filled
  against the book it was decided on).
- Venue status at a decision: out of sync unless its feed says synced; stale when its last book
  change is older than ``risk.stale_after`` (or its feed says stale); otherwise OK.
- Equity is sampled at decisions, once per ``equity_interval`` of local time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.book import OrderBook, book_top, touches_book
from arb.config import AppConfig
from arb.events import (
    ASSET_NAMES,
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
    make_limits,
    new_risk_state,
    quote_currency,
    update_equity,
)
from arb.report import Spans, out_of_sync_spans
from arb.strategy.kernel import decide, may_act
from arb.strategy.params import make_params
from arb.strategy.types import (
    BUY,
    DECISION_DTYPE,
    EQUITY_DTYPE,
    FILL_DTYPE,
    HEDGE_FAILED,
    SENT_DTYPE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
)
from connectors.common.normalizer import SyncState

__all__ = ["Batch", "Engine", "EngineLog", "Executor"]

log = logging.getLogger(__name__)

_MAX_SETTLE_ROUNDS = 10_000
_BEFORE_ALL = int(np.iinfo(np.int64).min)  # the time of the state an engine starts in


# Rows of ``Engine.venues``, the per-venue state the compiled step reads (columns: venues by asset number).
V_SYNCED = 0  # 1 while the venue's feed says its book is synced
V_FEED_STALE = 1  # 1 while the feed says the venue is stale
V_BOOK_TS = 2  # local time of the venue's last book change, ns
V_OPEN = 3  # orders on the venue the engine has not been told the end of
N_VENUE_ROWS = 4


@nb.njit(cache=True, nogil=True)
def _venue_status(venues: Any, v: int, now: int, stale_after: int) -> int:
    # What the view says of venue v at ``now``.
    if venues[V_SYNCED, v] == 0:
        return VENUE_OUT_OF_SYNC
    if venues[V_FEED_STALE, v] != 0 or now - venues[V_BOOK_TS, v] > stale_after:
        return VENUE_STALE
    return VENUE_OK


@nb.njit(cache=True, nogil=True)
def _fill_view(
    view: Any, v: int, book: Any, levels: int, account: Any, venues: Any, status: int, last_mid: Any
) -> None:
    # One venue's view from its book (best ``levels`` a side) and the account, in one compiled call.
    bid_keys, bid_qtys, ask_keys, ask_qtys, counts = book
    position, init_base, init_quote, cash = account
    rec = view[v]
    book_top(bid_keys, bid_qtys, ask_keys, ask_qtys, counts, levels,
             rec["bid_px"], rec["bid_qty"], rec["ask_px"], rec["ask_qty"])  # fmt: skip
    rec["position"] = position[v]
    rec["base_balance"] = init_base[v] + position[v]
    rec["quote_balance"] = init_quote[v] + cash[v]
    rec["open_orders"] = venues[V_OPEN, v]
    rec["book_local_ts"] = venues[V_BOOK_TS, v]
    rec["status"] = status
    mid = 0.5 * (rec["bid_px"][0] + rec["ask_px"][0])
    if np.isfinite(mid):
        last_mid[v] = mid


@nb.njit(cache=True, nogil=True)
def _trading_pnl(cash: Any, position: Any, last_mid: Any) -> float:
    # sum(cash + position * last_mid) over the venues, operation for operation as NumPy does it
    pnl: float = cash[0] + position[0] * last_mid[0]
    for v in range(1, len(cash)):
        pnl = pnl + (cash[v] + position[v] * last_mid[v])
    return pnl


@nb.njit(cache=True, nogil=True)
def _fill_views(
    view: Any, books: Any, levels: int, account: Any, venues: Any, now: int, stale_after: int, last_mid: Any
) -> None:
    # Every venue's view from its book and account. ``books``: one ``OrderBook.arrays`` per venue;
    # ``account``: (position, init_base, init_quote, cash), arrays indexed by venue; ``venues``: the
    # V_* rows by venue.
    for v in range(len(books)):
        _fill_view(view, v, books[v], levels, account, venues, _venue_status(venues, v, now, stale_after), last_mid)


@nb.njit(cache=True, nogil=True)
def _decide_step(
    now: int,
    view: Any,
    params: Any,
    kstate: Any,
    limits: Any,
    rstate: Any,
    intents: Any,
    calls: Any,
    call: int,
    sent: Any,
    first_sent: int,
    ints: Any,
    floats: Any,
    books: Any,
    levels: int,
    account: Any,
    venues: Any,
    stale_after: int,
    last_mid: Any,
) -> int:
    # One decision in one compiled call: the view, the drawdown tracker, may_act, the kernel, the
    # gate, the call log row ``calls[call]`` and the sent log rows from ``sent[first_sent]`` on (room
    # for every intent). Returns the intents that passed (in ``intents``, and as plain arrays in
    # ``ints``/``floats``: see _log_sent), or -1 when may_act said the kernel would do nothing (no
    # call is logged then). The arguments after ``floats`` are those of _fill_views.
    _fill_views(view, books, levels, account, venues, now, stale_after, last_mid)
    position, _, _, cash = account
    # drawdown is measured on trading PnL: the starting coins' price moves are not losses
    trading = _trading_pnl(cash, position, last_mid)
    if np.isfinite(trading):
        update_equity(limits, rstate, trading, view, now)
    if not may_act(view, params):
        return -1
    n = decide(view, params, kstate, now, intents)
    n = gate(view, limits, rstate, intents, n, now)
    row = calls[call]
    row["ts"] = now
    for v in range(len(books)):
        row["bid"][v] = view[v]["bid_px"][0]
        row["ask"][v] = view[v]["ask_px"][0]
        row["position"][v] = view[v]["position"]
        row["status"][v] = view[v]["status"]
        row["open_orders"][v] = view[v]["open_orders"]
    row["intents"] = n
    _log_sent(sent, first_sent, intents, n, now, ints, floats)
    return n


@nb.njit(cache=True, nogil=True)
def _log_sent(sent: Any, first: int, intents: Any, n: int, now: int, ints: Any, floats: Any) -> None:
    # The first n intents as sent at ``now``, into sent[first:first + n]; also their order fields as
    # plain arrays (ints: venue, side, kind, pair_id; floats: price, qty), which Python reads far
    # faster than the fields of a record array.
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
        ints[k, 0] = it["venue"]
        ints[k, 1] = it["side"]
        ints[k, 2] = it["kind"]
        ints[k, 3] = it["pair_id"]
        floats[k, 0] = it["price"]
        floats[k, 1] = it["qty"]


@nb.njit(cache=True, nogil=True)
def _log_equity(
    equity: Any, index: int, now: int, init_quote: Any, cash: Any, init_base: Any, position: Any, last_mid: Any
) -> bool:
    # One equity sample into equity[index]; False (nothing written) until every venue has a mid.
    for v in range(len(last_mid)):
        if not np.isfinite(last_mid[v]):
            return False
    row = equity[index]
    row["ts"] = now
    total = 0.0
    for v in range(len(last_mid)):
        # NumPy's init_quote + cash + (init_base + position) * last_mid, element by element
        per = init_quote[v] + cash[v] + (init_base[v] + position[v]) * last_mid[v]
        row["equity_venue"][v] = per
        row["position"][v] = position[v]
        row["mid"][v] = last_mid[v]
        total = per if v == 0 else total + per
    row["equity"] = total
    row["spread_bps"] = (last_mid[1] - last_mid[0]) / last_mid[0] * 1e4
    return True


class Batch(Protocol):
    """What the engine needs of a feed batch (``connectors.common.feed.FeedBatch`` has it)."""

    @property
    def venue(self) -> int: ...
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

    ``submit`` sends one immediate-or-cancel order and returns an order object with the
    :class:`~arb.execution.paper.PaperOrder` fields; ``run_until(ts, on_answer)`` hands over every
    order answered by ``ts``; ``next_event_ts`` says when the next one is due; ``open_orders`` counts
    unanswered orders per venue; ``cancel_all`` hands over what is answered at shutdown and returns
    how many were still out.
    """

    @property
    def open_orders(self) -> list[int]: ...
    def submit(self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int) -> Any: ...
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


@dataclass(slots=True)
class EngineLog:
    """What the engine did, as record arrays (see arb.strategy.types), and each venue's sync changes:
    ``sync[v]`` lists ``(local_ts, synced)`` whenever the view's verdict on venue ``v``'s book changed,
    after a first entry at the smallest int64 holding the state the engine started with."""

    fills: _Growing = field(default_factory=lambda: _Growing(FILL_DTYPE))
    equity: _Growing = field(default_factory=lambda: _Growing(EQUITY_DTYPE))
    calls: _Growing = field(default_factory=lambda: _Growing(DECISION_DTYPE))
    sent: _Growing = field(default_factory=lambda: _Growing(SENT_DTYPE))
    sync: tuple[list[tuple[int, bool]], list[tuple[int, bool]]] = field(
        default_factory=lambda: ([(_BEFORE_ALL, False)], [(_BEFORE_ALL, False)])
    )

    def out_of_sync(self, start_ns: int, end_ns: int) -> tuple[Spans, Spans]:
        """Per venue, the spans of ``[start_ns, end_ns)`` its book was not synced, for the report."""
        spans = [out_of_sync_spans([t for t, _ in changes], [ok for _, ok in changes], start_ns, end_ns)
                 for changes in self.sync]  # fmt: skip
        return spans[0], spans[1]


class Engine:
    """Books, view, kernel, risk gate and an executor for both venues.

    ``base``/``quote`` are the starting balances per venue (a resumed paper account passes its own);
    ``on_fill(fill_row)`` is called for every fill as soon as the driver learns of it. ``executor``:
    the paper executor on the engine's own books unless another (live) one is given.
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        base: tuple[float, float] | None = None,
        quote: tuple[float, float] | None = None,
        equity_interval_ns: int = NS_PER_S,
        on_fill: Callable[[Any], None] | None = None,
        first_order_id: int = 1,
        first_pair_id: int = 1,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        venues = config.venues
        self.init_base = np.array(base if base is not None else [v.account.base for v in venues], float)
        self.init_quote = np.array(quote if quote is not None else [v.account.quote for v in venues], float)
        self.books = tuple(OrderBook() for _ in venues)
        self._books = tuple(book.arrays for book in self.books)  # what the compiled step takes
        self.versions = [0] * len(venues)
        self.state = [SyncState.WAITING_SNAPSHOT] * len(venues)
        self.venues = np.zeros((N_VENUE_ROWS, len(venues)), np.int64)
        """Per venue (columns), what the compiled step reads besides the books (rows ``V_*``)."""
        self._open_row = self.venues[V_OPEN]
        self.params = make_params(config)
        self.levels = int(self.params[0]["book_levels"])
        self.kstate = new_state()
        self.kstate["next_pair_id"] = first_pair_id
        self.view = new_view()
        self.intents = new_intents()
        self.limits = make_limits(config.risk, dust=max(v.instrument.lot_size for v in config.venues))
        self.rstate = new_risk_state()
        self.on_halt: Callable[[str], None] | None = None
        """Called once when the gate halts trading, with the reason (the drivers keep the halt)."""
        self.on_hedge_failed: Callable[[], None] | None = None
        """Called once when the kernel spends its hedge attempts (``HEDGE_FAILED``: no new pair)."""
        self._hedge_failed = False
        self.on_risk_event: Callable[[RiskEvent], None] | None = None
        """Called with each breach the gate reports, after it is logged (the drivers save the gate's memory)."""
        self.risk_events: list[RiskEvent] = []
        """Every breach the gate reported, in order (each logged once per episode as it came)."""
        self._quote = quote_currency(config.strategy.symbol)
        self.stale_after = config.risk.stale_after_ns
        self.position = np.zeros(len(venues))
        self.cash = np.zeros(len(venues))  # quote received minus paid minus fees, per venue
        self.last_mid = np.full(len(venues), np.nan)
        self._account = (self.position, self.init_base, self.init_quote, self.cash)  # the same arrays
        self.equity_interval = equity_interval_ns
        self.next_sample = 0
        self.log = EngineLog()
        self.on_fill = on_fill
        self.on_order: Callable[[Any], None] | None = None
        """Called with every order's answer (filled, partly filled, expired, rejected), before its fill."""
        self.executor: Any = executor or PaperExecutor(
            venues,
            self.books,
            lambda: (self.versions[0], self.versions[1]),
            base=(float(self.init_base[0]), float(self.init_base[1])),
            quote=(float(self.init_quote[0]), float(self.init_quote[1])),
            first_order_id=first_order_id,
            leg_faults=make_leg_faults(config.leg_faults),
            request_timeout_ns=config.live.request_timeout_ns,
        )
        self._pending_decision = False
        self._now = 0
        self._intent_ints = np.zeros((len(self.intents), 4), np.int64)
        self._intent_floats = np.zeros((len(self.intents), 2))
        self._warm_up()

    def _warm_up(self) -> None:
        # Compile (or load from Numba's cache) every compiled step now, on scratch copies of the
        # state, so that none of it happens on a tick (the first order sent would pay ~3 ms at least).
        book = OrderBook(16)
        book.apply(np.zeros(1, event_dtype))
        touches_book(np.zeros(1, event_dtype))
        books = tuple(book.arrays for _ in self.books)
        view, intents, last_mid = self.view.copy(), self.intents.copy(), self.last_mid.copy()
        account = (self.position.copy(), self.init_base, self.init_quote, self.cash.copy())
        venues = self.venues.copy()
        _fill_views(view, books, self.levels, account, venues, 0, self.stale_after, last_mid)
        ints, floats = self._intent_ints.copy(), self._intent_floats.copy()
        _decide_step(
            0, view, self.params, self.kstate.copy(), self.limits, self.rstate.copy(), intents,
            np.zeros(1, DECISION_DTYPE), 0, np.zeros(len(ints), SENT_DTYPE), 0, ints, floats,
            books, self.levels, account, venues, self.stale_after, last_mid,
        )  # fmt: skip
        _log_equity(np.zeros(1, EQUITY_DTYPE), 0, 0, self.init_quote, account[3], self.init_base, account[0], last_mid)

    # -- input --------------------------------------------------------------------------------

    def seed_book(self, venue: int, snapshot_rows: EventArray, synced: bool) -> None:
        """Start a venue's book from saved snapshot rows (the previous day's end)."""
        self.books[venue].apply(snapshot_rows)
        self._books = tuple(book.arrays for book in self.books)
        self.versions[venue] += 1
        self.state[venue] = SyncState.SYNCED if synced else SyncState.WAITING_SNAPSHOT
        self.venues[V_SYNCED, venue] = int(synced)
        self.log.sync[venue][:] = [(_BEFORE_ALL, synced)]  # the state the run starts in

    def advance(self, now: int) -> None:
        """Process executor events due strictly before ``now`` (deciding at each answer's time)."""
        while True:
            due = self.executor.next_event_ts()
            if due is None or due >= now:
                return
            self._settle(due)

    def apply(self, batch: Batch) -> None:
        """Apply one batch to its venue's book (call :meth:`advance` for its time first)."""
        v = batch.venue
        rows = batch.rows
        if len(rows):
            book = self.books[v]
            arrays = book.arrays
            book.apply(rows)
            if book.arrays is not arrays:  # it grew
                self._books = tuple(b.arrays for b in self.books)
            self.versions[v] += 1
            if touches_book(rows):
                self.venues[V_BOOK_TS, v] = batch.local_ts
                self._pending_decision = True
        stale = int(batch.stale)
        if batch.state != self.state[v] or stale != self.venues[V_FEED_STALE, v]:
            self._pending_decision = True
        synced = batch.state == SyncState.SYNCED
        if synced != self.log.sync[v][-1][1]:
            self.log.sync[v].append((batch.local_ts, synced))
        self.state[v] = batch.state
        self.venues[V_SYNCED, v] = int(synced)
        self.venues[V_FEED_STALE, v] = stale

    def settle(self, now: int) -> None:
        """Process what is due at ``now`` and decide if anything changed."""
        self._settle(now)

    def on_batches(self, now: int, batches: Iterable[Batch]) -> None:
        """Everything for one local time: earlier executor events, the batches, then the decision."""
        self.advance(now)
        for batch in batches:
            self.apply(batch)
        self._settle(now)

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
        for _ in range(_MAX_SETTLE_ROUNDS):
            self.executor.run_until(now, self._on_answer)
            if not self._pending_decision:
                return
            self._pending_decision = False
            self._decide(now)
        raise RuntimeError(f"no settled state after {_MAX_SETTLE_ROUNDS} rounds at {now}")

    def _on_answer(self, order: PaperOrder) -> None:
        self._pending_decision = True
        if self.on_order is not None:
            self.on_order(order)
        if order.status != "filled":
            return
        v = order.venue
        # a fee paid in the base coin (a live spot buy) comes off the position, not the cash;
        # ``fee`` is always the whole fee's value in quote, for the report
        base_fee = order.base_fee
        self.position[v] += order.side * order.fill_qty - base_fee
        self.cash[v] -= order.side * order.fill_qty * order.fill_price + order.fee - base_fee * order.fill_price
        fills = self.log.fills
        data = fills.room(1)
        data[fills.n] = (
            order.respond_ts, order.arrive_ts, v, order.side, order.fill_price, order.fill_qty, order.fee,
            order.pair_id, order.kind, order.order_id,
        )  # fmt: skip
        row = data[fills.n]
        fills.n += 1
        if self.on_fill is not None:
            self.on_fill(row)

    def hold(self) -> None:
        """Halt new pairs from the start: a halt kept from an earlier run (until a person clears it)."""
        if int(self.rstate[0]["halted"]) == 0:
            self.rstate[0]["halted"] = H_EXTERNAL

    def _after_gate(self, halted_before: int) -> None:
        # Log each breach the gate wrote (once per episode), and say when trading halts.
        st = self.rstate[0]
        for event in drain_events(self.rstate):
            self.risk_events.append(event)
            text = event_text(event.code, event.value, event.limit, self.limits, self._quote)
            if event.code in (E_DRAWDOWN, E_PAIR_LOSS, E_IMBALANCE, B_HALTED):
                log.error("risk: %s", text)
            else:
                log.warning("risk: %s", text)
            if self.on_risk_event is not None:
                self.on_risk_event(event)
        if not self._hedge_failed and int(self.kstate[0]["flags"]) & HEDGE_FAILED:
            self._hedge_failed = True
            if self.on_hedge_failed is not None:
                self.on_hedge_failed()
        halted = int(st["halted"])
        if halted and not halted_before:
            reason = f"risk limit [risk] {HALT_REASONS[halted]}"
            if self.on_halt is not None:
                self.on_halt(reason)

    def book_answer(self, order: Any) -> None:
        """Book an order done outside the kernel's decisions (the kill switch's flattening orders)."""
        self._on_answer(order)

    def both_synced(self) -> bool:
        """True when both venues' books are synced and priced (a mid each): the account can be valued."""
        return all(state == SyncState.SYNCED for state in self.state) and bool(np.isfinite(self.last_mid).all())

    def venue_status(self, v: int, now: int) -> int:
        """What the view says of venue ``v`` at ``now``: VENUE_OK, VENUE_STALE or VENUE_OUT_OF_SYNC."""
        return self._status(v, now)

    def _status(self, v: int, now: int) -> int:
        # What the view says of venue v at ``now`` (the compiled step decides the same way).
        return int(_venue_status(self.venues, v, now, self.stale_after))

    def _take_open_orders(self) -> None:
        # item by item: a third of the time NumPy takes to assign a list to a slice
        row, counts = self._open_row, self.executor.open_orders
        for v in range(len(counts)):
            row[v] = counts[v]

    def _refresh_view(self, now: int) -> None:
        self._take_open_orders()
        _fill_views(self.view, self._books, self.levels, self._account, self.venues, now, self.stale_after,
                    self.last_mid)  # fmt: skip

    def _sample(self, now: int, force: bool = False) -> None:
        if not (force or now >= self.next_sample):
            return
        equity = self.log.equity
        data = equity.room(1)
        if not _log_equity(
            data, equity.n, now, self.init_quote, self.cash, self.init_base, self.position, self.last_mid
        ):
            return
        equity.n += 1
        self.next_sample = (now // self.equity_interval + 1) * self.equity_interval

    def _decide(self, now: int) -> None:
        # One compiled call does the view, the drawdown tracker, may_act, the kernel, the gate and
        # the logs; Python only hands the intents to the executor.
        self._now = now
        self._take_open_orders()
        unknown = getattr(self.executor, "unknown_orders", None)  # unanswered past [live] request_timeout_ms
        if unknown is not None:
            self.rstate[0]["unknown"][:] = unknown
        calls, sent = self.log.calls, self.log.sent
        ints, floats = self._intent_ints, self._intent_floats
        halted_before = int(self.rstate[0]["halted"])
        n = _decide_step(
            now, self.view, self.params, self.kstate, self.limits, self.rstate, self.intents,
            calls.room(1), calls.n, sent.room(len(ints)), sent.n, ints, floats,
            self._books, self.levels, self._account, self.venues, self.stale_after, self.last_mid,
        )  # fmt: skip
        self._sample(now)
        self._after_gate(halted_before)
        if n < 0:
            return
        calls.n += 1
        if n == 0:
            return
        first = sent.n
        sent.n += n
        debug = log.isEnabledFor(logging.DEBUG)
        for k, ((venue, side, kind, pair_id), (price, qty)) in enumerate(
            zip(ints[:n].tolist(), floats[:n].tolist(), strict=True)
        ):
            order = self.executor.submit(venue, side, price, qty, kind, pair_id, now)
            fault = getattr(order, "fault", 0)  # only the paper executor simulates leg faults
            if fault:
                sent.data[first + k]["fault"] = fault
            if debug:
                log.debug(
                    "sent %s %s %g @ %g (pair %d, order %d)",
                    ASSET_NAMES[order.venue], "buy" if order.side == BUY else "sell", order.qty, order.price,
                    order.pair_id, order.order_id,
                )  # fmt: skip
