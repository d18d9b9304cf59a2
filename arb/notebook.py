"""Backtests from Python: a notebook's way in, without the command line.

:func:`backtest` runs what ``arb backtest`` runs (the same configuration files, settings and report
figures) and returns the run as objects: its figures, its trades and its equity curve (pandas data
frames where pandas is installed, NumPy record arrays otherwise), so strategies and parameters can be
compared side by side (:func:`compare`)::

    from arb.notebook import backtest, compare

    base = backtest()                                            # the shipped sample, [strategy] as configured
    wide = backtest(settings={"strategy.min_spread_bps": 8.0})   # any --set key
    z = backtest(strategy="examples/strategies/zscore.py:ZScore", params={"entry_z": 2.5})
    compare({"base": base, "wide": wide, "zscore": z})           # one row of figures per run
    z.trades.head(); z.equity.plot(x="time", y="equity")
    z.write("results/zscore")                                    # the report's files, as arb backtest writes them

A mistake (a file that does not exist, a bad setting, a strategy that does not load or compile, one that
breaks its contract) raises the :class:`arb.errors.ArbError` the command line would have printed.
"""

from __future__ import annotations

__all__ = ["BacktestRun", "backtest", "compare"]

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from arb.config import AppConfig, load_config
from arb.config.load import command_line_settings

if TYPE_CHECKING:
    from arb.backtest.run import BacktestResult
    from arb.reports.summary import Summary
    from arb.strategy.seam import Strategy

_SIDES = {1: "buy", -1: "sell"}


def _frame(columns: dict[str, Any]) -> Any:
    # A pandas DataFrame of the columns where pandas is installed, else one NumPy record array.
    try:
        import pandas  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        arrays = [np.asarray(value) for value in columns.values()]
        out = np.zeros(
            len(arrays[0]) if arrays else 0, [(name, a.dtype) for name, a in zip(columns, arrays, strict=True)]
        )
        for name, a in zip(columns, arrays, strict=True):
            out[name] = a
        return out
    return pandas.DataFrame(columns)


@dataclass
class BacktestRun:
    """One backtest's outcome: the result the drivers produce, the report's summary and the orders sent."""

    config: AppConfig
    result: BacktestResult
    summary: Summary
    orders: np.ndarray[Any, Any]

    @property
    def strategy(self) -> str:
        """The strategy's name (the built-in's when ``[strategy] kernel`` is left out)."""
        from arb.strategy.selection import strategies_for

        return strategies_for(self.config)[0].name

    @property
    def figures(self) -> dict[str, Any]:
        """The run's headline figures, as the terminal and summary.json give them: net PnL (quote), its part
        before fees, fees, funding, fills, pairs, pairs won, the largest drawdown, the days and the
        strategy."""
        s = self.summary
        total = s.total
        return {
            "strategy": self.strategy,
            "net_pnl": total.pnl,
            "trading_pnl": total.trading_pnl,
            "fees": total.fees,
            "funding": total.funding,
            "fills": total.fills,
            "pairs": s.pairs.pairs,
            "pairs_won": s.pairs.pairs_won,
            "win_rate": s.pairs.win_rate,
            "max_drawdown": s.risk.max_drawdown,
            "days": len(self.result.days),
        }

    @property
    def trades(self) -> Any:
        """Every fill, one row each (trades.csv's): times (ns), venue and symbol names, side, price,
        quantity, fee (quote), pair id, kind, order id."""
        fills = self.result.fills
        venues = self.config.venue_names
        symbols = self.config.symbol_names
        return _frame({
            "local_ts": fills["local_ts"],
            "exch_ts": fills["exch_ts"],
            "venue": [venues[int(v)] for v in fills["venue"]],
            "symbol": [symbols[int(s)] for s in fills["symbol"]],
            "side": [_SIDES[int(x)] for x in fills["side"]],
            "price": fills["price"],
            "qty": fills["qty"],
            "fee": fills["fee"],
            "pair_id": fills["pair_id"],
            "kind": fills["kind"],
            "order_id": fills["order_id"],
        })  # fmt: skip

    @property
    def equity(self) -> Any:
        """The account's equity samples, one row per sample time (every symbol's rows added up): time (ns
        and UTC), equity (quote) and each venue's part of it."""
        from arb.reports.valuation import account_equity

        account = account_equity(self.result.equity, len(self.config.symbols))
        columns: dict[str, Any] = {
            "ts": account.ts,
            "time": np.asarray(account.ts, "datetime64[ns]"),
            "equity": account.equity,
        }
        for v, name in enumerate(self.config.venue_names):
            columns[f"equity_{name}"] = account.equity_venue[:, v]
        return _frame(columns)

    def write(self, out: str | Path) -> list[Path]:
        """The report's files into folder ``out``, as ``arb backtest`` writes them (trades.csv, orders.csv,
        equity.npz, equity.png, inventory.csv, summary.json); returns their paths."""
        from arb.reports import write_report

        r = self.result
        return write_report(
            Path(out), self.summary, r.fills, r.equity, funding=r.funding, orders=self.orders, transfers=r.transfers
        )


