"""Where each source's files live, which one a day is taken from, and how a format is told from its files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arb.errors import RecordingError
from arb.recording.convert import convert_files
from arb.recording.imports import detect
from arb.recording.sources import (
    available_days,
    find_day_files,
    tardis_path,
    tardis_url,
)
from arb.recording.tardis import HEADERS
from arb.testing.history_files import write_gzip
from connectors.bybit.archive import ARCHIVE
from tests.support.captures import FIXTURES, SPOT_BTC

DAY = dt.date(2024, 1, 1)


def test_urls_and_paths_are_the_sources_own() -> None:
    assert tardis_url("https://datasets.tardis.dev/v1", "binance-futures", "trades", DAY, "btcusdt") == (
        "https://datasets.tardis.dev/v1/binance-futures/trades/2024/01/01/BTCUSDT.csv.gz"
    )
    assert tardis_path(Path("r"), "bybit", "incremental_book_L2", DAY, "BTCUSDT") == Path(
        "r/tardis/bybit_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz"
    )  # the name Tardis's own client gives the file
    assert ARCHIVE.book_url("https://quote-saver.bycsi.com", "linear", "BTCUSDT", DAY, 500) == (
        "https://quote-saver.bycsi.com/orderbook/linear/BTCUSDT/2024-01-01_BTCUSDT_ob500.data.zip"
    )
    assert ARCHIVE.trades_url("https://public.bybit.com", "linear", "BTCUSDT", DAY) == (
        "https://public.bybit.com/trading/BTCUSDT/BTCUSDT2024-01-01.csv.gz"
    )
    assert ARCHIVE.trades_url("https://public.bybit.com", "spot", "BTCUSDT", DAY) == (
        "https://public.bybit.com/spot/BTCUSDT/BTCUSDT_2024-01-01.csv.gz"
    )
    assert ARCHIVE.book_path(Path("r"), "spot", "BTCUSDT", DAY, 200) == Path(
        "r/bybit-archive/orderbook/spot/BTCUSDT/2024-01-01_BTCUSDT_ob200.data.zip"
    )
    assert ARCHIVE.trades_path(Path("r"), "linear", "BTCUSDT", DAY) == Path(
        "r/bybit-archive/trading/BTCUSDT/BTCUSDT2024-01-01.csv.gz"
    )


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_day_comes_from_the_recording_else_tardis_else_the_archive(tmp_path: Path) -> None:
    jan = [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    _touch(tmp_path / "bybit_linear" / "btcusdt_20240101.gz")
    for d in jan[:3]:
        _touch(tardis_path(tmp_path, "bybit", "incremental_book_L2", d, "BTCUSDT"))
        _touch(tardis_path(tmp_path, "bybit", "trades", d, "BTCUSDT"))
        _touch(tardis_path(tmp_path, "bybit", "derivative_ticker", d, "BTCUSDT"))
    for d in jan:
        _touch(ARCHIVE.book_path(tmp_path, "linear", "BTCUSDT", d, 200))
    _touch(ARCHIVE.book_path(tmp_path, "linear", "BTCUSDT", jan[3], 500))  # the deeper book of the day
    _touch(ARCHIVE.trades_path(tmp_path, "linear", "BTCUSDT", jan[3]))
    _touch(tardis_path(tmp_path, "bybit-spot", "incremental_book_L2", jan[3], "BTCUSDT"))  # another market's
    _touch(tardis_path(tmp_path, "bybit", "trades", dt.date(2024, 1, 9), "BTCUSDT"))  # trades alone: no day
    found = find_day_files(tmp_path, "bybit", "linear", "BTCUSDT")
    assert sorted(found) == jan
    assert [found[d].source for d in jan] == ["recording", "tardis", "tardis", "bybit-archive"]
    assert found[jan[0]].cache == tmp_path / "bybit_linear" / "btcusdt_20240101.npz"
    assert [p.name for p in found[jan[1]].inputs] == [
        "bybit_incremental_book_L2_2024-01-02_BTCUSDT.csv.gz",
        "bybit_trades_2024-01-02_BTCUSDT.csv.gz",
        "bybit_derivative_ticker_2024-01-02_BTCUSDT.csv.gz",
    ]
    assert found[jan[1]].cache == tmp_path / "tardis" / "bybit_2024-01-02_BTCUSDT.npz"
    assert [p.name for p in found[jan[3]].inputs] == ["2024-01-04_BTCUSDT_ob500.data.zip", "BTCUSDT2024-01-04.csv.gz"]
    assert found[jan[3]].eod.name == "2024-01-04_BTCUSDT_eod.npz"
    assert [f.source for f in available_days(tmp_path, "bybit", "linear", "BTCUSDT")[jan[0]]] == [
        "recording", "tardis", "bybit-archive",
    ]  # fmt: skip
    assert find_day_files(tmp_path, "binance", "linear", "BTCUSDT") == {}  # Bybit's archive has Bybit only
    spot = find_day_files(tmp_path, "binance", "spot", "BTCUSDT")
    assert spot == {}


def test_an_empty_download_is_no_day(tmp_path: Path) -> None:
    _touch(tardis_path(tmp_path, "binance", "incremental_book_L2", DAY, "BTCUSDT"), b"")
    assert find_day_files(tmp_path, "binance", "spot", "BTCUSDT") == {}


def test_formats_are_told_from_the_files_and_never_mixed(tmp_path: Path) -> None:
    book = write_gzip(tmp_path / "b.csv.gz", HEADERS["incremental_book_L2"] + b"\n")
    zipped = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data.zip"
    trades = write_gzip(tmp_path / "t.csv.gz", b"id,timestamp,price,volume,side,rpi\n1,1704067200000,1,1,buy,0\n")
    assert detect([book]) == "tardis"
    assert detect([zipped, trades]) == "bybit-archive"
    assert detect([SPOT_BTC[0]]) == "recording"
    with pytest.raises(RecordingError, match=r"the inputs mix formats \(b.csv.gz is tardis; "):
        detect([book, zipped])
    with pytest.raises(RecordingError, match=r"not a Tardis CSV .*: it is a zip archive \(bybit-archive data\?\)"):
        detect([zipped], "tardis")
    with pytest.raises(RecordingError, match=r"not a recording .*: it starts with 'exchange,symbol,"):
        detect([book], "recording")
    quotes = write_gzip(tmp_path / "q.csv.gz", b"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price\n")
    with pytest.raises(RecordingError, match=r"q.csv.gz: a Tardis dataset arb does not read .*: arb reads "):
        detect([quotes])


def test_the_archive_order_book_is_refused_for_another_symbol_or_venue(tmp_path: Path) -> None:
    zipped = tmp_path / "2024-12-01_XRPUSDT_ob500.data.zip"  # nothing in its name or folder says linear
    zipped.write_bytes((FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data.zip").read_bytes())
    with pytest.raises(RecordingError, match=r"holds XRPUSDT data, not BTCUSDT"):
        convert_files([zipped], market="linear", symbol="BTCUSDT")
    with pytest.raises(RecordingError, match=r"Bybit's archive holds Bybit data, not binance"):
        convert_files([zipped], venue="binance", market="linear")
    with pytest.raises(RecordingError, match=r"cannot tell Bybit's market .*; pass --market spot\|linear"):
        convert_files([zipped])


def test_a_truncated_archive_is_one_line_naming_the_file(tmp_path: Path) -> None:
    zipped = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data.zip"
    short = tmp_path / "orderbook" / "linear" / "XRPUSDT" / "2024-12-01_XRPUSDT_ob500.data.zip"
    short.parent.mkdir(parents=True)
    short.write_bytes(zipped.read_bytes()[:40_000])
    # not a zip any more (its directory is at the end): the format cannot be told, and says so
    with pytest.raises(RecordingError, match=r"2024-12-01_XRPUSDT_ob500.data.zip"):
        convert_files([short], fmt="bybit-archive")
