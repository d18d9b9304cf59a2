"""The paper executor's resting quotes: post-only refusals with the venues' codes, fills by the queue at
the maker fee, answers that show the quote as it was when sent, and the cancel that loses to a fill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.config import AppConfig
from arb.events import DEPTH_ASK, DEPTH_BID, EXCH_EVENT, LOCAL_EVENT, TRADE_BUY, TRADE_SELL, empty_events
from arb.execution.paper import PaperExecutor, PaperOrder
from arb.execution.queue_model import queue_model
from arb.strategy.types import BUY, INTENT_QUOTE, SELL
from tests.support.paper_rig import answers, book, latency_config

MS = 1_000_000


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    return latency_config(tmp_path)  # both venues: 3 ms order entry, 2 ms response


def _executor(config: AppConfig) -> PaperExecutor:
    books = (book([], []), book([], []))
    return PaperExecutor(
        config.venues, books, lambda: (0, 0), base=(1.0, 1.0), quote=(100_000.0, 100_000.0),
        queue=queue_model("risk_averse"),
    )  # fmt: skip


def _rows(*rows: tuple[int, int, float, float]) -> Any:
    out = empty_events(len(rows))
    for i, (ev, ts, px, qty) in enumerate(rows):
        out[i] = (EXCH_EVENT | LOCAL_EVENT | ev, ts, ts, px, qty, 0, 0, 0.0)
    return out


def _late_rows(lag: int, *rows: tuple[int, int, float, float]) -> Any:
    # the venue's rows at their exchange times, each reaching the driver ``lag`` later
    out = _rows(*rows)
    out["local_ts"] += lag
    return out


def _behind(config: AppConfig, lag: int) -> PaperExecutor:
    # an executor whose venue's feed reaches the driver ``lag`` late, the market of _market delivered
    ex = _executor(config)
    ex.on_rows(0, 0, _late_rows(lag, (DEPTH_BID, 0, 60000.0, 0.5), (DEPTH_ASK, 0, 60000.1, 0.4)), lag)
    return ex


def _market(ex: PaperExecutor, venue: int = 0, ts: int = 0) -> None:
    # the venue's book: 60,000 bid for 0.5, 60,000.10 ask for 0.4
    ex.on_rows(0, venue, _rows((DEPTH_BID, ts, 60000.0, 0.5), (DEPTH_ASK, ts, 60000.1, 0.4)), ts)


def test_a_quote_rests_fills_by_the_queue_at_the_maker_fee_and_is_answered_once(config: AppConfig) -> None:
    ex = _executor(config)
    _market(ex)
    quote = ex.submit_quote(0, BUY, 60000.0, 0.01, 7, 1_000 * MS)
    assert quote.kind == INTENT_QUOTE and quote.arrive_ts == 1_003 * MS
    assert ex.open_counts.sum() == 0  # quotes are not open orders
    assert answers(ex, 1_003 * MS) == []  # arrived: rests behind 0.5
    ex.on_rows(0, 0, _rows((TRADE_SELL, 1_003 * MS + 1, 60000.0, 0.5)), 1_003 * MS + 1)
    assert answers(ex, 1_004 * MS) == []
    # 0.5 traded: the queue ahead is gone, not passed; the next sale fills it
    ex.on_rows(0, 0, _rows((TRADE_SELL, 1_004 * MS, 60000.0, 0.001)), 1_004 * MS)
    got = answers(ex, 1_010 * MS)
    assert [(a.status, a.respond_ts) for a in got] == [("live", 1_005 * MS), ("filled", 1_006 * MS)]
    filled = got[1]
    assert (filled.fill_qty, filled.fill_price, filled.arrive_ts) == (0.01, 60000.0, 1_004 * MS)
    assert filled.fee == pytest.approx(0.01 * 60000.0 * config.venues[0].fees.maker)
    assert ex.venue_balances(0) == pytest.approx((1.01, 100_000.0 - 600.0 - filled.fee))
    assert ex.maker_fills == 1 and ex.cancel(quote.order_id, 1_010 * MS) is False  # done: nothing to cancel


@pytest.mark.parametrize(("venue", "market", "code"), [(0, "spot", -2010), (1, "spot", "EC_PostOnlyWillTakeLiquidity")])
def test_a_quote_that_would_take_expires_with_the_venues_answer(
    config: AppConfig, venue: int, market: str, code: int | str
) -> None:
    ex = _executor(config)
    _market(ex, venue)
    assert config.venues[venue].market == market
    ex.submit_quote(venue, SELL, 60000.0, 0.01, 1, 0)  # at the best bid: it would take
    (answer,) = answers(ex, 10 * MS)
    assert answer.status == "expired" and answer.rejection is not None and answer.rejection.code == code
    assert ex.post_only_rejects == 1 and ex.venue_balances(venue) == (1.0, 100_000.0)


def test_an_answer_shows_the_quote_as_it_was_when_the_venue_sent_it(config: AppConfig) -> None:
    ex = _executor(config)
    _market(ex)
    ex.submit_quote(0, SELL, 60000.1, 0.01, 1, 0)  # joins the ask
    answers(ex, 3 * MS)  # arrived at 3 ms; its acknowledgement is due at 5 ms
    ex.on_rows(0, 0, _rows((DEPTH_BID, 4 * MS, 60000.1, 1.0)), 4 * MS)  # a bid reaches it before that
    got = answers(ex, 10 * MS)
    assert [(a.status, a.respond_ts) for a in got] == [("live", 5 * MS), ("filled", 6 * MS)]
    assert got[0].fill_qty == 0.0 and got[1].fill_qty == 0.01


def test_a_cancel_that_arrives_after_the_fill_misses_and_the_fill_stands(config: AppConfig) -> None:
    ex = _executor(config)
    _market(ex)
    quote = ex.submit_quote(0, BUY, 59999.0, 0.01, 1, 0)
    answers(ex, 10 * MS)
    assert ex.cancel(quote.order_id, 20 * MS)  # reaches the venue at 23 ms
    ex.on_rows(0, 0, _rows((TRADE_SELL, 21 * MS, 59998.0, 0.2)), 21 * MS)  # a sale through its price first
    got = answers(ex, 40 * MS)
    assert [a.status for a in got] == ["filled"] and ex.cancel_misses == 1
    assert ex.venue_balances(0)[0] == pytest.approx(1.01)


def test_a_cancel_that_arrives_first_takes_the_quote_off(config: AppConfig) -> None:
    ex = _executor(config)
    _market(ex)
    quote = ex.submit_quote(0, SELL, 60001.0, 0.01, 1, 0)
    answers(ex, 10 * MS)
    assert ex.cancel(quote.order_id, 20 * MS)
    answers(ex, 23 * MS)  # the cancel arrives
    ex.on_rows(0, 0, _rows((TRADE_BUY, 24 * MS, 60002.0, 1.0)), 24 * MS)  # would have filled it
    got = answers(ex, 40 * MS)
    assert [(a.status, a.respond_ts) for a in got] == [("canceled", 25 * MS)]
    assert ex.maker_fills == 0 and ex.venue_balances(0) == (1.0, 100_000.0)


def test_shutdown_cancels_resting_quotes_and_delivers_fills_already_made(config: AppConfig) -> None:
    ex = _executor(config)
    _market(ex)
    resting = ex.submit_quote(0, BUY, 59990.0, 0.01, 1, 0)
    filling = ex.submit_quote(0, SELL, 60000.2, 0.01, 2, 0)
    answers(ex, 10 * MS)
    ex.on_rows(0, 0, _rows((TRADE_BUY, 11 * MS, 60000.3, 1.0)), 11 * MS)  # fills the sell quote
    got: list[PaperOrder] = []
    assert ex.cancel_all(got.append) == 1
    assert [(a.order_id, a.status) for a in got] == [(filling.order_id, "filled")]
    assert resting.status == "canceled" and answers(ex, 1_000 * MS) == []


def test_a_quote_queues_behind_what_the_venue_showed_when_it_arrived_not_what_had_reached_us(
    config: AppConfig,
) -> None:
    # The feed runs 1 ms behind the venue. The quote reaches the venue at 1,003 ms; the venue's bid at its
    # price grew from 0.5 to 1.5 at 1,002.5 ms, which the driver sees only at 1,003.5 ms. The venue queues
    # the quote behind 1.5 (as the backtest's exchange does), so 1.0 sold at its price does not fill it.
    lag = 1 * MS
    ex = _behind(config, lag)
    ex.submit_quote(0, BUY, 60000.0, 0.01, 1, 1_000 * MS)
    assert answers(ex, 1_003 * MS) == []  # at the venue, waiting for the venue's rows up to 1,003 ms
    grew = 1_002 * MS + MS // 2
    ex.on_rows(0, 0, _late_rows(lag, (DEPTH_BID, grew, 60000.0, 1.5)), grew + lag)
    ex.on_rows(0, 0, _late_rows(lag, (TRADE_SELL, 1_004 * MS, 60000.0, 1.0)), 1_005 * MS)  # placed before it
    got = answers(ex, 1_020 * MS)
    assert [(a.status, a.respond_ts) for a in got] == [("live", 1_005 * MS)]  # on time: 1,003 + 2 ms
    assert ex.maker_fills == 0
    ex.on_rows(0, 0, _late_rows(lag, (TRADE_SELL, 1_030 * MS, 60000.0, 0.6)), 1_031 * MS)  # the rest of the queue
    assert [a.status for a in answers(ex, 1_040 * MS)] == ["filled"]


def test_a_quote_that_reaches_the_venue_after_the_ask_came_down_to_it_is_refused_not_filled(
    config: AppConfig,
) -> None:
    # The ask came down to the quote's price at 2.5 ms, venue time; the quote arrived at 3 ms. The driver
    # learns of the ask at 3.5 ms: the venue refuses the post-only quote (it would take), never fills it.
    lag = 1 * MS
    ex = _behind(config, lag)
    ex.submit_quote(0, BUY, 60000.0, 0.01, 1, 0)
    answers(ex, 3 * MS)
    down = 2 * MS + MS // 2
    ex.on_rows(0, 0, _late_rows(lag, (DEPTH_ASK, down, 60000.0, 0.3)), down + lag)
    (answer,) = answers(ex, 20 * MS)
    assert (answer.status, answer.respond_ts, answer.rejection.code if answer.rejection else None) == (
        "expired", 5 * MS, -2010,
    )  # fmt: skip
    assert ex.maker_fills == 0 and ex.post_only_rejects == 1


@pytest.mark.parametrize(("lag_ms", "acted_ms"), [(1, 4), (5, 5)])
def test_in_a_quiet_market_the_venue_acts_once_its_lag_has_passed_and_never_answers_late(
    config: AppConfig, lag_ms: int, acted_ms: int
) -> None:
    # No row comes after the quote: the venue acts on it once the driver's clock is the quote's arrival
    # plus the feed's lag, or at the latest when its answer is due (3 ms + the 2 ms response), whichever
    # is first; the answer is at 5 ms either way (the venue's own time of answering).
    ex = _behind(config, lag_ms * MS)
    ex.submit_quote(0, BUY, 60000.0, 0.01, 1, 0)
    assert answers(ex, 3 * MS) == [] and ex.next_event_ts() == acted_ms * MS
    assert answers(ex, acted_ms * MS - 1) == []
    assert [(a.status, a.respond_ts) for a in answers(ex, 10 * MS)] == [("live", 5 * MS)]


def test_a_cancel_waits_for_the_venues_rows_up_to_its_arrival_and_loses_to_a_fill_among_them(
    config: AppConfig,
) -> None:
    # The cancel reaches the venue at 23 ms; a sale through the quote at 22.5 ms (venue time) reaches the
    # driver at 23.5 ms: the quote was filled before the cancel arrived, which misses.
    lag = 1 * MS
    ex = _behind(config, lag)
    quote = ex.submit_quote(0, BUY, 59999.0, 0.01, 1, 0)
    answers(ex, 10 * MS)
    assert ex.cancel(quote.order_id, 20 * MS)
    answers(ex, 23 * MS)
    sale = 22 * MS + MS // 2
    ex.on_rows(0, 0, _late_rows(lag, (TRADE_SELL, sale, 59998.0, 0.2)), sale + lag)
    assert [(a.status, a.arrive_ts) for a in answers(ex, 40 * MS)] == [("filled", sale)]
    assert ex.cancel_misses == 1


def test_without_a_queue_model_the_executor_takes_no_quotes(config: AppConfig) -> None:
    ex = PaperExecutor(config.venues, (book([], []), book([], [])), lambda: (0, 0), base=(1.0, 1.0), quote=(1.0, 1.0))
    with pytest.raises(ValueError, match="queue model"):
        ex.submit_quote(0, BUY, 1.0, 1.0, 1, 0)
    ex.on_rows(0, 0, _rows((DEPTH_BID, 0, 1.0, 1.0)), 0)  # rows are ignored
    assert np.all(ex.open_counts == 0)
