"""The arbitrage pairs of a run's fills and what each made: the one definition of a pair's PnL and of
a win, which the dry run's account line shows as it trades and the reports (:mod:`arb.reports.pnl`)
count. Pure: ``FILL_DTYPE`` rows in, figures out (money in quote currency).
"""

from __future__ import annotations

__all__ = [
    "count_won",
    "opens_pair",
    "pair_directions",
    "pair_index",
    "pair_legs",
    "pair_pnl",
    "pairs_text",
    "pairs_won",
]

from collections.abc import Sequence
from typing import Any

import numpy as np

from arb.formats import pct
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND, SELL

Array = np.ndarray[Any, np.dtype[Any]]


def pair_pnl(fills: Array, mid: Sequence[float] | Array) -> tuple[Array, Array]:
    """The PnL of every arbitrage pair in ``fills`` (``FILL_DTYPE``), valued at ``mid``: the one
    definition the reports and the dry run's account line both use.

    A pair is the fills sharing a ``pair_id`` that has at least one opening fill (INTENT_OPEN, or
    INTENT_QUOTE: a quote's fill and its hedge make a maker pair); its PnL is,
    over all its fills (hedges and unwinds included), the cash flow minus fees plus the base it left
    on each venue valued at that venue's ``mid``: ``sum(side * qty * (mid[venue] - price) - fee)``. So
    the pairs' PnLs add up to the run's net PnL (when every fill belongs to a pair), and a pair that
    captured a spread but left coins on each venue worth less than that spread is not a winner.

    Args:
        fills: Fills in any order.
        mid: Mid per venue, quote per base (the final mid for the report, the current one for the
            account line); NaN where unknown, which makes the PnL of a pair holding base there NaN.
            With several symbols, one row of mids per symbol (a fill is valued at its symbol's).

    Returns:
        (pair ids ascending, int64; PnL per pair, quote currency, float64). A pair *wins* when its
        PnL is > 0 (see :func:`pairs_won`).
    """
    pair_ids, at, in_pair = pair_index(fills)
    own = fills[in_pair]
    mids = np.asarray(mid, dtype=np.float64)
    valued = mids[own["venue"]] if mids.ndim == 1 else mids[own["symbol"], own["venue"]]
    side = own["side"].astype(np.float64)
    contribution = side * own["qty"] * (valued - own["price"]) - own["fee"]
    return pair_ids, np.bincount(at, weights=contribution, minlength=len(pair_ids))


def pairs_won(fills: Array, mid: Sequence[float] | Array) -> tuple[int, int]:
    """(pairs, pairs won) among ``fills`` valued at ``mid``: a pair wins when its :func:`pair_pnl` is > 0."""
    _, pnl = pair_pnl(fills, mid)
    return len(pnl), count_won(pnl)


def count_won(pnl: Array) -> int:
    """How many of the pairs' ``pnl`` (:func:`pair_pnl`) won: the one test of a win, PnL > 0 (a pair
    whose PnL is unknown, NaN, has not won)."""
    return int(np.count_nonzero(pnl > 0))


def pairs_text(fills: Array, mid: Sequence[float] | Array) -> str:
    """``"pairs 13 won 12 (92.31%)"``: :func:`pairs_won` as the account line and the table word it."""
    pairs, won = pairs_won(fills, mid)
    return f"pairs {pairs} won {won} ({pct(won / pairs if pairs else None)})"


def opens_pair(fills: Array) -> Array:
    """The mask of the fills that open a pair: the legs sent together (INTENT_OPEN, the taker style) or a
    resting quote's fill (INTENT_QUOTE, the maker-taker style, whose hedge completes the pair). The one
    definition every count of pairs uses (the run's summary, the periodic reports, the account line), so
    that a style's pairs are counted the same everywhere."""
    kind = fills["kind"]
    mask: Array = (kind == INTENT_OPEN) | (kind == INTENT_QUOTE)
    return mask


def pair_legs(fills: Array) -> Array:
    """The mask of the fills that are a pair's legs: its OPEN fills; in a maker pair (one with a quote's
    fill), the quote's fill and the hedges (or unwinds) of it, which carry its pair id."""
    maker = np.isin(fills["pair_id"], fills["pair_id"][fills["kind"] == INTENT_QUOTE])
    kind = fills["kind"]
    mask: Array = (kind == INTENT_OPEN) | (maker & np.isin(kind, (INTENT_QUOTE, INTENT_HEDGE, INTENT_UNWIND)))
    return mask


def pair_index(fills: Array) -> tuple[Array, Array, Array]:
    """The pairs of ``fills``: (the pair ids with an opening fill (:func:`opens_pair`), ascending; the pair
    index of each fill that belongs to one; the mask of those fills)."""
    pair = fills["pair_id"]
    pair_ids = np.unique(pair[opens_pair(fills)])
    in_pair = np.isin(pair, pair_ids)
    return pair_ids, np.searchsorted(pair_ids, pair[in_pair]), in_pair


def pair_directions(fills: Array) -> tuple[Array, Array, Array]:
    """The direction of every pair of ``fills``: (the pair ids, as :func:`pair_index` gives them; the venue its
    legs bought on; the venue they sold on), the venue of the larger quantity where a side's legs filled on
    several, -1 for a side no leg filled (a lone leg). A pair's legs are :func:`pair_legs`: a taker pair's
    opening orders, a maker pair's quote fill and its hedges."""
    pair_ids, at, in_pair = pair_index(fills)
    own = fills[in_pair]
    legs = pair_legs(fills)[in_pair]
    n, n_venues = len(pair_ids), int(fills["venue"].max()) + 1 if len(fills) else 1
    out = []
    for side in (BUY, SELL):
        mine = legs & (own["side"] == side)
        qty = np.zeros((n, n_venues))
        np.add.at(qty, (at[mine], own["venue"][mine]), own["qty"][mine])
        out.append(np.where(qty.max(axis=1) > 0, qty.argmax(axis=1), -1))
    return pair_ids, out[0], out[1]
