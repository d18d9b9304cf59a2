"""The kernel's boundary: numpy record layouts for its view, parameters, state and intents, and the
fills and equity samples every driver records.

Everything the strategy reads or writes is one of these arrays, so the same compiled function runs
inside the backtest's Numba loop and after each batch of the live driver. Field names carry units:
``_ns`` int64 nanoseconds, ``_bps`` basis points, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

__all__ = [
    "BROKEN_COUNT",
    "BROKEN_KIND",
    "BROKEN_PAIR",
    "BROKEN_PRICE",
    "BROKEN_QTY",
    "BROKEN_RAISED",
    "BROKEN_SIDE",
    "BROKEN_VENUE",
    "BUY",
    "CONTRACT_BROKEN",
    "FILL_DTYPE",
    "FUNDING_DTYPE",
    "HEDGE_FAILED",
    "INTENT_CANCEL",
    "INTENT_DTYPE",
    "INTENT_HEDGE",
    "INTENT_OPEN",
    "INTENT_QUOTE",
    "INTENT_UNWIND",
    "KIND_NAMES",
    "MARKET_LINEAR",
    "MARKET_SPOT",
    "MAX_INTENTS",
    "MAX_LEVELS",
    "MAX_VENUES",
    "PARAMS_DTYPE",
    "QUOTE_CANCELING",
    "QUOTE_HELD",
    "QUOTE_LIVE",
    "QUOTE_NONE",
    "QUOTE_PENDING",
    "RULES_DTYPE",
    "SELL",
    "SENT_DTYPE",
    "STATE_DTYPE",
    "STYLE_MAKER_TAKER",
    "STYLE_TAKER",
    "TRANSFER_DTYPE",
    "VENUE_OK",
    "VENUE_OUT_OF_SYNC",
    "VENUE_STALE",
    "VIEW_DTYPE",
    "decision_dtype",
    "equity_dtype",
    "kernel_figures",
    "narrow_venues",
    "new_intents",
    "new_state",
    "new_view",
    "new_views",
]

import functools
from typing import Any

import numpy as np

from arb.events import MAX_VENUES

MAX_LEVELS = 50
"""Levels per side the view can hold; ``params.book_levels`` says how many the kernel reads."""

MAX_INTENTS = 2 * MAX_LEVELS + 4
"""One intent per book level per leg, plus hedges."""

# Sides, as hftbacktest numbers them (BUY 1, SELL -1).
BUY = 1
SELL = -1

# Venue status in the view.
VENUE_OK = 0
VENUE_STALE = 1
"""No depth update for ``stale_after`` while connected."""
VENUE_OUT_OF_SYNC = 2
"""The book lost continuity (or was never synced): empty, or not the venue's."""

MARKET_SPOT = 0
MARKET_LINEAR = 1

# What an intent is for.
INTENT_OPEN = 1
"""A leg of a new arbitrage pair."""
INTENT_HEDGE = 2
"""Completes a pair whose other leg filled alone (on the venue that did not fill)."""
INTENT_UNWIND = 3
"""Reverses a leg that filled alone (on the venue that filled)."""
INTENT_QUOTE = 4
"""A post-only limit order that rests (good till cancelled): the maker leg of the ``maker_taker`` style."""
INTENT_CANCEL = 5
"""Cancel the resting quote of ``venue`` on ``side`` (its price and quantity are the quote's, for the log)."""
KIND_NAMES = {INTENT_OPEN: "open", INTENT_HEDGE: "hedge", INTENT_UNWIND: "unwind", INTENT_QUOTE: "quote"}
"""A fill's intent kind by name, as trades.csv, orders.csv and the paper account's fills.csv write it."""

# Trading styles (``params.style``).
STYLE_TAKER = 0
"""Both legs of a pair take liquidity (immediate-or-cancel orders)."""
STYLE_MAKER_TAKER = 1
"""A post-only quote rests on one venue; each of its fills is hedged on the other at once."""

