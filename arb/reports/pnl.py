"""PnL from fills, FIFO holding times, the arbitrage pairs and the legs the leg-fault model hit.

Every pair's PnL and every win are counted by the one definition in :mod:`arb.results.pairs`
(:func:`~arb.results.pairs.pair_pnl`), which the dry run's account line uses too. Units: prices and
money in quote currency, quantities in base units, times in int64 ns; a figure that cannot be
computed is None.
"""

from __future__ import annotations

__all__ = [
    "PNL_TOLERANCE",
    "DirectionFigures",
    "LegFigures",
    "PairFigures",
    "cash_flow",
    "combined_leg_figures",
    "fifo_holding",
    "leg_figures",
    "pair_figures",
    "pnl_from_fills",
    "position_of",
    "run_leg_figures",
    "symbol_leg_figures",
    "venue_pnl_from_fills",
]

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from arb.reports.common import (
    QTY_EPS,
    Array,
    JsonFigures,
    last_finite,
    mean_or_none,
    require_fields,
    require_values,
    sum_or_none,
    value_at,
    venue_count,
)
from arb.results.pairs import count_won, pair_directions, pair_index, pair_legs, pair_pnl
from arb.results.venues import directions
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_UNWIND,
    SELL,
    SENT_DTYPE,
)

if TYPE_CHECKING:
    from arb.config import AppConfig

PNL_TOLERANCE: Final = 0.01
"""``pnl`` and ``pnl_from_fills`` agree when they differ by at most this much, quote currency (a cent)."""


@dataclass(frozen=True, slots=True)
class PairFigures(JsonFigures):
    """Figures of the arbitrage pairs (a pair = the fills sharing one ``pair_id``).

    Attributes:
        pairs: Distinct pair ids with at least one INTENT_OPEN fill, or an INTENT_QUOTE fill (a maker pair:
            the quote's fill and its hedges are its legs).
        legs_filled: Distinct (venue, order_id) among the legs (OPEN fills; a maker pair's quote fill and
            hedge fills): legs that filled at least partly.
        pairs_matched: Pairs whose OPEN buy and OPEN sell quantities are both positive and equal.
        pairs_hedged: Pairs with at least one HEDGE or UNWIND fill.
        fills_outside_pairs: Fills whose pair id has no OPEN fill (counted nowhere else among the pairs).
        spread_bps: Mean over pairs with both OPEN sides filled of (sell VWAP - buy VWAP) / buy VWAP,
            bps; None when no pair has both sides.
        spread_net_bps: The same minus the OPEN fees per unit of each side, in bps of the buy VWAP.
        pairs_won: Pairs whose PnL (:func:`pair_pnl` at the final mid) is > 0: the definition the dry
            run's account line uses too.
        win_rate: ``pairs_won / pairs``; None without pairs.
        pair_pnl_mean: Mean realised PnL per pair, quote currency; None without pairs.
    """

    pairs: int
    legs_filled: int
    pairs_matched: int
    pairs_hedged: int
    fills_outside_pairs: int
    spread_bps: float | None
    spread_net_bps: float | None
    pairs_won: int
    win_rate: float | None
    pair_pnl_mean: float | None
    directions: tuple[DirectionFigures, ...] = ()
    """Per direction (every ordered pair of the run's venues, in run order: buy on the first): what its pairs
    made. Empty when the venues' names were not given."""


@dataclass(frozen=True, slots=True)
class DirectionFigures(JsonFigures):
    """What one direction made: the pairs whose legs bought on ``buy`` and sold on ``sell`` (venue names).

    Attributes:
        buy: The venue the pairs bought on.
        sell: The venue they sold on.
        pairs: Its pairs (:class:`PairFigures` ``pairs`` is the sum over the directions, plus the lone legs
            that have no direction).
        pairs_won: Its pairs whose PnL is > 0.
        pnl: The sum of its pairs' PnL (:func:`~arb.results.pairs.pair_pnl` at the final mid), quote.
        spread_bps: Mean captured spread of its pairs with both sides filled, bps; None without one.
    """

    buy: str
    sell: str
    pairs: int
    pairs_won: int
    pnl: float
    spread_bps: float | None


