"""``arb sweep``: backtests over a parameter grid, on a local process pool or a Ray cluster.

- :mod:`arb.sweep.grid`: the grid file (TOML keys and units, checked by the configuration's rules).
- :mod:`arb.sweep.runner`: a worker that holds the days' event arrays once and compiles once, then
  runs one backtest per point (the same result as :func:`arb.backtest.run.run_backtest`).
- :mod:`arb.sweep.pool` and :mod:`arb.sweep.ray_runner`: the two ways of running workers.
- :mod:`arb.sweep.sweep`: :func:`run_sweep`, planning the days and collecting the results.
- :mod:`arb.sweep.output`: results.csv, best.toml, heatmap.png and the terminal table.

See docs/sweeps.md.
"""

from __future__ import annotations

__all__ = [
    "FIGURES",
    "OBJECTIVES",
    "Grid",
    "Parameter",
    "PointResult",
    "SweepError",
    "SweepResult",
    "WorkerInfo",
    "figures_of",
    "load_grid",
    "run_sweep",
]

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arb.sweep.grid import OBJECTIVES, Grid, Parameter, load_grid
    from arb.sweep.runner import FIGURES, PointResult, SweepError, WorkerInfo, figures_of
    from arb.sweep.sweep import SweepResult, run_sweep

_HOME = {
    **dict.fromkeys(("OBJECTIVES", "Grid", "Parameter", "load_grid"), "arb.sweep.grid"),
    **dict.fromkeys(("FIGURES", "PointResult", "SweepError", "WorkerInfo", "figures_of"), "arb.sweep.runner"),
    **dict.fromkeys(("SweepResult", "run_sweep"), "arb.sweep.sweep"),
}


def __getattr__(name: str) -> Any:
    # The package's names are imported when first used: `arb sweep --help` (arb.sweep.command, in this
    # package) answers without loading the backtest, Numba and hftbacktest the sweep itself needs.
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