# A quote slot's state in the view (``quote_state[side index]``: 0 the buy quote, 1 the sell quote).
QUOTE_NONE = 0
"""No quote: a new one may be sent."""
QUOTE_PENDING = 1
"""Sent, not yet acknowledged by the venue."""
QUOTE_LIVE = 2
"""Resting on the venue's book (``quote_qty`` is what is left of it)."""
QUOTE_CANCELING = 3
"""A cancel was sent and not yet answered: the quote may still fill."""
QUOTE_HELD = 4
"""The last quote of the slot was refused (a post-only order that would have taken, or any refusal): no
order rests, and the side is held back until the view shows a book the refused quote would cross (it
has caught up with what refused it), or the params' ``quote_hold_ns`` (``[strategy] quote_hold_ms``)
passed since the refusal (``quote_px`` is the refused price, ``quote_ns`` when the refusal came), so
the same crossing quote is not sent again and again on a view that lags the venue. (A book change alone
proves nothing: frames older than the refusal may still be on their way.)"""

# state.flags bits
HEDGE_FAILED = 1
"""Hedge or unwind attempts exceeded ``max_hedge_attempts``; the driver alerts."""
CONTRACT_BROKEN = 2
"""The strategy wrote an intent that breaks its contract (``state.broken``: which rule, ``BROKEN_*``); nothing
of that decision was sent, and the symbol sends nothing new until a person looks (a lone leg is still
hedged). The driver halts (``arb live``, the dry run) or ends in an error (the backtest), naming the
strategy."""

# What broke the contract (``state.broken``).
BROKEN_COUNT = 1
"""It returned a count below 0 or above its intents buffer."""
BROKEN_VENUE = 2
"""An intent's venue is not one of the run's."""
BROKEN_SIDE = 3
"""An intent's side is neither ``BUY`` nor ``SELL``."""
BROKEN_KIND = 4
"""An intent's kind is not one a strategy may write (``INTENT_OPEN``, ``INTENT_QUOTE``, ``INTENT_CANCEL``)."""
BROKEN_PRICE = 5
"""An open or a quote whose price is not a positive finite number."""
BROKEN_QTY = 6
"""An open or a quote whose quantity is not a positive finite number."""
BROKEN_PAIR = 7
"""Open legs that are not a pair: one side only, or the buys and sells of unequal quantity."""
BROKEN_RAISED = 8
"""It raised an exception (set by the driver, which words it: the exception is Python's)."""

VIEW_DTYPE = np.dtype(
    [
        ("bid_px", "f8", (MAX_LEVELS,)),
        ("bid_qty", "f8", (MAX_LEVELS,)),
        ("ask_px", "f8", (MAX_LEVELS,)),
        ("ask_qty", "f8", (MAX_LEVELS,)),
        ("position", "f8"),  # base units bought minus sold since the start (linear: contracts x size)
        ("base_balance", "f8"),  # spot: base asset available to sell
        ("quote_balance", "f8"),  # spot: quote available to buy with; linear: cash
        ("open_orders", "i8"),  # orders sent and not yet answered
        ("book_exch_ts", "i8"),  # exchange time of the last book update applied
        ("book_local_ts", "i8"),  # local time it was applied
        ("status", "i8"),  # VENUE_OK / VENUE_STALE / VENUE_OUT_OF_SYNC
        ("mark_px", "f8"),  # linear: the venue's last mark price (NaN: none yet; spot: NaN)
        ("funding_rate", "f8"),  # linear: the venue's estimate of the coming funding's rate (0: none)
        ("next_funding_ns", "i8"),  # linear: when that funding is, exchange time (0: unknown)
        ("funding_interval_ns", "i8"),  # linear: the symbol's time between two fundings (0: unknown, the params')
        ("blocked_until_ns", "i8"),  # local time until which the executor refuses orders here (0: none)
        ("quote_state", "i8", (2,)),  # our quotes here, [buy, sell]: QUOTE_NONE / _PENDING / _LIVE / _CANCELING / _HELD
        ("quote_px", "f8", (2,)),  # their limit prices (NaN: none)
        ("quote_qty", "f8", (2,)),  # what is left of them to fill
        ("quote_ns", "i8", (2,)),  # local time each was sent
    ],
    align=True,
)
"""One venue's view; the kernel gets an array of one per venue of the run (index = the venue's number:
its place in ``[strategy] venues``).

Whether a venue can take an order now is read from it: ``status`` (its book is synced and fresh),
``blocked_until_ns`` (the live executor holds orders back from it: a rate limit, a used-up request
weight, a ban; the backtest and the paper executor never block a venue, so theirs stays 0) and, for
the order's side, ``base_balance``/``quote_balance`` on spot.

``open_orders`` counts immediate-or-cancel orders only (a pair's legs, hedges, unwinds); the resting
quotes of the ``maker_taker`` style are in ``quote_*`` (index 0 the buy quote, 1 the sell quote), so a
quote that rests does not hold the kernel back, while a quote sent or cancelled and not yet answered
holds back that one slot."""

