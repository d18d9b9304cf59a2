"""Whether a configuration can ever open a pair, told before anything runs (``arb check``).

A configuration can be valid key by key and still trade nothing: a ``position_limit`` below the
smallest order both venues of a pair accept, a ``max_notional_per_venue`` below their minimum notional, a
``max_order_size`` below their minimum quantity. :func:`pair_blockers` finds those by running the
strategy's own rules, not a copy of them: the kernel's sizing (the smallest step both venues of the pair accept,
the pair's cap from the order size, the per-venue bands and the spot holdings) and the risk gate
itself (:func:`arb.execution.risk.gate`), on the smallest pair the venues accept, from flat
positions and the configured balances, at the price where that pair is smallest both in quantity and
in value (the minimum notional over the minimum quantity): a limit that refuses it there refuses
every pair at any price. Limits that depend on the price and the balances together (capital use, a
symbol's share, margin) are left out: they refuse some pairs, never provably all.

A configuration can also let the smallest pair through and refuse every pair the kernel actually
sizes: :func:`full_size_blockers` runs the gate on the largest pair the kernel sizes from flat (the
order size within the per-venue bands and the spot holdings) and reports the refusals that hold at any
price for it: a ``position_limit`` below ``max_order_size`` refuses every pair of that size, which is
every pair a book deep enough to fill it gives.

The functions run as plain Python (the compiled functions' ``py_func``), so checking a configuration
compiles nothing: it takes a fraction of a second, even on a fresh install.

:func:`resting_quotes` says, for each venue where the ``maker_taker`` style rests quotes, what happens to
them if the process dies: the venue's dead-man's switch cancels them within ``[live] dead_man_window_s``,
or, where the venue-market has none (e.g. Binance spot) or the window is 0, they stay on the book until a
person or the next start cancels them. :func:`unguarded_quotes_refusal` is ``arb live``'s rule on it:
quotes rest where no switch guards them only when ``[live] quotes_without_dead_man`` says so.
"""

from __future__ import annotations

__all__ = [
    "Blocker",
    "RestingQuotes",
    "full_size_blockers",
    "pair_blockers",
    "resting_quotes",
    "unguarded_quotes_refusal",
    "untraded_venues_refusal",
]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from arb.config import AppConfig
from arb.execution.risk import (
    BREACH_NAMES,
    event_text,
    gate,
    limits_of,
    new_risk_state,
    new_symbol_risk_state,
    quote_currency,
)
from arb.strategies import taker as kernel
from arb.strategy import legs
from arb.strategy.loading import strategy_of
from arb.strategy.rules import rules_of
from arb.strategy.types import BUY, INTENT_OPEN, SELL, VENUE_OK, new_intents, new_views

# The gate's refusals that hold at every price when they hold for the smallest pair at the price
# where it is smallest (by their B_* code in the gate's state, named by BREACH_NAMES): the net
# position, the value on one venue, every symbol's value together, the unanswered orders.
_EVERY_PRICE = frozenset({"position_limit", "max_notional_per_venue", "max_total_notional", "max_open_orders"})
# What turns a refusal off, to look for the next one: a limit set out of reach (or off, where 0 is off).
_OUT_OF_REACH: dict[str, float] = {
    "position_limit": np.inf,
    "max_notional_per_venue": np.inf,
    "max_total_notional": 0.0,
    "max_open_orders": 1 << 40,
    "max_capital_use": 0.0,
    "max_symbol_share": 0.0,
    "leverage": 0.0,
    "min_liquidation_distance": 0.0,
}
_SIZE_KEYS = ("max_order_size", "max_position_size")
# The gate's refusals of a pair by its quantity alone (the net position if one leg filled alone):
# a pair of that size is refused at any price.
_POSITION_LIMITS = frozenset({"position_limit"})


@dataclass(frozen=True, slots=True)
class Blocker:
    """One reason a symbol can never open a pair: the key to change (dotted, as in the file that
    sets it) and what happens, in the gate's or the kernel's words."""

    symbol: str
    key: str
    text: str


def pair_blockers(config: AppConfig) -> list[Blocker]:
    """Every symbol's reasons never to open a pair (empty: each symbol can open some pair).

    A symbol is blocked when no direction (buy on one venue of the run, sell on another) can open its
    smallest pair: the kernel would never size one, or the risk gate refuses it by a limit that
    would refuse it at any price. Each reason is given once per symbol.
    """
    return _blocked_both_ways(config, _direction)


