"""The engine's record logs stay within their bound however long a run lasts (``arb.live.row_log``)."""

from __future__ import annotations

import numpy as np

from arb.live.engine import KEEP_CALLS, KEEP_EQUITY_SAMPLES, KEEP_SENT, EngineLog
from arb.live.row_log import RowLog

ROW = np.dtype([("ts", np.int64), ("symbol", np.int64)])


def _append(log: RowLog, ts: int, rows: int = 1) -> None:
    # as the engine writes: room, then rows at data[n:], then n moved on
    data = log.room(rows)
    for k in range(rows):
        data[log.n + k] = (ts, k)
    log.n += rows


def test_a_bounded_log_keeps_the_newest_rows_in_order_and_counts_every_one() -> None:
    log = RowLog(ROW, capacity=16, keep=256)
    for ts in range(10_000):
        _append(log, ts)
        assert len(log.data) <= 256
    held = log.view()["ts"]
    assert log.total == 10_000 and log.shed == 10_000 - log.n
    assert held[-1] == 9_999 and (np.diff(held) == 1).all() and log.n >= 128


def test_a_thinned_log_keeps_the_whole_span_coarser_as_it_ages_a_sample_whole() -> None:
    log = RowLog(ROW, capacity=16, keep=128, thin=True, group=2)  # a sample is a row per symbol
    for ts in range(20_000):
        _append(log, ts, rows=2)
        assert len(log.data) <= 128
    held = log.view()
    assert log.n <= 128 and log.total == 40_000
    assert (held["ts"][0::2] == held["ts"][1::2]).all() and (held["symbol"] == np.tile([0, 1], log.n // 2)).all()
    times = held["ts"][0::2]
    assert times[-1] == 19_999 and (np.diff(times) > 0).all()
    assert times[0] == 0 and (np.diff(times[:8]) > 1).all()  # the run's start is still there, thinned


def test_an_unbounded_log_doubles_as_before() -> None:
    log = RowLog(ROW, capacity=4)
    for ts in range(100):
        _append(log, ts)
    assert log.n == 100 and log.shed == 0 and (log.view()["ts"] == np.arange(100)).all()


def test_the_engines_decision_sent_and_equity_logs_are_bounded_after_many_rows() -> None:
    log = EngineLog(symbols=2)
    for ts in range(3 * KEEP_CALLS):
        for rows in (log.calls, log.sent):
            data = rows.room(2)
            data[rows.n]["ts"] = ts
            rows.n += 1
    for ts in range(3 * KEEP_EQUITY_SAMPLES):
        _equity = log.equity.room(2)
        _equity[log.equity.n : log.equity.n + 2]["ts"] = ts
        log.equity.n += 2
    assert len(log.calls.data) <= KEEP_CALLS and log.calls.total == 3 * KEEP_CALLS
    assert len(log.sent.data) <= KEEP_SENT and log.sent.view()["ts"][-1] == 3 * KEEP_CALLS - 1
    assert len(log.equity.data) <= 2 * KEEP_EQUITY_SAMPLES
    assert log.equity.view()["ts"][-1] == 3 * KEEP_EQUITY_SAMPLES - 1
