"""Imported history gives the book the recorder path gives, on real captures.

- Binance (spot, the sample's two days; USD-M, the capture, with the mark-price frames the perpetual tests
  insert, which hold no book): the capture written as Tardis's CSV datasets the way Tardis builds them from
  the same stream (arb/testing/history_files.py), imported, equals the book arb's own converter builds from
  the recording, in full (every level), at every checkpoint;
- Bybit: the real archive file (tests/fixtures) converts, and its rows are exactly those arb's live
  normalizer makes from the same frames received ``feed latency`` after their exchange time;
- a perpetual's derivative_ticker gives the funding rows the recorder path gives from markPrice frames.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from arb.book import OrderBook
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    EventArray,
)
from arb.recording.convert import ConversionResult, convert_files
from arb.testing.history_files import archive_from, tardis_from, write_gzip
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.record_files import format_line
from tests.support.captures import FIXTURES, RECORDINGS, SPOT_BTC, USDM_BTC, with_mark_price
from tests.support.shared import made_once

BYBIT_ZIP = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data.zip"
_BOOK_KINDS = (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT)


def book_groups(rows: EventArray) -> tuple[np.ndarray, list[EventArray]]:
    """The local side's book rows grouped by local time: (times, groups), in order."""
    kinds = rows["ev"] & EVENT_KIND_MASK
    keep = ((rows["ev"] & LOCAL_EVENT) != 0) & np.isin(kinds, _BOOK_KINDS)
    book = rows[keep]
    starts = np.flatnonzero(np.diff(book["local_ts"])) + 1
    groups = np.split(book, starts)
    return np.array([int(g["local_ts"][0]) for g in groups], np.int64), groups


def books_at(times: np.ndarray, groups: list[EventArray], at: np.ndarray) -> Iterator[tuple[int, OrderBook]]:
    """The book after every group at or before each of ``at`` (sorted), one time after another."""
    book = OrderBook()
    k = 0
    for t in at.tolist():
        while k < len(times) and times[k] <= t:
            book.apply(groups[k])
            k += 1
        yield t, book


def same(a: OrderBook, b: OrderBook) -> bool:
    return all(np.array_equal(x, y) for x, y in zip((*a.bids(), *a.asks()), (*b.bids(), *b.asks()), strict=True))


def assert_same_books(recorded: EventArray, imported: EventArray) -> int:
    """Every checkpoint of the imported rows (one per message) against the recorder path's book at the same
    time (its receive times floored to the microsecond, as Tardis writes them); returns the checkpoints."""
    rec_times, rec_groups = book_groups(recorded)
    imp_times, imp_groups = book_groups(imported)
    floored = rec_times // 1000 * 1000
    synced_from = imp_times[0]
    assert floored[0] <= synced_from  # the recorder path syncs at the same snapshot
    walk_rec = books_at(floored, rec_groups, imp_times)
    walk_imp = books_at(imp_times, imp_groups, imp_times)
    checked = 0
    for (t, rec), (_, imp) in zip(walk_rec, walk_imp, strict=True):
        assert same(rec, imp), f"books differ at {t} ns (checkpoint {checked})"
        checked += 1
    # every message of the recorder path after the sync was a checkpoint (none fell between two)
    assert set(floored[floored >= synced_from].tolist()) <= set(imp_times.tolist())
    return checked


@pytest.mark.slow
def test_binance_spot_as_tardis_rows_gives_the_recorder_paths_book(tmp_path: Path) -> None:
    written = tardis_from("binance", SPOT_BTC, tmp_path, market="spot")
    assert sorted(k[0] for k in written) == ["incremental_book_L2"] * 2 + ["trades"] * 2
    recorded = convert_files(SPOT_BTC, local_offset_ns=0)
    imported = convert_files(sorted(written.values()), local_offset_ns=0)
    checked = assert_same_books(recorded.rows, imported.rows)
    assert checked > 6_000  # 3,451 + 3,044 depth messages, the snapshot and the 00:00 UTC one
    assert imported.eod.synced and same_rows_book(recorded.eod.rows, imported.eod.rows)
    # the second day's file starts with Tardis's 00:00 snapshot: one conversion per day gives the same book
    day2 = sorted(p for (kind, day), p in written.items() if day.day == 9)
    alone = convert_files(day2, local_offset_ns=0)
    assert same_rows_book(alone.eod.rows, recorded.eod.rows)
    trades = recorded.rows[((recorded.rows["ev"] & EVENT_KIND_MASK) == 2) & ((recorded.rows["ev"] & LOCAL_EVENT) != 0)]
    got = imported.rows[((imported.rows["ev"] & EVENT_KIND_MASK) == 2) & ((imported.rows["ev"] & LOCAL_EVENT) != 0)]
    assert np.array_equal(trades["px"], got["px"]) and np.array_equal(trades["qty"], got["qty"])
    assert np.array_equal(trades["exch_ts"], got["exch_ts"])


