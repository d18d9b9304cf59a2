"""The compiled state as named records: what the drivers' compiled code keeps between calls.

The kernel's boundary (view, parameters, kernel state, intents, and the logs' rows) is in
:mod:`arb.strategy.types`; this module holds everything else the backtest loop and the live engine
keep in compiled code, as a few records instead of long argument lists:

- :data:`SYMBOL_DTYPE`, one record per symbol: its view of both venues, its parameters, its kernel
  state, its limits and gate state, its intents buffer, and per venue its part of the account
  (:data:`ACCOUNT_DTYPE`) and what the driver knows of its book and orders there (:data:`VENUE_DTYPE`);
- :data:`RUN_DTYPE`, one record: the gate's account-wide state, the counters and the run's settings;
- the backtest's orders in flight (:data:`PENDING_DTYPE`, :data:`HELD_DTYPE`) and its funding tape
  (:data:`TAPE_DTYPE` and the rows it indexes).

Arrays of these records are handed to compiled code with the module's dtype objects themselves
(``array.dtype is SYMBOL_DTYPE``): Numba finds a compiled function by its arguments' types, and an
equal but distinct structured dtype costs a comparison of every field at each call. The fields of a
record array are NumPy views with the nested dtype objects themselves (``syms["kernel"].dtype is
STATE_DTYPE``), which is how the drivers expose them to Python (``engine.kstate``, ``engine.position``).

Units as everywhere: ``_ns`` int64 nanoseconds, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.core import types
from numba.extending import overload

from arb.strategy.types import (
    INTENT_DTYPE,
    MAX_INTENTS,
    PARAMS_DTYPE,
    STATE_DTYPE,
    VENUE_OUT_OF_SYNC,
    VIEW_DTYPE,
)

__all__ = [
    "ACCOUNT_DTYPE",
    "COUNTERS_DTYPE",
    "ESTIMATE_DTYPE",
    "EVENTS_KEPT",
    "HELD_DTYPE",
    "MARK_DTYPE",
    "MAX_PAIRS_TRACKED",
    "MAX_PENDING",
    "N_BREACHES",
    "PENDING_DTYPE",
    "RISK_DTYPE",
    "RISK_STATE_DTYPE",
    "RUN_DTYPE",
    "SETTLEMENT_DTYPE",
    "SYMBOL_DTYPE",
    "SYMBOL_RISK_DTYPE",
    "TAPE_DTYPE",
    "limits_row",
    "new_run",
    "new_symbols",
    "pnl_row",
    "risk_row",
    "view_row",
]

MAX_PAIRS_TRACKED = 4096
"""``max_pairs_per_day`` above this is refused by the configuration check."""
N_BREACHES = 16
"""Refusal codes of the gate (``arb.strategy.gate.B_*``), the size of its per-code counters."""
EVENTS_KEPT = 64
"""Events the gate's ring holds between two drains."""
MAX_PENDING = 128
"""Orders in flight per (symbol, venue) the backtest keeps track of."""

RISK_DTYPE = np.dtype(
    [
        ("position_limit", "f8"),  # the symbol's |position0 + position1|, base units
        ("max_notional_per_venue", "f8"),  # the symbol's |position| x mid per venue, quote
        ("max_open_orders", "i8"),  # per venue, every symbol's
        ("max_drawdown", "f8"),  # quote currency below the account's trading-PnL peak
        ("max_daily_loss", "f8"),  # quote; 0 = off
        ("max_daily_loss_fraction", "f8"),  # of the account's equity at the day's start; 0 = off
        ("daily_reset_ns", "i8"),  # the day begins this long after 00:00 UTC
        ("max_pair_loss", "f8"),  # quote; 0 = off
        ("max_pairs_per_day", "i8"),  # the symbol's; 0 = off
        ("min_pair_interval_ns", "i8"),  # the symbol's; 0 = off
        ("max_imbalance_hold_ns", "i8"),  # 0 = off
        ("dust", "f8"),  # a net position of the symbol below this is flat (the coarser lot)
        ("max_capital_use", "f8"),  # fraction of a venue's equity; 0 = off
        ("max_unknown_orders", "i8"),  # per venue
        ("max_symbol_share", "f8"),  # fraction of the account's equity; 0 = off
        ("max_total_notional", "f8"),  # quote; 0 = off
        ("leverage", "f8", (2,)),  # per venue; 0: a spot venue (no margin)
        ("maintenance_rate", "f8", (2,)),  # per venue: maintenance margin, fraction of position value
        ("isolated", "i8", (2,)),  # per venue: 1 for isolated margin, 0 cross
        ("min_liquidation_distance", "f8"),  # fraction of the price; 0 = off
    ],
    align=True,
)
"""The gate's limits, one row per symbol: its own limits and the account's (the same in every row)."""

