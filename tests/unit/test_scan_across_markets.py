"""A scan of venues on different markets (each venue file's own: spot venues and a perpetual) pairs a symbol's
venues across the markets; venues on one market, or a scan told ``--market``, plan as before: one market a shard.
"""

from __future__ import annotations

from pathlib import Path

from arb.scan.plan import VenueCosts, plan_scan


def _record(recordings: Path, venue: str, market: str, *days: str) -> None:
    folder = recordings / f"{venue}_{market}"
    folder.mkdir(parents=True, exist_ok=True)
    for day in days:
        (folder / f"btcusdt_{day}.gz").write_bytes(b"\x1f\x8b")


def _costs(name: str, *markets: str) -> VenueCosts:
    return VenueCosts(name, markets, 0.001, 20_000_000)


def test_spot_venues_and_a_perpetual_pair_up_in_one_shard(tmp_path: Path) -> None:
    _record(tmp_path, "binance", "spot", "20240808", "20240809")
    _record(tmp_path, "bybit", "spot", "20240808")
    _record(tmp_path, "okx", "linear", "20240808", "20240809")
    plan = plan_scan(
        tmp_path, [_costs("binance", "spot"), _costs("bybit", "spot"), _costs("okx", "linear")], threshold_bps=5.0
    )
    assert [(str(s.day), s.market, [(v.venue, v.market) for v in s.venues]) for s in plan.shards] == [
        ("2024-08-08", "spot+linear", [("binance", "spot"), ("bybit", "spot"), ("okx", "linear")]),
        ("2024-08-09", "spot+linear", [("binance", "spot"), ("okx", "linear")]),
    ]
    assert plan.skipped == [] and plan.missing == ["bybit spot BTCUSDT 2024-08-09: not recorded (scanned without it)"]


def test_one_market_or_a_market_asked_for_plans_a_shard_per_market(tmp_path: Path) -> None:
    _record(tmp_path, "binance", "spot", "20240808")
    _record(tmp_path, "bybit", "spot", "20240808")
    _record(tmp_path, "okx", "linear", "20240808")
    same = plan_scan(tmp_path, [_costs("binance", "spot"), _costs("bybit", "spot")], threshold_bps=5.0)
    assert [(s.market, [v.venue for v in s.venues]) for s in same.shards] == [("spot", ["binance", "bybit"])]
    asked = plan_scan(tmp_path, [_costs(v, "spot", "linear") for v in ("binance", "bybit", "okx")], threshold_bps=5.0)
    assert [(s.market, [v.venue for v in s.venues]) for s in asked.shards] == [("spot", ["binance", "bybit"])]
    assert asked.skipped == ["BTCUSDT linear: recorded on okx only: a spread needs two venues"]
