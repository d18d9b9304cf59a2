"""The backtest: hftbacktest over every venue of every symbol (asset ``n * s + v``: symbol ``s`` of
``[strategy] symbols`` on venue ``v`` of the run's ``n``, numbered as ``[strategy] venues`` lists them),
driving the kernel.

One ``HashMapMarketDepthBacktest`` replays every venue's converted recordings (per-venue tick and lot
sizes, fees, constant or measured order latency, the recorded feed latency). A compiled loop moves
from one book update to the next (``elapse``), to the next order arrival or answer, or from event to
event while quotes rest (``wait_next_feed`` with order responses), and at each one builds the kernel's
view from hftbacktest's depth, positions and balances, calls the *same* ``decide`` the live driver
calls and puts the intents through the risk gate. Every taker intent is one IOC limit order that the
loop fills itself at its arrival, on hftbacktest's depth, by the paper venue's rule
(:mod:`arb.execution.liquidity`: level by level, never more than a level shows net of what our orders
took from it); resting quotes go to hftbacktest's exchange as post-only orders.

With ``[backtest] transfer_policy`` it moves inventory between the venues with a fee and a delay
(:mod:`arb.backtest.transfers`), each logged (transfers.csv). Not modelled: other traders' answer to our
trades, the venue's own (venue-time) book for taker orders, transfers as a venue makes them (docs/backtest.md).
"""

from __future__ import annotations

__all__ = [
    "BacktestResult",
    "Loop",
    "Schedule",
    "Warming",
    "build_hbt",
    "compile_loop",
    "decision_points",
    "inventory_figures",
    "loop_cached",
    "run_backtest",
    "run_session",
    "warm_loop",
    "warm_loop_in_background",
]

import datetime as dt
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from hftbacktest import BacktestAsset
from numba import typeof

from arb._jit import cached, ready_to_compile, say_compiling, with_stack_room
from arb.backtest.compiled_loop import _MAX_SAME_TIME, _NO_PROGRESS, _STEP_HALF, _helper_calls, _run_loop, _step_args
from arb.backtest.hbt_handle import Backtester
from arb.backtest.hbt_orders import (
    _MAX_PENDING,
    C_CALLS,
    C_CANCELS,
    C_EQUITY,
    C_FILLS,
    C_FUNDING,
    C_MAKER_FILLS,
    C_NEXT_ORDER_ID,
    C_NEXT_PAIR_ID,
    C_POST_ONLY_REJECTS,
    C_QUOTES,
    C_SENT,
    N_COUNTERS,
)
from arb.backtest.loop_inputs import loop_settings, measured_latency, perp_tape, ragged
from arb.backtest.loop_state import Inventory, Marks, Orders, Outs, Perp, Run, Symbols, Tape
from arb.backtest.order_latency import load_measured, measured_path
from arb.backtest.step_call import step_of
from arb.backtest.taker_fills import FLIGHT_DTYPE
from arb.backtest.transfers import (
    ASSET_BASE,
    ASSET_QUOTE,
    B_COUNT,
    B_FEE,
    B_FEE_QUOTE,
    B_TRANSIT_NS,
    TRANSFER_NONE,
    new_inventory,
)
from arb.config import AppConfig, BacktestConfig, VenueConfig
from arb.errors import ArbError, StrategyError
from arb.events import MAX_VENUES, NS_PER_S
from arb.execution.leg_faults import make_leg_faults
from arb.execution.liquidity import new_taken
from arb.execution.risk import (
    RiskEvent,
    drain_events,
    new_gate,
    quote_currency,
    risk_figures,
    symbol_event_text,
    symbol_risk_figures,
)
from arb.recording.loader import Timeline, book_times, load_timeline, plan_days, sync_transitions
from arb.recording.replayed_funding import Funding, funding_of
from arb.results.marks import NS_PER_DAY, BoundaryMark, Spans, out_of_sync_spans
from arb.strategy.loading import strategy_record
from arb.strategy.quote_slots import new_quotes
from arb.strategy.rules import rules_of
from arb.strategy.seam import Bound, broken_text, raised_text, user_strategy
from arb.strategy.selection import bind_config, typed_binding
from arb.strategy.state import Kernel, Risk
from arb.strategy.step import decide_symbol
from arb.strategy.types import (
    CONTRACT_BROKEN,
    FILL_DTYPE,
    FUNDING_DTYPE,
    SENT_DTYPE,
    TRANSFER_DTYPE,
    decision_dtype,
    equity_dtype,
    kernel_figures,
    narrow_venues,
    new_intents,
    new_state,
    new_views,
)

log = logging.getLogger(__name__)

_EQUITY_INTERVAL_NS = NS_PER_S
_LOOP_COMPILE_S = 4.0
"""About how long compiling the backtest loop takes once its helpers are compiled, s, on the project's 2-core
VM: once per install (then Numba's cache has it)."""