RISK_STATE_DTYPE = np.dtype(
    [
        ("peak_equity", "f8"),
        ("halted", "i8"),  # H_* (0: not halted)
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
        ("day", "i8"),  # the current risk day's number (-1 before the first sample)
        ("day_start_pnl", "f8"),  # trading PnL when the day began
        ("day_start_equity", "f8"),  # the account's equity when the day began
        ("day_halted", "i8"),  # while the daily loss limit holds new pairs back: its B_* code, else 0
        ("last_pnl", "f8"),  # the account's trading PnL at the last update
        ("unknown", "i8", (2,)),  # orders of unknown outcome per venue (the drivers set it)
        ("breach", "i8"),  # the last refusal's B_* code
        ("breach_value", "f8"),
        ("breach_limit", "f8"),
        ("breach_symbol", "i8"),  # whose pair (or hedge) it was
        ("refused", "i8", (N_BREACHES,)),  # refusals per B_* code, every symbol's
        ("unknown_paused", "i8"),  # 1 while a venue has more unknown orders than allowed
        ("ev_count", "i8"),  # events written in all (ring index below)
        ("ev_drained", "i8"),  # events the driver has taken
        ("ev_lost", "i8"),  # events overwritten before the driver took them
        ("ev_code", "i8", (EVENTS_KEPT,)),
        ("ev_ts", "i8", (EVENTS_KEPT,)),
        ("ev_value", "f8", (EVENTS_KEPT,)),
        ("ev_limit", "f8", (EVENTS_KEPT,)),
        ("ev_symbol", "i8", (EVENTS_KEPT,)),
    ],
    align=True,
)
"""The account's gate state (one record)."""

SYMBOL_RISK_DTYPE = np.dtype(
    [
        ("imbalance_since", "i8"),  # when the symbol's net position left flat (0: flat)
        ("pair_open", "i8"),  # 1 while the symbol's last pair's PnL is being measured
        ("pair_start_pnl", "f8"),
        ("last_pnl", "f8"),  # the symbol's trading PnL at the last update
        ("last_pair_ns", "i8"),  # when the gate last let one of its pairs through
        ("pair_count", "i8"),  # its pairs let through in all (ring index below)
        ("pair_times", "i8", (MAX_PAIRS_TRACKED,)),
        ("rejected_pairs", "i8"),
        ("rejected_hedges", "i8"),
        ("refused", "i8", (N_BREACHES,)),  # its refusals per B_* code
        ("ev_last", "i8"),  # the B_* code of its run of refusals under way (0: none)
    ],
    align=True,
)
"""One symbol's gate state (one record per symbol)."""

ACCOUNT_DTYPE = np.dtype(
    [
        ("position", "f8"),  # base units bought minus sold since the start (linear: contracts x size)
        ("cash", "f8"),  # quote received minus paid minus fees, funding included
        ("init_base", "f8"),  # the holdings at the start
        ("last_mid", "f8"),  # the book's last finite mid (NaN until it has one)
        ("mark", "f8"),  # a perpetual's last mark price (NaN until its stream gave one, and on spot)
        ("funding", "f8"),  # funding received minus paid (in ``cash`` too)
        ("equity", "f8"),  # the symbol's part of the venue's equity at the last decision (backtest)
    ],
    align=True,
)
"""One symbol's part of the account on one venue. Holdings are valued at the mark price where there
is one, else at the last mid (:func:`arb.strategy.gate.account_px`)."""

VENUE_DTYPE = np.dtype(
    [
        ("synced", "i8"),  # 1 while the feed says the book is synced (live engine)
        ("feed_stale", "i8"),  # 1 while the feed says the book is stale (live engine)
        ("book_ts", "i8"),  # local time of the book's last change
        ("open", "i8"),  # orders out: sent and not answered (the engine: as the executor counts them)
        ("ticked", "i8"),  # 1: the book changed since the last decision (backtest)
        ("maker_fee", "f8"),  # fraction of the traded value (backtest fills)
        ("taker_fee", "f8"),
        ("price_decimals", "i8"),  # decimal places of the tick size (backtest fills' prices)
        ("entry_ns", "i8"),  # order entry latency (backtest: when an answer is due)
        ("response_ns", "i8"),  # order response latency
    ],
    align=True,
)
"""What a driver knows of one symbol's book and orders on one venue, and the venue's constants there."""

