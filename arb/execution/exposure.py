"""Exposure as data: a lone leg left open on one venue, computed once and worded where it is shown.

A session whose kernel gave up hedging a lone leg (``HEDGE_FAILED``) holds exposure until a person (or
``arb kill``) closes it: :func:`naked_legs` reads the engine's arrays (positions, mids, kernel flags)
and returns one :class:`Exposure` per venue holding the leg, for every symbol whose net is more than
dust. The terminal lines (the dry run's and ``arb live``'s) and the ops events word the same records
with :func:`naked_leg_text`, so every place says the same thing and nothing parses a line back.
"""

from __future__ import annotations

__all__ = ["Exposure", "naked_leg_lines", "naked_leg_text", "naked_legs"]

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Exposure:
    """A position left exposed on one venue, for one symbol.

    ``position`` is signed, base units; ``value`` is its absolute value at the venue's mid, quote
    units (None: no price)."""

    venue: str
    symbol: str
    position: float
    value: float | None = None

    @property
    def side(self) -> str:
        """``"long"`` or ``"short"``."""
        return "long" if self.position > 0 else "short"

    @property
    def qty(self) -> float:
        """The position's size, base units."""
        return abs(self.position)

    def fields(self) -> dict[str, Any]:
        """The record as plain values (an event's fields, JSON)."""
        return {"venue": self.venue, "symbol": self.symbol, "side": self.side, "qty": self.qty,
                "position": self.position, "value": self.value}  # fmt: skip


class _Engine(Protocol):
    # what naked_legs reads of arb.live.engine.Engine
    kernel_state: Any
    position: Any
    last_mid: Any

    # .symbols: each traded symbol's .name and .instruments (per venue in the run's order: .lot_size,
    # .min_qty, .min_notional); .venue_names; .execution
    @property
    def config(self) -> Any: ...


def naked_legs(engine: _Engine) -> list[Exposure]:
    """Each venue's leg (at least one lot) of every symbol whose kernel has given up hedging it
    (``HEDGE_FAILED``) and whose net across the venues is more than dust (some venue would take an
    order for it: its lot, minimum quantity and notional at its mid). Symbol order, then the run's venue
    order (every venue of the run: a leg may sit on any of them)."""
    from arb.strategy.types import HEDGE_FAILED

    out = []
    names = engine.config.venue_names
    for s, sym in enumerate(engine.config.symbols):
        if not int(engine.kernel_state[s]["flags"]) & HEDGE_FAILED:
            continue
        if _is_dust(sym.instruments, engine.last_mid[s], float(sum(engine.position[s, v] for v in range(len(names))))):
            continue
        lot = min(i.lot_size for i in sym.instruments)
        for v, name in enumerate(names):
            position = float(engine.position[s, v])
            if abs(position) >= lot:
                mid = float(engine.last_mid[s, v])
                value = abs(position) * mid if np.isfinite(mid) else None
                out.append(Exposure(name, sym.name, position, value))
    return out


def _is_dust(instruments: Any, mids: Any, net: float) -> bool:
    # As the kernel sees it: no venue would take an order for the net (lot, minimum quantity and notional).
    from arb.strategy.legs import floor_to_grid

    for v, instrument in enumerate(instruments):
        qty = floor_to_grid(abs(net), instrument.lot_size)
        mid = float(mids[v])
        if qty > 0.0 and qty >= instrument.min_qty * (1 - 1e-9) and not (qty * mid < instrument.min_notional):
            return False
    return True


def naked_leg_text(leg: Exposure, attempts: int, *, named: bool) -> str:
    """The loud line of a naked leg (``named``: with the symbol, when several are traded)::

    NAKED LEG after 3 hedge attempts: binance long 0.002 (mark value 120.00); no new pair until it is
    closed (arb kill flattens it)
    """
    value = f"{leg.value:,.2f}" if leg.value is not None else "unknown"
    where = f"{leg.venue} {leg.symbol}" if named else leg.venue
    return (
        f"NAKED LEG after {attempts} hedge attempts: {where} {leg.side} {leg.qty:.8g} (mark value {value}); "
        "no new pair until it is closed (arb kill flattens it)"
    )


def naked_leg_lines(engine: _Engine) -> list[str]:
    """The loud line of each naked leg :func:`naked_legs` finds (the symbol named when several are
    traded): what the terminal prints, word for word in the dry run and ``arb live``."""
    legs = naked_legs(engine)
    if not legs:
        return []
    attempts = engine.config.execution.max_hedge_attempts
    several = len(engine.config.symbols) > 1
    return [naked_leg_text(leg, attempts, named=several) for leg in legs]
