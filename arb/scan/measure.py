"""What a spread between two venues was worth: the scan's definitions, as arithmetic on top-of-book records.

For an ordered pair (buy on venue *b*, sell on venue *s*) and a moment *t*:

- **net edge** (bps of what the buy costs): selling one unit at *s*'s best bid and buying it at *b*'s best
  ask, each paying its venue's taker fee: ``(bid_s * (1 - fee_s) - ask_b * (1 + fee_b)) / ask_b * 1e4``.
  Unknown (NaN) while either venue's book is not synced or a side is empty.
- The net edge is a step function of time: it changes only when one of the two tops changes, so every
  figure over a day is **time-weighted**: a value counts for as long as it stood (:func:`weighted_quantiles`).
- An **episode** is a maximal interval with the net edge above the threshold: it begins with the message
  that lifted it above and ends with the one that brought it back to or below it (or made it unknown, or
  the data's end). Its duration is the time between the two, ns.
- **crossable**: at an episode's start, both books walked level by level (*b*'s asks from the best up, *s*'s
  bids from the best down), taking the smaller of the two current levels' remaining quantities, for as
  long as the two levels' own net edge (the marginal edge) stays above the threshold: the base quantity,
  what buying it costs (quote) and what the pair earns after both fees (quote) (:func:`cross`).
- **capturable at a latency** *L*: the edge of the episodes that lasted longer than *L*, the round trip
  of an order from where the bot sits: one that lasted less was gone before an order sent at its start
  could arrive and be answered.
- **lead-lag**: the lag at which the two venues' mid-price changes agree best, by the Hayashi-Yoshida
  covariance of their log-mid changes with one venue's times shifted (:func:`lead_lag`): no resampling,
  so no bias from one venue updating more often than the other.

Times are int64 ns, prices quote per base unit, fees fractions (0.001 is 10 bps).
"""

from __future__ import annotations

__all__ = [
    "Anchor",
    "Episodes",
    "LeadLag",
    "PairLine",
    "anchor",
    "capturable",
    "cross",
    "episodes",
    "lead_lag",
    "net_bps",
    "pair_line",
    "weighted_quantiles",
]

from dataclasses import dataclass
from typing import Any

import numpy as np

from arb._jit import njit
from arb.scan.tops import Tops

Floats = np.ndarray[Any, np.dtype[np.float64]]
Ints = np.ndarray[Any, np.dtype[np.int64]]


def net_bps(bid_sell: Any, ask_buy: Any, fee_buy: float, fee_sell: float) -> Any:
    """The net edge in bps of the buy's cost (scalars or arrays; NaN where a price is NaN)."""
    return (bid_sell * (1.0 - fee_sell) - ask_buy * (1.0 + fee_buy)) / ask_buy * 1e4


@dataclass(frozen=True, slots=True)
class PairLine:
    """The net edge of one ordered pair as a step function: from ``t[i]`` for ``dur[i]`` ns it was ``net[i]``
    bps (NaN: unknown); ``ask``/``bid`` the buy venue's best ask and the sell venue's best bid then."""

    t: Ints
    dur: Ints
    net: Floats
    ask: Floats
    bid: Floats

    @property
    def known_ns(self) -> int:
        """How long the net edge was known (both books synced), ns."""
        return int(self.dur[np.isfinite(self.net)].sum())


def pair_line(buy: Tops, sell: Tops, fee_buy: float, fee_sell: float) -> PairLine:
    """The pair's net edge over the time both venues were read (from the later start to the earlier end)."""
    start = max(buy.start_ns, sell.start_ns)
    end = min(buy.end_ns, sell.end_ns)
    if not len(buy.records) or not len(sell.records) or end <= start:
        empty_i = np.zeros(0, np.int64)
        empty_f = np.zeros(0, np.float64)
        return PairLine(empty_i, empty_i, empty_f, empty_f, empty_f)
    tb = buy.records["local_ts"]
    ts = sell.records["local_ts"]
    grid = np.union1d(tb[(tb >= start) & (tb < end)], ts[(ts >= start) & (ts < end)])
    if not len(grid) or grid[0] != start:
        grid = np.concatenate(([start], grid[grid > start]))
    ask = buy.records["ask_px"][np.searchsorted(tb, grid, side="right") - 1]
    bid = sell.records["bid_px"][np.searchsorted(ts, grid, side="right") - 1]
    dur = np.diff(np.append(grid, end))
    return PairLine(grid, dur, net_bps(bid, ask, fee_buy, fee_sell), ask, bid)


