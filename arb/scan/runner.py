"""Run a scan's shards: the ones not done yet, on local worker processes or a Ray cluster, keeping each as it
finishes.

A shard is done when its files under ``<out>/shards/`` carry its key (:mod:`arb.scan.store`): an interrupted
scan started again runs only the others. Workers are fresh processes (``spawn``: nothing inherited, as on
a Ray node) that each compile the scan's few functions once (Numba's cache: once per machine). The driver
writes each result as it arrives, so what a worker holds is one shard, and what the driver holds is one
result at a time. With Ray (``--ray local|auto|ADDRESS``, the ``ray`` extra) each shard is a task of one
CPU; at most twice the workers are in flight, the rest wait on the driver.
"""

from __future__ import annotations

__all__ = ["Done", "run_shards"]

import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb.scan.shard import Shard, ShardResult, run_shard
from arb.scan.store import ShardFiles, done_key, shard_record, write_shard

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Done:
    """One shard finished (now, or by an earlier scan: ``reused``)."""

    shard: Shard
    files: ShardFiles
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    bytes_read: int
    reused: bool


def _timed(shard: Shard) -> tuple[ShardResult, float]:
    t0 = time.perf_counter()
    result = run_shard(shard)
    return result, time.perf_counter() - t0


def _quiet() -> None:
    logging.getLogger("arb").setLevel(logging.WARNING)


def run_shards(
    shards: Sequence[Shard],
    out: Path,
    *,
    workers: int = 1,
    ray: str | None = None,
    on_done: Callable[[Done], None] | None = None,
) -> list[Done]:
    """Run every shard not done under ``out`` (in order), ``workers`` at a time; the done ones, in plan order."""
    done: dict[str, Done] = {}
    todo: list[Shard] = []
    for shard in shards:
        files = ShardFiles(out, shard.name)
        if done_key(files) == shard.key():
            record = shard_record(files)
            done[shard.name] = Done(shard, files, tuple(record.get("problems", ())), tuple(record.get("notes", ())),
                                    int(record.get("bytes_read", 0)), reused=True)  # fmt: skip
            if on_done is not None:
                on_done(done[shard.name])
        else:
            todo.append(shard)
    by_name = {s.name: s for s in todo}

    def keep(result: ShardResult, seconds: float) -> None:
        files = write_shard(out, result, seconds)
        one = Done(by_name[result.shard], files, tuple(result.problems), tuple(result.notes), result.bytes_read,
                   reused=False)  # fmt: skip
        done[result.shard] = one
        if on_done is not None:
            on_done(one)

    if todo and ray is not None:
        _run_ray(todo, workers, ray, keep)
    elif todo and workers > 1 and len(todo) > 1:
        _run_pool(todo, workers, keep)
    else:
        for shard in todo:
            keep(*_timed(shard))
    return [done[s.name] for s in shards if s.name in done]


def _run_pool(todo: Sequence[Shard], workers: int, keep: Callable[[ShardResult, float], None]) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context, initializer=_quiet) as pool:
        waiting = list(todo)
        running: set[Future[tuple[ShardResult, float]]] = set()
        try:
            while waiting or running:
                while waiting and len(running) < 2 * workers:
                    running.add(pool.submit(_timed, waiting.pop(0)))
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    keep(*future.result())
        finally:
            for future in running:
                future.cancel()


def _run_ray(todo: Sequence[Shard], workers: int, address: str, keep: Callable[[ShardResult, float], None]) -> None:
    from arb.sweep.ray_runner import ray_connection, shutdown_ray

    ray, started_here = ray_connection(address, workers)
    task: Any = ray.remote(num_cpus=1, max_retries=1)(_timed)
    try:
        waiting = list(todo)
        running: list[Any] = []
        while waiting or running:
            while waiting and len(running) < 2 * workers:
                running.append(task.remote(waiting.pop(0)))
            ready, running = ray.wait(running, num_returns=1)
            for ref in ready:
                keep(*ray.get(ref))
    finally:
        if started_here:
            shutdown_ray(ray)
