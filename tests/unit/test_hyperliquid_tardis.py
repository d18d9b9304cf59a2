"""Hyperliquid's history from Tardis.dev: its ``incremental_book_L2`` rows are all snapshot rows (each ``l2Book``
message is a whole book), so each message's rows, sharing a local time, replace the book; its instruments are
named by their coin."""

from __future__ import annotations

from pathlib import Path

from arb.events import BUY_EVENT, CLEAR_ALL, EVENT_KIND_MASK, LOCAL_EVENT, SYNC_RESTORED_EVENT
from arb.recording.convert import convert_files
from arb.recording.tardis import HEADERS
from arb.testing.history_files import write_gzip

T0 = 1730160000_000_000  # 2024-10-29 00:00:00 UTC, microseconds: Tardis's first day of Hyperliquid
BOOK = "hyperliquid_incremental_book_L2_2024-10-29_BTC.csv.gz"


def _row(ts: int, local: int, side: str, px: str, qty: str) -> str:
    return f"hyperliquid,BTC,{T0 + ts},{T0 + local},true,{side},{px},{qty}"


def test_each_message_of_snapshot_rows_replaces_the_book(tmp_path: Path) -> None:
    rows = [
        _row(100, 110, "bid", "60000", "1"), _row(100, 110, "bid", "59999", "2"), _row(100, 110, "ask", "60001", "1"),
        # the next message: 59999 is gone from the 20 levels shown, 60002 came
        _row(600, 610, "bid", "60000", "1.5"), _row(600, 610, "ask", "60001", "1"), _row(600, 610, "ask", "60002", "3"),
    ]  # fmt: skip
    path = write_gzip(tmp_path / BOOK, HEADERS["incremental_book_L2"] + b"\n" + "\n".join(rows).encode() + b"\n")
    result = convert_files([path])
    assert (result.venue, result.market, result.symbol) == ("hyperliquid", "linear", "BTCUSDT")
    book = sorted((float(r["px"]), float(r["qty"]), bool(r["ev"] & BUY_EVENT)) for r in result.eod.rows)
    assert book == [(60000.0, 1.5, True), (60001.0, 1.0, False), (60002.0, 3.0, False)]
    local = result.rows[(result.rows["ev"] & LOCAL_EVENT) != 0]
    kinds = (local["ev"] & EVENT_KIND_MASK).tolist()
    # synced by the first message, before the second clears the book for its own levels
    assert kinds.count(CLEAR_ALL) == 2 and kinds.index(SYNC_RESTORED_EVENT) < kinds.index(CLEAR_ALL, 1)
    assert kinds.count(SYNC_RESTORED_EVENT) == 1
    assert result.findings.snapshots == 2 and result.findings.files[0].notes == []  # no "Tardis resnapshotted"
