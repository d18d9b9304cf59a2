"""Refused orders are counted, not kept (``arb.execution.rejections``): a venue that refuses order after
order for weeks costs the executors a counter, not a list."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from arb.execution.live_executor import LiveExecutor
from arb.execution.rejections import KEEP_REJECTED, Rejections
from connectors.common.orders import OrderState


def _venue(index: int) -> Any:
    guard = SimpleNamespace(on_block=None, rate_limited=0)
    return SimpleNamespace(index=index, in_flight={}, markets=(0,), guard=guard, blocked_until_ns=0, departures=None,
                           on_done=None, on_quote=None, on_change=None)  # fmt: skip


def test_every_refusal_is_counted_with_its_code_and_only_the_newest_are_held() -> None:
    rejections: Rejections[Any] = Rejections(keep=10)
    for i in range(10_000):
        rejections.append(SimpleNamespace(order_id=i, rejection=SimpleNamespace(code=-2010 if i % 2 else "local")))
    rejections.append(SimpleNamespace(order_id=10_000, rejection=None))
    assert len(rejections) == 10_001 and rejections.codes == {-2010, "local"}
    assert [o.order_id for o in rejections] == list(range(9_991, 10_001))


def test_the_live_executor_holds_a_bounded_number_of_refused_orders_and_reports_them_all() -> None:
    venues = [_venue(0), _venue(1)]
    executor = LiveExecutor(venues)
    for i in range(5 * KEEP_REJECTED):
        order = SimpleNamespace(venue=0, symbol_index=0, respond_ts=i, state=OrderState.REJECTED, order_id=i,
                                rejection=SimpleNamespace(code=-2010))  # fmt: skip
        venues[0].on_done(order)
    assert len(executor.rejections) == 5 * KEEP_REJECTED and len(list(executor.rejections)) == KEEP_REJECTED
    assert executor.rejections.codes == {-2010}
