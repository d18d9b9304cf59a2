"""A venue executor forgets the orders it is long done with (``arb.execution.done_orders``): its maps stay
the size of the last minutes' orders however long ``arb live`` runs."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from arb.execution.done_orders import DoneOrders
from arb.execution.live_executor import LiveExecutor
from arb.execution.orders import LiveOrder
from connectors.common.orders import VenueFill

NS_PER_S = 1_000_000_000


def _order(i: int) -> LiveOrder:
    order = LiveOrder(order_id=i, client_id=f"arb-{i}", venue=0, side=1, price=60_000.0, qty=0.01, kind=1,
                      pair_id=i, sent_ts=i, symbol="BTCUSDT", venue_order_id=f"v{i}", price_text="60000",
                      qty_text="0.01")  # fmt: skip
    order.fills[f"t{i}"] = VenueFill(f"t{i}", order.client_id, order.venue_order_id, 1, Decimal(60_000),
                                     Decimal("0.01"), Decimal(0), "USDT", 0, symbol="BTCUSDT")  # fmt: skip
    order.answered = True
    return order


def _maps() -> tuple[dict[str, LiveOrder], dict[tuple[str, str], LiveOrder], set[tuple[str, str]]]:
    return {}, {}, set()


def test_orders_done_longer_than_the_window_are_forgotten_with_their_ids_and_trades() -> None:
    orders, by_venue_id, seen = _maps()
    done = DoneOrders(orders, by_venue_id, seen, keep_ns=60 * NS_PER_S, min_kept=10)
    for i in range(10_000):  # one order a second for almost three hours
        order = _order(i)
        orders[order.client_id], by_venue_id[("BTCUSDT", order.venue_order_id)] = order, order
        seen.add(("BTCUSDT", f"t{i}"))
        done.done(order, i * NS_PER_S)
    assert len(orders) == len(by_venue_id) == len(seen) == len(done) == 61  # the last minute's, and the one at its edge
    assert "arb-9999" in orders and "arb-9938" not in orders and ("BTCUSDT", "t9939") in seen
    assert done.forgotten == Counter({"BTCUSDT": 10_000 - 61})


def test_a_reopened_order_is_kept_and_the_newest_are_kept_however_old() -> None:
    orders, by_venue_id, seen = _maps()
    done = DoneOrders(orders, by_venue_id, seen, keep_ns=NS_PER_S, min_kept=3)
    reopened = _order(0)
    orders[reopened.client_id] = reopened
    done.done(reopened, 0)
    reopened.answered = False  # the venue showed it after a "not found" verdict: in flight again
    for i in range(1, 6):
        order = _order(i)
        orders[order.client_id] = order
        done.done(order, i * 100 * NS_PER_S)
    assert set(orders) == {"arb-0", "arb-3", "arb-4", "arb-5"}


def test_the_runs_order_counts_add_the_forgotten_orders() -> None:
    held = {"arb-9": SimpleNamespace(symbol="BTCUSDT")}
    venue: Any = SimpleNamespace(index=0, in_flight={}, markets=(0,), guard=SimpleNamespace(on_block=None,
        rate_limited=0), blocked_until_ns=0, departures=None, on_done=None, on_quote=None, on_change=None,
        orders=held, done_orders=SimpleNamespace(forgotten=Counter({"BTCUSDT": 8})), next_order_id=10, counters={},
        stream_reconnects=0, venue="binance", market="spot")  # fmt: skip
    other: Any = SimpleNamespace(**{**vars(venue), "index": 1, "orders": {}, "venue": "bybit",
                                    "done_orders": SimpleNamespace(forgotten=Counter())})  # fmt: skip
    assert LiveExecutor([venue, other]).summary()["orders_per_symbol"] == {"BTCUSDT": 9}
