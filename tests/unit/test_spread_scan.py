"""arb scan: planted episodes found exactly, its measures on known series, resuming, and bad input named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from arb.cli import main
from arb.scan import measure
from arb.scan.store import COLUMNS, read_table
from arb.scan.tops import Tops, tops_dtype
from tests.support import planted_books as planted

DAY_NS = int(dt.datetime.combine(planted.DAY, dt.time(), dt.UTC).timestamp()) * 1_000_000_000
THRESHOLD = Decimal(5)
SIZE = 0.5
"""One order's size for the scan's capturable_quote_at_size, base units."""


def _scan(recordings: Path, out: Path, *extra: str) -> int:
    return main(["-q", "scan", "--venues", "binance,bybit,okx", "--recordings", str(recordings), "--out", str(out),
                 "--workers", "1", "--min-edge-bps", str(THRESHOLD), "--size", str(SIZE), *extra])  # fmt: skip


@pytest.fixture(scope="module")
def planted_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("planted")
    planted.write_books(root / "recordings")
    assert _scan(root / "recordings", root / "out") == 0
    return root


def test_planted_episodes_are_found_exactly(planted_scan: Path) -> None:
    rows = read_table(planted_scan / "out" / "scan.parquet")
    episodes = read_table(planted_scan / "out" / "episodes.parquet")
    assert list(rows[0])[: len(COLUMNS)] == list(COLUMNS)
    assert len(rows) == 2 * 6  # two symbols, six ordered pairs of three venues, one day
    found_any = 0
    for row in rows:
        symbol, buy, sell = row["symbol"], row["buy_venue"], row["sell_venue"]
        want = planted.expected_episodes(symbol, buy, sell, THRESHOLD)
        got = sorted((e for e in episodes if (e["symbol"], e["buy_venue"], e["sell_venue"]) == (symbol, buy, sell)),
                     key=lambda e: e["start_ns"])  # fmt: skip
        assert row["episodes"] == len(want) == len(got), (symbol, buy, sell)
        for (plan, (base, quote, edge)), ep in zip(want, got, strict=True):
            offset_ns = 300_000 * planted.VENUES.index(plan.venue)  # the venue's own microseconds
            assert ep["start_ns"] == DAY_NS + plan.at_ms * 1_000_000 + offset_ns
            assert ep["duration_ms"] == plan.duration_ms  # exactly: from the move's message to the move back's
            assert ep["crossable_base"] == pytest.approx(float(base), rel=1e-12)
            assert ep["crossable_quote"] == pytest.approx(float(quote), rel=1e-12)
            assert ep["edge_quote"] == pytest.approx(float(edge), rel=1e-9)
            found_any += 1
        total_edge = sum(float(c[2]) for _, c in want)
        assert row["edge_quote"] == pytest.approx(total_edge, rel=1e-9)
        assert row["crossable_base"] == pytest.approx(sum(float(c[0]) for _, c in want), rel=1e-12)
        # the venues' round trip is 20 ms (10 + 10 in config/): the 15 ms episode is not capturable
        capturable = sum(float(c[2]) for e, c in want if e.duration_ms > 20)
        assert row["capturable_quote_at_latency"] == pytest.approx(capturable, rel=1e-9)
        assert row["latency_ms"] == 20.0
        if want:
            assert row["net_bps_max"] > float(THRESHOLD)
            assert row["share_above"] > 0
        else:
            assert row["share_above"] == 0
    assert found_any == 10  # the five planted episodes, each seen by the two pairs it opens (the 15 ms one too)


def test_both_markets_are_scanned_and_a_perpetual_pair_gets_the_funding_its_positions_received(
    tmp_path: Path,
) -> None:
    # BTCUSDT's planted books also as USDT perpetuals on binance and bybit, one funding settled in the span:
    # binance 1 bp (a long pays it), bybit -2 bps (a short pays it)
    recordings = tmp_path / "recordings"
    planted.write_books(recordings)
    planted.write_perps(recordings, {"binance": Decimal("0.0001"), "bybit": Decimal("-0.0002")})
    assert _scan(recordings, tmp_path / "out", "--market", "both") == 0
    rows = read_table(tmp_path / "out" / "scan.parquet")
    spot = [r for r in rows if r["market"] == "spot"]
    linear = {(r["buy_venue"], r["sell_venue"]): r for r in rows if r["market"] == "linear"}
    assert len(spot) == 12 and all(np.isnan(r["funding_diff_bps"]) for r in spot)
    assert sorted(linear) == [("binance", "bybit"), ("bybit", "binance")]  # okx has no perpetual day
    # long binance, short bybit: pays binance's 1 bp and bybit's 2 bps; the other way round receives both
    assert linear["binance", "bybit"]["funding_diff_bps"] == pytest.approx(-3.0, abs=1e-9)
    assert linear["bybit", "binance"]["funding_diff_bps"] == pytest.approx(3.0, abs=1e-9)
    for (buy, sell), row in linear.items():  # the same books as spot's: the same episodes
        assert row["episodes"] == len(planted.expected_episodes("BTCUSDT", buy, sell, THRESHOLD)) > 0


def test_top_n_scans_the_symbols_with_the_most_book_data_and_names_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings = tmp_path / "recordings"
    planted.write_books(recordings)
    names = {s: (s, planted.TARDIS_SYMBOL[("okx", s)]) for s in ("BTCUSDT", "ETHUSDT")}
    sizes = {s: sum(p.stat().st_size for p in (recordings / "tardis").iterdir()
                    if p.name.removesuffix(".csv.gz").rsplit("_", 1)[1] in names[s])
             for s in names}  # fmt: skip
    biggest, other = sorted(sizes, key=lambda s: -sizes[s])
    assert _scan(recordings, tmp_path / "out", "--top", "1") == 0
    assert {r["symbol"] for r in read_table(tmp_path / "out" / "scan.parquet")} == {biggest}
    assert f"skipped: {other} spot: not among the 1 with the most book data (--top 1)" in capsys.readouterr().out


def test_the_walk_stops_where_the_marginal_edge_falls_to_the_threshold() -> None:
    # binance up 0.30: bybit's asks 100.01.. against binance's bids 100.29..; 100.26 / 100.01 is under
    # (1 + 0.001 + 5 bps) / (1 - 0.001), so the walk ends there, before either book is used up
    base, _, _ = planted.expected_cross("BTCUSDT", "bybit", "binance", Decimal(0), Decimal("0.30"), THRESHOLD)
    assert 0 < base < sum(planted.BOOKS["BTCUSDT"].ask_qty["bybit"])
    levels_buy = np.array([[np.nan] * 5, [0.0] * 5, [100.01, 100.02, 100.03, 100.04, 100.05],
                           [0.5, 1.25, 2, 6, 1]])  # fmt: skip
    levels_sell = np.array([[100.29, 100.28, 100.27, 100.26, 100.25], [1, 2, 3, 4, 5], [np.nan] * 5, [0.0] * 5])
    got = measure.cross(levels_buy, levels_sell, 0.001, 0.001, 5.0)
    assert got[0] == pytest.approx(float(base), rel=1e-12)


def test_the_ranking_puts_the_largest_capturable_first(planted_scan: Path) -> None:
    rows = read_table(planted_scan / "out" / "scan.parquet")
    best = max(rows, key=lambda r: r["capturable_quote_at_latency"])
    text = (planted_scan / "out" / "scan.csv").read_text().splitlines()
    assert text[0].split(",")[: len(COLUMNS)] == list(COLUMNS)
    assert len(text) == 1 + len(rows)
    assert best["capturable_quote_at_latency"] > 0


def _tops(times_ms: list[float], mids: list[float], end_ms: float) -> Tops:
    r = np.zeros(len(times_ms), tops_dtype)
    r["local_ts"] = (np.asarray(times_ms) * 1e6).astype(np.int64)
    r["bid_px"] = np.asarray(mids) - 0.005
    r["ask_px"] = np.asarray(mids) + 0.005
    r["bid_qty"] = r["ask_qty"] = 1.0
    return Tops(r, int(end_ms * 1e6))


def test_lead_lag_finds_which_venue_moves_first_and_by_how_much() -> None:
    rng = np.random.default_rng(5)
    t = np.cumsum(rng.uniform(20, 200, 400))  # ms, irregular
    mid = 100 + np.cumsum(rng.normal(0, 0.02, 400))
    leader = _tops(list(t), list(mid), t[-1] + 1000)
    # the follower shows each price 300 ms later, with its own extra updates in between (no new price)
    t_f = np.concatenate([t + 300, t + 310])
    mid_f = np.concatenate([mid, mid])
    order = np.argsort(t_f, kind="stable")
    follower = _tops(list(t_f[order]), list(mid_f[order]), t[-1] + 1300)
    got = measure.lead_lag(leader, follower)
    # within the shortest time between two updates (20 ms): the lag is resolved no finer than the sampling
    assert abs(got.lag_ns - 300_000_000) <= 20_000_000 and got.corr > 0.9
    back = measure.lead_lag(follower, leader)
    assert abs(back.lag_ns + 300_000_000) <= 20_000_000


def test_time_weighted_quantiles_weigh_each_value_by_how_long_it_stood() -> None:
    values = np.array([1.0, 5.0, np.nan, 3.0])
    weights = np.array([10, 1, 100, 1])  # the NaN stood longest and counts for nothing
    assert measure.weighted_quantiles(values, weights, (0.5, 0.9, 1.0)) == [1.0, 3.0, 5.0]


def test_episodes_are_maximal_runs_above_the_threshold_and_unknown_ends_them() -> None:
    t = np.array([0, 10, 20, 30, 40, 50], np.int64)
    line = measure.PairLine(t, np.full(6, 10, np.int64), np.array([1.0, 6, 7, np.nan, 8, 2]), t * 0.0, t * 0.0)
    eps = measure.episodes(line, 5.0)
    assert eps.start_ns.tolist() == [10, 40] and eps.duration_ns.tolist() == [20, 10]


def test_a_second_scan_reads_every_finished_shard_and_an_interrupted_one_redoes_only_the_rest(
    planted_scan: Path,
) -> None:
    from arb.scan.runner import run_shards
    from arb.scan.store import ShardFiles
    from tests.unit.test_spread_scan import _plan_of

    plan = _plan_of(planted_scan / "recordings")
    out = planted_scan / "out"
    seen: list[tuple[str, bool]] = []
    run_shards(plan.shards, out, on_done=lambda d: seen.append((d.shard.name, d.reused)))
    assert seen and all(reused for _, reused in seen)
    # an interrupted scan: one shard's record never written
    ShardFiles(out, plan.shards[0].name).path("done").unlink()
    seen.clear()
    run_shards(plan.shards, out, on_done=lambda d: seen.append((d.shard.name, d.reused)))
    assert [name for name, reused in seen if not reused] == [plan.shards[0].name]


def _plan_of(recordings: Path) -> object:
    from arb.scan.plan import VenueCosts, plan_scan

    costs = [VenueCosts(v, ("spot",), 0.001, 20_000_000) for v in planted.VENUES]
    return plan_scan(recordings, costs, threshold_bps=float(THRESHOLD), size_base=SIZE)


def test_bad_input_is_named_and_the_rest_scanned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recordings = tmp_path / "recordings"
    planted.write_books(recordings)
    folder = recordings / "tardis"
    # ETHUSDT on binance only; BTCUSDT's okx day damaged
    (folder / "bybit-spot_incremental_book_L2_2024-03-01_ETHUSDT.csv.gz").unlink()
    (folder / "okex_incremental_book_L2_2024-03-01_ETH-USDT.csv.gz").unlink()
    damaged = folder / "okex_incremental_book_L2_2024-03-01_BTC-USDT.csv.gz"
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2] + bytes(64) + data[len(data) // 2 :])
    code = _scan(recordings, tmp_path / "out")
    said = capsys.readouterr().out
    assert "skipped: ETHUSDT spot: recorded on binance only" in said
    assert "not scanned: okx spot BTCUSDT 2024-03-01" in said and str(damaged) in said
    assert code == 1
    rows = read_table(tmp_path / "out" / "scan.parquet")
    assert {(r["buy_venue"], r["sell_venue"]) for r in rows} == {("binance", "bybit"), ("bybit", "binance")}


def test_nothing_to_scan_says_why_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "recordings").mkdir()
    assert _scan(tmp_path / "recordings", tmp_path / "out") == 2
    assert "nothing to scan" in capsys.readouterr().err


def test_a_bad_value_names_the_option() -> None:
    assert main(["scan", "--venues", "binance"]) == 2
    assert main(["scan", "--min-edge-bps", "lots"]) == 2
    assert main(["scan", "--venues", "binance,nowhere"]) == 2


def test_a_cut_download_is_named_and_left_out_unless_allowed_then_read_up_to_the_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings = tmp_path / "recordings"
    planted.write_books(recordings)
    path = recordings / "tardis" / "binance_incremental_book_L2_2024-03-01_BTCUSDT.csv.gz"
    path.write_bytes(path.read_bytes()[:-200])
    assert _scan(recordings, tmp_path / "out", "--symbols", "BTCUSDT") == 1
    assert f"not scanned: binance spot BTCUSDT 2024-03-01: {path}: truncated" in capsys.readouterr().out
    rows = read_table(tmp_path / "out" / "scan.parquet")
    assert {(r["buy_venue"], r["sell_venue"]) for r in rows} == {("bybit", "okx"), ("okx", "bybit")}
    # --allow-damaged: what the file holds up to the cut is scanned, and the cut is said
    assert _scan(recordings, tmp_path / "out2", "--symbols", "BTCUSDT", "--allow-damaged") == 0
    assert f"{path}: truncated" in capsys.readouterr().out
    rows = read_table(tmp_path / "out2" / "scan.parquet")
    with_binance = [r for r in rows if "binance" in (r["buy_venue"], r["sell_venue"])]
    assert len(with_binance) == 4 and all(100 < r["seconds"] < 120 for r in with_binance)


def test_the_anchor_takes_the_highest_bid_and_lowest_ask_of_quotes_above_the_floor() -> None:
    a = np.zeros(2, tops_dtype)
    a["local_ts"] = [0, 7_000_000_000]
    a["bid_px"], a["bid_qty"], a["ask_px"], a["ask_qty"] = [100.0, 100.5], [1.0, 0.1], [100.2, 100.6], [1.0, 1.0]
    b = np.zeros(1, tops_dtype)
    b["local_ts"] = [1_000_000_000]
    b["bid_px"], b["bid_qty"], b["ask_px"], b["ask_qty"] = [100.3], [0.6], [100.4], [0.2]
    got = measure.anchor([Tops(a, 20_000_000_000), Tops(b, 20_000_000_000)], 0, 15_000_000_000, 5_000_000_000, 0.5)
    # t=0: only a (b not yet read); t=5 s: b's bid 100.3 >= floor beats a's 100.0, b's ask under the floor;
    # t=10 s: a's new bid 100.5 is under the floor, so b's 100.3 stands
    assert got.max_bid.tolist() == [100.0, 100.3, 100.3] and got.bid_venue.tolist() == [0, 1, 1]
    assert got.min_ask.tolist() == [100.2, 100.2, 100.6] and got.ask_venue.tolist() == [0, 0, 0]
    assert got.gap_bps[1] == pytest.approx((100.3 / 100.2 - 1) * 1e4)


def test_the_crepelliere_view_writes_its_samples_and_summary(planted_scan: Path) -> None:
    out = planted_scan / "out"
    assert _scan(planted_scan / "recordings", out, "--view", "crepelliere") == 0
    summary = (out / "anchor.csv").read_text().splitlines()
    assert summary[0].startswith("symbol,market,day,floor,marks,share_positive")
    assert len(summary) == 1 + 2 * 3  # two symbols, one day, three floors
    samples = read_table(out / "anchor.parquet")
    btc = [s for s in samples if s["symbol"] == "BTCUSDT" and s["floor"] == 0.5]
    assert len(btc) == 24  # every 5 s from the books' first (00:00:10.0006) to the last (00:02:10)
    # 00:01:20 to 00:01:29.9 binance's book stood 0.30 up: at 00:01:25 the gap is its bid 100.29 over 100.01
    at_85 = next(s for s in btc if s["t_s"] == 85.0)
    assert at_85["bid_venue"] == "binance" and at_85["gap_bps"] == pytest.approx((100.29 / 100.01 - 1) * 1e4)
    # bybit's 3.5 s up, from 00:00:20.0003, falls between two marks: the 5 s sampling does not see it
    assert max(s["gap_bps"] for s in btc if 15 <= s["t_s"] <= 25) < 0


@pytest.mark.parametrize(("capture", "venue", "market", "levels"), [
    ("tests/fixtures/binance_usdm_btcusdt_20240808.gz", "binance", "linear", 5),
    ("recordings/bybit_spot/btcusdt_20240808.gz", "bybit", "spot", 3),
])  # fmt: skip
def test_the_scans_books_keep_the_best_levels_of_the_full_book(
    capture: str, venue: str, market: str, levels: int
) -> None:
    # The top's book keeps deep updates aside (arb.scan.nearbook): after every message of a real capture its best
    # levels equal arb.book.OrderBook's, which applies every row at once; the depth's (DepthAt) too at 200 moments
    from arb.book import OrderBook
    from arb.recording.read_rows import read_rows
    from arb.scan.nearbook import NearBook, apply_message, side_levels
    from arb.scan.tops import DepthAt

    root = Path(__file__).resolve().parents[2]
    chunks: list[np.ndarray] = []
    read_rows([root / capture], lambda: lambda r: chunks.append(r.copy()), venue=venue, market=market, symbol="BTCUSDT")
    rows = np.concatenate(chunks)
    ts = rows["local_ts"]
    starts = np.flatnonzero(np.concatenate(([True], np.diff(ts) != 0)))
    ends = np.append(starts[1:], len(rows))
    near = NearBook(levels, levels + 3)  # a shallow bound: deep updates kept aside all the time
    moments = set(np.linspace(0, len(starts) - 1, 200).astype(int).tolist())
    depth = DepthAt(ts[starts[sorted(moments)]], levels)
    for chunk in np.array_split(rows, 7):
        depth.add(chunk)
    at_moments = iter(depth.finish())
    book = OrderBook()
    got = np.zeros((4, levels))
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        book.apply(rows[a:b], merge=False)
        while apply_message(near.arrays, rows, a, b):
            near.grow()
        (bp, bq), (ap, aq) = book.bids(levels), book.asks(levels)
        want = [bp.tolist(), bq.tolist(), ap.tolist(), aq.tolist()]
        side_levels(near.arrays, levels, got)
        assert [got[0, : len(bp)].tolist(), got[1, : len(bq)].tolist(), got[2, : len(ap)].tolist(),
                got[3, : len(aq)].tolist()] == want, k  # fmt: skip
        if k in moments:
            d = next(at_moments)
            synced = not np.isnan(d[0, 0]) or not len(bp)
            if synced:
                assert [d[0, : len(bp)].tolist(), d[1, : len(bq)].tolist(), d[2, : len(ap)].tolist(),
                        d[3, : len(aq)].tolist()] == want, k  # fmt: skip