def full_size_blockers(config: AppConfig) -> list[Blocker]:
    """Every symbol's reasons to refuse each pair the kernel sizes at its full size (empty: a full-size
    pair passes in some direction, buying on one venue and selling on another): the gate's refusals that
    hold at any price (:data:`_POSITION_LIMITS`) of the largest pair the kernel sizes from flat positions
    and the configured balances."""
    return _blocked_both_ways(config, _full_size)


def _directions(n_venues: int) -> list[tuple[int, int]]:
    # Every direction a pair can take: (buy venue, sell venue), each ordered pair of different venues, in the
    # kernel's order (two venues: buy on 0 and sell on 1, then the other way).
    return [(b, sell) for b in range(n_venues) for sell in range(n_venues) if sell != b]


def _blocked_both_ways(
    config: AppConfig, why: Callable[[AppConfig, int, Any, Any, tuple[int, int]], list[Blocker]]
) -> list[Blocker]:
    # Each symbol blocked in every direction (``why`` says why one direction is: buy on venue b, sell on venue
    # sell), with each reason (a config key) once per symbol.
    params = rules_of(config)
    limits = limits_of(config)
    out: list[Blocker] = []
    for s in range(len(config.symbols)):
        found = [why(config, s, params[s : s + 1], limits[s : s + 1], d) for d in _directions(len(config.venues))]
        if all(found):
            first: dict[str, Blocker] = {}
            for blocker in (b for reasons in found for b in reasons):
                first.setdefault(blocker.key, blocker)
            out.extend(first.values())
    return out


def _full_size(config: AppConfig, s: int, params: Any, limits: Any, direction: tuple[int, int]) -> list[Blocker]:
    # Why the largest pair the kernel sizes buying on venue b and selling on venue sell is refused at any
    # price (empty: it passes).
    sym = config.symbols[s]
    b, sell = direction
    p = params[0]
    lot = float(p["pair_lot"])  # the kernel's grid for a pair: a multiple of every venue's lot
    price = max(p["tick_size"][b], p["tick_size"][sell])  # the position limit is in base units: any price
    view = _flat_view(config, s, price)
    # the rules record as the taker's rules and its parameters both: it carries [strategy]'s sizing keys too
    qty = float(_plain(legs.floor_to_grid)(_plain(kernel._pair_cap)(view, p, p, b, sell), lot))
    if qty <= 0.0:
        return []  # nothing sized at all: pair_blockers says why
    st = _refusal(view.reshape(1, -1), limits.copy(), direction, price, qty)
    if st is None:
        return []
    code = int(st["breach"])
    key = BREACH_NAMES[code][1]
    if key not in _POSITION_LIMITS:
        return []
    text = event_text(code, float(st["breach_value"]), float(st["breach_limit"]), limits, quote_currency(sym.name))
    order = _symbol_key(config, s, "strategy", "max_order_size")
    return [Blocker(sym.name, _symbol_key(config, s, "risk", key), f"{text}, for the pair of {qty:g} the kernel sizes "
                    f"({order} {sym.strategy.max_order_size:g}, within the bands and holdings)")]  # fmt: skip


def _plain(fn: Any) -> Any:
    # A compiled function's Python original (itself when Numba compiles nothing: NUMBA_DISABLE_JIT).
    return getattr(fn, "py_func", fn)


def _refusal(views: Any, limits: Any, direction: tuple[int, int], price: float, qty: float) -> Any:
    # The gate's state after it refused a pair of ``qty`` buying on venue b and selling on venue sell
    # (``direction``) at ``price``; None when it passed.
    b, sell = direction
    intents = new_intents()
    intents[0] = (b, BUY, price, qty, INTENT_OPEN, 1, 0)
    intents[1] = (sell, SELL, price, qty, INTENT_OPEN, 1, 0)
    state = new_risk_state()
    # The compiled gate's Python original: the same rules, nothing compiled to check a file.
    if _plain(gate)(views, 0, limits, state, new_symbol_risk_state(1), intents, 2, 0) > 0:
        return None
    return state[0]


