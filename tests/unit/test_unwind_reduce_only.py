"""An unwind on a perpetual goes out reduce-only, as the kill switch's flatten does: a lone leg's reversal
may only shrink the position there, so a position other than the engine thinks (a fill it has not seen)
makes the venue refuse it rather than open one the other way. An opening leg or a hedge never is.

The engine runs the real kernel on two linear venues; its executor answers at once: the buy leg fills,
the sell leg is refused, so the kernel unwinds the buy (``hedge_mode = "unwind"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arb.config import AppConfig, load_config
from arb.events import DEPTH_ASK, DEPTH_BID, EXCH_EVENT, LOCAL_EVENT, empty_events
from arb.execution.paper import OrderStatus, PaperOrder, Rejection
from arb.live.engine import Engine
from arb.live.recorded_source import ReplayBatch
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_UNWIND, SELL
from arb.testing.configs import local_endpoints, write_config_files
from connectors.common.normalizer import SyncState
from tests.support.captures import AnsweringExecutor

MS = 1_000_000
T0 = 1_700_000_000_000 * MS
BINANCE, BYBIT = 0, 1


class _SellsRefused(AnsweringExecutor):
    """An executor answering at once: every buy fills at its price, every sell is refused."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[int, int, int, bool]] = []
        """(venue, side, kind, reduce_only) of each order."""

    def submit(self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int,
               symbol: int = 0, *, reduce_only: bool = False) -> Any:  # fmt: skip
        self.sent.append((venue, side, kind, reduce_only))
        filled = side == BUY
        order = PaperOrder(
            order_id=len(self.sent), venue=venue, side=side, price=price, qty=qty, kind=kind, pair_id=pair_id,
            symbol_index=symbol, sent_ts=now, respond_ts=now, arrive_ts=now,
            status=OrderStatus.FILLED if filled else OrderStatus.REJECTED, fill_qty=qty if filled else 0.0,
            fill_price=price,
            fee=0.0, rejection=None if filled else Rejection(-2019, "Margin is insufficient."),
        )  # fmt: skip
        self._answers.append(order)
        return order


def _config(folder: Path, hedge_mode: str) -> AppConfig:
    venue = {**local_endpoints("ws://127.0.0.1:9/ws", "http://127.0.0.1:9", market="linear"), "feed": {}}
    sections = {"execution": {"hedge_mode": hedge_mode}, "risk": {"stale_after_ms": 60_000}}
    files = write_config_files(folder, binance_overrides=venue, bybit_overrides=venue, arbitrage_overrides=sections)
    return load_config(files)


def _book(venue: int, ts: int, bid: float, ask: float) -> ReplayBatch:
    rows = empty_events(2)
    rows[0] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_BID, ts, ts, bid, 1.0, 0, 0, 0.0)
    rows[1] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_ASK, ts, ts, ask, 1.0, 0, 0, 0.0)
    return ReplayBatch(venue, rows, ts, SyncState.SYNCED, symbol="BTCUSDT")


@pytest.mark.parametrize(("mode", "closer"), [("unwind", INTENT_UNWIND), ("hedge", INTENT_HEDGE)])
def test_a_lone_legs_unwind_on_a_perpetual_is_reduce_only_and_nothing_else_is(
    tmp_path: Path, mode: str, closer: int
) -> None:
    executor = _SellsRefused()
    engine = Engine(_config(tmp_path, mode), executor=executor)
    # Binance 59990 / 60000, Bybit 60300 / 60310: buy on Binance, sell on Bybit; the sell is refused
    engine.on_batches(T0, [_book(BINANCE, T0, 59990.0, 60000.0), _book(BYBIT, T0, 60300.0, 60310.0)])
    opening = [(v, side, reduce) for v, side, kind, reduce in executor.sent if kind == INTENT_OPEN]
    assert sorted(opening) == [(BINANCE, BUY, False), (BYBIT, SELL, False)]
    closing = [(v, side, kind, reduce) for v, side, kind, reduce in executor.sent if kind != INTENT_OPEN]
    assert closing, "the kernel did not close the lone leg"
    v, side, kind, reduce_only = closing[0]
    assert side == SELL and kind == closer
    # unwind: a sell on Binance, where the lone buy left a long: it can only shrink it. Hedge: a sell on
    # Bybit, which holds nothing: it opens a short there
    assert (v, reduce_only) == ((BINANCE, True) if mode == "unwind" else (BYBIT, False))
