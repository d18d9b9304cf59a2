"""The built-in strategies by name (``[strategy] style``), found as a user's strategy is: by where they live.

``taker`` (:data:`arb.strategies.taker.TAKER`) opens a pair of immediate-or-cancel orders across two venues
when the walk of their books clears the configured spread; ``maker_taker``
(:data:`arb.strategies.maker_taker.MAKER_TAKER`) rests a post-only quote on one venue and leaves each of its
fills to arb's lone-leg hedge on another. They live in :mod:`arb.strategies` beside the funding carry, written
through the seam (:mod:`arb.strategy.seam`) like any user's, and this module names them only by module and
attribute (as ``[strategy] kernel = "pkg.module:Name"`` names a user's), so the seam below them imports none
of them. ``[strategy] style`` chooses between them for the run.

Each declares its own parameters (``TakerParams``, ``MakerTakerParams``), and a run fills them from the
``[strategy]`` keys users have always written (:func:`builtin_params`): ``min_spread_bps``,
``max_order_size``, ``max_position_size``, ``rebalance_threshold``, ``funding_horizon_h``,
``close_before_funding_s``, ``inventory_skew_bps`` and, for the maker-taker, ``quote_size``,
``quote_tolerance_bps``, ``min_quote_life_ms`` and ``maker_venues`` (by name; the parameter is a bit per
venue). A ``[symbols.<SYMBOL>]`` table overrides them per symbol as before.
"""

from __future__ import annotations

__all__ = ["BUILTIN", "builtin", "builtin_keys", "builtin_params", "is_builtin", "params_from_rules"]

import importlib
from typing import TYPE_CHECKING, Any, Final

import msgspec

from arb.strategy.seam import Strategy

if TYPE_CHECKING:
    from arb.config import AppConfig

BUILTIN: Final = {
    "taker": ("arb.strategies.taker", "TAKER"),
    "maker_taker": ("arb.strategies.maker_taker", "MAKER_TAKER"),
}
"""The built-in strategies' names (``[strategy] style``), each with its module and the attribute that holds it."""


def builtin(style: str) -> Strategy:
    """The built-in strategy named ``style`` (a key of :data:`BUILTIN`), its module imported on first use."""
    module, name = BUILTIN[style]
    strategy: Strategy = getattr(importlib.import_module(module), name)
    return strategy


def is_builtin(strategy: Strategy) -> bool:
    """Whether ``strategy`` is one of :data:`BUILTIN` (whose parameters come from ``[strategy]``)."""
    return strategy.origin == "arb" and strategy.name in BUILTIN and builtin(strategy.name) is strategy


def builtin_params(config: AppConfig, strategy: Strategy) -> Any:
    """The parameters of the built-in ``strategy`` for ``config`` (one symbol's: ``config.for_symbol(s)``),
    from ``[strategy]``: each parameter is the setting of the same name (``funding_horizon_ns`` is
    ``funding_horizon_h`` read as ns, ``min_quote_life_ns`` ``min_quote_life_ms``), ``quote_size`` 0 is
    ``max_order_size``, and ``maker_venues`` becomes a bit per venue of ``[strategy] venues``."""
    section = config.strategy
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(strategy.params):  # type: ignore[arg-type]
        if field.name == "maker_venues":
            makers = section.maker_venues
            values[field.name] = sum(1 << v for v, venue in enumerate(config.venues) if venue.name in makers)
        elif field.name == "quote_size":
            values[field.name] = section.quote_size if section.quote_size > 0.0 else section.max_order_size
        else:
            values[field.name] = getattr(section, field.name)
    return strategy.params(**values)  # type: ignore[misc]


def builtin_keys(strategy: Strategy) -> list[str]:
    """The ``[strategy]`` keys the built-in ``strategy``'s parameters are read from, in the parameters' order
    (``funding_horizon_h`` for ``funding_horizon_ns``)."""
    from arb.config.sections import StrategyConfig

    keys = {f.name: f.encode_name for f in msgspec.structs.fields(StrategyConfig)}
    return [keys.get(f.name, f.name) for f in msgspec.structs.fields(strategy.params)]  # type: ignore[arg-type]


def params_from_rules(strategy: Strategy, row: Any) -> Any:
    """The built-in ``strategy``'s parameters from a rules record ``row`` (``RULES_DTYPE``), which still
    carries ``[strategy]``'s settings under the parameters' names: what a bench built from ``rules_for``
    (:class:`arb.strategy.testkit.Bench`) runs a built-in with when it is given no ``params``."""
    fields = msgspec.structs.fields(strategy.params)  # type: ignore[arg-type]
    return strategy.params(**{f.name: f.type(row[f.name]) for f in fields})  # type: ignore[misc]
