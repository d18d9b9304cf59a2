"""``/metrics``: what a hub holds becomes Prometheus families that parse, lint clean, carry the right
values, and cover every metric the shipped Grafana dashboard and alert rules ask for."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from arb.ops import metrics
from arb.ops.server import OpsServer
from arb.ops.snapshot import (
    FeedHealth,
    LatencyHistogram,
    LimitUse,
    OpsEvent,
    OpsHub,
    Snapshot,
    VenueAccount,
    VenueLimits,
)
from arb.results.inventory import Direction, SymbolInventory, VenueInventory

MONITORING = Path(__file__).resolve().parents[2] / "config" / "monitoring"
T0 = 1_715_000_000_000_000_000  # driver clock, ns


class _Alerts:
    def counters(self) -> dict[str, Any]:
        return {"sent": {"telegram": 3}, "failed": {"telegram": 1}, "rate_limited": {"telegram": 2},
                "suppressed": 4, "dropped": 5}  # fmt: skip


def _latencies() -> tuple[Any, ...]:
    decision = LatencyHistogram("tick_to_decision")
    for ns in (3_000, 7_000, 7_000, 40_000, 2_000_000):
        decision.record(ns)
    trip = LatencyHistogram("order_round_trip", "binance")
    trip.record(800_000)
    trip.record(9_000_000_000)  # above the last bound: only +Inf holds it
    return (decision.figures(), LatencyHistogram("tick_to_intent").figures(),
            LatencyHistogram("frame_to_engine", "bybit").figures(), trip.figures())  # fmt: skip


def _snapshot(recording_dir: str, *, ts: int = T0, halted: str = "", paused: str = "") -> Snapshot:
    feeds = (
        FeedHealth("binance", "spot", "BTCUSDT", True, True, False, "wss://stream.binance.com:9443/ws",
                   ts - 250_000_000, 1000, 2, 1, 0, 3),
        FeedHealth("bybit", "spot", "BTCUSDT", False, False, True, "wss://stream.bybit.com/v5/public/spot",
                   0, 0, 0, 0, 4, 0),
    )  # fmt: skip
    accounts = (
        VenueAccount("binance", 0.03, 1.03, 98_200.0, 59_990.0, 60_000.0, 1, 7, 5, {"-2010": 2}),
        VenueAccount("bybit", -0.03, 0.97, 101_800.0, 60_300.0, 60_400.0, 0, 6, 5, {"110007": 1}, unknown_orders=1),
    )
    limits = (
        LimitUse("position_limit", 0.0, 1.0, 0),
        LimitUse("max_daily_loss", 12.5, 0.0, 0),  # not set: no arb_risk_limit series
        LimitUse("min_pair_interval_ms", float("nan"), 100.0, 3),
    )
    return Snapshot(
        mode="dry-run", symbol="BTCUSDT", quote_currency="USDT", ts_ns=ts, wall_ns=T0, feeds=feeds,
        accounts=accounts, spread_bps=(49.9, float("nan")), entry_bps=20.0, equity=200_000.0, pnl=-1.5,
        fees=0.75, pairs=5, limits=limits, halted=halted, paused=paused, recording_dir=recording_dir,
        latencies=_latencies(), loop_lag_ns=1_500_000, recorded_bytes=0, started_wall_ns=T0 - 60 * 1_000_000_000,
        venues=(VenueLimits("binance", "spot", True, T0 + 120 * 1_000_000_000, False, 0, "BANNED (-1003)", 1, 7),
                VenueLimits("bybit", "spot", False, 0, True, T0 + 5 * 1_000_000_000, "rate limited (10006)", 3, 2)),
        inventory=(_INVENTORY,),
    )  # fmt: skip


# Binance's buy in flight holds 600.6 USDT; Bybit's coins allow 0 more pairs of 0.01 (it sells there)
_INVENTORY = SymbolInventory(
    "BTCUSDT",
    (VenueInventory("binance", 1.03, 0.0, 97_599.4, 600.6), VenueInventory("bybit", 0.005, 0.0, 101_800.0, 0.0)),
    (Direction(0, 1, 0.01, 0, "bybit base"), Direction(1, 0, 0.01, None, "")),
)


def _events(hub: OpsHub) -> None:
    fill = {"side": "buy", "qty": 0.01, "price": 60_000.0, "fee": 0.06, "pair_id": 1, "kind": "pair"}
    hub.emit(OpsEvent("fill", T0, "binance", "", fill))
    hub.emit(OpsEvent("fill", T0, "binance", "", {**fill, "kind": "hedge"}))
    hub.emit(OpsEvent("order", T0, "binance", "", {"status": "filled", "code": ""}))
    hub.emit(OpsEvent("order", T0, "bybit", "", {"status": "rejected", "code": "110007"}))
    hub.emit(OpsEvent("reject", T0, "bybit", "", {"code": "110007"}))
    hub.emit(OpsEvent("breach", T0, "", "", {"key": "position_limit", "value": 1.2, "limit": 1.0}))
    hub.emit(OpsEvent("naked_leg", T0, "", "binance buy 0.01 held"))
    hub.emit(OpsEvent("disconnect", T0, "bybit", "", {"symbol": "BTCUSDT", "endpoint": "wss://x"}))
    hub.emit(OpsEvent("disconnect", T0, "bybit", "", {"symbol": "BTCUSDT"}, resolved=True))
    hub.emit(OpsEvent("halt", T0, "", "trading halted", {"reason": "risk limit [risk] max_drawdown"}))
    hub.emit(OpsEvent("something_new", T0))


def _hub(tmp_path: Path) -> OpsHub:
    hub = OpsHub()
    hub.publish(
        _snapshot(str(tmp_path / "recordings"), halted="risk limit [risk] max_drawdown", paused="daily loss limit")
    )
    _events(hub)
    return hub


def _scrape(hub: OpsHub, registry: CollectorRegistry | None = None) -> tuple[str, str]:
    server = OpsServer("127.0.0.1", 0, [metrics.setup(hub, alerts=_Alerts, registry=registry)])
    server.start()
    try:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            assert response.status == 200
            return response.headers["Content-Type"], response.read().decode()
    finally:
        server.stop()


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_endpoint_serves_the_hub_as_parsed_values(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    content_type, body = _scrape(_hub(tmp_path), registry)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    s = _samples(body)
    ab = {"venue": "binance", "symbol": "BTCUSDT"}
    # gauges from the snapshot
    assert _value(s, "arb_info", mode="dry-run", symbol="BTCUSDT", quote_currency="USDT") == 1
    assert _value(s, "arb_position", **ab) == pytest.approx(0.03)
    assert _value(s, "arb_balance", venue="bybit", symbol="BTCUSDT", asset="USDT") == 101_800.0
    assert _value(s, "arb_balance", venue="bybit", symbol="BTCUSDT", asset="BTC") == pytest.approx(0.97)
    assert _value(s, "arb_spread_bps", symbol="BTCUSDT", direction="buy_binance_sell_bybit") == pytest.approx(49.9)
    assert ("arb_spread_bps", (("direction", "buy_bybit_sell_binance"), ("symbol", "BTCUSDT"))) not in s  # nan
    assert _value(s, "arb_pnl", symbol="BTCUSDT", currency="USDT") == -1.5
    assert _value(s, "arb_event_loop_lag_seconds") == pytest.approx(0.0015)
    feed = {"venue": "binance", "market": "spot", "symbol": "BTCUSDT"}
    assert _value(s, "arb_feed_connected", **feed) == 1
    assert _value(s, "arb_feed_message_age_seconds", **feed) == pytest.approx(0.25)
    assert _value(s, "arb_feed_endpoint_info", endpoint="wss://stream.binance.com:9443/ws", **feed) == 1
    assert _value(s, "arb_feed_gaps_total", **feed) == 2
    assert _value(s, "arb_feed_stale", venue="bybit", market="spot", symbol="BTCUSDT") == 1
    assert _value(s, "arb_halted", symbol="BTCUSDT") == 1
    assert _value(s, "arb_halt_info", symbol="BTCUSDT", reason="risk limit [risk] max_drawdown") == 1
    assert _value(s, "arb_risk_limit", symbol="BTCUSDT", key="position_limit") == 1.0
    assert ("arb_risk_limit", (("key", "max_daily_loss"), ("symbol", "BTCUSDT"))) not in s
    assert _value(s, "arb_risk_refusals_total", symbol="BTCUSDT", key="min_pair_interval_ms") == 3
    # counters by code, from the snapshot's running totals
    assert _value(s, "arb_rejects_total", code="-2010", **ab) == 2
    assert _value(s, "arb_rejects_total", venue="bybit", symbol="BTCUSDT", code="110007") == 1
    assert _value(s, "arb_fills_total", **ab) == 5
    assert _value(s, "arb_orders_total", **ab) == 7
    # counters from the events
    assert _value(s, "arb_traded_base_total", side="buy", kind="hedge", **ab) == pytest.approx(0.01)
    assert _value(s, "arb_order_answers_total", venue="bybit", symbol="BTCUSDT", status="rejected") == 1
    assert _value(s, "arb_breaches_total", symbol="BTCUSDT", key="position_limit") == 1
    assert _value(s, "arb_feed_disconnects_total", venue="bybit", symbol="BTCUSDT") == 1  # the reconnect is not one
    assert _value(s, "arb_naked_leg_open", symbol="BTCUSDT") == 1
    assert _value(s, "arb_halts_total", symbol="BTCUSDT") == 1
    assert _value(s, "arb_hedge_failures_total", symbol="BTCUSDT") == 0  # known series start at 0
    assert _value(s, "arb_order_answers_total", venue="bybit", symbol="BTCUSDT", status="partial") == 0
    assert _value(s, "arb_pause_info", symbol="BTCUSDT", reason="daily loss limit") == 1
    assert _value(s, "arb_ops_events_total", kind="other") == 1
    assert _value(s, "arb_alerts_sent_total", channel="telegram") == 3
    assert _value(s, "arb_alerts_dropped_total") == 5
    # histograms: cumulative buckets in seconds
    assert _value(s, "arb_tick_to_decision_seconds_bucket", symbol="BTCUSDT", le="5e-06") == 1
    assert _value(s, "arb_tick_to_decision_seconds_bucket", symbol="BTCUSDT", le="1e-05") == 3
    assert _value(s, "arb_tick_to_decision_seconds_bucket", symbol="BTCUSDT", le="0.0025") == 5
    assert _value(s, "arb_tick_to_decision_seconds_count", symbol="BTCUSDT") == 5
    assert _value(s, "arb_tick_to_decision_seconds_sum", symbol="BTCUSDT") == pytest.approx(2_057_000e-9)
    trip = {"venue": "binance", "symbol": "BTCUSDT"}
    assert _value(s, "arb_order_round_trip_seconds_bucket", le="5.0", **trip) == 1
    assert _value(s, "arb_order_round_trip_seconds_bucket", le="+Inf", **trip) == 2
    # the process and the disk
    assert _value(s, "process_resident_memory_bytes") > 0
    assert _value(s, "arb_disk_free_bytes", path=str(tmp_path / "recordings")) > 0
    assert not any(name.endswith("_created") for name, _ in s)
    # the same registry answers in process, as tests and embedders read it
    assert registry.get_sample_value("arb_fills_total", ab) == 5


def test_inventory_is_exposed_per_venue_asset_and_direction(tmp_path: Path) -> None:
    s = _samples(_scrape(_hub(tmp_path))[1])
    binance = {"venue": "binance", "symbol": "BTCUSDT"}
    assert _value(s, "arb_balance_available", asset="USDT", **binance) == pytest.approx(97_599.4)
    assert _value(s, "arb_balance_reserved", asset="USDT", **binance) == pytest.approx(600.6)
    assert _value(s, "arb_balance_available", venue="bybit", symbol="BTCUSDT", asset="BTC") == pytest.approx(0.005)
    assert _value(s, "arb_balance_reserved", venue="bybit", symbol="BTCUSDT", asset="BTC") == 0
    assert _value(s, "arb_pairs_left", symbol="BTCUSDT", direction="buy_binance_sell_bybit") == 0
    assert ("arb_pairs_left", (("direction", "buy_bybit_sell_binance"), ("symbol", "BTCUSDT"))) not in s  # unknown


def test_a_venue_ban_and_a_rate_limit_are_exposed_per_venue(tmp_path: Path) -> None:
    s = _samples(_scrape(_hub(tmp_path))[1])
    binance, bybit = {"venue": "binance", "market": "spot"}, {"venue": "bybit", "market": "spot"}
    assert _value(s, "arb_venue_banned", **binance) == 1 and _value(s, "arb_venue_banned", **bybit) == 0
    assert _value(s, "arb_venue_ban_end_seconds", **binance) == T0 / 1e9 + 120
    assert ("arb_venue_ban_end_seconds", tuple(sorted(bybit.items()))) not in s  # no ban: no end
    assert _value(s, "arb_venue_rate_limited", **binance) == 0 and _value(s, "arb_venue_rate_limited", **bybit) == 1
    assert _value(s, "arb_rate_limit_answers_total", **bybit) == 3
    assert _value(s, "arb_requests_held_total", **binance) == 7


def test_counters_fold_each_event_once_and_count_what_the_ring_lost(tmp_path: Path) -> None:
    hub = OpsHub(events=3)
    registry = CollectorRegistry()
    metrics.setup(hub, registry=registry)
    fill = {"side": "sell", "qty": 0.5, "price": 10.0, "kind": "pair"}
    labels = {"venue": "bybit", "symbol": "BTCUSDT", "side": "sell", "kind": "pair"}
    hub.emit(OpsEvent("fill", T0, "bybit", "", fill))
    assert registry.get_sample_value("arb_traded_base_total", labels) is None  # no snapshot yet: waits
    hub.publish(_snapshot(""))
    assert registry.get_sample_value("arb_traded_base_total", labels) == 0.5
    assert registry.get_sample_value("arb_traded_base_total", labels) == 0.5  # a second scrape adds nothing
    for _ in range(5):  # two of these leave the ring of 3 unread
        hub.emit(OpsEvent("fill", T0, "bybit", "", fill))
    assert registry.get_sample_value("arb_traded_base_total", labels) == 0.5 + 3 * 0.5
    assert registry.get_sample_value("arb_ops_events_missed_total") == 2
    assert registry.get_sample_value("arb_traded_quote_total", labels) == 4 * 5.0


def test_an_empty_hub_serves_the_process_metrics_only() -> None:
    _, body = _scrape(OpsHub())
    names = {f.name for f in text_string_to_metric_families(body)}
    assert "process_cpu_seconds" in names
    assert "arb_info" not in names


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("ARB_REQUIRE_PROMTOOL") == "1":
            pytest.fail("ARB_REQUIRE_PROMTOOL=1 but promtool is not on PATH (Debian: apt-get install prometheus)")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return path


def test_metrics_lint_clean_with_promtool(tmp_path: Path) -> None:
    promtool = _promtool()
    _, body = _scrape(_hub(tmp_path))
    done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_rules_check_and_unit_tests_pass_with_promtool() -> None:
    promtool = _promtool()
    rules = MONITORING / "prometheus-alerts.yml"
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run(
        [promtool, "test", "rules", "prometheus-alerts.test.yml"],
        cwd=MONITORING, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _exprs() -> dict[str, list[str]]:
    """Every PromQL expression shipped: the dashboard's targets and the alert rules."""
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; only safe_load is used

    out: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "expr" and isinstance(value, str):
                    out.setdefault("grafana-dashboard.json", []).append(value)
                elif key == "query" and isinstance(value, str) and node.get("type") == "query":
                    out.setdefault("grafana-dashboard.json", []).append(value)  # a templating variable
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads((MONITORING / "grafana-dashboard.json").read_text()))
    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            out.setdefault("prometheus-alerts.yml", []).append(rule["expr"])
    return out


