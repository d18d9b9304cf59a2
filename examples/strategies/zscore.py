"""A strategy to read first: trade the basis between two venues back to its own rolling mean.

The basis is venue 1's mid over venue 0's, in basis points (venues are numbered by their place in
``[strategy] venues``: to trade another two, list them first; any others are left alone). It wanders
around a level of its own: fees, a venue's habits. This strategy keeps an exponentially weighted mean
and variance of it in its memory and reads how far the basis is from its mean in standard deviations,
``z``. Far enough out (``|z| >= entry_z``) it sells the venue that is rich and buys the cheap one; once
the basis is back (``|z| <= exit_z``, or past it) it sends the same pair the other way round, and is flat.

Run it on the sample::

    arb backtest --set 'strategy.kernel="examples/strategies/zscore.py:ZScore"'

with its parameters as a table of the configuration (``[strategy.params]``, any of them left out keeps
its default below) or one at a time (``--set strategy.params.entry_z=2.5``). ``docs/strategies.md``
walks through this file; what arb does around it (hedging a leg that fills alone, limits, stale
venues, rounding) is there too, and none of it is written here.
"""

__all__ = ["MEMORY", "ZScore", "ZScoreParams", "decide"]

import math

import msgspec
import numba
import numpy as np

from arb.strategy.seam import Strategy
from arb.strategy.types import BUY, INTENT_OPEN, MARKET_SPOT, SELL, VENUE_OK


class ZScoreParams(msgspec.Struct, frozen=True):
    """The ``[strategy.params]`` table: numbers and flags, each with its default."""

    half_life_s: float = 20.0  # the mean and the variance forget half of what they saw in this long, s
    warmup: int = 300  # book changes seen before the first pair (the mean needs some history)
    entry_z: float = 2.5  # in when the basis is this many deviations from its mean
    exit_z: float = 0.5  # out when it is back within this many
    size: float = 0.001  # each leg, base units (BTC for BTCUSDT)


MEMORY = np.dtype(
    [
        ("mean", "f8"),  # the basis's weighted mean, bps
        ("var", "f8"),  # its weighted variance, bps squared
        ("last_ns", "i8"),  # when the last sample was taken
        ("samples", "i8"),  # samples taken (whole numbers here show in the run's report)
        ("entries", "i8"),  # pairs sent to go in
        ("exits", "i8"),  # pairs sent to go out
    ]
)
"""What the strategy remembers between calls: one record per symbol, all zero at the start."""


@numba.njit(cache=True)
def _leg(intents: np.ndarray, k: int, venue: int, side: int, price: float, qty: float) -> None:
    # Intent k: an immediate-or-cancel order (arb gives it its pair id).
    intents[k]["venue"] = venue
    intents[k]["side"] = side
    intents[k]["price"] = price
    intents[k]["qty"] = qty
    intents[k]["kind"] = INTENT_OPEN


@numba.njit(cache=True)
def _flat(view: np.ndarray, rules: np.ndarray, v: int, mid: float) -> bool:
    """Nothing held on venue ``v`` that it would take as an order: under half a pair lot, or below its
    minimum quantity or value. A round trip on a live spot venue leaves dust: a buy's fee is paid in the
    coin bought, so the buy back or sell off is a lot or so short of the position."""
    held = abs(view[v]["position"])
    r = rules[0]
    return held < 0.5 * r["pair_lot"] or held < r["min_qty"][v] or held * mid < r["min_notional"][v]


@numba.njit(cache=True)
def _pair(view: np.ndarray, rules: np.ndarray, intents: np.ndarray, buy: int, sell: int, qty: float) -> int:
    # One pair into intents[0:2]: buy ``qty`` on venue ``buy`` at its ask and sell as much on ``sell`` at
    # its bid, each price moved by the slippage allowed (arb then rounds it onto the venue's tick).
    # Returns 2, or 0 when a venue would refuse a leg (arb's backtest fills what the book shows; the
    # paper and live venues refuse an order below their minimum value or past a spot balance).
    r = rules[0]
    slip = r["slippage_bps"] * 1e-4
    buy_px = view[buy]["ask_px"][0] * (1.0 + slip)
    sell_px = view[sell]["bid_px"][0] * (1.0 - slip)
    if qty * sell_px < r["min_notional"][sell] or qty * buy_px < r["min_notional"][buy]:
        return 0
    if r["market"][sell] == MARKET_SPOT and view[sell]["base_balance"] < qty:
        return 0  # a spot venue sells only the coins it holds
    if r["market"][buy] == MARKET_SPOT and view[buy]["quote_balance"] < qty * buy_px * (1.0 + r["taker_fee"][buy]):
        return 0
    _leg(intents, 0, buy, BUY, buy_px, qty)
    _leg(intents, 1, sell, SELL, sell_px, qty)
    return 2


