"""Inventory across a run's venues: what each holds, what its open orders hold back, and how many pairs
each direction can still trade at the configured size before a side runs out.

One pure function, :func:`inventory`, from the kernel's views and params (and the orders still open),
so the terminal's account line, the dashboard, the metrics and the reports show the same figures.
Quantities in base units, money in quote currency; a venue is its number in the run (the views' second
axis), named by the run's venue names.

What it counts, per venue:

- **reserved**: what the orders still open hold back, as a venue holds it: on a spot venue a buy holds
  ``qty x price x (1 + taker fee)`` of the quote, a sell holds ``qty`` of the base, each for its whole
  quantity until the engine has its answer (the engine books a fill with its answer); the resting
  quotes of the ``maker_taker`` style (``view.quote_*``, pending, resting or being cancelled: they may
  still fill) at their own price. A linear venue holds no coin for an order (its margin is the risk
  gate's ``leverage`` check), so nothing is reserved there.
- **available**: the balance less what is reserved (``view.base_balance``, ``view.quote_balance``).

Per direction (buy on one venue, sell on another: every ordered pair of the run's venues,
:func:`arb.results.venues.directions`), at the configured size (``max_order_size``; ``quote_size`` in the
``maker_taker`` style), the pairs left are the fewest of: on a spot buy venue the available quote over
what a pair's leg costs there (``size x price x (1 + slippage) x (1 + taker fee)``, as the kernel sizes
it); on a spot sell venue the available base over the size; on both venues the room left in the position
band (``max_position_size`` less the position on the buy venue, plus it on the sell venue). The side that
gives the fewest is named (``limit``: ``"<venue> quote"``, ``"<venue> base"``, ``"<venue> position"``). A
direction *can trade* while at least one pair is left. The quote of a venue is shared by its symbols:
each symbol's pairs left count all of it.
"""

from __future__ import annotations

