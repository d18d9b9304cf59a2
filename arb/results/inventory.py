"""Inventory across the two venues: what each holds, what its open orders hold back, and how many pairs
each direction can still trade at the configured size before a side runs out.

One pure function, :func:`inventory`, from the kernel's views and params (and the orders still open),
so the terminal's account line, the dashboard, the metrics and the reports show the same figures.
Quantities in base units, money in quote currency; venue 0 is Binance, venue 1 Bybit.

What it counts, per venue:

- **reserved**: what the orders still open hold back, as a venue holds it: on a spot venue a buy holds
  ``qty x price x (1 + taker fee)`` of the quote, a sell holds ``qty`` of the base, each for its whole
  quantity until the engine has its answer (the engine books a fill with its answer); the resting
  quotes of the ``maker_taker`` style (``view.quote_*``, pending, resting or being cancelled: they may
  still fill) at their own price. A linear venue holds no coin for an order (its margin is the risk
  gate's ``leverage`` check), so nothing is reserved there.
- **available**: the balance less what is reserved (``view.base_balance``, ``view.quote_balance``).

Per direction (buy on one venue, sell on the other), at the configured size (``max_order_size``;
``quote_size`` in the ``maker_taker`` style), the pairs left are the fewest of: on a spot buy venue
the available quote over what a pair's leg costs there (``size x price x (1 + slippage) x (1 + taker
fee)``, as the kernel sizes it); on a spot sell venue the available base over the size; on both venues
the room left in the position band (``max_position_size`` less the position on the buy venue, plus it on
the sell venue). The side that gives the fewest is named (``limit``: ``"binance quote"``, ``"bybit
base"``, ``"binance position"``, ...). A direction *can trade* while at least one pair is left. The
quote of a venue is shared by its symbols: each symbol's pairs left count all of it.
"""

from __future__ import annotations

__all__ = [
    "DIRECTIONS",
    "Direction",
    "OpenOrder",
    "SymbolInventory",
    "VenueInventory",
    "direction_name",
    "inventory",
    "pairs_left_text",
]

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from arb.events import ASSET_NAMES
from arb.strategy.types import (
    BUY,
    MARKET_SPOT,
    QUOTE_CANCELING,
    QUOTE_LIVE,
    QUOTE_PENDING,
    SELL,
    STYLE_TAKER,
)

DIRECTIONS = ((0, 1), (1, 0))
"""(buy venue, sell venue) of both directions, in the order every display lists them."""

_EPS = 1e-9  # grid slack, as the kernel's


def direction_name(buy: int, sell: int) -> str:
    """``buy_binance_sell_bybit``: a direction as the metrics' ``direction`` label and the JSON name it."""
    return f"buy_{ASSET_NAMES[buy]}_sell_{ASSET_NAMES[sell]}"


class OpenOrder(NamedTuple):
    """An order sent and not yet answered (not a resting quote: the view has those)."""

    symbol: int
    venue: int
    side: int  # BUY / SELL
    price: float
    qty: float


@dataclass(frozen=True, slots=True)
class VenueInventory:
    """One venue's side of one symbol: its base coin, and the venue's quote (shared by its symbols)."""

    venue: str
    base_available: float
    base_reserved: float
    quote_available: float
    quote_reserved: float


@dataclass(frozen=True, slots=True)
class Direction:
    """One direction of one symbol at the configured size."""

    buy: int  # venue number
    sell: int
    size: float  # base units of a pair
    pairs_left: int | None  # None: not known (no price to value the buy leg at)
    limit: str  # the side that runs out first, e.g. "binance quote"; "" when not known

    @property
    def name(self) -> str:
        """``buy_binance_sell_bybit``."""
        return direction_name(self.buy, self.sell)

    @property
    def can_trade(self) -> bool:
        """At least one pair at the configured size is left (False when not known)."""
        return self.pairs_left is not None and self.pairs_left >= 1


@dataclass(frozen=True, slots=True)
class SymbolInventory:
    """One symbol's inventory: ``venues`` by venue number, ``directions`` as :data:`DIRECTIONS`."""

    symbol: str
    venues: tuple[VenueInventory, ...]
    directions: tuple[Direction, ...]


def _reserved(views: Any, params: Any, orders: Iterable[OpenOrder]) -> tuple[Any, Any]:
    # (base reserved per (symbol, venue), quote reserved per venue) on spot venues
    n = views.shape[0]
    base = np.zeros((n, 2))
    quote = np.zeros(2)
    market = params["market"]
    for order in orders:
        s, v = int(order.symbol), int(order.venue)
        if market[s, v] != MARKET_SPOT:
            continue
        if order.side == SELL:
            base[s, v] += order.qty
        elif order.side == BUY:
            quote[v] += order.qty * order.price * (1.0 + params["taker_fee"][s, v])
    for s in range(n):
        for v in range(2):
            if market[s, v] != MARKET_SPOT:
                continue
            rec = views[s, v]
            for i, side in ((0, BUY), (1, SELL)):
                if int(rec["quote_state"][i]) not in (QUOTE_PENDING, QUOTE_LIVE, QUOTE_CANCELING):
                    continue
                qty, px = float(rec["quote_qty"][i]), float(rec["quote_px"][i])
                if side == SELL:
                    base[s, v] += qty
                elif np.isfinite(px):
                    quote[v] += qty * px * (1.0 + params["maker_fee"][s, v])
    return base, quote


