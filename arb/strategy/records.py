"""The risk gate's records: its limits, the account's gate state and each symbol's.

The kernel's boundary (view, parameters, kernel state, intents, and the logs' rows) is in
:mod:`arb.strategy.types`; the gate's compiled checks, which read and write these records, are in
:mod:`arb.strategy.gate`.

Arrays of these records are handed to compiled code with the module's dtype objects themselves
(``limits.dtype is RISK_DTYPE``): Numba finds a compiled function by its arguments' types, and an
equal but distinct structured dtype costs a comparison of every field at each call.

Units as everywhere: ``_ns`` int64 nanoseconds, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

__all__ = [
    "BACKTEST_RUN_DTYPE",
    "EVENTS_KEPT",
    "MAX_PAIRS_TRACKED",
    "N_BREACHES",
    "RISK_DTYPE",
    "RISK_STATE_DTYPE",
    "SYMBOL_RISK_DTYPE",
    "limits_row",
    "pnl_row",
    "risk_row",
    "view_row",
]

from typing import Any

import numpy as np

from arb._jit import plain
from arb.events import MAX_VENUES

MAX_PAIRS_TRACKED = 4096
"""``max_pairs_per_day`` above this is refused by the configuration check."""
N_BREACHES = 16
"""Refusal codes of the gate (``arb.strategy.gate.B_*``), the size of its per-code counters."""
EVENTS_KEPT = 64
"""Events the gate's ring holds between two drains."""

RISK_DTYPE = np.dtype(
    [
        ("position_limit", "f8"),  # the symbol's |net position over the venues|, base units
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
        ("leverage", "f8", (MAX_VENUES,)),  # per venue; 0: a spot venue (no margin)
        ("maintenance_rate", "f8", (MAX_VENUES,)),  # per venue: maintenance margin, fraction of position value
        ("isolated", "i8", (MAX_VENUES,)),  # per venue: 1 for isolated margin, 0 cross
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
        ("unknown", "i8", (MAX_VENUES,)),  # orders of unknown outcome per venue (the drivers set it)
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
        ("last_pair_id", "i8"),  # the pair id it last counted (a taker pair's legs, a maker pair's hedge)
    ],
    align=True,
)
"""One symbol's gate state (one record per symbol)."""

BACKTEST_RUN_DTYPE = np.dtype(
    [
        ("end_ns", "i8"),  # local time the data ends
        ("n_venues", "i8"),  # the run's venues: asset a is symbol a // n_venues on venue a % n_venues
        ("stale_after_ns", "i8"),  # a book older than this is stale
        ("equity_interval_ns", "i8"),  # between two equity samples
        ("request_timeout_ns", "i8"),  # an order unanswered this long counts as unknown
        ("init_quote", "f8", (MAX_VENUES,)),  # per venue: the quote balance at the start
        ("maker_fee", "f8", (MAX_VENUES,)),  # per venue: fraction of the traded value
        ("taker_fee", "f8", (MAX_VENUES,)),
        ("entry_ns", "i8", (MAX_VENUES,)),  # per venue: order entry latency
        ("response_ns", "i8", (MAX_VENUES,)),  # per venue: order response latency
        ("transfer_policy", "i8"),  # TRANSFER_NONE / TRANSFER_THRESHOLD (arb.backtest.transfers)
        ("transfer_threshold", "f8"),  # a venue's share of an asset below which another sends it more
        ("transfer_fee", "f8", (2,)),  # per asset (0 a symbol's base, 1 the quote): one transfer's fee
        ("transfer_delay_ns", "i8", (2,)),  # per asset: how long a transfer takes to arrive
    ],
    align=True,
)
"""The backtest loop's settings for one run (one record): what stays the same from its start to its end."""

# -- one body for separate arrays and for per-symbol records ------------------------------------------
#
# The gate's compiled code reads every symbol's view, limits, gate state and PnL. The drivers hand them
# as separate arrays (``views[s]``, ``limits[s]``, ``symbol_state[s]``, ``pnl_sym[s]``); a driver that keeps
# one record per symbol holding them as fields ``view``, ``limits``, ``risk`` and ``pnl`` may hand those
# instead (``syms[s]["view"]``, ...). These accessors give the same body either: each resolves, when
# compiled, to the one indexing its argument's type needs.


def _has(container: Any, name: str) -> bool:
    from numba.core import types

    dtype = getattr(container, "dtype", None)
    return isinstance(dtype, types.Record) and name in dtype.fields


def view_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s view (every venue): ``views[s]``, or ``syms[s]["view"]``."""
    return container[s]["view"] if container.dtype.names and "view" in container.dtype.names else container[s]


def limits_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s limits: ``limits[s]``, or ``syms[s]["limits"]``."""
    return container[s]["limits"] if container.dtype.names and "limits" in container.dtype.names else container[s]


def risk_row(container: Any, s: int) -> Any:
    """Symbol ``s``'s gate state: ``symbol_state[s]``, or ``syms[s]["risk"]``."""
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


if not plain():  # compiled code reads them through these; plain Python calls the functions above
    from numba.extending import overload

    for _fn, _name in ((view_row, "view"), (limits_row, "limits"), (risk_row, "risk"), (pnl_row, "pnl")):
        overload(_fn, jit_options={"nogil": True})(_field_or_item(_name))
