"""``arb fetch --source tardis`` of OKX days, and what ``arb convert`` and the backtest's loader make of them.

A local Tardis-shaped server (arb/testing/fake_archive.py) serves ``okex`` (spot ``BTC-USDT``) and
``okex-swap`` (``BTC-USDT-SWAP``, amounts in contracts of 0.01 BTC, and a ``derivative_ticker``) days made
from the sample's OKX capture as Tardis makes them (tests/support/okx_tardis.py). What must show: the
files are asked for and kept under OKX's instrument ids, resumed and checked as the other venues' are;
converted, the swap's amounts are base currency (the spot day's sizes, to float rounding); the loader
finds the days for arb's symbol; a symbol OKX's datasets cannot hold is one line naming the option.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.errors import RecordingError
from arb.events import (
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    MARK_PRICE_EVENT,
    TRADE_EVENT,
    EventArray,
)
from arb.recording.convert import convert_files
from arb.recording.fetch import fetch, plan
from arb.recording.loader import load_venue
from arb.testing.configs import write_config_files
from arb.testing.fake_archive import FakeArchive
from arb.testing.history_files import write_gzip
from tests.support.captures import RECORDINGS
from tests.support.feed_rig import Waits
from tests.support.okx_tardis import tardis_from_okx

AUG_8, AUG_9 = dt.date(2024, 8, 8), dt.date(2024, 8, 9)
CAPTURE = [RECORDINGS / "okx_spot" / "btcusdt_20240808.gz", RECORDINGS / "okx_spot" / "btcusdt_20240809.gz"]
SWAP_BOOK_8 = "/v1/okex-swap/incremental_book_L2/2024/08/08/BTC-USDT-SWAP.csv.gz"
SWAP_TRADES_8 = "/v1/okex-swap/trades/2024/08/08/BTC-USDT-SWAP.csv.gz"
KEY = "tk-0kx-5e1f"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The capture's two days as Tardis's ``okex`` and ``okex-swap`` files, by URL path."""
    root = tmp_path_factory.mktemp("sources")
    written = list(tardis_from_okx(CAPTURE, root).values()) + list(tardis_from_okx(CAPTURE, root, swap=True).values())
    urls = FakeArchive().add_tree(written, root)  # the URL paths only: nothing is served here
    return dict(zip(urls, written, strict=True))


def okx_config(folder: Path, market: str, recordings: Path) -> AppConfig:
    overrides = {"strategy": {"venues": ["binance", "okx"]}, "backtest": {"recordings": str(recordings)}}
    return load_config(write_config_files(folder, arbitrage_overrides=overrides, okx_overrides={"market": market}))


