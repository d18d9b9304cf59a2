"""Injected faults on real captures: gaps, duplicates, reordering, malformed and unknown messages.

Whatever is injected, a book rebuilt from the rows is either the venue's book (it equals bookTicker
at every checkpoint) or empty and flagged out of sync; a fault is never applied silently.
"""

from __future__ import annotations

import logging

import msgspec
import numpy as np
import pytest

from arb.events import EVENT_KIND_MASK, SYNC_LOST_EVENT, SyncReason
from connectors.binance.normalize import BinanceNormalizer
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.normalizer import SyncState
from tests.support.captures import (
    BYBIT_OB500,
    SPOT_BTC_HEAD,
    binance_snapshot_payload,
    book_at,
    book_by_update_id,
    book_tickers,
    checkpoints_when_synced,
    read_lines,
    run_normalizer,
)

Lines = list[tuple[int, bytes]]


@pytest.fixture(scope="module")
def spot_lines() -> Lines:
    return read_lines(SPOT_BTC_HEAD)


@pytest.fixture(scope="module")
def tickers() -> dict[int, tuple[float, float]]:
    return book_tickers([SPOT_BTC_HEAD])


@pytest.fixture(scope="module")
def clean_rows(spot_lines: Lines) -> np.ndarray:
    return run_normalizer(BinanceNormalizer(), spot_lines)


def _depth_indices(lines: Lines) -> list[int]:
    return [i for i, (_, p) in enumerate(lines) if b"@depth" in p[:40]]


def _ids(payload: bytes) -> tuple[int, int]:
    data = msgspec.json.decode(payload)["data"]
    return data["U"], data["u"]


def test_clean_stream_matches_everywhere(clean_rows, tickers) -> None:
    ok, total, _ = checkpoints_when_synced(clean_rows, tickers)
    assert total > 25 and ok == total


def test_gap_clears_the_book_and_a_later_snapshot_resyncs(spot_lines, clean_rows, tickers) -> None:
    depth = _depth_indices(spot_lines)
    dropped = depth[100]
    resync_after = depth[120]
    _, last_before_gap = _ids(spot_lines[depth[99]][1])
    _, resync_id = _ids(spot_lines[resync_after][1])
    # a fresh REST snapshot, taken from the clean stream at that id, arrives after the gap
    snapshot = binance_snapshot_payload(book_at(clean_rows, resync_id), resync_id)
    faulted = [*spot_lines[:dropped], *spot_lines[dropped + 1 : resync_after + 1]]
    faulted.append((spot_lines[resync_after][0] + 1, snapshot))
    faulted.extend(spot_lines[resync_after + 1 :])

    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    stats = normalizer.stats
    assert stats.gaps == 1 and stats.resyncs == 1 and stats.snapshots == 2
    lost = [t for t in normalizer.transitions if t.state is SyncState.OUT_OF_SYNC]
    assert len(lost) == 1 and lost[0].reason is SyncReason.GAP
    assert lost[0].expected_id == last_before_gap + 1
    assert lost[0].got_id == _ids(spot_lines[depth[101]][1])[0]
    marker = rows[(rows["ev"] & EVENT_KIND_MASK) == SYNC_LOST_EVENT]
    assert len(marker) == 1 and marker["ival"][0] == SyncReason.GAP and marker["order_id"][0] == last_before_gap
    # nothing between the gap and the resync touched the book: it stayed empty
    book = book_by_update_id(rows)
    between = [u for u in book if last_before_gap < u < resync_id]
    assert between == []
    ok, total, bad = checkpoints_when_synced(rows, tickers)
    assert ok == total and total > 20, bad[:3]
    assert any(u > resync_id for u in set(book) & set(tickers))  # checkpoints after the resync too
    assert normalizer.status.state is SyncState.SYNCED


def test_duplicate_is_dropped_and_the_book_unchanged(spot_lines, clean_rows, tickers) -> None:
    i = _depth_indices(spot_lines)[50]
    faulted = [*spot_lines[: i + 1], spot_lines[i], *spot_lines[i + 1 :]]
    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.duplicates == 1 and normalizer.stats.gaps == 0
    assert np.array_equal(rows, clean_rows)


def test_reordered_diffs_are_a_gap_never_applied_out_of_order(spot_lines, tickers) -> None:
    depth = _depth_indices(spot_lines)
    a, b = depth[60], depth[61]
    faulted = list(spot_lines)
    faulted[a], faulted[b] = spot_lines[b], spot_lines[a]
    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.gaps == 1
    _, late_u = _ids(spot_lines[a][1])
    assert late_u not in set(rows["ival"].tolist())  # the late diff never reached the book
    ok, total, _ = checkpoints_when_synced(rows, tickers)
    assert ok == total and total > 0
    assert normalizer.status.state is SyncState.OUT_OF_SYNC  # until a snapshot comes