_NAME = re.compile(r"(?<![A-Za-z0-9_:\"'])((?:arb|process|python)_[a-z0-9_]+)")


def test_every_dashboard_and_rule_expression_names_an_exposed_metric(tmp_path: Path) -> None:
    _, body = _scrape(_hub(tmp_path))
    exposed = {sample_name for sample_name, _ in _samples(body)}
    exprs = _exprs()
    assert len(exprs["grafana-dashboard.json"]) >= 15 and len(exprs["prometheus-alerts.yml"]) >= 6
    used: set[str] = set()
    for file, texts in exprs.items():
        for text in texts:
            names = _NAME.findall(text)
            assert names or re.search(r"\bup\b", text), f"{file}: {text!r} names no metric"
            for name in names:
                assert name in exposed, f"{file}: {text!r} asks for {name}, which /metrics does not expose"
                used.add(name)
    # and the catalogue is what the collector exposes: each family once, under its documented type
    families = {f.name: f.type for f in text_string_to_metric_families(body)}
    for spec in (*metrics.METRICS, *metrics.LATENCY_METRICS.values()):
        if spec.name in families:
            assert families[spec.name] == spec.kind
    assert {"arb_fills_total", "arb_feed_connected", "arb_order_round_trip_seconds_bucket"} <= used
    assert {"arb_pairs_left", "arb_balance_available", "arb_balance_reserved"} <= used  # the Inventory row


