"""Where a scan keeps its results: a file set per shard as it finishes, the whole in columnar files at the end.

``<out>/shards/<YYYY-MM-DD>/<SYMBOL>_<market>``: ``.rows.parquet`` (a row per ordered pair),
``.episodes.parquet`` (every episode), ``.series.parquet`` (the chart's net edge over the day),
``.anchor.parquet`` (the published measure's samples, :func:`arb.scan.shard.anchor_samples`) and, written
last, ``.done.json`` (the shard's key, what it could not read, the bytes it read). A shard whose ``.done.json``
holds the same key is done: a resumed scan, or a second scan of the same days with the same settings, reads
it instead of scanning again. Every file is written to a temporary name and renamed into place, so an
interrupted scan leaves whole shards or none.

At the end the shards of the plan are gathered: ``scan.parquet`` and ``scan.csv`` (the same rows, the same
columns, :data:`COLUMNS` first), ``episodes.parquet``.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "ShardFiles", "done_key", "gather", "read_table", "shard_record", "write_shard"]

import csv
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arb.errors import RecordingError
from arb.scan.shard import ShardResult

COLUMNS = (
    "day", "symbol", "market", "buy_venue", "sell_venue", "seconds", "share_above", "episodes",
    "episode_ms_p50", "episode_ms_p90", "crossable_base", "crossable_quote", "edge_quote",
    "capturable_quote_at_latency", "net_bps_p50", "net_bps_p90", "net_bps_p99", "net_bps_max", "lead_venue",
    "lead_ms", "funding_diff_bps",
)  # fmt: skip
"""The columns every scan writes, in this order (docs/scan.md says what each means); others follow them."""


@dataclass(frozen=True, slots=True)
class ShardFiles:
    """The files of one shard under ``out``."""

    out: Path
    name: str

    def path(self, what: str) -> Path:
        """``rows``, ``episodes``, ``series``, ``anchor`` (``.parquet``) or ``done`` (``.json``)."""
        suffix = ".json" if what == "done" else ".parquet"
        return self.out / "shards" / f"{self.name}.{what}{suffix}"


def done_key(files: ShardFiles) -> str | None:
    """The key a finished shard was scanned with, or None when it is not finished (or its record is damaged)."""
    try:
        found = json.loads(files.path("done").read_text())
    except (OSError, ValueError):
        return None
    key = found.get("key") if isinstance(found, dict) else None
    return key if isinstance(key, str) else None


def _write_parquet(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    hidden = path.with_name(f".{path.name}.part")
    pq.write_table(table, hidden, compression="zstd")
    os.replace(hidden, path)


def _table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    names = list(COLUMNS) + [k for k in (rows[0] if rows else {}) if k not in COLUMNS]
    return pa.table({name: [row.get(name) for row in rows] for name in names}) if rows else pa.table(
        {name: pa.array([], pa.string()) for name in COLUMNS})  # fmt: skip


def write_shard(out: Path, result: ShardResult, seconds: float) -> ShardFiles:
    """Keep a finished shard's results (see the module docstring); returns its files."""
    files = ShardFiles(out, result.shard)
    rows = [pair.row for pair in result.pairs]
    _write_parquet(_table(rows), files.path("rows"))
    columns: dict[str, list[Any]] = {}
    for pair in result.pairs:
        n = len(pair.episodes["start_ns"])
        for key in ("day", "symbol", "market", "buy_venue", "sell_venue"):
            columns.setdefault(key, []).extend([pair.row[key]] * n)
        for key, values in pair.episodes.items():
            columns.setdefault(key, []).extend(np.asarray(values).tolist())
    _write_parquet(pa.table(columns) if columns else pa.table({"symbol": pa.array([], pa.string())}),
                   files.path("episodes"))  # fmt: skip
    series: dict[str, list[Any]] = {}
    for pair in result.pairs:
        n = len(pair.series["t_s"])
        series.setdefault("buy_venue", []).extend([pair.row["buy_venue"]] * n)
        series.setdefault("sell_venue", []).extend([pair.row["sell_venue"]] * n)
        for key, values in pair.series.items():
            series.setdefault(key, []).extend(np.asarray(values, np.float64).tolist())
    _write_parquet(pa.table(series) if series else pa.table({"t_s": pa.array([], pa.float64())}),
                   files.path("series"))  # fmt: skip
    anchor = {k: np.asarray(v).tolist() for k, v in result.anchor.items()}
    _write_parquet(pa.table(anchor) if anchor else pa.table({"t_s": pa.array([], pa.float64())}), files.path("anchor"))
    done = files.path("done")
    hidden = done.with_name(f".{done.name}.part")
    record = {"key": result.key, "problems": result.problems, "notes": result.notes,
              "bytes_read": result.bytes_read, "seconds": seconds}  # fmt: skip
    hidden.write_text(json.dumps(record, indent=1))
    os.replace(hidden, done)
    return files


def read_table(path: Path) -> list[dict[str, Any]]:
    """A Parquet file's rows as dicts; :class:`RecordingError` naming the file when it cannot be read."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise RecordingError(
            f"{path}: not a readable Parquet file ({exc}): delete it to scan its shard again"
        ) from None
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def shard_record(files: ShardFiles) -> dict[str, Any]:
    """A finished shard's ``.done.json`` (problems, notes, bytes read, seconds)."""
    found: dict[str, Any] = json.loads(files.path("done").read_text())
    return found


def gather(out: Path, names: Iterable[str]) -> tuple[list[dict[str, Any]], Path, Path]:
    """Join the shards ``names`` into ``scan.parquet``, ``scan.csv`` and ``episodes.parquet`` under ``out``;
    returns the rows and the two scan files' paths."""
    rows: list[dict[str, Any]] = []
    episodes: list[dict[str, Any]] = []
    for name in names:
        files = ShardFiles(out, name)
        rows.extend(read_table(files.path("rows")))
        episodes.extend(read_table(files.path("episodes")))
    rows = [row for row in rows if row.get("buy_venue")]
    episodes = [e for e in episodes if e.get("buy_venue")]
    parquet = out / "scan.parquet"
    _write_parquet(_table(rows), parquet)
    if episodes:
        _write_parquet(pa.Table.from_pylist(episodes), out / "episodes.parquet")
    csv_path = out / "scan.csv"
    hidden = csv_path.with_name(f".{csv_path.name}.part")
    names_ = list(COLUMNS) + [k for k in (rows[0] if rows else {}) if k not in COLUMNS]
    with hidden.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=names_)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in names_})
    os.replace(hidden, csv_path)
    return rows, parquet, csv_path


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if value != value else repr(value)  # NaN: empty, as pandas reads it back
    return value
