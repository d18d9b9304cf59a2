"""Mark-price and funding rows travel with the book rows through hftbacktest without touching them.

The USD-M capture with a ``markPrice@1s`` frame inserted every 250 lines (``tests.support.captures.with_mark_price``,
one funding time passing in the middle) is converted; its rows must pass hftbacktest's own
``correct_event_order`` and ``validate_event_order``, and hftbacktest's backtester over them
must see, step by step, the same book and make the same fills as over the capture without them.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftbacktest import BacktestAsset
from hftbacktest.data.validation import correct_event_order, correct_local_timestamp, validate_event_order
from hftbacktest.order import IOC

from arb.backtest.run import run_backtest
from arb.config import load_config
from arb.events import (
    FUNDING_SETTLED_EVENT,
    EventArray,
)
from arb.live.recorded_source import replay
from arb.parity.against_dry_run import run_live_replay, zero_latency
from arb.recording.convert import _correct, convert_files
from arb.recording.loader import load_timeline
from arb.recording.npz import load_eod, save_eod
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.record_files import LineReader
from tests.support.captures import (
    MARK_PRICE_FIXTURE,
    PERP_KINDS,
    USDM_BTC,
    kind_of,
    local_side,
    of_kind,
    with_mark_price,
)
from tests.support.hbt_plain import PlainBacktest
from tests.support.scenario_days import STANDING_DAY, standing_spread_config

TICK = 0.1
LOT = 0.001
STEP_NS = 100_000_000


@pytest.fixture(scope="module")
def augmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_mark_price(USDM_BTC, tmp_path_factory.mktemp("perp") / "btcusdt_20240808.gz")


@pytest.fixture(scope="module")
def augmented_rows(augmented: Path) -> EventArray:
    """The augmented capture converted whole (read only: two tests compare against it)."""
    return convert_files([augmented], with_eod=False).rows


def test_the_rows_pass_hftbacktests_own_order_correction_and_validation(augmented: Path) -> None:
    normalizer = BinanceNormalizer(echo=False)
    for chunk in LineReader(augmented).chunks():
        normalizer.on_chunk(chunk, lambda line: None)
    raw = normalizer.sink.take()
    kinds = kind_of(raw)
    assert [int((kinds == k).sum()) for k in PERP_KINDS] == [375, 375, 1]
    ours, _ = _correct(raw.copy(), 0, None)
    theirs = raw.copy()
    with contextlib.redirect_stdout(io.StringIO()):  # hftbacktest prints its shift
        theirs = correct_local_timestamp(theirs, 0)
    theirs = correct_event_order(
        theirs, np.argsort(theirs["exch_ts"], kind="mergesort"), np.argsort(theirs["local_ts"], kind="mergesort")
    )
    validate_event_order(theirs)  # raises ValueError when out of order
    assert theirs.tobytes() == ours.tobytes()


def _walk(hbt: PlainBacktest, steps: int, out: np.ndarray[Any, Any]) -> None:
    # Every 100 ms: the top of the book, the position and the account; every 2 s an IOC at the
    # touch, alternately buying at the ask and selling at the bid.
    order_id = 0
    for k in range(steps):
        if hbt.elapse(STEP_NS) != 0:
            return
        depth = hbt.depth(0)
        bid = depth.best_bid
        ask = depth.best_ask
        state = hbt.state_values(0)
        out[k, 0] = bid
        out[k, 1] = ask
        out[k, 2] = depth.bid_qty_at_tick(depth.best_bid_tick)
        out[k, 3] = depth.ask_qty_at_tick(depth.best_ask_tick)
        out[k, 4] = state["position"]
        out[k, 5] = state["balance"]
        out[k, 6] = state["fee"]
        out[k, 7] = state["num_trades"]
        if k % 20 == 19 and np.isfinite(bid) and np.isfinite(ask):
            order_id += 1
            if (k // 20) % 2 == 0:
                hbt.submit_buy_order(0, order_id, ask, LOT, IOC, 0, False)
            else:
                hbt.submit_sell_order(0, order_id, bid, LOT, IOC, 0, False)
            hbt.clear_inactive_orders(0)


def _trace(rows: EventArray, steps: int) -> np.ndarray[Any, Any]:
    asset = (
        BacktestAsset()
        .data(np.ascontiguousarray(rows))
        .linear_asset(1.0)
        .constant_order_latency(5_000_000, 5_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.0005)
        .tick_size(TICK)
        .lot_size(LOT)
        .last_trades_capacity(0)
    )
    out = np.full((steps, 8), np.nan)
    hbt = PlainBacktest([asset])  # hftbacktest's backtester, its jitclass left out (nothing to compile)
    try:
        _walk(hbt, steps, out)
    finally:
        hbt.close()
    return out


def test_a_backtest_sees_the_same_book_and_makes_the_same_fills(augmented_rows: EventArray) -> None:
    plain = convert_files([USDM_BTC], with_eod=False).rows
    with_perp = augmented_rows
    perp = np.isin(kind_of(with_perp), PERP_KINDS)
    assert int(perp.sum()) > 700 and len(of_kind(with_perp, FUNDING_SETTLED_EVENT)) == 1
    # The other rows reach the local side as before (whether a row is also its exchange-side copy may
    # change where a perp row now sits between its two places).
    assert np.array_equal(local_side(with_perp[~perp]), local_side(plain))
    span = int(plain["local_ts"].max() - plain["local_ts"].min())
    steps = span // STEP_NS
    a = _trace(plain, steps)
    b = _trace(with_perp, steps)
    assert int(np.nanmax(a[:, 7])) >= 100  # it traded: fills were made on both sides
    assert np.array_equal(a, b, equal_nan=True)


def test_the_funding_state_crosses_day_files_through_the_end_of_day_snapshot(
    augmented: Path, augmented_rows: EventArray, tmp_path: Path
) -> None:
    # The first message of a day reveals the funding at 00:00 UTC: converted a day at a time, the
    # day before's mark and funding state (kept in its _eod.npz) is what shows the rollover.
    lines = [b"%d %s" % line for line in LineReader(augmented)]
    marks = [i for i, line in enumerate(lines) if b"@markPrice" in line[:60]]
    cut = marks[40]  # the frame whose T moved forward (tests.support.captures.with_mark_price, funding_after=40)
    first, second = tmp_path / "a" / "btcusdt_20240808.gz", tmp_path / "b" / "btcusdt_20240808.gz"
    for path, part in ((first, lines[:cut]), (second, lines[cut:])):
        path.parent.mkdir()
        with gzip.open(path, "wb", compresslevel=1) as f:
            f.write(b"\n".join(part) + b"\n")
    day1 = convert_files([first], venue="binance", market="linear")
    assert day1.eod.perp.known and day1.eod.perp.next_funding_ns > 0
    eod = load_eod(save_eod(tmp_path / "eod.npz", day1.eod))
    assert eod.perp == day1.eod.perp
    settled = FUNDING_SETTLED_EVENT
    carried = convert_files([second], venue="binance", market="linear", initial=eod, with_eod=False).rows
    fresh = convert_files([second], venue="binance", market="linear", with_eod=False, allow_unsynced=True).rows
    whole = augmented_rows
    row = of_kind(carried, settled)
    assert len(row) == 1 and len(of_kind(fresh, settled)) == 0
    want = of_kind(whole, settled)
    for column in ("exch_ts", "px", "qty", "order_id", "ival"):
        assert row[column].tolist() == want[column].tolist(), column


def _add_mark_price(recording: Path, funding_after_ms: int) -> int:
    # A markPrice@1s frame after each depth diff of a constructed Binance recording, shaped like the
    # documented example; T passes funding_after_ms into the recording. Returns the frames added.
    template = json.loads(MARK_PRICE_FIXTURE.read_text().splitlines()[0])
    out: list[bytes] = []
    funding_ms = 0
    added = 0
    for local_ts, payload in LineReader(recording):
        out.append(b"%d %s" % (local_ts, payload))
        if not payload.startswith(b'{"stream"'):
            continue
        event_ms = int(json.loads(payload)["data"]["E"])
        funding_ms = funding_ms or event_ms + funding_after_ms
        next_ms = funding_ms if event_ms < funding_ms else funding_ms + 8 * 3600 * 1000
        data = dict(template, E=event_ms, T=next_ms, r=f"{0.0001 + added * 1e-7:.8f}")
        frame = json.dumps({"stream": "btcusdt@markPrice@1s", "data": data}, separators=(",", ":"))
        out.append(b"%d %s" % (local_ts, frame.encode()))
        added += 1
    with gzip.open(recording, "wb") as f:
        f.write(b"\n".join(out) + b"\n")
    return added


def test_the_dry_run_replay_and_the_backtest_pass_the_rows_through_without_effect(tmp_path: Path) -> None:
    # The same constructed session with and without mark-price frames on Binance: the engine (the dry
    # run's replay) makes exactly the same kernel calls, orders and fills as before, and so does the
    # backtest.
    config = zero_latency(load_config(standing_spread_config(tmp_path)))
    days = [STANDING_DAY]
    before = run_backtest(config, STANDING_DAY, STANDING_DAY)
    before_live = run_live_replay(config, days)
    recording = tmp_path / "recordings" / "binance_spot" / f"btcusdt_{STANDING_DAY:%Y%m%d}.gz"
    assert _add_mark_price(recording, funding_after_ms=3000) > 50
    seen = np.zeros(3, np.int64)
    for _, batches in replay(config, load_timeline(config, days)):
        for batch in batches:
            kinds = kind_of(batch.rows)
            seen += [int((kinds == k).sum()) for k in PERP_KINDS]
    assert seen[0] > 50 and seen[1] > 50 and seen[2] == 1  # the rows reached the engine
    after = run_backtest(config, STANDING_DAY, STANDING_DAY)
    after_live = run_live_replay(config, days)
    assert len(before.fills) >= 2 and len(before_live.fills.view()) == len(before.fills)
    for a, b in ((before.calls, after.calls), (before.sent, after.sent), (before.fills, after.fills)):
        assert a.tobytes() == b.tobytes()
    for a, b in ((before_live.calls, after_live.calls), (before_live.sent, after_live.sent),
                 (before_live.fills, after_live.fills)):  # fmt: skip
        assert a.view().tobytes() == b.view().tobytes()


def test_an_end_of_day_snapshot_from_before_the_perp_state_loads_without_it(tmp_path: Path) -> None:
    path = save_eod(tmp_path / "btcusdt_20240808_eod.npz", convert_files([USDM_BTC]).eod)
    with np.load(path) as z:
        older = {name: z[name] for name in z.files if not name.startswith("perp_")}
    np.savez_compressed(path, **older)
    loaded = load_eod(path)
    assert not loaded.perp.known and loaded.perp.next_funding_ns == 0 and loaded.synced