def _dashboard_targets() -> list[tuple[str, str, str]]:
    """Every query of the dashboard: (panel title, expression, legend); a templating variable's with
    its name as the title and no legend."""
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    out = [(v["name"], v["query"], "") for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    for panel in dashboard["panels"]:
        out += [(panel["title"], t["expr"], t.get("legendFormat", "")) for t in panel.get("targets", [])]
    return out


_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_LABEL_REPLACE = re.compile(r'label_replace\(.*?,\s*"(\w+)",\s*"[^"]*",\s*"(\w+)",\s*"[^"]*"\)')


def test_every_dashboard_label_is_one_its_metrics_carry(tmp_path: Path) -> None:
    # each label a query matches, groups or joins on, copies, or names in its legend is one that a metric
    # it names carries on /metrics (or that Prometheus adds: instance, job), so no panel filters or names
    # by a label arb does not export
    _, body = _scrape(_hub(tmp_path))
    carried: dict[str, set[str]] = {}
    for name, labels in _samples(body):
        carried.setdefault(name, set()).update(label for label, _ in labels)
    for title, expr, legend in _dashboard_targets():
        names = _NAME.findall(expr)
        known = {"instance", "job"}.union(*(carried[name] for name in names))
        copied = _LABEL_REPLACE.findall(expr)
        known |= {target for target, _ in copied}
        used = {label for braces in re.findall(r"\{([^{}]*)\}", expr) for label in _MATCHER.findall(braces)}
        used |= {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label.strip()}
        used |= {source for _, source in copied}
        used |= set(re.findall(r"label_values\([^,]*,\s*(\w+)\)", expr))
        used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
        assert used <= known, f"{title}: {expr!r} ({legend!r}) uses {sorted(used - known)}, not on {names}"


def _panels_of_row(title: str) -> list[dict[str, Any]]:
    # the panels under the dashboard's row ``title``, up to the next row
    panels = json.loads((MONITORING / "grafana-dashboard.json").read_text())["panels"]
    start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == title)
    end = next((i for i in range(start + 1, len(panels)) if panels[i]["type"] == "row"), len(panels))
    return panels[start + 1 : end]


