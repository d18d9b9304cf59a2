"""The strategy seam: what a strategy is, and how a run binds one to its compiled drivers.

A strategy is a :class:`Strategy`: a name, one compiled decision function, and optionally its parameters
(a msgspec ``Struct``: the ``[strategy.params]`` table), its memory (a NumPy record layout arb keeps per
symbol) and a cheap ``may_act`` pre-check. Every mode runs it the same way: the backtest's compiled loop
and the live engine's compiled step call arb's guard (:mod:`arb.strategy.guard`), which calls the
strategy's ``decide`` through its machine-code address (:mod:`arb.strategy.calls`) and keeps arb's rules
around it; the risk gate then sees every intent.

The compiled contract (``docs/strategies.md`` is the user's page of it)::

    decide(view, rules, params, memory, now_ns, intents) -> int
    may_act(view, rules, params, now_ns) -> bool            # optional

``view``: ``VIEW_DTYPE``, one record per venue of the run; ``rules``: one ``RULES_DTYPE`` record (the
venues' fees, ticks, lots and minimums, the ``[strategy]``, ``[execution]`` and ``[risk]`` settings arb
keeps); ``params``: one record of the strategy's parameters (``rules`` again when it declares none);
``memory``: one record of its memory, kept between calls; ``intents``: ``INTENT_DTYPE`` buffer of
``MAX_INTENTS``. It returns how many intents it wrote.

The built-in strategies (``taker``, ``maker_taker``: :mod:`arb.strategies.taker`,
:mod:`arb.strategies.maker_taker`) are written through the very same seam.
"""

from __future__ import annotations

__all__ = [
    "NO_MEMORY",
    "Bound",
    "Strategy",
    "bind",
    "broken_text",
    "mark_raised",
    "params_dtype",
    "params_record",
    "raised_text",
    "user_strategy",
]

import functools
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arb._jit import plain
from arb.strategy.calls import address, decide_types, may_act_types
from arb.strategy.state import StrategyPart
from arb.strategy.types import (
    BROKEN_COUNT,
    BROKEN_KIND,
    BROKEN_PAIR,
    BROKEN_PRICE,
    BROKEN_QTY,
    BROKEN_RAISED,
    BROKEN_SIDE,
    BROKEN_VENUE,
    CONTRACT_BROKEN,
    INTENT_DTYPE,
    MAX_INTENTS,
    RULES_DTYPE,
    VIEW_DTYPE,
)

NO_MEMORY = np.dtype([("_", "i8")], align=True)
"""The memory of a strategy that declares none (one unused field)."""


_FIELD_TYPES: dict[type, str] = {float: "f8", int: "i8", bool: "?"}


@dataclass(frozen=True, eq=False)
class Strategy:
    """A strategy, as a user's module declares it (``ZScore = Strategy(name=..., decide=...)``).

    ``decide``: a Numba-compiled function (``@numba.njit(cache=True)``) with the seam's contract (see the
    module). ``params``: a ``msgspec.Struct`` class whose fields (``float``, ``int`` or ``bool``, each with
    a default) are the ``[strategy.params]`` table; None: the strategy reads its settings from ``rules``.
    ``memory``: a NumPy record dtype (numbers and fixed-shape arrays of numbers) arb keeps per symbol,
    starting at zero; None: none. ``may_act``: an optional compiled pre-check, False only when ``decide``
    would certainly write nothing and change no memory (drivers then skip filling the deeper levels)."""

    name: str
    decide: Any
    params: type[Any] | None = None
    memory: np.dtype[Any] | None = None
    may_act: Any = None
    quotes: bool = False
    """Whether it writes quotes (``INTENT_QUOTE``, ``INTENT_CANCEL``): the drivers then keep quote slots
    and model resting orders for its symbols."""
    summary: str = ""
    origin: str = field(default="", compare=False)
    """Where it was loaded from (``arb`` for the built-ins, else the module or file named)."""

    @property
    def memory_dtype(self) -> np.dtype[Any]:
        """Its memory's record layout (``NO_MEMORY`` when it declares none)."""
        return self.memory if self.memory is not None else NO_MEMORY


@functools.cache
def params_dtype(struct: Any) -> np.dtype[Any]:
    """The record layout of a strategy's parameters: one field per field of the msgspec ``Struct``
    ``struct``, in its order (``float``: f8, ``int``: i8, ``bool``: bool; a field may carry msgspec
    constraints, ``Annotated[float, msgspec.Meta(gt=0)]``). Raises TypeError naming a field of another type.
    The same object for the same struct (compiled code finds its machine code by it)."""
    import msgspec

    fields = []
    for info in msgspec.structs.fields(struct):
        hint = info.type
        if typing.get_origin(hint) is typing.Annotated:  # a constraint (msgspec.Meta(gt=0)): checked on load
            hint = typing.get_args(hint)[0]
        kind = _FIELD_TYPES.get(hint) if isinstance(hint, type) else None
        if kind is None:
            raise TypeError(f"parameter {info.name!r} is {info.type!r}: a strategy's parameters are float, int or bool")
        fields.append((info.name, kind))
    if not fields:
        fields.append(("_", "i8"))
    return np.dtype(fields, align=True)