@dataclass(frozen=True, slots=True)
class LegFigures(JsonFigures):
    """Leg risk: the legs the leg-fault model hit (``[leg_faults]``), the lone legs that followed and
    what they cost. Built by :func:`leg_figures` from the fills and the intents sent.

    Attributes:
        rejected: Orders the leg-fault model rejected.
        partial: Orders it let fill only in part.
        late: Orders it delayed.
        lone_legs: Pairs whose opening fills left one side bigger than the other (a leg rejected,
            partly filled, late and missed, or simply not filled): each a lone leg for the kernel.
        hedged: Lone-leg pairs that ended flat, closed last by a hedge (on the venue that missed).
        unwound: Lone-leg pairs that ended flat, closed last by an unwind (where the leg filled).
        open_at_end: Lone-leg pairs still exposed at the end (more than ``dust``).
        given_up: Lone-leg pairs whose ``max_hedge_attempts`` hedge or unwind orders did not close them
            (more were sent, or the leg is still open):
            the kernel raised ``HEDGE_FAILED`` on them (and kept trying; no new pair meanwhile).
        hedge_orders: Hedge and unwind orders sent.
        hedge_failed: The kernel's ``HEDGE_FAILED`` flag at the end of the run.
        exposure: Per venue (by number), the base the lone-leg pairs still open at the end hold there,
            base units: the naked leg.
        pairs_faulted: Pairs (as in :class:`PairFigures`) with at least one opening leg faulted.
        pairs_clean: The other pairs.
        pnl_faulted: Sum of :func:`pair_pnl` over the faulted pairs, quote currency.
        pnl_clean: The same over the clean pairs.
        pnl_faulted_mean: Mean PnL of a faulted pair; None without one (or at an unknown mid).
        pnl_clean_mean: Mean PnL of a clean pair; None without one.
        pnl_lone_legs: Sum of :func:`pair_pnl` over the lone-leg pairs, hedges and unwinds included.
        cost: What the faults cost: ``(pnl_clean_mean - pnl_faulted_mean) * pairs_faulted``, the PnL
            the faulted pairs fell short of a clean pair's; None when either mean is None.
    """

    rejected: int
    partial: int
    late: int
    lone_legs: int
    hedged: int
    unwound: int
    open_at_end: int
    given_up: int
    hedge_orders: int
    hedge_failed: bool
    exposure: tuple[float, ...]
    pairs_faulted: int
    pairs_clean: int
    pnl_faulted: float
    pnl_clean: float
    pnl_faulted_mean: float | None
    pnl_clean_mean: float | None
    pnl_lone_legs: float
    cost: float | None

    @property
    def any(self) -> bool:
        """True when a leg was faulted or a lone leg happened (the table shows the section then)."""
        return bool(self.rejected or self.partial or self.late or self.lone_legs or self.hedge_orders)


def pnl_from_fills(
    fills: Array, final_mid: Sequence[float | None] | Sequence[Sequence[float | None]] | Array
) -> float | None:
    """Net PnL of ``fills`` (``FILL_DTYPE``): cash flow minus fees plus the position change at ``final_mid``.

    ``sum(-side * price * qty) - sum(fee)`` over all fills, plus, per venue, ``sum(side * qty) *
    final_mid[venue]``. Quote currency; None when a venue with a position change has no finite mid
    (a mid may be None, as summary.json writes an unknown one). The starting balances cancel out and
    are not needed. With several symbols ``final_mid`` holds one row of mids per symbol, and each
    fill's position change is valued at its own symbol's mid.
    """
    rows = [
        [math.nan if mid is None else float(mid) for mid in row]
        for row in np.atleast_2d(np.array(final_mid, dtype=object))
    ]
    require_values(fills, "venue", tuple(range(len(rows[0]))))
    if len(rows) == 1:
        mids = rows[0]
        return sum_or_none(venue_pnl_from_fills(fills[fills["venue"] == v], mid) for v, mid in enumerate(mids))
    require_values(fills, "symbol", tuple(range(len(rows))))
    return sum_or_none(
        venue_pnl_from_fills(fills[(fills["symbol"] == s) & (fills["venue"] == v)], mid)
        for s, row in enumerate(rows)
        for v, mid in enumerate(row)
    )


def venue_pnl_from_fills(fills: Array, mid: float) -> float | None:
    cash = cash_flow(fills)
    value = value_at(position_of(fills), mid)
    return None if value is None else cash + value


def cash_flow(fills: Array) -> float:
    # quote received minus quote paid minus fees
    side = fills["side"].astype(np.float64)
    return float(np.sum(-side * fills["price"] * fills["qty"]) - np.sum(fills["fee"]))


def position_of(fills: Array) -> float:
    return float(np.sum(fills["side"].astype(np.float64) * fills["qty"]))


