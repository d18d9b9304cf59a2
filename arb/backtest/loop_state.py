"""The compiled loop's state, as named records: what each of ``_run_loop``'s arguments holds, by name.

Numba takes a ``typing.NamedTuple`` as it takes a tuple (same layout, same speed) and compiles attribute
access to a field to the same load as an index, so the loop reads ``perp.mark`` where it once read
``perp[9]``; the kernel's and the gate's records are :mod:`arb.strategy.state`'s, the live engine's too.
:class:`arb.backtest.run.Loop` builds them; ``_run_loop`` and its helpers
(:mod:`arb.backtest.compiled_loop`, :mod:`arb.backtest.hbt_orders`, :mod:`arb.backtest.hbt_quotes`) read them.
Arrays are NumPy arrays (int64 ns times, float64 prices and quantities); "per asset" means asset
``a = n_venues * symbol + venue``; ``off`` arrays are the offsets of each asset's rows in the ragged array before
them (asset ``a``'s rows are ``[off[a], off[a + 1])``).

What a run does not use is handed to the loop as something else, by type, so that a first run does not
compile it: ``None`` for the resting quotes (every symbol takes) and for the inventory (no transfer
policy), :class:`Marks` for :class:`Perp` (no funding settlement, mark price or estimate). Numba prunes
``if x is None`` and ``len(x)`` on a function's own arguments before it types the function, so the
helpers that take them compile to nothing for those types.
"""

from __future__ import annotations

__all__ = ["Account", "Inventory", "Marks", "Orders", "Outs", "Perp", "Run", "Symbols", "Tape"]

from typing import Any, NamedTuple

from arb.strategy.state import Kernel, Risk

Array = Any  # a NumPy array, as Numba types it


class Tape(NamedTuple):
    """The decision schedule (:class:`arb.backtest.run.Schedule`): when to decide and each book's changes."""

    decision_ts: Array
    """The decision times, local, in order."""
    decision_assets: Array
    """Per decision time, a bit per asset whose book changed then."""
    book_ts: Array
    """Per asset (ragged, ``book_off``), the local times its book changed."""
    book_off: Array
    sync_ts: Array
    """Per asset (ragged, ``sync_off``), the local times its sync state changed, and the state then."""
    sync_state: Array
    sync_off: Array


class Perp(NamedTuple):
    """The perpetuals' funding tape, per asset (spot assets have none), and what the loop booked."""

    fund_ts: Array
    """Settlements (ragged, ``fund_off``): the local time each is booked."""
    fund_off: Array
    fund_time: Array
    """The venue's funding time each settles."""
    fund_rate: Array
    fund_mark: Array
    """The mark price it settled at (NaN or 0: look it up in the mark prices)."""
    cursor: Array
    """Per asset, the next settlement to book."""
    mark_ts: Array
    """Mark prices (ragged, ``mark_off``): local times and prices."""
    mark_px: Array
    mark_off: Array
    mark: Array
    """Per (symbol, venue), the mark price now (NaN until a perpetual's stream gave one)."""
    paid: Array
    """Per (symbol, venue), the funding booked (received minus paid, quote)."""
    est_ts: Array
    """The venues' estimates of the coming funding (ragged, ``est_off``): local times, rates, funding times,
    funding intervals (0: unknown)."""
    est_rate: Array
    est_next: Array
    est_off: Array
    est_interval: Array


class Marks(NamedTuple):
    """:class:`Perp` in a run without any funding settlement, mark price or estimate: only what the loop
    reads of it anyway (the marks, NaN, and the funding booked, 0)."""

    mark: Array
    paid: Array


