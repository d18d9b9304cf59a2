"""``book_times``: the distinct local times a venue's book or sync state changed, as np.unique gives them."""

from __future__ import annotations

import numpy as np

from arb.events import (
    DEPTH_ASK,
    DEPTH_BID,
    DEPTH_CLEAR_EVENT,
    EVENT_KIND_MASK,
    EXCH_EVENT,
    LOCAL_EVENT,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    TRADE_BUY,
    event_dtype,
)
from arb.recording.loader import _BOOK_KINDS, _distinct, book_times


def _reference(arrays: list[np.ndarray]) -> np.ndarray:
    parts = []
    for rows in arrays:
        local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
        kinds = local["ev"] & np.uint64(EVENT_KIND_MASK)
        parts.append(np.unique(local["local_ts"][np.isin(kinds, np.array(_BOOK_KINDS, np.uint64))]))
    return np.unique(np.concatenate(parts))


def test_book_times_equal_numpys_unique_on_ordered_and_unordered_rows() -> None:
    rng = np.random.default_rng(12)
    kinds = [DEPTH_BID, DEPTH_ASK, TRADE_BUY, DEPTH_CLEAR_EVENT | LOCAL_EVENT, SYNC_LOST_EVENT | LOCAL_EVENT,
             SYNC_RESTORED_EVENT | LOCAL_EVENT, DEPTH_BID & ~LOCAL_EVENT | EXCH_EVENT]  # fmt: skip
    for case in range(200):
        arrays = []
        for _ in range(rng.integers(1, 4)):
            n = int(rng.integers(0, 60))
            rows = np.zeros(n, event_dtype)
            rows["ev"] = rng.choice(np.array(kinds, np.uint64), n)
            ts = rng.integers(0, 30, n)
            rows["local_ts"] = np.sort(ts) if case % 3 else ts  # converted rows are ordered; others too
            arrays.append(rows)
        got = book_times(arrays)
        assert got.dtype == np.int64 and np.array_equal(got, _reference(arrays))
    assert _distinct(np.array([5, 5, 3], np.int64)).tolist() == [3, 5]
