"""Hyperliquid's normalizer on the venue's documented message shapes: each ``l2Book`` a whole book (the first a
snapshot, the next ones only what changed), a book that repeats or whose ``time`` goes back, trades and the
perpetual's context, another coin's frames, a lost book, the info endpoint's book in the stream.

The samples (``tests/fixtures/hyperliquid/ws_samples.jsonl``) are a real capture's messages as hftbacktest's
Hyperliquid converter quotes them (``l2Book``, ``trades`` of HYPE, January 2025) and the context of
Hyperliquid's documentation.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    TRADE_BUY,
    TRADE_SELL,
    EventArray,
    SyncReason,
)
from connectors.common.normalizer import DECODED_DEPTH, SyncState
from connectors.hyperliquid.normalize import HOUR_NS, HyperliquidNormalizer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hyperliquid"
SAMPLES = {
    entry["name"]: entry["message"]
    for entry in map(json.loads, (FIXTURES / "ws_samples.jsonl").read_text().splitlines())
}
BOOK = SAMPLES["l2Book"]
T0 = BOOK["data"]["time"]
LOCAL = T0 * NS_PER_MS + 150 * NS_PER_MS


def _raw(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def _book(time_ms: int, change: Any = None) -> dict[str, Any]:
    # The documented book at ``time_ms``, changed by ``change(levels)`` when given.
    message = copy.deepcopy(BOOK)
    message["data"]["time"] = time_ms
    if change is not None:
        change(message["data"]["levels"])
    return message


def _normalizer() -> HyperliquidNormalizer:
    return HyperliquidNormalizer("HYPEUSDT", "linear", echo=False, compiled=False)


def _kinds(rows: EventArray) -> list[int]:
    return [int(ev) for ev in rows["ev"]]


def _wire_book(message: dict[str, Any]) -> tuple[dict[float, float], dict[float, float]]:
    bids, asks = message["data"]["levels"]
    return {float(lv["px"]): float(lv["sz"]) for lv in bids}, {float(lv["px"]): float(lv["sz"]) for lv in asks}


def _apply(book: tuple[dict[float, float], dict[float, float]], rows: EventArray) -> None:
    # A consumer's book: a clear empties it, every other depth row sets a level (0 removes it).
    for row in rows:
        ev = int(row["ev"])
        if ev == CLEAR_ALL:
            book[0].clear()
            book[1].clear()
        elif ev in (DEPTH_BID, DEPTH_ASK, SNAPSHOT_BID, SNAPSHOT_ASK):
            side = book[0] if ev in (DEPTH_BID, SNAPSHOT_BID) else book[1]
            if row["qty"] == 0:
                side.pop(float(row["px"]), None)
            else:
                side[float(row["px"])] = float(row["qty"])


def test_the_first_book_is_a_snapshot_and_the_next_ones_only_what_changed() -> None:
    n = _normalizer()
    assert n.needs_snapshot
    assert n.on_message(_raw(BOOK), LOCAL) == DECODED_DEPTH
    rows = n.sink.take()
    assert _kinds(rows) == [CLEAR_ALL, *[SNAPSHOT_BID] * 20, *[SNAPSHOT_ASK] * 20, SYNC_RESTORED_EVENT]
    assert (rows["px"][1], rows["qty"][1], rows["px"][21], rows["qty"][21]) == (21.277, 80.29, 21.306, 223.2)
    assert set(rows["exch_ts"]) == {T0 * NS_PER_MS} and set(rows["local_ts"]) == {LOCAL}
    assert set(rows["ival"][:-1]) == {T0} and n.status.update_id == T0 and n.status.state is SyncState.SYNCED

    def move(levels: list[list[dict[str, Any]]]) -> None:
        bids, asks = levels
        bids[0]["sz"] = "70.0"  # a size changed
        del bids[5]  # a level gone
        bids.append({"px": "21.246", "sz": "5.0", "n": 1})  # a deeper one shown instead
        asks.insert(0, {"px": "21.3", "sz": "1.5", "n": 1})  # a better ask
        asks.pop()  # pushing the 20th out of the window

    second = _book(T0 + 500, move)
    assert n.on_message(_raw(second), LOCAL + 500 * NS_PER_MS) == DECODED_DEPTH
    rows = n.sink.take()
    changed = {(int(r["ev"]), float(r["px"]), float(r["qty"])) for r in rows}
    assert changed == {
        (DEPTH_BID, 21.277, 70.0), (DEPTH_BID, 21.268, 0.0), (DEPTH_BID, 21.246, 5.0),
        (DEPTH_ASK, 21.3, 1.5), (DEPTH_ASK, 21.349, 0.0),
    }  # fmt: skip
    assert set(rows["ival"]) == {T0 + 500} and n.stats.snapshots == 1 and n.stats.depth_messages == 2
    book = _wire_book(BOOK)
    _apply(book, rows)
    assert book == _wire_book(second)  # the rows make the previous book the new one, exactly


def test_a_repeated_book_is_no_news_and_one_whose_time_goes_back_is_logged_counted_and_skipped() -> None:
    n = _normalizer()
    n.on_message(_raw(BOOK), LOCAL)
    n.sink.take()
    # the venue resends its book at the same time: no rows, and not fresh (the feed's staleness clock runs on)
    assert n.on_message(_raw(BOOK), LOCAL + NS_PER_MS) == 0
    assert n.stats.duplicates == 1 and n.sink.rows == 0
    later = _book(T0 + 1000, lambda levels: levels[0].pop(0))
    n.on_message(_raw(later), LOCAL + 1000 * NS_PER_MS)
    n.sink.take()
    back = _book(T0 + 400)
    assert n.on_message(_raw(back), LOCAL + 1100 * NS_PER_MS) == 0
    assert n.sink.rows == 0 and n.time_backwards == 1 and n.status.update_id == T0 + 1000
    sample = n.time_backwards_log.samples[0]
    assert str(T0 + 400) in sample.error and sample.raw.startswith('{"channel":"l2Book"')
    assert n.stats.decode_errors == 0  # a disordered stream, not a malformed message
    # the book is still the venue's: the next book diffs against the one at T0 + 1000
    n.on_message(_raw(_book(T0 + 1500)), LOCAL + 1500 * NS_PER_MS)
    assert _kinds(n.sink.take()) == [DEPTH_BID]  # the best bid that came back


def test_a_newer_book_with_the_same_levels_restates_the_best_bid_so_a_quiet_book_stays_fresh() -> None:
    # a quiet market: the venue's next book has a later time and not one level changed. One row restates the
    # best bid at its size (applied, it changes nothing), so the live engine hears the book is alive
    n = _normalizer()
    n.on_message(_raw(BOOK), LOCAL)
    n.sink.take()
    assert n.on_message(_raw(_book(T0 + 500)), LOCAL + 500 * NS_PER_MS) == 1
    (row,) = n.sink.take()
    best_bid = BOOK["data"]["levels"][0][0]
    assert (int(row["ev"]), float(row["px"]), float(row["qty"])) == (DEPTH_BID, float(best_bid["px"]),
                                                                    float(best_bid["sz"]))  # fmt: skip
    assert int(row["ival"]) == T0 + 500 and n.status.update_id == T0 + 500 and n.stats.duplicates == 0
    book = _wire_book(BOOK)
    _apply(book, row[None])
    assert book == _wire_book(BOOK)


def test_another_coins_frames_are_counted_and_leave_no_rows() -> None:
    n = HyperliquidNormalizer("BTCUSDT", "linear", echo=False, compiled=False)
    for message in (BOOK, SAMPLES["trades"], SAMPLES["activeAssetCtx"]):
        assert n.on_message(_raw(message), LOCAL) == 0
    assert n.sink.rows == 0 and n.stats.other_symbols == 5 and n.needs_snapshot  # a book, 3 trades, a context


def test_trades_by_the_takers_side_and_a_resubscriptions_repeats_dropped() -> None:
    n = _normalizer()
    trades = SAMPLES["trades"]
    n.on_message(_raw(trades), LOCAL)
    rows = n.sink.take()
    assert _kinds(rows) == [TRADE_SELL, TRADE_BUY, TRADE_BUY]  # "A": the taker sold, "B": it bought
    assert list(rows["ival"]) == [185481619581124, 680159081286628, 430781595823972]
    assert list(rows["exch_ts"]) == [1736682877317 * NS_PER_MS, 1736682878040 * NS_PER_MS, 1736682878040 * NS_PER_MS]
    assert (rows["px"][0], rows["qty"][0]) == (21.269, 7.78)
    # a new subscription's first message repeats the recent trades, with one new one
    again = copy.deepcopy(trades)
    again["data"].append({**trades["data"][-1], "time": 1736682879000, "tid": 1, "sz": "2.0"})
    n.on_message(_raw(again), LOCAL + NS_PER_MS)
    rows = n.sink.take()
    assert list(rows["ival"]) == [1] and n.trades_repeated == 3


def test_the_context_gives_mark_oracle_and_the_hours_funding_and_the_hour_settles_it() -> None:
    n = _normalizer()
    n.on_message(_raw(BOOK), LOCAL)  # a book first: the context is stamped by its exchange-local offset
    n.sink.take()
    context = SAMPLES["activeAssetCtx"]
    n.on_message(_raw(context), LOCAL + 10 * NS_PER_MS)
    rows = n.sink.take()
    assert _kinds(rows) == [MARK_PRICE_EVENT, FUNDING_RATE_EVENT]
    exch = T0 * NS_PER_MS + 10 * NS_PER_MS
    next_hour = (exch // HOUR_NS + 1) * HOUR_NS
    assert (rows["px"][0], rows["qty"][0], rows["exch_ts"][0]) == (14.3161, 14.32, exch)
    assert (rows["px"][1], rows["ival"][1], rows["order_id"][1]) == (0.0000125, next_hour, HOUR_NS)
    after = copy.deepcopy(context)
    after["data"]["ctx"]["funding"] = "0.00002"
    n.on_message(_raw(after), LOCAL + 10 * NS_PER_MS + (next_hour - exch) + NS_PER_MS)  # past the hour
    rows = n.sink.take()
    assert _kinds(rows) == [FUNDING_SETTLED_EVENT, MARK_PRICE_EVENT, FUNDING_RATE_EVENT]
    assert (rows["ival"][0], rows["px"][0]) == (next_hour, 0.0000125)  # the hour that passed, at its rate
    assert (rows["px"][2], rows["ival"][2]) == (0.00002, next_hour + HOUR_NS) and n.stats.funding_rollovers == 1


def test_a_lost_book_is_cleared_and_the_next_book_is_a_snapshot_again() -> None:
    n = _normalizer()
    n.on_message(_raw(BOOK), LOCAL)
    n.sink.take()
    n.lose_sync(SyncReason.DISCONNECT, LOCAL + NS_PER_MS)
    rows = n.sink.take()
    assert _kinds(rows) == [SYNC_LOST_EVENT, CLEAR_ALL] and rows["ival"][0] == SyncReason.DISCONNECT
    assert n.needs_snapshot and n.status.state is SyncState.OUT_OF_SYNC
    n.on_message(_raw(_book(T0 + 2000)), LOCAL + 2000 * NS_PER_MS)
    rows = n.sink.take()
    assert _kinds(rows)[0] == CLEAR_ALL and _kinds(rows)[-1] == SYNC_RESTORED_EVENT and n.stats.resyncs == 1


def test_the_info_endpoints_book_reads_like_a_pushed_one_unless_the_stream_is_as_new() -> None:
    n = _normalizer()
    rest = _raw(BOOK["data"])  # {"coin":...,"time":...,"levels":...}: no envelope
    assert n.on_message(rest, LOCAL) == DECODED_DEPTH and n.rest_books == 1
    assert _kinds(n.sink.take())[-1] == SYNC_RESTORED_EVENT
    n.on_message(_raw(_book(T0 + 600)), LOCAL + 600 * NS_PER_MS)
    n.sink.take()
    assert n.on_message(rest, LOCAL + 700 * NS_PER_MS) == 0  # older than the stream's: nothing to learn
    assert n.stats.dropped_covered == 1 and n.time_backwards == 0 and n.sink.rows == 0


def test_replies_are_counted_and_a_malformed_book_is_logged_and_skipped() -> None:
    n = _normalizer()
    for name in ("subscriptionResponse", "pong"):
        n.on_message(_raw(SAMPLES[name]), LOCAL)
    n.on_message(b'{"channel":"error","data":"Invalid subscription"}', LOCAL)
    assert n.stats.control_messages == 3 and n.sink.rows == 0
    broken = _book(T0, lambda levels: levels.pop())  # one side only
    n.on_message(_raw(broken), LOCAL)
    n.on_message(b'{"channel":"l2Book","data":{"coin":"HYPE"', LOCAL)
    assert n.stats.decode_errors == 2 and n.needs_snapshot and n.sink.rows == 0
    n.on_message(b'{"channel":"allMids","data":{"mids":{}}}', LOCAL)
    assert n.stats.unknown_streams == 1 and n.stats.unknown_stream_names == {"allMids"}


def test_a_resumed_day_replaces_the_book_whole_on_its_first_message() -> None:
    n = HyperliquidNormalizer(echo=False, compiled=False)
    n.resume(T0, "linear", "HYPEUSDT")
    n.on_message(_raw(_book(T0 + 100)), LOCAL)
    kinds = _kinds(n.sink.take())
    assert kinds[0] == CLEAR_ALL and SYNC_RESTORED_EVENT not in kinds and len(kinds) == 41
    assert n.transitions == []


@pytest.mark.parametrize("frame", [BOOK, SAMPLES["trades"]], ids=["l2Book", "trades"])
def test_a_recorded_frame_names_its_symbol_and_market(frame: Any) -> None:
    from connectors.registry import venue

    recordings = venue("hyperliquid").recordings
    payload = _raw(frame)
    assert recordings.recognise(payload[:40]) and recordings.details(payload, payload[:40]) == ("HYPEUSDT", "linear")
    assert recordings.exchange_ms(json.loads(payload), "linear") in (T0, 1736682877317)