def weighted_quantiles(values: Floats, weights: Any, qs: tuple[float, ...]) -> list[float]:
    """For each ``q``, the least value ``v`` such that the values at most ``v`` carry at least ``q`` of the total
    weight (the time-weighted quantile; NaN values are left out; NaN when nothing is left)."""
    keep = np.isfinite(values) & (np.asarray(weights) > 0)
    v = values[keep]
    if not len(v):
        return [float("nan")] * len(qs)
    w = np.asarray(weights, np.float64)[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    total = cum[-1]
    out = []
    for q in qs:
        i = int(np.searchsorted(cum, q * total - 1e-9 * total, side="left"))
        out.append(float(v[order][min(i, len(v) - 1)]))
    return out


@dataclass(frozen=True, slots=True)
class Episodes:
    """Each episode's start (ns), duration (ns) and index into the :class:`PairLine` where it began."""

    start_ns: Ints
    duration_ns: Ints
    first: Ints

    def __len__(self) -> int:
        return len(self.start_ns)


def episodes(line: PairLine, threshold_bps: float) -> Episodes:
    """The maximal intervals of ``line`` with the net edge above ``threshold_bps`` (unknown ends one)."""
    above = np.isfinite(line.net) & (line.net > threshold_bps)
    if not above.any():
        none = np.zeros(0, np.int64)
        return Episodes(none, none, none)
    step = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    first = np.flatnonzero(step == 1)
    stop = np.flatnonzero(step == -1)  # one past each run's last interval
    ends = np.append(line.t, line.t[-1] + line.dur[-1])[stop]
    starts = line.t[first]
    return Episodes(starts.astype(np.int64), (ends - starts).astype(np.int64), first.astype(np.int64))


@njit(cache=True, nogil=True)
def _cross(asks: Any, ask_qtys: Any, bids: Any, bid_qtys: Any, fee_buy: float, fee_sell: float,
           threshold_bps: float, max_base: float) -> tuple[float, float, float]:  # fmt: skip
    base = 0.0
    quote = 0.0
    edge = 0.0
    i = 0
    j = 0
    left_ask = ask_qtys[0] if asks.shape[0] else 0.0
    left_bid = bid_qtys[0] if bids.shape[0] else 0.0
    while i < asks.shape[0] and j < bids.shape[0] and base < max_base:
        ask = asks[i]
        bid = bids[j]
        if not (np.isfinite(ask) and np.isfinite(bid)) or left_ask <= 0.0 or left_bid <= 0.0:
            break
        if (bid * (1.0 - fee_sell) - ask * (1.0 + fee_buy)) / ask * 1e4 <= threshold_bps:
            break
        q = min(left_ask, left_bid, max_base - base)
        base += q
        quote += q * ask
        edge += q * (bid * (1.0 - fee_sell) - ask * (1.0 + fee_buy))
        left_ask -= q
        left_bid -= q
        if left_ask <= 0.0:
            i += 1
            left_ask = ask_qtys[i] if i < asks.shape[0] else 0.0
        if left_bid <= 0.0:
            j += 1
            left_bid = bid_qtys[j] if j < bids.shape[0] else 0.0
    return base, quote, edge


def cross(
    buy_levels: Any,
    sell_levels: Any,
    fee_buy: float,
    fee_sell: float,
    threshold_bps: float,
    max_base: float = np.inf,
) -> tuple[float, float, float]:
    """What one crossing of both books takes while the marginal net edge stays above the threshold.

    ``buy_levels``/``sell_levels``: a venue's ``(4, levels)`` array (bid px, bid qty, ask px, ask qty, best
    first) at the moment; the buy venue's asks meet the sell venue's bids. Returns ``(base quantity, quote
    spent on the buys, quote earned after both fees)``.
    """
    return _cross(np.ascontiguousarray(buy_levels[2]), np.ascontiguousarray(buy_levels[3]),
                  np.ascontiguousarray(sell_levels[0]), np.ascontiguousarray(sell_levels[1]),
                  float(fee_buy), float(fee_sell), float(threshold_bps), float(max_base))  # fmt: skip


def capturable(duration_ns: Ints, edge_quote: Floats, latency_ns: int) -> float:
    """The edge of the episodes that lasted longer than ``latency_ns``, quote."""
    return float(edge_quote[duration_ns > latency_ns].sum())


@njit(cache=True, nogil=True)
def _hy(tx: Any, dx: Any, ty: Any, dy: Any, shift: int) -> float:
    # Hayashi-Yoshida: sum of dx[i] * dy[j] over every pair of overlapping intervals, X's (tx[i], tx[i+1]]
    # against Y's moved earlier by shift, (ty[j] - shift, ty[j+1] - shift]; a two-pointer sweep.
    i = 0
    j = 0
    total = 0.0
    nx = dx.shape[0]
    ny = dy.shape[0]
    while i < nx and j < ny:
        x0 = tx[i]
        x1 = tx[i + 1]
        y0 = ty[j] - shift
        y1 = ty[j + 1] - shift
        if max(x0, y0) < min(x1, y1):
            total += dx[i] * dy[j]
        if x1 < y1:
            i += 1
        elif y1 < x1:
            j += 1
        else:
            i += 1
            j += 1
    return total


@njit(cache=True, nogil=True)
def _hy_curve(tx: Any, dx: Any, ty: Any, dy: Any, shifts: Any) -> Any:
    out = np.empty(shifts.shape[0])
    for k in range(shifts.shape[0]):
        out[k] = _hy(tx, dx, ty, dy, shifts[k])
    return out


@dataclass(frozen=True, slots=True)
class LeadLag:
    """``lag_ns`` > 0: the first venue's mid moves first, by that much; < 0: the second's; 0: together.
    ``corr``: the Hayashi-Yoshida correlation at that lag (NaN: too few changes to tell)."""

    lag_ns: int
    corr: float


def _log_mid_changes(tops: Tops) -> tuple[Ints, Floats]:
    r = tops.records
    mid = (r["bid_px"] + r["ask_px"]) / 2.0
    ok = np.isfinite(mid)
    t = r["local_ts"][ok]
    m = np.log(mid[ok])
    keep = np.concatenate(([True], np.diff(m) != 0.0)) if len(m) else np.zeros(0, bool)
    return t[keep].astype(np.int64), m[keep]


def lead_lag(x: Tops, y: Tops, max_lag_ns: int = 2_000_000_000, coarse_ns: int = 20_000_000,
             fine_ns: int = 1_000_000, min_changes: int = 10) -> LeadLag:  # fmt: skip
    """The lag ``theta`` maximising the Hayashi-Yoshida covariance of ``x``'s and ``y``'s log-mid changes with
    ``y``'s times moved earlier by ``theta`` (Hoffmann, Rosenbaum and Yoshida's estimator): searched every
    ``coarse_ns`` within ``max_lag_ns`` either way, then every ``fine_ns`` around the best."""
    tx, mx = _log_mid_changes(x)
    ty, my = _log_mid_changes(y)
    if len(tx) < min_changes or len(ty) < min_changes:
        return LeadLag(0, float("nan"))
    dx = np.diff(mx)
    dy = np.diff(my)
    scale = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    if scale == 0.0:
        return LeadLag(0, float("nan"))
    coarse = np.arange(-max_lag_ns, max_lag_ns + 1, coarse_ns, dtype=np.int64)
    curve = _hy_curve(tx, dx, ty, dy, coarse)
    best = int(coarse[int(np.argmax(curve))])
    fine = np.arange(best - coarse_ns, best + coarse_ns + 1, fine_ns, dtype=np.int64)
    curve = _hy_curve(tx, dx, ty, dy, fine)
    k = int(np.argmax(curve))
    at_zero = fine == 0
    if at_zero.any() and curve[at_zero][0] >= curve[k]:  # ties go to "together"
        return LeadLag(0, float(curve[at_zero][0] / scale))
    return LeadLag(int(fine[k]), float(curve[k] / scale))


@dataclass(frozen=True, slots=True)
class Anchor:
    """The published measure's samples (Crépellière, Pelster and Zeisberger, 2023): at each time ``t`` (ns), the
    highest best bid across the venues and the lowest best ask, each counted only when its quantity is at
    least the floor (``bid_venue``/``ask_venue``: an index into the venues given, -1 when none qualified);
    ``gap_bps`` = (max bid / min ask - 1) * 1e4, gross of fees (NaN when either side had no quote)."""

    t: Ints
    max_bid: Floats
    bid_venue: Ints
    min_ask: Floats
    ask_venue: Ints

    @property
    def gap_bps(self) -> Floats:
        """The gap between the best bid and the best ask across venues, bps of the ask."""
        with np.errstate(invalid="ignore"):
            out: Floats = (self.max_bid / self.min_ask - 1.0) * 1e4
        return out


def anchor(tops: list[Tops], start_ns: int, end_ns: int, step_ns: int, floor: float) -> Anchor:
    """Every ``step_ns`` from ``start_ns`` (exclusive of ``end_ns``), each venue's best bid and ask in force then,
    the highest bid and the lowest ask across venues of those with at least ``floor`` base units (see
    :class:`Anchor`)."""
    t = np.arange(start_ns, end_ns, step_ns, dtype=np.int64)
    bids = np.full((len(tops), len(t)), np.nan)
    asks = np.full((len(tops), len(t)), np.nan)
    for v, top in enumerate(tops):
        r = top.records
        if not len(r):
            continue
        i = np.searchsorted(r["local_ts"], t, side="right") - 1
        seen = (i >= 0) & (t < top.end_ns)
        k = np.where(seen, i, 0)
        ok_b = seen & (r["bid_qty"][k] >= floor)
        ok_a = seen & (r["ask_qty"][k] >= floor)
        bids[v] = np.where(ok_b, r["bid_px"][k], np.nan)
        asks[v] = np.where(ok_a, r["ask_px"][k], np.nan)
    any_b = np.isfinite(bids).any(axis=0)
    any_a = np.isfinite(asks).any(axis=0)
    bid_venue = np.where(any_b, np.argmax(np.where(np.isfinite(bids), bids, -np.inf), axis=0), -1)
    ask_venue = np.where(any_a, np.argmin(np.where(np.isfinite(asks), asks, np.inf), axis=0), -1)
    cols = np.arange(len(t))
    max_bid = np.where(any_b, bids[np.maximum(bid_venue, 0), cols], np.nan) if len(tops) else np.zeros(0)
    min_ask = np.where(any_a, asks[np.maximum(ask_venue, 0), cols], np.nan) if len(tops) else np.zeros(0)
    return Anchor(t, max_bid, bid_venue.astype(np.int64), min_ask, ask_venue.astype(np.int64))
