"""The backtest's transfer policy: inventory moved between the venues, with a fee and a delay.

A backtest model only (``[backtest] transfer_policy``): live transfers are ``arb rebalance``'s. With the
``threshold`` policy, at each decision point, when a venue's share of an asset (a symbol's base, on spot
venues, or the quote) falls below ``transfer_threshold`` of what both venues hold, the other venue
sends what evens the two out after the fee: the amount and the asset's fee leave the sending venue's
balance at once, the amount reaches the other venue's balance at the first decision point at or after
its delay, on the backtest's clock. One transfer of an asset is on its way at a time. While on its way
it counts in the receiving venue's equity (the account owns it), not in its balance (it cannot be
traded). Each transfer is logged as it is sent (``Inventory.log``, ``TRANSFER_DTYPE`` rows: time, asset,
venues, amount, fee) and its arrival time written when it arrives; the backtest writes them to
transfers.csv. Compiled helpers of :func:`arb.backtest.compiled_loop._run_loop`; the state is an
:class:`arb.backtest.loop_state.Inventory`.
"""

from __future__ import annotations

__all__ = [
    "ASSET_BASE",
    "ASSET_QUOTE",
    "B_COUNT",
    "B_FEE",
    "B_FEE_FROM_0",
    "B_FEE_QUOTE",
    "B_TRANSIT_NS",
    "TRANSFER_NONE",
    "TRANSFER_THRESHOLD",
    "held_value",
    "log_full",
    "move_inventory",
    "new_inventory",
]

from typing import Any

import numpy as np

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
B_FEE_FROM_0 = 4  # the part of B_FEE venue 0 sent (the rest, venue 1)
N_BOOKED = 5


_LOG_ROWS = 256  # the transfer log's first size (grown by the driver, see log_full)


def new_inventory(movable: Any) -> Inventory:
    """Nothing moved yet, for ``len(movable)`` symbols (``movable[s]``: 1 when symbol ``s``'s base may
    move, spot on both venues)."""
    n = len(movable)
    return Inventory(np.zeros((n, 2, 2)), np.zeros((n, 2, 2)), np.zeros((n, 2, 2), np.int64),
                     np.zeros((n, 2, N_BOOKED)), np.asarray(movable, np.int64), np.zeros(_LOG_ROWS, TRANSFER_DTYPE),
                     np.zeros(1, np.int64), np.zeros((n, 2, 2), np.int64))  # fmt: skip


@njit(cache=True)
def log_full(inv: Any) -> bool:
    """True when ``inv.log`` may not take the transfers of one more decision point (one per symbol's base
    and one of the quote at most): the driver grows it and calls the loop again."""
    return bool(inv.logged[0] > inv.log.shape[0] - inv.movable.shape[0] - 1)


@njit(cache=True)
def _credit(views: Any, s: int, v: int, asset: int, amount: float) -> None:
    # A change of venue v's balance of the asset into the views (the quote: every symbol's view of v).
    if asset == ASSET_BASE:
        views[s][v]["base_balance"] += amount
    else:
        for o in range(views.shape[0]):
            views[o][v]["quote_balance"] += amount


@njit(cache=True)
def held_value(inv: Any, s: int, v: int, px: float) -> float:
    """What the transfers added to symbol ``s``'s part of venue ``v``'s equity, quote: its base moved or on
    its way there at ``px``, and in symbol 0's part the quote moved or on its way."""
    base = inv.moved[s, v, ASSET_BASE] + inv.transit[s, v, ASSET_BASE]
    quote = inv.moved[s, v, ASSET_QUOTE] + inv.transit[s, v, ASSET_QUOTE] if s == 0 else 0.0
    return float(base * px + quote)


@njit(cache=True)
def move_inventory(now: int, views: Any, settings: Any, inv: Any) -> None:
    """At a decision point at local time ``now``, with the views' balances current: the transfers due
    by now arrive, then (``threshold`` policy) a venue short of an asset is sent what evens the venues
    out. Balances change in the views; ``inv`` books it. ``settings``: the run's ``BACKTEST_RUN_DTYPE``
    record (one-element array)."""
    cfg = settings[0]
    moved, transit, due, booked, movable, log, logged, row = inv
    n_sym = views.shape[0]
    for s in range(n_sym):
        for v in range(2):
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
    for s in range(n_sym):
        for asset in range(2):
            if (asset == ASSET_BASE and movable[s] == 0) or (asset == ASSET_QUOTE and s > 0):
                continue
            if transit[s, 0, asset] > 0.0 or transit[s, 1, asset] > 0.0:
                continue  # one transfer of an asset at a time
            if asset == ASSET_BASE:
                held0 = views[s][0]["base_balance"]
                held1 = views[s][1]["base_balance"]
            else:
                held0 = views[s][0]["quote_balance"]
                held1 = views[s][1]["quote_balance"]
            total = held0 + held1
            if not total > 0.0:
                continue
            for v in range(2):
                o = 1 - v
                short = held0 if v == 0 else held1
                rich = held1 if v == 0 else held0
                if short / total >= threshold:
                    continue
                fee = cfg["transfer_fee"][asset]
                amount = (rich - short - fee) / 2.0  # both venues hold the same once it arrives
                if amount <= 0.0:
                    continue
                delay = cfg["transfer_delay_ns"][asset]
                moved[s, o, asset] -= amount + fee
                _credit(views, s, o, asset, -(amount + fee))
                transit[s, v, asset] = amount
                due[s, v, asset] = now + delay
                booked[s, asset, B_COUNT] += 1.0
                booked[s, asset, B_FEE] += fee
                if o == 0:
                    booked[s, asset, B_FEE_FROM_0] += fee
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
                break
