"""The fake venues' own book (``arb.sim.book``): levels kept as the wire spells them, ordered by value, removed by
any spelling of a zero quantity, a malformed number refused."""

from __future__ import annotations

import pytest

from arb.sim.book import PriceLevelBook


def test_levels_keep_their_spelling_order_by_value_and_any_zero_removes_one() -> None:
    book = PriceLevelBook()
    book.apply([["61837.63000000", "1.5"], ["61837.7", "0.25"], ["9999.9", "3"]], [["61838.00", "2"], ["61900", "1"]])
    assert book.bids() == [("61837.7", "0.25"), ("61837.63000000", "1.5"), ("9999.9", "3")]
    assert book.asks(1) == [("61838.00", "2")]
    # the same price spelled otherwise is the same level; each spelling of zero removes it
    book.apply([["61837.70", "0.5"]], [["61838", "0.00000000"]])
    assert book.bids(1) == [("61837.70", "0.5")] and book.asks() == [("61900", "1")]
    for zero in ("0", "0.", "00.000", "0E-8", "-0"):
        book.apply([["9999.9", "3"]], [])
        book.apply([["9999.9", zero]], [])
        assert ("9999.9", "3") not in book.bids(), zero
    book.apply([["1.0", "0.001"], ["2", "10"]], [])
    assert book.bids()[-2:] == [("2", "10"), ("1.0", "0.001")]


@pytest.mark.parametrize("bad", ["", ".", "abc", "0x", "1..2"])
def test_a_malformed_price_or_quantity_is_refused_and_leaves_the_book(bad: str) -> None:
    book = PriceLevelBook()
    book.apply([["100", "1"]], [])
    with pytest.raises(ValueError, match="not a decimal number"):
        book.apply([["100", bad]], [])
    with pytest.raises(ValueError, match="not a decimal number"):
        book.apply([[bad, "1"]], [])
    assert book.bids() == [("100", "1")]
