"""What a run reports of its strategy: summary.json's ``meta.strategy`` (name, origin, summary, whether it
quotes, its parameters), the line before the terminal's table, and the periodic page's line."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from rich.console import Console

from arb.config import load_config
from arb.reports import compute_period, period_of, render_html
from arb.reports.common import strategy_text
from arb.reports.console import print_summary
from arb.reports.summary import run_summary
from arb.strategy.types import BUY, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files
from tests.support.user_strategy import write_strategy
from tests.unit.test_periodic_report import DAY, MIDNIGHT, NS, _fills, _source
from tests.unit.test_report import INITIAL, driver_equity, make_fills


def _run(folder: Path, strategy: dict[str, object]) -> tuple[dict[str, object], str]:
    # summary.json's meta and the terminal's text of a two-fill run of the configuration ``strategy`` makes
    config = load_config(write_config_files(folder, arbitrage_overrides={"strategy": strategy}))
    fills = make_fills((1.0, 0, BUY, 60_000.0, 0.001, 0.06, 1, INTENT_OPEN, 1),
                       (1.0, 1, SELL, 60_100.0, 0.001, 0.06, 1, INTENT_OPEN, 2))  # fmt: skip
    equity = driver_equity(fills, INITIAL, [0.0, 2.0], [(60_000.0, 60_100.0)] * 2)
    summary = run_summary(config, fills, equity, INITIAL, {"mode": "backtest", "config": config.to_dict()})
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=200))
    return dict(summary.meta), out.getvalue()


def test_summary_and_terminal_name_the_strategy_and_its_parameters(tmp_path) -> None:
    file = write_strategy(tmp_path / "cfg").resolve()
    meta, text = _run(tmp_path / "cfg", {"kernel": "mystrat.py:Cross", "params": {"window": 30}})
    assert meta["strategy"] == {
        "name": "cross", "origin": f"{file}:Cross", "summary": "a pair when one venue's bid clears another's ask",
        "quotes": False, "params": {"threshold_bps": 5.0, "size": 0.001, "window": 30, "enabled": True},
    }  # fmt: skip
    line = f"strategy 'cross' (from {file}:Cross): threshold_bps = 5.0, size = 0.001, window = 30, enabled = true"
    assert text.splitlines()[0] == line  # before the table
    meta, text = _run(tmp_path / "builtin", {})
    own = meta["strategy"]["params"]  # type: ignore[index]
    assert meta["strategy"]["name"] == "taker" and list(own) == [  # type: ignore[index]
        "min_spread_bps", "max_order_size", "max_position_size", "rebalance_threshold", "funding_horizon_ns",
        "close_before_funding_ns", "inventory_skew_bps",
    ]  # fmt: skip
    shown = ", ".join(f"{k} = {v!r}" for k, v in own.items())
    assert text.splitlines()[0] == f"strategy 'taker' (built in): {shown}"  # its own parameters, by their names
    assert strategy_text({"name": "taker", "origin": "arb", "params": {}}) == (
        "strategy 'taker' (built in): the [strategy] settings"  # a run recorded before the built-ins had params
    )
    assert strategy_text({"name": "bare", "origin": "/x/bare.py:Bare", "params": {}}) == (
        "strategy 'bare' (from /x/bare.py:Bare): no parameters"  # it declares none: not [strategy]'s
    )


def test_the_page_names_the_strategies_its_runs_ran() -> None:
    fills = _fills((MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
                   (MIDNIGHT - 60 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN))  # fmt: skip
    record = {"name": "z<b>", "origin": "/x/z.py:Z", "params": {"window": 600, "on": False}}
    source = dataclasses.replace(_source(fills), strategies=(strategy_text(record),))
    page = render_html(compute_period(source, period_of("day", DAY)), MIDNIGHT)
    assert (
        '<p class="sub" id="strategy">strategy &#x27;z&lt;b&gt;&#x27; (from /x/z.py:Z): window = 600, on = false</p>'
        in page
    )
    assert 'id="strategy"' not in render_html(compute_period(_source(fills), period_of("day", DAY)), MIDNIGHT)
    assert strategy_text(None) == "" and strategy_text({"origin": "arb"}) == ""  # a run that recorded none
