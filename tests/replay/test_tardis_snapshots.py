"""Tardis's ``book_snapshot_25`` read into arb's book gives, at every row, the top 25 of the full book.

A real Binance capture is written as Tardis writes its datasets (arb/testing/history_files.py): the
``incremental_book_L2`` file, and from the same stream the ``book_snapshot_25`` file Tardis rebuilds from it
(a row at each change of the top 25 levels). Both are read by arb's Tardis reader (arb.recording.read_rows)
into :class:`arb.book.OrderBook`: after each snapshot row the book read from the snapshot file holds
exactly the 25 levels a side that the book read from the incremental file has at the top, and nothing more.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import numpy as np

from arb.book import OrderBook
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    SYNC_RESTORED_EVENT,
    EventArray,
)
from arb.recording.read_rows import read_rows
from arb.testing.history_files import tardis_snapshots_from
from tests.support.captures import SPOT_BTC_HEAD

DAY = dt.date(2024, 8, 8)


def rows_of(path: Path) -> EventArray:
    chunks: list[EventArray] = []
    findings = read_rows([path], lambda: lambda rows: chunks.append(rows.copy()), venue="binance", market="spot",
                         symbol="BTCUSDT", chunk_rows=4096)  # fmt: skip
    assert findings.warnings() == []
    return np.concatenate(chunks)


def book_groups(rows: EventArray) -> tuple[list[int], list[EventArray]]:
    """The book rows (read_rows's: no side flags yet) grouped by receive time: (times, groups), in order."""
    book = rows[np.isin(rows["ev"] & EVENT_KIND_MASK, (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT))]
    groups = np.split(book, np.flatnonzero(np.diff(book["local_ts"])) + 1)
    return [int(g["local_ts"][0]) for g in groups], groups


def levels(book: OrderBook, depth: int | None = None) -> list[tuple[float, float]]:
    bids, asks = book.bids(depth), book.asks(depth)
    return [*zip(*bids, strict=True), (0.0, 0.0), *zip(*asks, strict=True)]


def test_the_snapshot_file_gives_the_top_25_of_the_full_book_at_every_row(tmp_path: Path) -> None:
    written = tardis_snapshots_from(
        "binance", [SPOT_BTC_HEAD], tmp_path, market="spot", data_types=("incremental_book_L2",)
    )
    snapshot_file, l2_file = written[("book_snapshot_25", DAY)], written[("incremental_book_L2", DAY)]
    full, top = rows_of(l2_file), rows_of(snapshot_file)
    n_rows = len(gzip.decompress(snapshot_file.read_bytes()).splitlines()) - 1
    restored = top[(top["ev"] & EVENT_KIND_MASK) == SYNC_RESTORED_EVENT]
    assert len(restored) == 1 and restored["local_ts"][0] == top["local_ts"][0]  # synced at the first row
    full_times, full_groups = book_groups(full)
    top_times, top_groups = book_groups(top)
    assert len(top_times) == n_rows > 200  # every row changed the book: one group of rows each
    assert set(top_times) <= set(full_times)  # each at a message of the full book
    whole, part = OrderBook(), OrderBook()
    k = 0
    for t, group in zip(top_times, top_groups, strict=True):
        while k < len(full_times) and full_times[k] <= t:
            whole.apply(full_groups[k])
            k += 1
        part.apply(group)
        assert part.bid_levels == min(25, whole.bid_levels) and part.ask_levels == min(25, whole.ask_levels)
        assert levels(part) == levels(whole, 25), f"books differ at {t} ns"
    # after the first row, only what changed: on this capture about 12 book rows a row, not 51
    assert sum(len(g) for g in top_groups) < 25 * n_rows
