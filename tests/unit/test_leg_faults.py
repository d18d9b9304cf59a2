"""The leg-fault model: the draw (deterministic, seed-dependent, at the configured rates), its effect
in the paper executor (rejected, partly filled, late), and the configuration's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.cli import main
from arb.config import AppConfig, LegFaultRates, LegFaultsConfig, load_config
from arb.errors import ConfigError
from arb.events import DEPTH_ASK, empty_events
from arb.execution.leg_faults import (
    FAULT_LATE,
    FAULT_NONE,
    FAULT_PARTIAL,
    FAULT_REJECT,
    draw_fault,
    fault_uniform,
    make_leg_faults,
)
from arb.execution.paper import LEG_FAULT_REJECTION, PaperExecutor
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_UNWIND, SELL
from arb.testing.configs import write_config_files
from tests.support.paper_rig import answers, book, latency_config

MS = 1_000_000
LOT = 1e-5


def _model(seed: int = 7, hedges: bool = False, **rates: Any) -> np.ndarray:
    return make_leg_faults(LegFaultsConfig.same(LegFaultRates(**rates), seed=seed, hedges=hedges))


def _draws(model: np.ndarray, n: int, venue: int = 0, kind: int = INTENT_OPEN) -> list[tuple[int, float, int]]:
    return [draw_fault(model, venue, kind, seq, 0.01, LOT) for seq in range(1, n + 1)]


# --- the draw ----------------------------------------------------------------------------------


def test_the_draw_depends_only_on_seed_and_order_number() -> None:
    model = _model(reject=0.2, partial=0.2, late=0.2, late_ns=5 * MS)
    first = _draws(model, 500)
    assert first == _draws(model.copy(), 500)  # deterministic
    # counter-based: order 250 draws the same whatever was drawn before it
    assert draw_fault(model, 0, INTENT_OPEN, 250, 0.01, LOT) == first[249]
    other = _draws(_model(seed=8, reject=0.2, partial=0.2, late=0.2, late_ns=5 * MS), 500)
    assert [d[0] for d in other] != [d[0] for d in first]  # another seed faults other orders
    assert fault_uniform(np.uint64(7), 1, 0) != fault_uniform(np.uint64(7), 1, 1)  # streams differ


def test_the_draw_happens_at_the_configured_rates() -> None:
    n = 20_000
    kinds = np.array([d[0] for d in _draws(_model(reject=0.1, partial=0.2, late=0.3, late_ns=MS), n)])
    counts = np.bincount(kinds, minlength=4) / n
    # four standard errors of a binomial proportion at n = 20 000 is at most 0.0142
    assert counts[FAULT_REJECT] == pytest.approx(0.1, abs=0.015)
    assert counts[FAULT_PARTIAL] == pytest.approx(0.2, abs=0.015)
    assert counts[FAULT_LATE] == pytest.approx(0.3, abs=0.015)
    assert counts[FAULT_NONE] == pytest.approx(0.4, abs=0.015)


def test_each_fault_says_what_the_venue_will_do() -> None:
    model = _model(partial=1.0, partial_min=0.25, partial_max=0.75)
    for _fault, fillable, delay in _draws(model, 200):
        assert 0.0025 - 1e-12 <= fillable <= 0.0075 and delay == 0
        assert abs(fillable / LOT - round(fillable / LOT)) < 1e-6  # on the lot grid
    assert _draws(_model(reject=1.0), 3) == [(FAULT_REJECT, 0.0, 0)] * 3
    assert _draws(_model(late=1.0, late_ns=40 * MS), 2) == [(FAULT_LATE, 0.01, 40 * MS)] * 2


def test_per_venue_rates_and_hedges_only_when_asked() -> None:
    faults = LegFaultsConfig(seed=1, venues={"binance": LegFaultRates(), "bybit": LegFaultRates(reject=1.0)})
    model = make_leg_faults(faults)
    assert {d[0] for d in _draws(model, 50, venue=0)} == {FAULT_NONE}
    assert {d[0] for d in _draws(model, 50, venue=1)} == {FAULT_REJECT}
    for kind in (INTENT_HEDGE, INTENT_UNWIND):
        assert {d[0] for d in _draws(model, 50, venue=1, kind=kind)} == {FAULT_NONE}
    with_hedges = make_leg_faults(LegFaultsConfig(seed=1, hedges=True, venues={"bybit": LegFaultRates(reject=1.0)}))
    assert {d[0] for d in _draws(with_hedges, 50, venue=1, kind=INTENT_HEDGE)} == {FAULT_REJECT}


def test_all_zero_is_off() -> None:
    model = make_leg_faults(LegFaultsConfig(seed=3))
    assert model[0]["enabled"] == 0 and {d[0] for d in _draws(model, 100)} == {FAULT_NONE}


# --- the paper executor -------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    return latency_config(tmp_path)


def _paper(config: AppConfig, **rates: Any) -> PaperExecutor:
    books = (book([(59990.0, 1.0)], [(60000.0, 1.0)]), book([(59990.0, 1.0)], [(60000.0, 1.0)]))
    faults = make_leg_faults(LegFaultsConfig.same(LegFaultRates(**rates), seed=11))
    return PaperExecutor(config.venues, books, lambda: (0, 0), base=(1.0, 1.0), quote=(1e5, 1e5), leg_faults=faults)


def test_paper_rejected_leg_is_answered_at_the_ack_time_and_trades_nothing(config: AppConfig) -> None:
    ex = _paper(config, reject=1.0)
    order = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 1_000 * MS)
    assert answers(ex, 1_004 * MS) == [] and ex.open_counts.ravel().tolist() == [1, 0]
    assert answers(ex, 1_005 * MS) == [order]
    assert order.status == "rejected" and order.rejection == LEG_FAULT_REJECTION and order.fill_qty == 0.0
    assert order.fault == FAULT_REJECT and ex.venue_balances(0) == (1.0, 1e5)
    assert ex.summary()["leg_faults"] == {"reject": 1, "partial": 0, "late": 0}
    hedge = ex.submit(0, BUY, 60000.0, 0.1, INTENT_HEDGE, 1, 1_010 * MS)  # hedges are not faulted
    answers(ex, 1_020 * MS)
    assert hedge.status == "filled" and hedge.fault == FAULT_NONE


def test_paper_partial_leg_fills_the_drawn_part(config: AppConfig) -> None:
    ex = _paper(config, partial=1.0, partial_min=0.4, partial_max=0.4)
    order = ex.submit(1, SELL, 59990.0, 0.1, INTENT_OPEN, 1, 0)
    assert answers(ex, 5 * MS) == [order]
    assert order.status == "filled" and order.fault == FAULT_PARTIAL
    assert order.fill_qty == pytest.approx(0.04) and order.fill_price == 59990.0
    nothing = _paper(config, partial=1.0, partial_min=0.0, partial_max=0.0)  # a part that rounds to 0
    order = nothing.submit(1, SELL, 59990.0, 0.1, INTENT_OPEN, 1, 0)
    answers(nothing, 5 * MS)
    assert order.status == "expired" and order.fill_qty == 0.0 and nothing.venue_balances(1) == (1.0, 1e5)


def test_paper_late_leg_arrives_later_and_fills_against_the_book_then(config: AppConfig) -> None:
    ex = _paper(config, late=1.0, late_ns=50 * MS)
    order = ex.submit(0, BUY, 60000.0, 0.1, INTENT_OPEN, 1, 0)
    assert order.arrive_ts == 53 * MS and order.fault == FAULT_LATE
    ex.books[0].apply(_rows_ask(60000.0, 0.0))  # the offer goes before the order gets there
    assert answers(ex, 54 * MS) == []
    assert answers(ex, 55 * MS) == [order] and order.status == "expired" and order.respond_ts == 55 * MS


def _rows_ask(px: float, qty: float) -> np.ndarray:
    rows = empty_events(1)
    rows[0] = (DEPTH_ASK, 0, 0, px, qty, 0, 0, 0.0)
    return rows


def test_paper_and_backtest_draw_the_same_faults(config: AppConfig) -> None:
    # The paper executor's draw for order n is draw_fault(model, venue, kind, n, ...), as in the backtest.
    ex = _paper(config, reject=0.3, partial=0.3, late=0.3, late_ns=MS)
    model = ex.leg_faults
    assert model is not None
    for n in range(1, 41):
        order = ex.submit(n % 2, BUY, 60000.0, 0.01, INTENT_OPEN, n, 0)
        assert order.fault == draw_fault(model, n % 2, INTENT_OPEN, n, 0.01, LOT)[0]


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"reject": 1.5}, "leg_faults.reject", "between 0 and 1"),
        ({"partial": -0.1}, "leg_faults.partial", "between 0 and 1"),
        ({"reject": "often"}, "leg_faults.reject", "a number"),
        ({"reject": 0.5, "partial": 0.4, "late": 0.2, "late_ms": 5}, "leg_faults.late", "reject + partial + late <= 1"),
        ({"partial_min": 0.8, "partial_max": 0.5}, "leg_faults.partial_max", ">= partial_min"),
        ({"late": 0.1}, "leg_faults.late_ms", "delay > 0"),
        ({"seed": -1}, "leg_faults.seed", ">= 0"),
        ({"rejects": 0.1}, "leg_faults.rejects", 'did you mean "reject"'),
        ({"bybit": {"reject": 2}}, "leg_faults.bybit.reject", "between 0 and 1"),
        ({"reject": 0.6, "bybit": {"partial": 0.6}}, "leg_faults.bybit.partial", "<= 1"),
        ({"bybit": {"seed": 1}}, "leg_faults.bybit.seed", "unknown key"),
        ({"bybit": 0.1}, "leg_faults.bybit", "expected a table"),
    ],
)
def test_bad_leg_faults_name_the_key(tmp_path: Path, table: dict[str, Any], key: str, words: str) -> None:
    path = write_config_files(tmp_path, arbitrage_overrides={"leg_faults": table})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key and words in str(info.value), str(info.value)


def test_bad_leg_fault_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config_files(tmp_path, arbitrage_overrides={"leg_faults": {"reject": 1.5}})
    assert main(["check", "--config", str(path)]) == 2
    assert "leg_faults.reject" in capsys.readouterr().err


def test_leg_faults_load_shared_and_per_venue(tmp_path: Path) -> None:
    table = {"seed": 9, "reject": 0.1, "late": 0.2, "late_ms": 2.5, "bybit": {"reject": 0.3, "partial": 0.1}}
    faults = load_config(write_config_files(tmp_path, arbitrage_overrides={"leg_faults": table})).leg_faults
    assert faults.seed == 9 and not faults.hedges and faults.enabled
    assert faults.rates("binance") == LegFaultRates(reject=0.1, late=0.2, late_ns=2_500_000)
    assert faults.rates("bybit") == LegFaultRates(reject=0.3, partial=0.1, late=0.2, late_ns=2_500_000)


def test_the_shipped_config_has_the_model_off() -> None:
    from tests.support.captures import ROOT

    assert not load_config(ROOT / "config" / "arbitrage.toml").leg_faults.enabled
