"""The book's merged runs, and its final-book windows, equal applying the same rows one by one, bit for bit.

``arb.book.apply_rows`` merges a long run of one side's level rows into that side in one pass when
that provably gives the row-by-row result, and applies the rows one by one otherwise. Here the same
rows go through both (``_apply_rows`` with a run length of 2, and one that never merges) on random
books and rows built to hit every case the merge must refuse or get right: prices repeated within a
run or already in the book, removals of absent levels, crossing updates, NaN, infinities and
``-0.0``, clear rows, rows of other kinds in between, full arrays; and on real captures.
``arb.book.apply_rows_final`` (the converter's end-of-day book) is compared at the end of each batch
only, with windows of several lengths.
"""

from __future__ import annotations

import random

import numpy as np

from arb._jit import plain
from arb.book import (
    OrderBook,
    _apply_rows,
    _apply_rows_final,
    _bisect,
    _merge_run,
    apply_rows_touched,
    touches_book,
)
from arb.events import (
    BBO_BID,
    BUY_EVENT,
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    SELL_EVENT,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    TRADE_BUY,
    EventArray,
    event_dtype,
)
from connectors.binance.normalize import BinanceNormalizer
from connectors.bybit.normalize import BybitNormalizer
from tests.replay.test_frame_path import BYBIT_SPOT
from tests.support.captures import SPOT_BTC_HEAD, USDM_BTC, read_lines

_NEVER = 1 << 62


class _Book:
    """An OrderBook applied with a given run length at which runs are merged (0: apply_rows_one_by_one),
    or, with ``window``, by apply_rows_final's windows of that many rows."""

    def __init__(self, capacity: int, run_min: int, window: int = 0) -> None:
        self.book = OrderBook(capacity)
        self.run_min = run_min
        self.window = window

    def apply(self, rows: EventArray) -> None:
        book = self.book
        if self.run_min == 0 and not self.window:
            book.apply(rows, merge=False)
            return
        start = 0
        while True:
            if self.window:
                start = _apply_rows_final(book.arrays, rows, start, self.window)
            else:
                start = _apply_rows(book.arrays, rows, start, self.run_min)
            if start >= len(rows):
                return
            book._grow()


def _same(x: _Book, y: _Book) -> None:
    a, b = x.book, y.book
    assert a.counts.tolist() == b.counts.tolist()
    nb, na = (int(x) for x in a.counts)
    for name, n in (("bid_keys", nb), ("bid_qtys", nb), ("ask_keys", na), ("ask_qtys", na)):
        assert getattr(a, name)[:n].tobytes() == getattr(b, name)[:n].tobytes(), name


def _rows(rng: random.Random, n: int, prices: list[float], orderly: bool = False) -> EventArray:
    # orderly: bids from the lower half of the prices, asks from the upper half (a book that does
    # not cross, where runs merge); otherwise any price on either side.
    half = len(prices) // 2
    evs: list[int] = []
    pxs: list[float] = []
    qtys: list[float] = []
    while len(evs) < n:
        roll = rng.random()
        if roll < 0.02:
            evs.append(rng.choice([CLEAR_ALL, DEPTH_CLEAR_EVENT | BUY_EVENT, DEPTH_CLEAR_EVENT | SELL_EVENT]))
            pxs.append(rng.choice(prices))
            qtys.append(0.0)
            continue
        if roll < 0.05:
            evs.append(rng.choice([TRADE_BUY, BBO_BID, DEPTH_EVENT]))  # no effect (DEPTH without a side)
            pxs.append(rng.choice(prices))
            qtys.append(1.0)
            continue
        # a run of one side's levels, mostly sorted as venues send them
        bids = rng.random() < 0.5
        ev = rng.choice([DEPTH_BID, SNAPSHOT_BID] if bids else [DEPTH_ASK, SNAPSHOT_ASK])
        length = rng.choice([1, 3, 20, 40, 200])
        pool = (prices[:half] if bids else prices[half:]) if orderly else prices
        run = [rng.choice(pool) for _ in range(length)]
        if rng.random() < 0.7:
            run = sorted(set(run) if rng.random() < 0.7 else run, reverse=rng.random() < 0.5)
        nan_at = rng.randrange(len(run)) if rng.random() < 0.05 else -1  # a NaN quantity in a few runs
        for k, px in enumerate(run):
            evs.append(ev if rng.random() < 0.97 else (DEPTH_ASK if bids else DEPTH_BID))
            pxs.append(px)
            odd = rng.random() < 0.5
            qtys.append(float("nan") if k == nan_at else rng.choice([0.0, 0.0, 1.5, 2.0, 0.25, -1.0]) if odd else 1.0)
    rows = np.zeros(n, event_dtype)
    rows["ev"] = evs[:n]
    rows["px"] = pxs[:n]
    rows["qty"] = qtys[:n]
    return rows


