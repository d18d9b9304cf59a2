"""The Tardis reader's rules, on small CSVs written the way Tardis documents its datasets.

(The real-capture tests are in tests/replay/test_imported_books.py.)
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from arb.errors import RecordingError
from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    TRADE_BUY,
    TRADE_EVENT,
    TRADE_SELL,
    EventArray,
    SyncReason,
)
from arb.recording.convert import convert_files, convert_to_parts
from arb.recording.npz import EodSnapshot
from arb.recording.tardis import HEADERS
from arb.testing.history_files import js_number, write_gzip
from tests.support.captures import local_side, of_kind

T0 = 1704067200_000_000  # 2024-01-01 00:00:00 UTC, microseconds
BOOK = "binance-futures_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz"
TRADES = "binance-futures_trades_2024-01-01_BTCUSDT.csv.gz"
TICKER = "binance-futures_derivative_ticker_2024-01-01_BTCUSDT.csv.gz"


def book_row(ts: int, local: int, snap: bool, side: str, px: str, qty: str, symbol: str = "BTCUSDT") -> str:
    return f"binance-futures,{symbol},{T0 + ts},{T0 + local},{'true' if snap else 'false'},{side},{px},{qty}"


def trade_row(ts: int, local: int, side: str, px: str, qty: str) -> str:
    return f"binance-futures,BTCUSDT,{T0 + ts},{T0 + local},1,{side},{px},{qty}"


def write(folder: Path, name: str, kind: str, rows: list[str]) -> Path:
    return write_gzip(folder / name, HEADERS[kind] + b"\n" + "\n".join(rows).encode() + b"\n")


def plain(rows: EventArray) -> list[tuple[int, int, int, float, float, int]]:
    """The local side of converted rows, flags dropped: (kind with side, exch us, local us, px, qty, ival)."""
    local = local_side(rows, published=True)
    ev = local["ev"]
    return [
        (int(e), int(x) // 1000 - T0, int(t) // 1000 - T0, float(p), float(q), int(i))
        for e, x, t, p, q, i in zip(
            ev, local["exch_ts"], local["local_ts"], local["px"], local["qty"], local["ival"], strict=True
        )
    ]


SNAPSHOT = [
    book_row(100, 110, True, "bid", "100.5", "1"),
    book_row(100, 110, True, "bid", "100", "2"),
    book_row(100, 110, True, "ask", "101", "3"),
    book_row(100, 110, True, "ask", "101.5", "0"),  # a level Tardis merged in from a buffered update
]


def test_a_snapshot_resets_the_book_and_updates_follow(tmp_path: Path) -> None:
    path = write(tmp_path, BOOK, "incremental_book_L2", [
        *SNAPSHOT,
        book_row(200, 210, False, "bid", "100.5", "0"),  # size 0 deletes the level
        book_row(200, 210, False, "ask", "101.25", "4"),
        book_row(300, 305, False, "bid", "99", "5"),
    ])  # fmt: skip
    result = convert_files([path], local_offset_ns=0)
    assert plain(result.rows) == [
        (CLEAR_ALL, 100, 110, 0.0, 0.0, 0),
        (SNAPSHOT_BID, 100, 110, 100.5, 1.0, 0),
        (SNAPSHOT_BID, 100, 110, 100.0, 2.0, 0),
        (SNAPSHOT_ASK, 100, 110, 101.0, 3.0, 0),
        (SYNC_RESTORED_EVENT, 100, 110, 0.0, 0.0, 0),
        (DEPTH_BID, 200, 210, 100.5, 0.0, 0),
        (DEPTH_ASK, 200, 210, 101.25, 4.0, 0),
        (DEPTH_BID, 300, 305, 99.0, 5.0, 0),
    ]
    assert (result.venue, result.market, result.symbol) == ("binance", "linear", "BTCUSDT")
    assert result.stats.depth_messages == 3  # rows grouped by local_timestamp (and snapshot or not)
    assert result.stats.snapshots == 1
    bids = of_kind(result.eod.rows, 4)
    assert result.eod.synced and len(bids) == 4  # 100, 99 bids; 101, 101.25 asks
    assert result.findings.warnings() == []


def test_updates_before_the_first_snapshot_are_skipped_and_said(tmp_path: Path) -> None:
    path = write(tmp_path, BOOK, "incremental_book_L2", [book_row(50, 60, False, "bid", "99", "1"), *SNAPSHOT])
    result = convert_files([path], local_offset_ns=0)
    assert all(r[2] >= 110 for r in plain(result.rows))  # nothing from the row before the snapshot
    (warning,) = result.findings.warnings()
    assert "skipped 1 update rows before the file's first snapshot" in warning and BOOK in warning


def test_a_book_synced_from_the_previous_day_is_out_of_sync_until_the_new_snapshot(tmp_path: Path) -> None:
    # the previous day ended synced; this day's file starts with updates buffered before its snapshot
    path = write(tmp_path, BOOK, "incremental_book_L2", [book_row(50, 60, False, "bid", "99", "1"), *SNAPSHOT])
    initial = EodSnapshot(convert_files([path], local_offset_ns=0).eod.rows, "binance", "linear", "BTCUSDT", 7, True,
                          T0 * 1000, T0 * 1000)  # fmt: skip
    result = convert_files([path], local_offset_ns=0, initial=initial)
    rows = plain(result.rows)
    assert rows[:2] == [
        (SYNC_LOST_EVENT, 50, 60, 0.0, 0.0, int(SyncReason.DISCONNECT)),
        (CLEAR_ALL, 50, 60, 0.0, 0.0, 0),
    ]
    assert (SYNC_RESTORED_EVENT, 100, 110, 0.0, 0.0, 0) in rows
    assert [t.state.name for t in result.transitions] == ["OUT_OF_SYNC", "SYNCED"]


def test_a_crossed_snapshot_is_a_finding_and_leaves_the_book_out_of_sync(tmp_path: Path) -> None:
    path = write(tmp_path, BOOK, "incremental_book_L2", [
        *SNAPSHOT,
        book_row(200, 210, False, "bid", "99", "1"),
        book_row(300, 310, True, "bid", "102", "1"),  # Tardis's snapshot after a reconnection: crossed
        book_row(300, 310, True, "ask", "101", "1"),
        book_row(400, 410, False, "bid", "98", "1"),  # dropped: out of sync
        book_row(500, 510, True, "bid", "100", "1"),  # the next snapshot syncs again
        book_row(500, 510, True, "ask", "101", "1"),
        book_row(600, 610, False, "ask", "102", "1"),
    ])  # fmt: skip
    result = convert_files([path], local_offset_ns=0)
    rows = plain(result.rows)
    lost = [r for r in rows if r[0] == SYNC_LOST_EVENT]
    assert lost == [(SYNC_LOST_EVENT, 300, 310, 0.0, 0.0, int(SyncReason.CROSSED))]
    assert not any(r[2] == 410 for r in rows)
    assert [r[2] for r in rows if r[0] == SYNC_RESTORED_EVENT] == [110, 510]
    warnings = "\n".join(result.findings.warnings())
    assert "1 snapshots were crossed" in warnings and "00:00:00.000 UTC" in warnings
    assert "Tardis inserted 2 snapshots after the first" in warnings  # its collector reconnected there
    assert result.eod.synced


def test_an_empty_side_after_a_snapshot_is_a_finding(tmp_path: Path) -> None:
    path = write(tmp_path, BOOK, "incremental_book_L2", [book_row(100, 110, True, "bid", "100", "1"),
                                                         book_row(200, 210, False, "bid", "99", "1")])  # fmt: skip
    result = convert_files([path], local_offset_ns=0)
    assert any("1 snapshots left a side of the book empty" in w for w in result.findings.warnings())


def test_trades_come_before_depth_at_the_same_receive_time(tmp_path: Path) -> None:
    book = write(tmp_path, BOOK, "incremental_book_L2", [*SNAPSHOT, book_row(200, 210, False, "ask", "101", "2")])
    trades = write(tmp_path, TRADES, "trades", [
        trade_row(150, 210, "buy", "101", "1"),  # the trade that took 1 of the 3 at 101
        trade_row(205, 220, "sell", "100", "0.5"),
        trade_row(206, 221, "unknown", "100", "0.25"),
    ])  # fmt: skip
    result = convert_files([book, trades], local_offset_ns=0)
    rows = plain(result.rows)
    at_210 = [r[0] for r in rows if r[2] == 210]
    assert at_210 == [TRADE_BUY, DEPTH_ASK]
    assert [r[0] for r in rows if r[2] > 210] == [TRADE_SELL, TRADE_EVENT]
    assert result.stats.trade_messages == 3
    assert any("1 trades without a taker side" in w for w in result.findings.warnings())


def test_numbers_read_exactly_as_python_reads_them(tmp_path: Path) -> None:
    rng = random.Random(5)
    texts = ["0.00000001", "1e-7", "1.5e-8", "61737.63", "0.30000000000000004", "123456789.123456789", "5"]
    texts += [js_number(rng.uniform(0.01, 100_000) if k % 2 else 10 ** rng.uniform(-9, 3)) for k in range(400)]
    rows = [book_row(100, 110, True, "bid", "1", "1"), book_row(100, 110, True, "ask", "1000000", "1")]
    rows += [book_row(200 + k, 210 + k, False, "bid", "0.5", text) for k, text in enumerate(texts)]
    path = write(tmp_path, BOOK, "incremental_book_L2", rows)
    got = [r[4] for r in plain(convert_files([path], local_offset_ns=0).rows) if r[0] == DEPTH_BID]
    assert got == [float(t) for t in texts]
    assert all(not math.isnan(x) for x in got)


def test_rows_of_another_symbol_are_skipped(tmp_path: Path) -> None:
    other = book_row(200, 210, False, "bid", "99", "1", symbol="ETHUSDT")
    path = write(tmp_path, BOOK, "incremental_book_L2", [*SNAPSHOT, other, book_row(300, 310, False, "bid", "98", "1")])
    result = convert_files([path], local_offset_ns=0)
    assert [r[3] for r in plain(result.rows) if r[0] == DEPTH_BID] == [98.0]
    assert result.reads[0].other_symbols == 1


def test_a_line_that_is_not_a_row_is_an_error_unless_damage_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, BOOK, "incremental_book_L2", [*SNAPSHOT, "<html>502 Bad Gateway</html>",
                                                         book_row(300, 310, False, "bid", "98", "1")])  # fmt: skip
    with pytest.raises(RecordingError, match=r"1 line is not incremental_book_L2 rows: line 6 '<html>502"):
        convert_files([path])
    kept = convert_files([path], allow_damaged=True, local_offset_ns=0)
    assert [r[3] for r in plain(kept.rows) if r[0] == DEPTH_BID] == [98.0]
    assert any("502 Bad Gateway" in w for w in kept.findings.warnings())


def test_a_truncated_download_is_refused(tmp_path: Path) -> None:
    updates = [book_row(200 + k, 210 + k, False, "bid", "99", "1") for k in range(2000)]
    path = write(tmp_path, BOOK, "incremental_book_L2", [*SNAPSHOT, *updates])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    with pytest.raises(RecordingError, match=r"truncated \(the gzip stream ends early: an incomplete download\?\)"):
        convert_files([path])


def test_the_derivative_ticker_feeds_the_funding_rows(tmp_path: Path) -> None:
    book = write(
        tmp_path, BOOK, "incremental_book_L2", [*SNAPSHOT, book_row(5_000_000, 5_000_010, False, "bid", "99", "1")]
    )
    hour = 3600 * 1_000_000
    header = HEADERS["derivative_ticker"].decode()
    ticker = [
        f"binance-futures,BTCUSDT,{T0 + 1_000_000},{T0 + 1_000_020},{T0 + 8 * hour},0.0001,,,,100.2,100.3",
        f"binance-futures,BTCUSDT,{T0 + 2_000_000},{T0 + 2_000_020},{T0 + 8 * hour},0.00012,,,,100.25,100.35",
        # the funding time passed: funding_timestamp moves 8 h on
        f"binance-futures,BTCUSDT,{T0 + 3_000_000},{T0 + 3_000_020},{T0 + 16 * hour},0.00005,,,,100.4,100.5",
    ]
    path = write_gzip(tmp_path / TICKER, ("\n".join([header, *ticker]) + "\n").encode())
    result = convert_files([book, path], local_offset_ns=0)
    rows = plain(result.rows)
    kinds = [r[0] for r in rows if r[0] in (MARK_PRICE_EVENT, FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT)]
    assert kinds == [MARK_PRICE_EVENT, FUNDING_RATE_EVENT] * 2 + [FUNDING_SETTLED_EVENT, MARK_PRICE_EVENT,
                                                                    FUNDING_RATE_EVENT]  # fmt: skip
    settled = next(r for r in rows if r[0] == FUNDING_SETTLED_EVENT)
    assert settled[3] == 0.00012 and settled[4] == 100.35  # the last rate and mark announced before it
    assert settled[5] == (T0 + 8 * hour) * 1000  # the funding time that passed, ns
    assert result.stats.funding_rollovers == 1
    assert result.eod.perp.next_funding_ns == (T0 + 16 * hour) * 1000


def test_a_day_in_chunks_equals_the_day_in_memory(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = list(SNAPSHOT)
    trades = []
    for k in range(3000):
        t = 1000 + 37 * k
        rows.append(book_row(t, t + rng.randint(5, 400), False, rng.choice(("bid", "ask")),
                             js_number(100 + rng.randint(-20, 20) / 4), js_number(rng.randint(0, 9))))  # fmt: skip
        if k % 3 == 0:
            trades.append(trade_row(t, t + rng.randint(5, 400), rng.choice(("buy", "sell")), "100", "0.1"))
    rows.sort(key=lambda r: int(r.split(",")[3]))  # Tardis's rows are in receive order
    trades.sort(key=lambda r: int(r.split(",")[3]))
    book = write(tmp_path, BOOK, "incremental_book_L2", rows)
    trade_file = write(tmp_path, TRADES, "trades", trades)
    whole = convert_files([book, trade_file])
    parts = convert_to_parts([book, trade_file], tmp_path / "day.npz", chunk_rows=500)
    assert len(parts.parts) > 5
    got = np.concatenate([np.load(p)["data"] for p in parts.parts])
    assert np.array_equal(got, whole.rows)
    assert np.array_equal(parts.eod.rows, whole.eod.rows)