def test_the_inventory_row_draws_pairs_left_against_the_alerts_threshold() -> None:
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; only safe_load is used

    rules = yaml.safe_load((MONITORING / "prometheus-alerts.yml").read_text())
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ArbDirectionCannotTrade")
    match = re.fullmatch(r"arb_pairs_left == (\d+)", rule["expr"])
    assert match is not None, rule["expr"]
    threshold = int(match.group(1))
    panels = {p["title"]: p for p in _panels_of_row("Inventory")}
    # the time series: a dashed red line at the alert's threshold
    over_time = panels["Pairs left per direction"]["fieldConfig"]["defaults"]
    assert over_time["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert {"color": "red", "value": threshold} in over_time["thresholds"]["steps"]
    assert over_time["custom"]["axisSoftMin"] < threshold  # the line stays in view, off the axis's edge
    # the figure now: red at the threshold, green from one pair more
    steps = panels["Pairs left now"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "red", "value": None}, {"color": "green", "value": threshold + 1}]
    for title in ("Pairs left per direction", "Pairs left now"):
        assert [t["expr"].split("{")[0] for t in panels[title]["targets"]] == ["arb_pairs_left"], title


def _series(name: str, labels: dict[str, str]) -> str:
    # a series as promtool's test files write it (no name: a join's result)
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def test_the_inventory_panels_show_what_arb_exports_per_direction_venue_and_asset(tmp_path: Path) -> None:
    # Every query of the Inventory row, run by promtool over what /metrics gives for an account of two
    # symbols (as Prometheus stores it: instance and job added): pairs left per symbol and direction;
    # the balances' base coins (query A, the left axis) and the venues' quote (B, the right axis, under
    # the account's joined names) each exactly once
    promtool = _promtool()
    btc = SymbolInventory(
        "BTCUSDT",
        (VenueInventory("binance", 0.052, 0.0, 8_399.4, 600.6), VenueInventory("bybit", 0.038, 0.01, 11_000.0, 0.0)),
        (Direction(0, 1, 0.01, 3, "bybit base"), Direction(1, 0, 0.01, 0, "binance base")),
    )
    eth = SymbolInventory(  # the venues' quote is the account's: the same on every symbol
        "ETHUSDT",
        (VenueInventory("binance", 0.7, 0.0, 8_399.4, 600.6), VenueInventory("bybit", 1.3, 0.0, 11_000.0, 0.0)),
        (Direction(0, 1, 0.1, 7, "bybit position"), Direction(1, 0, 0.1, None, "")),
    )
    hub = OpsHub()
    hub.publish(dataclasses.replace(_two_symbol_snapshot(), inventory=(btc, eth)))
    _, body = _scrape(hub)
    added = {"instance": "arb:9109", "job": "arb"}
    stored = [(name, {**dict(labels), **added}, value) for (name, labels), value in _samples(body).items()
              if name in ("arb_info", "arb_pairs_left", "arb_balance_available", "arb_balance_reserved")]  # fmt: skip

    def rows(name: str, keep: Any = lambda labels: True, named: bool = True) -> list[dict[str, Any]]:
        return [{"labels": _series(name if named else "", labels), "value": value}
                for n, labels, value in stored if n == name and keep(labels)]  # fmt: skip

    def quote(labels: dict[str, str]) -> bool:
        return labels["asset"] == "USDT"

    expected = {
        ("Pairs left per direction", "A"): rows("arb_pairs_left"),
        ("Pairs left now", "A"): rows("arb_pairs_left"),
        ("Balances available", "A"): rows("arb_balance_available", lambda labels: not quote(labels)),
        ("Balances available", "B"): rows("arb_balance_available", quote, named=False),
        ("Balances reserved by open orders", "A"): rows("arb_balance_reserved", lambda labels: not quote(labels)),
        ("Balances reserved by open orders", "B"): rows("arb_balance_reserved", quote, named=False),
    }
    assert len(expected[("Pairs left per direction", "A")]) == 3  # ETHUSDT's way back has no price: no series
    assert len(expected[("Balances available", "A")]) == 4 and len(expected[("Balances available", "B")]) == 2
    tests = []
    for panel in _panels_of_row("Inventory"):
        for target in panel["targets"]:
            expr = target["expr"].replace("$instance", ".*").replace("$symbol", "BTCUSDT|ETHUSDT")
            expr = expr.replace("$venue", ".*").replace("$direction", ".*")  # the variables' "All"
            samples = expected.pop((panel["title"], target["refId"]))
            tests.append({"expr": expr, "eval_time": "0m", "exp_samples": samples})
    assert not expected, f"no panel queries {sorted(expected)}"
    (tmp_path / "none.yml").write_text("groups: []\n")
    inputs = [{"series": _series(name, labels), "values": repr(value)} for name, labels, value in stored]
    case = {
        "rule_files": ["none.yml"],
        "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": tests}],
    }
    (tmp_path / "inventory.test.yml").write_text(json.dumps(case))  # JSON is YAML
    done = subprocess.run([promtool, "test", "rules", "inventory.test.yml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_monitoring_doc_lists_every_metric() -> None:
    doc = (MONITORING.parents[1] / "docs" / "monitoring.md").read_text()
    section = doc.split("## Metrics", 1)[1]
    for spec in (*metrics.METRICS, *metrics.LATENCY_METRICS.values()):
        assert f"`{spec.series[0].removesuffix('_bucket')}`" in section, spec.name


# -- two symbols ------------------------------------------------------------------------------------------

BOTH = "BTCUSDT,ETHUSDT"


def _two_symbol_snapshot() -> Snapshot:
    from arb.ops.snapshot import SymbolState

    nan = float("nan")
    btc = SymbolState(
        "BTCUSDT",
        (VenueAccount("binance", 0.002, 0.052, nan, 59_990.0, 60_000.0, 1, 4, 3, {"-2010": 1}),
         VenueAccount("bybit", -0.002, 0.048, nan, 60_300.0, 60_400.0, 0, 4, 3)),
        spread_bps=(49.9, -60.0), entry_bps=20.0, pnl=0.5, fees=0.3, pairs=2,
        limits=(LimitUse("position_limit", 0.0, 0.005, 1), LimitUse("max_pairs_per_day", 2.0, 0.0, 0)),
    )  # fmt: skip
    eth = SymbolState(
        "ETHUSDT",
        (VenueAccount("binance", -0.3, 0.7, nan, 3_000.0, 3_001.0, 2, 10, 8),
         VenueAccount("bybit", 0.3, 1.3, nan, 3_010.0, 3_011.0, 0, 9, 8, {"170131": 2})),
        spread_bps=(-40.0, 30.0), entry_bps=25.0, pnl=1.25, fees=0.9, pairs=4,
        limits=(LimitUse("position_limit", 0.095, 0.1, 6), LimitUse("max_pairs_per_day", 4.0, 0.0, 0)),
        naked=True,
    )  # fmt: skip
    accounts = (
        VenueAccount("binance", nan, nan, 9_000.0, nan, nan, 3, 14, 11, {"-2010": 1}, unknown_orders=1),
        VenueAccount("bybit", nan, nan, 11_000.0, nan, nan, 0, 13, 11, {"170131": 2}),
    )
    return Snapshot(
        mode="dry-run", symbol=BOTH, quote_currency="USDT", ts_ns=T0, wall_ns=T0, feeds=(), accounts=accounts,
        spread_bps=(nan, nan), entry_bps=nan, equity=26_000.0, pnl=1.75, fees=1.2, pairs=6,
        limits=(LimitUse("max_drawdown", 0.4, 100.0, 0), LimitUse("max_total_notional", 120.0, 1_000.0, 2)),
        halted="risk limit [risk] max_drawdown", latencies=_latencies(), symbols=(btc, eth),
    )  # fmt: skip


def test_two_symbols_get_a_series_each_and_the_account_its_own(tmp_path: Path) -> None:
    hub = OpsHub()
    hub.publish(_two_symbol_snapshot())
    fill = {"side": "sell", "qty": 0.02, "price": 3_000.0, "fee": 0.06, "pair_id": 3, "kind": "pair"}
    hub.emit(OpsEvent("fill", T0, "binance", "", {**fill, "symbol": "ETHUSDT"}))
    hub.emit(OpsEvent("order", T0, "bybit", "", {"status": "rejected", "code": "170131", "symbol": "ETHUSDT"}))
    hub.emit(OpsEvent("breach", T0, "", "", {"key": "position_limit", "symbol": "ETHUSDT"}))
    hub.emit(OpsEvent("breach", T0, "", "", {"key": "max_total_notional", "symbol": ""}))  # the account's
    hub.emit(OpsEvent("naked_leg", T0, "", "", {"symbol": "ETHUSDT"}))
    hub.emit(OpsEvent("halt", T0, "", "trading halted", {"reason": "max_drawdown"}))
    _, body = _scrape(hub)
    s = _samples(body)
    # per symbol: its own name
    assert _value(s, "arb_position", venue="bybit", symbol="ETHUSDT") == pytest.approx(0.3)
    assert _value(s, "arb_balance", venue="bybit", symbol="ETHUSDT", asset="ETH") == pytest.approx(1.3)
    assert _value(s, "arb_balance", venue="binance", symbol="BTCUSDT", asset="BTC") == pytest.approx(0.052)
    assert _value(s, "arb_spread_bps", symbol="ETHUSDT", direction="buy_bybit_sell_binance") == 30.0
    assert _value(s, "arb_entry_threshold_bps", symbol="ETHUSDT") == 25.0
    assert _value(s, "arb_best_price", venue="binance", symbol="ETHUSDT", side="ask") == 3_001.0
    assert _value(s, "arb_pairs_total", symbol="BTCUSDT") == 2 and _value(s, "arb_pairs_total", symbol="ETHUSDT") == 4
    assert _value(s, "arb_symbol_pnl", symbol="ETHUSDT", currency="USDT") == 1.25
    assert _value(s, "arb_symbol_fees", symbol="BTCUSDT", currency="USDT") == 0.3
    assert _value(s, "arb_fills_total", venue="bybit", symbol="ETHUSDT") == 8
    assert _value(s, "arb_rejects_total", venue="bybit", symbol="ETHUSDT", code="170131") == 2
    assert _value(s, "arb_open_orders", venue="binance", symbol="ETHUSDT") == 2
    assert _value(s, "arb_risk_limit_use", symbol="ETHUSDT", key="position_limit") == 0.095
    assert _value(s, "arb_risk_refusals_total", symbol="ETHUSDT", key="position_limit") == 6
    assert (
        _value(s, "arb_naked_leg_open", symbol="ETHUSDT") == 1
        and _value(s, "arb_naked_leg_open", symbol="BTCUSDT") == 0
    )
    assert _value(s, "arb_traded_base_total", venue="binance", symbol="ETHUSDT", side="sell", kind="pair") == 0.02
    assert _value(s, "arb_order_answers_total", venue="bybit", symbol="ETHUSDT", status="rejected") == 1
    assert _value(s, "arb_breaches_total", symbol="ETHUSDT", key="position_limit") == 1
    assert (
        _value(s, "arb_naked_legs_total", symbol="ETHUSDT") == 1
        and _value(s, "arb_naked_legs_total", symbol="BTCUSDT") == 0
    )
    # the account: every name joined
    assert _value(s, "arb_info", mode="dry-run", symbol=BOTH, quote_currency="USDT") == 1
    assert _value(s, "arb_pnl", symbol=BOTH, currency="USDT") == 1.75
    assert _value(s, "arb_equity", symbol=BOTH, currency="USDT") == 26_000.0
    assert _value(s, "arb_balance", venue="binance", symbol=BOTH, asset="USDT") == 9_000.0
    assert _value(s, "arb_unknown_orders", venue="binance", symbol=BOTH) == 1
    assert _value(s, "arb_halted", symbol=BOTH) == 1 and _value(s, "arb_halts_total", symbol=BOTH) == 1
    assert _value(s, "arb_risk_limit_use", symbol=BOTH, key="max_total_notional") == 120.0
    assert _value(s, "arb_breaches_total", symbol=BOTH, key="max_total_notional") == 1
    assert _value(s, "arb_tick_to_decision_seconds_count", symbol=BOTH) == 5
    # nothing is counted twice: per-symbol series add up to the account's, and no account series repeats them
    for name in ("arb_fills_total", "arb_orders_total", "arb_position", "arb_open_orders"):
        assert not any(n == name and dict(labels)["symbol"] == BOTH for n, labels in s), name
    pnl = sum(v for (n, labels), v in s.items() if n == "arb_symbol_pnl")
    assert pnl == _value(s, "arb_pnl", symbol=BOTH, currency="USDT")
    assert not any(n == "arb_balance" and dict(labels)["asset"] == "USDT" and dict(labels)["symbol"] != BOTH
                   for n, labels in s)  # fmt: skip
    promtool = shutil.which("promtool")
    if promtool is not None:
        done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


# -- three venues -----------------------------------------------------------------------------------------

THREE = ("binance", "bybit", "okx")  # names only: the metrics label whatever venues the run has
SIX = tuple(f"buy_{THREE[b]}_sell_{THREE[s]}" for b in range(3) for s in range(3) if b != s)


def _three_venue_snapshot() -> Snapshot:
    nan = float("nan")
    feeds = tuple(FeedHealth(venue, "spot", "BTCUSDT", v != 2, True, False, f"wss://127.0.0.1:{v + 1}/ws",
                             T0 - 100_000_000, 100 * (v + 1), v, 0, 0, 0) for v, venue in enumerate(THREE))  # fmt: skip
    accounts = tuple(VenueAccount(venue, (0.02, -0.01, -0.01)[v], 1.0 + v, 10_000.0 * (v + 1), 60_000.0 + v,
                                  60_010.0 + v, v, 3 + v, 2 + v, {"-1": v} if v else {}, unknown_orders=v)
                     for v, venue in enumerate(THREE))  # fmt: skip
    # six directions in venue_pairs order; buying okx and selling binance has no price on one side
    spreads = (12.0, 13.0, -11.0, 1.5, nan, -2.5)
    pairs = [(b, s) for b in range(3) for s in range(3) if b != s]
    inventory = SymbolInventory(
        "BTCUSDT",
        tuple(VenueInventory(venue, 1.0 + v, 0.0, 10_000.0 * (v + 1), 10.0 * v) for v, venue in enumerate(THREE)),
        tuple(Direction(b, s, 0.01, None if d == 4 else d, f"{THREE[s]} base") for d, (b, s) in enumerate(pairs)),
    )
    trips = []
    for venue in THREE:
        trip = LatencyHistogram("order_round_trip", venue)
        trip.record(1_000_000)
        trips.append(trip.figures())
    guards = tuple(VenueLimits(venue, "spot", v == 1, T0 + 60 * 1_000_000_000 if v == 1 else 0, False, 0,
                               "BANNED" if v == 1 else "", v, 0) for v, venue in enumerate(THREE))  # fmt: skip
    return Snapshot(
        mode="live", symbol="BTCUSDT", quote_currency="USDT", ts_ns=T0, wall_ns=T0, feeds=feeds, accounts=accounts,
        spread_bps=spreads, entry_bps=20.0, equity=60_000.0, pnl=1.0, fees=0.1, pairs=2,
        latencies=tuple(trips), edge_bps=tuple(x - 20.0 for x in spreads), venues=guards,
        inventory=(inventory,), venue_names=THREE, venue_titles=("Binance", "Bybit", "OKX"),
    )  # fmt: skip


def test_three_venues_get_a_series_each_and_their_six_directions_one_each() -> None:
    hub = OpsHub()
    hub.publish(_three_venue_snapshot())
    hub.emit(OpsEvent("order", T0, "okx", "", {"status": "filled", "code": ""}))
    _, body = _scrape(hub)
    s = _samples(body)
    spreads = {dict(labels)["direction"]: v for (n, labels), v in s.items() if n == "arb_spread_bps"}
    assert spreads == {d: x for d, x in zip(SIX, (12.0, 13.0, -11.0, 1.5, None, -2.5), strict=True) if x is not None}
    assert "buy_okx_sell_binance" not in spreads  # no price on a side: no series, as with two venues
    left = {dict(labels)["direction"]: v for (n, labels), v in s.items() if n == "arb_pairs_left"}
    assert left == {d: float(i) for i, d in enumerate(SIX) if i != 4}
    for v, venue in enumerate(THREE):
        mine = {"venue": venue, "symbol": "BTCUSDT"}
        assert _value(s, "arb_position", **mine) == pytest.approx((0.02, -0.01, -0.01)[v])
        assert _value(s, "arb_balance", asset="USDT", **mine) == 10_000.0 * (v + 1)
        assert _value(s, "arb_balance_reserved", asset="USDT", **mine) == 10.0 * v
        assert _value(s, "arb_unknown_orders", **mine) == v
        assert _value(s, "arb_feed_connected", market="spot", **mine) == float(v != 2)
        assert _value(s, "arb_venue_banned", venue=venue, market="spot") == float(v == 1)
        assert _value(s, "arb_order_round_trip_seconds_count", **mine) == 1
        assert _value(s, "arb_order_answers_total", status="filled", **mine) == float(venue == "okx")
    assert _value(s, "arb_rejects_total", venue="okx", symbol="BTCUSDT", code="-1") == 2
    assert _value(s, "arb_entry_threshold_bps", symbol="BTCUSDT") == 20.0
    promtool = shutil.which("promtool")
    if promtool is not None:
        done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_directions_are_named_from_the_run_by_venue_number() -> None:
    # The inventory's directions carry venue numbers: their label is the run's names of those venues,
    # whatever names the inventory's own records carry
    snapshot = _three_venue_snapshot()
    inv = snapshot.inventory[0]
    renamed = dataclasses.replace(inv, venues=tuple(dataclasses.replace(v, venue=f"v{i}")
                                                     for i, v in enumerate(inv.venues)))  # fmt: skip
    hub = OpsHub()
    hub.publish(dataclasses.replace(snapshot, inventory=(renamed,)))
    s = _samples(_scrape(hub)[1])
    assert _value(s, "arb_pairs_left", symbol="BTCUSDT", direction="buy_bybit_sell_okx") == 3.0
    assert _value(s, "arb_balance_available", venue="okx", symbol="BTCUSDT", asset="BTC") == 3.0
    assert snapshot.directions()[3] == (1, 2, "buy_bybit_sell_okx")
