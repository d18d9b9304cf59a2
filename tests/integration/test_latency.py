"""``arb latency`` reads the order latencies a live journal holds, exports them, and a backtest with
``[latency] order = "measured"`` replays them: its orders take the measured time, not the constant one."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import numpy as np
import pytest

from arb.backtest.order_latency import ORDER_LATENCY_DTYPE
from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import load_config
from arb.execution.journaling import ExecutionJournal
from arb.execution.orders import LiveOrder, OrderState
from arb.journal import Journal
from arb.strategy.types import INTENT_OPEN
from tests.support.live_rig import account, interrupted, live_trading, standing_pair, until, use_measured_latency
from tests.support.scenario_days import STANDING_DAY, scenario_config, write_standing_spread

MS = 1_000_000
T0 = 1_790_000_000_000_000_000  # a live session, long after the scenario's day


def _journal(config_path: Path, trips_ms: dict[str, list[float]]) -> None:
    # Orders answered after the given round trips, one every second, as arb live journals them.
    live = load_config(config_path).live
    live.state_dir.mkdir(parents=True, exist_ok=True)
    journal = ExecutionJournal(Journal.open(live.state_dir / f"{live.account}.sqlite"), live.account)
    n = 0
    for venue, trips in trips_ms.items():
        for k, trip in enumerate(trips):
            n += 1
            sent = T0 + k * 1_000 * MS
            order = LiveOrder(order_id=n, client_id=f"arb-t-{n}", venue=0 if venue == "binance" else 1, side=1,
                              price=100.0, qty=0.01, kind=1, pair_id=n, sent_ts=sent - 50_000, price_text="100",
                              qty_text="0.01", symbol="BTCUSDT", intent_ns=sent - 50_000)  # fmt: skip
            journal.record_intent(order, venue=venue, market="spot", account=live.account, run_id="r1")
            order.state, order.venue_order_id = OrderState.ACCEPTED, str(n)
            order.written_ns, order.ack_ns = sent, sent + int(trip * MS)
            journal.record_state(order, "ack", order.ack_ns, {"written_ns": sent})
    journal.close()


def _scenario(tmp_path: Path, order: str = "constant") -> Path:
    write_standing_spread(tmp_path)
    arbitrage = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.01, "rebalance_threshold": 0.0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
    }
    latency = {"order_entry_ms": 1.0, "order_response_ms": 1.0, "order": order, "measured_dir": "latency"}
    return scenario_config(tmp_path, arbitrage, latency=latency)


def test_the_journals_round_trips_as_percentiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path)
    _journal(path, {"binance": [2.0, 4.0, 6.0], "bybit": [10.0]})
    assert main(["latency", "--config", str(path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["latency_us"]
    assert figures["binance"]["round_trip"] == {"n": 3, "p50": 4_000.0, "p95": 5_800.0, "p99": 5_960.0,
                                                "max": 6_000.0}  # fmt: skip
    assert figures["bybit"]["round_trip"]["n"] == 1
    assert figures["binance"]["intent_to_written"]["p50"] == pytest.approx(50.0)
    assert main(["latency", "--config", str(path), "--venue", "bybit", "--plot", str(tmp_path / "l.png")]) == 0
    out = capsys.readouterr().out
    assert "bybit: 1 orders answered: request to answer p50 10,000" in out and "binance" not in out
    assert (tmp_path / "l.png").stat().st_size > 1000


def test_tick_to_trade_per_venue_and_per_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Two pairs, each decided at a frame received 300 us before its first leg's intent: each leg's request
    # written 100 us (Binance) and 150 us (Bybit) after its intent
    path = _scenario(tmp_path)
    live = load_config(path).live
    live.state_dir.mkdir(parents=True, exist_ok=True)
    journal = ExecutionJournal(Journal.open(live.state_dir / f"{live.account}.sqlite"), live.account)
    n = 0
    for pair in (1, 2):
        tick = T0 + pair * 1_000 * MS
        for venue, index, after in (("binance", 0, 100_000), ("bybit", 1, 150_000)):
            n += 1
            order = LiveOrder(order_id=n, client_id=f"arb-t-{n}", venue=index, side=1, price=100.0, qty=0.01, kind=1,
                              pair_id=pair, sent_ts=tick, price_text="100", qty_text="0.01", symbol="BTCUSDT",
                              intent_ns=tick + 300_000)  # fmt: skip
            journal.record_intent(order, venue=venue, market="spot", account=live.account, run_id="r1")
            order.state, order.venue_order_id = OrderState.ACCEPTED, str(n)
            order.written_ns, order.ack_ns = order.intent_ns + after, order.intent_ns + 2 * MS
            journal.record_state(order, "ack", order.ack_ns, {"written_ns": order.written_ns})
    journal.close()
    assert main(["latency", "--config", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency_us"]["binance"]["tick_to_written"]["p50"] == pytest.approx(400.0)
    assert data["latency_us"]["bybit"]["tick_to_written"]["p99"] == pytest.approx(450.0)
    pairs = data["pair_latency_us"]
    assert pairs["tick_to_first_leg"]["n"] == 2 and pairs["tick_to_first_leg"]["p50"] == pytest.approx(400.0)
    assert pairs["tick_to_last_leg"]["p50"] == pytest.approx(450.0) and pairs["leg_gap"]["max"] == pytest.approx(50.0)
    assert main(["latency", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "binance: 2 orders answered: request to answer p50 1,900 / p95 1,900 / p99 1,900 us; tick to trade p50 400"
        in out
    )
    assert "pairs: 2 decisions with two legs or more: tick to first leg p50 400" in out
    assert "tick to last leg p50 450 / p95 450 / p99 450 us; between the legs p50 50" in out


def test_exported_rows_split_each_round_trip_in_half(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path)
    _journal(path, {"binance": [2.0, 4.0], "bybit": [10.0]})
    assert main(["latency", "--config", str(path), "--export"]) == 0
    folder = load_config(path).venue("binance").latency.measured_dir
    with np.load(folder / "binance.npz") as data:
        rows = data["data"]
    assert rows.dtype == ORDER_LATENCY_DTYPE
    assert (rows["req_ts"] - T0).tolist() == [0, 1_000 * MS]
    assert (rows["exch_ts"] - rows["req_ts"]).tolist() == [1 * MS, 2 * MS]
    assert (rows["resp_ts"] - rows["req_ts"]).tolist() == [2 * MS, 4 * MS]
    assert "bybit: 1 rows" in capsys.readouterr().out


def test_a_measured_backtest_takes_the_measured_latency(tmp_path: Path) -> None:
    # The live orders took 80 ms there and back (40 each way); the constant is 1 ms each way. The
    # backtest's hours are not the live session's: the nearest measured latency holds.
    constant = run_backtest(load_config(_scenario(tmp_path / "c")), STANDING_DAY, STANDING_DAY)
    path = _scenario(tmp_path / "m", order="measured")
    _journal(path, {"binance": [80.0, 80.0], "bybit": [80.0, 80.0]})
    assert main(["-q", "latency", "--config", str(path), "--export"]) == 0
    measured = run_backtest(load_config(path), STANDING_DAY, STANDING_DAY)

    def first_pair_wait(result: object) -> int:
        fills, sent = result.fills, result.sent  # type: ignore[attr-defined]
        first = sent[sent["kind"] == INTENT_OPEN][0]
        fill = fills[fills["pair_id"] == first["pair_id"]][0]
        return int(fill["local_ts"] - first["ts"])

    assert first_pair_wait(constant) == 2 * MS
    assert first_pair_wait(measured) == 80 * MS


def test_measured_without_an_export_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, order="measured")
    assert main(["backtest", "--config", str(path), "--start", STANDING_DAY.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "binance.toml: latency.order" in err and "arb latency --export" in err and "Traceback" not in err
    assert main(["latency", "--config", str(path)]) == 2
    assert "no journal at" in capsys.readouterr().err


async def test_arb_live_measures_the_venues_delays_and_a_backtest_replays_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every order request reaches the fake venues 40 ms late; arb live trades three pairs; arb latency
    # exports what the journal holds; the backtest of the same market with those latencies fills its
    # first pair as late as the live one was answered.
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        binance.faults.delay_orders(0.04)
        bybit.faults.delay_orders(0.04)
        out = tmp_path / "run"
        async with live_trading(config, out, keys, binance, bybit, symbols=["BTCUSDT"]) as process:
            await until(lambda: len(account(binance).trades) >= 3 and len(account(bybit).trades) >= 3, process, out, 90,
                        binance, bybit)  # fmt: skip
            await interrupted(process, out)
    exported = tmp_path / "latency"
    assert main(["-q", "latency", "--config", str(config), "--export", str(exported)]) == 0
    trips = {}
    for venue in ("binance", "bybit"):
        with np.load(exported / f"{venue}.npz") as data:
            rows = data["data"]
        assert len(rows) >= 3
        trips[venue] = rows["resp_ts"] - rows["req_ts"]
        assert (trips[venue] >= 40 * MS).all()
        use_measured_latency(config.parent / f"{venue}.toml", exported)
    backtest = load_config(config)
    backtest = msgspec.structs.replace(
        backtest, backtest=msgspec.structs.replace(backtest.backtest, recordings=tmp_path / "recordings")
    )
    result = run_backtest(backtest, STANDING_DAY, STANDING_DAY)
    first = result.sent[result.sent["kind"] == INTENT_OPEN][0]
    fill = result.fills[(result.fills["pair_id"] == first["pair_id"]) & (result.fills["venue"] == first["venue"])][0]
    # the backtest's times are before the first measured order: its latencies hold (each half of its trip)
    venue = "binance" if first["venue"] == 0 else "bybit"
    trip = int(trips[venue][0])
    assert int(fill["local_ts"] - first["ts"]) == trip // 2 + (trip - trip // 2)
