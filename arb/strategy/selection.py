"""Which strategy each symbol of a run trades, from the configuration, bound for the drivers.

``[strategy] style`` names a built-in strategy (``taker``, ``maker_taker``; a symbol's own table may
choose another). Both drivers call :func:`bind_config` when they set up a run, so a backtest and a live
session of the same configuration run the same strategy with the same parameters.
"""

from __future__ import annotations

__all__ = ["bind_config", "strategies_for"]

from typing import Any

import numpy as np

from arb.config import AppConfig
from arb.strategy.builtin import builtin
from arb.strategy.seam import Bound, Strategy, bind


def strategies_for(config: AppConfig) -> list[Strategy]:
    """The strategy of each symbol of ``config``, in ``[strategy] symbols`` order."""
    return [builtin(config.for_symbol(s).strategy.style) for s in range(len(config.symbols))]


def bind_config(config: AppConfig, rules: np.ndarray[Any, np.dtype[Any]]) -> Bound:
    """The run's strategies (:func:`strategies_for`) bound for the drivers, ``rules`` the run's
    ``PARAMS_DTYPE`` records (:func:`arb.strategy.params.params_of`)."""
    return bind(strategies_for(config), rules)
