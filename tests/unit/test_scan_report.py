"""scan.html: the ranking in the terminal's order and figures, the charts embedded, the capturable curves exact,
and a page that says so when the scan found nothing."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arb.scan.measure import capturable
from arb.scan.ranking import ranked
from arb.scan.report import LATENCY_GRID_MS, READ_AT_MS, capturable_curve, write_report

DAY = "2024-08-08"
DAY_NS = 1_723_075_200_000_000_000  # 2024-08-08 00:00 UTC


def _row(day: str, symbol: str, buy: str, sell: str, capturable: float, edge: float, episodes: int) -> dict[str, Any]:
    return {
        "day": day, "symbol": symbol, "market": "spot", "buy_venue": buy, "sell_venue": sell, "seconds": 3600.0,
        "share_above": 0.01, "episodes": episodes, "episode_ms_p50": 3.0, "episode_ms_p90": 40.0,
        "crossable_base": 1.0, "crossable_quote": 1000.0, "edge_quote": edge, "capturable_quote_at_latency": capturable,
        "net_bps_p50": -20.0, "net_bps_p90": -5.0, "net_bps_p99": 1.0, "net_bps_max": 12.5, "lead_venue": "binance",
        "lead_ms": 3.0, "funding_diff_bps": float("nan"), "capturable_episodes": 2, "latency_ms": 10.0,
        "threshold_bps": 0.5, "fee_buy_bps": 7.5 if buy == "binance" else 10.0,
        "fee_sell_bps": 7.5 if sell == "binance" else 10.0, "lead_corr": 0.4,
    }  # fmt: skip


# BTCUSDT binance -> bybit: four episodes on DAY (durations 0.5, 3, 20, 40 ms; edges 1, 2, 4, 8) and one the
# next day (2 s, edge 16); at its 10 ms latency it captured 4 + 8 and 16. ETHUSDT okx -> bybit: one episode.
EPISODES = [
    (DAY, "BTCUSDT", "binance", "bybit", 3_600, 0.5, 1.0),
    (DAY, "BTCUSDT", "binance", "bybit", 7_200, 3.0, 2.0),
    (DAY, "BTCUSDT", "binance", "bybit", 10_800, 20.0, 4.0),
    (DAY, "BTCUSDT", "binance", "bybit", 14_400, 40.0, 8.0),
    ("2024-08-09", "BTCUSDT", "binance", "bybit", 3_600, 2_000.0, 16.0),
    (DAY, "ETHUSDT", "okx", "bybit", 600, 6.0, 0.25),
]
ROWS = [
    _row(DAY, "BTCUSDT", "binance", "bybit", 12.0, 15.0, 4),
    _row("2024-08-09", "BTCUSDT", "binance", "bybit", 16.0, 16.0, 1),
    _row(DAY, "BTCUSDT", "bybit", "binance", 0.0, 0.0, 0),
    _row(DAY, "ETHUSDT", "okx", "bybit", 0.0, 0.25, 1),
]


def _scan_folder(out: Path) -> None:
    columns: dict[str, list[Any]] = {k: [] for k in ("day", "symbol", "market", "buy_venue", "sell_venue", "start_ns",
                                                     "duration_ms", "peak_bps", "crossable_base", "crossable_quote",
                                                     "edge_quote")}  # fmt: skip
    for day, symbol, buy, sell, at_s, duration_ms, edge in EPISODES:
        start = DAY_NS + (86_400 if day != DAY else 0) * 1_000_000_000 + at_s * 1_000_000_000
        for name, value in zip(("day", "symbol", "market", "buy_venue", "sell_venue", "start_ns", "duration_ms",
                                "peak_bps", "crossable_base", "crossable_quote", "edge_quote"),
                               (day, symbol, "spot", buy, sell, start, duration_ms, 3.0, 0.1, 100.0, edge),
                               strict=True):  # fmt: skip
            columns[name].append(value)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), out / "episodes.parquet")
    t_s = [float(k * 43.2) for k in range(2_000)]
    series = {
        "buy_venue": ["binance"] * 2_000 + ["bybit"] * 2_000,
        "sell_venue": ["bybit"] * 2_000 + ["binance"] * 2_000,
        "t_s": t_s + t_s,
        "net_bps_max": [-10.0 + (k % 50) * 0.3 for k in range(2_000)] + [-25.0] * 2_000,
    }
    (out / "shards" / DAY).mkdir(parents=True)
    pq.write_table(pa.table(series), out / "shards" / DAY / "BTCUSDT_spot.series.parquet")


def _embedded(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="arb-scan">(.*?)</script>', page)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_capturable_curve_is_the_edge_of_the_episodes_longer_than_each_latency() -> None:
    episodes = {"duration_ms": [0.5, 3.0, 20.0, 40.0], "edge_quote": [1.0, 2.0, 4.0, 8.0]}
    assert capturable_curve(episodes, [0.1, 0.5, 1.0, 5.0, 20.0, 39.999, 40.0, 50.0]) == [
        15.0, 14.0, 14.0, 12.0, 8.0, 8.0, 0.0, 0.0
    ]  # fmt: skip
    assert capturable_curve({"duration_ms": [], "edge_quote": []}, [0.1, 5.0]) == [0.0, 0.0]
    # the scan's own figure at each latency (arb.scan.measure.capturable on whole ns)
    rng = np.random.default_rng(8)
    duration_ns = rng.integers(1, 20_000_000_000, 500)
    edge = rng.exponential(3.0, 500)
    grid_ns = [round(x * 1_000_000) for x in LATENCY_GRID_MS]
    want = [capturable(duration_ns, edge, latency) for latency in grid_ns]
    assert capturable_curve({"duration_ms": duration_ns / 1e6, "edge_quote": edge}, LATENCY_GRID_MS) == pytest.approx(
        want, rel=1e-12, abs=1e-9
    )
    assert LATENCY_GRID_MS[0] == 0.1 and round(LATENCY_GRID_MS[-1]) == 10_000 and len(LATENCY_GRID_MS) == 101


@pytest.mark.usefixtures("charts")
def test_the_page_ranks_draws_and_reads_the_curves(tmp_path: Path) -> None:
    _scan_folder(tmp_path)
    path = write_report(tmp_path, ROWS, top=2, quote="USDT", title="binance, bybit, okx: a test")
    assert path == tmp_path / "scan.html"
    page = path.read_text()

    # the ranking: the terminal's order, names and figures
    table = page[page.index('<table id="ranking">') :]
    table = table[: table.index("</table>")]
    order = [(g["symbol"], g["buy_venue"], g["sell_venue"]) for g in ranked(ROWS)]
    assert order == [("BTCUSDT", "binance", "bybit"), ("ETHUSDT", "okx", "bybit"), ("BTCUSDT", "bybit", "binance")]
    cells = re.findall(r"<tr><td[^>]*>(\d+)</td><td>(\w+)</td><td>spot</td><td>(\w+)</td><td>(\w+)</td>", table)
    assert [(c[1], c[2], c[3]) for c in cells] == order and [c[0] for c in cells] == ["1", "2", "3"]
    assert ">28.00<" in table and ">31.00<" in table  # capturable 12 + 16, edge 15 + 16, summed over the days
    assert "<th>capturable USDT</th>" in table

    # the charts: the bar chart, one per top candidate (its days as panels), the curves; each a PNG inside
    images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 4 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert 'src="http' not in page and "<script src" not in page
    assert "2024-08-09" in page and "#1 BTCUSDT spot: binance → bybit" in page

    # capturable against latency: the top two, read at 1, 5, 50, 500 ms and at the pairs' 10 ms
    data = _embedded(page)
    assert data["latencies_ms"] == list(READ_AT_MS) == [1.0, 5.0, 50.0, 500.0]
    first, second = data["candidates"]
    assert (first["symbol"], first["buy_venue"], first["episodes"]) == ("BTCUSDT", "binance", 5)
    assert first["capturable_at"] == [30.0, 28.0, 16.0, 16.0]
    assert first["latency_ms"] == [10.0] and first["capturable_at_latency"] == [28.0]  # the ranking's 12 + 16
    assert (second["symbol"], second["capturable_at"], second["capturable_at_latency"]) == (
        "ETHUSDT", [0.25, 0.25, 0.0, 0.0], [0.0]
    )  # fmt: skip
    latency = page[page.index('<table id="capturable">') :]
    assert '<td class="n">30.00</td><td class="n">28.00</td><td class="n">16.00</td>' in latency
    assert "28.00 (10 ms)" in latency

    # the settings, from the rows
    settings = page[page.index('<table id="settings">') :]
    assert "0.5 bps" in settings and "binance 7.5 bps" in settings and "bybit 10 bps" in settings
    assert "10 ms for every pair" in settings and "binance, bybit, okx: a test" in page


def test_an_empty_scan_gives_a_page_that_says_so(tmp_path: Path) -> None:
    path = write_report(tmp_path / "scan", [])
    page = path.read_text()
    assert 'id="nothing"' in page and "Nothing to report" in page
    assert "<img" not in page and _embedded(page)["candidates"] == []


def test_with_the_charts_off_each_chart_is_named_and_none_drawn(tmp_path: Path) -> None:
    # ARB_CHARTS=0 (the suite's setting, tests/conftest.py): the page is whole but for the images
    _scan_folder(tmp_path)
    page = write_report(tmp_path, ROWS, top=2).read_text()
    left_out = re.findall(r'<p class="note chart-off">Chart left out \(ARB_CHARTS=0\): ([^<]*)\.</p>', page)
    assert "<img" not in page and len(left_out) == 4
    assert left_out[0].startswith("capturable and edge (USDT)") and left_out[-1] == "capturable USDT against latency"
    assert '<table id="ranking">' in page and _embedded(page)["latencies_ms"] == list(READ_AT_MS)


@pytest.mark.usefixtures("charts")
def test_an_unreadable_episodes_file_is_named_and_the_rest_written(tmp_path: Path) -> None:
    (tmp_path / "episodes.parquet").write_bytes(b"not parquet")
    page = write_report(tmp_path, ROWS, top=0).read_text()
    assert "<h2>Not read</h2>" in page and "episodes.parquet: not a readable Parquet file" in page
    assert '<table id="ranking">' in page and page.count("<img") == 1  # the ranking's bars; no candidate drawn
