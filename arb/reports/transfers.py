"""What a backtest's transfers (transfers.csv, ``TRANSFER_DTYPE`` rows) did to each venue, for everything a
report rebuilds from the fills: the balances (inventory.csv, the report page's charts, the per-venue
rows), the equity and the PnL (:mod:`arb.reports.summary`, :mod:`arb.reports.figures`).

As the backtest books them (:mod:`arb.backtest.transfers`): a transfer's amount and its fee leave the
sending venue's balance when it is sent; the amount reaches the other venue's balance when it arrives
(``arrive_ts``; -1: still on its way at the end). From the time it is sent the amount counts in the
receiving venue's equity (the account owns it), so the fee is all the account loses. A venue's PnL
does not count what was moved to or from it as gained or lost: what it received is taken off at the
sending venue's price, what it sent is given back at its own (:func:`venue_moves`), so the venues'
PnL add up to the account's, the fees a loss of the sender's.

The quote, one balance a venue shared by every symbol, is moved in the first symbol's part (asset 1,
symbol 0). Pure; quantities in each asset's units, times int64 ns.
"""

from __future__ import annotations

__all__ = ["VenueMoves", "balance_changes", "owned_before", "venue_moves"]

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]

_BASE = 0
_QUOTE = 1


def balance_changes(transfers: Array) -> list[tuple[int, int, int, int, float, str]]:
    """``(ts, symbol, asset, venue, change, event)`` of every change the transfers made to a venue's
    balance, in the order of ``transfers``: the sending venue's at ``ts`` (``-(amount + fee)``, event
    ``"transfer"``), the receiving venue's at ``arrive_ts`` (``+amount``, ``"arrival"``; none while on
    its way). ``asset``: 0 the symbol's base, 1 the quote."""
    out = []
    for row in transfers:
        s, asset, amount = int(row["symbol"]), int(row["asset"]), float(row["amount"])
        out.append((int(row["ts"]), s, asset, int(row["from_venue"]), -(amount + float(row["fee"])), "transfer"))
        if int(row["arrive_ts"]) >= 0:
            out.append((int(row["arrive_ts"]), s, asset, int(row["to_venue"]), amount, "arrival"))
    return out


def owned_before(transfers: Array, times: Array, asset: int, venue: int) -> Array:
    """Per time of ``times`` (int64 ns, ascending), what the transfers sent before it added to what
    ``venue`` owns of ``asset`` (its equity's part): ``+amount`` for each it was sent (on its way
    or arrived), ``-(amount + fee)`` for each it sent."""
    rows = transfers[transfers["asset"] == asset]
    change = np.where(rows["to_venue"] == venue, rows["amount"], 0.0) - np.where(
        rows["from_venue"] == venue, rows["amount"] + rows["fee"], 0.0
    )
    order = np.argsort(rows["ts"], kind="stable")
    total = np.concatenate([[0.0], np.cumsum(change[order])])
    return np.asarray(total[np.searchsorted(rows["ts"][order], times, side="left")], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class VenueMoves:
    """What one symbol's transfers did to one venue by the end.

    Attributes:
        base, quote: Its balances' change (arrivals counted once arrived), in their units.
        owned_value: What it owns more (on its way to it counted), valued at its final mid, quote.
        moved_in_value: What was moved to it (at the sender's final mid) less what it sent (at its
            own), fees apart, quote: taken off its PnL (sums to 0 over the venues).
    """

    base: float
    quote: float
    owned_value: float
    moved_in_value: float


def venue_moves(transfers: Array, final_mid: Any, end_ns: int) -> tuple[VenueMoves, ...]:
    """Per venue (one for each of ``final_mid``, by number), what ``transfers`` (one symbol's, sent by
    ``end_ns``, between any two of the venues) did to it by ``end_ns``, the base valued at ``final_mid``
    (per venue; NaN where unknown: the values are NaN if base moved)."""
    rows = transfers[transfers["ts"] <= end_ns]
    arrived = (rows["arrive_ts"] >= 0) & (rows["arrive_ts"] <= end_ns)
    out = []
    for v in range(len(final_mid)):
        held = [0.0, 0.0]
        owned_value, moved_in = 0.0, 0.0
        for row, came in zip(rows, arrived, strict=True):
            asset, amount, fee = int(row["asset"]), float(row["amount"]), float(row["fee"])
            sender, receiver = int(row["from_venue"]), int(row["to_venue"])
            px_self = float(final_mid[v]) if asset == _BASE else 1.0
            px_sender = float(final_mid[sender]) if asset == _BASE else 1.0
            if receiver == v:
                held[asset] += amount if came else 0.0
                owned_value += amount * px_self
                moved_in += amount * px_sender
            if sender == v:
                held[asset] -= amount + fee
                owned_value -= (amount + fee) * px_self
                moved_in -= amount * px_self
        out.append(VenueMoves(held[_BASE], held[_QUOTE], owned_value, moved_in))
    return tuple(out)
