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
from arb.ops.server import OpsServer
from arb.ops.watch import Watch
from arb.runtime.live import PaperAccount, dry_run_replay
from tests.scenarios import standing_spread_config

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _config(tmp_path: Path) -> Path:
    return standing_spread_config(tmp_path, arbitrage_overrides={"ops": {"enabled": True, "port": 0}})


def _get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
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
        result = await dry_run_replay(
            config, account=account, console=Console(file=io.StringIO()), speed=None, on_fill=on_fill,
            on_watch=on_watch,
        )  # fmt: skip
        assert result.watch is watches[0] and not result.interrupted
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