RULES_DTYPE = np.dtype(
    [
        ("min_spread_bps", "f8"),
        ("slippage_bps", "f8"),
        ("max_order_size", "f8"),
        ("max_position_size", "f8"),  # |position| per venue
        ("position_limit", "f8"),  # |the net position over the venues|
        ("rebalance_threshold", "f8"),  # |position(buy venue) - position(sell venue)| at which pairs lean back
        ("book_levels", "i8"),
        ("cooldown_ns", "i8"),
        ("hedge_unwind", "i8"),  # 0: hedge a lone leg on another venue; 1: unwind it where it filled
        ("max_hedge_attempts", "i8"),
        ("hedge_retry_ns", "i8"),  # past max_hedge_attempts: one attempt per this interval
        ("stop_loss_bps", "f8"),  # the widest a hedge's limit price may go
        ("taker_fee", "f8", (MAX_VENUES,)),  # fraction of traded value
        ("tick_size", "f8", (MAX_VENUES,)),
        ("lot_size", "f8", (MAX_VENUES,)),
        ("min_qty", "f8", (MAX_VENUES,)),
        ("min_notional", "f8", (MAX_VENUES,)),
        ("market", "i8", (MAX_VENUES,)),  # MARKET_SPOT / MARKET_LINEAR
        ("funding_horizon_ns", "i8"),  # the entry rule weighs the funding expected this long; 0: off
        ("close_before_funding_ns", "i8"),  # lean back to balance this long before an adverse funding; 0: off
        ("funding_interval_ns", "i8", (MAX_VENUES,)),  # linear: the time between two fundings while the view knows none
        ("style", "i8"),  # STYLE_TAKER / STYLE_MAKER_TAKER: ``quotes`` under its earlier name (kept for strategies)
        ("maker_fee", "f8", (MAX_VENUES,)),  # fraction of traded value (negative: a rebate)
        ("maker_venues", "i8"),  # maker_taker: bit v set if venue v may quote
        ("quote_size", "f8"),  # maker_taker: a quote's quantity before the caps
        ("quote_tolerance_bps", "f8"),  # maker_taker: a quote is re-priced when its target moves further
        ("min_quote_life_ns", "i8"),  # maker_taker: no re-pricing of a quote younger than this
        ("quote_hold_ns", "i8"),  # maker_taker: the longest a refused quote holds its side back
        ("pair_lot", "f8"),  # a pair's quantity grid: the least common multiple of every venue's lot
        ("inventory_skew_bps", "f8"),  # entry threshold moved per unit of inventory imbalance; 0: off
        ("quotes", "i8"),  # 1: the symbol's strategy quotes (its ``quotes``): the drivers keep quote slots for it
    ],
    align=True,
)
"""arb's rules (one record per symbol; every strategy's ``rules``): what arb knows of the venues (fees, grids,
minimums, markets, funding intervals, ``pair_lot``) and the settings arb itself applies to every strategy
(``slippage_bps``, ``book_levels``, ``cooldown_ns``, ``position_limit``, the hedge's, ``quote_hold_ns``,
``style``: whether the symbol's strategy quotes). A per-venue field holds ``MAX_VENUES`` values, the venue's
number the index; those past the run's venues are 0.

``min_spread_bps``, ``max_order_size``, ``max_position_size``, ``rebalance_threshold``,
``funding_horizon_ns``, ``close_before_funding_ns``, ``inventory_skew_bps``, ``quote_size``,
``quote_tolerance_bps``, ``min_quote_life_ns`` and ``maker_venues`` are the built-in strategies' settings as
``[strategy]`` gives them: the built-ins read them from their own parameters
(:class:`arb.strategies.taker.TakerParams`, :class:`arb.strategies.maker_taker.MakerTakerParams`); they stay
here, filled, for strategies written against earlier versions that read them from ``rules``."""