SYMBOL_DTYPE = np.dtype(
    [
        ("view", VIEW_DTYPE, (2,)),  # what its kernel reads, by venue
        ("params", PARAMS_DTYPE),
        ("kernel", STATE_DTYPE),
        ("limits", RISK_DTYPE),
        ("risk", SYMBOL_RISK_DTYPE),
        ("intents", INTENT_DTYPE, (MAX_INTENTS,)),  # its kernel's intents at the last call
        ("account", ACCOUNT_DTYPE, (2,)),
        ("venue", VENUE_DTYPE, (2,)),
        ("pnl", "f8"),  # its trading PnL at the last decision (the gate's input)
        ("deciding", "i8"),  # 1: its book, sync state or orders changed: it decides at the next decision
        ("act", "i8"),  # 1: deciding, and may_act says its kernel may send something
        ("answered", "i8"),  # 1: an order of it was answered since the last decision (backtest)
    ],
    align=True,
)
"""Everything of one symbol, one record each (``syms[s]``): the kernel's and the gate's records for it,
its account and its venues' state. The per-(symbol, venue) fields are ``(2,)`` arrays by venue."""

COUNTERS_DTYPE = np.dtype(
    [
        ("decision_points", "i8"),
        ("kernel_calls", "i8"),
        ("intents", "i8"),  # intents that passed the gate
        ("orders", "i8"),  # orders sent (backtest: to hftbacktest, or held by the leg-fault model)
        ("submit_errors", "i8"),
        ("fills", "i8"),  # rows written to the fills log
        ("equity_samples", "i8"),  # rows written to the equity log
        ("expired", "i8"),
        ("cursor", "i8"),  # the next row of the decision schedule (backtest)
        ("done", "i8"),  # 1 at the end of the data (backtest)
        ("next_order_id", "i8"),
        ("next_sample", "i8"),  # local time of the next equity sample
        ("next_pair_id", "i8"),  # shared by every symbol's kernel
        ("calls", "i8"),  # rows written to the kernel-call log
        ("sent", "i8"),  # rows written to the sent-intents log
        ("funding", "i8"),  # rows written to the funding log
    ],
    align=True,
)
"""A run's counters; the ``*_samples``, ``calls``, ``sent``, ``fills`` and ``funding`` counts are also
where the next row of each log goes."""

RUN_DTYPE = np.dtype(
    [
        ("risk", RISK_STATE_DTYPE),  # the gate's account-wide state
        ("counters", COUNTERS_DTYPE),
        ("init_quote", "f8", (2,)),  # each venue's quote at the start
        ("stale_after_ns", "i8"),  # a book unchanged this long is stale
        ("hedge_failed", "i8"),  # 1 once a kernel's HEDGE_FAILED was reported (live engine)
        ("until_ns", "i8"),  # the backtest loop runs to this local time
        ("end_ns", "i8"),  # the end of the data (backtest)
        ("equity_interval_ns", "i8"),  # an equity sample every this much local time (backtest)
        ("request_timeout_ns", "i8"),  # an order unanswered this long counts as unknown (backtest)
    ],
    align=True,
)
"""What a run shares across its symbols (one record): the gate's account state, counters, settings."""

PENDING_DTYPE = np.dtype(
    [
        ("order_id", "i8"),  # 0: a free slot
        ("kind", "i8"),  # the intent kind that sent it
        ("pair_id", "i8"),
        ("due", "i8"),  # local time its answer is due
        ("sent", "i8"),  # local time the kernel sent it
    ],
    align=True,
)
"""An order the backtest sent to hftbacktest and has no answer for yet: ``pending[a, slot]`` per asset
``a = 2 * symbol + venue``."""

HELD_DTYPE = np.dtype(
    [
        ("due", "i8"),  # local time of the action
        ("order_id", "i8"),  # 0: a free slot
        ("asset", "i8"),  # 2 * symbol + venue
        ("side", "i8"),
        ("price", "f8"),
        ("qty", "f8"),
        ("kind", "i8"),
        ("pair_id", "i8"),
        ("submit", "i8"),  # 1: send it to hftbacktest at ``due`` (a late leg); 0: answer it, unfilled
        ("sent", "i8"),  # local time the kernel sent it
    ],
    align=True,
)
"""An order the backtest's leg-fault model keeps from hftbacktest: a late one until it is sent, a
rejected one (or a partial one whose part rounds to nothing) until its answer is due."""

