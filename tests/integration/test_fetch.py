"""``arb fetch`` against a local Tardis datasets API and Bybit archive (arb/testing/fake_archive.py).

The fake serves files made from the sample's real captures (arb/testing/history_files.py) at the real
services' URL paths, with ``Range``, ``HEAD`` and Tardis's key rule, and injects 401, 404, 429, a short
body sent as if whole, a connection dropped mid-file and a corrupt byte. What must show: the right
files land byte for byte, nothing partial ever takes a real file's name, and each failure is one line
naming the day and the source. Retries that wait go through an injected sleep that records the waits
and returns at once (the command's own first retries are immediate); nothing here waits for real time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.recording.fetch import fetch, plan
from arb.testing.configs import write_config_files
from arb.testing.fake_archive import FakeArchive
from arb.testing.history_files import archive_from, tardis_from
from tests.support.captures import RECORDINGS, SPOT_BTC
from tests.support.feed_rig import Waits

AUG_8, AUG_9 = dt.date(2024, 8, 8), dt.date(2024, 8, 9)
BOOK_8 = "/v1/binance/incremental_book_L2/2024/08/08/BTCUSDT.csv.gz"
TRADES_8 = "/v1/binance/trades/2024/08/08/BTCUSDT.csv.gz"
BOOK_9 = "/v1/binance/incremental_book_L2/2024/08/09/BTCUSDT.csv.gz"
TRADES_9 = "/v1/binance/trades/2024/08/09/BTCUSDT.csv.gz"
KEY = "tk-7f3a9c1e5b"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample's two days as Tardis's and Bybit's archive's files, by URL path."""
    root = tmp_path_factory.mktemp("sources")
    written = tardis_from("binance", SPOT_BTC, root, market="spot")
    bybit = [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz", RECORDINGS / "bybit_spot" / "btcusdt_20240809.gz"]
    written.update(archive_from("bybit", bybit, root, market="spot"))
    urls = FakeArchive().add_tree(written, root)  # the URL paths only: nothing is served here
    return dict(zip(urls, written.values(), strict=True))


def serve(server: FakeArchive, files: dict[str, Path], *skip: str) -> None:
    for url, path in files.items():
        if url not in skip:
            server.add(url, path)


def config(tmp_path: Path) -> AppConfig:
    return load_config(write_config_files(tmp_path / "config"))


def landed(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def test_faults_on_the_way_and_the_right_files_land(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    out = tmp_path / "recordings"
    cfg = write_config_files(tmp_path / "config")
    monkeypatch.setenv("TARDIS_API_KEY", KEY)
    with FakeArchive(key=KEY) as server:
        serve(server, files, TRADES_9)  # Tardis has no trades file of the 9th
        server.fault("drop", BOOK_8, at=200_000)  # the connection goes 200 kB into the file
        server.fault("status", TRADES_8, status=429, headers={"Retry-After": "0"})
        server.fault("truncate", BOOK_9, at=50_000)  # a short body sent as if it were the whole file
        code = main(["fetch", "--config", str(cfg), "--source", "tardis", "--venue", "binance", "--start", "2024-08-08",
                     "--end", "2024-08-09", "--base-url", server.tardis_url, "--out", str(out)])  # fmt: skip
        seen = server.requests.items()
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert errors == [
        "arb fetch: tardis has no binance trades BTCUSDT 2024-08-09: 404 Not Found at "
        f"{server.tardis_url}/binance/trades/2024/08/09/BTCUSDT.csv.gz (Tardis publishes a day around 06:00 UTC the "
        "next day; before a symbol was listed there is none)"
    ]
    assert landed(out) == [
        "tardis/binance_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz",
        "tardis/binance_incremental_book_L2_2024-08-09_BTCUSDT.csv.gz",
        "tardis/binance_trades_2024-08-08_BTCUSDT.csv.gz",
    ]  # no .part left, nothing of the missing file
    for name in landed(out):
        url = next(u for u, p in files.items() if p.name == Path(name).name)
        assert (out / name).read_bytes() == files[url].read_bytes()
    resumed = [s for s in seen if s.path == BOOK_8 and s.method == "GET"]
    assert [s.range for s in resumed] == ["", "bytes=200000-"]  # the second request resumed the .part
    assert [s.method for s in seen if s.path == BOOK_9] == ["GET", "GET"]  # the short body was refused, fetched again
    assert all(s.bearer for s in seen)
    assert KEY not in captured.out + captured.err
    assert "3 fetched" in captured.out and "1 failed" in captured.out


def test_a_refused_key_is_one_line_naming_the_variable_and_stops_that_source(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cfg = write_config_files(tmp_path / "config")
    args = ["fetch", "--config", str(cfg), "--source", "tardis", "--venue", "binance", "--start", "2024-08-08",
            "--end", "2024-08-09", "--out", str(tmp_path / "rec")]  # fmt: skip
    with FakeArchive(key=KEY) as server:
        serve(server, files)
        monkeypatch.delenv("TARDIS_API_KEY", raising=False)
        assert main([*args, "--base-url", server.tardis_url]) == 1
        no_key = capsys.readouterr().err.strip().splitlines()
        monkeypatch.setenv("TARDIS_API_KEY", "tk-wrong-0000")
        assert main([*args, "--base-url", server.tardis_url]) == 1
        wrong = capsys.readouterr()
        gets = [s for s in server.requests.items() if s.method == "GET"]
    assert len(no_key) == 2
    assert no_key[0].startswith("arb fetch: tardis answered 401 Unauthorized for binance ")
    assert no_key[0].endswith(
        "TARDIS_API_KEY is not set, and only the first day of each month is free (e.g. 2024-08-01); set "
        "TARDIS_API_KEY to your Tardis.dev API key"
    )
    assert no_key[1] == "arb fetch: 3 more tardis files not fetched (refused, above)"
    lines = wrong.err.strip().splitlines()
    assert "the key in TARDIS_API_KEY was refused" in lines[0] and len(lines) == 2
    assert "tk-wrong-0000" not in wrong.out + wrong.err
    assert len(gets) <= 2 * 3  # the source stopped: at most the downloads already under way asked
    assert not (tmp_path / "rec" / "tardis").exists() or landed(tmp_path / "rec") == []


def test_the_first_day_of_a_month_needs_no_key(
    tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TARDIS_API_KEY", raising=False)
    cfg = write_config_files(tmp_path / "config")
    with FakeArchive(key=KEY) as server:
        server.add(BOOK_8.replace("/08/08/", "/08/01/"), files[BOOK_8])
        server.add(TRADES_8.replace("/08/08/", "/08/01/"), files[TRADES_8])
        args = ["--start", "2024-08-01", "--base-url", server.tardis_url, "--out", str(tmp_path / "rec")]
        code = main(["-q", "fetch", "--config", str(cfg), "--source", "tardis", "--venue", "binance", *args])
        seen = server.requests.items()
    assert code == 0
    assert landed(tmp_path / "rec") == [
        "tardis/binance_incremental_book_L2_2024-08-01_BTCUSDT.csv.gz",
        "tardis/binance_trades_2024-08-01_BTCUSDT.csv.gz",
    ]
    assert not any(s.bearer for s in seen)


async def test_a_file_that_keeps_failing_is_given_up_and_resumed_by_the_next_run(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    cfg = config(tmp_path)
    out = tmp_path / "rec"
    waits = Waits()
    with FakeArchive(key=KEY) as server:
        serve(server, files)
        items = plan(cfg, "tardis", [("binance", "spot")], ["BTCUSDT"], [AUG_8], out, server.tardis_url)
        server.fault("drop", BOOK_8, at=100_000, times=5)  # each try gets 100 kB further
        server.fault("status", TRADES_8, status=429, headers={"Retry-After": "7"})
        server.fault("status", TRADES_8, status=503)
        first = await fetch(cfg, items, key=KEY, sleep=waits)
        book = out / "tardis" / "binance_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz"
        part = book.with_name(book.name + ".part")
        assert "gave up on binance incremental_book_L2 BTCUSDT 2024-08-08 after 5 tries" in first[0].error
        assert (
            "connection: ClientPayloadError (x5)" in first[0].error and ".part kept (500,000 bytes)" in first[0].error
        )
        assert not book.exists() and part.stat().st_size == 500_000
        assert first[1].error == "" and (out / "tardis" / "binance_trades_2024-08-08_BTCUSDT.csv.gz").is_file()
        # the drops: at once, then 1, 2, 4 s (none after the last try); the 429: its Retry-After; the 503: 1 s
        assert sorted(waits.seconds) == sorted([0.0, 1.0, 2.0, 4.0, 7.0, 1.0])
        again = await fetch(cfg, items, key=KEY, sleep=waits)
        ranges = [s.range for s in server.requests.items() if s.path == BOOK_8]
    assert again[0].error == "" and book.read_bytes() == files[BOOK_8].read_bytes() and not part.exists()
    assert again[1].skipped
    assert ranges[-1] == "bytes=500000-"


async def test_a_server_without_ranges_sends_the_file_again_and_a_corrupt_one_is_refused(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    cfg = config(tmp_path)
    out = tmp_path / "rec"
    with FakeArchive(ranges=False) as server:
        serve(server, files)
        items = plan(cfg, "tardis", [("binance", "spot")], ["BTCUSDT"], [AUG_9], out, server.tardis_url)
        server.fault("drop", BOOK_9, at=300_000)
        server.fault("corrupt", TRADES_9, times=5)
        results = await fetch(cfg, items, sleep=Waits())
    assert results[0].error == ""
    assert (out / "tardis" / "binance_incremental_book_L2_2024-08-09_BTCUSDT.csv.gz").read_bytes() == files[
        BOOK_9
    ].read_bytes()
    assert "damaged: corrupt gzip data" in results[1].error and "(x5)" in results[1].error
    assert landed(out) == ["tardis/binance_incremental_book_L2_2024-08-09_BTCUSDT.csv.gz"]  # no .part of it


def test_bybits_archive_finds_the_days_depth_and_the_trades(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config_files(tmp_path / "config")
    out = tmp_path / "rec"
    with FakeArchive() as server:
        serve(server, files)
        code = main(["fetch", "--config", str(cfg), "--source", "bybit-archive", "--start", "2024-08-08",
                     "--end", "2024-08-09", "--base-url", server.base_url, "--out", str(out)])  # fmt: skip
        tried = [s.path for s in server.requests.items()]
    assert code == 0, capsys.readouterr().err
    assert landed(out) == [
        "bybit-archive/orderbook/spot/BTCUSDT/2024-08-08_BTCUSDT_ob200.data.zip",
        "bybit-archive/orderbook/spot/BTCUSDT/2024-08-09_BTCUSDT_ob200.data.zip",
        "bybit-archive/spot/BTCUSDT/BTCUSDT_2024-08-08.csv.gz",
        "bybit-archive/spot/BTCUSDT/BTCUSDT_2024-08-09.csv.gz",
    ]
    assert "/orderbook/spot/BTCUSDT/2024-08-08_BTCUSDT_ob500.data.zip" in tried  # depth 500 first, then 200
    for name in landed(out):
        url = "/" + "/".join(Path(name).parts[1:])
        assert (out / name).read_bytes() == files[url].read_bytes()


def test_dry_run_prints_what_and_how_big_and_fetches_nothing(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config_files(tmp_path / "config")
    with FakeArchive() as server:
        serve(server, files, TRADES_8)
        code = main(["fetch", "--config", str(cfg), "--source", "tardis", "--venue", "binance", "--start", "2024-08-08",
                     "--dry-run", "--base-url", server.tardis_url, "--out", str(tmp_path / "rec")])  # fmt: skip
        methods = {s.method for s in server.requests.items()}
    lines = capsys.readouterr().out.strip().splitlines()[2:]  # after what and from where
    assert code == 1 and methods == {"HEAD"}  # a size not learned (the trades' 404): exit 1
    size = files[BOOK_8].stat().st_size
    assert lines[0] == (
        f"binance incremental_book_L2 BTCUSDT 2024-08-08: {server.tardis_url}/binance/incremental_book_L2/2024/08/08/"
        f"BTCUSDT.csv.gz -> {tmp_path / 'rec' / 'tardis' / 'binance_incremental_book_L2_2024-08-08_BTCUSDT.csv.gz'} "
        f"({size:,} bytes)"
    )
    assert lines[1].startswith("binance trades BTCUSDT 2024-08-08: 404 Not Found at ")
    assert not (tmp_path / "rec").exists()


BAD_OPTIONS = [
    (
        ["--source", "bybit-archive", "--venue", "binance"],
        "arb fetch: --venue: expected bybit with --source bybit-archive (Bybit's archive), got binance",
    ),
    (
        ["--source", "tardis", "--base-url", "ftp://x"],
        "arb fetch: --base-url: expected an http:// or https:// URL, got 'ftp://x'",
    ),
    (
        ["--source", "tardis", "--end", "2024-08-01"],
        "arb fetch: --end: expected a day on or after --start (2024-08-08), got 2024-08-01",
    ),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_OPTIONS)
def test_bad_options_are_exit_2_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    cfg = write_config_files(tmp_path / "config")
    assert main(["fetch", "--config", str(cfg), "--start", "2024-08-08", *extra]) == 2
    assert capsys.readouterr().err.strip() == expected
