"""Which strategy each symbol of a run trades, from the configuration, bound for the drivers.

``[strategy] kernel`` names the run's strategy, every symbol's (:mod:`arb.strategy.loading`: a module or a
file of the user's, or a built-in); left out, ``[strategy] style`` names a built-in one (``taker``,
``maker_taker``). Both drivers call :func:`bind_config` when they set up a run, so a backtest and a live
session of the same configuration run the same strategy with the same parameters (``[strategy.params]``).
"""

from __future__ import annotations

__all__ = ["bind_config", "prepare", "strategies_for", "symbol_params", "typed_binding"]

from typing import Any

import numpy as np

from arb.config import AppConfig
from arb.strategy.loading import bind_checked, params_for, strategy_of
from arb.strategy.rules import rules_of
from arb.strategy.seam import Bound, Strategy, bind


def strategies_for(config: AppConfig) -> list[Strategy]:
    """The strategy of each symbol of ``config``, in ``[strategy] symbols`` order: the run's, every symbol's
    (``[strategy] kernel``, else the built-in ``style`` names). Raises
    :class:`arb.strategy.loading.StrategyLoadError` when ``[strategy] kernel`` names one that cannot be loaded."""
    return [strategy_of(config)] * len(config.symbols)


def bind_config(config: AppConfig, rules: np.ndarray[Any, np.dtype[Any]]) -> Bound:
    """The run's strategies (:func:`strategies_for`) with their parameters (:func:`symbol_params`:
    ``[strategy.params]``, checked, or a built-in's ``[strategy]`` keys) bound for the drivers, ``rules``
    the run's ``RULES_DTYPE`` records (:func:`arb.strategy.rules.rules_of`). Raises
    :class:`arb.strategy.loading.StrategyLoadError` for a strategy that does not load, parameters it does not
    take, or code that does not compile."""
    strategies = strategies_for(config)
    return bind_checked(config, strategies, rules, symbol_params(config, strategies))


def prepare(config: AppConfig) -> Bound:
    """The run's strategies loaded, their parameters checked and their code compiled (or loaded from Numba's
    cache) for ``config``'s rules: what a command calls first, so that a strategy that cannot run is one
    :class:`arb.strategy.loading.StrategyLoadError` (exit 2) before anything is read, written or sent."""
    return bind_config(config, rules_of(config))


def typed_binding(config: AppConfig, rules: np.ndarray[Any, np.dtype[Any]]) -> Bound:
    """What :func:`bind_config` binds, its records alike, with nothing compiled (every address 0): the
    types the drivers are compiled for ahead of a run (the backtest's warm-up), never to run."""
    strategies = strategies_for(config)
    return bind(strategies, rules, symbol_params(config, strategies), compiled=False)


def symbol_params(config: AppConfig, strategies: list[Strategy]) -> list[Any] | None:
    """Each symbol's parameters (:func:`arb.strategy.loading.params_for` of its own configuration: a built-in's
    from its ``[strategy]`` and ``[symbols.<SYMBOL>]`` keys), None when no strategy declares any."""
    params = [params_for(config.for_symbol(s), strategy) for s, strategy in enumerate(strategies)]
    return None if all(p is None for p in params) else params