@dataclass(slots=True)
class BacktestResult:
    """What a backtest produced (arrays in FILL_DTYPE / equity_dtype(n venues); each row names its symbol).

    With several symbols the single-symbol fields (``kernel_state``, ``out_of_sync``, ``initial_base``)
    describe the first symbol and the ``*_by_symbol`` fields every symbol, in ``symbols`` order.
    """

    fills: np.ndarray[Any, Any]
    equity: np.ndarray[Any, Any]
    calls: np.ndarray[Any, Any]
    """decision_dtype(n venues): every kernel call (for parity checks)."""
    sent: np.ndarray[Any, Any]
    """SENT_DTYPE: every intent sent, with its time."""
    days: list[dt.date]
    start_ns: int
    end_ns: int
    counters: dict[str, int]
    kernel_state: dict[str, int]
    risk_state: dict[str, float]
    """The account's gate figures (:func:`~arb.execution.risk.risk_figures`)."""
    sync_losses: dict[str, int]
    """Times a book lost sync, per venue (its name), or per venue and symbol (``"<venue> ETHUSDT"``)."""
    out_of_sync: tuple[Spans, ...]
    """Per venue, the spans ``(start_ns, end_ns)`` of local time its book was not synced, for the report."""
    rows: dict[str, int]
    local_shift_ns: int
    wall_s: float
    initial_base: tuple[float, ...]
    initial_quote: tuple[float, ...]
    risk_events: list[RiskEvent] = field(default_factory=list)
    """Every breach the gate reported (once per episode), in order."""
    symbols: tuple[str, ...] = ()
    kernel_states: list[dict[str, int]] = field(default_factory=list)
    symbol_risk: list[dict[str, Any]] = field(default_factory=list)
    """Each symbol's gate figures (:func:`~arb.execution.risk.symbol_risk_figures`)."""
    out_of_sync_by_symbol: list[tuple[Spans, ...]] = field(default_factory=list)
    initial_base_by_symbol: list[tuple[float, ...]] = field(default_factory=list)
    funding: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, FUNDING_DTYPE))
    """FUNDING_DTYPE: every funding payment booked (perpetuals), its own line beside the fills."""
    day_marks: list[BoundaryMark] = field(default_factory=list)
    """The books' mids at each UTC midnight inside the data (what the report values positions at)."""
    inventory: dict[str, Any] = field(default_factory=dict)
    """What inventory cost (:func:`inventory_figures`): pairs missed for want of balance, the transfers
    made, their fees and time in transit, what is still on its way and each venue's balances at the end."""
    transfers: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, TRANSFER_DTYPE))
    """TRANSFER_DTYPE: every transfer the transfer policy made, in the order sent (transfers.csv)."""
    strategy: dict[str, Any] = field(default_factory=dict)
    """The strategy the run ran: its name, origin, summary, whether it quotes, and its parameters
    (:func:`arb.strategy.loading.strategy_record`; summary.json's ``meta.strategy``)."""


