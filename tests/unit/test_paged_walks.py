"""The page walks the venue adapters share: a private list served a cursor at a time
(``connectors.common.ccxt_venue.cursor_pages``: Bybit's executions, OKX's fills) and a funding history
served oldest first (``VenueFundingHistory.walk_forward``: Binance's, Hyperliquid's)."""

from __future__ import annotations

from typing import Any, cast

from connectors.common.ccxt_venue import cursor_pages
from connectors.common.history import FundingRecord, VenueFundingHistory


def _served(pages: dict[str, tuple[list[int], str]]) -> tuple[list[str], Any]:
    # a venue serving ``pages`` by cursor, and the cursors it was asked for
    asked: list[str] = []

    async def page_at(cursor: str) -> tuple[list[int], str]:
        asked.append(cursor)
        return pages[cursor]

    return asked, page_at


async def test_full_pages_are_followed_until_a_short_one() -> None:
    asked, page_at = _served({"": ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5], "c")})
    assert await cursor_pages(page_at, 2) == [1, 2, 3, 4, 5]
    assert asked == ["", "a", "b"]


async def test_a_page_without_a_next_cursor_or_with_one_seen_before_is_the_last() -> None:
    asked, page_at = _served({"": ([1, 2], "a"), "a": ([3, 4], "")})
    assert await cursor_pages(page_at, 2) == [1, 2, 3, 4]
    asked, page_at = _served({"": ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5, 6], "a")})
    assert await cursor_pages(page_at, 2) == [1, 2, 3, 4, 5, 6]  # "a" again: a venue that loops
    assert asked == ["", "a", "b"]


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
