"""hftbacktest's backtester as compiled code can call it and Numba can cache it: the entry points of its
library declared by symbol name.

hftbacktest's own binding calls its library through ctypes function objects and wraps what they return in
a jitclass object each. Numba cannot cache machine code that calls a ctypes object or takes a jitclass
instance (both are known only to the process that made them), so a loop written against ``hbt`` compiles
in every process: about 3 s of every ``arb backtest`` and of every sweep worker. Declared here as external
functions by name, with the library put in the process's symbol table first, the same calls are linked by
name, and the backtest loop compiles once per install; every later process loads it from Numba's cache.

Every function takes the backtester (``hbt.ptr`` of a :class:`hftbacktest.HashMapMarketDepthBacktest`), or
a depth or order map it handed out, as an integer address, and returns an address as an integer (0: none);
a boolean goes as a 0/1 byte. The signatures restate ``hftbacktest.binding``'s ctypes declarations
(``tests/unit/test_hbt_abi.py`` compares them), and the calls are the ones its jitclass methods make.
"""

from __future__ import annotations

__all__ = [
    "SIGNATURES",
    "bt_cancel",
    "bt_clear_inactive_orders",
    "bt_current_timestamp",
    "bt_depth",
    "bt_elapse",
    "bt_orders",
    "bt_position",
    "bt_state_values",
    "bt_submit_buy_order",
    "bt_submit_sell_order",
    "bt_wait_next_feed",
    "depth_ask_qty_at_tick",
    "depth_best_ask",
    "depth_best_ask_tick",
    "depth_best_bid",
    "depth_best_bid_tick",
    "depth_bid_qty_at_tick",
    "depth_tick_size",
    "orders_get",
]

from typing import Any

import llvmlite.binding as llvm
from hftbacktest import _hftbacktest
from numba import types

llvm.load_library_permanently(_hftbacktest.__file__)  # its symbols, for the names below to link to

_ADDR = types.uint64
_I64 = types.int64
_F64 = types.float64
_BYTE = types.uint8

SIGNATURES: dict[str, Any] = {
    # the backtester (``hbt.ptr``)
    "hashmapbt_current_timestamp": _I64(_ADDR),
    "hashmapbt_elapse": _I64(_ADDR, types.uint64),
    "hashmapbt_wait_next_feed": _I64(_ADDR, _BYTE, _I64),
    "hashmapbt_depth": _ADDR(_ADDR, types.uint64),
    "hashmapbt_orders": _ADDR(_ADDR, types.uint64),
    "hashmapbt_position": _F64(_ADDR, types.uint64),
    "hashmapbt_state_values": _ADDR(_ADDR, types.uint64),
    # asset, order id, price, qty, time in force, order type, wait
    "hashmapbt_submit_buy_order": _I64(_ADDR, types.uint64, types.uint64, _F64, _F64, _BYTE, _BYTE, _BYTE),
    "hashmapbt_submit_sell_order": _I64(_ADDR, types.uint64, types.uint64, _F64, _F64, _BYTE, _BYTE, _BYTE),
    "hashmapbt_cancel": _I64(_ADDR, types.uint64, types.uint64, _BYTE),
    "hashmapbt_clear_inactive_orders": _ADDR(_ADDR, types.uint64),
    # a depth (``hashmapbt_depth``)
    "hashmapdepth_tick_size": _F64(_ADDR),
    "hashmapdepth_best_bid_tick": _I64(_ADDR),
    "hashmapdepth_best_ask_tick": _I64(_ADDR),
    "hashmapdepth_best_bid": _F64(_ADDR),
    "hashmapdepth_best_ask": _F64(_ADDR),
    "hashmapdepth_bid_qty_at_tick": _F64(_ADDR, _I64),
    "hashmapdepth_ask_qty_at_tick": _F64(_ADDR, _I64),
    # an order map (``hashmapbt_orders``): the order's record, or 0
    "orders_get": _ADDR(_ADDR, types.uint64),
}


def _extern(name: str) -> Any:
    return types.ExternalFunction(name, SIGNATURES[name])


bt_current_timestamp = _extern("hashmapbt_current_timestamp")
bt_elapse = _extern("hashmapbt_elapse")
bt_wait_next_feed = _extern("hashmapbt_wait_next_feed")
bt_depth = _extern("hashmapbt_depth")
bt_orders = _extern("hashmapbt_orders")
bt_position = _extern("hashmapbt_position")
bt_state_values = _extern("hashmapbt_state_values")
bt_submit_buy_order = _extern("hashmapbt_submit_buy_order")
bt_submit_sell_order = _extern("hashmapbt_submit_sell_order")
bt_cancel = _extern("hashmapbt_cancel")
bt_clear_inactive_orders = _extern("hashmapbt_clear_inactive_orders")
depth_tick_size = _extern("hashmapdepth_tick_size")
depth_best_bid_tick = _extern("hashmapdepth_best_bid_tick")
depth_best_ask_tick = _extern("hashmapdepth_best_ask_tick")
depth_best_bid = _extern("hashmapdepth_best_bid")
depth_best_ask = _extern("hashmapdepth_best_ask")
depth_bid_qty_at_tick = _extern("hashmapdepth_bid_qty_at_tick")
depth_ask_qty_at_tick = _extern("hashmapdepth_ask_qty_at_tick")
orders_get = _extern("orders_get")