def decision_points(book_ts: list[np.ndarray[Any, Any]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Merge the assets' book-change times: (times, asset) rows sorted by time (one row per asset that
    changed at a time; assets in order on a tie)."""
    times = np.concatenate(book_ts) if book_ts else np.zeros(0, np.int64)
    assets = np.concatenate([np.full(len(ts), a, np.int64) for a, ts in enumerate(book_ts)]) if book_ts else times
    order = np.lexsort((assets, times))
    return np.ascontiguousarray(times[order], np.int64), np.ascontiguousarray(assets[order], np.int64)


def _decimals(step: float) -> int:
    # Decimal places of a tick size (0.01 -> 2, 0.5 -> 1, 10 -> 0).
    for places in range(12):
        if abs(round(step * 10**places) - step * 10**places) < 1e-9:
            return places
    return 12


def _queue_model(asset: BacktestAsset, backtest: BacktestConfig) -> BacktestAsset:
    # ``[backtest] queue_model`` on an asset: how a resting order's place in its level's queue advances.
    model, power = backtest.queue_model, backtest.queue_power
    if model == "power":
        return asset.power_prob_queue_model(power)
    if model == "power2":
        return asset.power_prob_queue_model2(power)
    if model == "power3":
        return asset.power_prob_queue_model3(power)
    if model == "log":
        return asset.log_prob_queue_model()
    if model == "log2":
        return asset.log_prob_queue_model2()
    return asset.risk_adverse_queue_model()


QUOTE_MIN_LATENCY_NS = 1
"""The least order latency (entry and response, ns) of a run that quotes: hftbacktest 2.4.4 never moves on
from a resting order's acknowledgement due at the very time it was sent, so a zero latency is run as 1 ns."""


def _asset(
    venue: VenueConfig, arrays: list[Any], initial: Any, backtest: BacktestConfig, quoting: bool = False
) -> BacktestAsset:
    # hftbacktest's no-partial-fill exchange: an order fills whole or not at all. (Its local state in
    # 2.4.4 does not book the fills of a partly filled order until the order is done, so a resting
    # order must not fill in parts; arb's quotes are small beside the venues' trades.)
    asset = BacktestAsset().data(arrays).linear_asset(venue.instrument.contract_size)
    latency = venue.latency
    if latency.order == "measured":  # what arb live measured (arb latency --export), checked first
        path = measured_path(latency.measured_dir, venue.name)
        load_measured(path, venue.path)
        asset = asset.intp_order_latency(str(path))
    else:
        least = QUOTE_MIN_LATENCY_NS if quoting else 0
        asset = asset.constant_order_latency(max(latency.order_entry_ns, least), max(latency.order_response_ns, least))
    asset = _queue_model(asset, backtest)
    asset = (
        asset.no_partial_fill_exchange()
        .trading_value_fee_model(venue.fees.maker, venue.fees.taker)
        .tick_size(venue.instrument.tick_size)
        .lot_size(venue.instrument.lot_size)
        .last_trades_capacity(0)
    )
    if initial is not None:
        asset = asset.initial_snapshot(initial)
    return asset


def build_hbt(config: AppConfig, session: Timeline) -> Backtester:
    """One hftbacktest over every symbol's venues (asset ``n * s + v``: symbol ``s``, venue ``v`` of ``n``),
    as a :class:`~arb.backtest.hbt_handle.Backtester` (no jitclass to compile).

    The caller must keep ``session`` alive until the backtest is closed (hftbacktest reads the
    arrays in place).
    """
    assets = []
    quoting = bool(rules_of(config)["quotes"].any())
    for a, data in enumerate(session.assets):
        initial = data.initial.rows if data.initial is not None else None
        assets.append(_asset(data.venue, session.arrays[a], initial, config.backtest, quoting))
    return Backtester(assets)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the loop decides, and each asset's book and sync history (derived from the session's rows).

    ``book_ts``/``sync_ts``/``sync_state`` hold every asset's history end to end, asset ``a``'s between
    ``*_off[a]`` and ``*_off[a + 1]``."""

    book_ts: np.ndarray[Any, Any]
    book_off: np.ndarray[Any, Any]
    sync_ts: np.ndarray[Any, Any]
    sync_state: np.ndarray[Any, Any]
    sync_off: np.ndarray[Any, Any]
    decision_ts: np.ndarray[Any, Any]
    decision_assets: np.ndarray[Any, Any]

    @classmethod
    def of(cls, session: Timeline) -> Schedule:
        """Book-change times, sync transitions and the merged decision points of ``session``."""
        n = len(session.assets)
        books = [book_times(session.arrays[a]) for a in range(n)]
        syncs = [sync_transitions(session.arrays[a], session.assets[a].initial is not None) for a in range(n)]
        book_ts, book_off = ragged(books)
        sync_ts, sync_off = ragged([ts for ts, _ in syncs])
        sync_state, _ = ragged([state for _, state in syncs])
        decision_ts, decision_assets = decision_points(books)
        return cls(book_ts.astype(np.int64), book_off, sync_ts.astype(np.int64), sync_state.astype(np.int64),
                   sync_off, decision_ts, decision_assets)  # fmt: skip

    def syncs(self, a: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(times, states) of asset ``a``'s sync changes: 1 = synced from that time on."""
        lo, hi = self.sync_off[a], self.sync_off[a + 1]
        return self.sync_ts[lo:hi], self.sync_state[lo:hi]

    def out_of_sync(self, start_ns: int, end_ns: int, symbol: int, n_venues: int) -> tuple[Spans, ...]:
        """Per venue (of ``n_venues``), the spans of ``[start_ns, end_ns)`` the symbol's book was not synced
        (what the view said)."""
        a = n_venues * symbol
        return tuple(out_of_sync_spans(*self.syncs(a + v), start_ns, end_ns) for v in range(n_venues))


def _doubled(array: np.ndarray[Any, Any], used: int, margin: int) -> np.ndarray[Any, Any]:
    # ``array`` twice as long when fewer than ``margin`` rows are free past the ``used`` ones
    return np.concatenate([array, np.zeros(len(array), array.dtype)]) if used >= len(array) - margin else array


