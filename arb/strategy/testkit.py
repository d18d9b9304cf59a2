"""A strategy on the bench: one symbol's decisions, arb's guard around them, without a venue or a driver.

:class:`Bench` holds what a driver would hold for one symbol (arb's state record, the strategy's
memory and parameters, an intents buffer) and runs a decision exactly as the drivers do
(:func:`arb.strategy.guard.guarded_decide`: arb's rules, the strategy, the contract and what the
venues take; the risk gate is the drivers' and not run here). Tests of a strategy build views with
:func:`view` and assert on what :meth:`Bench.decide` returns::

    bench = Bench(MyStrategy, rules=rules_for(n_venues=2, taker_fee=0.001), params=MyStrategy.params(size=0.01))
    got = bench.decide(view(bid=[(100.0, 1.0), (101.0, 1.0)], ask=[(100.5, 1.0), (101.2, 1.0)]), now_ns=0)
    assert [(i["venue"], i["side"]) for i in got] == [(0, BUY), (1, SELL)]

``Bench.tape(...)`` runs a scripted tape (a view per time) and returns every decision's intents.
``Bench.raw(...)`` shows what the strategy itself wrote on a view, before arb's guard (when
:meth:`Bench.decide` keeps less than expected: ``bench.state["refused"]`` counts what the venues would
not take, :attr:`Bench.broken` says in words how the contract was broken).
"""

from __future__ import annotations

__all__ = ["Bench", "rules_for", "view"]

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from arb.strategy.builtin import is_builtin, params_from_rules
from arb.strategy.guard import guarded_decide, may_decide
from arb.strategy.seam import Bound, Strategy, bind, broken_text
from arb.strategy.state import Kernel
from arb.strategy.types import (
    MARKET_LINEAR,
    MARKET_SPOT,
    RULES_DTYPE,
    VENUE_OK,
    new_intents,
    new_state,
    new_views,
)

Array = np.ndarray[Any, np.dtype[Any]]


def rules_for(n_venues: int = 2, **settings: Any) -> Array:
    """One ``RULES_DTYPE`` record as a run would build it, with sensible defaults for a bench (every venue
    spot, tick 0.01, lot 0.0001, no minimum, taker fee 0.001, ten book levels), changed by ``settings``:
    a field's name and its value (a per-venue field takes a value for every venue or a sequence)."""
    rules = np.zeros(1, RULES_DTYPE)
    r = rules[0]
    defaults: dict[str, Any] = {
        "min_spread_bps": 5.0, "slippage_bps": 1.0, "max_order_size": 1.0, "max_position_size": 10.0,
        "position_limit": 10.0, "book_levels": 10, "max_hedge_attempts": 3, "hedge_retry_ns": 1_000_000_000,
        "stop_loss_bps": 50.0, "taker_fee": 0.001, "maker_fee": 0.0002, "tick_size": 0.01, "lot_size": 0.0001,
        "min_qty": 0.0, "min_notional": 0.0, "market": MARKET_SPOT, "pair_lot": 0.0001, "quote_size": 0.1,
        "quote_hold_ns": 1_000_000_000, "funding_interval_ns": 8 * 3_600_000_000_000,
    }  # fmt: skip
    for name, value in {**defaults, **settings}.items():
        if RULES_DTYPE[name].shape:
            values = list(value) if isinstance(value, Sequence) else [value] * n_venues
            r[name][: len(values)] = values
        else:
            r[name] = value
    return rules


def view(
    bid: Sequence[Sequence[tuple[float, float]]] | None = None,
    ask: Sequence[Sequence[tuple[float, float]]] | None = None,
    n_venues: int = 2,
    **fields: Sequence[Any],
) -> Array:
    """A view of ``n_venues`` venues, every book synced and fresh (``VENUE_OK``): ``bid[v]`` and ``ask[v]``
    venue ``v``'s levels, best first, as (price, quantity); ``fields``: any other view field, one value
    per venue (``position=[0.1, -0.1]``, ``quote_balance=[1e4, 1e4]``, ``funding_rate=[...]``).
    Balances default to plenty (10 base, 1,000,000 quote)."""
    out: Array = new_views(1, n_venues)[0]
    out["status"] = VENUE_OK
    out["base_balance"] = 10.0
    out["quote_balance"] = 1_000_000.0
    for side, levels in (("bid", bid), ("ask", ask)):
        for v, book in enumerate(levels or ()):
            for k, (price, qty) in enumerate(book):
                out[v][f"{side}_px"][k] = price
                out[v][f"{side}_qty"][k] = qty
    for name, values in fields.items():
        for v, value in enumerate(values):
            out[v][name] = value
    return out


