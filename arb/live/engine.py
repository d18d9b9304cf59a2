"""The live driver's core: every symbol's books on every venue, the kernels' views, the kernel, the
risk gate, an executor.

It is synchronous and reads no clock: every call says what time it is. The asyncio shell
(``arb.live.session_loop``) feeds it batches from the WebSocket feeds and wakes it for executor events;
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

__all__ = ["Batch", "Engine", "EngineLog", "Executor"]

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._jit import entry_point, say_compiling
from arb.book import OrderBook
from arb.config import AppConfig
from arb.events import (
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    MAX_VENUES,
    NS_PER_S,
    EventArray,
    event_dtype,
)
from arb.execution.leg_faults import make_leg_faults
from arb.execution.paper import OrderStatus, PaperExecutor, PaperOrder
from arb.execution.queue_model import queue_model
from arb.execution.risk import (
    B_HALTED,
    E_DRAWDOWN,
    E_IMBALANCE,
    E_PAIR_LOSS,
    H_EXTERNAL,
    HALT_REASONS,
    RiskEvent,
    drain_events,
    new_gate,
    position_at,
    quote_currency,
    symbol_event_text,
    value_px,
)
from arb.live.engine_io import Batch, Executor
from arb.live.listeners import Listeners
from arb.live.row_log import RowLog as _Growing
from arb.results.marks import NS_PER_DAY, BoundaryMark, Spans, out_of_sync_spans
from arb.strategy.quote_slots import Q_OID, Q_STATE, hold_slot, new_quotes, quote_views
from arb.strategy.rules import rules_of
from arb.strategy.seam import broken_text, mark_raised, raised_text, user_strategy
from arb.strategy.selection import bind_config
from arb.strategy.state import EngineAccount, EngineLogs, EngineMarks, EngineState, ExecutorCounts, Kernel, Risk
from arb.strategy.step import (
    FLAG_CONTRACT_BROKEN,
    FLAG_EVENTS,
    FLAG_HALTED,
    FLAG_HEDGE_FAILED,
    N_VENUE_ROWS,
    V_BLOCKED,
    V_BOOK_TS,
    V_FEED_STALE,
    V_OPEN,
    V_SYNCED,
    book_list,
    engine_step,
    fill_accounts,
    fill_books,
    log_equity,
    set_book,
    venue_status,
)
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    FUNDING_DTYPE,
    HEDGE_FAILED,
    INTENT_CANCEL,
    INTENT_QUOTE,
    INTENT_UNWIND,
    QUOTE_CANCELING,
    QUOTE_LIVE,
    QUOTE_PENDING,
    SENT_DTYPE,
    decision_dtype,
    equity_dtype,
    new_intents,
    new_state,
    new_views,
)
from connectors.common.normalizer import SyncState

log = logging.getLogger(__name__)

_COMPILE_S = 17.0
"""About how long compiling the engine's steps (the kernel and the risk gate in them) takes, s: once
after an install or update (Numba caches them), on the project's 2-core VM."""

_MAX_SETTLE_ROUNDS = 10_000
_BEFORE_ALL = int(np.iinfo(np.int64).min)  # the time of the state an engine starts in


@nb.njit(cache=True, nogil=True)
def _perp_rows(rows: Any) -> bool:
    # Does the batch hold a mark price, a funding rate or a settlement (a perpetual's stream)?
    for i in range(rows.shape[0]):
        kind = rows[i]["ev"] & EVENT_KIND_MASK
        if kind == MARK_PRICE_EVENT or kind == FUNDING_RATE_EVENT or kind == FUNDING_SETTLED_EVENT:
            return True
    return False


