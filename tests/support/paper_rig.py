"""The paper executor's test rig: books built from price levels, a configuration with order latency,
and the answers an executor gives up to a time."""

from __future__ import annotations

__all__ = ["answers", "book", "latency_config"]

from pathlib import Path

from arb.book import OrderBook
from arb.config import AppConfig, load_config
from arb.events import DEPTH_ASK, DEPTH_BID, empty_events
from arb.execution.paper import PaperExecutor, PaperOrder
from arb.testing.configs import write_config_files


def book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> OrderBook:
    """A book holding the (price, qty) levels ``bids`` and ``asks``."""
    rows = empty_events(len(bids) + len(asks))
    for i, (px, qty) in enumerate(bids):
        rows[i] = (DEPTH_BID, 0, 0, px, qty, 0, 0, 0.0)
    for i, (px, qty) in enumerate(asks):
        rows[len(bids) + i] = (DEPTH_ASK, 0, 0, px, qty, 0, 0, 0.0)
    b = OrderBook()
    b.apply(rows)
    return b


def latency_config(folder: Path) -> AppConfig:
    """The sample configuration written in ``folder``, both venues at 3 ms order entry and 2 ms response."""
    latency = {"order_entry_ms": 3.0, "order_response_ms": 2.0}
    return load_config(
        write_config_files(folder, binance_overrides={"latency": latency}, bybit_overrides={"latency": latency})
    )


def answers(ex: PaperExecutor, until: int) -> list[PaperOrder]:
    """The orders ``ex`` answers from now up to ``until`` (ns), in the order it answered them."""
    got: list[PaperOrder] = []
    ex.run_until(until, got.append)
    return got
