"""Prices and quantities on the venues' grids, decided by arb so no client library rounds an order.

ccxt rounds a price to the *nearest* tick and truncates a quantity to the step; a price off the grid
can therefore move against the order, and two legs sized on different steps can differ. arb puts
every order on the grid itself, in the safe direction, and hands ccxt exact decimal strings on the
grid, so ccxt's own rounding is a no-op:

- a buy's limit rounds **up** to the tick and a sell's **down**: the order stays at least as
  marketable as the kernel asked (an immediate-or-cancel order that rounds away from the book may
  miss the level it was sized on);
- a quantity rounds **down** to the step (never more than the kernel sized), and a pair's two legs
  use one quantity on the coarser of the two steps (:func:`common_step`) so both venues can take it.

Floats from the kernel carry binary noise (``0.1 + 0.2``); a value within a billionth of a step of a
grid point is that grid point, so noise never moves an order by a whole tick.
"""

from __future__ import annotations

__all__ = ["common_step", "grid_price", "grid_qty", "to_decimal", "wire"]

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

_SNAP = Decimal("1e-9")


def to_decimal(value: float | str | Decimal) -> Decimal:
    """The decimal a float means (its shortest repr: ``0.1`` is ``Decimal("0.1")``, not the binary value)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(value))
    return Decimal(value)


def _on_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        raise ValueError(f"a grid step must be positive, got {step}")
    units = value / step
    nearest = units.to_integral_value()
    if abs(units - nearest) <= _SNAP:
        units = nearest
    else:
        units = units.to_integral_value(rounding=rounding)
    return (units * step).quantize(step)


def grid_price(price: float | str | Decimal, tick: float | str | Decimal, side: int) -> Decimal:
    """``price`` on the tick grid: up for a buy (``side`` > 0), down for a sell."""
    return _on_grid(to_decimal(price), to_decimal(tick), ROUND_CEILING if side > 0 else ROUND_FLOOR)


def grid_qty(qty: float | str | Decimal, step: float | str | Decimal) -> Decimal:
    """``qty`` down to the step grid (zero when it is below one step)."""
    return _on_grid(to_decimal(qty), to_decimal(step), ROUND_FLOOR)


def common_step(*steps: float | str | Decimal) -> Decimal:
    """The smallest step every one of ``steps`` divides: a quantity on it is on each venue's grid.

    ``common_step("0.00001", "0.000001") == Decimal("0.00001")``; ``common_step("0.002", "0.003")``
    is ``0.006``.
    """
    decimals = [to_decimal(s) for s in steps]
    if not decimals or any(d <= 0 for d in decimals):
        raise ValueError(f"steps must be positive, got {steps}")
    places = max(max(0, -int(d.normalize().as_tuple().exponent)) for d in decimals)
    scale = Decimal(10) ** places
    lcm = 1
    for d in decimals:
        lcm = math.lcm(lcm, int(d * scale))
    return (Decimal(lcm) / scale).normalize()


def wire(value: Decimal) -> str:
    """A decimal as venues want it on the wire: plain notation, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
