"""One sweep worker: the days' event arrays held once, the compiled loop warmed once, then one backtest
per grid point with only the overrides changing.

A :class:`Worker` lives as long as its process (a local pool's worker, a Ray actor). It gets the
base configuration and the days once; the event arrays either come from the conversion cache on disk
(the local pool: each worker reads the ``.npz`` files once) or are handed over already loaded (Ray:
one ``ray.put`` read zero-copy by every actor on the machine). :meth:`Worker.warm_up` runs the
compiled loop over the first nanosecond of data so that Numba loads it from its cache (the sweep
compiled it there before starting the workers) before the first point is timed. Each point
then builds its configuration with :func:`~arb.sweep.grid.apply_overrides`, a fresh hftbacktest over the
same arrays and a fresh :class:`~arb.backtest.run.Loop`, and runs exactly what
:func:`arb.backtest.run.run_backtest` runs: the same figures, bit for bit (tests check it).
"""

from __future__ import annotations

__all__ = [
    "FIGURES",
    "DataKey",
    "PointResult",
    "SweepError",
    "Worker",
    "WorkerInfo",
    "data_key",
    "figures_of",
    "quiet_worker_logs",
    "slim_session",
]

import copy
import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from arb.backtest.run import BacktestResult, Schedule, compile_loop, run_session
from arb.config import AppConfig
from arb.errors import ArbError
from arb.recording.loader import Timeline, load_timeline
from arb.reports.summary import run_summary
from arb.reports.valuation import InitialBalances
from arb.sweep.grid import apply_overrides

FIGURES: tuple[str, ...] = (
    "pnl",
    "pnl_from_fills",
    "fees",
    "funding",
    "fills",
    "pairs",
    "pairs_won",
    "win_rate",
    "pnl_per_pair",
    "spread_net_bps",
    "hedge_fills",
    "volume",
    "notional",
    "open_qty",
    "max_drawdown",
    "max_drawdown_frac",
    "pnl_to_drawdown",
    "sharpe",
    "orders",
    "risk_events",
    "hedge_failed",
    "missed_for_balance",
    "transfers",
    "transfer_fees",
)
"""The figures of one point, in results.csv's order (see :func:`figures_of`)."""

_T = TypeVar("_T")

DataKey = tuple[Any, ...]
"""What decides the event arrays of a run besides the days: (feed latency mode, each venue's feed_ns)."""


class SweepError(ArbError):
    """A grid point failed in a worker; the message names the point and the cause, the exit code is the cause's."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type[SweepError], tuple[str, int]]:
        # travels back from a worker process intact (message and exit code)
        return (SweepError, (str(self), self.exit_code))


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One worker process, as the sweep reports it.

    Attributes:
        name: ``host:pid``.
        load_s: Time to get the event arrays (read from the cache, or from Ray's object store), seconds.
        compile_s: Time of the warm-up run (Numba loading the loop from its cache, or compiling it), seconds.
    """

    name: str
    load_s: float
    compile_s: float


@dataclass(frozen=True, slots=True)
class PointResult:
    """One grid point's run.

    Attributes:
        index: The point's place in :meth:`Grid.points`.
        point: ``{grid key: value as written}``.
        figures: ``{name: value}`` for every name of :data:`FIGURES` (None where undefined).
        digest: sha256 (16 hex digits) of the fills and equity samples: equal digests, equal runs.
        wall_s: The run's own time (building the backtest, the loop, the figures), seconds.
        worker: The worker that ran it.
    """

    index: int
    point: dict[str, Any]
    figures: dict[str, Any]
    digest: str
    wall_s: float
    worker: WorkerInfo


def quiet_worker_logs() -> None:
    """In a worker process: the parent already said what the recordings hold; a worker repeating it
    per point is noise."""
    logging.getLogger("arb").setLevel(logging.ERROR)
    logging.getLogger("numba").setLevel(logging.WARNING)


def data_key(config: AppConfig) -> DataKey:
    """The settings besides the days that change the event arrays :func:`load_timeline` builds."""
    return (config.backtest.feed_latency, *(venue.latency.feed_ns for venue in config.venues))


def _with(obj: _T, **values: Any) -> _T:
    # A shallow copy with some attributes set: works on the loader's frozen dataclasses and on its
    # plain slotted classes alike (the arrays themselves are shared, never copied).
    out = copy.copy(obj)
    for name, value in values.items():
        object.__setattr__(out, name, value)
    return out


def slim_session(session: Timeline) -> Timeline:
    """``session`` without the per-day copies of the rows (only ``arrays`` are replayed): half the memory
    to hold, and to ship to Ray's object store."""
    _ = session.arrays  # made now, from the days, before the days are dropped
    return _with(session, assets=tuple(_with(v, days=[]) for v in session.assets))


def _with_venues(session: Timeline, config: AppConfig) -> Timeline:
    # build_hbt reads fees, latencies and instruments from the session's assets: the point's own
    venues = [venue for s in range(len(config.symbols)) for venue in config.for_symbol(s).venues]
    return _with(session, assets=tuple(_with(v, venue=c) for v, c in zip(session.assets, venues, strict=True)))