PARAMS_DTYPE = RULES_DTYPE
""":data:`RULES_DTYPE` under its earlier name (the same object), for code written before it was renamed."""

STATE_DTYPE = np.dtype(
    [
        ("next_pair_id", "i8"),
        ("last_pair_ns", "i8"),
        ("last_buy_venue", "i8"),
        ("last_sell_venue", "i8"),
        ("last_pair_id", "i8"),
        ("hedge_attempts", "i8"),
        ("last_hedge_ns", "i8"),  # when the last hedge or unwind was sent
        ("hedge_venue", "i8"),  # where it was sent
        ("hedge_book_ns", "i8"),  # the time of that venue's book it was priced on (book_local_ts)
        ("pairs", "i8"),  # pairs sent
        ("hedges", "i8"),  # hedge or unwind intents sent
        ("flags", "i8"),
        ("quote_pair", "i8", (MAX_VENUES, 2)),  # maker_taker: the pair id of each quote slot [venue, buy/sell]
        ("flat_position", "f8", (MAX_VENUES,)),  # maker_taker: each venue's position when the net was last flat
        ("quotes", "i8"),  # maker_taker: quotes sent
        ("cancels", "i8"),  # maker_taker: cancels sent
        ("last_open_kind", "i8"),  # INTENT_OPEN or INTENT_QUOTE: what the symbol last opened (0: nothing yet)
        ("refused", "i8"),  # intents the guard refused (a venue that cannot take orders, a busy quote slot, ...)
        ("broken", "i8"),  # CONTRACT_BROKEN: which rule (BROKEN_*)
        ("broken_ns", "i8"),  # when
        ("broken_index", "i8"),  # the intent's place in the strategy's buffer (-1: the count itself)
        ("broken_count", "i8"),  # the count the strategy returned
        ("broken_venue", "i8"),  # the offending intent's fields as the strategy wrote them
        ("broken_side", "i8"),
        ("broken_kind", "i8"),
        ("broken_price", "f8"),
        ("broken_qty", "f8"),
    ],
    align=True,
)
"""What the framework remembers of a symbol between calls (one record, updated in place): pair ids, the
lone-leg hedge's attempts, the quote slots' pair ids, counters and flags. A strategy's own memory is a
record of its own (:class:`arb.strategy.seam.Strategy`)."""

INTENT_DTYPE = np.dtype(
    [
        ("venue", "i8"),
        ("side", "i8"),  # BUY / SELL
        ("price", "f8"),  # limit price, on the venue's tick grid
        ("qty", "f8"),  # on the venue's lot grid
        ("kind", "i8"),  # INTENT_OPEN / INTENT_HEDGE / INTENT_UNWIND / INTENT_QUOTE / INTENT_CANCEL
        ("pair_id", "i8"),
        ("level", "i8"),  # book level the quantity was sized from (0 = best)
    ],
    align=True,
)
"""An order the kernel wants sent: immediate-or-cancel, limit ``price``; a quote (``INTENT_QUOTE``) is a
post-only limit order that rests; a cancel (``INTENT_CANCEL``) withdraws the quote of its venue and side."""

FILL_DTYPE = np.dtype(
    [
        ("local_ts", "i8"),  # when the fill was known locally
        ("exch_ts", "i8"),  # when the venue filled it
        ("venue", "i8"),
        ("side", "i8"),
        ("price", "f8"),
        ("qty", "f8"),
        ("fee", "f8"),  # quote currency
        ("pair_id", "i8"),
        ("kind", "i8"),  # the intent kind that sent the order
        ("order_id", "i8"),
        ("symbol", "i8"),  # the symbol's number in [strategy] symbols
    ],
    align=True,
)
"""One fill as every driver records it (trades.csv has one row per fill)."""

