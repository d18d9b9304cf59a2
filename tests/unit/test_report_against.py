"""``arb report --source live --against RESULTS``: the figures of live beside a backtest, each checked by
hand on small made-up orders; the orders a backtest writes (orders.csv) and the round trips it gave
them; the overlap, and the refusals that name the option."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from arb.backtest.order_latency import ORDER_LATENCY_DTYPE, replayed_round_trips
from arb.cli import main
from arb.errors import UsageError
from arb.reports.against import MATCHED_DTYPE, Orders, compare, order_figures, table_of
from arb.reports.files import ORDERS_HEADER, _write_orders, read_orders_csv
from arb.reports.sent_orders import ORDER_DTYPE, backtest_orders
from arb.strategy.types import BUY, FILL_DTYPE, INTENT_CANCEL, INTENT_HEDGE, INTENT_OPEN, SELL, SENT_DTYPE

MS = 1_000_000


def _orders(*rows: tuple[int, int, int, float, float, int]) -> np.ndarray[Any, Any]:
    # (ts, venue, side, price, qty, trip_ns) -> ORDER_DTYPE, symbol 0, order ids 1..n
    out = np.zeros(len(rows), ORDER_DTYPE)
    for i, (ts, venue, side, price, qty, trip) in enumerate(rows):
        out[i] = (ts, venue, 0, side, price, qty, INTENT_OPEN, i + 1, i + 1, trip)
    return out


def _fills(*rows: tuple[int, float, float]) -> np.ndarray[Any, Any]:
    return np.array(list(rows), MATCHED_DTYPE)


# Three orders on one venue: a buy of 1.0 at 100 filled in two parts (0.6 at 100.1: 10 bps worse;
# 0.4 at 99.9: 10 bps better), a sell of 2.0 at 200 half filled at 199 (50 bps worse), a buy of 1.0
# at 50 not filled. Round trips 1 ms and 3 ms; the third was never answered.
ORDERS = _orders((10, 0, BUY, 100.0, 1.0, 1 * MS), (20, 0, SELL, 200.0, 2.0, 3 * MS), (30, 0, BUY, 50.0, 1.0, -1))
FILLS = _fills((0, 100.1, 0.6), (0, 99.9, 0.4), (1, 199.0, 1.0))


def test_the_figures_by_hand() -> None:
    f = order_figures(ORDERS, FILLS)
    assert (f.orders, f.ordered_qty, f.filled_qty, f.fills) == (3, 4.0, 2.0, 3)
    assert f.qty_fill_rate == pytest.approx(0.5)  # 2.0 of 4.0
    assert (f.orders_filled, f.order_fill_rate) == (2, pytest.approx(2 / 3))
    # slippage per fill: +10, -10, +50 bps; mean 50/3; median 10; p95 between 10 and 50 at 0.9: 46
    assert f.slippage_mean_bps == pytest.approx(50 / 3)
    assert f.slippage_p50_bps == pytest.approx(10.0)
    assert f.slippage_p95_bps == pytest.approx(46.0)
    # round trips 1 and 3 ms (the unanswered order has none): median 2, p99 1 + 0.99 x 2
    assert (f.round_trips, f.round_trip_p50_ms, f.round_trip_p99_ms) == (2, pytest.approx(2.0), pytest.approx(2.98))


def test_nothing_to_measure_is_not_zero() -> None:
    f = order_figures(ORDERS[:0], FILLS[:0])
    assert (f.orders, f.qty_fill_rate, f.order_fill_rate, f.slippage_mean_bps, f.round_trip_p50_ms) == (
        0, None, None, None, None)  # fmt: skip
    unknown = order_figures(ORDERS, FILLS[:0], matched=False)
    assert (unknown.orders, unknown.filled_qty, unknown.orders_filled, unknown.slippage_p50_bps) == (
        3,
        None,
        None,
        None,
    )
    assert unknown.round_trip_p50_ms == pytest.approx(2.0)


def test_only_the_overlap_is_compared() -> None:
    # live from 10 to 30 (orders at 10, 20, 30), the backtest from 15 to 40 (one order at 25, filled
    # at its price): the overlap is 15 to 30; live's order at 10 and its two fills are left out.
    live = Orders(ORDERS, FILLS, 10, 30, ("BTCUSDT",))
    backtest = Orders(_orders((25, 0, BUY, 100.0, 1.0, 2 * MS)), _fills((0, 100.0, 1.0)), 15, 40, ("BTCUSDT",))
    c = compare(live, backtest, "bt")
    assert (c.start_ns, c.end_ns) == (15, 30)
    binance, bybit = c.rows
    assert (binance.venue, bybit.venue) == ("binance", "bybit")
    assert (binance.live.orders, binance.live.filled_qty, binance.live.fills) == (2, 1.0, 1)
    assert binance.live.slippage_mean_bps == pytest.approx(50.0)
    assert (binance.backtest.orders, binance.backtest.qty_fill_rate, binance.backtest.slippage_mean_bps) == (
        1,
        1.0,
        0.0,
    )
    assert bybit.live.orders == 0 and bybit.backtest.orders == 0
    header, rows = table_of(c)
    assert header == ["figure", "binance live", "binance backtest", "bybit live", "bybit backtest"]
    assert dict((r[0], r[1:]) for r in rows)["orders filled"] == [
        "1 of 2 (50.00%)", "1 of 1 (100.00%)", "0 of 0 (n/a)", "0 of 0 (n/a)"]  # fmt: skip


def test_no_overlap_is_refused_naming_the_option() -> None:
    live = Orders(ORDERS, FILLS, 10, 30, ())
    backtest = Orders(ORDERS[:0], FILLS[:0], 31, 40, ())
    with pytest.raises(UsageError, match=r"--against: .* do not overlap"):
        compare(live, backtest, "bt")


def test_against_only_with_the_live_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--source", "paper", "--against", str(tmp_path)]) == 2
    assert "--against: expected only with --source live" in capsys.readouterr().err


# -- what a backtest writes ------------------------------------------------------------------------------


def test_replayed_round_trips_interpolate_as_hftbacktest() -> None:
    # rows: sent 0, at the venue 10, answered 30 (entry 10, response 20); sent 100, at the venue 120,
    # answered 160 (entry 20, response 40).
    rows = np.zeros(2, ORDER_LATENCY_DTYPE)
    rows["req_ts"], rows["exch_ts"], rows["resp_ts"] = [0, 100], [10, 120], [30, 160]
    # at 50: entry 15 (halfway), at the venue at 65: response 20 + 55/110 x 20 = 30 -> 45;
    # before the first row the first's (10 + 20); after the last the last's (20 + 40)
    assert replayed_round_trips(rows, np.array([50, -5, 200])).tolist() == [45, 30, 60]


def _venue(name: str, entry_ms: float, response_ms: float) -> Any:
    latency = SimpleNamespace(
        order="constant", order_entry_ns=int(entry_ms * MS), order_response_ns=int(response_ms * MS)
    )
    return SimpleNamespace(name=name, path=Path(f"{name}.toml"), latency=latency)


def _sent() -> np.ndarray[Any, Any]:
    # an open on each venue, a cancel (no order id), a hedge on Bybit
    sent = np.zeros(4, SENT_DTYPE)
    rows = [(0, BUY, INTENT_OPEN, 1), (1, SELL, INTENT_OPEN, 1), (0, BUY, INTENT_CANCEL, 0), (1, SELL, INTENT_HEDGE, 1)]
    for i, (venue, side, kind, pair) in enumerate(rows):
        sent[i] = (100 * (i + 1), venue, side, 60_000.0 + i, 0.01, kind, pair, 0, 0, 0)
    return sent


def _filled(*orders: tuple[int, int, int, int, int]) -> np.ndarray[Any, Any]:
    # (order_id, venue, side, kind, pair) -> FILL_DTYPE
    fills = np.zeros(len(orders), FILL_DTYPE)
    for i, (oid, venue, side, kind, pair) in enumerate(orders):
        fills[i] = (1000, 1000, venue, side, 60_000.0, 0.01, 0.0, pair, kind, oid, 0)
    return fills


def test_backtest_orders_are_numbered_as_their_fills_name_them(tmp_path: Path) -> None:
    venues = [_venue("binance", 1.0, 2.0), _venue("bybit", 5.0, 5.0)]
    fills = _filled((1, 0, BUY, INTENT_OPEN, 1), (3, 1, SELL, INTENT_HEDGE, 1))
    orders = backtest_orders(_sent(), fills, 0, venues)
    assert orders["order_id"].tolist() == [1, 2, 3]  # the cancel is not an order
    assert orders["kind"].tolist() == [INTENT_OPEN, INTENT_OPEN, INTENT_HEDGE]
    assert orders["trip_ns"].tolist() == [3 * MS, 10 * MS, 10 * MS]
    # a failed submission took a number: which order a fill came from is not known
    assert backtest_orders(_sent(), fills, 1, venues)["order_id"].tolist() == [0, 0, 0]
    # a fill that disagrees with the order its id names: not known either
    wrong = _filled((2, 0, BUY, INTENT_OPEN, 1))
    assert backtest_orders(_sent(), wrong, 0, venues)["order_id"].tolist() == [0, 0, 0]
    # orders.csv: written and read back exactly
    with (tmp_path / "orders.csv").open("wb") as f:
        _write_orders(f, orders, ("BTCUSDT",))
    text = (tmp_path / "orders.csv").read_text()
    assert text.splitlines()[0] == ",".join(ORDERS_HEADER)
    assert text.splitlines()[3].endswith(",bybit,BTCUSDT,sell,60003.0,0.01,hedge,1,3,10000000")
    back = read_orders_csv(tmp_path / "orders.csv", ("BTCUSDT",))
    assert back.tobytes() == orders.tobytes()
