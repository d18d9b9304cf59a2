"""Live against a backtest of the same hours: ``arb live`` trades the fake venues with every order
delayed, ``arb latency --export`` exports what its journal measured, ``arb backtest`` with
``[latency] order = "measured"`` replays the same recording (written for the present, played on the
wall clock, so both runs cover the same hours), and ``arb report --source live --against`` shows both
per venue with the numbers the journal and the backtest's files imply."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb import ui
from arb.cli import main
from arb.testing.pair_rig import spot_pair, write_pair_config
from tests.support.live_rig import (
    account,
    arb_live,
    both_keys,
    interrupted,
    journal_of,
    live_up,
    until,
    use_measured_latency,
    warm_up_linear,
)
from tests.support.scenario_days import Change, write_standing_spread

pytestmark = pytest.mark.wall_clock  # the recording is made for the present and played on the wall clock

MS = 1_000_000
DELAY_S = 0.04
OPEN_MS = 20_000
"""When the spread opens in the recording: arb live must be up by then (it takes a few seconds, and over
12 on a machine whose two cores are busy with other work beside the suite's workers)."""


def _embedded(page: Path) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="arb-report">(.*?)</script>', page.read_text(), re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    return data


def _live_expected(config_dir: Path, venue: str, start: int, end: int) -> dict[str, Any]:
    # the journal's orders of ``venue`` sent in [start, end], and their fills, counted here by hand
    with journal_of(config_dir) as journal:
        intents = {
            i["client_id"]: i for i in journal.intents() if i["venue"] == venue and start <= i["intent_ns"] <= end
        }
        fills = [f for f in journal.fills(venue=venue) if f["client_id"] in intents]
    ordered = sum(float(i["qty"]) for i in intents.values())
    filled = sum(float(f["qty"]) for f in fills)
    of = [intents[f["client_id"]] for f in fills]
    slips = [int(i["side"]) * (float(f["price"]) / float(i["price"]) - 1) * 1e4 for f, i in zip(fills, of, strict=True)]
    trips = [(i["ack_ns"] - i["written_ns"]) / MS for i in intents.values() if i["ack_ns"] and i["written_ns"]]
    return {"orders": len(intents), "filled": filled / ordered, "with_fill": len({f["client_id"] for f in fills}),
            "slip": float(np.mean(slips)), "trip": float(np.percentile(trips, 50)), "trips": trips}  # fmt: skip


def _backtest_expected(folder: Path, venue: str, start: int, end: int) -> dict[str, Any]:
    with (folder / "orders.csv").open() as f:
        orders = {
            r["order_id"]: r for r in csv.DictReader(f) if r["venue"] == venue and start <= int(r["local_ts"]) <= end
        }
    with (folder / "trades.csv").open() as f:
        fills = [r for r in csv.DictReader(f) if r["order_id"] in orders]
    ordered = sum(float(o["qty"]) for o in orders.values())
    side = {"buy": 1, "sell": -1}
    slips = [side[r["side"]] * (float(r["price"]) / float(orders[r["order_id"]]["price"]) - 1) * 1e4 for r in fills]
    return {"orders": len(orders), "filled": sum(float(r["qty"]) for r in fills) / ordered,
            "with_fill": len({r["order_id"] for r in fills}), "slip": float(np.mean(slips)),
            "trip": float(np.percentile([int(o["round_trip_ns"]) / MS for o in orders.values()], 50)),
            "waits": [int(r["local_ts"]) - int(orders[r["order_id"]]["local_ts"]) for r in fills],
            "given": [int(orders[r["order_id"]]["round_trip_ns"]) for r in fills]}  # fmt: skip


async def test_live_against_a_measured_backtest_of_the_same_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The standing spread, written to start a second from now and played on the wall clock, the spread
    # opening OPEN_MS in: arb live, up by then, trades it at the recording's own times (those the
    # backtest replays), every order request reaching the venues 40 ms late.
    warm_up_linear(tmp_path / "warm")  # compiled before the recording's clock starts: arb live then starts in seconds
    start_ms = (time.time_ns() // MS // 1000 + 1) * 1000
    day = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
    opens = [Change(OPEN_MS, "bybit", bids={60300.0: 1.0})]
    files = write_standing_spread(tmp_path, changes=opens, duration_ms=OPEN_MS + 30_000, start_ms=start_ms)
    keys = both_keys(monkeypatch)
    out = tmp_path / "run"
    async with spot_pair(*files) as (binance, bybit):
        config = write_pair_config(tmp_path, binance, bybit)
        binance.faults.delay_orders(DELAY_S)
        bybit.faults.delay_orders(DELAY_S)
        async with arb_live(config, out, keys) as process:
            await live_up(
                binance, bybit, process, out, streams=["btcusdt@depth@100ms"], topics=["orderbook.50.BTCUSDT"]
            )
            binance.play(aligned=True)
            bybit.play(aligned=True)
            late_ms = time.time() * 1000 - (start_ms + OPEN_MS - 1000)
            if late_ms > 0:
                pytest.fail(f"arb live came up {late_ms:.0f} ms too late for the spread (a very slow machine?)")
            await until(lambda: len(account(binance).trades) >= 3 and len(account(bybit).trades) >= 3, process, out, 90,
                        binance, bybit)  # fmt: skip
            await interrupted(process, out)

    # the journal's latencies exported; both venues' backtests replay them
    exported = tmp_path / "latency"
    assert main(["-q", "latency", "--config", str(config), "--export", str(exported)]) == 0
    for venue in ("binance", "bybit"):
        use_measured_latency(config.parent / f"{venue}.toml", exported)
    backtest = tmp_path / "backtest"
    args = ["--config", str(config), "--start", day.isoformat(), "--recordings", str(tmp_path / "recordings")]
    assert main(["-q", "backtest", *args, "--out", str(backtest)]) == 0
    capsys.readouterr()

    page = tmp_path / "report.html"
    # the table's columns unwrapped: a wide console of its own (arb's is made once per process and keeps the
    # COLUMNS it was made with, which a pytest-xdist worker has set to 80)
    monkeypatch.setattr(ui, "console", Console(stderr=True, width=160))
    assert main(["report", "--source", "live", "--config", str(config), "--results", str(out), "--against",
                 str(backtest), "--out", str(page)]) == 0  # fmt: skip
    printed = capsys.readouterr()
    said = printed.out + printed.err  # arb's console writes to stderr
    for column in ("binance live", "binance backtest", "bybit live", "bybit backtest"):
        assert column in said
    assert "over the overlap" in said and "Traceback" not in said
    against = _embedded(page)["against"]
    start, end = against["start_ns"], against["end_ns"]
    summary = json.loads((backtest / "summary.json").read_text())["meta"]
    assert summary["start_ns"] <= start < end <= summary["end_ns"]
    assert 'id="against"' in page.read_text() and html.escape("binance backtest") in page.read_text()
    rows = {row["venue"]: row for row in against["rows"]}
    for venue in ("binance", "bybit"):
        live, bt = rows[venue]["live"], rows[venue]["backtest"]
        want = _live_expected(config.parent, venue, start, end)
        assert want["orders"] >= 3 and min(want["trips"]) >= DELAY_S * 1000  # every live order took the delay
        assert (live["orders"], live["orders_filled"]) == (want["orders"], want["with_fill"])
        assert live["qty_fill_rate"] == pytest.approx(want["filled"])
        assert live["slippage_mean_bps"] == pytest.approx(want["slip"])
        assert live["round_trip_p50_ms"] == pytest.approx(want["trip"])
        got = _backtest_expected(backtest, venue, start, end)
        assert got["orders"] >= 1
        assert (bt["orders"], bt["orders_filled"]) == (got["orders"], got["with_fill"])
        assert bt["qty_fill_rate"] == pytest.approx(got["filled"])
        assert bt["slippage_mean_bps"] == pytest.approx(got["slip"])
        assert bt["round_trip_p50_ms"] == pytest.approx(got["trip"])
        # the backtest assumed the live delay, and its fills came that late after its orders
        assert bt["round_trip_p50_ms"] >= DELAY_S * 1000
        # (to hftbacktest's rounding of each leg to a nanosecond)
        assert got["waits"] and all(abs(w - g) <= 4 for w, g in zip(got["waits"], got["given"], strict=True))
