"""``/metrics`` of a replayed ``arb dry-run``: the server the run starts per ``[ops]`` answers while the
replay trades, and once it ends the fill counters equal the paper account's fills and the position
gauges its positions, read over HTTP and parsed as Prometheus parses them.

The driver offers no hook between its last snapshot and the server's stop (``Watch.stop`` does
both), so the test keeps the run's own server alive past the run: ``on_watch`` hands over the
``Watch`` and the test takes its ``server`` (then ``Watch.stop`` publishes the last snapshot and
leaves the server to the test). Everything else is the driver's own path.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from arb.config import load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import dry_run_replay
from arb.ops.server import OpsServer
from arb.ops.terminal import dry_run_watchers
from arb.ops.watch import Watch
from tests.support.scenario_days import standing_spread_config

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _config(tmp_path: Path) -> Path:
    return standing_spread_config(tmp_path, arbitrage_overrides={"ops": {"enabled": True, "port": 0}})


def _get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=60) as response:  # a bound on a hang, not on speed
        assert response.status == 200
        return response.headers["Content-Type"], response.read().decode()


def _samples(body: str) -> Samples:
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def _by_venue(samples: Samples, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for (sample, labels), value in samples.items():
        if sample == name:
            venue = dict(labels)["venue"]
            out[venue] = out.get(venue, 0.0) + value
    return out


async def test_metrics_after_a_replayed_dry_run_equal_the_paper_account(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    state = tmp_path / "paper"
    account = PaperAccount.open(state, config)
    watches: list[Watch] = []
    servers: list[OpsServer] = []
    during: list[Samples] = []

    def on_watch(watch: Watch) -> None:
        assert watch.server is not None, "[ops] enabled with port 0: the run serves /metrics"
        servers.append(watch.server)
        watch.server = None  # the test stops it, after the run (see the module docstring)
        watches.append(watch)

    def on_fill(row: Any) -> None:
        if not during:  # the first fill: /metrics answers while the replay trades
            during.append(_samples(_get(servers[0].url + "/metrics")[1]))

    try:
        console = Console(file=io.StringIO())
        result = await dry_run_replay(
            config, account=account, console=console, speed=None, on_fill=on_fill,
            watchers=dry_run_watchers(config, account, console),
            on_watch=lambda w: on_watch(w) if isinstance(w, Watch) else None,
        )  # fmt: skip
        assert result.watchers[0] is watches[0] and not result.interrupted
        content_type, body = _get(servers[0].url + "/metrics")
    finally:
        for server in servers:
            server.stop()

    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    s = _samples(body)
    assert during and ("arb_info", (("mode", "dry-run"), ("quote_currency", "USDT"), ("symbol", "BTCUSDT"))) in s

    # the fill counters are the paper account's fills, per venue as fills.csv has them
    with (state / "fills.csv").open() as f:
        csv_fills = Counter(row["venue"] for row in csv.DictReader(f))
    fills = _by_venue(s, "arb_fills_total")
    assert account.fills >= 6  # the scenario fills pairs until the band is full
    assert sum(fills.values()) == account.fills
    assert fills == {venue: float(n) for venue, n in csv_fills.items()}
    assert sum(_by_venue(s, "arb_traded_base_total").values()) == pytest.approx(
        sum(abs(p) for p in account.position[0])
    )  # every fill opened the band: base traded = the positions' sizes
    assert sum(_by_venue(s, "arb_order_answers_total").values()) >= account.fills
    assert min(_by_venue(s, "arb_orders_total").values()) > 0

    # the position gauges are the account's positions
    positions = _by_venue(s, "arb_position")
    assert positions == {
        "binance": pytest.approx(account.position[0][0]),
        "bybit": pytest.approx(account.position[0][1]),
    }
    assert positions["binance"] == pytest.approx(0.03) and positions["bybit"] == pytest.approx(-0.03)
    assert s[("arb_pairs_total", (("symbol", "BTCUSDT"),))] == account.next_pair_id - 1
    # the latency histograms counted the replay's batches and the paper orders' round trips
    decision = s[("arb_tick_to_decision_seconds_count", (("symbol", "BTCUSDT"),))]
    assert decision == result.batches
    trips = _by_venue(s, "arb_order_round_trip_seconds_count")
    assert sum(trips.values()) >= account.fills

    # counters never run backwards between the scrape at the first fill and the last one
    for key, value in during[0].items():
        if key[0].endswith("_total") and key in s:
            assert s[key] >= value, key

    promtool = shutil.which("promtool")
    if promtool is not None:
        done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


BOTH = "BTCUSDT,ETHUSDT"


def _labels(samples: Samples, name: str, *keys: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = {}
    for (sample, labels), value in samples.items():
        if sample == name:
            own = dict(labels)
            key = tuple(own[k] for k in keys)
            out[key] = out.get(key, 0.0) + value
    return out


async def test_metrics_of_a_two_symbol_dry_run_are_the_paper_account_symbol_by_symbol(
    two_symbols: Path, tmp_path: Path
) -> None:
    from tests.support.two_symbols import two_symbol_config

    # ETHUSDT may open 3 pairs a day: the rest of its pairs are refused, each refusal its own, named
    overrides = {"ops": {"enabled": True, "port": 0}, "symbols": {"ETHUSDT": {"max_pairs_per_day": 3}}}
    config = load_config(two_symbol_config(tmp_path, two_symbols, overrides))
    state = tmp_path / "paper"
    account = PaperAccount.open(state, config)
    watches: list[Watch] = []
    servers: list[OpsServer] = []

    def on_watch(watch: Watch) -> None:
        assert watch.server is not None
        servers.append(watch.server)
        watch.server = None  # the test stops it, after the run (see the module docstring)
        watches.append(watch)

    try:
        console = Console(file=io.StringIO())
        result = await dry_run_replay(config, account=account, console=console, speed=None,
                                      watchers=dry_run_watchers(config, account, console),
                                      on_watch=lambda w: on_watch(w) if isinstance(w, Watch) else None)  # fmt: skip
        assert not result.interrupted
        _, body = _get(servers[0].url + "/metrics")
    finally:
        for server in servers:
            server.stop()
    s = _samples(body)
    names = ("BTCUSDT", "ETHUSDT")
    assert ("arb_info", (("mode", "dry-run"), ("quote_currency", "USDT"), ("symbol", BOTH))) in s

    # fills and positions per symbol and venue, as fills.csv and the paper account have them
    with (state / "fills.csv").open() as f:
        rows = list(csv.DictReader(f))
    by_book = Counter((row["symbol"], row["venue"]) for row in rows)
    assert {symbol for symbol, _ in by_book} == set(names)
    fills = _labels(s, "arb_fills_total", "symbol", "venue")
    assert fills == {key: float(n) for key, n in by_book.items()}
    positions = _labels(s, "arb_position", "symbol", "venue")
    for i, name in enumerate(names):
        for v, venue in enumerate(("binance", "bybit")):
            assert positions[(name, venue)] == pytest.approx(account.position[i][v], abs=1e-12)
    traded = _labels(s, "arb_traded_base_total", "symbol")
    for name in names:
        assert traded[(name,)] == pytest.approx(sum(float(r["qty"]) for r in rows if r["symbol"] == name))

    # pairs per symbol add up to the account's; each symbol's PnL adds up to the account's
    pairs = _labels(s, "arb_pairs_total", "symbol")
    assert sum(pairs.values()) == account.next_pair_id - 1
    for name in names:
        filled = {r["pair_id"] for r in rows if r["symbol"] == name}
        assert pairs[(name,)] >= len(filled) > 0
    pnl = _labels(s, "arb_symbol_pnl", "symbol")
    assert sum(pnl.values()) == pytest.approx(s[("arb_pnl", (("currency", "USDT"), ("symbol", BOTH)))], abs=1e-6)

    # the refusals and the breach are ETHUSDT's, and so says the event
    refused = _labels(s, "arb_risk_refusals_total", "symbol", "key")
    engine = result.engine
    assert refused[("ETHUSDT", "max_pairs_per_day")] == engine.symbol_state[1]["refused"][7] > 0
    assert refused[("BTCUSDT", "max_pairs_per_day")] == 0
    breaches = _labels(s, "arb_breaches_total", "symbol", "key")
    assert breaches[("ETHUSDT", "max_pairs_per_day")] >= 1 and breaches[("BTCUSDT", "max_pairs_per_day")] == 0
    events = [e for _, e in watches[0].hub.events_since(0) if e.kind == "breach"]
    assert events and all(e.fields["symbol"] == "ETHUSDT" and e.text.startswith("ETHUSDT: ") for e in events)
    snapshot = watches[0].hub.latest()
    assert snapshot is not None and [st.symbol for st in snapshot.symbols] == list(names)
    assert snapshot.symbol == BOTH and math.isnan(snapshot.accounts[0].position)

    promtool = shutil.which("promtool")
    if promtool is not None:
        done = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
