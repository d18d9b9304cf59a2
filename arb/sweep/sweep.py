"""Run a grid: plan the days once, send the data once per worker, one backtest per point.

Each grid point is one backtest over the whole day range, as ``arb backtest --start --end`` runs
it. :func:`run_sweep` settles the days with :func:`~arb.recording.loader.plan_days` (the same rules and
messages as ``arb backtest``), converts them into the cache once, and hands the points to the local
pool or to Ray. The figures do not depend on which runner or how many workers ran them.
"""

from __future__ import annotations

__all__ = ["SweepResult", "objective_value", "run_sweep"]

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from arb.backtest.run import Schedule, compile_loop, loop_cached, warm_loop_in_background
from arb.config import AppConfig
from arb.recording.loader import Timeline, load_timeline, plan_days
from arb.sweep.grid import Grid, apply_overrides
from arb.sweep.pool import Task, run_pool
from arb.sweep.runner import DataKey, PointResult, WorkerInfo, data_key, slim_session


def objective_value(result: PointResult, objective: str) -> float | None:
    """The point's objective (higher is better); None when undefined (no pair, no meaningful ratio)."""
    value = result.figures.get(objective)
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        grid: The grid file.
        days: The days every point ran over.
        results: One per point, in the grid's point order.
        workers: Each worker process with its one-off costs (loading the arrays, compiling).
        runner: ``"pool"`` or ``"ray <address>"``.
        wall_s: The whole sweep, from planning to the last point, seconds.
    """

    grid: Grid
    days: list[dt.date]
    results: list[PointResult]
    workers: list[WorkerInfo]
    runner: str
    wall_s: float

    def ranked(self) -> list[PointResult]:
        """The points best first by the grid's objective (undefined last, ties in point order)."""

        def key(r: PointResult) -> tuple[int, float, int]:
            value = objective_value(r, self.grid.objective)
            return (0, -value, r.index) if value is not None else (1, 0.0, r.index)

        return sorted(self.results, key=key)

    @property
    def best(self) -> PointResult:
        """The first of :meth:`ranked`."""
        return self.ranked()[0]


def run_sweep(
    config: AppConfig,
    grid: Grid,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    workers: int = 1,
    ray: str | None = None,
    allow_damaged: bool = False,
    on_status: Callable[[str], None] | None = None,
    on_result: Callable[[PointResult], None] | None = None,
) -> SweepResult:
    """Run every point of ``grid`` on top of ``config`` over the days in [start, end].

    ``workers``: processes (at most one per point). ``ray``: None for the local process pool, else
    ``"local"``, ``"auto"`` or a cluster address (:func:`arb.sweep.ray_runner.run_ray`). Raises the
    errors :func:`plan_days` and the conversion raise (:class:`~arb.errors.RecordingError`), and a
    :class:`~arb.sweep.runner.SweepError` naming the first point that failed.
    """
    started = time.perf_counter()
    days = plan_days(config, start, end)
    tasks: list[Task] = [(i, point, grid.overrides(point)) for i, point in enumerate(grid.points())]
    configs: dict[DataKey, AppConfig] = {}
    for _, _, overrides in tasks:
        point_config = apply_overrides(config, overrides)
        configs.setdefault(data_key(point_config), point_config)
    workers = max(1, min(workers, len(tasks)))
    # Convert (or check the cache of) every day here, once: what the recordings hold is said once,
    # a damaged day stops the sweep before any worker starts, and the workers only read the cache.
    # The first sweep after an install compiles the loop here, once, in two other processes (the kernel
    # and the loop on one core, the other helpers and then the conversion on the other), so that every
    # worker loads it from Numba's cache instead of compiling it.
    warming = warm_loop_in_background(config)
    if warming is not None:
        warming.make_room()
    sessions: dict[DataKey, Timeline] = {}
    first: tuple[AppConfig, Timeline] | None = None
    for key, point_config in configs.items():
        session = load_timeline(point_config, days, on_status, allow_damaged=allow_damaged)
        first = first or (point_config, session)
        if ray is not None:
            sessions[key] = slim_session(session)
        else:
            break  # the pool's workers read the cache themselves
    if warming is not None:
        warming.join()
    if first is not None and not loop_cached():
        if on_status is not None:
            on_status("compiling the backtest loop once for every worker (once per install)")
        compile_loop(first[0], first[1], Schedule.of(first[1]))
    if on_status is not None:
        on_status(f"{len(tasks)} points on {workers} worker{'s' if workers > 1 else ''}")
    if ray is None:
        results = run_pool(config, days, tasks, workers, allow_damaged=allow_damaged, on_result=on_result)
        runner = "pool"
    else:
        from arb.sweep.ray_runner import run_ray

        results = run_ray(config, days, sessions, tasks, workers, ray, on_result=on_result)
        runner = f"ray {ray}"
    seen: dict[str, WorkerInfo] = {}
    for r in results:
        held = seen.get(r.worker.name)
        if held is None or (r.worker.load_s, r.worker.compile_s) > (held.load_s, held.compile_s):
            seen[r.worker.name] = r.worker
    results.sort(key=lambda r: r.index)
    return SweepResult(grid, days, results, sorted(seen.values(), key=lambda w: w.name), runner,
                       time.perf_counter() - started)  # fmt: skip
