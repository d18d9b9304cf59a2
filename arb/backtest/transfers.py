"""The backtest's transfer policy: inventory moved between the venues, with a fee and a delay.

A backtest model only (``[backtest] transfer_policy``): live transfers are ``arb rebalance``'s. With the
``threshold`` policy, at each decision point, when a venue's share of an asset (a symbol's base, on spot
venues, or the quote) falls below ``transfer_threshold`` of what every venue of the run holds, the venue
that holds the most sends it what evens the two of them out after the fee: the amount and the asset's fee
leave the sending venue's balance at once, the amount reaches the other venue's balance at the first
decision point at or after its delay, on the backtest's clock. One transfer of an asset is on its way at a
time. While on its way it counts in the receiving venue's equity (the account owns it), not in its balance
(it cannot be traded). Each transfer is logged as it is sent (``Inventory.log``, ``TRANSFER_DTYPE`` rows:
time, asset, venues, amount, fee) and its arrival time written when it arrives; the backtest writes them to
transfers.csv. Compiled helpers of :func:`arb.backtest.compiled_loop._run_loop`; the state is an
:class:`arb.backtest.loop_state.Inventory`.
"""

from __future__ import annotations

__all__ = [
    "ASSET_BASE",
    "ASSET_QUOTE",
    "B_COUNT",
    "B_FEE",
    "B_FEE_QUOTE",
    "B_TRANSIT_NS",
    "TRANSFER_NONE",
    "TRANSFER_THRESHOLD",
    "add_moved",
    "held_value",
    "log_full",
    "move_inventory",
    "moved_quote",
    "new_inventory",
]

from typing import Any

import numpy as np

from arb._alloc import zeros
from arb._jit import njit
from arb.backtest.loop_state import Inventory
from arb.strategy.types import TRANSFER_DTYPE

TRANSFER_NONE = 0
"""``transfer_policy = "none"``: inventory never moves."""
TRANSFER_THRESHOLD = 1
"""``transfer_policy = "threshold"``."""

ASSET_BASE = 0
ASSET_QUOTE = 1

# Columns of Inventory.booked, per (symbol, asset).
B_COUNT = 0  # transfers made
B_FEE = 1  # fees paid, in the asset's units
B_TRANSIT_NS = 2  # time in transit, summed over the transfers, ns
B_FEE_QUOTE = 3  # the fees valued in quote when paid (a base fee at the sending venue's mid)
N_BOOKED = 4


_LOG_ROWS = 256  # the transfer log's first size (grown by the driver, see log_full)


def new_inventory(movable: Any, n_venues: int) -> Inventory:
    """Nothing moved yet, for ``len(movable)`` symbols on ``n_venues`` venues (``movable[s]``: 1 when
    symbol ``s``'s base may move, spot on every venue)."""
    n = len(movable)
    per_venue = (n, n_venues, 2)
    return Inventory(np.zeros(per_venue), np.zeros(per_venue), np.zeros(per_venue, np.int64),
                     np.zeros((n, 2, N_BOOKED)), np.asarray(movable, np.int64), np.zeros(_LOG_ROWS, TRANSFER_DTYPE),
                     np.zeros(1, np.int64), np.zeros(per_venue, np.int64), np.zeros(per_venue))  # fmt: skip


@njit(cache=True, internal=True)
def log_full(inv: Any) -> bool:
    """True when ``inv.log`` may not take the transfers of one more decision point (one per symbol's base
    and one of the quote at most): the driver grows it and calls the loop again. ``inv`` None: a run
    without transfers (False; see :func:`move_inventory`)."""
    if inv is None:
        return False
    return bool(inv.logged[0] > inv.log.shape[0] - inv.movable.shape[0] - 1)


@njit(cache=True, internal=True)
def _credit(views: Any, s: int, v: int, asset: int, amount: float) -> None:
    # A change of venue v's balance of the asset into the views (the quote: every symbol's view of v).
    if asset == ASSET_BASE:
        views[s][v]["base_balance"] += amount
    else:
        for o in range(views.shape[0]):
            views[o][v]["quote_balance"] += amount


@njit(cache=True, twin=True)
def held_value(inv: Any, s: int, v: int, px: float) -> float:
    """What the transfers added to symbol ``s``'s part of venue ``v``'s equity, quote: its base moved or on
    its way there at ``px``, and in symbol 0's part the quote moved or on its way (``inv`` None: 0)."""
    if inv is None:
        return 0.0
    base = inv.moved[s, v, ASSET_BASE] + inv.transit[s, v, ASSET_BASE]
    quote = inv.moved[s, v, ASSET_QUOTE] + inv.transit[s, v, ASSET_QUOTE] if s == 0 else 0.0
    return float(base * px + quote)


@njit(cache=True, internal=True)
def add_moved(views: Any, inv: Any, s: int, v: int) -> None:
    """What the transfers moved to or from venue ``v`` into symbol ``s``'s view of it: its base balance, and
    the quote balance (the venue's, every symbol's cash on it) by what moved of the quote (``inv`` None:
    nothing)."""
    if inv is None:
        return
    views[s][v]["base_balance"] += inv.moved[s, v, ASSET_BASE]
    views[s][v]["quote_balance"] += inv.moved[0, v, ASSET_QUOTE]


