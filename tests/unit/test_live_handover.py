"""The live executor's answer hand-over to the engine: an order is open until the engine has seen its end."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from arb.execution.live import LiveExecutor
from arb.execution.orders import OrderState


def test_an_order_done_on_the_venue_counts_as_open_until_the_engine_is_handed_its_answer() -> None:
    # The engine may decide at a book update that arrived before the answer: if the order stopped
    # counting as open when the venue answered, a complete pair would look like a lone leg.
    venues: list[Any] = [SimpleNamespace(index=0, in_flight={}), SimpleNamespace(index=1, in_flight={})]
    executor = LiveExecutor(venues)
    order = SimpleNamespace(venue=1, respond_ts=100, state=OrderState.FILLED)
    venues[1].on_done(order)  # the venue executor removed it from in_flight and reported it done
    assert executor.open_orders == [0, 1] and executor.next_event_ts() == 100
    seen: list[Any] = []
    executor.run_until(99, seen.append)  # a decision at a book update received before the answer
    assert seen == [] and executor.open_orders == [0, 1]
    executor.run_until(100, seen.append)
    assert seen == [order] and executor.open_orders == [0, 0]
    venues[0].on_done(SimpleNamespace(venue=0, respond_ts=200, state=OrderState.REJECTED))
    assert executor.open_orders == [1, 0]
    assert executor.cancel_all(seen.append) == 0 and len(seen) == 2 and executor.rejections