def landed(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def book_and_trades(rows: EventArray) -> EventArray:
    kind = rows["ev"] & EVENT_KIND_MASK
    return rows[np.isin(kind, [DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, TRADE_EVENT])]


def test_the_files_are_asked_for_and_named_by_okxs_instrument_ids(tmp_path: Path) -> None:
    cfg = okx_config(tmp_path / "config", "linear", tmp_path / "rec")
    items = plan(
        cfg, "tardis", [("okx", "linear"), ("okx", "spot")], ["BTCUSDT"], [AUG_8], tmp_path / "rec", "http://h/v1"
    )
    assert [(item.label, item.choices[0][0], item.choices[0][1].name) for item in items] == [
        (f"okex-swap {kind} BTC-USDT-SWAP 2024-08-08", f"http://h/v1/okex-swap/{kind}/2024/08/08/BTC-USDT-SWAP.csv.gz",
         f"okex-swap_{kind}_2024-08-08_BTC-USDT-SWAP.csv.gz")
        for kind in ("incremental_book_L2", "trades", "derivative_ticker")
    ] + [
        (f"okex {kind} BTC-USDT 2024-08-08", f"http://h/v1/okex/{kind}/2024/08/08/BTC-USDT.csv.gz",
         f"okex_{kind}_2024-08-08_BTC-USDT.csv.gz")
        for kind in ("incremental_book_L2", "trades")
    ]  # fmt: skip


def test_okx_days_fetch_resume_and_convert_to_base_currency(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "rec"
    cfg = write_config_files(tmp_path / "config")
    monkeypatch.setenv("TARDIS_API_KEY", KEY)
    args = ["fetch", "--config", str(cfg), "--source", "tardis", "--venue", "okx", "--start", "2024-08-08",
            "--end", "2024-08-09", "--out", str(out)]  # fmt: skip
    with FakeArchive(key=KEY) as server:
        for url, path in files.items():
            server.add(url, path)
        server.fault("drop", SWAP_BOOK_8, at=300_000)  # the connection goes 300 kB into the file
        server.fault("status", SWAP_TRADES_8, status=429, headers={"Retry-After": "0"})
        assert main([*args, "--market", "linear", "--base-url", server.tardis_url]) == 0, capsys.readouterr().err
        assert main([*args, "--market", "spot", "--base-url", server.tardis_url]) == 0, capsys.readouterr().err
        seen = server.requests.items()
    printed = capsys.readouterr().out
    assert f"fetching 2024-08-08 .. 2024-08-09: okx linear BTCUSDT into {out}" in printed
    assert "fetched okex-swap incremental_book_L2 BTC-USDT-SWAP 2024-08-08: " in printed
    assert landed(out) == sorted(f"tardis/{p.name}" for p in files.values())
    for url, path in files.items():
        assert (out / "tardis" / path.name).read_bytes() == path.read_bytes(), url
    assert [s.range for s in seen if s.path == SWAP_BOOK_8 and s.method == "GET"] == ["", "bytes=300000-"]
    assert [s.method for s in seen if s.path == SWAP_TRADES_8] == ["GET", "GET"]  # the 429, then the file
    assert KEY not in printed

    tardis = out / "tardis"
    spot = convert_files(sorted(tardis.glob("okex_*_2024-08-09_BTC-USDT.csv.gz")))
    swap = convert_files(sorted(tardis.glob("okex-swap_*_2024-08-09_BTC-USDT-SWAP.csv.gz")))
    assert (spot.venue, spot.market, spot.symbol) == ("okx", "spot", "BTCUSDT")
    assert (swap.venue, swap.market, swap.symbol) == ("okx", "linear", "BTCUSDT")
    spot_rows, swap_rows = book_and_trades(spot.rows), book_and_trades(swap.rows)
    assert len(spot_rows) == len(swap_rows) > 100_000
    assert np.array_equal(spot_rows["ev"], swap_rows["ev"]) and np.array_equal(spot_rows["px"], swap_rows["px"])
    # contracts x 0.01: the spot day's sizes in BTC, not 100 times them
    np.testing.assert_allclose(swap_rows["qty"], spot_rows["qty"], rtol=1e-12, atol=0)
    assert swap.stats.mark_messages > 0 and any((swap.rows["ev"] & EVENT_KIND_MASK) == FUNDING_RATE_EVENT)


def test_the_loader_takes_okx_days_from_tardis_for_arbs_symbol(tmp_path: Path, files: dict[str, Path]) -> None:
    recordings = tmp_path / "rec"
    for path in files.values():
        (recordings / "tardis").mkdir(parents=True, exist_ok=True)
        (recordings / "tardis" / path.name).symlink_to(path)
    for market in ("linear", "spot"):
        cfg = okx_config(tmp_path / f"config-{market}", market, recordings)
        data = load_venue(cfg, cfg.venue("okx"), [AUG_9])
        (day,) = data.days
        assert (day.source, data.symbol, data.initial is not None) == ("tardis", "BTCUSDT", True)  # the 8th first
        name = (
            "okex-swap_incremental_book_L2_2024-08-09_BTC-USDT-SWAP"
            if market == "linear"
            else "okex_incremental_book_L2_2024-08-09_BTC-USDT"
        )
        assert day.recording.name == name + ".csv.gz"
        kinds = set((day.rows["ev"] & EVENT_KIND_MASK).tolist())
        assert {DEPTH_EVENT, TRADE_EVENT} <= kinds
        assert (MARK_PRICE_EVENT in kinds) == (market == "linear")
        best_bid = day.rows["px"][(day.rows["ev"] & EVENT_KIND_MASK) == DEPTH_SNAPSHOT_EVENT].max()
        assert 50_000 < best_bid < 70_000


async def test_a_swap_file_that_keeps_failing_is_resumed_by_the_next_run_and_a_corrupt_one_never_lands(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    cfg = okx_config(tmp_path / "config", "linear", tmp_path / "rec")
    out = tmp_path / "rec"
    with FakeArchive(key=KEY) as server:
        for url, path in files.items():
            server.add(url, path)
        items = plan(cfg, "tardis", [("okx", "linear")], ["BTCUSDT"], [AUG_8], out, server.tardis_url)
        server.fault("drop", SWAP_BOOK_8, at=100_000, times=5)  # each try gets 100 kB further
        server.fault("corrupt", SWAP_TRADES_8, times=5)
        first = await fetch(cfg, items, key=KEY, sleep=Waits())
        book = out / "tardis" / "okex-swap_incremental_book_L2_2024-08-08_BTC-USDT-SWAP.csv.gz"
        assert "gave up on okex-swap incremental_book_L2 BTC-USDT-SWAP 2024-08-08 after 5 tries" in first[0].error
        assert not book.exists() and book.with_name(book.name + ".part").stat().st_size == 500_000
        assert "damaged: corrupt gzip data" in first[1].error
        assert not (out / "tardis" / "okex-swap_trades_2024-08-08_BTC-USDT-SWAP.csv.gz").exists()
        again = await fetch(cfg, items, key=KEY, sleep=Waits())
        ranges = [s.range for s in server.requests.items() if s.path == SWAP_BOOK_8]
    assert [r.error for r in again] == ["", "", ""] and [r.skipped for r in again] == [False, False, True]
    assert book.read_bytes() == files[SWAP_BOOK_8].read_bytes() and ranges[-1] == "bytes=500000-"


UNKNOWN = [
    (
        ["--market", "linear", "--symbols", "SOLUSDT"],
        "arb fetch: --symbols: expected, for OKX linear on Tardis.dev, a swap whose contract value arb knows "
        "(BTCUSDT, ETHUSDT), got SOLUSDT (SOL-USDT-SWAP): Tardis gives its amounts in contracts",
    ),
    (
        ["--market", "spot", "--symbols", "BTCXYZ"],
        "arb fetch: --symbols: expected, for OKX spot on Tardis.dev, a symbol OKX lists as BASE-QUOTE, its quote "
        "one of USDT, USDC, USD, EUR, BTC, ETH (e.g. BTCUSDT), got BTCXYZ",
    ),
]


@pytest.mark.parametrize(("extra", "expected"), UNKNOWN)
def test_a_symbol_okxs_datasets_cannot_hold_is_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    cfg = write_config_files(tmp_path / "config")
    code = main(["fetch", "--config", str(cfg), "--venue", "okx", "--start", "2024-08-08", "--base-url",
                 "http://127.0.0.1:9/v1", "--out", str(tmp_path / "rec"), *extra])  # fmt: skip
    assert (code, capsys.readouterr().err.strip()) == (2, expected)
    assert not (tmp_path / "rec").exists()


def test_the_runs_symbols_name_the_key_and_the_way_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = {"strategy": {"venues": ["binance", "okx"], "symbol": "SOLUSDT", "symbols": ["SOLUSDT"]}}
    cfg = write_config_files(tmp_path / "config", arbitrage_overrides=overrides, okx_overrides={"market": "linear"})
    code = main(["fetch", "--config", str(cfg), "--start", "2024-08-08", "--base-url", "http://127.0.0.1:9/v1"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("arb fetch: [strategy] symbols: expected, for OKX linear on Tardis.dev, a swap whose ")
    assert err.endswith("; fetch the other venues with --venue")


def test_converting_a_swap_whose_contract_value_is_unknown_names_the_file(tmp_path: Path) -> None:
    header = b"exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
    rows = b"okex-swap,SOL-USDT-SWAP,1723161600000000,1723161600000100,true,bid,150.1,12\n"
    path = write_gzip(tmp_path / "okex-swap_incremental_book_L2_2024-08-09_SOL-USDT-SWAP.csv.gz", header + rows)
    with pytest.raises(RecordingError, match=r"okex-swap_incremental_book_L2_2024-08-09_SOL-USDT-SWAP\.csv\.gz: okx "
                       r"linear SOL-USDT-SWAP: expected a swap whose contract value arb knows"):  # fmt: skip
        convert_files([path])
