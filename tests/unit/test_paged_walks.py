"""The page walks the venue adapters share: a funding history served oldest first
(``VenueFundingHistory.walk_forward``: Binance's, Hyperliquid's)."""

from __future__ import annotations

from typing import Any, cast

from connectors.common.history import FundingRecord, VenueFundingHistory


class _History(VenueFundingHistory):
    venue = "test"
    path = "/funding"
    default_page = 2


def _history() -> VenueFundingHistory:
    return _History("http://127.0.0.1:1", cast(Any, None))  # the walk asks its pages of the test, not the getter


async def test_a_history_served_oldest_first_is_walked_forward_within_the_span() -> None:
    served = {10: [(10, "r1", "m1"), (20, "r2", "")], 21: [(30, "r3", ""), (40, "r4", "")], 41: [(50, "r5", "")]}
    asked: list[int] = []

    async def page_from(since: int) -> list[tuple[int, str, str]]:
        asked.append(since)
        return served[since]

    records = await _history().walk_forward(10, 45, page_from, lambda since: None)
    assert asked == [10, 21, 41]
    assert records == [FundingRecord(t * 1_000_000, r, m) for t, r, m in [*served[10], *served[21]]]


async def test_a_full_page_older_than_its_start_stops_the_walk() -> None:
    stalled: list[int] = []

    async def page_from(since: int) -> list[tuple[int, str, str]]:
        return [(1, "r1", ""), (2, "r2", "")] if since == 10 else []

    assert await _history().walk_forward(10, 45, page_from, stalled.append) == []
    assert stalled == [10]