def fifo_holding(ts: Array, signed_qty: Array) -> tuple[float, float, float]:
    """FIFO-match one venue's fills: (sum of closed qty x ns held, closed qty, qty still open).

    ``ts`` in time order (ns), ``signed_qty`` = side x qty. Open lots all have the sign of the
    inventory; a fill of the other sign closes the oldest lots first and any remainder opens a new
    lot of its own sign (the inventory flipped).
    """
    lots: deque[list[float]] = deque()  # [open ts (ns), remaining qty > 0]
    sign = 0.0  # sign of the inventory: +1 long lots, -1 short lots, 0 flat
    weighted = 0.0
    closed = 0.0
    for t, q in zip(ts.tolist(), signed_qty.tolist(), strict=True):
        remaining = abs(q)
        if remaining <= QTY_EPS:
            continue
        direction = math.copysign(1.0, q)
        while lots and direction != sign and remaining > QTY_EPS:
            lot = lots[0]
            take = min(remaining, lot[1])
            weighted += take * (t - lot[0])
            closed += take
            remaining -= take
            lot[1] -= take
            if lot[1] <= QTY_EPS:
                lots.popleft()
        if remaining > QTY_EPS:
            lots.append([float(t), remaining])
            sign = direction
        elif not lots:
            sign = 0.0
    return weighted, closed, sum(lot[1] for lot in lots)


