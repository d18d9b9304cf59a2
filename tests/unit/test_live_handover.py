"""The live executor's answer hand-over to the engine: an order is open until the engine has seen its end."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from arb.execution.live_executor import LiveExecutor
from arb.execution.orders import OrderState


def _venue(index: int, in_flight: Any, markets: tuple[int, ...] = (0,)) -> SimpleNamespace:
    """A venue executor as the live executor uses one: its number, orders in flight, markets, rate guard
    and the callbacks the live executor sets."""
    guard = SimpleNamespace(on_block=None)
    return SimpleNamespace(index=index, in_flight=in_flight, markets=markets, guard=guard, blocked_until_ns=0,
                           departures=None, on_done=None, on_quote=None, on_change=None)  # fmt: skip


def test_an_order_done_on_the_venue_counts_as_open_until_the_engine_is_handed_its_answer() -> None:
    # The engine may decide at a book update that arrived before the answer: if the order stopped
    # counting as open when the venue answered, a complete pair would look like a lone leg.
    venues: list[Any] = [_venue(0, {}), _venue(1, {})]
    executor = LiveExecutor(venues)
    order = SimpleNamespace(venue=1, symbol_index=0, respond_ts=100, state=OrderState.FILLED)
    venues[1].on_done(order)  # the venue executor removed it from in_flight and reported it done
    assert executor.open_counts.ravel().tolist() == [0, 1] and executor.next_event_ts() == 100
    seen: list[Any] = []
    executor.run_until(99, seen.append)  # a decision at a book update received before the answer
    assert seen == [] and executor.open_counts.ravel().tolist() == [0, 1]
    executor.run_until(100, seen.append)
    assert seen == [order] and executor.open_counts.ravel().tolist() == [0, 0]
    venues[0].on_done(
        SimpleNamespace(venue=0, symbol_index=0, respond_ts=200, state=OrderState.REJECTED, rejection=None)
    )
    assert executor.open_counts.ravel().tolist() == [1, 0]
    assert executor.cancel_all(seen.append) == 0 and len(seen) == 2 and executor.rejections


def test_the_counts_the_engine_reads_are_updated_in_place_when_an_order_or_a_block_changes() -> None:
    # The engine hands these arrays to the compiled step as they are: they must be the same objects,
    # kept current by the executor, never rebuilt.
    venues: list[Any] = [_venue(v, [], markets=(0, 1)) for v in (0, 1)]
    executor = LiveExecutor(venues)
    open_counts, unknown_counts, blocked = executor.open_counts, executor.unknown_counts, executor.blocked_until_ns
    assert open_counts.shape == (2, 2) and unknown_counts.shape == (2,) and blocked.shape == (2,)
    assert str(open_counts.dtype) == str(unknown_counts.dtype) == str(blocked.dtype) == "int64"
    order = SimpleNamespace(venue=1, symbol_index=1, respond_ts=100, state=OrderState.SENT)
    venues[1].in_flight.append(order)
    venues[1].on_change()  # the venue executor sent it
    assert open_counts.tolist() == [[0, 0], [0, 1]] and unknown_counts.tolist() == [0, 0]
    assert executor.open_counts.ravel().tolist() == [0, 0, 0, 1]
    order.state = OrderState.UNKNOWN
    venues[1].on_change()  # no answer in time
    assert unknown_counts.tolist() == [0, 1] and executor.unknown_counts.tolist() == [0, 1]
    order.state = OrderState.FILLED
    venues[1].in_flight.remove(order)
    venues[1].on_done(order)  # found out by query: done, not yet handed over
    assert open_counts.tolist() == [[0, 0], [0, 1]] and unknown_counts.tolist() == [0, 0]
    executor.run_until(100, lambda answer: None)
    assert open_counts.tolist() == [[0, 0], [0, 0]]
    venues[0].guard.on_block(5_000)  # the rate guard of venue 0 blocks it
    assert blocked.tolist() == [5_000, 0]
    assert executor.open_counts is open_counts and executor.unknown_counts is unknown_counts
    assert executor.blocked_until_ns is blocked