def test_malformed_json_is_logged_with_its_raw_text_counted_and_skipped(spot_lines, clean_rows, caplog) -> None:
    broken = b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":17231'
    faulted = [*spot_lines[:40], (spot_lines[40][0], broken), *spot_lines[40:]]
    normalizer = BinanceNormalizer()
    with caplog.at_level(logging.WARNING, logger="connectors.binance.normalize"):
        rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.decode_errors == 1
    assert any(broken.decode() in r.getMessage() for r in caplog.records)
    assert np.array_equal(rows, clean_rows)


def test_malformed_levels_do_not_advance_the_sync_state(spot_lines, tickers) -> None:
    # A diff whose levels cannot be parsed is skipped whole; the next diff then shows the gap.
    i = _depth_indices(spot_lines)[80]
    ts, payload = spot_lines[i]
    bad = payload.replace(b'"b":[["', b'"b":[["x', 1)
    faulted = [*spot_lines[:i], (ts, bad), *spot_lines[i + 1 :]]
    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.decode_errors == 1 and normalizer.stats.gaps == 1
    ok, total, _ = checkpoints_when_synced(rows, tickers)
    assert ok == total


def test_unknown_stream_is_counted_and_skipped(spot_lines, clean_rows) -> None:
    kline = b'{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1723161255208,"s":"BTCUSDT","k":{}}}'
    faulted = [*spot_lines[:10], (spot_lines[10][0], kline), (spot_lines[10][0], kline), *spot_lines[10:]]
    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.unknown_streams == 2
    assert normalizer.stats.unknown_stream_names == {"btcusdt@kline_1m"}
    assert np.array_equal(rows, clean_rows)


# -- Bybit: the ob500 archive (one snapshot, 49 deltas with contiguous u) --------------------------


@pytest.fixture(scope="module")
def bybit_lines() -> Lines:
    return [(1_733_011_200_000_000_000 + i, line.rstrip(b"\n")) for i, line in enumerate(BYBIT_OB500.open("rb"))]


def test_bybit_clean_archive_is_synced_500_levels_a_side(bybit_lines) -> None:
    normalizer = BybitNormalizer()
    rows = run_normalizer(normalizer, bybit_lines)
    assert normalizer.stats.snapshots == 1 and normalizer.stats.depth_messages == 50
    assert normalizer.status.state is SyncState.SYNCED and normalizer.status.update_id == 20254918
    book = book_at(rows, 20254918)
    assert book.bid_levels == 500 and book.ask_levels == 500 and book.best_bid < book.best_ask


def test_bybit_gap_drops_deltas_until_the_next_snapshot(bybit_lines) -> None:
    clean = run_normalizer(BybitNormalizer(), bybit_lines)
    resync_id = msgspec.json.decode(bybit_lines[30][1])["data"]["u"]
    book = book_at(clean, resync_id)
    bid_px, bid_qty = book.bids()
    ask_px, ask_qty = book.asks()
    snapshot = msgspec.json.encode(
        {
            "topic": "orderbook.500.XRPUSDT",
            "type": "snapshot",
            "ts": 1733011203000,
            "data": {
                "s": "XRPUSDT",
                "b": [[repr(float(p)), repr(float(q))] for p, q in zip(bid_px, bid_qty, strict=True)],
                "a": [[repr(float(p)), repr(float(q))] for p, q in zip(ask_px, ask_qty, strict=True)],
                "u": resync_id,
                "seq": 1,
            },
        }
    )
    faulted = [*bybit_lines[:10], *bybit_lines[11:31], (bybit_lines[30][0], snapshot), *bybit_lines[31:]]
    normalizer = BybitNormalizer()
    rows = run_normalizer(normalizer, faulted)
    stats = normalizer.stats
    assert stats.gaps == 1 and stats.resyncs == 1 and stats.dropped_unsynced == 19
    final = book_at(rows, 20254918)
    expected = book_at(clean, 20254918)
    for side in ("bids", "asks"):
        got, want = getattr(final, side)(), getattr(expected, side)()
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_bybit_duplicate_and_reorder(bybit_lines) -> None:
    dup = [*bybit_lines[:5], bybit_lines[4], *bybit_lines[5:]]
    normalizer = BybitNormalizer()
    run_normalizer(normalizer, dup)
    assert normalizer.stats.duplicates == 1 and normalizer.stats.gaps == 0
    swapped = list(bybit_lines)
    swapped[20], swapped[21] = bybit_lines[21], bybit_lines[20]
    normalizer = BybitNormalizer()
    run_normalizer(normalizer, swapped)
    assert normalizer.stats.gaps == 1 and normalizer.status.state is SyncState.OUT_OF_SYNC


def test_integers_beyond_int64_are_a_decode_error_not_a_crash(spot_lines, clean_rows) -> None:
    huge = (
        b'{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT",'
        b'"t":99999999999999999999,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}}'
    )
    faulted = [*spot_lines[:30], (spot_lines[30][0], huge), *spot_lines[30:]]
    normalizer = BinanceNormalizer()
    rows = run_normalizer(normalizer, faulted)
    assert normalizer.stats.decode_errors == 1
    assert np.array_equal(rows, clean_rows)
