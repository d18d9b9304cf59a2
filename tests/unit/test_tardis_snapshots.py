"""The Tardis reader on ``book_snapshot_25`` / ``_5`` files, written the way Tardis documents them, and the
day they make in the recordings.

(The real-capture test, against the book of the incremental file: tests/replay/test_tardis_snapshots.py.)
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest

from arb.book import OrderBook
from arb.errors import RecordingError
from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    EXCH_EVENT,
    LOCAL_EVENT,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    EventArray,
    SyncReason,
)
from arb.recording.read_rows import read_rows
from arb.recording.sources import find_day_files
from arb.recording.tardis import HEADERS
from arb.testing.history_files import js_number, write_gzip
from connectors.common.findings import Findings

T0 = 1704067200_000_000  # 2024-01-01 00:00:00 UTC, microseconds
SNAP5 = "binance-futures_book_snapshot_5_2024-01-01_BTCUSDT.csv.gz"
Level = tuple[str, str]


def snap_row(local: int, asks: list[Level], bids: list[Level], *, depth: int = 5, symbol: str = "BTCUSDT",
             exchange: str = "binance-futures") -> str:  # fmt: skip
    fields = [exchange, symbol, str(T0 + local - 3), str(T0 + local)]
    for k in range(depth):
        fields += [*(asks[k] if k < len(asks) else ("", "")), *(bids[k] if k < len(bids) else ("", ""))]
    return ",".join(fields)


def write(path: Path, rows: list[str], depth: int = 5) -> Path:
    return write_gzip(path, HEADERS[f"book_snapshot_{depth}"] + b"\n" + "\n".join(rows).encode() + b"\n")


def read(paths: list[Path], market: str = "linear", symbol: str = "BTCUSDT", venue: str = "binance",
         allow_damaged: bool = False) -> tuple[EventArray, Findings]:  # fmt: skip
    chunks: list[EventArray] = []
    findings = read_rows(paths, lambda: lambda rows: chunks.append(rows.copy()), venue=venue, market=market,
                         symbol=symbol, allow_damaged=allow_damaged, chunk_rows=1000)  # fmt: skip
    return np.concatenate(chunks), findings


def plain(rows: EventArray) -> list[tuple[int, int, float, float]]:
    """(kind with side, local us after T0, px, qty) of each row."""
    ev = rows["ev"] & ~np.uint64(EXCH_EVENT | LOCAL_EVENT)
    return [(int(e), int(t) // 1000 - T0, float(p), float(q)) for e, t, p, q in
            zip(ev, rows["local_ts"], rows["px"], rows["qty"], strict=True)]  # fmt: skip


FIRST = snap_row(110, [("101", "3"), ("101.5", "1")], [("100.5", "1"), ("100", "2")])


def test_the_first_row_is_a_snapshot_and_each_later_row_only_what_changed(tmp_path: Path) -> None:
    path = write(tmp_path / SNAP5, [
        FIRST,
        snap_row(210, [("101", "3"), ("101.25", "4"), ("101.5", "1")], [("100", "2")]),  # 100.5 left, 101.25 came
        snap_row(305, [("101", "2"), ("101.25", "4"), ("101.5", "1")], [("100", "2"), ("99", "5")]),
        snap_row(400, [("101", "2"), ("101.25", "4"), ("101.5", "1")], [("100", "2"), ("99", "5.000000000000000001")]),
    ])  # fmt: skip
    rows, findings = read([path])
    assert plain(rows) == [
        (CLEAR_ALL, 110, 0.0, 0.0),
        (SNAPSHOT_BID, 110, 100.5, 1.0),
        (SNAPSHOT_BID, 110, 100.0, 2.0),
        (SNAPSHOT_ASK, 110, 101.0, 3.0),
        (SNAPSHOT_ASK, 110, 101.5, 1.0),
        (SYNC_RESTORED_EVENT, 110, 0.0, 0.0),
        (DEPTH_BID, 210, 100.5, 0.0),  # what left the top first
        (DEPTH_ASK, 210, 101.25, 4.0),
        (DEPTH_BID, 305, 99.0, 5.0),
        (DEPTH_ASK, 305, 101.0, 2.0),
    ]  # the last row (its long number read by Python: 5.0) changed nothing
    assert int(rows["exch_ts"][0]) // 1000 == T0 + 107  # the row's timestamp
    assert findings.warnings() == [] and findings.book_synced


def test_the_book_holds_each_rows_levels_and_nothing_deeper(tmp_path: Path) -> None:
    # random rows of 25 levels a side, often fewer (empty fields), every one a change
    rng = random.Random(7)
    rows, books = [], []
    for k in range(1500):  # more rows than one parsed buffer holds (65,536 rows, 101 a line at most)
        mid = 1000 + rng.randint(-30, 30) / 2
        bids = sorted({mid - rng.randint(1, 60) / 2 for _ in range(rng.randint(0, 25))}, reverse=True)
        asks = sorted({mid + rng.randint(1, 60) / 2 for _ in range(rng.randint(1, 25))})
        side = [(js_number(p), js_number(rng.choice((0.5, 1, 2.25)))) for p in bids]
        other = [(js_number(p), js_number(rng.choice((0.5, 1, 2.25)))) for p in asks]
        rows.append(snap_row(100 + 10 * k, other, side, depth=25))
        books.append(([float(p) for p, _ in side], [float(q) for _, q in side],
                      [float(p) for p, _ in other], [float(q) for _, q in other]))  # fmt: skip
    path = write(tmp_path / "binance-futures_book_snapshot_25_2024-01-01_BTCUSDT.csv.gz", rows, depth=25)
    read_back, findings = read([path])
    assert findings.warnings() == []
    book = OrderBook()
    times = read_back["local_ts"] // 1000 - T0
    for k, (bid_px, bid_qty, ask_px, ask_qty) in enumerate(books):
        book.apply(read_back[times == 100 + 10 * k])
        assert [x.tolist() for x in (*book.bids(), *book.asks())] == [bid_px, bid_qty, ask_px, ask_qty], k


def test_a_crossed_row_leaves_the_book_out_of_sync_until_the_next_row(tmp_path: Path) -> None:
    path = write(tmp_path / SNAP5, [
        FIRST,
        snap_row(200, [("100", "1")], [("100.5", "1")]),  # crossed
        snap_row(300, [("101", "1")], [("100", "1")]),
    ])  # fmt: skip
    rows, findings = read([path])
    assert plain(rows)[6:] == [
        (CLEAR_ALL, 200, 0.0, 0.0),  # a crossed row is written whole: a snapshot the book refuses
        (SNAPSHOT_BID, 200, 100.5, 1.0),
        (SNAPSHOT_ASK, 200, 100.0, 1.0),
        (SYNC_LOST_EVENT, 200, 0.0, 0.0),
        (CLEAR_ALL, 200, 0.0, 0.0),
        (CLEAR_ALL, 300, 0.0, 0.0),  # the next row is written whole
        (SNAPSHOT_BID, 300, 100.0, 1.0),
        (SNAPSHOT_ASK, 300, 101.0, 1.0),
        (SYNC_RESTORED_EVENT, 300, 0.0, 0.0),
    ]
    assert rows["ival"][9] == int(SyncReason.CROSSED)
    (note,) = findings.warnings()
    assert "1 rows were crossed" in note and "until the next row" in note and "inserted" not in note


def test_a_level_of_a_negative_or_non_finite_amount_is_left_out_and_said(tmp_path: Path) -> None:
    bids = [("100.5", "1"), ("100", "2")]
    path = write(tmp_path / SNAP5, [
        FIRST,
        snap_row(200, [("101", "3"), ("101.5", "-2")], bids),
        snap_row(300, [("101", "3"), ("101.5", "nan")], [*bids, ("99", "inf")]),
    ])  # fmt: skip
    rows, findings = read([path])
    assert plain(rows)[6:] == [(DEPTH_ASK, 200, 101.5, 0.0)]  # the level is gone; the bad ones write nothing
    (note,) = findings.warnings()
    assert note.endswith("3 levels with a negative or non-finite value skipped")


def test_okx_swap_amounts_are_contracts_and_each_day_starts_whole(tmp_path: Path) -> None:
    def day(n: int, local: int, rows: list[tuple[list[Level], list[Level]]]) -> Path:
        lines = [
            snap_row(local + k, a, b, symbol="BTC-USDT-SWAP", exchange="okex-swap") for k, (a, b) in enumerate(rows)
        ]
        return write(tmp_path / f"okex-swap_book_snapshot_5_2024-01-0{n}_BTC-USDT-SWAP.csv.gz", lines)

    first = day(1, 100, [([("42000.1", "30")], [("42000", "12")]), ([("42000.1", "31")], [("42000", "12")])])
    second = day(2, 86_400_000_000, [([("42001", "5")], [("42000", "12")])])
    rows, findings = read([first, second], venue="okx")
    kinds = [r[0] for r in plain(rows)]
    assert [r[3] for r in plain(rows) if r[0] in (SNAPSHOT_ASK, DEPTH_ASK)] == [0.3, 0.31, 0.05]  # x 0.01 BTC
    assert kinds.count(CLEAR_ALL) == 2 and kinds.count(SYNC_RESTORED_EVENT) == 1  # the 2nd day: a snapshot
    assert findings.warnings() == []


def test_bad_lines_are_counted_and_named_and_a_truncated_file_refused(tmp_path: Path) -> None:
    half = snap_row(200, [("101", "")], [("100", "1")])  # a price without its amount
    path = write(tmp_path / SNAP5, [FIRST, half, "<html>502 Bad Gateway</html>", snap_row(300, [("102", "1")], [])])
    with pytest.raises(RecordingError, match=r"2 lines are not book_snapshot_5 rows: line 3 'binance-futures,"):
        read([path])
    rows, findings = read([path], allow_damaged=True)
    assert plain(rows)[-5:] == [
        (DEPTH_BID, 300, 100.5, 0.0),
        (DEPTH_BID, 300, 100.0, 0.0),
        (DEPTH_ASK, 300, 101.0, 0.0),
        (DEPTH_ASK, 300, 101.5, 0.0),
        (DEPTH_ASK, 300, 102.0, 1.0),
    ]  # the bad lines skipped, the next row read against the book the last good one left
    assert any("502 Bad Gateway" in w for w in findings.warnings())
    many = write(tmp_path / "x" / SNAP5, [FIRST] + [snap_row(200 + k, [("101", str(k + 1))], []) for k in range(3000)])
    data = many.read_bytes()
    many.write_bytes(data[: len(data) - 200])
    with pytest.raises(RecordingError, match=rf"{SNAP5}: truncated \(the gzip stream ends early"):
        read([many])


def test_a_day_of_snapshots_is_found_and_the_full_book_wins(tmp_path: Path) -> None:
    folder = tmp_path / "tardis"
    day = dt.date(2024, 1, 1)
    snap = write(folder / "binance-futures_book_snapshot_25_2024-01-01_BTCUSDT.csv.gz", [], depth=25)
    trades = write_gzip(folder / "binance-futures_trades_2024-01-01_BTCUSDT.csv.gz", HEADERS["trades"] + b"\n")
    ticker = write_gzip(
        folder / "binance-futures_derivative_ticker_2024-01-01_BTCUSDT.csv.gz", HEADERS["derivative_ticker"]
    )
    found = find_day_files(tmp_path, "binance", "linear", "BTCUSDT")[day]
    assert (found.source, found.inputs) == ("tardis", (snap, trades, ticker))
    l2 = write_gzip(
        folder / "binance-futures_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz", HEADERS["incremental_book_L2"]
    )
    assert find_day_files(tmp_path, "binance", "linear", "BTCUSDT")[day].inputs == (l2, trades, ticker)
    five = write(folder / "binance_book_snapshot_5_2024-01-02_BTCUSDT.csv.gz", [])
    assert find_day_files(tmp_path, "binance", "spot", "BTCUSDT")[dt.date(2024, 1, 2)].book == five
