"""What the intent commit costs: ``Journal.add_intent`` on SQLite (FULL, NORMAL) and PostgreSQL.

Each intent is one committed INSERT, as before an order's request is written; with the intent
log attached (``[live] intent_log``), one store into the memory-mapped log instead (the INSERT then
goes with the flush). Printed beside it, in
the same run: a bare ``sqlite3`` INSERT + COMMIT with the same pragmas (the floor the journal adds to)
and a queued state update flushed as ``executemany`` per 100 (the writes that follow an order). The
PostgreSQL figure needs the server binaries (it starts one, as the tests do). Never fails on a timing.

    python benchmarks/bench_journal.py [--intents 3000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import run_benchmark  # noqa: E402

from arb.journal import Journal  # noqa: E402
from arb.journal.intent_log import IntentLog  # noqa: E402
from tests.support.postgres import postgres_server  # noqa: E402


def _row(k: int) -> dict[str, object]:
    return {"client_id": f"arb-bench000000-{k:x}-1", "account": "main", "run_id": "bench", "venue": "bybit",
            "market": "spot", "symbol": "BTCUSDT", "side": 1, "order_type": "limit", "time_in_force": "ioc",
            "price": "61837.6", "qty": "0.001", "reduce_only": False, "kind": 1, "pair_id": k, "state": "pending",
            "intent_ns": time.time_ns()}  # fmt: skip


def _pct(values_ns: list[int]) -> str:
    a = np.array(values_ns[len(values_ns) // 10 :], dtype=np.float64) / 1e3  # the first tenth warms up
    p50, p99 = np.percentile(a, [50, 99])
    return f"p50 {p50:7.1f} us  p99 {p99:7.1f} us  max {a.max():8.1f} us"


def _journal(url: str, n: int, synchronous: str = "full", log: Path | None = None) -> tuple[list[int], list[int]]:
    journal = Journal.open(url, synchronous=synchronous)
    if log is not None:
        journal.attach_intent_log(IntentLog(log))
    commits, flushes = [], []
    for k in range(n):
        t0 = time.perf_counter_ns()
        journal.add_intent(_row(k))
        commits.append(time.perf_counter_ns() - t0)
        journal.update_intent_state(f"arb-bench000000-{k:x}-1", {
            "state": "filled", "venue_order_id": str(k), "executed_qty": "0.001", "reject_code": "",
            "reject_message": "", "written_ns": 1, "ack_ns": 2, "first_fill_ns": 3, "done_ns": 4})  # fmt: skip
        if k % 100 == 99:
            t0 = time.perf_counter_ns()
            journal.flush()
            flushes.append(time.perf_counter_ns() - t0)
    journal.close()
    return commits, flushes


def _bare_sqlite(path: Path, n: int, synchronous: str) -> list[int]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (client_id TEXT PRIMARY KEY, payload TEXT)")
    out = []
    for k in range(n):
        t0 = time.perf_counter_ns()
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (?, ?)", (f"c{k}", "x" * 120))
        conn.execute("COMMIT")
        out.append(time.perf_counter_ns() - t0)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--intents", type=int, default=3000)
    n = parser.parse_args().intents
    print(f"intent commit, {n} intents (each one INSERT committed at once)")
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("full", "normal"):
            bare = _bare_sqlite(Path(folder) / f"bare-{mode}.sqlite", n, mode)
            commits, flushes = _journal(str(Path(folder) / f"j-{mode}.sqlite"), n, mode)
            print(f"  sqlite {mode:<6} bare sqlite3 (reference)   {_pct(bare)}")
            print(f"  sqlite {mode:<6} Journal.add_intent         {_pct(commits)}")
            print(f"  sqlite {mode:<6} flush of 100 state updates {_pct(flushes)}")
        logged, flushes = _journal(str(Path(folder) / "j-log.sqlite"), n, "normal", Path(folder) / "j.intents")
        print(f"  sqlite normal + intent log: add_intent {_pct(logged)}")
        print(f"  sqlite normal + intent log: flush of 100 intents and their updates {_pct(flushes)}")
    with postgres_server() as server:
        if isinstance(server, str):
            print(f"  postgresql: not measured ({server})")
            return
        commits, flushes = _journal(server.new_database(), n)
        print(f"  postgresql    Journal.add_intent         {_pct(commits)}")
        print(f"  postgresql    flush of 100 state updates {_pct(flushes)}")


if __name__ == "__main__":
    run_benchmark(main)