class Bench:
    """One symbol's strategy with arb's guard, as the drivers run it (module docstring).

    ``rules``: a ``RULES_DTYPE`` record (:func:`rules_for`); ``params``: the strategy's parameter
    struct (its defaults when omitted; a built-in's, ``taker`` or ``maker_taker``, read from the rules
    record's ``[strategy]`` settings, as ``rules_for(min_spread_bps=...)`` set them); ``linear``: mark every
    venue a perpetual (``MARKET_LINEAR``)."""

    def __init__(
        self, strategy: Strategy, rules: Array | None = None, params: Any = None, linear: bool = False
    ) -> None:
        self.strategy = strategy
        self.rules: Array = rules if rules is not None else rules_for()
        if linear:
            self.rules[0]["market"][:] = MARKET_LINEAR
        if params is None and is_builtin(strategy):
            params = params_from_rules(strategy, self.rules[0])
        self.bound: Bound = bind([strategy], self.rules, None if params is None else [params])
        self.state: Array = new_state(1)
        """arb's state record of the symbol (pair ids, hedge attempts, quote slots' pairs, flags, counters)."""
        self.intents: Array = new_intents(1)
        self.kernel = Kernel(self.rules, self.state, self.intents, self.bound.part)
        self._venues = 2  # the last view's venues

    @property
    def memory(self) -> Any:
        """The strategy's memory record."""
        return self.bound.memory[0]

    @property
    def params(self) -> Any:
        """The strategy's parameters record (the rules record when it declares none)."""
        return self.bound.params[0]

    def decide(self, at: Array, now_ns: int) -> Array:
        """One decision on view ``at`` at ``now_ns``: the intents kept (a copy), before the risk gate."""
        self._venues = len(at)
        n = guarded_decide(at, self.kernel, 0, now_ns)
        got: Array = self.intents[0][:n].copy()
        return got

    def raw(self, at: Array, now_ns: int) -> Array:
        """What the strategy's own ``decide`` writes on view ``at`` at ``now_ns``, without arb's guard
        (a copy of the intents it returned; its memory is left as it was): the intents before the
        contract, the venues' rules and the rounding. Compiles the strategy for the bench's arrays
        once (a call of its own, apart from the drivers')."""
        memory = self.bound.memory[0:1].copy()
        buf = np.zeros_like(self.intents[0])
        n = int(self.strategy.decide(at, self.rules, self.bound.params[0:1], memory, now_ns, buf))
        got: Array = buf[: max(0, min(n, len(buf)))].copy()
        return got

    @property
    def broken(self) -> str:
        """How the strategy broke its contract, in words (what :func:`arb.strategy.seam.broken_text` says
        and a driver halts with), or "" while it has not."""
        return broken_text([self.strategy], self.state, ["the bench's symbol"], self._venues)

    def may_act(self, at: Array, now_ns: int) -> bool:
        """Whether a driver would call :meth:`decide` on this view (arb's checks, then the strategy's
        ``may_act``)."""
        return bool(may_decide(at, self.kernel, 0, now_ns))

    def tape(self, steps: Iterable[tuple[int, Array]]) -> list[tuple[int, Array]]:
        """Every decision of a scripted tape, ``(now_ns, view)`` in time order: ``(now_ns, intents)`` for
        each one that sent something (what a driver would do with them, fills included, is the test's
        to write into the next views)."""
        out = []
        for now_ns, at in steps:
            got = self.decide(at, now_ns)
            if len(got):
                out.append((now_ns, got))
        return out