class Loop:
    """The compiled loop's inputs and outputs for one run: fresh kernel, gate and account state, and the
    fills, equity samples, kernel calls and intents it records (grown as needed).

    ``funding``: each asset's settlements and mark prices (:func:`~arb.recording.replayed_funding.funding_of`;
    None: none at all, which spot venues have anyway). ``bound``: the run's strategies (default: bound now,
    :func:`~arb.strategy.selection.bind_config`)."""

    def __init__(
        self,
        config: AppConfig,
        session: Timeline,
        schedule: Schedule,
        funding: list[Funding] | None = None,
        bound: Bound | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.schedule = schedule
        self.n_symbols = len(config.symbols)
        self.n_venues = len(config.venues)
        self._kernel_and_gate(config, bound)
        self._orders_out(config)
        self._buffers(config, session, funding)
        self.settings = loop_settings(
            config, session.end_ns, _EQUITY_INTERVAL_NS, (self.init_quote, self.maker, self.taker), self.order_latency
        )
        """The loop's settings (one ``BACKTEST_RUN_DTYPE`` record)."""
        spot = all(v.market == "spot" for v in config.venues)  # a linear venue holds no base to move
        self.inventory = new_inventory([int(spot)] * self.n_symbols, self.n_venues)
        """What the transfer policy moved between the venues (:mod:`arb.backtest.transfers`)."""

    def _kernel_and_gate(self, config: AppConfig, bound: Bound | None) -> None:
        # Set-up, the decisions: the kernels' rules, state, views and intents, the strategies, the gate,
        # the starting holdings and fees
        n_sym, n_venues = self.n_symbols, self.n_venues
        self.rules = rules_of(config)
        self.kernel_state = new_state(n_sym)
        self.views = new_views(n_sym, n_venues)
        self.intents = new_intents(n_sym)
        self.bound = bound if bound is not None else bind_config(config, self.rules)
        self.limits, self.risk_state, self.symbol_state = new_gate(config)
        self.risk_events: list[RiskEvent] = []
        self.step = (0, 0)
        """The step's address and key (:mod:`arb.backtest.step_call`), read at the first :meth:`run`: the
        warm-up compiles the loop without it."""
        self._quote = quote_currency(config.strategy.symbol)
        self.init_base = np.array([sym.base for sym in config.symbols], float).reshape(n_sym, n_venues)
        self.init_quote = np.array([v.account.quote for v in config.venues])
        self.maker = np.array([v.fees.maker for v in config.venues])
        self.taker = np.array([v.fees.taker for v in config.venues])

    def _orders_out(self, config: AppConfig) -> None:
        # Set-up, the orders: those on their way, what they took, the quotes, the faults and latencies
        venues = config.venues
        n_assets = self.n_venues * self.n_symbols
        self.flight = np.zeros(_MAX_PENDING * n_assets, FLIGHT_DTYPE)
        """The taker orders on their way (:mod:`arb.backtest.taker_fills`)."""
        self.taken = new_taken(n_assets)
        """What our orders took from each asset's levels (:mod:`arb.execution.liquidity`)."""
        self.own = (np.zeros(n_assets), np.zeros(n_assets))
        """Per asset, the position and cash the taker fills moved (hftbacktest holds the quotes')."""
        self.leg_faults = make_leg_faults(config.leg_faults, config.venue_names)
        self.quotes = new_quotes(n_assets)
        """The resting quotes' slots (:mod:`arb.backtest.hbt_quotes`)."""
        least = QUOTE_MIN_LATENCY_NS if bool(self.rules["quotes"].any()) else 0
        self.order_latency = np.array(
            [[max(v.latency.order_entry_ns, least), max(v.latency.order_response_ns, least)] for v in venues],
            np.int64,
        )
        """Per venue, the constant order latencies (entry, response), ns, as hftbacktest is given them."""
        self.measured = measured_latency(venues)
        """The venues' measured order latency rows (``[latency] order = "measured"``) and offsets."""

    def _buffers(self, config: AppConfig, session: Timeline, funding: list[Funding] | None) -> None:
        # Set-up, what the loop writes: the output buffers, the counters, the last mids, the funding tape
        n_sym, n_venues = self.n_symbols, self.n_venues
        span = session.end_ns - session.start_ns
        self.fills: np.ndarray[Any, Any] = np.zeros(4096 * n_sym, FILL_DTYPE)
        samples = int(span // _EQUITY_INTERVAL_NS) + 16
        # MAX_VENUES columns a venue field: one compiled loop for every venue count (narrow_venues at the end)
        self.equity: np.ndarray[Any, Any] = np.zeros(samples * n_sym, equity_dtype(MAX_VENUES))
        self.calls: np.ndarray[Any, Any] = np.zeros(1024 * n_sym, decision_dtype(MAX_VENUES))
        self.sent: np.ndarray[Any, Any] = np.zeros(1024 * n_sym, SENT_DTYPE)
        self.counters = np.zeros(N_COUNTERS, np.int64)
        self.counters[C_NEXT_ORDER_ID] = 1
        self.counters[C_NEXT_PAIR_ID] = 1
        self.last_mid = np.full((n_sym, n_venues), np.nan)
        assets = funding if funding is not None else [Funding.none() for _ in range(n_venues * n_sym)]
        self.perp, self.funding = perp_tape(assets, n_sym, n_venues)
        """The funding tape (:func:`~arb.backtest.loop_inputs.perp_tape`): what _run_loop's ``perp`` takes."""
        self.price_decimals = np.array(
            [_decimals(i.tick_size) for sym in config.symbols for i in sym.instruments], np.int64
        )

    def _state(self) -> tuple[Perp | Marks, Run, Symbols, Orders, Outs]:
        # _run_loop's arguments after ``hbt``, ``until_ns`` and ``tape`` (see there), the buffers as they are now.
        # What the run does not use goes as None or Marks (arb.backtest.loop_state): not compiled.
        perp = self.perp
        perp_on = any(v.market != "spot" for v in self.config.venues)  # from the configuration, as warm_loop sees it
        moving = self.settings[0]["transfer_policy"] != TRANSFER_NONE
        run = Run(self.settings, self.counters, self.leg_faults, self.init_base, self.last_mid, self.price_decimals,
                  self.measured, self.inventory if moving else None)  # fmt: skip
        quoting = bool(self.rules["quotes"].any())
        symbols = self._symbols()
        orders = Orders(self.flight, self.quotes if quoting else None, self.taken, self.own)
        outs = Outs(self.fills, self.equity, self.calls, self.sent, self.funding)
        return perp if perp_on else Marks(perp.mark, perp.paid), run, symbols, orders, outs

    def _symbols(self) -> Symbols:
        # _run_loop's ``symbols``: the kernels, the gate and the views as the run hands them
        kernel = Kernel(self.rules, self.kernel_state, self.intents, self.bound.part)
        return Symbols(kernel, Risk(self.limits, self.risk_state, self.symbol_state), self.views, self.step)

    def _log_risk_events(self) -> None:
        # The breaches the gate wrote since the last call, logged as the engine logs them (at data time).
        for event in drain_events(self.risk_state):
            self.risk_events.append(event)
            when = dt.datetime.fromtimestamp(event.ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            text = symbol_event_text(event, self.limits, self._quote, self.config.symbol_names)
            log.warning("risk at %s UTC: %s", when, text)

    def midnight_mark(self, midnight_ns: int, book_ts: int) -> BoundaryMark:
        """The books' mids now (the loop stopped at ``book_ts``, its last decision before ``midnight_ns``,
        so they are the books at midnight) and what holdings are valued at (a perpetual's mark price)."""
        mids = self.last_mid.copy()
        mark = self.perp.mark  # the mark price now per (symbol, venue), NaN until a perpetual's stream gave one
        return BoundaryMark("midnight", midnight_ns, book_ts, mids, np.where(np.isnan(mark), mids, mark))

    def run(self, hbt: Backtester, until_ns: int) -> int:
        """Run the compiled loop to local time ``until_ns``; 0 there, 1 at the end of the data.

        Output buffers that fill up are grown and the loop resumed. Raises ``RuntimeError`` on an
        hftbacktest error code.
        """
        n_sym = self.n_symbols
        sch = self.schedule
        tape = Tape(sch.decision_ts, sch.decision_assets, sch.book_ts, sch.book_off, sch.sync_ts, sch.sync_state,
                sch.sync_off)  # fmt: skip
        if self.step == (0, 0):
            self.step = step_of(decide_symbol, _step_args(self))
        while True:
            rc: int = _run_loop(hbt.ptr, until_ns, tape, *self._state())
            self._log_risk_events()
            if rc != 2:
                break
            c = self.counters
            self.fills = _doubled(self.fills, c[C_FILLS], len(self.flight))
            self.equity = _doubled(self.equity, c[C_EQUITY], 2 * n_sym)
            self.calls = _doubled(self.calls, c[C_CALLS], n_sym)
            self.sent = _doubled(self.sent, c[C_SENT], self.intents.size)
            self.inventory = self.inventory._replace(log=_doubled(self.inventory.log, self.inventory.logged[0], n_sym))
        if rc == _NO_PROGRESS:
            raise RuntimeError(
                f"no settled state after {_MAX_SAME_TIME} decisions at one time: with zero order latency every "
                "order is answered at once, and the kernel sends it again without end when nothing changes (a "
                "hedge [leg_faults] rejects, a pair at a level our own orders emptied); give the venues an order "
                "latency"
            )
        if rc < 0 or rc > 1:
            raise RuntimeError(f"hftbacktest stopped with error code {-rc}")
        return rc


def warm_loop(config: AppConfig, part: int | None = None) -> None:
    """Compile the backtest loop and its cached helpers (and the kernel, gate and risk code they call)
    into Numba's cache, or load them from it. Nothing runs; no data is needed. ``part`` 0 or 1 compiles
    one of two halves, each on its own: 0, :data:`~arb.backtest.compiled_loop._STEP_HALF` (a few of the
    loop's helpers, then the step, decide_symbol: the guard and the risk gate, which the loop calls by
    address, :mod:`arb.backtest.step_call`); 1, the loop's other helpers and then the loop, which links
    them. None: all of it."""
    session = cast(Timeline, types.SimpleNamespace(start_ns=0, end_ns=0))
    # the strategy's types, not its code: the run's process compiles it (the drivers call it by address)
    loop = Loop(config, session, cast(Schedule, None), bound=typed_binding(config, rules_of(config)))
    calls = _helper_calls(loop)
    if part == 0:  # in _STEP_HALF's order
        calls = sorted((c for c in calls if c[0] in _STEP_HALF), key=lambda c: _STEP_HALF.index(c[0]))
    elif part == 1:
        calls = [c for c in calls if c[0] not in _STEP_HALF]
    for fn, args in calls:
        fn.compile(tuple(typeof(x) for x in args))  # type: ignore[no-untyped-call]  # numba is untyped
    if part == 0:
        return
    # what Loop.run hands it: hftbacktest's pointer, a time, the schedule's seven int64 arrays, the state
    tape = Tape(*(np.zeros(1, np.int64) for _ in range(7)))
    args = (0, 0, tape, *loop._state())
    _run_loop.compile(tuple(typeof(x) for x in args))  # type: ignore[no-untyped-call]  # numba is untyped


def _warm_child(config: AppConfig, part: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends this process
    with_stack_room(warm_loop, config, part)  # forked, it has the run's; spawned, it needs its own


class Warming:
    """The processes compiling the loop and its helpers (:func:`warm_loop_in_background`): half 0 (the
    step: the guard and the risk gate) and half 1 (the loop's helpers, then the loop)."""

    def __init__(self, processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
        self.processes = list(processes)

    def make_room(self) -> None:
        """On a machine of two cores, wait until one of the halves is done before a conversion that
        compiles the converter (a large day; a small one converts without Numba, beside both halves):
        three processes compiling on two cores would slow them all, and the last to finish would leave
        a core idle."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if cores <= 2:
            multiprocessing.connection.wait([process.sentinel for process in self.processes])

    def join(self) -> None:
        """Wait until the loop and every helper are compiled (and in Numba's cache)."""
        for process in self.processes:
            process.join()


def warm_loop_in_background(config: AppConfig) -> Warming | None:
    """When the loop is not in Numba's cache yet (the first run after an install or an update), start
    compiling it and what it calls in two other processes (the two halves of :func:`warm_loop`) and return
    them; else None.

    A first ``arb backtest`` compiles the run's strategy (before this, :func:`arb.strategy.selection.prepare`),
    the step (the guard and the risk gate), the loop's helpers and the loop, and the converter's book,
    level parser and corrections when it converts the recordings: the step in one process, the helpers
    and the loop in the other, the conversion in this one once a core is free (:meth:`Warming.make_room`).
    Join them before the loop runs.
    """
    if loop_cached() or (os.cpu_count() or 1) < 2:
        return None  # compiled or cached already, or no second core to use
    typed_binding(config, rules_of(config))  # as the halves do first: a strategy that does not load is one error
    # forked where safe (no other thread, whose locks the children would inherit held): they start with the
    # imports and the configuration, which spawned ones redo (about 4 s of CPU less for the two, measured)
    forking = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    context = multiprocessing.get_context("fork") if forking else multiprocessing.get_context("spawn")
    ready_to_compile()  # once: for this process's compile of the strategy next, and forked halves inherit it
    processes = [context.Process(target=_warm_child, args=(config, part), daemon=True) for part in (0, 1)]
    for process in processes:
        process.start()
    return Warming(processes)


def loop_cached() -> bool:
    """True when the loop's machine code is at hand (compiled in this process or in Numba's cache)."""
    return cached(_run_loop)


def compile_loop(config: AppConfig, session: Timeline, schedule: Schedule) -> None:
    """Have the loop compiled for ``config`` (or loaded from Numba's cache) by running it over the first
    nanosecond of ``session``: what a process does once before timing anything (``arb sweep``)."""
    loop = Loop(config, session, schedule)
    hbt = build_hbt(config, session)
    try:
        hbt.elapse(1)
        loop.run(hbt, session.start_ns + 1)
    finally:
        hbt.close()


def run_backtest(
    config: AppConfig,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    on_status: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    allow_damaged: bool = False,
    compile_beside: bool = True,
    warming: Warming | None = None,
) -> BacktestResult:
    """Run the strategy over the days in [start, end] that :func:`plan_days` settles (``start``/``end``
    None: the first/last day recorded for every venue of the run). ``allow_damaged`` keeps what can be read of
    a damaged recording; without it a damaged day is a :class:`~arb.errors.RecordingError`.
    ``compile_beside=False``: a first run compiles in this process alone, not in two others beside it
    (:func:`warm_loop_in_background`, which forks them, or spawns them when other threads run: then a
    script's top level runs again in them unless it is under ``if __name__ == "__main__":``).
    ``warming``: those processes, started by the caller already (:func:`warm_loop_in_background`,
    before it compiled the strategy)."""
    started = time.perf_counter()
    days = plan_days(config, start, end)
    if warming is None and compile_beside:
        warming = warm_loop_in_background(config)
    if warming is not None:
        say_compiling([("the kernel, the risk gate and the loop", [_run_loop], 9.0)], log, on_status)
    room = warming.make_room if warming is not None else None
    session = load_timeline(config, days, on_status, allow_damaged=allow_damaged, before_compiling=room)
    schedule = Schedule.of(session)
    if warming is not None:
        warming.join()  # the loop is in Numba's cache now: it is loaded, not compiled
    if on_status is not None and not loop_cached():
        on_status(f"compiling the backtest loop (once per install, about {_LOOP_COMPILE_S:.0f} s)")
    return run_session(config, session, schedule, days, on_progress=on_progress, started=started)


def run_session(
    config: AppConfig,
    session: Timeline,
    schedule: Schedule,
    days: list[dt.date],
    *,
    on_progress: Callable[[int, int], None] | None = None,
    started: float | None = None,
) -> BacktestResult:
    """The backtest of ``config`` over a loaded ``session`` and its decision ``schedule``: what
    :func:`run_backtest` does after loading (``arb sweep`` runs many configurations over one session).
    ``started``: ``time.perf_counter()`` when the run began (its ``wall_s`` counts from there)."""
    started = time.perf_counter() if started is None else started
    # funding_of has nothing to find on spot venues (and would import the funding-history reader: aiohttp)
    linear = any(venue.market == "linear" for venue in config.venues)
    loop = Loop(config, session, schedule, funding_of(config, session) if linear else None)
    hbt = build_hbt(config, session)
    try:
        day_marks = _replay(loop, hbt, session, schedule, on_progress)
    except ArbError:
        raise
    except Exception as error:
        if not user_strategy(loop.bound.strategies):
            raise  # arb's own code: a defect, with its traceback
        raise StrategyError(raised_text(loop.bound.strategies, error)) from None
    finally:
        hbt.close()
    broken = broken_text(loop.bound.strategies, loop.kernel_state, config.symbol_names, loop.n_venues)
    if broken:
        raise StrategyError(broken)
    return _result(config, loop, days, day_marks, started)


def _replay(
    loop: Loop,
    hbt: Backtester,
    session: Timeline,
    schedule: Schedule,
    on_progress: Callable[[int, int], None] | None,
) -> list[BoundaryMark]:
    # The run: the loop over the session in chunks (a 200th of it, at least a second), stopping before
    # each midnight for the day's marks, until the data ends or a strategy breaks its contract
    span = session.end_ns - session.start_ns
    midnights = _midnight_stops(schedule.decision_ts, session.start_ns, session.end_ns)
    day_marks: list[BoundaryMark] = []
    hbt.elapse(1)  # hftbacktest's clock starts at the first event only after a first step
    chunk = max(span // 200, NS_PER_S)
    until = session.start_ns + chunk
    rc = 0
    while True:
        # A midnight in this chunk: stop at the last decision before it (a decision the loop makes
        # anyway, so nothing it decides changes) and take the books' mids there.
        while rc != 1 and midnights and midnights[0][1] <= until:
            midnight, last = midnights.pop(0)
            if last > hbt.current_timestamp:
                rc = loop.run(hbt, last)
            day_marks.append(loop.midnight_mark(midnight, last))
        if rc != 1:
            rc = loop.run(hbt, until)
        if on_progress is not None:
            on_progress(min(until, session.end_ns) - session.start_ns, span)
        if (loop.kernel_state["flags"] & CONTRACT_BROKEN).any():
            break  # nothing more is sent for its symbol: the run ends, naming the strategy
        if rc == 1 or until >= session.end_ns:
            break
        until += chunk
    return day_marks


def _result(
    config: AppConfig, loop: Loop, days: list[dt.date], day_marks: list[BoundaryMark], started: float
) -> BacktestResult:
    # What the run leaves: the loop's buffers cut to what was written, its counters and figures by name
    session = loop.session
    listed = ("decision_points", "kernel_calls", "intents", "orders", "submit_errors", "fills", "equity_samples",
              "expired")  # fmt: skip
    names = {name: i for i, name in enumerate(listed)}
    if loop.rules["quotes"].any():  # the quotes' counters, where a symbol quotes
        names.update(quotes=C_QUOTES, cancels=C_CANCELS, post_only_rejects=C_POST_ONLY_REJECTS)
        names.update(maker_fills=C_MAKER_FILLS)
    counters = loop.counters
    rs = loop.risk_state[0]
    venues = config.venues
    symbols = config.symbol_names
    one = len(symbols) == 1

    n_venues = len(venues)

    def label(a: int) -> str:
        # the venue's name, followed by the symbol's with several symbols
        name = venues[a % n_venues].name
        return name if one else f"{name} {symbols[a // n_venues]}"

    memory = loop.bound.memory
    kernel_states = [
        kernel_figures(st, int(loop.rules[s]["quotes"]), memory[s]) for s, st in enumerate(loop.kernel_state)
    ]
    by_symbol = [loop.schedule.out_of_sync(session.start_ns, session.end_ns, s, n_venues) for s in range(len(symbols))]
    base = [tuple(float(x) for x in loop.init_base[s]) for s in range(len(symbols))]
    return BacktestResult(
        fills=loop.fills[: counters[C_FILLS]].copy(),
        equity=narrow_venues(loop.equity[: counters[C_EQUITY]], equity_dtype(n_venues)),
        calls=narrow_venues(loop.calls[: counters[C_CALLS]], decision_dtype(n_venues)),
        sent=loop.sent[: counters[C_SENT]].copy(),
        days=days,
        start_ns=session.start_ns,
        end_ns=session.end_ns,
        counters={name: int(counters[i]) for name, i in names.items()},
        kernel_state=kernel_states[0],
        risk_state=risk_figures(rs),
        sync_losses={label(a): int(np.sum(loop.schedule.syncs(a)[1][1:] == 0)) for a in range(n_venues * len(symbols))},
        out_of_sync=by_symbol[0],
        rows={label(a): session.rows(a) for a in range(n_venues * len(symbols))},
        local_shift_ns=session.local_shift_ns,
        wall_s=time.perf_counter() - started,
        initial_base=base[0],
        initial_quote=tuple(float(x) for x in loop.init_quote),
        risk_events=loop.risk_events,
        symbols=symbols,
        kernel_states=kernel_states,
        symbol_risk=[symbol_risk_figures(sst) for sst in loop.symbol_state],
        out_of_sync_by_symbol=by_symbol,
        initial_base_by_symbol=base,
        funding=loop.funding[: counters[C_FUNDING]].copy(),
        day_marks=day_marks,
        inventory=inventory_figures(config, loop.views, loop.inventory, kernel_states),
        transfers=loop.inventory.log[: loop.inventory.logged[0]].copy(),
        strategy=strategy_record(config),
    )


def inventory_figures(
    config: AppConfig, views: np.ndarray[Any, Any], inventory: Inventory, kernel_states: Sequence[dict[str, int]]
) -> dict[str, Any]:
    """What inventory cost a run, as summary.json's ``inventory`` holds it: the transfer policy, the
    decisions that sent no pair for want of balance (``missed_for_balance``, every symbol's), the
    transfers per asset (``transfers``, ``fees`` in the asset, ``fees_quote`` valued when paid,
    ``transit_s`` summed, ``in_transit`` at the end), their totals, and each venue's balances at the end
    (``balances``: per venue, per asset; what is on its way is in neither venue's)."""
    quote = quote_currency(config.strategy.symbol)
    names = config.symbol_names
    assets: dict[str, dict[str, Any]] = {}
    rows = [(s, ASSET_BASE, name[: len(name) - len(quote)] or name) for s, name in enumerate(names)]
    for s, asset, label in [*rows, (0, ASSET_QUOTE, quote)]:  # the quote, one balance a venue: symbol 0's row
        booked = inventory.booked[s, asset]
        assets[label] = {
            "transfers": int(booked[B_COUNT]),
            "fees": float(booked[B_FEE]),
            "fees_by_venue": {venue.name: float(inventory.fees[s, v, asset]) for v, venue in enumerate(config.venues)},
            "fees_quote": float(booked[B_FEE_QUOTE]),
            "transit_s": float(booked[B_TRANSIT_NS]) / NS_PER_S,
            "in_transit": float(inventory.transit[s, :, asset].sum()),
            "moved_by_venue": {
                venue.name: float(inventory.moved[s, v, asset] + inventory.transit[s, v, asset])
                for v, venue in enumerate(config.venues)
            },
        }
    balances: dict[str, dict[str, float]] = {}
    for v, venue in enumerate(config.venues):
        held = {name[: len(name) - len(quote)] or name: float(views[s][v]["base_balance"])
                for s, name in enumerate(names)}  # fmt: skip
        balances[venue.name] = {**held, quote: float(views[0][v]["quote_balance"])}
    return {
        "transfer_policy": config.backtest.transfer_policy,
        "missed_for_balance": sum(int(state.get("missed_for_balance", 0)) for state in kernel_states),
        "transfers": sum(int(a["transfers"]) for a in assets.values()),
        "transfer_fees_quote": sum(float(a["fees_quote"]) for a in assets.values()),
        "assets": assets,
        "balances": balances,
    }


def _midnight_stops(decision_ts: np.ndarray[Any, Any], start_ns: int, end_ns: int) -> list[tuple[int, int]]:
    # (midnight, the last decision time before it) for every UTC midnight inside (start_ns, end_ns]
    # that has a decision before it
    out = []
    midnight = (start_ns // NS_PER_DAY + 1) * NS_PER_DAY
    while midnight <= end_ns:
        k = int(np.searchsorted(decision_ts, midnight, side="left"))
        if k > 0:
            out.append((midnight, int(decision_ts[k - 1])))
        midnight += NS_PER_DAY
    return out
