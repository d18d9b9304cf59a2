"""The fake venues' own book (``arb.sim.book``): levels kept as the wire spells them, ordered by value, removed by
any spelling of a zero quantity, a malformed number refused."""

from __future__ import annotations

import random
from decimal import Decimal

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


@pytest.mark.parametrize(
    "qty",
    ["0", "0.", ".0", "00.000", "0.00000000", "0E-8", "0e5", "-0", "+0", "-0.0", " 0", "0 ", "0_0", "\u0660",
     "\uff10.0", "0.1", "00.01", ".5", "5.", "1", "10", "1E-8", "0E1", "1_0", "\u0661", "-1", "NaN", "Infinity"],
)  # fmt: skip
def test_a_quantity_is_zero_exactly_when_its_decimal_is_whatever_its_spelling(qty: str) -> None:
    # plain ASCII digits are read off their spelling, any other spelling as a Decimal: the two agree
    book = PriceLevelBook()
    book.apply([["100", "1"]], [["101", "1"]])
    book.apply([["100", qty]], [["101", qty]])
    if Decimal(qty).is_zero():
        assert book.bids() == [] and book.asks() == []
    else:
        assert book.bids() == [("100", qty)] and book.asks() == [("101", qty)]


@pytest.mark.parametrize("bad", ["\u00b2", "0..0", "..", "0.0.", "1.2.3", "0x0", "0 0"])
def test_a_malformed_quantity_that_looks_like_digits_is_refused(bad: str) -> None:
    book = PriceLevelBook()
    book.apply([["100", "1"]], [])
    with pytest.raises(ValueError, match="not a decimal number"):
        book.apply([["100", bad]], [])
    assert book.bids() == [("100", "1")]


@pytest.mark.parametrize("seed", range(6))
def test_reads_between_any_updates_give_the_book_a_sorted_dict_gives(seed: int) -> None:
    # the order is brought up to date when a side is read: after a few moved prices or many, a price
    # removed and put back, another spelling of one, as a dict sorted at every read would give
    rng = random.Random(seed)
    book = PriceLevelBook()
    truth: dict[str, dict[Decimal, tuple[str, str]]] = {"bid": {}, "ask": {}}
    for _ in range(300):
        changes: dict[str, list[list[str]]] = {"bid": [], "ask": []}
        for _ in range(rng.choice([1, 3, 20, 80])):
            side = rng.choice(["bid", "ask"])
            cents = rng.randrange(1000, 1100)
            price = rng.choice([f"{cents / 100:.2f}", f"{cents / 100:.8f}", str(Decimal(cents) / 100)])
            qty = rng.choice(["0", "0.000", "0E-8", f"{rng.randrange(1, 500) / 1000:.3f}"])
            changes[side].append([price, qty])
            levels = truth[side]
            levels.pop(Decimal(price), None)
            if not Decimal(qty).is_zero():
                levels[Decimal(price)] = (price, qty)
        book.apply(changes["bid"], changes["ask"])
        if rng.random() < 0.5:
            depth = rng.choice([None, 1, 5, 500])
            bids = [truth["bid"][k] for k in sorted(truth["bid"], reverse=True)]
            asks = [truth["ask"][k] for k in sorted(truth["ask"])]
            assert book.bids(depth) == bids[:depth] and book.asks(depth) == asks[:depth]
