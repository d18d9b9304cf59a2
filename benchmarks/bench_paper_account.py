"""What a paper fill costs the dry run: ``PaperAccount.record`` now, beside the design it replaced.

The dry run books each fill before its next decision, so this time sits inside tick-to-intent for
the batch that books it. Measured in the same run, in the same folder (same disk), alternating:

- *journal* (today): ``PaperAccount.record``: one SQLite transaction (WAL, ``synchronous`` FULL) with
  the fill's row and the counters and risk memory that changed, then the fill's line appended to
  ``fills.csv`` (flushed);
- *two files* (the design before, as it was): the line appended to ``fills.csv`` and synced, then
  ``account.json`` rewritten atomically (temporary file, sync, rename);
- *bare sqlite3* (the floor): one INSERT and COMMIT with the same pragmas, nothing else.

Each fill comes with the counters and a risk memory of the size a session keeps (the last pairs'
times). Never fails on a timing.

    python benchmarks/bench_paper_account.py [--fills 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.config import load_config  # noqa: E402
from arb.execution.paper_account import PaperAccount  # noqa: E402
from arb.files import write_atomic  # noqa: E402
from arb.strategy.types import BUY, FILL_DTYPE, INTENT_OPEN, SELL  # noqa: E402
from arb.testing.configs import write_config_files  # noqa: E402


def _fills(n: int) -> np.ndarray[Any, np.dtype[Any]]:
    rows = np.zeros(n, FILL_DTYPE)
    rows["local_ts"] = 1_723_161_483_281_417_992 + np.arange(n) * 20_000_000
    rows["exch_ts"] = rows["local_ts"] - 1_000_000
    rows["venue"] = np.arange(n) % 2
    rows["side"] = np.where(rows["venue"] == 0, SELL, BUY)
    rows["price"] = np.where(rows["venue"] == 0, 61661.38, 61478.8)
    rows["qty"] = 0.001
    rows["fee"] = rows["price"] * rows["qty"] * 0.001
    rows["pair_id"] = np.arange(n) // 2 + 1
    rows["kind"] = INTENT_OPEN
    rows["order_id"] = np.arange(n) + 1
    return rows


def _risk(k: int) -> dict[str, Any]:
    # the shape of arb.execution.risk.risk_memory after k pairs (times of the last 200 kept)
    times = [1_723_161_483_281_417_992 + i * 40_000_000 for i in range(max(0, k - 200), k)]
    return {
        "day": 19943,
        "day_start_equity": 16161.77,
        "day_halted": 0,
        "symbols": {"BTCUSDT": {"pair_count": k, "last_pair_ns": times[-1] if times else 0, "pair_times": times}},
    }


def _journal(folder: Path, fills: np.ndarray[Any, np.dtype[Any]], config: Any) -> list[int]:
    out = []
    with PaperAccount.open(folder, config) as account:
        for row in fills:
            account.next_order_id, account.next_pair_id = int(row["order_id"]) + 2, int(row["pair_id"]) + 1
            account.last_pair_id = [int(row["pair_id"])]
            account.risk = _risk(int(row["pair_id"]))
            t0 = time.perf_counter_ns()
            account.record(row)
            out.append(time.perf_counter_ns() - t0)
    return out


def _two_files(folder: Path, fills: np.ndarray[Any, np.dtype[Any]]) -> list[int]:
    # the previous PaperAccount.record and save, as they were
    folder.mkdir(parents=True)
    fills_path, account_path = folder / "fills.csv", folder / "account.json"
    state: dict[str, Any] = {
        "symbols": ["BTCUSDT"],
        "inception_base": [[0.05, 0.05]],
        "inception_quote": [5e3, 5e3],
        "position": [[0.0, 0.0]],
        "cash": [[0.0, 0.0]],
        "fees": [[0.0, 0.0]],
        "funding": [[0.0, 0.0]],
        "fills": 0,
        "sessions": 1,
        "replayed_days": [],
        "halt": "",
    }
    out = []
    for row in fills:
        state.update(
            next_order_id=int(row["order_id"]) + 2,
            next_pair_id=int(row["pair_id"]) + 1,
            last_buy_venue=[1],
            last_sell_venue=[0],
            last_pair_id=[int(row["pair_id"])],
            risk_memory=_risk(int(row["pair_id"])),
        )
        t0 = time.perf_counter_ns()
        v, side, qty, price, fee = (
            int(row["venue"]),
            int(row["side"]),
            float(row["qty"]),
            float(row["price"]),
            float(row["fee"]),
        )
        state["position"][0][v] += side * qty
        state["cash"][0][v] -= side * qty * price + fee
        state["fees"][0][v] += fee
        state["fills"] += 1
        new = not fills_path.exists()
        with fills_path.open("a") as f:
            if new:
                f.write("local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol\n")
            f.write(
                f"{int(row['local_ts'])},{('binance', 'bybit')[v]},{'buy' if side == BUY else 'sell'},{price!r},"
                f"{qty!r},{fee!r},{int(row['pair_id'])},open,{int(row['order_id'])},BTCUSDT\n"
            )
            f.flush()
            os.fsync(f.fileno())
        write_atomic(account_path, json.dumps(state, indent=2))  # temporary file, sync, rename
        out.append(time.perf_counter_ns() - t0)
    return out


def _bare(folder: Path, n: int) -> list[int]:
    folder.mkdir(parents=True)
    conn = sqlite3.connect(folder / "bare.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, payload TEXT)")
    out = []
    for k in range(n):
        t0 = time.perf_counter_ns()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (?, ?)", (k, "x" * 120))
        conn.execute("COMMIT")
        out.append(time.perf_counter_ns() - t0)
    conn.close()
    return out


def _pct(values_ns: list[int]) -> str:
    a = np.array(values_ns[len(values_ns) // 10 :], dtype=np.float64) / 1e3  # the first tenth warms up
    p50, p99 = np.percentile(a, [50, 99])
    return f"p50 {p50:8.1f} us  p99 {p99:8.1f} us  max {a.max():9.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fills", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three set-ups, alternating")
    args = parser.parse_args()
    fills = _fills(args.fills)
    results: dict[str, list[int]] = {"journal": [], "two files": [], "bare sqlite3": []}
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # the repository's disk, where paper/ lives
        folder = Path(tmp)
        config = load_config(write_config_files(folder / "config"))
        for r in range(args.rounds):
            results["journal"] += _journal(folder / f"journal-{r}", fills, config)
            results["two files"] += _two_files(folder / f"two-files-{r}", fills)
            results["bare sqlite3"] += _bare(folder / f"bare-{r}", args.fills)
    print(f"one paper fill booked, {args.fills} fills x {args.rounds} rounds per set-up")
    for name, values in results.items():
        print(f"  {name:<13} {_pct(values)}")
    ratio = np.median(results["journal"]) / np.median(results["two files"])
    print(f"  journal / two files (p50) = {ratio:.2f}")


if __name__ == "__main__":
    run_benchmark(main)
