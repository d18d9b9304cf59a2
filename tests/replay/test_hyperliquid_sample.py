"""The shipped sample's Hyperliquid fourth: generated from the real Binance half (see recordings/README.md).

The files are made by ``examples/generate_hyperliquid_sample.py``. What a user of the four-venue sample relies
on: the files convert with arb's own Hyperliquid normalizer as whole books of 20 levels on the venue's grid, with
its hourly funding settling at midnight; the committed bytes are what the generator makes from the documented
seed (the first minute regenerated from a slice of the capture: the whole takes 13 s of CPU, ``python
examples/generate_hyperliquid_sample.py`` then ``git diff`` checks it); ``arb backtest`` over the four venues
trades Hyperliquid and books its funding on the perpetual leg; and the scan pairs it with a spot venue, which
leads it by about the lag.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import numpy as np
import pytest

from arb.backtest.run import run_backtest
from arb.config import load_config, load_venue_config
from arb.events import (
    BUY_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    NS_PER_S,
    TRADE_EVENT,
)
from arb.recording.convert import ConversionResult, convert_files
from arb.scan.plan import VenueCosts, plan_scan
from arb.scan.shard import run_shard
from connectors.common.record_files import LineReader
from examples.generate_hyperliquid_sample import DEFAULT_SEED, LEVELS, HyperliquidParams, synthesize
from tests.support.captures import RECORDINGS, ROOT

HL = [
    RECORDINGS / "hyperliquid_linear" / "btcusdt_20240808.gz",
    RECORDINGS / "hyperliquid_linear" / "btcusdt_20240809.gz",
]
HL_CFG = load_venue_config(ROOT / "config" / "hyperliquid.toml", "hyperliquid")
CLOCK_OFFSET_NS = -1_276_159_997
"""The Binance recorder's clock offset over the whole capture (a slice's is another)."""
MIDNIGHT_NS = int(dt.datetime(2024, 8, 9, tzinfo=dt.UTC).timestamp()) * NS_PER_S
FOUR = ["binance", "bybit", "okx", "hyperliquid"]


@pytest.fixture(scope="module")
def lines() -> list[tuple[int, bytes]]:
    return [item for path in HL for item in LineReader(path)]


@pytest.fixture(scope="module")
def converted() -> ConversionResult:
    return convert_files(HL)


def test_hyperliquid_files_convert_as_whole_books_on_its_grid(
    converted: ConversionResult, lines: list[tuple[int, bytes]]
) -> None:
    assert (converted.venue, converted.market, converted.symbol) == ("hyperliquid", "linear", "BTCUSDT")
    stats = converted.stats
    assert (stats.snapshots, stats.gaps, stats.decode_errors, stats.resyncs, stats.unknown_streams) == (1, 0, 0, 0, 0)
    assert converted.eod.synced and not converted.truncated
    decoded = [msgspec.json.decode(payload) for _, payload in lines]
    channels = [m.get("channel", "info") for m in decoded]
    assert channels[:4] == ["subscriptionResponse"] * 3 + ["info"]  # the acks, then the info endpoint's book
    books = [m["data"] for m in decoded if m.get("channel") == "l2Book"]
    assert all(len(b["levels"][0]) == len(b["levels"][1]) == LEVELS for b in books)
    times = np.diff([b["time"] for b in books])
    assert times.min() > 0 and 400 <= np.median(times) <= 600  # a whole book about every 0.5 s
    assert [local for local, _ in lines] == sorted(local for local, _ in lines)

    tick, lot = HL_CFG.instrument.tick_size, HL_CFG.instrument.lot_size
    kinds = converted.rows["ev"] & EVENT_KIND_MASK
    levels = converted.rows[np.isin(kinds, (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, TRADE_EVENT))]
    assert len(levels) > 40_000
    assert np.allclose(levels["px"] / tick, np.round(levels["px"] / tick), rtol=0, atol=1e-9)
    assert np.allclose(levels["qty"] / lot, np.round(levels["qty"] / lot), rtol=0, atol=1e-6)
    eod = converted.eod.rows
    assert eod["px"][(eod["ev"] & BUY_EVENT) != 0].max() < eod["px"][(eod["ev"] & BUY_EVENT) == 0].min()


def test_hyperliquids_hourly_funding_is_announced_and_settles_at_midnight(converted: ConversionResult) -> None:
    rows = converted.rows[(converted.rows["ev"] & LOCAL_EVENT) != 0]
    kinds = rows["ev"] & EVENT_KIND_MASK
    announced = rows[kinds == FUNDING_RATE_EVENT]
    assert len(announced) > 600 and set(announced["order_id"].tolist()) == {3600 * NS_PER_S}
    assert set(announced["px"].tolist()) == {0.0000125}  # the interest rate alone: the premium is small
    (settled,) = rows[kinds == FUNDING_SETTLED_EVENT]
    assert int(settled["ival"]) == MIDNIGHT_NS


def test_the_first_minute_equals_a_fresh_regeneration_from_a_slice(lines: list[tuple[int, bytes]]) -> None:
    # every random stream is drawn in time order: a slice of the capture regenerates the whole's start
    fresh = synthesize(max_binance_messages=8000, clock_offset_ns=CLOCK_OFFSET_NS)
    until = fresh.lines[-1][0] - 10 * NS_PER_S  # the slice's last seconds lack what the whole has after them
    n = sum(1 for local, _ in lines if local < until)
    assert n > 300 and fresh.lines[:n] == lines[:n]
    other = synthesize(seed=DEFAULT_SEED + 1, max_binance_messages=8000, clock_offset_ns=CLOCK_OFFSET_NS)
    assert other.lines[:n] != lines[:n]
    later = synthesize(params=HyperliquidParams(lag_ms=0), max_binance_messages=8000, clock_offset_ns=CLOCK_OFFSET_NS)
    assert later.lines[4][1] != lines[4][1]  # the first book is Binance's of another moment


def test_four_venue_backtest_trades_hyperliquid_and_funds_its_perpetual_leg(tmp_path: Path) -> None:
    settings = [("strategy.venues", FOUR), ("backtest.out", str(tmp_path))]
    config = load_config(ROOT / "config" / "arbitrage.toml", warn=False, settings=settings)
    assert config.venue_names == tuple(FOUR)
    result = run_backtest(config)
    legs: dict[int, dict[int, str]] = {}
    for fill in result.fills:
        legs.setdefault(int(fill["pair_id"]), {})[int(fill["side"])] = FOUR[int(fill["venue"])]
    directions = {(pair[1], pair[-1]) for pair in legs.values()}  # (bought on, sold on)
    assert len(legs) >= 20
    assert {d for d in directions if "hyperliquid" in d} >= {("bybit", "hyperliquid"), ("hyperliquid", "bybit")}
    (funding,) = result.funding  # only the perpetual is funded: Hyperliquid's hour turns at midnight
    assert FOUR[int(funding["venue"])] == "hyperliquid" and int(funding["funding_ts"]) == MIDNIGHT_NS
    assert float(funding["payment"]) == pytest.approx(-float(funding["position"]) * float(funding["mark"]) * 1.25e-5)


def test_the_scan_pairs_a_spot_venue_with_hyperliquid_which_follows_it() -> None:
    # OKX's generated book follows Binance's at once; Hyperliquid's lag_ms later: OKX leads by about that
    venues = [
        VenueCosts("okx", ("spot",), 0.001, 20_000_000),
        VenueCosts("hyperliquid", ("linear",), 0.00045, 200_000_000),
    ]
    day = dt.date(2024, 8, 8)
    (shard,) = plan_scan(RECORDINGS, venues, threshold_bps=5.0, symbols=["BTCUSDT"], start=day, end=day).shards
    rows = {(p.row["buy_venue"], p.row["sell_venue"]): p.row for p in run_shard(shard).pairs}
    assert shard.market == "spot+linear" and set(rows) == {("okx", "hyperliquid"), ("hyperliquid", "okx")}
    assert rows["hyperliquid", "okx"]["market"] == "linear/spot" and rows["hyperliquid", "okx"]["episodes"] >= 5
    lead = rows["okx", "hyperliquid"]
    assert lead["lead_venue"] == "okx" and 500 <= lead["lead_ms"] <= 1000
