"""The pure parts of a simulated venue's matching: order filters, position arithmetic, capped fills."""

from __future__ import annotations

__all__ = ["capped", "check_filters", "move_position"]

from decimal import Decimal

from arb.sim.ledger.records import ZERO, OrderType, Position, RejectReason, Side, SymbolRules, VenueRejectError


def check_filters(
    rules: SymbolRules, type: OrderType, qty: Decimal, price: Decimal | None, *, notional: bool = True
) -> None:
    """Raise :class:`VenueRejectError` when the order breaks the symbol's price, quantity or notional filters
    (``notional`` False: not the notional's, as for a reduce-only order on Binance USD-M)."""
    if type is OrderType.LIMIT:
        if price is None:
            raise VenueRejectError(RejectReason.PRICE_REQUIRED)
        if price < rules.min_price or price > rules.max_price:
            raise VenueRejectError(RejectReason.PRICE_RANGE, str(price))
        if price % rules.tick_size != 0:
            raise VenueRejectError(RejectReason.PRICE_TICK, f"{price} is not a multiple of {rules.tick_size}")
    if qty % rules.step_size != 0:
        raise VenueRejectError(RejectReason.QTY_STEP, f"{qty} is not a multiple of {rules.step_size}")
    if qty < rules.min_qty:
        raise VenueRejectError(RejectReason.QTY_MIN, f"{qty} < {rules.min_qty}")
    if qty > rules.max_qty:
        raise VenueRejectError(RejectReason.QTY_MAX, f"{qty} > {rules.max_qty}")
    if notional and type is OrderType.LIMIT and price is not None and price * qty < rules.min_notional:
        raise VenueRejectError(RejectReason.NOTIONAL_MIN, f"{price * qty} < {rules.min_notional}")


def move_position(position: Position, side: Side, price: Decimal, qty: Decimal) -> Decimal:
    """Move a one-way ``position`` by a fill: add at the average entry price, or reduce (and maybe flip)
    realising PnL; returns the PnL realised."""
    signed = qty * side.sign
    if position.qty == 0 or position.qty * signed > 0:
        total = abs(position.qty) + qty
        position.entry_price = (abs(position.qty) * position.entry_price + qty * price) / total
        position.qty += signed
        return ZERO
    closing = min(qty, abs(position.qty))
    direction = 1 if position.qty > 0 else -1
    realized = (price - position.entry_price) * closing * direction
    position.realized_pnl += realized
    position.qty += signed
    if position.qty == 0:
        position.entry_price = ZERO
    elif position.qty * direction < 0:  # flipped: the rest opens at this price
        position.entry_price = price
    return realized


def capped(plan: list[tuple[Decimal, Decimal]], most: Decimal) -> list[tuple[Decimal, Decimal]]:
    """The first levels of ``plan`` up to ``most`` in total (the last one cut)."""
    out = []
    for price, qty in plan:
        take = min(qty, most)
        if take <= 0:
            break
        out.append((price, take))
        most -= take
    return out
