"""``arb scan --backtest N``: the configured strategy backtested on the scan's N best candidates, beside what the
scan said they were worth.

For each candidate (symbol, buy venue, sell venue) whose symbol the configuration trades (its sizes and the
venues' trading rules for it are configured: a candidate of another symbol is named and skipped) the backtest
runs what ``arb backtest`` runs, on the same
configuration with the two venues and the one symbol (``strategy.venues`` and ``strategy.symbol`` set as
``--set`` would) over the days the scan covered. Its fills are grouped into pairs (``pair_id``): a pair whose
buy filled on the candidate's buy venue and whose sell filled on its sell venue is one of the candidate's
direction; its quote earned is what it sold for less what it bought for and both legs' fees. The scan's side
is its episodes' edge: all of it (``edge_quote``), what a bot at the pair's latency could take
(``capturable_quote_at_latency``) and what one pair of the strategy's order size takes at each such episode
(``capturable_quote_at_size``). docs/scan.md shows the comparison on the sample and why they differ.
"""

from __future__ import annotations

__all__ = ["against_table", "backtest_candidates", "direction_pairs"]

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table


def direction_pairs(fills: np.ndarray[Any, Any], buy: int, sell: int) -> tuple[int, float]:
    """The pairs of ``fills`` (a backtest's fill rows) that bought on venue number ``buy`` and sold on ``sell``:
    their count and the quote they earned after fees (sells less buys less fees)."""
    count = 0
    earned = 0.0
    for pair in np.unique(fills["pair_id"][fills["pair_id"] >= 0]):
        legs = fills[fills["pair_id"] == pair]
        buys = legs[legs["side"] > 0]
        sells = legs[legs["side"] < 0]
        if not len(buys) or not len(sells) or set(buys["venue"].tolist()) != {buy}:
            continue
        if set(sells["venue"].tolist()) != {sell}:
            continue
        count += 1
        earned += float((sells["price"] * sells["qty"]).sum() - (buys["price"] * buys["qty"]).sum())
        earned -= float(legs["fee"].sum())
    return count, earned


def backtest_candidates(config_path: Path, groups: Sequence[dict[str, Any]], n: int, days: Sequence[dt.date],
                        recordings: Path) -> list[dict[str, Any]]:  # fmt: skip
    """Backtest the first ``n`` ranked candidates (see the module docstring); a row each, the scan's figures
    beside the backtest's."""
    from arb.backtest.run import run_backtest
    from arb.config import load_config
    from arb.config.load import command_line_settings
    from arb.reports.backtest_run import backtest_summary

    out = []
    traded = set(load_config(config_path, warn=False).symbol_names)
    for g in groups[:n]:
        if g["symbol"] not in traded:
            out.append({"rank": g["rank"], "symbol": g["symbol"], "buy_venue": g["buy_venue"],
                        "sell_venue": g["sell_venue"], "skipped": (
                            f"{g['symbol']} is not in [strategy] symbols of {config_path}: its sizes and trading "
                            f"rules are not configured (add it and its [symbols.{g['symbol']}] tables, "
                            "docs/configuration.md)")})  # fmt: skip
            continue
        settings: list[tuple[str, Any]] = [
            ("strategy.venues", [g["buy_venue"], g["sell_venue"]]),
            ("strategy.symbol", g["symbol"]),
            ("strategy.symbols", [g["symbol"]]),
            ("backtest.recordings", str(recordings)),
        ]
        with command_line_settings(settings):
            config = load_config(config_path, warn=False)
        result = run_backtest(config, min(days), max(days), compile_beside=False)
        summary, _ = backtest_summary(config, result)
        pairs, earned = direction_pairs(result.fills, 0, 1)
        out.append({
            "rank": g["rank"], "symbol": g["symbol"], "buy_venue": g["buy_venue"], "sell_venue": g["sell_venue"],
            "scan_episodes": int(g["episodes"]), "scan_capturable_episodes": int(g.get("capturable_episodes", 0)),
            "scan_edge_quote": g["edge_quote"], "scan_capturable_quote": g["capturable_quote_at_latency"],
            "scan_capturable_quote_at_size": g.get("capturable_quote_at_size", math.nan),
            "backtest_pairs": pairs, "backtest_quote": earned, "backtest_pairs_all": summary.pairs.pairs,
            "backtest_net_pnl": summary.total.pnl,
        })  # fmt: skip
    return out


def against_table(rows: Sequence[dict[str, Any]], quote: str) -> Table:
    """The scan's figures beside the backtest's, a row per candidate."""
    table = Table(title="the scan beside a backtest of the configured strategy on each candidate's two venues",
                  title_justify="left")  # fmt: skip
    for name in ("#", "symbol", "buy", "sell", "episodes > latency", f"capturable {quote}",
                 f"one order each {quote}", "backtest pairs", f"backtest earned {quote}", "all pairs",
                 f"net PnL {quote}"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("symbol", "buy", "sell") else "right")
    for r in rows:
        if "skipped" in r:
            continue
        table.add_row(str(r["rank"]), r["symbol"], r["buy_venue"], r["sell_venue"], str(r["scan_capturable_episodes"]),
                      f"{r['scan_capturable_quote']:,.2f}", f"{r['scan_capturable_quote_at_size']:,.4f}",
                      str(r["backtest_pairs"]), f"{r['backtest_quote']:,.4f}", str(r["backtest_pairs_all"]),
                      f"{r['backtest_net_pnl']:,.4f}")  # fmt: skip
    return table