class Run(NamedTuple):
    """The run's settings and counters."""

    settings: Array
    """One ``BACKTEST_RUN_DTYPE`` record: end, stale-after, intervals, starting quote, fees, latencies."""
    counters: Array
    """The loop's int64 counters (``C_*`` of :mod:`arb.backtest.hbt_orders`): cursors, ids, rows written."""
    leg_faults: Array
    """One ``LEG_FAULTS_DTYPE`` record."""
    init_base: Array
    """Per (symbol, venue), the starting holdings."""
    last_mid: Array
    """Per (symbol, venue), the last mid seen."""
    price_decimals: Array
    """Per asset, the decimals of its tick (a fill's price is rounded to them)."""
    measured: Any
    """The venues' measured order latencies, ``(rows, offsets)`` (:func:`arb.backtest.taker_fills.latencies`)."""
    inventory: Any
    """What the transfer policy moved between the venues (:class:`Inventory`; None: no transfer policy)."""


class Inventory(NamedTuple):
    """The transfers between the venues (:mod:`arb.backtest.transfers`). An asset index is 0 for a symbol's
    base, 1 for the quote; the quote, one balance per venue shared by every symbol, is kept in symbol 0's
    row."""

    moved: Array
    """Per (symbol, venue, asset), what transfers added to the balance there (sent: negative, fee
    included; arrived: positive)."""
    transit: Array
    """Per (symbol, venue, asset), what is on its way there (0: nothing)."""
    due: Array
    """Per (symbol, venue, asset), the local time it arrives."""
    booked: Array
    """Per (symbol, asset), ``[transfers, fees paid (that asset's units), time in transit (ns)]``."""
    movable: Array
    """Per symbol, 1 when its base may move (spot on every venue; a linear venue holds no base)."""
    log: Array
    """Every transfer made, in order (``TRANSFER_DTYPE`` rows; the driver grows it when it fills up)."""
    logged: Array
    """``[rows of log written]``."""
    row: Array
    """Per (symbol, venue, asset), the row of ``log`` of what is on its way there."""
    fees: Array
    """Per (symbol, venue, asset), the fees the venue's transfers paid, in the asset's units."""


class Symbols(NamedTuple):
    """Every symbol's kernel, the risk gate and the views, as the shared step takes them."""

    kernel: Kernel
    """Every symbol's rules, state, intents and strategy (:func:`arb.strategy.guard.guarded_decide`)."""
    risk: Risk
    """The gate's limits, the account's gate state and each symbol's (:func:`arb.strategy.gate.gate`)."""
    views: Array
    """Per symbol, its kernel's view of every venue of the run."""
    step: tuple[int, int]
    """The shared step (:func:`arb.strategy.step.decide_symbol`) the loop calls by address:
    ``(address, key)`` of :func:`arb.backtest.step_call.step_of` (``(0, 0)``: none yet, the loop raises)."""


class Orders(NamedTuple):
    """The orders out, the resting quotes and what our orders took from the levels."""

    flight: Array
    """The taker orders on their way (``FLIGHT_DTYPE`` of :mod:`arb.backtest.taker_fills`; order id 0: a
    free slot)."""
    quotes: Any
    """The resting quotes' slots (:mod:`arb.strategy.quote_slots`; post-only orders sent to hftbacktest; None
    when no symbol quotes)."""
    taken: Array
    """What our orders took from each asset's levels (:func:`arb.execution.liquidity.new_taken`)."""
    own: Any
    """``(position, cash)`` per asset: what the taker fills moved (hftbacktest holds the quotes')."""


class Outs(NamedTuple):
    """The output buffers, written from the counters' positions on."""

    fills: Array
    equity: Array
    calls: Array
    sent: Array
    funding: Array


class Account(NamedTuple):
    """What the loop keeps of the account between decisions (rebuilt after each fill)."""

    cash: Array
    """Per (symbol, venue), quote received minus paid minus fees."""
    eq_venue: Array
    """Per (symbol, venue), the equity."""
    pnl_sym: Array
    """Per symbol, its PnL."""
    open_count: Array
    """Per asset, the orders out."""
    mark: Array
    """Per (symbol, venue), the mark price now (:attr:`Perp.mark`)."""
    seen: Array
    """Per asset, the last sync row (``seen[0, a]``) and book row (``seen[1, a]``) of the tape at or before
    the last decision (the asset's offset - 1 before its first): where the status lookups go on from."""
