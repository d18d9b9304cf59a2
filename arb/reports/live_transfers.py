"""The live account's own moves of money between the venues (the journal's ``transfers``: ``arb rebalance
--execute``, ``[rebalance] auto``) for ``arb report --source live``: booked as a backtest's transfers are
(:mod:`arb.reports.transfers`), by the rules reconciliation and the engine count them
(:mod:`arb.journal.transfers`), so every figure means the same for both sources.
"""

from __future__ import annotations

__all__ = ["journal_moves"]

import json
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from arb.journal.transfers import NOTHING_MOVED, TransferRow, sent_and_arrived, trading_wallet_moves
from arb.strategy.types import TRANSFER_DTYPE

Array = np.ndarray[Any, np.dtype[Any]]


def journal_moves(
    config: Any, moves: Sequence[TransferRow], counted: Sequence[str], bases: Sequence[str], quote: str
) -> tuple[Array, list[list[float]]]:
    """The account's moves (``moves``: its rows of the journal's ``transfers``) as the report books them,
    and what each venue's starting holdings move by.

    Each withdrawal between two of ``config``'s venues is a ``TRANSFER_DTYPE`` row: sent at its creation with
    what left the sender (its amount, the fee with it where charged beside), arrived at its last update with
    what reached the receiver's trading wallet (-1 while on its way, the amount then what is to come), the
    rest of what left the sender its fee. Of the quote (symbol 0) or of a symbol's base coin (``bases``,
    on spot venues); others are left out.

    Per venue, per symbol's base then the quote (last), the change of the starting holdings that makes the
    rows bring each venue to what reconciliation expects: its start (``counted[v]`` ``"{}"``: the
    ``[account]`` table, which holds no move; else its baseline) plus what the moves put into its trading
    wallet since (now less ``counted[v]``, the totals kept beside the baseline when it was set; ``""``:
    none kept, every move made until now is in the baseline, as reconciliation reads it). What the rows do
    not show (a move between one venue's wallets) is part of the start: no trade, no fee."""
    venues = {venue.name: v for v, venue in enumerate(config.venues)}
    markets = [venue.market for venue in config.venues]

    def slot(asset: str, v: int) -> int | None:  # the symbol whose base it is (its number), the quote (-1)
        if asset == quote:
            return -1
        return bases.index(asset) if asset in bases and markets[v] == "spot" else None

    before = [[0.0] * (len(bases) + 1) for _ in markets]
    for v, venue in enumerate(config.venues):
        now = trading_wallet_moves(moves, venue.name, venue.market)
        try:
            then = {a: Decimal(x) for a, x in json.loads(counted[v]).items()} if counted[v] else now
        except (ValueError, TypeError, AttributeError, ArithmeticError):
            then = now
        for asset in set(now) | set(then):
            if (at := slot(asset, v)) is not None:
                before[v][at] += float(now.get(asset, Decimal(0)) - then.get(asset, Decimal(0)))
    rows = []
    for row in moves:
        sender, receiver = venues.get(row.from_venue), venues.get(row.to_venue)
        if row.kind != "withdraw" or row.state in NOTHING_MOVED or sender is None or receiver is None:
            continue
        at, other = slot(row.asset, sender), slot(row.asset, receiver)
        sent, arrived = sent_and_arrived(row, markets[receiver])
        if at is None or at != other or not sent:
            continue
        amount = arrived or sent - Decimal(row.fee or 0)
        fee = float(sent - amount)
        rows.append((row.created_ns, row.updated_ns if arrived else -1, max(at, 0), int(at < 0), sender, receiver,
                     float(amount), fee, fee if at < 0 else math.nan))  # fmt: skip
        before[sender][at] += float(sent)
        before[receiver][at] -= float(arrived)
    out = np.array(rows, dtype=TRANSFER_DTYPE) if rows else np.zeros(0, TRANSFER_DTYPE)
    return out[np.argsort(out["ts"], kind="stable")], before
