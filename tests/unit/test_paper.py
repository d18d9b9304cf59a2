"""The paper executor: latency, IOC fills capped by the visible book, venue rejections with codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb.config import LegFaultRates, LegFaultsConfig
from arb.events import DEPTH_ASK, DEPTH_BID, empty_events
from arb.execution.leg_faults import FAULT_LATE, make_leg_faults
from arb.execution.paper import PaperExecutor, PaperOrder
from arb.strategy.types import BUY, INTENT_OPEN, SELL
from tests.support.paper_rig import answers, book, latency_config

MS = 1_000_000


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    return latency_config(tmp_path)


def executor(config, books, base=(1.0, 1.0), quote=(100_000.0, 100_000.0)) -> tuple[PaperExecutor, list[int]]:  # type: ignore[no-untyped-def]
    versions = [0, 0]
    ex = PaperExecutor(config.venues, books, lambda: (versions[0], versions[1]), base=base, quote=quote)
    return ex, versions


def test_order_arrives_after_entry_latency_and_is_answered_after_response_latency(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 1.0)]), book([], []))
    ex, _ = executor(config, books)
    order = ex.submit(0, BUY, 60010.0, 0.1, INTENT_OPEN, 1, 1_000 * MS)
    assert order.arrive_ts == 1_003 * MS and ex.open_counts.ravel().tolist() == [1, 0]
    assert answers(ex, 1_004 * MS) == []  # arrived and filled, not answered yet
    assert order.status == "filled" and order.fill_price == 60000.0 and order.fill_qty == pytest.approx(0.1)
    done = answers(ex, 1_005 * MS)
    assert done == [order] and order.respond_ts == 1_005 * MS and ex.open_counts.ravel().tolist() == [0, 0]
    assert order.fee == pytest.approx(0.1 * 60000.0 * 0.001)


def test_ioc_sweeps_levels_within_its_limit_and_expires_the_rest(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 0.1), (60001.0, 0.2), (60050.0, 5.0)]), book([], []))
    ex, _ = executor(config, books)
    order = ex.submit(0, BUY, 60001.0, 0.5, INTENT_OPEN, 1, 0)
    answers(ex, 10 * MS)
    # 0.1 @ 60000 + 0.2 @ 60001; 60050 is past the limit
    assert order.fill_qty == pytest.approx(0.3)
    assert order.fill_price == pytest.approx((0.1 * 60000 + 0.2 * 60001) / 0.3)


def _set_level(books, a: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]], versions) -> None:  # type: ignore[no-untyped-def]
    # The venue's book of asset ``a`` changes (a batch applied): its rows set these levels (0: removed)
    rows = empty_events(len(bids) + len(asks))
    for i, (px, qty) in enumerate(bids + asks):
        rows[i] = (DEPTH_BID if i < len(bids) else DEPTH_ASK, 0, 0, px, qty, 0, 0, 0.0)
    books[a].apply(rows)
    versions[a] += 1


def test_what_an_order_took_is_not_there_again_until_its_level_changes(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 0.1), (60001.0, 0.3)]), book([], []))
    ex, versions = executor(config, books)
    first = ex.submit(0, BUY, 60000.0, 0.08, INTENT_OPEN, 1, 0)
    second = ex.submit(0, BUY, 60000.0, 0.08, INTENT_OPEN, 2, 0)
    answers(ex, 10 * MS)
    assert first.fill_qty == pytest.approx(0.08) and second.fill_qty == pytest.approx(0.02)
    # the book changed elsewhere (a bid, another ask): 60000 still shows 0.1, all of which we took
    _set_level(books, 0, [(59990.0, 2.0)], [(60001.0, 0.4)], versions)
    third = ex.submit(0, BUY, 60000.0, 0.08, INTENT_OPEN, 3, 20 * MS)
    answers(ex, 30 * MS)
    assert third.status == "expired"
    # 60000 shows a new quantity: all of it is there again
    _set_level(books, 0, [], [(60000.0, 0.12)], versions)
    fourth = ex.submit(0, BUY, 60000.0, 0.08, INTENT_OPEN, 4, 40 * MS)
    answers(ex, 50 * MS)
    assert fourth.fill_qty == pytest.approx(0.08)


def test_a_level_that_leaves_and_comes_back_is_all_there_again(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 0.1), (60001.0, 0.3)]), book([], []))
    ex, versions = executor(config, books)
    first = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 0)
    answers(ex, 10 * MS)
    _set_level(books, 0, [], [(60000.0, 0.0)], versions)
    answers(ex, 11 * MS)  # the driver runs the venue past the change
    _set_level(books, 0, [], [(60000.0, 0.1)], versions)  # back, with the very quantity it had
    second = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 2, 20 * MS)
    answers(ex, 30 * MS)
    assert first.fill_qty == pytest.approx(0.1) and second.fill_qty == pytest.approx(0.1)


def test_a_sweep_takes_each_level_net_of_earlier_takes_at_its_own_price(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 0.1), (60001.0, 0.2), (60002.0, 0.5)]), book([], []))
    ex, _ = executor(config, books)
    level1 = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 0)
    level2 = ex.submit(0, BUY, 60002.0, 0.2, INTENT_OPEN, 1, 0)  # a child for level 2, limit past it
    answers(ex, 10 * MS)
    assert level1.fill_qty == pytest.approx(0.1) and level1.fill_price == 60000.0
    assert level2.fill_qty == pytest.approx(0.2) and level2.fill_price == 60001.0


def test_nothing_at_or_better_than_the_limit_expires(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 1.0)]), book([], []))
    ex, _ = executor(config, books)
    order = ex.submit(0, SELL, 59995.0, 0.1, INTENT_OPEN, 1, 0)
    answers(ex, 10 * MS)
    assert order.status == "expired" and order.fill_qty == 0.0


@pytest.mark.parametrize(
    ("venue", "side", "price", "qty", "code"),
    [
        (0, BUY, 60000.005, 0.1, -1013),  # Binance spot PRICE_FILTER
        (0, BUY, 60000.0, 0.123456, -1013),  # LOT_SIZE
        (0, BUY, 60000.0, 0.00005, -1013),  # NOTIONAL: 3 USDT < 5
        (0, SELL, 60000.0, 2.0, -2010),  # more base than held
        (1, BUY, 60000.05, 0.1, 170134),  # Bybit spot: price decimal too long
        (1, BUY, 60000.0, 0.1234567, 170137),  # quantity decimal too long
        (1, BUY, 60000.0, 0.00005, 170140),  # order value below the minimum
        (1, BUY, 60000.0, 5.0, 170131),  # insufficient quote
    ],
)
def test_rejections_carry_the_venues_own_codes(
    config, venue: int, side: int, price: float, qty: float, code: int
) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 9.0)], [(60000.0, 9.0)]), book([(59990.0, 9.0)], [(60000.0, 9.0)]))
    ex, _ = executor(config, books, quote=(100_000.0, 100_000.0))
    order = ex.submit(venue, side, price, qty, INTENT_OPEN, 1, 0)
    done = answers(ex, 10 * MS)
    assert done == [order] and order.status == "rejected"
    assert order.rejection is not None and order.rejection.code == code
    assert ex.venue_balances(venue) == ((1.0, 100_000.0))


def test_fills_change_the_venue_side_balances_and_later_checks_see_them(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 9.0)], [(60000.0, 9.0)]), book([], []))
    ex, _ = executor(config, books, base=(0.1, 0.0), quote=(1000.0, 0.0))
    sell = ex.submit(0, SELL, 59990.0, 0.1, INTENT_OPEN, 1, 0)
    again = ex.submit(0, SELL, 59990.0, 0.1, INTENT_OPEN, 2, 0)  # nothing left to sell
    answers(ex, 10 * MS)
    assert sell.status == "filled" and again.status == "rejected" and again.rejection.code == -2010  # type: ignore[union-attr]
    base, quote = ex.venue_balances(0)
    assert base == pytest.approx(0.0) and quote == pytest.approx(1000.0 + 5999.0 - 5.999)


def test_shutdown_cancels_orders_on_their_way_and_keeps_fills_already_made(config) -> None:  # type: ignore[no-untyped-def]
    books = (book([(59990.0, 1.0)], [(60000.0, 1.0)]), book([(59990.0, 1.0)], [(60000.0, 1.0)]))
    ex, _ = executor(config, books)
    arrived = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 0)
    ex.run_until(4 * MS, lambda o: None)  # arrived (3 ms) and filled, answer due at 5 ms
    on_its_way = ex.submit(1, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 4 * MS)
    told: list[PaperOrder] = []
    assert ex.cancel_all(told.append) == 1
    assert told == [arrived] and arrived.status == "filled"
    assert on_its_way.status == "canceled" and ex.next_event_ts() is None and ex.open_counts.ravel().tolist() == [0, 0]
    assert np.isclose(ex.venue_balances(1)[0], 1.0)


def test_an_order_unanswered_past_the_request_timeout_is_unknown_until_answered(config) -> None:  # type: ignore[no-untyped-def]
    # Every Bybit leg 250 ms late; with entry 3 ms and response 2 ms it is answered 255 ms after it
    # was sent: unknown from 100 ms (the request timeout) until then, as arb live counts it.
    faults = make_leg_faults(LegFaultsConfig(seed=1, venues={"bybit": LegFaultRates(late=1.0, late_ns=250 * MS)}))
    books = (book([(59990.0, 1.0)], [(60000.0, 1.0)]), book([(60300.0, 1.0)], [(60400.0, 1.0)]))
    versions = [0, 0]
    ex = PaperExecutor(config.venues, books, lambda: (versions[0], versions[1]), base=(1.0, 1.0),
                       quote=(100_000.0, 100_000.0), leg_faults=faults, request_timeout_ns=100 * MS)  # fmt: skip
    ex.submit(0, BUY, 60010.0, 0.01, INTENT_OPEN, 1, 1_000 * MS)  # not late: answered at 1.005 s
    late = ex.submit(1, SELL, 60290.0, 0.01, INTENT_OPEN, 1, 1_000 * MS)
    assert late.fault == FAULT_LATE and late.arrive_ts == 1_253 * MS
    assert len(answers(ex, 1_099 * MS)) == 1 and ex.unknown_counts.tolist() == [0, 0]  # not yet timed out
    answers(ex, 1_100 * MS)
    assert ex.unknown_counts.tolist() == [0, 1] and ex.open_counts.ravel().tolist() == [0, 1]
    answers(ex, 1_254 * MS)  # arrived (and filled), not answered yet: still unknown
    assert ex.unknown_counts.tolist() == [0, 1]
    assert answers(ex, 1_255 * MS) == [late] and ex.unknown_counts.tolist() == [0, 0]


def test_without_a_request_timeout_no_order_is_unknown(config) -> None:  # type: ignore[no-untyped-def]
    faults = make_leg_faults(LegFaultsConfig(seed=1, venues={"bybit": LegFaultRates(late=1.0, late_ns=250 * MS)}))
    books = (book([], []), book([(60300.0, 1.0)], [(60400.0, 1.0)]))
    ex = PaperExecutor(config.venues, books, lambda: (0, 0), base=(1.0, 1.0), quote=(100_000.0, 100_000.0),
                       leg_faults=faults)  # fmt: skip
    ex.submit(1, SELL, 60290.0, 0.01, INTENT_OPEN, 1, 1_000 * MS)
    answers(ex, 1_200 * MS)
    assert ex.open_counts.ravel().tolist() == [0, 1] and ex.unknown_counts.tolist() == [0, 0]