KEEP_CALLS = 1 << 15
"""Kernel calls the engine's log holds (104 bytes each): the newest, for the report's maker figures."""
KEEP_SENT = 1 << 14
"""Intents sent the log holds (80 bytes each): the newest (every order is in the journal or paper account)."""
KEEP_EQUITY_SAMPLES = 1 << 15
"""Equity samples the log holds (96 bytes a symbol each): a day at 1 s, then every other one goes."""
SyncLog = list[tuple[int, bool]]
"""``(local_ts, synced)`` whenever the view's verdict on one book changed."""


@dataclass(slots=True)
class EngineLog:
    """What the engine did, as record arrays (see arb.strategy.types; each row names its symbol), and
    each book's sync changes: ``sync[s][v]`` lists ``(local_ts, synced)`` whenever the view's verdict on
    symbol ``s``'s book on venue ``v`` changed, after a first entry at the smallest int64 holding the
    state the engine started with. ``symbols`` and ``venues`` are the run's numbers of each."""

    symbols: int = 1
    venues: int = 2
    fills: _Growing = field(default_factory=lambda: _Growing(FILL_DTYPE))
    funding: _Growing = field(default_factory=lambda: _Growing(FUNDING_DTYPE))
    sent: _Growing = field(default_factory=lambda: _Growing(SENT_DTYPE, keep=KEEP_SENT))
    equity: _Growing = field(init=False)
    calls: _Growing = field(init=False)
    sync: list[list[SyncLog]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # written by the compiled step with MAX_VENUES columns a venue field (one variant for every venue
        # count), read as the run's venues
        self.equity = _Growing(equity_dtype(MAX_VENUES), keep=KEEP_EQUITY_SAMPLES * self.symbols, thin=True,
                               group=self.symbols, shown=equity_dtype(self.venues))  # fmt: skip
        self.calls = _Growing(decision_dtype(MAX_VENUES), keep=KEEP_CALLS, shown=decision_dtype(self.venues))
        if not self.sync:
            self.sync = [[[(_BEFORE_ALL, False)] for _ in range(self.venues)] for _ in range(self.symbols)]

    def out_of_sync(self, start_ns: int, end_ns: int, symbol: int = 0) -> tuple[Spans, ...]:
        """Per venue, the spans of ``[start_ns, end_ns)`` symbol ``symbol``'s book was not synced."""
        return tuple(
            out_of_sync_spans([t for t, _ in changes], [ok for _, ok in changes], start_ns, end_ns)
            for changes in self.sync[symbol]
        )


class Engine:
    """Books, views, kernels, the risk gate and an executor for every symbol on every venue of the run.

    Per-symbol arrays are indexed ``[s, v]`` (symbol number in ``[strategy] symbols``, asset number);
    with one symbol, ``s`` is always 0. ``base`` is the starting holdings per (symbol, venue) and
    ``quote`` per venue (a resumed paper account passes its own); ``listeners`` hear of its fills,
    answers, breaches, halts and funding (:class:`~arb.live.listeners.Listeners`). ``executor``: the
    paper executor on the engine's own books unless another (live) one is given.
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        base: Any = None,
        quote: Sequence[float] | None = None,
        equity_interval_ns: int = NS_PER_S,
        listeners: Listeners | None = None,
        first_order_id: int = 1,
        first_pair_id: int = 1,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        venues = config.venues
        n_sym = len(config.symbols)
        n_venues = len(venues)
        self.n_symbols = n_sym
        self.n_venues = n_venues
        self.symbols = config.symbol_names
        self.symbol_index = {name: s for s, name in enumerate(self.symbols)}
        start_base = [sym.base for sym in config.symbols] if base is None else base
        self.init_base = np.array(start_base, float).reshape(n_sym, len(venues))
        self.init_quote = np.array(quote if quote is not None else [v.account.quote for v in venues], float)
        self.transfer_fees: list[dict[str, float]] = [{} for _ in venues]
        """Per venue, per asset: the fees its withdrawals paid (:meth:`paid_transfer_fee`)."""
        self._new_books()
        self._new_kernels(first_pair_id)
        self.listeners = listeners if listeners is not None else Listeners()
        """Who hears of the engine's events: the driver's, given here, then each watcher's."""
        self.later: Callable[[Callable[[Any], None], Any], None] | None = None
        """Set (``arb live``: :meth:`arb.live.chores.Chores.add`), the fill and answer listeners are called through
        it, ``later(listener, fill row or order)``, after the decision they could delay (the row a copy); None:
        at once, before it (the dry run: its paper account books each fill before the next decision)."""
        self._hedge_failed = False
        self._contract_broken = False
        self.risk_events: list[RiskEvent] = []
        """Every breach the gate reported, in order (each logged once per episode as it came)."""
        self._quote = quote_currency(config.strategy.symbol)
        self.stale_after = config.risk.stale_after_ns
        self._new_account(equity_interval_ns)
        self.log = EngineLog(n_sym, n_venues)
        self.executor: Executor = executor or self._paper_executor(first_order_id)
        self._pending = np.zeros(n_sym, np.int64)  # 1: the symbol's book, sync state or orders changed
        self._dirty = False  # True while any symbol is pending
        self._now = 0
        self._intent_ints = np.zeros((n_sym * self.intents.shape[1], 5), np.int64)
        self._intent_floats = np.zeros((n_sym * self.intents.shape[1], 2))
        self._counts = self._executor_counts()
        kernel = Kernel(self.rules, self.kernel_state, self.intents, self.bound.part)
        marks = EngineMarks(self.last_mid, self.mark, self._pnl_sym)
        settings = np.array([self.levels, self.stale_after], np.int64)
        self._state = EngineState(self.views, kernel, self.venues, marks, self._pair_seq, self._account, self._counts,
                                  settings)  # fmt: skip
        """What the compiled step reads and writes besides the gate's records, the books and the logs."""
        self._risk = Risk(self.limits, self.risk_state, self.symbol_state)
        self._warm_up()

    def _new_books(self) -> None:
        # Set-up, the books: one per (symbol, venue), their arrays, versions and sync states
        n_sym, n_venues = self.n_symbols, self.n_venues
        self.books = tuple(OrderBook() for _ in range(n_sym) for _ in range(n_venues))
        """Every (symbol, venue) book, index ``n_venues * s + v``."""
        self._books = self._book_arrays()
        # what the compiled step takes: each symbol's books, one per venue (rebuilt when a book grows)
        self.versions = [0] * len(self.books)
        self.state = [SyncState.WAITING_SNAPSHOT] * len(self.books)
        self._stale = [False] * len(self.books)  # each book's feed stale, as the step's venues hold it
        self.venues = np.zeros((N_VENUE_ROWS, n_sym, n_venues), np.int64)
        """Per (symbol, venue), what the compiled step reads besides the books (rows ``V_*``)."""

    def _new_kernels(self, first_pair_id: int) -> None:
        # Set-up, the decisions: the kernels' rules and state, the quotes, the views, the strategies, the gate
        n_sym, n_venues = self.n_symbols, self.n_venues
        self.rules = rules_of(self.config)
        self.quoting = bool(self.rules["quotes"].any())
        """Some symbol quotes (the ``maker_taker`` style): the executor rests post-only quotes."""
        self.quotes = new_quotes(n_venues * n_sym)
        """The resting quotes' slots (:mod:`arb.strategy.quote_slots`), asset ``n_venues * symbol + venue``."""
        self.levels = int(self.rules[0]["book_levels"])
        self.kernel_state = new_state(n_sym)
        self.kernel_state["next_pair_id"] = first_pair_id
        self._pair_seq = np.array([first_pair_id], np.int64)
        self.views = new_views(n_sym, n_venues)
        """Every symbol's view: ``views[s]`` is what symbol ``s``'s kernel reads."""
        self.intents = new_intents(n_sym)
        self.bound = bind_config(self.config, self.rules)
        """Each symbol's strategy, bound to the compiled step (its memory: ``bound.memory[s]``)."""
        self.limits, self.risk_state, self.symbol_state = new_gate(self.config)

    def _new_account(self, equity_interval_ns: int) -> None:
        # Set-up, the account: positions, cash, marks and funding per (symbol, venue), the equity samples
        n_sym, n_venues = self.n_symbols, self.n_venues
        self.position = np.zeros((n_sym, n_venues))
        """Base units bought minus sold per (symbol, venue)."""
        self.cash = np.zeros((n_sym, n_venues))
        """Quote received minus paid minus fees per (symbol, venue); a venue's quote is ``init_quote[v] +
        cash[:, v].sum()``."""
        self.last_mid = np.full((n_sym, n_venues), np.nan)
        self.mark = np.full((n_sym, n_venues), np.nan)
        """A perpetual's mark price per (symbol, venue), from its stream: what positions are valued at
        there (NaN, the book's mid, until one comes and on spot)."""
        self.funding = np.zeros((n_sym, n_venues))
        """Funding received minus paid per (symbol, venue), quote (in ``cash`` too)."""
        self._linear = [venue.market == "linear" for venue in self.config.venues]
        self._pnl_sym = np.zeros(n_sym)
        self._account = EngineAccount(self.position, self.init_base, self.init_quote, self.cash)  # the same arrays
        self.equity_interval = equity_interval_ns
        self.next_sample = 0
        self.day_marks: list[BoundaryMark] = []
        """The books' mids at each UTC midnight the clock crossed (taken before the first batch past it,
        so they are the books at midnight): what the reports value positions at across a day boundary."""
        self._next_midnight = 0  # 0: no batch yet

    def _paper_executor(self, first_order_id: int) -> PaperExecutor:
        # Set-up, the executor when none is given: the paper one, on the engine's own books
        config = self.config
        return PaperExecutor(
            [config.for_symbol(s).venues for s in range(self.n_symbols)],
            self.books,
            lambda: self.versions,
            base=self.init_base,
            quote=[float(q) for q in self.init_quote],
            first_order_id=first_order_id,
            leg_faults=make_leg_faults(config.leg_faults, config.venue_names),
            request_timeout_ns=config.live.request_timeout_ns,
            queue=queue_model(config.backtest.queue_model, config.backtest.queue_power) if self.quoting else None,
        )

    def _warm_up(self) -> None:
        # Compile (or load from Numba's cache) every compiled step now, on scratch copies of the
        # state, so that none of it happens on a tick (the first order sent would pay ~3 ms at least).
        say_compiling([("the engine's kernel step and risk gate", [engine_step], _COMPILE_S)], log)
        book = OrderBook(16)
        book.apply(np.zeros(1, event_dtype))
        book.apply_touched(np.zeros(1, event_dtype))  # every batch's call, its entry point made now
        _perp_rows(np.zeros(1, event_dtype))
        position_at(self.log.fills.data, 0, 0, 0, 0, 0.0)
        n_sym = self.n_symbols
        views, last_mid = self.views.copy(), self.last_mid.copy()
        account = EngineAccount(*(x.copy() for x in self._account))
        part = self.bound.part
        own_part = part._replace(memory=part.memory.copy())
        kernel = Kernel(self.rules, self.kernel_state.copy(), self.intents.copy(), own_part)
        counts = ExecutorCounts(*(np.zeros_like(x) for x in self._counts))
        marks = EngineMarks(last_mid, self.mark.copy(), self._pnl_sym.copy())
        state = EngineState(views, kernel, self.venues.copy(), marks, self._pair_seq.copy(), account, counts,
                            self._state.settings)  # fmt: skip
        risk = Risk(self.limits, self.risk_state.copy(), self.symbol_state.copy())
        books = book_list(book.arrays, n_sym * self.n_venues)
        logs = EngineLogs(np.zeros(n_sym, decision_dtype(MAX_VENUES)), np.zeros(len(self._intent_ints), SENT_DTYPE),
                          (self._intent_ints.copy(), self._intent_floats.copy()))  # fmt: skip
        self._step = entry_point(engine_step, 0, np.zeros(n_sym, np.int64), state, risk, books, logs, 0, 0)
        fill_accounts(views, account, state.venues)
        fill_books(views, 0, books, self.levels, state.venues, 0, self.stale_after, last_mid)
        log_equity(np.zeros(n_sym, equity_dtype(MAX_VENUES)), 0, 0, account, last_mid, self.mark)

    def _executor_counts(self) -> ExecutorCounts:
        # The executor's open_counts, unknown_counts and blocked_until_ns, as it keeps them (updated in
        # place): the compiled step reads them without a copy.
        ex = self.executor
        n_venues = self.n_venues
        named = (("open_counts", ex.open_counts, (self.n_symbols, n_venues)),
                 ("unknown_counts", ex.unknown_counts, (n_venues,)),
                 ("blocked_until_ns", ex.blocked_until_ns, (n_venues,)))  # fmt: skip
        counts = []
        for name, array, shape in named:
            if not (
                isinstance(array, np.ndarray)
                and array.dtype == np.int64
                and array.shape == shape
                and array.flags.c_contiguous
            ):
                raise TypeError(f"the executor's {name} must be a C-contiguous int64 array of shape {shape}")
            counts.append(array)
        return ExecutorCounts(*counts)

    # -- input --------------------------------------------------------------------------------

    def seed_book(self, venue: int, snapshot_rows: EventArray, synced: bool, symbol: int = 0) -> None:
        """Start a book from saved snapshot rows (the previous day's end)."""
        a = self.n_venues * symbol + venue
        self.books[a].apply(snapshot_rows)
        self._take_books()
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
            self.settle(due)

    def apply(self, batch: Batch) -> None:
        """Apply one batch to its book (call :meth:`advance` for its time first)."""
        v = batch.venue
        s = self.symbol_index[batch.symbol] if self.n_symbols > 1 else 0
        a = self.n_venues * s + v
        rows = batch.rows
        if len(rows):
            if self.quoting:  # the paper venue's depth, where the quotes queue
                self.executor.on_rows(s, v, rows, batch.local_ts)
            book = self.books[a]
            arrays = book.arrays
            touched = book.apply_touched(rows)
            if book.arrays is not arrays:  # it grew
                self._take_books()
            self.versions[a] += 1
            if touched:
                self.venues[V_BOOK_TS, s, v] = batch.local_ts
                self._pending[s] = 1
                self._dirty = True
        if self._linear[v] and len(rows) and _perp_rows(rows):
            self._take_perp_rows(s, v, rows)
        if batch.state != self.state[a] or batch.stale != self._stale[a]:  # seldom: the feed's state moved
            self._feed_moved(s, v, batch)

    def _feed_moved(self, s: int, v: int, batch: Batch) -> None:
        # The feed's sync state or staleness changed: the step's copy, the sync log, and a decision due
        a = self.n_venues * s + v
        self._pending[s] = 1
        self._dirty = True
        synced = batch.state == SyncState.SYNCED
        sync_log = self.log.sync[s][v]
        if synced != sync_log[-1][1]:
            sync_log.append((batch.local_ts, synced))
        self.state[a], self._stale[a] = batch.state, batch.stale
        self.venues[V_SYNCED, s, v] = int(synced)
        self.venues[V_FEED_STALE, s, v] = int(batch.stale)

    def _book_arrays(self) -> Any:
        # Every book's arrays as the compiled step takes them (step.book_list): symbol s's on venue v at
        # s * n_venues + v, whatever the venue count
        books = book_list(self.books[0].arrays, len(self.books))
        for a, book in enumerate(self.books):
            set_book(books, a, book.arrays)
        return books

    def _take_books(self) -> None:
        # The books' arrays again, after a book grew.
        self._books = self._book_arrays()

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
                view["funding_interval_ns"] = row["order_id"]  # the symbol's funding interval (0: unknown)
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
        if payment != 0.0:
            self.executor.credit(v, payment)  # a simulated venue pays it on its side too
        log_ = self.log.funding
        data = log_.room(1)
        data[log_.n] = (now, funding_ts, v, s, rate, px, position, payment)
        row = data[log_.n]
        log_.n += 1
        for listener in self.listeners.funding:
            listener(row)
        return payment

    def transferred(self, venue: int, asset: str, amount: float) -> bool:
        """The account moved ``amount`` of ``asset`` into (> 0) or out of (< 0) ``venue``'s trading wallet, off
        the order path (``[rebalance] auto``, :mod:`arb.live.auto_rebalance`): the holdings the venue started
        from move by it, as the next start's inception counts them (neither a trade nor a gain: positions,
        cash and the drawdown stay), and every symbol decides again on the balances as they are now. The
        quote, or the base coin of the first symbol trading it on a spot venue; False for anything else (a
        coin no symbol trades, or held on a perpetual's wallet)."""
        if asset == self._quote:
            self.init_quote[venue] += amount
        else:
            held = [s for s, name in enumerate(self.symbols) if name.removesuffix(self._quote) == asset]
            if not held or self._linear[venue]:
                return False
            self.init_base[held[0], venue] += amount
        self._pending[:] = 1
        self._dirty = True
        return True

    def paid_transfer_fee(self, venue: int, asset: str, fee: float) -> None:
        """A withdrawal ``venue`` sent paid ``fee`` of ``asset`` (:meth:`transferred` moved the holdings by the
        whole move, the fee with it): the one part of a move that is a loss, taken from the net PnL
        (:attr:`transfer_fees`), as the reports take it."""
        fees = self.transfer_fees[venue]
        fees[asset] = fees.get(asset, 0.0) + fee

    def on_batches(self, now: int, batches: Iterable[Batch]) -> None:
        """Everything for one local time: earlier executor events, the batches, then the decision."""
        if now >= self._next_midnight:
            self._cross_midnight(now)
        self.advance(now)
        for batch in batches:
            self.apply(batch)
        self.settle(now)

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
            self.settle(due)
        self._refresh_view(max(now, self._now))
        self._sample(max(now, self._now), force=True)

    def cancel_open_orders(self) -> int:
        """Shut down: orders still on their way are cancelled; fills the venue already made are
        taken into the account. Returns how many orders were cancelled."""
        return int(self.executor.cancel_all(self._on_answer))

    # -- deciding -------------------------------------------------------------------------------

    def settle(self, now: int) -> None:
        """Process what is due at ``now`` and decide if anything changed."""
        for _ in range(_MAX_SETTLE_ROUNDS):
            self.executor.run_until(now, self._on_answer)
            if not self._dirty:
                return
            self._decide(now)
        raise RuntimeError(f"no settled state after {_MAX_SETTLE_ROUNDS} rounds at {now}")

    def _on_answer(self, order: PaperOrder) -> None:
        s = order.symbol_index
        self._pending[s] = 1
        self._dirty = True
        if order.kind == INTENT_QUOTE:
            self._quote_answer(order)
        later = self.later
        for listener in self.listeners.order:
            if later is None:
                listener(order)
            else:
                later(listener, order)
        if (
            order.status != OrderStatus.FILLED and order.status != OrderStatus.PARTIAL
        ):  # partial: one fill of a live quote
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
        for listener in self.listeners.fill_kept:
            listener(row)
        if later is not None:
            row = row.copy()  # the log's row may move before the listeners run
        for listener in self.listeners.fill:
            if later is None:
                listener(row)
            else:
                later(listener, row)

    def _quote_answer(self, order: PaperOrder) -> None:
        # The venue's answer about a quote into its slot: live once acknowledged; smaller by each fill of a
        # quote still resting (live executors); free once filled or cancelled, held back once refused
        # (expired as post-only, or rejected: rule 5 of arb.strategies.maker_taker); an answer about an order the
        # slot no longer holds changes nothing
        ints = self.quotes[0]
        a, i = self.n_venues * order.symbol_index + order.venue, 0 if order.side == BUY else 1
        if ints[a, i, Q_OID] != order.order_id:
            return
        if order.status == OrderStatus.LIVE:
            if ints[a, i, Q_STATE] == QUOTE_PENDING:
                ints[a, i, Q_STATE] = QUOTE_LIVE
        elif order.status == OrderStatus.PARTIAL:  # a live quote's fill: the rest still rests in its slot
            self.quotes[1][a, i, 1] = max(0.0, float(self.quotes[1][a, i, 1]) - order.fill_qty)
        elif order.status == OrderStatus.EXPIRED or order.status == OrderStatus.REJECTED:
            hold_slot(self.quotes, a, i, order.respond_ts)
        else:
            ints[a, i, Q_OID] = 0

    def _send_quote(self, venue: int, side: int, kind: int, pair_id: int, symbol: int, price: float, qty: float,
                    now: int) -> None:  # fmt: skip
        # A quote intent to the executor, a cancel intent for its slot's order
        ints, floats = self.quotes
        a, i = self.n_venues * symbol + venue, 0 if side == BUY else 1
        if kind == INTENT_QUOTE:
            order = self.executor.submit_quote(venue, side, price, qty, pair_id, now, symbol)
            ints[a, i] = (order.order_id, pair_id, now, QUOTE_PENDING)
            floats[a, i] = (price, qty)
        elif ints[a, i, Q_OID] != 0 and ints[a, i, Q_STATE] == QUOTE_LIVE:
            ints[a, i, Q_STATE] = QUOTE_CANCELING
            self.executor.cancel(int(ints[a, i, Q_OID]), now, venue)

    def hold(self) -> None:
        """Halt new pairs from the start: a halt kept from an earlier run (until a person clears it)."""
        if int(self.risk_state[0]["halted"]) == 0:
            self.risk_state[0]["halted"] = H_EXTERNAL

    def risk_text(self, event: RiskEvent) -> str:
        """A breach in words, naming its symbol when there are several."""
        return symbol_event_text(event, self.limits, self._quote, self.symbols)

    def _after_gate(self, flags: int) -> None:
        # Log each breach the gate wrote (once per episode), and say when trading halts (FLAG_* bits).
        if flags & FLAG_EVENTS:
            for event in drain_events(self.risk_state):
                self.risk_events.append(event)
                text = self.risk_text(event)
                if event.code in (E_DRAWDOWN, E_PAIR_LOSS, E_IMBALANCE, B_HALTED):
                    log.error("risk: %s", text)
                else:
                    log.warning("risk: %s", text)
                for heard in self.listeners.risk_event:
                    heard(event)
        if flags & FLAG_HEDGE_FAILED and not self._hedge_failed:
            self._hedge_failed = True
            for told in self.listeners.hedge_failed:
                told()
        if flags & FLAG_HALTED:
            reason = f"risk limit [risk] {HALT_REASONS[int(self.risk_state[0]['halted'])]}"
            for halted in self.listeners.halt:
                halted(reason)
        if flags & FLAG_CONTRACT_BROKEN and not self._contract_broken:
            self._halt_for_strategy(broken_text(self.bound.strategies, self.kernel_state, self.symbols, self.n_venues))

    def _halt_for_strategy(self, reason: str) -> None:
        # The run's strategy broke its contract or raised in a decision: said once, and the session halts.
        self._contract_broken = True
        log.error("%s", reason)
        for halted in self.listeners.halt:
            halted(reason)

    @property
    def hedge_failed(self) -> bool:
        """True once any symbol's kernel has spent its hedge attempts (``HEDGE_FAILED``)."""
        return bool(int(np.bitwise_or.reduce(self.kernel_state["flags"])) & HEDGE_FAILED)

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
        return int(venue_status(self.venues, symbol, v, now, self.stale_after))

    def _refresh_view(self, now: int) -> None:
        self.venues[V_OPEN] = self._counts.open_counts
        self.venues[V_BLOCKED] = self._counts.blocked_until_ns
        fill_accounts(self.views, self._account, self.venues)
        for s in range(self.n_symbols):
            fill_books(self.views, s, self._books, self.levels, self.venues, now, self.stale_after, self.last_mid)

    def _sample(self, now: int, force: bool = False) -> None:
        if not (force or now >= self.next_sample):
            return
        equity = self.log.equity
        data = equity.room(self.n_symbols)
        written = log_equity(data, equity.n, now, self._account, self.last_mid, self.mark)
        if not written:
            return
        equity.n += written
        self.next_sample = (now // self.equity_interval + 1) * self.equity_interval

    def _reduces(self, s: int, v: int, side: int, qty: float) -> bool:
        # An unwind on a perpetual goes reduce-only when it only shrinks the position there, as the kill
        # switch's flatten does: were the position not what the engine thinks (a fill it has not seen), the
        # venue refuses it rather than open one the other way. One that would cross zero (inventory held
        # the other way) goes as it is.
        held = float(self.init_base[s, v] + self.position[s, v])
        return self._linear[v] and side * held < 0.0 and qty <= abs(held) * (1.0 + 1e-9)

    def _decide(self, now: int) -> None:
        # One compiled call does the views, the gate's trackers, and per symbol that changed may_act,
        # the kernel, the gate and the logs; Python hands the intents to the executor.
        self._now = now
        if self.quoting:
            quote_views(self.views, self.quotes)
        calls, sent = self.log.calls, self.log.sent
        logs = EngineLogs(calls.room(self.n_symbols), sent.room(len(self._intent_ints)),
                          (self._intent_ints, self._intent_floats))  # fmt: skip
        try:
            total, called, flags = self._step(now, self._pending, self._state, self._risk, self._books, logs, calls.n,
                                               sent.n)  # fmt: skip
        except Exception as error:
            if not user_strategy(self.bound.strategies):
                raise  # arb's own code: a defect, with its traceback
            mark_raised(self.kernel_state, now)  # nothing of the decision is sent; lone legs are still hedged
            return self._halt_for_strategy(raised_text(self.bound.strategies, error))
        self._dirty = False
        calls.n += called
        self._sample(now)
        if flags:
            self._after_gate(flags)
        if total == 0:
            return
        first = sent.n
        sent.n += total
        debug = log.isEnabledFor(logging.DEBUG)
        for k, ((venue, side, kind, pair_id, symbol), (price, qty)) in enumerate(
            zip(self._intent_ints[:total].tolist(), self._intent_floats[:total].tolist(), strict=True)
        ):
            if kind == INTENT_QUOTE or kind == INTENT_CANCEL:
                self._send_quote(venue, side, kind, pair_id, symbol, price, qty, now)
                continue
            if kind == INTENT_UNWIND and self._reduces(symbol, venue, side, qty):
                order = self.executor.submit(venue, side, price, qty, kind, pair_id, now, symbol, reduce_only=True)
            else:
                order = self.executor.submit(venue, side, price, qty, kind, pair_id, now, symbol)
            if order.fault:  # only the paper executor simulates leg faults
                sent.data[first + k]["fault"] = order.fault
            if debug:
                log.debug(
                    "sent %s %s %s %g @ %g (pair %d, order %d)",
                    self.symbols[symbol], self.config.venues[order.venue].name, "buy" if order.side == BUY else "sell",
                    order.qty, order.price, order.pair_id, order.order_id,
                )  # fmt: skip
        self.executor.depart()  # a live executor writes the decision's orders now, back to back