FUNDING_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # local time the account booked it
        ("funding_ts", "i8"),  # the venue's funding time it settles
        ("venue", "i8"),
        ("symbol", "i8"),
        ("rate", "f8"),  # fraction of the notional per funding interval; positive: longs pay shorts
        ("mark", "f8"),  # the price the position was valued at (the venue's mark price, else the mid)
        ("position", "f8"),  # base units held on the venue then (linear: contracts x size)
        ("payment", "f8"),  # quote currency: > 0 received, < 0 paid (-position x mark x rate)
    ],
    align=True,
)
"""One funding payment of a perpetual position, as every driver books it (its own line, beside the fills)."""

TRANSFER_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # local time it was sent (the amount and the fee left the sending venue)
        ("arrive_ts", "i8"),  # local time it reached the other venue's balance; -1: still on its way
        ("symbol", "i8"),  # the symbol whose base moved; the quote (one balance a venue): 0
        ("asset", "i8"),  # 0: the symbol's base, 1: the quote
        ("from_venue", "i8"),
        ("to_venue", "i8"),
        ("amount", "f8"),  # what reaches the other venue, in the asset's units
        ("fee", "f8"),  # what the sending venue paid on top, in the asset's units
        ("fee_quote", "f8"),  # the fee valued in quote when paid (a base fee at the sending venue's mid)
    ],
    align=True,
)
"""One transfer of inventory between the venues (a backtest's ``[backtest] transfer_policy``; transfers.csv
has one row per transfer)."""


@functools.cache
def equity_dtype(n_venues: int) -> np.dtype[Any]:
    """The equity samples' row for a run of ``n_venues`` venues (the per-venue fields hold one value per
    venue, the venue's number the index). The same object for the same number, so compiled code finds its
    machine code by it without comparing fields.

    A row is one sample of the portfolio, taken at a fixed interval of local time: one row per symbol at
    each sample time. Its ``equity_venue`` is the symbol's part of the account on each venue: its cash
    flows and its holdings at its mids, plus, in the first symbol's row, the venues' starting quote; so
    the rows of one time add up to the account (``arb.reports.valuation.account_equity``). With one
    symbol, one row a sample: the account. ``price`` is what each venue's holdings were valued at: on a
    linear venue the mark price once its stream gave one, else (and on spot) the mid; 0 in rows written
    before it existed (read: the mid). The spread between two venues is read from their mids."""
    return np.dtype(
        [
            ("ts", "i8"),  # local time
            ("equity", "f8"),  # every venue: quote + base x mid - fees, quote currency
            ("equity_venue", "f8", (n_venues,)),
            ("position", "f8", (n_venues,)),
            ("mid", "f8", (n_venues,)),
            ("symbol", "i8"),  # whose position and mids these are
            ("price", "f8", (n_venues,)),  # what the holdings were valued at: a perpetual's mark, else the mid
        ],
        align=True,
    )