def _direction(config: AppConfig, s: int, params: Any, limits: Any, direction: tuple[int, int]) -> list[Blocker]:
    # Why symbol s can never open a pair buying on venue b and selling on venue sell (empty: it can).
    sym = config.symbols[s]
    b, sell = direction
    p = params[0]
    lot = float(p["pair_lot"])  # the kernel's grid for a pair: a multiple of every venue's lot
    need = _plain(kernel._min_step_qty)(p, b, sell, np.inf)  # the smallest quantity both accept, at any price
    qty = _plain(legs.ceil_to_grid)(need, lot)
    notional = max(p["min_notional"][b], p["min_notional"][sell])
    price = notional / qty if notional > 0.0 else max(p["tick_size"][b], p["tick_size"][sell])
    view = _flat_view(config, s, price)
    sizing = _sizing_blockers(config, s, view, p, b, sell, qty, lot)
    if sizing:
        return sizing
    views = view.reshape(1, -1)
    limits = limits.copy()
    quote = quote_currency(sym.name)
    out: list[Blocker] = []
    for _ in _OUT_OF_REACH:
        st = _refusal(views, limits, direction, price, qty)
        if st is None:
            return out
        code = int(st["breach"])
        key = BREACH_NAMES[code][1]
        if key not in _OUT_OF_REACH:  # nothing else refuses a first pair from a fresh state
            break
        if key in _EVERY_PRICE:
            text = event_text(code, float(st["breach_value"]), float(st["breach_limit"]), limits, quote)
            out.append(Blocker(sym.name, _symbol_key(config, s, "risk", key), text))
        limits[key] = _OUT_OF_REACH[key]
    return out


def _sizing_blockers(
    config: AppConfig, s: int, view: Any, p: Any, b: int, sell: int, qty: float, lot: float
) -> list[Blocker]:
    # The kernel's cap on a pair (order size, per-venue bands, spot holdings to sell) below the
    # smallest pair its two venues accept: the kernel never sizes one. Each cause on its own.
    def cap(params: Any, v: Any) -> float:
        return float(_plain(legs.floor_to_grid)(_plain(kernel._pair_cap)(v, params, params, b, sell), lot))

    if cap(p, view) + legs.GRID_EPS * lot >= qty:
        return []
    sym = config.symbols[s]
    base = sym.name.removesuffix(quote_currency(sym.name))
    out = []
    for key in _SIZE_KEYS:
        alone = p.copy()
        for other in _SIZE_KEYS:
            if other != key:
                alone[other] = np.inf
        wide = view.copy()
        wide["base_balance"] = np.inf
        if cap(alone, wide) + legs.GRID_EPS * lot < qty:
            out.append(Blocker(sym.name, _symbol_key(config, s, "strategy", key), (
                f"{key} {p[key]:g} is below the smallest order both venues accept, {qty:g} {base} (their minimum "
                "quantity, on a lot both take): the kernel never sizes a pair"
            )))  # fmt: skip
    if not out:  # the spot holdings on the selling venue
        venue = config.venues[sell]
        out.append(Blocker(sym.name, _base_key(config, s, sell), (
            f"the {base} held on {venue.name}, {sym.base[sell]:g}, is below the smallest order both venues accept, "
            f"{qty:g} {base}: the kernel never sells there"
        )))  # fmt: skip
    return out


def _flat_view(config: AppConfig, s: int, price: float) -> Any:
    # Every venue of the run usable, flat, with the configured balances, their mids at ``price``.
    view = new_views(1, len(config.venues))[0]
    for v, venue in enumerate(config.venues):
        rec = view[v]
        rec["bid_px"][0] = rec["ask_px"][0] = price
        rec["bid_qty"][0] = rec["ask_qty"][0] = np.inf
        rec["status"] = VENUE_OK
        rec["base_balance"] = config.symbols[s].base[v]
        rec["quote_balance"] = venue.account.quote
    return view


def _symbol_key(config: AppConfig, s: int, section: str, key: str) -> str:
    # ``key`` of ``[risk]`` or ``[strategy]`` (``section``) as symbol s sets it: its override, else the section's.
    name = config.symbols[s].name
    overrides = config.symbol_overrides.get(name)
    overridden = overrides is not None and key in getattr(overrides, section)
    return f"symbols.{name}.{key}" if overridden else f"{section}.{key}"


def _base_key(config: AppConfig, s: int, v: int) -> str:
    name = config.symbols[s].name
    venue = config.venues[v]
    overrides = config.symbol_overrides.get(name)
    if overrides is not None and "base" in overrides.venue(venue.name):
        return f"symbols.{name}.{venue.name}.base"
    return f"{venue.path.name}: account.base"