def _prices(rng: random.Random) -> list[float]:
    mid = rng.choice([100.0, 61800.0])
    grid = [round(mid + d * 0.5, 2) for d in range(-300, 300)]
    if rng.random() < 0.3:  # at both ends, so that orderly books get them on either side
        return [float("nan"), -float("inf"), -0.0, *grid, 0.0, float("inf"), float("nan")]
    return grid


def test_merged_runs_equal_row_by_row_on_random_books() -> None:
    rng = random.Random(20240808)
    for case in range(150):
        prices = _prices(rng)
        orderly = case % 2 == 0
        capacity = rng.choice([4, 16, 64, 1024])
        merged, single, plain = _Book(capacity, 2), _Book(capacity, _NEVER), _Book(capacity, 0)
        seed = _rows(rng, 300, prices, orderly)
        for book in (merged, single, plain):
            book.apply(seed)
        _same(merged, single)
        _same(plain, single)
        for _ in range(10):
            rows = _rows(rng, rng.choice([5, 50, 400]), prices, orderly)
            for book in (merged, single, plain):
                book.apply(rows)
            _same(merged, single)
            _same(plain, single)


def _forms(rows: EventArray) -> list[EventArray]:
    # The same rows as the plain array a normalizer's sink hands out, and as arrays of other layouts:
    # strided, read-only, of an equal dtype that is another object.
    strided = np.zeros(2 * len(rows), event_dtype)[::2]
    strided[:] = rows
    frozen = rows.copy()
    frozen.flags.writeable = False
    other = rows.astype(np.dtype(event_dtype.descr, align=True))
    assert other.dtype == event_dtype and other.dtype is not event_dtype
    return [rows, strided, frozen, other]


def test_apply_touched_is_apply_then_touches_book() -> None:
    # OrderBook.apply_touched (the live engine's one call a batch, straight to the machine code for a
    # plain event array) leaves the book apply leaves and says what touches_book says, whatever the
    # rows' layout, through every growth of the arrays.
    rng = random.Random(20261127)
    for case in range(60):
        prices = _prices(rng)
        capacity = rng.choice([4, 16, 1024])
        batches = [_rows(rng, rng.choice([1, 5, 50, 400]), prices, case % 2 == 0) for _ in range(6)]
        trades = np.zeros(3, event_dtype)
        trades["ev"] = [TRADE_BUY, SYNC_LOST_EVENT, TRADE_BUY]
        batches += [trades[:1], trades, np.zeros(0, event_dtype)]
        for form in range(4):
            want, got = _Book(capacity, _NEVER), _Book(capacity, _NEVER)
            for rows in batches:
                want.book.apply(rows)
                assert got.book.apply_touched(_forms(rows)[form]) is touches_book(rows)
                _same(got, want)
    if not plain():  # every layout went to one machine code: rows of another were copied, not compiled for
        assert len(apply_rows_touched.signatures) == 1


_WINDOWS = (1, 2, 7, 64, 2048)


def test_final_windows_leave_the_row_by_row_book_on_random_books() -> None:
    rng = random.Random(20261124)
    for case in range(150):
        prices = _prices(rng)
        orderly = case % 3 != 0
        capacity = rng.choice([4, 16, 64, 1024])
        single = _Book(capacity, 0)
        finals = [_Book(capacity, 0, window) for window in _WINDOWS]
        for _ in range(8):
            rows = _rows(rng, rng.choice([5, 50, 400, 3000]), prices, orderly)
            for book in (single, *finals):
                book.apply(rows)
            for book in finals:
                _same(book, single)


def test_final_windows_take_crossing_updates_one_by_one() -> None:
    # A bid above the best ask removes the asks it crosses, one by one; a window must not merge past it.
    rows = _run(SNAPSHOT_BID, [(99.0, 1.0), (100.0, 1.0)])
    rows = np.concatenate([rows, _run(SNAPSHOT_ASK, [(101.0, 1.0), (102.0, 1.0), (103.0, 1.0)])])
    rows = np.concatenate([rows, _run(DEPTH_BID, [(102.5, 2.0)]), _run(DEPTH_ASK, [(101.0, 3.0), (104.0, 1.0)])])
    single = _Book(64, 0)
    single.apply(rows)
    # 101 and 102 went with the crossing bid at 102.5; the ask back at 101 then took that bid
    assert single.book.counts.tolist() == [2, 3]
    for window in _WINDOWS:
        final = _Book(64, 0, window)
        final.apply(rows)
        _same(final, single)


def _side(prices: list[float], bids: bool = True, capacity: int = 64) -> tuple[np.ndarray, np.ndarray, int]:
    keys = np.zeros(capacity)
    qtys = np.zeros(capacity)
    ordered = sorted(p if bids else -p for p in prices)
    keys[: len(ordered)] = ordered
    qtys[: len(ordered)] = 1.0
    return keys, qtys, len(ordered)


def _run(ev: int, levels: list[tuple[float, float]]) -> EventArray:
    rows = np.zeros(len(levels), event_dtype)
    rows["ev"] = ev
    rows["px"] = [px for px, _ in levels]
    rows["qty"] = [qty for _, qty in levels]
    return rows