@pytest.fixture(scope="module")
def usdm_mark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The USD-M capture with mark-price frames (``with_mark_price``: ``usdm_mark.gz``) and its Tardis datasets
    (``recordings/tardis/``, as ``arb fetch`` lays them out), written once for the run's workers: read-only."""

    def write(folder: Path) -> None:
        source = with_mark_price(USDM_BTC, folder / "usdm_mark.gz")
        tardis_from("binance", [source], folder / "recordings", market="linear")

    return made_once(tmp_path_factory, "usdm-mark-tardis", write)


@pytest.fixture(scope="module")
def usdm_converted(usdm_mark: Path) -> tuple[ConversionResult, ConversionResult]:
    """``usdm_mark.gz`` converted by the recorder path and its Tardis datasets imported: (recorded, imported)."""
    recorded = convert_files([usdm_mark / "usdm_mark.gz"], local_offset_ns=0)
    imported = convert_files(sorted((usdm_mark / "recordings" / "tardis").glob("*.csv.gz")), local_offset_ns=0)
    return recorded, imported


@pytest.mark.slow
def test_binance_usdm_as_tardis_rows_gives_the_recorder_paths_book(
    usdm_converted: tuple[ConversionResult, ConversionResult],
) -> None:
    recorded, imported = usdm_converted
    assert (imported.venue, imported.market) == ("binance", "linear")
    checked = assert_same_books(recorded.rows, imported.rows)
    assert checked > 6_000  # 6,551 depth@0ms messages after the snapshot's


def same_rows_book(a: EventArray, b: EventArray) -> bool:
    x, y = OrderBook(), OrderBook()
    x.apply(a)
    y.apply(b)
    return same(x, y)


def test_bybit_archive_file_gives_the_live_normalizers_rows(tmp_path: Path) -> None:
    latency = 7 * NS_PER_MS
    imported = convert_files([BYBIT_ZIP], market="linear", feed_latency_ns=latency, local_offset_ns=0)
    assert (imported.venue, imported.market, imported.symbol) == ("bybit", "linear", "XRPUSDT")
    assert imported.stats.depth_messages == 50 and imported.eod.update_id == 20254918 and imported.eod.synced
    # the same frames, received `latency` after their exchange time, through the live path ...
    with zipfile.ZipFile(BYBIT_ZIP) as z:
        frames = [line for line in z.read(z.namelist()[0]).split(b"\n") if line]
    live = BybitNormalizer(echo=False)
    times = []
    for frame in frames:
        ts = int(frame.split(b'"ts":', 1)[1].split(b",", 1)[0]) * NS_PER_MS + latency
        times.append(ts)
        live.on_message(frame, ts)
    live_rows = live.sink.take()
    raw = imported.rows[(imported.rows["ev"] & LOCAL_EVENT) != 0].copy()
    raw["ev"] &= ~np.uint64(0xC0000000)
    assert np.array_equal(raw, live_rows)
    # ... and written as a recording, through arb convert's own path: the very same rows
    recording = write_gzip(
        tmp_path / "xrpusdt_20241201.gz", b"".join(format_line(t, f) for t, f in zip(times, frames, strict=True))
    )
    recorded = convert_files([recording], venue="bybit", market="linear", local_offset_ns=0)
    assert np.array_equal(recorded.rows, imported.rows)
    # and the book after every message is the live normalizer's
    rec_times, rec_groups = book_groups(recorded.rows)
    imp_times, imp_groups = book_groups(imported.rows)
    walk = zip(books_at(rec_times, rec_groups, rec_times), books_at(imp_times, imp_groups, rec_times), strict=True)
    for (_, a), (_, b) in walk:
        assert same(a, b)