@numba.njit(cache=True)
def decide(
    view: np.ndarray, rules: np.ndarray, params: np.ndarray, memory: np.ndarray, now_ns: int, intents: np.ndarray
) -> int:
    """One decision: update the basis's mean and variance, then maybe write one pair into ``intents``;
    returns how many intents (0 or 2). arb calls it only when nothing is unanswered and the venues'
    positions add up to flat (a pair held counts as flat: long on one venue, as much short on the other)."""
    p = params[0]
    m = memory[0]
    if view[0]["status"] != VENUE_OK or view[1]["status"] != VENUE_OK:
        return 0  # a book out of sync or gone quiet says nothing about the basis
    mid0 = 0.5 * (view[0]["bid_px"][0] + view[0]["ask_px"][0])
    mid1 = 0.5 * (view[1]["bid_px"][0] + view[1]["ask_px"][0])
    if not (mid0 > 0.0 and mid1 > 0.0):  # an empty side is NaN, and NaN > 0 is False
        return 0
    basis = (mid1 / mid0 - 1.0) * 1e4

    # z against what was known before this sample; then the sample goes in, weighted by the time since
    # the last one (a half-life in time, not in samples: books change at uneven rates).
    z = (basis - m["mean"]) / math.sqrt(m["var"]) if m["var"] > 0.0 else 0.0
    if m["samples"] == 0:
        m["mean"] = basis
    else:
        alpha = 1.0 - math.exp(-math.log(2.0) * (now_ns - m["last_ns"]) / (p["half_life_s"] * 1e9))
        diff = basis - m["mean"]
        m["mean"] += alpha * diff
        m["var"] = (1.0 - alpha) * (m["var"] + alpha * diff * diff)
    m["last_ns"] = now_ns
    m["samples"] += 1
    if m["samples"] <= p["warmup"]:
        return 0

    # What is held, read from the venues' positions (not remembered: a leg may have filled in part, or
    # arb may have hedged it). Quantities go on the pair's lot, a quantity both venues take as it is.
    lot = rules[0]["pair_lot"]
    pos0 = view[0]["position"]
    pos1 = view[1]["position"]
    if _flat(view, rules, 0, mid0) and _flat(view, rules, 1, mid1):  # flat: in at the entry band
        qty = math.floor(p["size"] / lot + 1e-9) * lot
        if qty <= 0.0 or abs(z) < p["entry_z"]:
            return 0
        n = _pair(view, rules, intents, 0, 1, qty) if z > 0.0 else _pair(view, rules, intents, 1, 0, qty)
        m["entries"] += 1 if n else 0
        return n
    # A pair is held: out at the exit band, the same quantity the other way round.
    qty = math.floor(min(abs(pos0), abs(pos1)) / lot + 1e-9) * lot
    n = 0
    if pos1 < 0.0 and pos0 > 0.0 and z <= p["exit_z"] and qty > 0.0:  # short the rich venue 1: buy it back
        n = _pair(view, rules, intents, 1, 0, qty)
    elif pos0 < 0.0 and pos1 > 0.0 and z >= -p["exit_z"] and qty > 0.0:  # short venue 0
        n = _pair(view, rules, intents, 0, 1, qty)
    m["exits"] += 1 if n else 0
    return n


ZScore = Strategy(
    name="zscore",
    decide=decide,
    params=ZScoreParams,
    memory=MEMORY,
    summary="the basis of venue 1 over venue 0 against its rolling mean: in at |z| >= entry_z, out at |z| <= exit_z",
)