def _pairs(room: float, per_pair: float) -> int:
    # whole pairs in ``room`` at ``per_pair`` each (never below 0)
    return max(0, math.floor(room / per_pair + _EPS))


def inventory(
    views: Any,
    params: Any,
    orders: Iterable[OpenOrder] = (),
    prices: Any = None,
    symbols: Sequence[str] = (),
) -> tuple[SymbolInventory, ...]:
    """Every symbol's inventory (see the module docstring).

    Args:
        views: The kernel's views, ``VIEW_DTYPE`` of shape ``(symbols, 2)``: ``base_balance``,
            ``quote_balance``, ``position`` and the resting quotes (``quote_state``, ``quote_px``,
            ``quote_qty``) per symbol and venue; ``ask_px[0]`` is the buy price when ``prices`` is None.
        params: ``PARAMS_DTYPE`` of shape ``(symbols,)``: sizes, fees, slippage, position band, markets.
        orders: The orders sent and not yet answered (resting quotes excluded).
        prices: The price a pair's buy leg pays per unit, shape ``(symbols, 2)`` (the reports pass the
            mids); NaN: not known.
        symbols: The symbols' names (``"0"``, ``"1"`` ... without).

    Returns:
        One :class:`SymbolInventory` per symbol, in order.
    """
    views = np.asarray(views).reshape(-1, 2)
    params = np.asarray(params).reshape(-1)
    n = views.shape[0]
    base_held, quote_held = _reserved(views, params, orders)
    px = views["ask_px"][:, :, 0] if prices is None else np.asarray(prices, float).reshape(n, 2)
    quote_free = [float(views[0, v]["quote_balance"]) - float(quote_held[v]) for v in range(2)]
    out = []
    for s in range(n):
        p = params[s]
        spot = [int(p["market"][v]) == MARKET_SPOT for v in range(2)]
        base_free = [float(views[s, v]["base_balance"]) - float(base_held[s, v]) for v in range(2)]
        venues = tuple(
            VenueInventory(ASSET_NAMES[v], base_free[v], float(base_held[s, v]), quote_free[v], float(quote_held[v]))
            for v in range(2)
        )
        size = float(p["quote_size"] if int(p["style"]) != STYLE_TAKER else p["max_order_size"])
        directions = []
        for b, sv in DIRECTIONS:
            if not size > 0.0:  # no size configured (a report of a run that recorded no configuration)
                directions.append(Direction(b, sv, size, None, ""))
                continue
            band = float(p["max_position_size"])
            limits: list[tuple[int | None, str]] = [
                (_pairs(band - float(views[s, b]["position"]), size), f"{ASSET_NAMES[b]} position"),
                (_pairs(band + float(views[s, sv]["position"]), size), f"{ASSET_NAMES[sv]} position"),
            ]
            if spot[b]:
                slip, fee = float(p["slippage_bps"]) * 1e-4, float(p["taker_fee"][b])
                cost = size * float(px[s, b]) * (1.0 + slip) * (1.0 + fee)
                known = np.isfinite(cost) and cost > 0.0
                limits.append((_pairs(quote_free[b], cost) if known else None, f"{ASSET_NAMES[b]} quote"))
            if spot[sv]:
                limits.append((_pairs(base_free[sv], size), f"{ASSET_NAMES[sv]} base"))
            if any(left is None for left, _ in limits):
                directions.append(Direction(b, sv, size, None, ""))
                continue
            left, limit = min(((int(k or 0), why) for k, why in limits), key=lambda item: item[0])
            directions.append(Direction(b, sv, size, left, limit))
        name = symbols[s] if s < len(symbols) else str(s)
        out.append(SymbolInventory(name, venues, tuple(directions)))
    return tuple(out)


def pairs_left_text(inv: Sequence[SymbolInventory]) -> str:
    """The account line's part: each direction's pairs left, ``left buy binance 12 | buy bybit 0 (bybit
    base)``: "buy binance" is the direction that buys on Binance and sells on Bybit; one that cannot
    trade names the side that ran out, one not known (no price yet) is ``?``; with several symbols each
    symbol's pair of figures is named."""
    parts = []
    for one in inv:
        figures = []
        for d in one.directions:
            tag = f"buy {ASSET_NAMES[d.buy]}"
            if d.pairs_left is None:
                figures.append(f"{tag} ?")
            elif d.can_trade:
                figures.append(f"{tag} {d.pairs_left}")
            else:
                figures.append(f"{tag} 0 ({d.limit})")
        prefix = f"{one.symbol} " if len(inv) > 1 else ""
        parts.append(prefix + " | ".join(figures))
    return "left " + ", ".join(parts)