@dataclass(frozen=True, slots=True)
class RestingQuotes:
    """What happens to the quotes resting on one maker venue if arb dies."""

    venue: str
    market: str
    guarded: bool
    """Whether a dead-man's switch cancels them (the venue-market has one and the window is not 0)."""
    fate: str
    """In a few words (``"cancelled by the venue within 30 s (disconnect-cancel-all)"``)."""
    unguarded_because: str = ""
    """Why no switch guards them (``"Binance spot has no dead-man's switch"``; empty when one does)."""

    def text(self) -> str:
        """The line ``arb check`` and ``arb live``'s start print (``"<venue> spot quotes if arb dies: ..."``)."""
        return f"{self.venue} {self.market} quotes if arb dies: {self.fate}"


def _quoting_venues(config: AppConfig) -> set[str]:
    # Where quotes may rest: the built-in maker_taker's maker_venues; a strategy of the user's that quotes
    # may quote on every venue of the run (the guard keeps its slots, not its venues).
    strategy = strategy_of(config)
    if not strategy.quotes:
        return set()
    if strategy.origin == "arb":
        return {name for sym in config.symbols for name in sym.strategy.maker_venues}
    return set(config.venue_names)


def resting_quotes(config: AppConfig) -> list[RestingQuotes]:
    """Each venue where some symbol's ``maker_taker`` style rests quotes, in the run's order, with what happens
    to them if arb dies (empty when every symbol takes on every venue: immediate-or-cancel orders leave
    nothing open). Whether a venue-market has a switch is its private adapter's word
    (``PrivateVenue.dead_man``); ``[live] dead_man_window_s = 0`` arms none anywhere."""
    quoting = _quoting_venues(config)
    if not quoting:
        return []  # before the adapters load: `arb check` of a taker configuration stays light
    from arb.catalog import venue_facts
    from connectors.common.private import DeadManScope
    from connectors.registry import private_venue
    from connectors.registry import venue as connector

    switches = {  # each scope's switch, in words
        DeadManScope.SYMBOL: "its countdown cancel, renewed every quarter window",
        DeadManScope.PRODUCT: "disconnect-cancel-all, from when the private stream drops",
        DeadManScope.ACCOUNT: "its account-wide countdown cancel, renewed every quarter window",
    }
    window_s = config.live.dead_man_window_ns // 1_000_000_000
    out = []
    for venue in config.venues:
        if venue.name not in quoting or not connector(venue.name).trades_live:  # untraded_venues_refusal's
            continue
        scope = private_venue(venue.name, venue.market).dead_man
        if scope is DeadManScope.NONE:
            why = f"{venue_facts(venue.name).title} {venue.market} has no dead-man's switch"
        elif window_s == 0:
            why = "[live] dead_man_window_s = 0 arms no dead-man's switch"
        else:
            fate = f"cancelled by the venue within {window_s} s ({switches[scope]})"
            out.append(RestingQuotes(venue.name, venue.market, True, fate))
            continue
        fate = f"left resting until a person cancels them (arb kill) or the next start's reconciliation does: {why}"
        out.append(RestingQuotes(venue.name, venue.market, False, fate, why))
    return out


def unguarded_quotes_refusal(config: AppConfig) -> str | None:
    """Why ``arb live`` must not start (None: it may): quotes would rest on a venue where no dead-man's
    switch cancels them if arb dies, and ``[live] quotes_without_dead_man`` does not say that is meant."""
    if config.live.quotes_without_dead_man:
        return None
    unguarded = [q for q in resting_quotes(config) if not q.guarded]
    if not unguarded:
        return None
    why = "; ".join(q.unguarded_because for q in unguarded)
    where = " and ".join(f"{q.venue} {q.market}" for q in unguarded)
    return (
        f"{why}: quotes resting on {where} would stay on the book if arb died, until a person or the next start "
        f"cancelled them: set [live] quotes_without_dead_man = true in {config.path.name} to "
        "quote there knowingly, or quote on a venue with a dead-man's switch ([strategy] maker_venues)"
    )


def untraded_venues_refusal(config: AppConfig) -> str | None:
    """Why ``arb live`` must not start with this run's venues (None: it may): a venue of the run has no
    private side (no orders, fills or wallets in its connector yet); it can be recorded, backtested and
    paper-traded only."""
    from arb.catalog import venue_facts
    from connectors.registry import venue as connector

    public_only = [v.name for v in config.venues if not connector(v.name).trades_live]
    if not public_only:
        return None
    titles = ", ".join(venue_facts(name).title for name in public_only)
    return (
        f"{titles}: no private side yet (orders, fills, wallets), so arb live cannot trade "
        f"{'it' if len(public_only) == 1 else 'them'}; expected only venues arb live trades, "
        f"or arb dry-run to paper-trade {', '.join(public_only)}"
    )
