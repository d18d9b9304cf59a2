"""The local runner: a process pool whose workers live for the whole sweep.

Each worker process is started fresh (``spawn``: no state inherited from the parent, as on a Ray
node) and its initializer keeps the base configuration and the days. On its first point the worker
reads the days' event arrays from the conversion cache, which the parent filled before the pool
started, and compiles the loop; every later point it runs only applies its overrides and replays
the arrays it already holds.
"""

from __future__ import annotations

__all__ = ["Task", "run_pool"]

import datetime as dt
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any

from arb.config import AppConfig
from arb.sweep.runner import PointResult, Worker, quiet_worker_logs

Task = tuple[int, dict[str, Any], dict[str, Any]]
"""(point index, the point as written, its overrides for :func:`~arb.sweep.grid.apply_overrides`)."""

_worker: Worker | None = None  # this process's worker (set by the pool's initializer)


def _init(base: AppConfig, days: list[dt.date], allow_damaged: bool) -> None:
    global _worker
    quiet_worker_logs()
    _worker = Worker(base, days, allow_damaged=allow_damaged)


def _run(task: Task) -> PointResult:
    assert _worker is not None, "the pool's initializer makes the worker"
    return _worker.run(*task)


def run_pool(
    base: AppConfig,
    days: list[dt.date],
    tasks: Sequence[Task],
    workers: int,
    *,
    allow_damaged: bool = False,
    on_result: Callable[[PointResult], None] | None = None,
) -> list[PointResult]:
    """Run ``tasks`` on ``workers`` local processes; the results in completion order.

    The first failing point's :class:`~arb.sweep.runner.SweepError` is raised after the points not yet
    started are cancelled.
    """
    results: list[PointResult] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init, initargs=(base, days, allow_damaged)
    ) as pool:
        pending: set[Future[PointResult]] = {pool.submit(_run, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    result = future.result()  # raises the point's error
                    results.append(result)
                    if on_result is not None:
                        on_result(result)
        finally:
            for future in pending:
                future.cancel()
    return results