def params_record(values: Sequence[Any], dtype: np.dtype[Any]) -> np.ndarray[Any, np.dtype[Any]]:
    """One record of ``dtype`` per symbol from the parameter structs ``values`` (one per symbol)."""
    out = np.zeros(len(values), dtype)
    for s, value in enumerate(values):
        for name in dtype.names or ():
            if name != "_":
                out[s][name] = getattr(value, name)
    return out


@dataclass
class Bound:
    """A run's strategy per symbol, bound to the compiled drivers: what they take as the kernel's strategy
    (:attr:`part`, :attr:`arb.strategy.state.Kernel.strategy`). Keeps the strategies (their compiled code
    must live as long as the addresses do)."""

    strategies: tuple[Strategy, ...]
    addresses: np.ndarray[Any, np.dtype[Any]]
    """Per symbol, the addresses of its ``decide`` and ``may_act`` (0: none), int64 (symbols, 2)."""
    params: np.ndarray[Any, np.dtype[Any]]
    """Per symbol, its parameters record (the rules records themselves when the strategy has none)."""
    memory: np.ndarray[Any, np.dtype[Any]]
    """Per symbol, the strategy's memory record."""

    def param(self, s: int, name: str) -> float:
        """Symbol ``s``'s strategy's own parameter ``name`` (what reports and the dashboard show by that
        name: the built-ins' ``min_spread_bps``), NaN when its strategy declares no parameter of that name."""
        struct = self.strategies[s].params
        if struct is None or name not in (params_dtype(struct).names or ()):  # type: ignore[arg-type]
            return float("nan")
        return float(self.params[s][name])

    @property
    def part(self) -> StrategyPart:
        """The strategy as :func:`arb.strategy.guard.guarded_decide` reads it (a
        :class:`~arb.strategy.state.StrategyPart`): compiled, the parameters and the memory as their bytes (a
        ``uint8`` row per symbol, the same memory as :attr:`params` and :attr:`memory`), so that the drivers'
        argument types are the same for every strategy and they are compiled once, not once per strategy's
        records (:mod:`arb.strategy.calls` hands each row to the strategy as its one record); plain Python
        (``NUMBA_DISABLE_JIT``), the records themselves."""
        if plain():
            return StrategyPart(self.addresses, self.params, self.memory)
        return StrategyPart(self.addresses, as_bytes(self.params), as_bytes(self.memory))


def as_bytes(records: np.ndarray[Any, np.dtype[Any]]) -> np.ndarray[Any, np.dtype[Any]]:
    """A record per row as its bytes: ``(len(records), itemsize)`` ``uint8``, the same memory (no copy)."""
    if not records.flags.c_contiguous:
        raise ValueError("a strategy's records must be one contiguous array")
    return records.view(np.uint8).reshape(len(records), records.dtype.itemsize)


def bind(
    strategies: Sequence[Strategy],
    rules: np.ndarray[Any, np.dtype[Any]],
    params: Sequence[Any] | None = None,
    *,
    compiled: bool = True,
) -> Bound:
    """Bind one strategy per symbol (``strategies[s]``) for a run whose rules records are ``rules`` (a
    ``RULES_DTYPE`` record per symbol): compile (or load from their caches) each strategy's functions for
    the drivers' argument types and take their addresses. ``params``: each symbol's parameter struct
    (for strategies that declare parameters). Every symbol's strategy must have the same parameter and
    memory layouts (one record array each). ``compiled=False``: nothing compiled, every address 0: a
    binding of the right types for compiling the drivers ahead, never to run."""
    if len(strategies) != len(rules):
        raise ValueError(f"expected a strategy per symbol ({len(rules)}), got {len(strategies)}")
    first = strategies[0]
    for other in strategies[1:]:
        if other.params is not first.params or other.memory_dtype != first.memory_dtype:
            raise ValueError(f"strategies {first.name!r} and {other.name!r} cannot share a run: their records differ")
    if first.params is None:
        records = rules
    else:
        dtype = params_dtype(first.params)  # type: ignore[arg-type]
        values = params if params is not None else [first.params() for _ in strategies]
        records = params_record(values, dtype)
    memory = np.zeros(len(strategies), first.memory_dtype)
    addresses = np.zeros((len(strategies), 2), np.int64)
    found: dict[int, tuple[int, int]] = {}
    for s, strategy in enumerate(strategies):
        if not compiled:
            continue
        if id(strategy) not in found:
            decide_at = address(
                strategy.decide, decide_types(VIEW_DTYPE, RULES_DTYPE, records.dtype, memory.dtype, INTENT_DTYPE)
            )
            may_at = 0
            if strategy.may_act is not None:
                may_at = address(strategy.may_act, may_act_types(VIEW_DTYPE, RULES_DTYPE, records.dtype))
            found[id(strategy)] = (decide_at, may_at)
        addresses[s] = found[id(strategy)]
    return Bound(tuple(strategies), addresses, records, memory)