def figures_of(config: AppConfig, result: BacktestResult) -> tuple[dict[str, Any], str]:
    """(figures by the names of :data:`FIGURES`, digest) of one backtest, from the report's own summary.

    ``sharpe`` is None unless the run is long enough for it to mean something (the report's rule);
    ``pnl_to_drawdown`` is the PnL over the largest drawdown, or the PnL itself without a drawdown.
    """
    initial = InitialBalances.of_symbols(result.initial_base_by_symbol or [result.initial_base], result.initial_quote)
    flags = [state.get("flags", 0) for state in result.kernel_states] or [result.kernel_state.get("flags", 0)]
    out_of_sync = result.out_of_sync_by_symbol or [result.out_of_sync]
    summary = run_summary(
        config, result.fills, result.equity, initial, {"mode": "sweep"}, sent=result.sent, out_of_sync=out_of_sync,
        kernel_flags=flags, funding=result.funding, calls=result.calls, inventory=result.inventory,
        transfers=result.transfers,
    )  # fmt: skip
    total, pairs, risk = summary.total, summary.pairs, summary.risk
    pnl = total.pnl
    to_dd = None if pnl is None else (pnl / risk.max_drawdown if risk.max_drawdown > 0 else pnl)
    figures: dict[str, Any] = {
        "pnl": pnl,
        "pnl_from_fills": total.pnl_from_fills,
        "fees": total.fees,
        "funding": total.funding,
        "fills": total.fills,
        "pairs": pairs.pairs,
        "pairs_won": pairs.pairs_won,
        "win_rate": pairs.win_rate,
        "pnl_per_pair": pairs.pair_pnl_mean,
        "spread_net_bps": pairs.spread_net_bps,
        "hedge_fills": total.hedge_fills + total.unwind_fills,
        "volume": total.volume,
        "notional": total.notional,
        "open_qty": total.open_qty,
        "max_drawdown": risk.max_drawdown,
        "max_drawdown_frac": risk.max_drawdown_frac,
        "pnl_to_drawdown": to_dd,
        "sharpe": risk.sharpe,
        "orders": result.counters["orders"],
        "risk_events": len(result.risk_events),
        "hedge_failed": any(flags),
        "missed_for_balance": result.inventory.get("missed_for_balance", 0),
        "transfers": result.inventory.get("transfers", 0),
        "transfer_fees": result.inventory.get("transfer_fees_quote", 0.0),
    }
    digest = hashlib.sha256(result.fills.tobytes() + result.equity.tobytes()).hexdigest()[:16]
    return figures, digest


class Worker:
    """A sweep worker's state: the base configuration, the days, their event arrays by :data:`DataKey`
    (each with its :class:`Schedule`), and whether the loop is compiled."""

    def __init__(
        self,
        base: AppConfig,
        days: list[dt.date],
        *,
        allow_damaged: bool = False,
        sessions: Mapping[DataKey, Timeline] | None = None,
    ) -> None:
        """``sessions``: arrays already loaded (Ray); absent keys are read from the conversion cache."""
        self.base = base
        self.days = days
        self.allow_damaged = allow_damaged
        self._sessions: dict[DataKey, tuple[Timeline, Schedule]] = {}
        self._given = dict(sessions or {})
        self.load_s = 0.0
        self.compile_s = 0.0
        self._warm = False
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def session(self, config: AppConfig) -> tuple[Timeline, Schedule]:
        """The arrays and schedule of ``config``'s :func:`data_key`, loaded on first use and kept."""
        key = data_key(config)
        held = self._sessions.get(key)
        if held is None:
            started = time.perf_counter()
            session = self._given.pop(key, None)
            if session is None:
                session = slim_session(load_timeline(config, self.days, allow_damaged=self.allow_damaged))
            held = (session, Schedule.of(session))
            self._sessions[key] = held
            self.load_s += time.perf_counter() - started
        return held

    def warm_up(self, config: AppConfig | None = None) -> None:
        """Load the arrays of ``config`` (default: the base configuration) and compile the loop by
        running it over the first nanosecond of data (once per process; later calls do nothing)."""
        if self._warm:
            return
        config = config if config is not None else self.base
        session, schedule = self.session(config)
        started = time.perf_counter()
        compile_loop(config, _with_venues(session, config), schedule)
        self.compile_s = time.perf_counter() - started
        self._warm = True

    @property
    def info(self) -> WorkerInfo:
        """This worker's name and its one-off costs so far."""
        return WorkerInfo(self.name, round(self.load_s, 3), round(self.compile_s, 3))

    def run(self, index: int, point: dict[str, Any], overrides: Mapping[str, Any]) -> PointResult:
        """Run grid point ``index`` (``overrides``: field paths, see :func:`~arb.sweep.grid.apply_overrides`).

        Raises :class:`SweepError` naming the point when the run fails with an arb error.
        """
        try:
            config = apply_overrides(self.base, overrides)
            self.warm_up(config)
            session, schedule = self.session(config)
            started = time.perf_counter()
            result = run_session(config, _with_venues(session, config), schedule, self.days)
            figures, digest = figures_of(config, result)
        except ArbError as exc:
            shown = ", ".join(f"{k} = {v!r}" for k, v in point.items())
            raise SweepError(f"point {index} ({shown}): {exc}", exc.exit_code) from None
        return PointResult(index, dict(point), figures, digest, round(time.perf_counter() - started, 6), self.info)
