"""The ``maker_taker`` style's figures: how often quotes fill, how long they wait, what the market does
after a maker fill, what the hedges cost beyond the touch, and the fees each venue charged as maker and
as taker. Built from a run's fills, the intents it sent and its kernel-call log (what each venue's touch
was at each decision).
"""

from __future__ import annotations

__all__ = ["AFTER_FILL_NS", "MakerFigures", "maker_figures"]

from dataclasses import dataclass
from typing import Final

import numpy as np

from arb.reports.common import Array, JsonFigures, mean_or_none, venue_count
from arb.strategy.types import BUY, INTENT_CANCEL, INTENT_HEDGE, INTENT_QUOTE, INTENT_UNWIND

AFTER_FILL_NS: Final = 1_000_000_000
"""How long after a maker fill the market's move is measured (adverse selection), ns."""


@dataclass(frozen=True, slots=True)
class MakerFigures(JsonFigures):
    """What the quotes of a run did. Built by :func:`maker_figures`.

    Attributes:
        quotes: Quotes sent (post-only orders).
        cancels: Cancels sent.
        maker_fills: Fills of quotes.
        fill_rate: ``maker_fills / quotes``; None without quotes.
        queue_ms_mean: Mean time from a quote's sending to its fill, ms; None without fills.
        queue_ms_median: Its median, ms.
        move_after_bps: Mean move of the maker venue's mid ``AFTER_FILL_NS`` after a maker fill, from the
            fill's price, bps, signed for us (negative: the market went against the quote that filled:
            adverse selection); None when no fill has a decision that long after it.
        hedge_slippage_bps: Mean of what a hedge or unwind of a maker pair filled beyond the touch its
            venue showed when the kernel sent it, bps (0: at the touch; > 0: worse); None without one.
        maker_fees: Per venue (by number), fees of the quotes' fills, quote currency (negative: a rebate).
        taker_fees: Per venue, fees of every other fill, quote currency.
    """

    quotes: int
    cancels: int
    maker_fills: int
    fill_rate: float | None
    queue_ms_mean: float | None
    queue_ms_median: float | None
    move_after_bps: float | None
    hedge_slippage_bps: float | None
    maker_fees: tuple[float, ...]
    taker_fees: tuple[float, ...]


def _touch(calls: Array, symbol: int, venue: int, ts: int, side: int, *, after: bool = False) -> float:
    # The venue's touch on the side an order of ``side`` takes (a buy the ask, a sell the bid) in the
    # symbol's last decision at or before ``ts`` (``after``: its mid at the first decision at or after ts).
    own = calls[calls["symbol"] == symbol]
    if after:
        k = int(np.searchsorted(own["ts"], ts, side="left"))
        if k >= len(own):
            return float("nan")
        return float(0.5 * (own["bid"][k, venue] + own["ask"][k, venue]))
    k = int(np.searchsorted(own["ts"], ts, side="right")) - 1
    if k < 0:
        return float("nan")
    return float(own["ask"][k, venue] if side == BUY else own["bid"][k, venue])


def maker_figures(fills: Array, sent: Array, calls: Array) -> MakerFigures:
    """The figures of ``fills`` (``FILL_DTYPE``), the intents ``sent`` (``SENT_DTYPE``) and the kernel-call
    log ``calls`` (:func:`~arb.strategy.types.decision_dtype` rows, in time order) of one run, every
    symbol's; the run's venues are as many as the calls' per-venue fields are wide. A run that kept only
    its newest intents (a long live run: :mod:`arb.live.row_log`) is counted from its first intent held:
    fills before it are not in these figures."""
    if len(sent):
        fills = fills[fills["local_ts"] >= sent["ts"].min()]
    quotes = sent[sent["kind"] == INTENT_QUOTE]
    made = fills[fills["kind"] == INTENT_QUOTE]
    waits, moves = [], []
    for fill in made:
        # the quote it filled: the last one sent of its pair (a pair id is a quote's own) before the fill
        mine = quotes[(quotes["pair_id"] == fill["pair_id"]) & (quotes["symbol"] == fill["symbol"])]
        mine = mine[mine["ts"] <= fill["local_ts"]]
        if len(mine):
            waits.append((int(fill["local_ts"]) - int(mine["ts"][-1])) / 1e6)
        later = _touch(calls, int(fill["symbol"]), int(fill["venue"]), int(fill["local_ts"]) + AFTER_FILL_NS, BUY,
                       after=True)  # fmt: skip
        if np.isfinite(later):
            moves.append((later - fill["price"]) / fill["price"] * 1e4 * fill["side"])
    maker_pairs = np.unique(made["pair_id"])
    hedges_sent = sent[np.isin(sent["kind"], (INTENT_HEDGE, INTENT_UNWIND)) & np.isin(sent["pair_id"], maker_pairs)]
    slips = []
    hedged = fills[np.isin(fills["kind"], (INTENT_HEDGE, INTENT_UNWIND)) & np.isin(fills["pair_id"], maker_pairs)]
    for fill in hedged:
        order = hedges_sent[(hedges_sent["pair_id"] == fill["pair_id"]) & (hedges_sent["venue"] == fill["venue"])]
        order = order[order["ts"] <= fill["local_ts"]]
        if not len(order):
            continue
        touch = _touch(calls, int(fill["symbol"]), int(fill["venue"]), int(order["ts"][-1]), int(fill["side"]))
        if np.isfinite(touch) and touch > 0.0:
            slips.append((fill["price"] - touch) / touch * 1e4 * fill["side"])
    is_maker = fills["kind"] == INTENT_QUOTE
    venues = range(venue_count(calls))
    maker_fees = tuple(float(fills["fee"][is_maker & (fills["venue"] == v)].sum()) for v in venues)
    taker_fees = tuple(float(fills["fee"][~is_maker & (fills["venue"] == v)].sum()) for v in venues)
    n_quotes = len(quotes)
    return MakerFigures(
        quotes=n_quotes,
        cancels=int(np.count_nonzero(sent["kind"] == INTENT_CANCEL)),
        maker_fills=len(made),
        fill_rate=len(made) / n_quotes if n_quotes else None,
        queue_ms_mean=mean_or_none(np.asarray(waits)),
        queue_ms_median=float(np.median(waits)) if waits else None,
        move_after_bps=mean_or_none(np.asarray(moves)),
        hedge_slippage_bps=mean_or_none(np.asarray(slips)),
        maker_fees=maker_fees,
        taker_fees=taker_fees,
    )