def narrow_venues(rows: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """``rows`` of a log written with ``MAX_VENUES`` columns a venue field (``equity_dtype(MAX_VENUES)``,
    ``decision_dtype(MAX_VENUES)``: what compiled code writes, one variant for every venue count) as a
    new array of ``dtype``, the same log for the run's venues (``equity_dtype(n)``, ``decision_dtype(n)``):
    each per-venue field's first ``n`` columns."""
    out = np.zeros(len(rows), dtype)
    for name in dtype.names or ():
        width = out[name].shape[1:]
        out[name] = rows[name][(slice(None), *(slice(0, k) for k in width))]
    return out


@functools.cache
def decision_dtype(n_venues: int) -> np.dtype[Any]:
    """One kernel call as a driver logs it, for parity checks: what the kernel saw of each of the run's
    ``n_venues`` venues and how many intents it sent. The same object for the same number."""
    return np.dtype(
        [
            ("ts", "i8"),  # local time of the kernel call
            ("bid", "f8", (n_venues,)),  # best bid per venue as the kernel saw it
            ("ask", "f8", (n_venues,)),
            ("position", "f8", (n_venues,)),
            ("status", "i8", (n_venues,)),
            ("open_orders", "i8", (n_venues,)),
            ("intents", "i8"),  # intents that passed the risk gate
            ("symbol", "i8"),  # whose kernel was called
        ],
        align=True,
    )


SENT_DTYPE = np.dtype(
    [
        ("ts", "i8"),  # local time the intent was sent
        ("venue", "i8"),
        ("side", "i8"),
        ("price", "f8"),
        ("qty", "f8"),
        ("kind", "i8"),
        ("pair_id", "i8"),
        ("level", "i8"),
        ("fault", "i8"),  # the leg fault the simulated venue drew for it (arb.execution.leg_faults; 0 none)
        ("symbol", "i8"),
    ],
    align=True,
)
"""An intent as sent: ``INTENT_DTYPE``'s fields after the local time it was sent, then its leg fault."""


def kernel_figures(state: Any, quotes: int, memory: Any = None) -> dict[str, int]:
    """A symbol's kernel state (one ``STATE_DTYPE`` record) as a report shows it: its counters and
    scalars by name; the quotes' counters (``quotes``, ``cancels``) only for a strategy that quotes
    (``quotes`` 1: the rules' field) or when they counted something, the contract's fields only when it
    broke (``broken``), and no per-slot array. ``memory``: the strategy's own record (its whole-number
    scalars are added by name, where no name of the framework's is the same)."""
    maker_only = ("quotes", "cancels")
    broken = int(state["broken"]) if "broken" in (state.dtype.names or ()) else 0
    names = state.dtype.names or ()
    figures = {
        name: int(state[name])
        for name in names
        if state.dtype[name].shape == ()
        and state.dtype[name].kind in "iu"
        and name != "last_open_kind"
        and (broken or not name.startswith("broken"))
        and (quotes or name not in maker_only or int(state[name]) != 0)
    }
    if memory is not None:
        for name in memory.dtype.names or ():
            kind_ok = memory.dtype[name].shape == () and memory.dtype[name].kind in "iu"
            if kind_ok and not name.startswith("_") and name not in figures:
                figures[name] = int(memory[name])
    return figures


def new_view(n_venues: int = 2) -> np.ndarray[Any, np.dtype[Any]]:
    """An empty view of ``n_venues`` venues (no levels, status out of sync)."""
    view: np.ndarray[Any, np.dtype[Any]] = new_views(1, n_venues)[0]
    return view


def new_views(n_symbols: int, n_venues: int = 2) -> np.ndarray[Any, np.dtype[Any]]:
    """Empty views of the run's ``n_venues`` venues for each symbol: shape ``(n_symbols, n_venues)``;
    ``views[s]`` is symbol ``s``'s view, what its kernel call reads."""
    if not 2 <= n_venues <= MAX_VENUES:
        raise ValueError(f"expected 2 to {MAX_VENUES} venues, got {n_venues}")
    views = np.zeros((n_symbols, n_venues), VIEW_DTYPE)
    for field in ("bid_px", "ask_px", "mark_px"):
        views[field] = np.nan
    views["status"] = VENUE_OUT_OF_SYNC
    views["quote_px"] = np.nan
    return views


def new_state(n_symbols: int = 1) -> np.ndarray[Any, np.dtype[Any]]:
    """A fresh kernel state per symbol (pair ids start at 1); ``state[s:s + 1]`` is symbol ``s``'s."""
    state = np.zeros(n_symbols, STATE_DTYPE)
    state["next_pair_id"] = 1
    state["last_buy_venue"] = -1
    state["last_sell_venue"] = -1
    state["last_pair_id"] = -1
    state["last_pair_ns"] = np.iinfo(np.int64).min // 2
    return state


def new_intents(n_symbols: int | None = None) -> np.ndarray[Any, np.dtype[Any]]:
    """A buffer for the kernel's intents; with ``n_symbols``, one row of buffers per symbol."""
    if n_symbols is None:
        return np.zeros(MAX_INTENTS, INTENT_DTYPE)
    return np.zeros((n_symbols, MAX_INTENTS), INTENT_DTYPE)
