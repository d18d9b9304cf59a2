"""The scan's ranking: its rows summed over days per (symbol, market, buy venue, sell venue), best first, and
the table the terminal shows.

Best first means the most quote a bot at the scan's latency could have taken (``capturable_quote_at_latency``),
then the most edge crossable at the episodes' starts whatever the latency (``edge_quote``), then the largest
share of time above the threshold. Sums (seconds, episodes, crossable and capturable quote) add the days up;
the share above is weighted by each day's seconds; the net-edge quantiles are the highest of the days'.
"""

from __future__ import annotations

__all__ = ["ranked", "ranking_table"]

import math
from collections.abc import Iterable
from typing import Any

from rich.table import Table

_SUMS = ("seconds", "episodes", "capturable_episodes", "crossable_base", "crossable_quote", "edge_quote",
         "capturable_quote_at_latency", "capturable_quote_at_size")  # fmt: skip
_MAXES = ("net_bps_p50", "net_bps_p90", "net_bps_p99", "net_bps_max")


def ranked(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (symbol, market, buy venue, sell venue) over every day, best first (module docstring)."""
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["symbol"], row["market"], row["buy_venue"], row["sell_venue"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"symbol": key[0], "market": key[1], "buy_venue": key[2], "sell_venue": key[3],
                               "days": 0, "_above_s": 0.0, "lead_venue": row.get("lead_venue", ""),
                               "lead_ms": row.get("lead_ms"), "latency_ms": row.get("latency_ms")}  # fmt: skip
            for name in _SUMS:
                g[name] = 0
            for name in _MAXES:
                g[name] = math.nan
        g["days"] += 1
        for name in _SUMS:
            g[name] += _num(row.get(name))
        g["_above_s"] += _num(row.get("share_above")) * _num(row.get("seconds"))
        for name in _MAXES:
            value = row.get(name)
            if isinstance(value, (int, float)) and not math.isnan(value):
                g[name] = value if math.isnan(g[name]) else max(g[name], value)
    out = []
    for g in groups.values():
        g["share_above"] = g.pop("_above_s") / g["seconds"] if g["seconds"] else math.nan
        out.append(g)
    out.sort(key=lambda g: (-g["capturable_quote_at_latency"], -g["edge_quote"], -_num(g["share_above"]),
                            g["symbol"], g["buy_venue"], g["sell_venue"]))  # fmt: skip
    for i, g in enumerate(out, 1):
        g["rank"] = i
    return out


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else 0.0


def _fmt(value: Any, digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def ranking_table(groups: list[dict[str, Any]], limit: int, quote: str = "quote", title: str = "") -> Table:
    """The first ``limit`` ranked rows as a rich table (the same figures as ``scan.csv``, summed over days)."""
    table = Table(title=title or None, title_justify="left")
    for name, justify in (("#", "right"), ("symbol", "left"), ("market", "left"), ("buy", "left"),
                          ("sell", "left"), ("days", "right"), ("hours", "right"), ("above", "right"),
                          ("episodes", "right"), (f"capturable {quote}", "right"), (f"edge {quote}", "right"),
                          (f"crossable {quote}", "right"), ("net p90 bps", "right"), ("net max bps", "right"),
                          ("lead", "left")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for g in groups[:limit]:
        lead = f"{g['lead_venue']} {_fmt(g['lead_ms'], 0)} ms" if g.get("lead_venue") else "-"
        table.add_row(
            str(g["rank"]), g["symbol"], g["market"], g["buy_venue"], g["sell_venue"], str(g["days"]),
            _fmt(g["seconds"] / 3600, 2), f"{_fmt(100 * g['share_above'], 2)} %", str(int(g["episodes"])),
            _fmt(g["capturable_quote_at_latency"]), _fmt(g["edge_quote"]), _fmt(g["crossable_quote"], 0),
            _fmt(g["net_bps_p90"]), _fmt(g["net_bps_max"]), lead,
        )  # fmt: skip
    return table