def pair_figures(fills: Array, final_mid: Array, venues: Sequence[str] = ()) -> PairFigures:
    """The pairs of ``fills`` and, given the run's ``venues`` (names by number), what each direction made."""
    is_open = pair_legs(fills)
    pair_ids, at, in_pair = pair_index(fills)
    n = len(pair_ids)
    own = fills[in_pair]
    own_open = is_open[in_pair]

    def per_pair(weights: Array) -> Array:
        return np.bincount(at, weights=weights, minlength=n)

    buy = own_open & (own["side"] == BUY)
    sell = own_open & (own["side"] == SELL)
    notional = own["price"] * own["qty"]
    buy_qty, sell_qty = per_pair(np.where(buy, own["qty"], 0.0)), per_pair(np.where(sell, own["qty"], 0.0))
    buy_value, sell_value = per_pair(np.where(buy, notional, 0.0)), per_pair(np.where(sell, notional, 0.0))
    buy_fee, sell_fee = per_pair(np.where(buy, own["fee"], 0.0)), per_pair(np.where(sell, own["fee"], 0.0))

    both = (buy_qty > QTY_EPS) & (sell_qty > QTY_EPS)
    with np.errstate(divide="ignore", invalid="ignore"):
        buy_vwap, sell_vwap = buy_value / buy_qty, sell_value / sell_qty
        gross = (sell_vwap - buy_vwap) / buy_vwap * 1e4
        net = gross - (buy_fee / buy_qty + sell_fee / sell_qty) / buy_vwap * 1e4
    matched = both & np.isclose(buy_qty, sell_qty, rtol=1e-9, atol=QTY_EPS)

    hedging = np.isin(own["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    hedged = per_pair(hedging.astype(np.float64)) > 0
    _, pnl = pair_pnl(fills, final_mid)
    won = count_won(pnl)
    return PairFigures(
        pairs=n,
        legs_filled=_legs_filled(fills[is_open]),
        pairs_matched=int(np.count_nonzero(matched)),
        pairs_hedged=int(np.count_nonzero(hedged)),
        fills_outside_pairs=int(np.count_nonzero(~in_pair)),
        spread_bps=mean_or_none(gross[both]),
        spread_net_bps=mean_or_none(net[both]),
        pairs_won=won,
        win_rate=won / n if n else None,
        pair_pnl_mean=mean_or_none(pnl),
        directions=_directions(fills, pnl, np.where(both, gross, np.nan), venues),
    )


def _directions(fills: Array, pnl: Array, gross: Array, venues: Sequence[str]) -> tuple[DirectionFigures, ...]:
    # Every ordered pair of venues, in run order, with the pairs that went that way (pnl and gross per pair).
    _, buy, sell = pair_directions(fills)
    out = []
    for b, s in directions(len(venues)):
        mine = (buy == b) & (sell == s)
        out.append(DirectionFigures(
            buy=venues[b], sell=venues[s], pairs=int(np.count_nonzero(mine)), pairs_won=count_won(pnl[mine]),
            pnl=float(np.nansum(pnl[mine])), spread_bps=mean_or_none(gross[mine & np.isfinite(gross)]),
        ))  # fmt: skip
    return tuple(out)


def _legs_filled(opens: Array) -> int:
    # distinct (symbol, venue, order id): a leg that filled in parts counts once
    keys = zip(opens["symbol"].tolist(), opens["venue"].tolist(), opens["order_id"].tolist(), strict=True)
    return len(set(keys))


def leg_figures(
    fills: Array,
    sent: Array,
    mid: Sequence[float] | Array,
    *,
    max_hedge_attempts: int,
    hedge_failed: bool = False,
    dust: float = QTY_EPS,
) -> LegFigures:
    """Leg risk from a run's fills (``FILL_DTYPE``) and the intents it sent (``SENT_DTYPE``, whose
    ``fault`` says what the leg-fault model did to each), valued at ``mid`` (the final mid per venue).

    ``max_hedge_attempts`` is ``[execution] max_hedge_attempts``; ``hedge_failed`` the kernel's
    ``HEDGE_FAILED`` flag; ``dust`` the exposure, base units, that counts as flat (the kernel's: what
    neither venue could trade). See :class:`LegFigures` for each figure.

    Raises:
        ValueError: ``fills`` or ``sent`` lacks a field of its dtype.
    """
    from arb.execution.leg_faults import FAULT_LATE, FAULT_PARTIAL, FAULT_REJECT

    require_fields(fills, FILL_DTYPE, "fills")
    require_fields(sent, SENT_DTYPE, "sent")
    fills = fills[np.argsort(fills["local_ts"], kind="stable")]
    pair_ids, pnl = pair_pnl(fills, mid)
    _, at, in_pair = pair_index(fills)
    own = fills[in_pair]
    n = len(pair_ids)

    def per_pair(weights: Array) -> Array:
        return np.bincount(at, weights=weights, minlength=n)

    signed = own["side"] * own["qty"]
    is_open = own["kind"] == INTENT_OPEN
    lone = np.abs(per_pair(np.where(is_open, signed, 0.0))) > dust
    exposed = np.abs(per_pair(signed)) > dust
    hedging = np.isin(own["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    last_kind = np.zeros(n, np.int64)  # the kind of each pair's last hedge or unwind fill
    last_kind[at[hedging]] = own["kind"][hedging]  # fills are in time order: the last write wins
    closed = lone & ~exposed
    naked = np.isin(at, np.flatnonzero(lone & exposed))
    exposure = tuple(float(np.sum(np.where((own["venue"] == v) & naked, signed, 0.0))) for v in range(len(mid)))

    sent_hedging = np.isin(sent["kind"], (INTENT_HEDGE, INTENT_UNWIND))
    tries = np.zeros(n, np.int64)
    known = np.isin(sent["pair_id"], pair_ids)
    np.add.at(tries, np.searchsorted(pair_ids, sent["pair_id"][sent_hedging & known]), 1)
    faulted_ids = np.unique(sent["pair_id"][(sent["kind"] == INTENT_OPEN) & (sent["fault"] != 0)])
    faulted = np.isin(pair_ids, faulted_ids)
    faulted_mean, clean_mean = mean_or_none(pnl[faulted]), mean_or_none(pnl[~faulted])
    cost = None
    if faulted_mean is not None and clean_mean is not None:
        cost = (clean_mean - faulted_mean) * int(np.count_nonzero(faulted))
    return LegFigures(
        rejected=int(np.count_nonzero(sent["fault"] == FAULT_REJECT)),
        partial=int(np.count_nonzero(sent["fault"] == FAULT_PARTIAL)),
        late=int(np.count_nonzero(sent["fault"] == FAULT_LATE)),
        lone_legs=int(np.count_nonzero(lone)),
        hedged=int(np.count_nonzero(closed & (last_kind == INTENT_HEDGE))),
        unwound=int(np.count_nonzero(closed & (last_kind == INTENT_UNWIND))),
        open_at_end=int(np.count_nonzero(lone & exposed)),
        # the attempts spent and the leg not closed by them: more were needed, or it is still open
        given_up=int(
            np.count_nonzero(lone & ((tries > max_hedge_attempts) | ((tries >= max_hedge_attempts) & exposed)))
        ),
        hedge_orders=int(np.count_nonzero(sent_hedging)),
        hedge_failed=hedge_failed,
        exposure=exposure,
        pairs_faulted=int(np.count_nonzero(faulted)),
        pairs_clean=int(np.count_nonzero(~faulted)),
        pnl_faulted=float(np.sum(pnl[faulted])),
        pnl_clean=float(np.sum(pnl[~faulted])),
        pnl_faulted_mean=faulted_mean,
        pnl_clean_mean=clean_mean,
        pnl_lone_legs=float(np.sum(pnl[lone])),
        cost=cost,
    )


def run_leg_figures(
    config: AppConfig, fills: Array, sent: Array, equity: Array, kernel_flags: int | Sequence[int]
) -> LegFigures:
    """:func:`leg_figures` of a run of ``config``: valued at the last known mid of ``equity``, with the
    configured ``max_hedge_attempts``, the ``HEDGE_FAILED`` bit of ``kernel_flags`` (one per symbol, or
    the first symbol's) and as dust what neither venue could trade (below the larger of its lot and
    minimum quantity). With several symbols, every symbol's (:func:`symbol_leg_figures`) added up
    (:func:`combined_leg_figures`)."""
    from arb.strategy.types import HEDGE_FAILED

    flags = [kernel_flags] if isinstance(kernel_flags, int) else [int(f) for f in kernel_flags]
    if len(config.symbols) > 1:
        return combined_leg_figures(symbol_leg_figures(config, fills, sent, equity, flags))
    dust = min(max(v.instrument.lot_size, v.instrument.min_qty) for v in config.venues) * (1 - 1e-9)
    return leg_figures(
        fills,
        sent,
        last_finite(equity["mid"]) if len(equity) else np.full(venue_count(equity), np.nan),
        max_hedge_attempts=config.execution.max_hedge_attempts,
        hedge_failed=bool(flags[0] & HEDGE_FAILED) if flags else False,
        dust=dust,
    )


def symbol_leg_figures(
    config: AppConfig, fills: Array, sent: Array, equity: Array, kernel_flags: Sequence[int]
) -> list[LegFigures]:
    """Each symbol's :func:`run_leg_figures` (its fills, intents and equity rows, its dust, its
    kernel's flags), in ``[strategy] symbols`` order."""
    out = []
    for s in range(len(config.symbols)):
        own = config.for_symbol(s)
        flags = int(kernel_flags[s]) if s < len(kernel_flags) else 0
        out.append(run_leg_figures(own, fills[fills["symbol"] == s], sent[sent["symbol"] == s],
                                   equity[equity["symbol"] == s], flags))  # fmt: skip
    return out


def combined_leg_figures(parts: Sequence[LegFigures]) -> LegFigures:
    """Several symbols' leg figures as one account's: counts and PnL added, the means and the cost
    recomputed from the sums, ``hedge_failed`` if any symbol's; ``exposure`` is NaN (base units of
    different coins do not add up: each symbol's is in its own figures)."""

    def mean(total: float, count: int, means: Iterable[float | None]) -> float | None:
        return total / count if count and all(m is not None for m in means) else None

    faulted, clean = sum(p.pairs_faulted for p in parts), sum(p.pairs_clean for p in parts)
    pnl_faulted, pnl_clean = math.fsum(p.pnl_faulted for p in parts), math.fsum(p.pnl_clean for p in parts)
    faulted_mean = mean(pnl_faulted, faulted, (p.pnl_faulted_mean for p in parts if p.pairs_faulted))
    clean_mean = mean(pnl_clean, clean, (p.pnl_clean_mean for p in parts if p.pairs_clean))
    return LegFigures(
        rejected=sum(p.rejected for p in parts),
        partial=sum(p.partial for p in parts),
        late=sum(p.late for p in parts),
        lone_legs=sum(p.lone_legs for p in parts),
        hedged=sum(p.hedged for p in parts),
        unwound=sum(p.unwound for p in parts),
        open_at_end=sum(p.open_at_end for p in parts),
        given_up=sum(p.given_up for p in parts),
        hedge_orders=sum(p.hedge_orders for p in parts),
        hedge_failed=any(p.hedge_failed for p in parts),
        exposure=(math.nan,) * max((len(p.exposure) for p in parts), default=0),
        pairs_faulted=faulted,
        pairs_clean=clean,
        pnl_faulted=pnl_faulted,
        pnl_clean=pnl_clean,
        pnl_faulted_mean=faulted_mean,
        pnl_clean_mean=clean_mean,
        pnl_lone_legs=math.fsum(p.pnl_lone_legs for p in parts),
        cost=None if faulted_mean is None or clean_mean is None else (clean_mean - faulted_mean) * faulted,
    )
