"""The Ray runner: one long-lived actor per worker on a Ray cluster (this machine's or a remote one).

Ray is an optional extra (``pip install 'arb[ray]'``) and is imported only here, only when ``--ray``
is given. The driver loads the days' event arrays once and ``ray.put`` s them once per
:data:`~arb.sweep.runner.DataKey`: the object store holds one copy per machine and each actor maps it
without copying. Each actor compiles the loop once when it starts, then runs points as they come
(``ray.util.ActorPool``: a free actor takes the next point).

``address``: ``"local"`` starts a cluster on this machine with one CPU per worker (no dashboard) and
stops it afterwards; ``"auto"`` connects to the running cluster that ``RAY_ADDRESS`` or
``ray start`` names; anything else is the address of a cluster (``ray://host:10001`` or
``host:6379``). A process that already called ``ray.init`` (a test, a notebook) keeps its connection.
"""

from __future__ import annotations

__all__ = ["RAY_EXTRA", "import_ray", "ray_connection", "run_ray", "shutdown_ray"]

import builtins
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from arb.config import AppConfig
from arb.errors import ArbError, UsageError
from arb.recording.loader import Timeline
from arb.sweep.pool import Task
from arb.sweep.runner import DataKey, PointResult, Worker, WorkerInfo, quiet_worker_logs

RAY_EXTRA = "pip install 'arb[ray]'"
"""What to install for ``--ray``."""


_PYTHON_PRINT = builtins.print  # taken before any Ray session could replace it


def shutdown_ray(ray: Any) -> None:
    """``ray.shutdown()``, then Python's own ``print`` back in ``builtins``: a Ray session leaves its
    ``safe_print`` there, and Numba cannot compile a function that prints (hftbacktest's
    ``correct_local_timestamp``) while it is in place, so every later conversion failed."""
    try:
        ray.shutdown()
    finally:
        builtins.print = _PYTHON_PRINT


def import_ray() -> Any:
    """The ``ray`` module; :class:`UsageError` (exit 2) naming the extra when it is not installed."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(f"--ray: expected Ray to be installed ({RAY_EXTRA}), got: {exc}") from None
    return ray


def ray_connection(address: str, workers: int) -> tuple[Any, bool]:
    """The ``ray`` module connected as ``--ray`` says (see the module docstring; a process already connected
    keeps its connection) and whether this call connected it (then :func:`shutdown_ray` it when done)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    if address == "local":
        ray.init(num_cpus=workers, include_dashboard=False, logging_level=logging.WARNING)
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    return ray, True


class _Actor:
    """A sweep worker inside a Ray actor (the class is wrapped with ``ray.remote`` at run time)."""

    def __init__(self, base: AppConfig, days: list[dt.date], refs: Mapping[DataKey, Any]) -> None:
        import ray

        quiet_worker_logs()
        # refs nested in a mapping are not resolved by Ray: get them here, once, zero-copy
        sessions: dict[DataKey, Timeline] = {key: ray.get(ref) for key, ref in refs.items()}
        self.worker = Worker(base, days, sessions=sessions)  # compiles on its first point

    def info(self) -> WorkerInfo:
        return self.worker.info

    def run(self, task: Task) -> PointResult:
        return self.worker.run(*task)


def run_ray(
    base: AppConfig,
    days: list[dt.date],
    sessions: Mapping[DataKey, Timeline],
    tasks: Sequence[Task],
    workers: int,
    address: str,
    *,
    on_result: Callable[[PointResult], None] | None = None,
) -> list[PointResult]:
    """Run ``tasks`` on ``workers`` Ray actors; the results in completion order.

    ``sessions``: the event arrays every point needs, by data key (put in the object store once).
    """
    ray, started_here = ray_connection(address, workers)
    from ray.util import ActorPool

    actors: list[Any] = []
    try:
        refs = {key: ray.put(session) for key, session in sessions.items()}
        actor_class = ray.remote(num_cpus=1)(_Actor)
        actors = [actor_class.remote(base, days, refs) for _ in range(workers)]
        pool = ActorPool(actors)
        results: list[PointResult] = []
        try:
            for result in pool.map_unordered(lambda actor, task: actor.run.remote(task), list(tasks)):
                results.append(result)
                if on_result is not None:
                    on_result(result)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, ArbError):  # a point's own error, not Ray's traceback around it
                raise exc.cause from None
            raise
        return results
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            shutdown_ray(ray)
