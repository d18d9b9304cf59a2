"""The paper venue answers for OKX as OKX does: its ``sCode``s for refused orders (read per order; OKX's HTTP
status is 200 either way), and a post-only order that would take accepted and then cancelled (the answer
is an expiry carrying ``cancelSource`` 31, never a refusal), beside Binance and Bybit in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.config import AppConfig, load_config
from arb.events import DEPTH_ASK, DEPTH_BID, EXCH_EVENT, LOCAL_EVENT, empty_events
from arb.execution.paper import PaperExecutor
from arb.execution.queue_model import queue_model
from arb.strategy.types import BUY, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files
from connectors.okx.orders import POST_ONLY_CANCEL_SOURCE
from tests.support.paper_rig import answers, book

MS = 1_000_000
OKX = 2  # the venue's number: its place in the run's venues


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    latency = {"latency": {"order_entry_ms": 3.0, "order_response_ms": 2.0}}
    run = {"strategy": {"venues": ["binance", "bybit", "okx"]}}
    path = write_config_files(
        tmp_path, binance_overrides=latency, bybit_overrides=latency, okx_overrides=latency, arbitrage_overrides=run
    )
    return load_config(path)


def _executor(config: AppConfig, quote: float = 100_000.0) -> PaperExecutor:
    books = tuple(book([(59990.0, 9.0)], [(60000.0, 9.0)]) for _ in range(3))
    return PaperExecutor(
        config.venues, books, lambda: (0, 0, 0), base=(1.0, 1.0, 1.0), quote=(quote, quote, quote),
        queue=queue_model("risk_averse"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("side", "price", "qty", "code"),
    [
        (BUY, 60000.05, 0.1, 51000),  # off OKX's 0.1 tick: "Parameter px error"
        (BUY, 60000.0, 0.123456789, 51121),  # off the 0.00000001 lot
        (BUY, 60000.0, 0.000005, 51020),  # below minSz 0.00001
        (BUY, 60000.0, 5.0, 51008),  # 300,000 USDT of 100,000
        (SELL, 60000.0, 2.0, 51008),  # 2 BTC of 1
    ],
)
def test_okx_refuses_with_its_own_scode(config: AppConfig, side: int, price: float, qty: float, code: int) -> None:
    assert config.venues[OKX].name == "okx"
    ex = _executor(config)
    order = ex.submit(OKX, side, price, qty, INTENT_OPEN, 1, 0)
    assert answers(ex, 10 * MS) == [order]
    assert order.status == "rejected" and order.rejection is not None and order.rejection.code == code
    assert ex.venue_balances(OKX) == (1.0, 100_000.0)


def test_an_okx_post_only_that_would_take_is_accepted_then_cancelled(config: AppConfig) -> None:
    ex = _executor(config)
    market = empty_events(2)  # the venue's book as its feed gives it: 59,990 bid, 60,000 ask
    market[0] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_BID, 0, 0, 59990.0, 9.0, 0, 0, 0.0)
    market[1] = (EXCH_EVENT | LOCAL_EVENT | DEPTH_ASK, 0, 0, 60000.0, 9.0, 0, 0, 0.0)
    ex.on_rows(0, OKX, market, 0)
    ex.submit_quote(OKX, BUY, 60000.0, 0.01, 1, 0)  # at the best ask: it would take
    (answer,) = answers(ex, 10 * MS)
    assert answer.status == "expired"  # not "rejected": OKX took it, then cancelled it
    assert answer.rejection is not None and answer.rejection.code == POST_ONLY_CANCEL_SOURCE == "31"
    assert ex.post_only_rejects == 1 and ex.venue_balances(OKX) == (1.0, 100_000.0)


def test_an_order_okx_takes_fills_at_its_taker_fee_and_the_others_are_untouched(config: AppConfig) -> None:
    ex = _executor(config)
    order = ex.submit(OKX, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 0)
    answers(ex, 10 * MS)
    assert order.status == "filled" and order.fill_price == 60000.0
    assert order.fee == pytest.approx(6000.0 * config.venues[OKX].fees.taker)
    assert ex.venue_balances(OKX) == pytest.approx((1.1, 100_000.0 - 6000.0 - order.fee))
    assert ex.venue_balances(0) == ex.venue_balances(1) == (1.0, 100_000.0)
