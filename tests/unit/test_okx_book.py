"""The array book of wire strings (connectors/okx/book.py) against a plain model: the same levels, the
same texts, and a compiled CRC-32 equal to zlib's, whatever the depth, the text lengths and the order of
the changes."""

from __future__ import annotations

import numpy as np

from connectors.okx.book import grow
from connectors.okx.checksum import LevelBook, checksum


def _model_apply(model: dict[float, tuple[str, str]], levels: list[list[str]]) -> None:
    for px, sz in levels:
        if float(sz) == 0:
            model.pop(float(px), None)
        else:
            model[float(px)] = (px, sz)


def _best(model: dict[float, tuple[str, str]], bids: bool, n: int) -> list[tuple[str, str]]:
    return [model[k] for k in sorted(model, reverse=bids)[:n]]


def test_random_changes_keep_the_book_and_its_checksum_equal_to_the_model() -> None:
    rng = np.random.default_rng(11)
    sizes = ["0", "0", "1", "0.5", "12.25", "0.00000001", "123456789.123456789", "7" * 40, "٣"]  # Arabic-Indic 3
    book = LevelBook()
    bids: dict[float, tuple[str, str]] = {}
    asks: dict[float, tuple[str, str]] = {}
    book.reset([], [])
    for step in range(300):
        changes: list[list[list[str]]] = []
        for _ in range(2):
            ticks = rng.integers(0, 120, int(rng.integers(0, 25)))  # unsorted, repeats: applied in order
            changes.append(
                [[f"{(1000 - t if not changes else 1001 + t) / 4}", str(rng.choice(sizes))] for t in ticks.tolist()]
            )
        book.apply(changes[0], changes[1])
        _model_apply(bids, changes[0])
        _model_apply(asks, changes[1])
        assert book.depth == (len(bids), len(asks)), step
        assert book.bids(200) == _best(bids, True, 200) and book.asks(200) == _best(asks, False, 200), step
        assert book.checksum() == checksum(_best(bids, True, 25), _best(asks, False, 25)), step
    assert book.state[2].shape[1] > 32 and book.state[0].shape[1] > 32  # it grew, in width and depth


def test_a_respelled_price_replaces_the_level_and_growing_keeps_everything() -> None:
    book = LevelBook()
    book.reset([["3366", "6", "0", "1"], ["3366.1", "7", "0", "1"]], [["3366.8", "9", "0", "1"], ["3368", "8"]])
    assert book.checksum() == -1881014294  # OKX's documented vector
    book.apply([["3366.0", "6"]], [])
    assert book.bids(5) == [("3366.1", "7"), ("3366.0", "6")] and book.known
    before = book.bids(5), book.asks(5), book.checksum()
    book.state = grow(book.state, 500, 100)
    assert (book.bids(5), book.asks(5), book.checksum()) == before and book.known
    book.apply([["3366.1", "0"]], [["3368", "0"], ["3369", "1"]])
    assert book.bids(5) == [("3366.0", "6")] and book.asks(5) == [("3366.8", "9"), ("3369", "1")]
