"""The strategy seam: what a strategy author imports, from this package and nowhere deeper.

**The public contract** (``docs/strategies.md`` is its page; these names keep their meaning across
releases, and a strategy written with them alone runs in every mode):

- :class:`Strategy` (:mod:`arb.strategy.seam`): what a strategy is, ``Strategy(name, decide, params=None,
  memory=None, may_act=None, quotes=False, summary="")``, and the compiled call it binds,
  ``decide(view, rules, params, memory, now_ns, intents) -> int``.
- The test kit (:mod:`arb.strategy.testkit`): :class:`Bench` runs a strategy as the drivers do, arb's
  guard included, on views built with :func:`view` and rules with :func:`rules_for`.
- The types (:mod:`arb.strategy.types`) a strategy reads and writes: the record layouts ``VIEW_DTYPE``
  (``view``), ``RULES_DTYPE`` (``rules``; ``PARAMS_DTYPE`` is its earlier name, the same object),
  ``INTENT_DTYPE`` (``intents``) and ``STATE_DTYPE`` (the
  bench's ``state``); the sides ``BUY``, ``SELL``; the intent kinds ``INTENT_OPEN``, ``INTENT_QUOTE``,
  ``INTENT_CANCEL`` (a strategy's) and ``INTENT_HEDGE``, ``INTENT_UNWIND`` (arb's); a venue's status
  ``VENUE_OK``, ``VENUE_STALE``, ``VENUE_OUT_OF_SYNC`` and market ``MARKET_SPOT``, ``MARKET_LINEAR``; a
  quote slot's state ``QUOTE_NONE``, ``QUOTE_PENDING``, ``QUOTE_LIVE``, ``QUOTE_CANCELING``,
  ``QUOTE_HELD``; the state flags ``HEDGE_FAILED``, ``CONTRACT_BROKEN``; the sizes ``MAX_VENUES``,
  ``MAX_LEVELS``, ``MAX_INTENTS``.
- The helpers (compiled, callable from a strategy's ``decide``): :func:`floor_to_grid` and
  :func:`ceil_to_grid` (a price or quantity onto a venue's grid, ``GRID_EPS`` of slack for float noise),
  :func:`takes_orders` (whether a venue takes an order now: synced, fresh, not held back) and
  :func:`hold_over` (whether a refused quote's hold is over: the rule arb's guard applies to quote slots).

Everything else under ``arb.strategy`` (the guard, the step, the records) is arb's own and may change; the
strategies arb ships, the built-ins included, are in :mod:`arb.strategies`. ``decide`` (the built-in taker's
decision, :mod:`arb.strategies.taker`) and ``make_params`` (the rules record from a configuration:
:func:`arb.strategy.rules.make_rules` under its earlier name) are exported as they were before the seam, for
code that imports them from here; they are not part of the strategy contract.

Every name is loaded when first asked for (PEP 562): the test kit and the built-ins import Numba, and
processes that never compile import this package too, such as the chart worker ``arb backtest`` forks
before anything heavy is imported (``arb.reports.chart_worker``).
"""

from __future__ import annotations

__all__ = [
    "BUY",
    "CONTRACT_BROKEN",
    "GRID_EPS",
    "HEDGE_FAILED",
    "INTENT_CANCEL",
    "INTENT_DTYPE",
    "INTENT_HEDGE",
    "INTENT_OPEN",
    "INTENT_QUOTE",
    "INTENT_UNWIND",
    "MARKET_LINEAR",
    "MARKET_SPOT",
    "MAX_INTENTS",
    "MAX_LEVELS",
    "MAX_VENUES",
    "PARAMS_DTYPE",
    "QUOTE_CANCELING",
    "QUOTE_HELD",
    "QUOTE_LIVE",
    "QUOTE_NONE",
    "QUOTE_PENDING",
    "RULES_DTYPE",
    "SELL",
    "STATE_DTYPE",
    "VENUE_OK",
    "VENUE_OUT_OF_SYNC",
    "VENUE_STALE",
    "VIEW_DTYPE",
    "Bench",
    "Strategy",
    "ceil_to_grid",
    "decide",
    "floor_to_grid",
    "hold_over",
    "make_params",
    "rules_for",
    "takes_orders",
    "view",
]

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arb.strategy.guard import hold_over
    from arb.strategy.legs import GRID_EPS, ceil_to_grid, floor_to_grid, takes_orders
    from arb.strategy.rules import make_params
    from arb.strategy.seam import Strategy
    from arb.strategy.testkit import Bench, rules_for, view
    from arb.strategy.types import (
        BUY,
        CONTRACT_BROKEN,
        HEDGE_FAILED,
        INTENT_CANCEL,
        INTENT_DTYPE,
        INTENT_HEDGE,
        INTENT_OPEN,
        INTENT_QUOTE,
        INTENT_UNWIND,
        MARKET_LINEAR,
        MARKET_SPOT,
        MAX_INTENTS,
        MAX_LEVELS,
        MAX_VENUES,
        PARAMS_DTYPE,
        QUOTE_CANCELING,
        QUOTE_HELD,
        QUOTE_LIVE,
        QUOTE_NONE,
        QUOTE_PENDING,
        RULES_DTYPE,
        SELL,
        STATE_DTYPE,
        VENUE_OK,
        VENUE_OUT_OF_SYNC,
        VENUE_STALE,
        VIEW_DTYPE,
    )

_HOME = {
    "Strategy": "arb.strategy.seam",
    "Bench": "arb.strategy.testkit",
    "rules_for": "arb.strategy.testkit",
    "view": "arb.strategy.testkit",
    "decide": "arb.strategies.taker",
    "make_params": "arb.strategy.rules",
    "GRID_EPS": "arb.strategy.legs",
    "floor_to_grid": "arb.strategy.legs",
    "ceil_to_grid": "arb.strategy.legs",
    "takes_orders": "arb.strategy.legs",
    "hold_over": "arb.strategy.guard",
}
"""Where each name that is not a type lives (the types: :mod:`arb.strategy.types`)."""


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME.get(name, "arb.strategy.types")), name)
    globals()[name] = value  # asked once: later lookups find it here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