def _strategy_spec(strategy: str | Strategy) -> str:
    # ``[strategy] kernel`` for a strategy given as its spec or as the object: the module that defines it
    # and its name there.
    if isinstance(strategy, str):
        return strategy
    import sys

    if strategy.origin == "arb":
        return strategy.name
    if ":" in strategy.origin:  # loaded from a spec already (arb.strategy.loading keeps it as its origin)
        return strategy.origin
    fn = getattr(strategy.decide, "py_func", strategy.decide)
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    for name, value in vars(module).items() if module is not None else ():
        if value is strategy and module is not None and module.__name__ != "__main__":
            path = getattr(module, "__file__", None)
            return f"{path}:{name}" if path else f"{module.__name__}:{name}"
    raise ValueError(
        f"strategy {strategy.name!r} is not a name of an importable module: put it in a file and pass "
        "'path/to/file.py:Name' (or import it from there)"
    )


def backtest(
    config: str | Path | AppConfig | None = None,
    *,
    strategy: str | Strategy | None = None,
    params: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    recordings: str | Path | None = None,
) -> BacktestRun:
    """Run a backtest and return it (:class:`BacktestRun`).

    ``config``: the configuration file (default ``config/arbitrage.toml`` under the current folder), or a
    loaded one. ``strategy``: ``[strategy] kernel`` (``"path/to/file.py:Name"``, ``"package.module:Name"``,
    a built-in's name) or the :class:`~arb.strategy.seam.Strategy` object itself (defined in an importable
    module or file); ``params``: its ``[strategy.params]``; ``settings``: any other keys, as ``--set`` takes
    them (``{"risk.position_limit": 0.01}``); ``start``/``end``: the days (a date or ``"2024-08-08"``;
    default every recorded day); ``recordings``: another recordings folder."""
    from arb.backtest.run import run_backtest
    from arb.reports.backtest_run import backtest_summary

    pairs: list[tuple[str, Any]] = list((settings or {}).items())
    if strategy is not None:
        pairs.append(("strategy.kernel", _strategy_spec(strategy)))
    pairs += [(f"strategy.params.{key}", value) for key, value in (params or {}).items()]
    if recordings is not None:
        pairs.append(("backtest.recordings", str(Path(recordings).resolve())))
    with command_line_settings(pairs):
        if isinstance(config, AppConfig) and not pairs:
            loaded = config
        else:  # a loaded configuration is read again from its file, with the settings
            loaded = load_config(config.path if isinstance(config, AppConfig) else config, warn=False)
        result = run_backtest(loaded, _date(start), _date(end), compile_beside=_spawn_safe())
        summary, orders = backtest_summary(loaded, result)
    return BacktestRun(loaded, result, summary, orders)


def _spawn_safe() -> bool:
    # Whether processes may be spawned to compile beside this one: not from a script (its top level would
    # run again in them unless guarded by ``if __name__ == "__main__":``, which cannot be seen from here);
    # an interactive session or a notebook has no main file to run again.
    import __main__

    return getattr(__main__, "__file__", None) is None


def _date(value: dt.date | str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def compare(runs: Mapping[str, BacktestRun]) -> Any:
    """One row of :attr:`BacktestRun.figures` per run, named by the mapping's keys (a data frame where pandas
    is installed, else a record array)."""
    rows = {name: run.figures for name, run in runs.items()}
    keys = list(next(iter(rows.values()))) if rows else []
    columns: dict[str, Any] = {"run": list(rows)}
    for key in keys:
        columns[key] = [row[key] for row in rows.values()]
    return _frame(columns)