def test_merge_run_takes_a_clean_run_and_refuses_what_only_one_by_one_gets_right() -> None:
    bid_prices = [float(p) for p in range(90, 100)]
    ask_keys, _, n_ask = _side([float(p) for p in range(101, 111)], bids=False)
    clean = [(99.5, 1.0), (95.0, 0.0), (50.0, 2.0), (96.0, 3.0), (40.0, 0.0)]
    refused = {
        "price twice": [*clean, (50.0, 1.0)],
        "NaN price": [*clean, (float("nan"), 1.0)],
        "NaN quantity": [*clean, (60.0, float("nan"))],
        "crosses the best ask": [*clean, (101.0, 1.0)],
    }
    keys, qtys, n = _side(bid_prices)
    got = _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, clean), (0, len(clean)))
    assert got == 11  # +99.5 +50 +96 (update) -95 (40 was absent)
    assert keys[:got].tolist() == [50.0, 90, 91, 92, 93, 94, 96, 97, 98, 99, 99.5]
    assert qtys[:got].tolist() == [2.0, 1, 1, 1, 1, 1, 3.0, 1, 1, 1, 1.0]
    # removing a level at a crossing price crosses nothing
    keys, qtys, n = _side(bid_prices)
    removal = [*clean, (105.0, 0.0)]
    assert _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, removal), (0, len(removal))) == 11
    for why, levels in refused.items():
        keys, qtys, n = _side(bid_prices)
        before = keys.copy()
        assert _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, levels), (0, len(levels))) == -1, why
        assert keys.tobytes() == before.tobytes(), why
    keys, qtys, n = _side(bid_prices, capacity=12)
    assert _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, clean), (0, len(clean))) == -1  # no room
    keys, qtys, n = _side(bid_prices)
    keys[3] = 200.0  # a side out of order
    assert _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, clean), (0, len(clean))) == -1
    keys, qtys, n = _side([*bid_prices, 101.0])  # a book already crossed
    assert _merge_run(keys, qtys, n, ask_keys, n_ask, _run(DEPTH_BID, clean), (0, len(clean))) == -1


def _capture_batches() -> list[tuple[int, EventArray]]:
    batches = []
    for venue, normalizer, frames in (
        (0, BinanceNormalizer(), read_lines(SPOT_BTC_HEAD)),
        (0, BinanceNormalizer(), read_lines(USDM_BTC)[:8000]),
        (1, BybitNormalizer(), read_lines(BYBIT_SPOT[0])[:3000]),
    ):
        for local_ts, payload in frames:
            normalizer.on_message(payload, local_ts)
            rows = normalizer.sink.take()
            if len(rows):
                batches.append((venue, rows))
        batches.append((-1, np.zeros(0, event_dtype)))  # the next capture starts a fresh book
    return batches


def test_merged_runs_equal_row_by_row_on_captures() -> None:
    books = [_Book(64, 2), _Book(64, _NEVER), _Book(64, 0), _Book(64, 16)]  # 0: apply_rows_one_by_one
    for venue, rows in _capture_batches():
        if venue < 0:
            books = [_Book(64, 2), _Book(64, _NEVER), _Book(64, 0), _Book(64, 16)]
            continue
        for book in books:
            book.apply(rows)
        for book in books[:1] + books[2:]:
            _same(book, books[1])


def test_final_windows_leave_the_row_by_row_book_on_captures() -> None:
    windows = (2, 64, 2048)
    single, finals = _Book(64, 0), [_Book(64, 0, w) for w in windows]
    pending: list[EventArray] = []
    for venue, rows in _capture_batches():
        if venue >= 0:
            pending.append(rows)
            if len(pending) < 50:
                continue
        if pending:
            batch = np.concatenate(pending)
            pending.clear()
            for book in (single, *finals):
                book.apply(batch)
            for book in finals:
                _same(book, single)
        if venue < 0:
            single, finals = _Book(64, 0), [_Book(64, 0, w) for w in windows]


def test_bisect_lands_where_numpy_searchsorted_does() -> None:
    # level_update and _merge_run search with _bisect instead of np.searchsorted (a cheaper compile):
    # the same index on sorted sides, and on sides a NaN price left out of order, NaN keys included.
    rng = random.Random(8)
    for _ in range(3000):
        n = rng.randrange(0, 40)
        pool = [rng.choice([float("nan"), -float("inf"), float("inf"), -0.0, 0.0]) if rng.random() < 0.1
                else float(rng.randrange(-20, 20)) for _ in range(n + 1)]  # fmt: skip
        keys = np.array(sorted(pool[:n]) if rng.random() < 0.6 else pool[:n], np.float64)
        for key in (pool[n], float("nan"), rng.choice(keys.tolist() or [0.0])):
            padded = np.concatenate([keys, np.full(3, 7.0)])  # only keys[:n] is searched
            assert _bisect(padded, n, key) == int(np.searchsorted(keys, key)), (keys.tolist(), key)