@njit(cache=True, internal=True)
def moved_quote(inv: Any, v: int) -> float:
    """The quote the transfers moved to (or from) venue ``v`` so far (``inv`` None: 0)."""
    if inv is None:
        return 0.0
    return float(inv.moved[0, v, ASSET_QUOTE])


@njit(cache=True, twin=True)
def move_inventory(now: int, views: Any, settings: Any, inv: Any) -> None:
    """At a decision point at local time ``now``, with the views' balances current: the transfers due
    by now arrive, then (``threshold`` policy) a venue short of an asset is sent what evens it and the
    venue holding the most out. Balances change in the views; ``inv`` books it. ``settings``: the run's
    ``BACKTEST_RUN_DTYPE`` record (one-element array).

    ``inv`` None: a run without transfers (``transfer_policy = "none"``), nothing to do. The loop is handed
    None then, and Numba prunes the bodies of this module's functions for that type: a first backtest
    without transfers does not compile them."""
    if inv is None:
        return
    cfg = settings[0]
    moved, transit, due, _, movable, log, _, row, _ = inv
    n_sym, n_venues = views.shape
    for s in range(n_sym):
        for v in range(n_venues):
            for asset in range(2):
                if transit[s, v, asset] > 0.0 and due[s, v, asset] <= now:
                    amount = transit[s, v, asset]
                    transit[s, v, asset] = 0.0
                    moved[s, v, asset] += amount
                    _credit(views, s, v, asset, amount)
                    log[row[s, v, asset]]["arrive_ts"] = now
    if cfg["transfer_policy"] != TRANSFER_THRESHOLD:
        return
    threshold = cfg["transfer_threshold"]
    held = zeros(n_venues, np.float64)
    for s in range(n_sym):
        for asset in range(2):
            if (asset == ASSET_BASE and movable[s] == 0) or (asset == ASSET_QUOTE and s > 0):
                continue
            if _on_its_way(transit, s, asset):
                continue  # one transfer of an asset at a time
            for v in range(n_venues):
                held[v] = views[s][v]["base_balance"] if asset == ASSET_BASE else views[s][v]["quote_balance"]
            total = held[0]
            for v in range(1, n_venues):
                total = total + held[v]
            if not total > 0.0:
                continue
            for v in range(n_venues):
                short = held[v]
                if short / total >= threshold:
                    continue
                o = _richest(held, v)
                if _send(now, views, cfg, inv, (s, asset, o, v), held[o] - short):
                    break


@njit(cache=True, internal=True)
def _on_its_way(transit: Any, s: int, asset: int) -> bool:
    # Whether a transfer of symbol s's asset is on its way to any venue.
    for v in range(transit.shape[1]):  # noqa: SIM110 - a generator in any() does not compile in nopython mode
        if transit[s, v, asset] > 0.0:
            return True
    return False


@njit(cache=True, internal=True)
def _richest(held: Any, v: int) -> int:
    # The venue other than v holding the most (the lower number on a tie).
    best = -1
    for o in range(held.shape[0]):
        if o != v and (best < 0 or held[o] > held[best]):
            best = o
    return best


@njit(cache=True)
def _send(now: int, views: Any, cfg: Any, inv: Any, move: Any, gap: float) -> bool:
    # Venue o sends venue v what evens the two out after the fee (``gap``: what o holds more than v);
    # ``move``: (symbol, asset, o, v). False when the gap does not pay the fee.
    moved, transit, due, booked, _, log, logged, row, fees = inv
    s, asset, o, v = move
    fee = cfg["transfer_fee"][asset]
    amount = (gap - fee) / 2.0  # both venues hold the same once it arrives
    if amount <= 0.0:
        return False
    delay = cfg["transfer_delay_ns"][asset]
    moved[s, o, asset] -= amount + fee
    _credit(views, s, o, asset, -(amount + fee))
    transit[s, v, asset] = amount
    due[s, v, asset] = now + delay
    booked[s, asset, B_COUNT] += 1.0
    booked[s, asset, B_FEE] += fee
    fees[s, o, asset] += fee
    booked[s, asset, B_TRANSIT_NS] += delay
    fee_quote = fee
    if asset == ASSET_BASE:
        mid = 0.5 * (views[s][o]["bid_px"][0] + views[s][o]["ask_px"][0])
        fee_quote = fee * mid if np.isfinite(mid) else 0.0
    booked[s, asset, B_FEE_QUOTE] += fee_quote
    k = logged[0]  # log_full kept room for it
    logged[0] = k + 1
    row[s, v, asset] = k
    rec = log[k]
    rec["ts"] = now
    rec["arrive_ts"] = -1
    rec["symbol"] = s
    rec["asset"] = asset
    rec["from_venue"] = o
    rec["to_venue"] = v
    rec["amount"] = amount
    rec["fee"] = fee
    rec["fee_quote"] = fee_quote
    if delay == 0:  # arrives at once
        transit[s, v, asset] = 0.0
        moved[s, v, asset] += amount
        _credit(views, s, v, asset, amount)
        rec["arrive_ts"] = now
    return True