TAPE_DTYPE = np.dtype(
    [
        ("settle_lo", "i8"),  # the asset's settlements are settlements[settle_lo:settle_hi]
        ("settle_hi", "i8"),
        ("settle_next", "i8"),  # the next one to book (absolute index)
        ("mark_lo", "i8"),  # its mark prices: marks[mark_lo:mark_hi]
        ("mark_hi", "i8"),
        ("estimate_lo", "i8"),  # its estimates of the coming funding: estimates[estimate_lo:estimate_hi]
        ("estimate_hi", "i8"),
    ],
    align=True,
)
"""Where one asset's part of the funding tape is (one record per asset ``2 * symbol + venue``). The
tape is ``(index, settlements, marks, estimates)``: this index and three record arrays, each asset's
rows in local time order."""

SETTLEMENT_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # local time the account books it
        ("funding_ts", "i8"),  # the venue's funding time
        ("rate", "f8"),  # positive: longs pay shorts
        ("mark", "f8"),  # the price to value the position at (NaN: the last mark price, else the mid)
    ],
    align=True,
)
"""One funding settlement on the backtest's tape."""

MARK_DTYPE = np.dtype([("ts", "i8"), ("px", "f8")], align=True)
"""A perpetual's mark price from local time ``ts`` on."""

ESTIMATE_DTYPE = np.dtype([("ts", "i8"), ("rate", "f8"), ("next_ns", "i8")], align=True)
"""The venue's estimate of the coming funding from local time ``ts`` on: its rate and funding time."""


def new_symbols(n_symbols: int) -> np.ndarray[Any, np.dtype[Any]]:
    """Fresh records for ``n_symbols`` symbols: empty views (no levels, out of sync), a fresh kernel
    state (pair ids from 1), no position, no mid or mark price yet."""
    syms = np.zeros(n_symbols, SYMBOL_DTYPE)
    views = syms["view"]
    for field in ("bid_px", "ask_px", "mark_px"):
        views[field] = np.nan
    views["status"] = VENUE_OUT_OF_SYNC
    kernel = syms["kernel"]
    kernel["next_pair_id"] = 1
    kernel["last_buy_venue"] = -1
    kernel["last_sell_venue"] = -1
    kernel["last_pair_id"] = -1
    kernel["last_pair_ns"] = np.iinfo(np.int64).min // 2
    account = syms["account"]
    account["last_mid"] = np.nan
    account["mark"] = np.nan
    return syms


def new_run(init_quote: Any, stale_after_ns: int, halted: int = 0) -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh run record (one-element array): no drawdown peak and no risk day yet, ``halted`` a halt
    carried over from an earlier run, order and pair ids from 1."""
    run = np.zeros(1, RUN_DTYPE)
    risk = run["risk"]
    risk["peak_equity"] = -np.inf
    risk["day"] = -1
    risk["halted"] = halted
    counters = run["counters"]
    counters["next_order_id"] = 1
    counters["next_pair_id"] = 1
    run["init_quote"][0] = init_quote
    run["stale_after_ns"] = stale_after_ns
    return run


# -- one body for separate arrays and for symbol records ----------------------------------------------
#
# The gate's compiled code reads every symbol's view, limits, gate state and PnL. Its public entry
# points take them as separate arrays (``views[s]``, ``limits[s]``, ``sstate[s]``, ``pnl_sym[s]``); the
# drivers hand it their symbol records (``syms[s]["view"]``, ...). These accessors give the same body
# either: each resolves, when compiled, to the one indexing its argument's type needs.


def _has(container: Any, name: str) -> bool:
    dtype = getattr(container, "dtype", None)
    return isinstance(dtype, types.Record) and name in dtype.fields


def view_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s view (both venues): ``views[s]``, or ``syms[s]["view"]``."""
    return container[s]["view"] if container.dtype.names and "view" in container.dtype.names else container[s]


def limits_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s limits: ``limits[s]``, or ``syms[s]["limits"]``."""
    return container[s]["limits"] if container.dtype.names and "limits" in container.dtype.names else container[s]


def risk_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s gate state: ``sstate[s]``, or ``syms[s]["risk"]``."""
    return container[s]["risk"] if container.dtype.names and "risk" in container.dtype.names else container[s]


def pnl_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s trading PnL: ``pnl_sym[s]``, or ``syms[s]["pnl"]``."""
    return container[s]["pnl"] if container.dtype.names and "pnl" in container.dtype.names else container[s]


def _field_or_item(name: str) -> Any:
    # Numba compares the typer's parameters with the implementation's, annotations included.
    def typer(container: Any, s: Any) -> Any:
        def field(container: Any, s: Any) -> Any:
            return container[s][name]

        def item(container: Any, s: Any) -> Any:
            return container[s]

        return field if _has(container, name) else item

    return typer


for _fn, _name in ((view_row, "view"), (limits_row, "limits"), (risk_row, "risk"), (pnl_row, "pnl")):
    overload(_fn, jit_options={"nogil": True})(_field_or_item(_name))
