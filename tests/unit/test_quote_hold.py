"""The engine holds a quote's side back after the venue refuses the quote (a post-only order that would have
taken: the view it was priced on lagged the venue's book), until the view shows a book the refused price
would cross or ``[strategy] quote_hold_ms`` passes, so the same crossing quote is not sent again and again.

The executor here refuses every quote the moment it is sent, as Binance answers a ``LIMIT_MAKER`` that would
take (``-2010``): without the hold the engine would send the same two quotes again at once, round after
round, on the same view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arb.config import AppConfig, load_config
from arb.events import DEPTH_ASK, DEPTH_BID, EXCH_EVENT, LOCAL_EVENT, empty_events
from arb.execution.paper import OrderStatus, PaperOrder, Rejection
from arb.live.engine import Engine
from arb.live.recorded_source import ReplayBatch
from arb.strategy.types import BUY, INTENT_QUOTE, QUOTE_HELD, SELL
from arb.testing.configs import write_config_files
from connectors.common.normalizer import SyncState
from tests.support.captures import AnsweringExecutor

MS = 1_000_000
HOLD = 400 * MS  # [strategy] quote_hold_ms = 400, not the default second
T0 = 1_723_161_600_000 * MS
BINANCE, BYBIT = 0, 1


class _Refusing(AnsweringExecutor):
    """An executor refusing every quote as it is sent (the venue's answer at once); no other order."""

    def __init__(self) -> None:
        super().__init__()
        self.quotes: list[Any] = []

    def submit_quote(self, venue: int, side: int, price: float, qty: float, pair_id: int, now: int,
                     symbol: int = 0) -> Any:  # fmt: skip
        order = PaperOrder(
            order_id=len(self.quotes) + 1, venue=venue, side=side, price=price, qty=qty, kind=INTENT_QUOTE,
            pair_id=pair_id, symbol_index=symbol, sent_ts=now, arrive_ts=now, respond_ts=now,
            status=OrderStatus.REJECTED,
            rejection=Rejection(-2010, "Order would immediately match and take."),
        )  # fmt: skip
        self.quotes.append(order)
        self._answers.append(order)
        return order

    def cancel(self, order_id: int, now: int, venue: int = 0) -> bool:
        raise AssertionError("a refused quote is never cancelled")


def _config(folder: Path) -> AppConfig:
    sections = {
        "strategy": {"style": "maker_taker", "maker_venues": ["binance"], "min_spread_bps": 5.0,
                     "max_order_size": 0.01, "max_position_size": 0.05, "quote_hold_ms": HOLD // MS},
        "execution": {"slippage_tolerance_bps": 2.0},
        "risk": {"stale_after_ms": 60_000},
    }  # fmt: skip
    return load_config(write_config_files(folder, arbitrage_overrides=sections))


def _book(venue: int, ts: int, bid: float, ask: float) -> ReplayBatch:
    rows = empty_events(2)
    rows[0] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_BID, ts, ts, bid, 1.0, 0, 0, 0.0)
    rows[1] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_ASK, ts, ts, ask, 1.0, 0, 0, 0.0)
    return ReplayBatch(venue, rows, ts, SyncState.SYNCED, symbol="BTCUSDT")


def test_a_refused_quote_is_not_sent_again_until_the_view_shows_why_or_the_hold_passes(tmp_path: Path) -> None:
    executor = _Refusing()
    engine = Engine(_config(tmp_path), executor=executor)
    # Binance 59990 / 60000, Bybit 60100 / 60110: a buy quote on Binance at 60100 / 1.0027 = 59938.16, a
    # sell at 60110 x 1.0027 = 60272.3; both refused the moment they are sent
    engine.on_batches(T0, [_book(BINANCE, T0, 59990.0, 60000.0), _book(BYBIT, T0, 60100.0, 60110.0)])
    assert [q.side for q in executor.quotes] == [BUY, SELL]
    assert engine.views[0][BINANCE]["quote_state"].tolist() == [QUOTE_HELD, QUOTE_HELD]
    # books change, Binance's too, but none shows a price the refused quotes would cross: nothing is sent
    engine.on_batches(T0 + 50 * MS, [_book(BYBIT, T0 + 50 * MS, 60101.0, 60110.0)])
    engine.on_batches(T0 + 60 * MS, [_book(BINANCE, T0 + 60 * MS, 59985.0, 59995.0)])
    assert len(executor.quotes) == 2
    # Binance's ask falls to 59930, below the refused buy: the view caught up, the buy goes a tick behind it
    # (refused again); the sell waits on
    engine.on_batches(T0 + 100 * MS, [_book(BINANCE, T0 + 100 * MS, 59920.0, 59930.0)])
    assert [q.side for q in executor.quotes] == [BUY, SELL, BUY]
    assert executor.quotes[2].price == 59929.99
    # the sell is sent again once the hold has passed since its refusal
    engine.on_batches(T0 + HOLD - MS, [_book(BYBIT, T0 + HOLD - MS, 60102.0, 60110.0)])
    assert len(executor.quotes) == 3
    engine.on_batches(T0 + HOLD, [_book(BYBIT, T0 + HOLD, 60103.0, 60110.0)])
    assert [q.side for q in executor.quotes[3:]] == [SELL]