def test_the_unzipped_archive_file_reads_the_same(tmp_path: Path) -> None:
    unzipped = tmp_path / "orderbook" / "linear" / "XRPUSDT" / "2024-12-01_XRPUSDT_ob500.data"
    unzipped.parent.mkdir(parents=True)
    unzipped.write_bytes((FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data").read_bytes())
    a = convert_files([unzipped])  # the market from Bybit's own layout
    b = convert_files([BYBIT_ZIP], market="linear")
    assert a.market == "linear" and np.array_equal(a.rows, b.rows)


def test_bybit_archive_made_from_a_recording_gives_its_book(tmp_path: Path) -> None:
    # (the recording's files split at midnight of the receive time, the archive's at midnight of the
    # exchange's: the session is compared whole)
    bybit = [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz", RECORDINGS / "bybit_spot" / "btcusdt_20240809.gz"]
    written = archive_from("bybit", bybit, tmp_path, market="spot")
    imported = convert_files([written[k] for k in sorted(written)], local_offset_ns=0)
    recorded = convert_files(bybit, local_offset_ns=0)
    assert same_rows_book(imported.eod.rows, recorded.eod.rows)
    assert imported.eod.update_id == recorded.eod.update_id
    assert imported.stats.gaps == 0

    def trades(rows: EventArray) -> EventArray:
        local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
        return local[(local["ev"] & EVENT_KIND_MASK) == 2]

    a, b = trades(imported.rows), trades(recorded.rows)
    assert len(a) == len(b) == 19_903  # every trade of the 7,107 publicTrade messages
    assert np.array_equal(np.sort(a["exch_ts"]), np.sort(b["exch_ts"]))


@pytest.mark.slow
def test_a_perpetuals_ticker_gives_the_recorder_paths_funding_rows(
    usdm_mark: Path, usdm_converted: tuple[ConversionResult, ConversionResult]
) -> None:
    assert any("_derivative_ticker_" in path.name for path in (usdm_mark / "recordings" / "tardis").iterdir())
    recorded, imported = usdm_converted

    def funding(rows: EventArray) -> EventArray:
        local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
        kinds = local["ev"] & EVENT_KIND_MASK
        return local[np.isin(kinds, (MARK_PRICE_EVENT, FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT))]

    a, b = funding(recorded.rows), funding(imported.rows)
    assert (a["ev"] & EVENT_KIND_MASK == FUNDING_SETTLED_EVENT).sum() == 1
    assert np.array_equal(a["ev"] & EVENT_KIND_MASK, b["ev"] & EVENT_KIND_MASK)
    for name in ("px", "ival", "exch_ts"):
        assert np.array_equal(a[name], b[name], equal_nan=name == "px"), name
    assert np.array_equal(a["qty"], b["qty"], equal_nan=True)
    assert np.array_equal(a["local_ts"] // 1000, b["local_ts"] // 1000)
    assert imported.eod.perp.next_funding_ns == recorded.eod.perp.next_funding_ns


@pytest.mark.slow
def test_a_perpetual_day_from_tardis_and_bybits_archive_feeds_the_funding_machinery(
    usdm_mark: Path, usdm_converted: tuple[ConversionResult, ConversionResult], tmp_path: Path
) -> None:
    # Binance USD-M from Tardis (book, trades, derivative ticker made from markPrice frames) against Bybit
    # linear from its archive (the sample's Bybit half, as a linear archive): the session's funding comes
    # from the ticker's rows, as from a recording's mark-price stream; the archive has none (said).
    from arb.config import load_config
    from arb.recording.loader import load_timeline
    from arb.recording.replayed_funding import funding_of
    from arb.testing.configs import write_config_files

    recordings = tmp_path / "recordings"
    shutil.copytree(usdm_mark / "recordings" / "tardis", recordings / "tardis")  # converted here, beside them
    archive_from("bybit", [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz"], recordings, market="linear")
    linear = {"market": "linear", "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001}}
    config = load_config(write_config_files(tmp_path, binance_overrides=linear, bybit_overrides=linear))
    session = load_timeline(config, [dt.date(2024, 8, 8)])
    assert [d.source for d in session.assets[0].days] == ["tardis"]
    assert [d.source for d in session.assets[1].days] == ["bybit-archive"]
    binance, bybit = funding_of(config, session)
    assert len(binance) == 1 and len(bybit) == 0  # the markPrice frames' one funding time; none on Bybit
    assert len(binance.mark_ts) > 10 and len(binance.est_ts) > 10
    recorded = usdm_converted[0]
    settled = recorded.rows[(recorded.rows["ev"] & EVENT_KIND_MASK) == FUNDING_SETTLED_EVENT][0]
    assert int(binance.funding_ts[0]) == int(settled["ival"]) and float(binance.rate[0]) == float(settled["px"])


def test_arb_convert_takes_bybits_archive_file_as_it_comes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from arb.cli import main

    out = tmp_path / "xrp.npz"
    assert main(["convert", str(BYBIT_ZIP), "-o", str(out), "--market", "linear", "--feed-latency-ms", "7"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("bybit linear XRPUSDT: 50 messages -> 3,968 rows in ")
    assert "(book at update id 20254918, synced)" in printed
    rows = np.load(out)["data"]
    assert int((rows["local_ts"] - rows["exch_ts"]).min()) == 7 * NS_PER_MS  # the assumed feed latency
    # under Bybit's own name nothing says spot or linear: one line asking for it
    plain = tmp_path / "2024-12-01_XRPUSDT_ob500.data.zip"
    plain.write_bytes(BYBIT_ZIP.read_bytes())
    assert main(["convert", str(plain), "-o", str(tmp_path / "b.npz")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"arb convert: {plain}: cannot tell Bybit's market (an order book file does not say spot or linear); "
        "pass --market spot|linear"
    )
