"""hftbacktest's backtester driven from Python through its library's ctypes functions, without its jitclass.

``HashMapMarketDepthBacktest(assets)`` wraps the backtester's address in a jitclass object whose constructor,
accessors and methods Numba compiles in every process that calls them from Python (none of it can be
cached): several seconds of CPU in each pytest worker for a test that only steps a backtest and reads its
book, state and orders. :class:`PlainBacktest` makes the same backtester (``arb.backtest.hbt_handle``) and
makes the calls those methods make (``hftbacktest.binding``: each jitclass method is one call of the
library's function of the same name), reading the state and order records it hands out in place, as
``numba.carray`` over the same address does. Nothing is compiled.
"""

from __future__ import annotations

__all__ = ["PlainBacktest", "PlainDepth"]

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
from hftbacktest import binding as b
from hftbacktest.order import order_dtype
from hftbacktest.types import state_values_dtype

from arb.backtest.hbt_handle import Backtester


def _record(address: int, dtype: np.dtype[Any]) -> Any:
    # A copy of the record of ``dtype`` the library keeps at ``address``
    raw = (ctypes.c_char * dtype.itemsize).from_address(address)
    return np.frombuffer(raw, dtype)[0].copy()


class PlainDepth:
    """``HashMapMarketDepth``'s calls on the depth at ``ptr``."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    @property
    def best_bid(self) -> float:
        return float(b.hashmapdepth_best_bid(self.ptr))

    @property
    def best_ask(self) -> float:
        return float(b.hashmapdepth_best_ask(self.ptr))

    @property
    def best_bid_tick(self) -> int:
        return int(b.hashmapdepth_best_bid_tick(self.ptr))

    @property
    def best_ask_tick(self) -> int:
        return int(b.hashmapdepth_best_ask_tick(self.ptr))

    def bid_qty_at_tick(self, tick: int) -> float:
        return float(b.hashmapdepth_bid_qty_at_tick(self.ptr, tick))

    def ask_qty_at_tick(self, tick: int) -> float:
        return float(b.hashmapdepth_ask_qty_at_tick(self.ptr, tick))


class PlainBacktest(Backtester):
    """``HashMapMarketDepthBacktest(assets)``'s calls that the tests make, from Python, uncompiled."""

    def __init__(self, assets: Sequence[Any]) -> None:
        super().__init__(assets)

    def depth(self, asset: int) -> PlainDepth:
        return PlainDepth(b.hashmapbt_depth(self.ptr, asset))

    def state_values(self, asset: int) -> Any:
        """The asset's ``state_values_dtype`` record (position, balance, fee, num_trades, ...), copied."""
        return _record(b.hashmapbt_state_values(self.ptr, asset), state_values_dtype)

    def submit_buy_order(self, asset: int, oid: int, px: float, qty: float, tif: int, kind: int, wait: bool) -> int:
        return int(b.hashmapbt_submit_buy_order(self.ptr, asset, oid, px, qty, tif, kind, wait))

    def submit_sell_order(self, asset: int, oid: int, px: float, qty: float, tif: int, kind: int, wait: bool) -> int:
        return int(b.hashmapbt_submit_sell_order(self.ptr, asset, oid, px, qty, tif, kind, wait))

    def clear_inactive_orders(self, asset: int) -> None:
        b.hashmapbt_clear_inactive_orders(self.ptr, asset)

    def order(self, asset: int, oid: int) -> Any:
        """The asset's order ``oid`` (an ``order_dtype`` record, copied), or None when it has none."""
        found = b.orders_get(b.hashmapbt_orders(self.ptr, asset), oid)
        return None if not found else _record(found, order_dtype)
