"""``arb scan --view crepelliere``: the published measure of cross-exchange opportunity, on the scan's days.

Crépellière, Pelster and Zeisberger (Journal of Financial Markets, 2023) measure arbitrage across exchanges as,
every five seconds, the highest inside bid of a coin across the exchanges minus the lowest inside ask, counting
only quotes of at least 0.5 coins (0.05 and 5 in their robustness checks), gross of fees. The scan computes the
same from the books it reads (each venue's quote in force at each five-second mark; :func:`arb.scan.measure.anchor`)
for every symbol and day, at the three floors, and summarises it per (symbol, day, floor): the share of marks
with a positive gap, its quantiles over the marks and its largest, as a ratio too (the paper's figures plot each
day's largest max bid / min ask). docs/scan.md says how it differs from the scan's own net, depth-walked,
latency-aware figures.
"""

from __future__ import annotations

__all__ = ["anchor_summary", "anchor_table", "gather_anchor", "write_summary"]

import csv
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from arb.scan.store import ShardFiles, read_table


def gather_anchor(out: Path, names: Iterable[str]) -> tuple[list[dict[str, Any]], Path]:
    """Every shard's samples (with its day, symbol and market) joined into ``anchor.parquet`` under ``out``;
    returns the samples and the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    samples: list[dict[str, Any]] = []
    for name in names:
        day, rest = name.split("/", 1)
        symbol, market = rest.rsplit("_", 1)
        for row in read_table(ShardFiles(out, name).path("anchor")):
            if "floor" in row:
                samples.append({"day": day, "symbol": symbol, "market": market, **row})
    path = out / "anchor.parquet"
    hidden = path.with_name(f".{path.name}.part")
    pq.write_table(pa.Table.from_pylist(samples) if samples else pa.table({"day": pa.array([], pa.string())}),
                   hidden, compression="zstd")  # fmt: skip
    os.replace(hidden, path)
    return samples, path


def anchor_summary(samples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (symbol, market, day, floor): ``marks`` (five-second marks with a quote on both sides; 0, and NaN
    figures, when no venue quoted that much),
    ``share_positive`` (of them, with max bid > min ask), ``gap_bps_p50/p90/p99/max`` and ``max_ratio``
    (the day's largest max bid / min ask)."""
    groups: dict[tuple[str, str, str, float], list[float]] = {}
    for s in samples:
        gaps = groups.setdefault((s["symbol"], s["market"], s["day"], s["floor"]), [])
        gap = s.get("gap_bps")
        if isinstance(gap, float) and not math.isnan(gap):
            gaps.append(gap)
    out = []
    for (symbol, market, day, floor), gaps in sorted(groups.items()):
        g = np.asarray(gaps)
        if not len(g):  # no quote that large on either side: said, as no marks
            p50 = p90 = p99 = most = math.nan
        else:
            p50, p90, p99 = (float(np.percentile(g, q, method="inverted_cdf")) for q in (50, 90, 99))
            most = float(g.max())
        share = float((g > 0).mean()) if len(g) else math.nan
        out.append({"symbol": symbol, "market": market, "day": day, "floor": floor, "marks": len(g),
                    "share_positive": share, "gap_bps_p50": p50, "gap_bps_p90": p90, "gap_bps_p99": p99,
                    "gap_bps_max": most, "max_ratio": 1.0 + most / 1e4})  # fmt: skip
    return out


def write_summary(out: Path, summary: list[dict[str, Any]]) -> Path:
    """The summary as ``anchor.csv`` under ``out``."""
    path = out / "anchor.csv"
    names = ["symbol", "market", "day", "floor", "marks", "share_positive", "gap_bps_p50", "gap_bps_p90",
             "gap_bps_p99", "gap_bps_max", "max_ratio"]  # fmt: skip
    hidden = path.with_name(f".{path.name}.part")
    with hidden.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        writer.writerows(summary)
    os.replace(hidden, path)
    return path


def anchor_table(summary: list[dict[str, Any]], floor: float | None = 0.5) -> Table:
    """The summary as a rich table (one floor, or every floor with None)."""
    table = Table(title="every 5 s: highest bid minus lowest ask across the venues, gross of fees "
                  "(Crépellière, Pelster and Zeisberger, 2023)", title_justify="left")  # fmt: skip
    for name in ("symbol", "market", "day", "floor", "marks", "gap > 0", "p50 bps", "p90 bps", "p99 bps",
                 "max bps", "max ratio"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("symbol", "market", "day") else "right")
    for s in summary:
        if floor is not None and s["floor"] != floor:
            continue
        table.add_row(s["symbol"], s["market"], s["day"], f"{s['floor']:g}", str(s["marks"]),
                      f"{100 * s['share_positive']:.2f} %", f"{s['gap_bps_p50']:.2f}", f"{s['gap_bps_p90']:.2f}",
                      f"{s['gap_bps_p99']:.2f}", f"{s['gap_bps_max']:.2f}", f"{s['max_ratio']:.5f}")  # fmt: skip
    return table