_BROKEN_RULES = {
    BROKEN_COUNT: "returned {count} intents (expected 0 to the buffer's {room})",
    BROKEN_VENUE: "wrote intent {index} for venue {venue} (the run's venues are 0 to {last})",
    BROKEN_SIDE: "wrote intent {index} with side {side} (expected BUY 1 or SELL -1)",
    BROKEN_KIND: "wrote intent {index} of kind {kind} (a strategy writes INTENT_OPEN 1, INTENT_QUOTE 4 or "
    "INTENT_CANCEL 5)",
    BROKEN_PRICE: "wrote intent {index} with price {price!r} (expected a positive finite number)",
    BROKEN_QTY: "wrote intent {index} with quantity {qty!r} (expected a positive finite number)",
    BROKEN_PAIR: "wrote open legs that are not a pair (from intent {index}: one side only, or buys and sells of "
    "unequal quantity)",
}


def raised_text(strategies: Sequence[Strategy], error: BaseException) -> str:
    """The words of a halt because a strategy of the run raised ``error`` in a decision (a strategy's
    exception comes out of the compiled drivers as Python's): which strategy, where it came from, the
    exception."""
    strategy = next((s for s in strategies if s.origin != "arb"), strategies[0])
    where = f" ({strategy.origin})" if strategy.origin and strategy.origin != "arb" else ""
    return (f"strategy {strategy.name!r}{where} raised {type(error).__name__}: {error}: nothing of that decision "
            "was sent, and nothing new is (a lone leg is still hedged); run it on arb.strategy.testkit.Bench "
            "with NUMBA_DISABLE_JIT=1 to see the line")  # fmt: skip


def mark_raised(state: np.ndarray[Any, np.dtype[Any]], now_ns: int) -> None:
    """Every symbol of arb's ``state`` records stops on a strategy's exception at ``now_ns``:
    ``CONTRACT_BROKEN`` (``broken``: ``BROKEN_RAISED``, where it was not broken already), so the guard
    calls the strategy no more and sends nothing new but a lone leg's hedge."""
    fresh = (state["flags"] & CONTRACT_BROKEN) == 0
    state["flags"] |= CONTRACT_BROKEN
    state["broken"][fresh] = BROKEN_RAISED
    state["broken_ns"][fresh] = now_ns


def user_strategy(strategies: Sequence[Strategy]) -> bool:
    """Whether any of ``strategies`` is not one of arb's own (an exception in a decision is then the
    strategy's to answer for, not a defect of arb's)."""
    return any(s.origin != "arb" for s in strategies)


def broken_text(
    strategies: Sequence[Strategy], state: np.ndarray[Any, np.dtype[Any]], symbols: Sequence[str], n_venues: int
) -> str:
    """What the first symbol whose strategy broke its contract did, in words: the strategy, where it came
    from, the symbol, the time and the rule (``state``: arb's state records, a row per symbol). Empty when
    none did."""
    for s, st in enumerate(state):
        if not int(st["flags"]) & CONTRACT_BROKEN:
            continue
        strategy = strategies[s] if s < len(strategies) else strategies[0]
        rule = _BROKEN_RULES.get(int(st["broken"]), "broke its contract (rule {code})").format(
            count=int(st["broken_count"]), room=MAX_INTENTS, index=int(st["broken_index"]),
            venue=int(st["broken_venue"]), last=n_venues - 1, side=int(st["broken_side"]),
            kind=int(st["broken_kind"]), price=float(st["broken_price"]), qty=float(st["broken_qty"]),
            code=int(st["broken"]),
        )  # fmt: skip
        where = f" ({strategy.origin})" if strategy.origin and strategy.origin != "arb" else ""
        symbol = symbols[s] if s < len(symbols) else str(s)
        return (f"strategy {strategy.name!r}{where} {rule} for {symbol} at {int(st['broken_ns'])} ns: nothing of "
                "that decision was sent, and the symbol sends nothing new")  # fmt: skip
    return ""
