"""hftbacktest's backtester as Python holds it: its address and the three calls Python makes on it.

hftbacktest's ``HashMapMarketDepthBacktest(assets)`` wraps the backtester's address in a jitclass object,
which Numba compiles (constructor, accessors, methods) in every process that makes one: about 2 s of CPU
in every ``arb backtest``, cached or not. The compiled loop takes only the address
(:mod:`arb.backtest.hbt_abi`), so Python keeps the address and calls the library's ctypes functions.
"""

from __future__ import annotations

__all__ = ["Backtester"]

from collections.abc import Sequence
from typing import Any

from hftbacktest import _hftbacktest
from hftbacktest.binding import hashmapbt_close, hashmapbt_current_timestamp, hashmapbt_elapse


class Backtester:
    """hftbacktest's ``HashMapMarketDepthBacktest`` over ``assets`` without its jitclass: the backtester's
    address (``ptr``, what the compiled loop takes) and the calls Python makes on it, through the
    library's ctypes functions. The backtester is the same; only the wrapper differs."""

    def __init__(self, assets: Sequence[Any]) -> None:
        self.ptr: int = _hftbacktest.build_hashmap_backtest(list(assets))

    @property
    def current_timestamp(self) -> int:
        """The backtester's local time now, ns."""
        return int(hashmapbt_current_timestamp(self.ptr))

    def elapse(self, duration: int) -> int:
        """Move the local time on by ``duration`` ns; hftbacktest's code (0 ok, 1 end of data, < 0 error)."""
        return int(hashmapbt_elapse(self.ptr, duration))

    def close(self) -> int:
        """Free the backtester (once); hftbacktest's code."""
        return int(hashmapbt_close(self.ptr))