__all__ = [
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

from arb.results.venues import direction_name, directions, venue_names
from arb.strategy.types import (
    BUY,
    MARKET_SPOT,
    QUOTE_CANCELING,
    QUOTE_LIVE,
    QUOTE_PENDING,
    SELL,
)

_EPS = 1e-9  # grid slack, as the kernel's


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
    limit: str  # the side that runs out first, "<venue> quote" (base, position); "" when not known
    buy_venue: str = ""  # the venues' names ("": the default run's, arb.results.venues.venue_names)
    sell_venue: str = ""

    @property
    def name(self) -> str:
        """``buy_<buy venue>_sell_<sell venue>`` (:func:`arb.results.venues.direction_name`)."""
        known = venue_names(max(self.buy, self.sell) + 1) if not (self.buy_venue and self.sell_venue) else ()
        return direction_name(self.buy_venue or known[self.buy], self.sell_venue or known[self.sell])

    @property
    def can_trade(self) -> bool:
        """At least one pair at the configured size is left (False when not known)."""
        return self.pairs_left is not None and self.pairs_left >= 1


@dataclass(frozen=True, slots=True)
class SymbolInventory:
    """One symbol's inventory: ``venues`` by venue number, ``directions`` in the order of
    :func:`arb.results.venues.directions`."""

    symbol: str
    venues: tuple[VenueInventory, ...]
    directions: tuple[Direction, ...]


def _reserved(views: Any, params: Any, orders: Iterable[OpenOrder]) -> tuple[Any, Any]:
    # (base reserved per (symbol, venue), quote reserved per venue) on spot venues
    n, n_venues = views.shape
    base = np.zeros((n, n_venues))
    quote = np.zeros(n_venues)
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
        for v in range(n_venues):
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
    venues: Sequence[str] = (),
) -> tuple[SymbolInventory, ...]:
    """Every symbol's inventory (see the module docstring).

    Args:
        views: The kernel's views, ``VIEW_DTYPE`` of shape ``(symbols, venues)`` (one symbol's may be
            1-d): ``base_balance``, ``quote_balance``, ``position`` and the resting quotes
            (``quote_state``, ``quote_px``, ``quote_qty``) per symbol and venue; ``ask_px[0]`` is the buy
            price when ``prices`` is None.
        params: ``RULES_DTYPE`` of shape ``(symbols,)``: sizes, fees, slippage, position band, markets.
        orders: The orders sent and not yet answered (resting quotes excluded).
        prices: The price a pair's buy leg pays per unit, shape ``(symbols, venues)`` (the reports pass the
            mids); NaN: not known.
        symbols: The symbols' names (``"0"``, ``"1"`` ... without).
        venues: The venues' names by number (default: :func:`arb.results.venues.venue_names`).

    Returns:
        One :class:`SymbolInventory` per symbol, in order.
    """
    views = np.asarray(views)
    n_venues = views.shape[-1] if views.ndim >= 2 else (len(venues) or views.shape[0])
    views = views.reshape(-1, n_venues)
    params = np.asarray(params).reshape(-1)
    names = venue_names(n_venues, venues)
    n = views.shape[0]
    base_held, quote_held = _reserved(views, params, orders)
    px = views["ask_px"][:, :, 0] if prices is None else np.asarray(prices, float).reshape(n, n_venues)
    quote_free = [float(views[0, v]["quote_balance"]) - float(quote_held[v]) for v in range(n_venues)]
    out = []
    for s in range(n):
        p = params[s]
        spot = [int(p["market"][v]) == MARKET_SPOT for v in range(n_venues)]
        base_free = [float(views[s, v]["base_balance"]) - float(base_held[s, v]) for v in range(n_venues)]
        held = tuple(
            VenueInventory(names[v], base_free[v], float(base_held[s, v]), quote_free[v], float(quote_held[v]))
            for v in range(n_venues)
        )
        size = float(p["quote_size"] if int(p["quotes"]) else p["max_order_size"])
        ways = []
        for b, sv in directions(n_venues):
            if not size > 0.0:  # no size configured (a report of a run that recorded no configuration)
                ways.append(Direction(b, sv, size, None, "", names[b], names[sv]))
                continue
            band = float(p["max_position_size"])
            limits: list[tuple[int | None, str]] = [
                (_pairs(band - float(views[s, b]["position"]), size), f"{names[b]} position"),
                (_pairs(band + float(views[s, sv]["position"]), size), f"{names[sv]} position"),
            ]
            if spot[b]:
                slip, fee = float(p["slippage_bps"]) * 1e-4, float(p["taker_fee"][b])
                cost = size * float(px[s, b]) * (1.0 + slip) * (1.0 + fee)
                known = np.isfinite(cost) and cost > 0.0
                limits.append((_pairs(quote_free[b], cost) if known else None, f"{names[b]} quote"))
            if spot[sv]:
                limits.append((_pairs(base_free[sv], size), f"{names[sv]} base"))
            if any(left is None for left, _ in limits):
                ways.append(Direction(b, sv, size, None, "", names[b], names[sv]))
                continue
            left, limit = min(((int(k or 0), why) for k, why in limits), key=lambda item: item[0])
            ways.append(Direction(b, sv, size, left, limit, names[b], names[sv]))
        name = symbols[s] if s < len(symbols) else str(s)
        out.append(SymbolInventory(name, held, tuple(ways)))
    return tuple(out)


def pairs_left_text(inv: Sequence[SymbolInventory]) -> str:
    """The account line's part: each direction's pairs left. With two venues a direction is named by
    where it buys (it sells on the other), ``left buy <a> 12 | buy <b> 0 (<b> base)``; with more, by both
    venues, ``left buy <a> sell <b> 12 | buy <a> sell <c> 3 | ...``. One that cannot trade names the side
    that ran out, one not known (no price yet) is ``?``; with several symbols each symbol's figures are
    named."""
    parts = []
    for one in inv:
        names = [v.venue for v in one.venues]
        figures = []
        for d in one.directions:
            buy = d.buy_venue or (names[d.buy] if d.buy < len(names) else str(d.buy))
            sell = d.sell_venue or (names[d.sell] if d.sell < len(names) else str(d.sell))
            tag = f"buy {buy}" if len(one.venues) <= 2 else f"buy {buy} sell {sell}"
            if d.pairs_left is None:
                figures.append(f"{tag} ?")
            elif d.can_trade:
                figures.append(f"{tag} {d.pairs_left}")
            else:
                figures.append(f"{tag} 0 ({d.limit})")
        prefix = f"{one.symbol} " if len(inv) > 1 else ""
        parts.append(prefix + " | ".join(figures))
    return "left " + ", ".join(parts)
